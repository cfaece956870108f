"""Schema of `data.corpus:` (the generated corpus used by the embedded default)."""

from dataclasses import dataclass

RECIPES = ("default", "known")  # default: planted shortcuts in the truth (v3); known: known-answer (known.py)


@dataclass
class CorpusConfig:
    enabled: bool = False  # true: generate (once, cached) and use it instead of data.manifest
    dir: str = "~/.cache/aqa/corpus"  # where audio + manifest.jsonl are written (a subfolder per settings)
    seed: int = 0
    size: int = 600  # number of clips in all splits
    sample_rate: int = 24000
    seconds: float = 3.0  # nominal clip length
    recipe: str = "default"  # default|known (known-answer: offsets planted in the ratings; docs/corpus.md)
    oracle: bool = False  # known recipe: read manifest_oracle.jsonl (every clip rated in the neutral test)
