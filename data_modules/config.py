"""Typed schema of the `data:` section (the one home of every data default)."""

from dataclasses import dataclass, field

from data_modules.corpus.config import CorpusConfig


@dataclass
class SplitConfig:
    column: str = "split"  # manifest column holding split names; used when present
    ratios: dict[str, float] = field(default_factory=lambda: {"train": 0.8, "val": 0.1, "test": 0.1})
    group_by: str = "system"  # rows sharing this column's value never land in two splits
    seed: int = 0  # makes the ratio split deterministic
    ood_datasets: list[str] = field(default_factory=list)  # datasets held out as split `test_ood`
    ood_systems: list[str] = field(default_factory=list)  # systems held out as split `test_ood`


@dataclass
class DataConfig:
    manifest: str = "???"  # CSV/JSONL manifest (generic or a published format), or a MusicEval folder
    format: str = "auto"  # auto|generic|audiomos2025_track2|aes|musiceval; auto never guesses silently
    split_manifests: dict[str, str] = field(
        default_factory=dict
    )  # more manifests, {split: path}: all rows of
    # each get that split (e.g. {val: dev_list.csv, test: annotations.jsonl}); data.manifest's rows are train
    root: str | None = None  # replaces the `/your_path` prefix of published manifests
    aspects: list[str] = field(default_factory=lambda: ["PQ", "PC", "CE", "CU"])  # target columns, in order
    label_columns: list[str] = field(default_factory=list)  # extra numeric columns -> batch["labels"] (B, R)
    # (NaN = missing, `inf` allowed), e.g. [bitrate] for the RnC bitrate term (loss.rnc_bitrate)
    scale: list[float] = field(default_factory=lambda: [1.0, 10.0])  # declared MOS range [min, max]
    split: SplitConfig = field(default_factory=SplitConfig)
    train_split: str = "train"
    val_split: str = "val"
    # splits evaluated with the kept checkpoint, when present (val_ood: sources held out of training)
    eval_splits: list[str] = field(default_factory=lambda: ["val_ood", "test", "test_ood"])
    # splits rated in one neutral listening test (e.g. a mixed-source split): there every aspect's domain
    # label is -1 (unknown), so the conditioned and bias handlings predict for the neutral (average) test,
    # not for the clip's source; never the train split
    neutral_splits: list[str] = field(default_factory=list)
    # datasets whose train/val rows become split `val_ood`; one source per trial = leave-one-source-out
    heldout_sources: list[str] = field(default_factory=list)
    # splits rated in one neutral listening test (no per-source offsets), e.g. [val_mixed]: the `mixed`
    # selection protocol reads `val_mixed/<A>/utt_srcc` only when that split is declared here
    neutral_splits: list[str] = field(default_factory=list)
    max_seconds: float = 10.0  # training: random crop to at most this length
    eval_window_seconds: float = 10.0  # evaluation: fixed windows, combined by length-weighted mean
    batch_size: int = 8
    eval_batch_size: int = 16
    num_workers: int = 2
    bucketing: bool = True  # length-bucketed batches: less padding, faster steps
    cache: bool = True  # decoded-waveform cache on disk, shared by runs and sweep trials
    cache_dir: str = "~/.cache/aqa/audio"
    max_skip_fraction: float = 0.05  # more unusable clips than this is an error, not a warning
    corpus: CorpusConfig = field(default_factory=CorpusConfig)  # the generated embedded corpus
