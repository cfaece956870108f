"""Schema of `data.corpus:` (the generated corpus used by the embedded default)."""

from dataclasses import dataclass


@dataclass
class CorpusConfig:
    enabled: bool = False  # true: generate (once, cached) and use it instead of data.manifest
    dir: str = "~/.cache/aqa/corpus"  # where audio + manifest.jsonl are written (a subfolder per settings)
    seed: int = 0
    size: int = 600  # number of clips in train+val+test+test_ood
    sample_rate: int = 24000
    seconds: float = 3.0  # nominal clip length
