"""Data stage: manifests, audio decoding/caching, batching, and the embedded corpus generator."""
