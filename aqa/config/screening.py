"""The screening profile: the overrides that turn an experiment's run into a screening trial that learns.

One owner for the settings every screening sweep of aqa shares (`aqa quickstart`, the benchmarks):

- `model.encoder.mode=cached`: the per-aspect model on the frozen encoder's layer cache (docs/screening.md);
- `model.aspect_capacity=projected`: a Linear + GELU projection per aspect before its head and adversary.
  Under `shared` capacity the only trainable parameters upstream of a screening adversary's gradient
  reversal are the L+1 softmax layer weights, so an adversary has nothing to remove features from
  (docs/selection_benchmark.md measured dataset and random adversaries giving the same scores to 3-4
  decimals at every lambda);
- 30 epochs of batch 64 at lr 5e-3: the waveform defaults (6 epochs of batch 16) underfit the cached
  features, keep an epoch-0 checkpoint (before the adversary's warm-up ends) and stay below the encoder's
  own ridge probe. Chosen on ERM against the probe only (docs/screening.md "Screening profile"), never on
  what a domain strategy scores.
"""

SCREENING = (
    "model.encoder.mode=cached",
    "model.aspect_capacity=projected",
    "trainer.max_epochs=30",
    "data.batch_size=64",
    "optim.lr=5e-3",
)
