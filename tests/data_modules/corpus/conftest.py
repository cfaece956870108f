"""A small generated corpus shared by the corpus tests (generated once per session)."""

import pytest

from data_modules.corpus.config import CorpusConfig
from data_modules.corpus.generate import ensure_corpus

SMALL = dict(seed=3, size=48, sample_rate=16000, seconds=1.0)  # seconds to generate, every split present


@pytest.fixture(scope="session")
def small_cfg(tmp_path_factory):
    return CorpusConfig(dir=str(tmp_path_factory.mktemp("corpus")), **SMALL)


@pytest.fixture(scope="session")
def small_corpus(small_cfg):
    """Manifest path of the small corpus."""
    return ensure_corpus(small_cfg, workers=1)
