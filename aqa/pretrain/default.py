"""The embedded default's pretrained tiny encoder: pretrained once on the generated corpus's audio (every
split, no ratings) and cached, keyed by the corpus's settings and the pretraining settings."""

import hashlib
import json
from dataclasses import asdict, replace
from pathlib import Path

from aqa.config.model import TinyEncoderConfig
from aqa.pretrain.settings import PretrainSettings
from data_modules.corpus.config import CorpusConfig
from data_modules.corpus.generate import ensure_corpus, settings_hash
from data_modules.locks import file_lock


def default_settings(tiny: TinyEncoderConfig) -> PretrainSettings:
    """The pretraining defaults with the tiny encoder's architecture and seed."""
    arch = {k: v for k, v in asdict(tiny).items() if k in PretrainSettings.__dataclass_fields__}
    return replace(PretrainSettings(), **arch)


def pretrained_identity(tiny: TinyEncoderConfig) -> dict:
    """What the cached encoder depends on: the corpus's settings and the pretraining settings."""
    return {"corpus": settings_hash(CorpusConfig()), "pretrain": asdict(default_settings(tiny))}


def ensure_pretrained_tiny(tiny: TinyEncoderConfig, cache_dir: str | Path) -> Path:
    """Folder of the pretrained tiny encoder, pretrained on first use (about 5 min on 2 cores) and cached.
    A file lock makes concurrent callers (DDP ranks, sweep trials) wait for one run."""
    from aqa.pretrain.run import pretrain

    ident = pretrained_identity(tiny)
    digest = hashlib.sha1(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:10]
    root = Path(cache_dir).expanduser()
    folder = root / f"tiny-pretrained-{digest}"
    if (folder / "config.json").is_file():
        return folder
    root.mkdir(parents=True, exist_ok=True)
    with file_lock(root / f".{folder.name}.lock"):
        if not (folder / "config.json").is_file():
            manifest = ensure_corpus(CorpusConfig())
            print(f"aqa: pretraining the tiny encoder on the generated corpus's audio once -> {folder}")
            pretrain(manifest, folder, default_settings(tiny))
    return folder
