"""Problems found in a manifest: one record per offending row, and the error that lists them."""

from dataclasses import dataclass

from data_modules.errors import UserError


@dataclass(frozen=True)
class Problem:
    kind: str  # e.g. duplicate_id, non_numeric_mos, out_of_scale, missing_file, silent
    message: str  # names the row, the file and what is wrong
    row: int | None = None  # 0-based data row in the manifest (None: the whole manifest)
    id: str | None = None
    path: str | None = None


class ManifestError(UserError):
    """The manifest cannot be used as it is; the message lists the first offending rows."""

    def __init__(self, problems: list[Problem], source: str, shown: int = 5):
        self.problems = problems
        lines = [f"{len(problems)} problem(s) in manifest {source}:"]
        lines += [f"  [{p.kind}] {p.message}" for p in problems[:shown]]
        if len(problems) > shown:
            lines.append(f"  ... and {len(problems) - shown} more (run `aqa validate` for a full report)")
        super().__init__("\n".join(lines))
