"""Training stage: `aqa train`, `aqa eval`, `aqa predict`."""
