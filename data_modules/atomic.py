"""Atomic writes: a file or folder appears whole or not at all, even when a process is killed mid-write."""

import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(target: str | Path, directory: bool = False) -> Iterator[Path]:
    """A temporary path beside `target` (same suffix: numpy/pandas writers keep it) to write into; renamed
    onto `target` when the block ends without error, removed otherwise.

    directory=True: the temporary path is a new folder. Renaming it fails (OSError) when `target` is a
    non-empty folder, e.g. one another process published first; the caller decides whether that is fine.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if directory:
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    else:  # not created here: the writer creates it with the usual permissions
        tmp = target.with_name(f".{target.stem}.{os.getpid()}-{secrets.token_hex(4)}.tmp{target.suffix}")
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        if directory:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)


def atomic_write_text(target: str | Path, text: str) -> None:
    """Write `text` (UTF-8) to `target` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
