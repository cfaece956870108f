"""Model stage: encoder (+LoRA), pooling, heads, gradient reversal, losses, the LightningModule."""
