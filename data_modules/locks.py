"""A file lock for work that several processes (DDP ranks, sweep trials) may start at once."""

import fcntl
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def file_lock(path: str | Path):
    """Exclusive advisory lock (fcntl) held for the block: concurrent processes wait their turn."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
