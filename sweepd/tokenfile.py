"""The saved local token, like Jupyter's: the first `sweepd serve` writes it, the CLI and SDK read it.

The file holds `{"url": ..., "token": ...}` and is readable by its owner only: written with mode
0600 (also over an existing file, whose old mode `open` would keep), and narrowed to 0600 by
`secure()` at every start when someone widened it. Its location is `$SWEEPD_TOKEN_FILE`, else
`token.json` in `$SWEEPD_DATA_DIR`, else in the user data directory.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import platformdirs

from sweepd import private

DEFAULT_URL = "http://127.0.0.1:8642"


def default_path() -> Path:
    """Where the token file lives when nothing says otherwise."""
    explicit = os.environ.get("SWEEPD_TOKEN_FILE")
    if explicit:
        return Path(explicit)
    data_dir = os.environ.get("SWEEPD_DATA_DIR") or platformdirs.user_data_dir(
        "sweepd", appauthor=False)
    return Path(data_dir) / "token.json"


def save(url: str, token: str, path: Path | None = None) -> Path:
    """Write the token file readable by its owner only; return its path."""
    target = path or default_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, private.FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        os.fchmod(fd, private.FILE_MODE)  # before the secret is written: O_CREAT's mode spares old files
        json.dump({"url": url, "token": token}, handle)
    return target


def secure(path: Path | None = None) -> None:
    """Narrow an existing token file that others may read to 0600 (and say so)."""
    private.narrow(path or default_path())


def load(path: Path | None = None) -> tuple[str, str] | None:
    """Return (url, token) from the token file, or None when there is none."""
    target = path or default_path()
    try:
        data = json.loads(target.read_text(encoding="utf-8"))
        return str(data["url"]), str(data["token"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
