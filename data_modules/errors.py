"""The one exception type for input a user can fix (config, manifest, data, sweep files).

`aqa` (aqa/cli.py) prints such an error's message alone and exits with USER_ERROR_EXIT; every other
exception is a bug and keeps its traceback. Stage-specific errors (ConfigError, ManifestError, ...) subclass it.
"""

USER_ERROR_EXIT = 2  # exit status of `aqa` for a user error (1: any other failure)


class UserError(ValueError):
    """Input the user can fix; the message names the file, row or key."""


class MissingFileError(UserError, FileNotFoundError):
    """A file the config names does not exist (manifest, checkpoint, selection file)."""
