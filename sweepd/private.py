"""Files and folders that only their owner may read: the token file, the database, the data dir.

A file created with `open()` gets 0644 under the usual umask, and `os.open(..., O_CREAT, 0o600)`
spares a file that already exists, so sweepd creates its secrets private and narrows any that
someone widened, saying so in the log.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700

log = logging.getLogger("sweepd.private")


def narrow(path: Path, mode: int = FILE_MODE) -> bool:
    """Narrow `path` to `mode` when it grants more; True when it had to be narrowed.

    Raises:
        OSError: the mode cannot be changed (another user owns the path).
    """
    try:
        current = path.stat().st_mode & 0o777
    except FileNotFoundError:
        return False
    if current & ~mode == 0:
        return False
    os.chmod(path, mode)
    log.warning("%s was readable by others (mode %o); narrowed to %o", path, current, mode)
    return True


def private_dir(path: Path) -> Path:
    """Create `path` (and parents) as 0700, or narrow it to 0700 when it exists wider.

    A folder this process cannot change (another owner's) is left as it is, with a warning.
    """
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    try:
        narrow(path, DIR_MODE)
    except OSError as err:
        log.warning("cannot make %s private: %s", path, err)
    return path


def create_private(path: Path) -> None:
    """Create an empty file readable by its owner only (or narrow an existing one)."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE))
    narrow(path)
