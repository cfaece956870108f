"""The rich console for aqa's tables: at least 120 columns when output goes to a pipe or a CI log
(rich assumes 80 there, which folds every table)."""

from rich.console import Console


def make_console(**kwargs) -> Console:
    console = Console(**kwargs)
    if not console.is_terminal:
        console.width = max(console.width, 120)
    return console
