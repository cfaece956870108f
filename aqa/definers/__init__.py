"""Domain definers: what counts as a domain, per aspect (fitted on train only, saved with the run)."""
