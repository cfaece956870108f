"""Sweeps: run W&B sweep files offline, rank domain definers per aspect, write the selection."""
