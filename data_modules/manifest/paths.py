"""Audio paths in manifests: the `/your_path` placeholder, relative paths, dataset IDs."""

from pathlib import Path

PLACEHOLDER = "/your_path"  # prefix of every path in the published AES / track 2 manifests


def resolve_path(path: str, base: Path, root: str | None) -> str:
    """Absolute path: `/your_path/...` -> `root/...`; relative -> `root/...` (if given) else `base/...`."""
    path = str(path)
    if path == PLACEHOLDER or path.startswith(PLACEHOLDER + "/"):
        if root is None:
            return path  # left as is: `validate` reports these files as missing and suggests data.root
        return str((Path(root).expanduser() / path[len(PLACEHOLDER) + 1 :]).absolute())
    p = Path(path).expanduser()
    if p.is_absolute():
        return str(p)
    return str(((Path(root).expanduser() if root is not None else base) / p).absolute())


def dataset_from_path(path: str) -> str | None:
    """`/your_path/<dataset>/...` -> `<dataset>`; None for other paths."""
    if not path.startswith(PLACEHOLDER + "/"):
        return None
    parts = path[len(PLACEHOLDER) + 1 :].split("/")
    return parts[0] if len(parts) > 1 and parts[0] else None
