"""The processes of the embedded local Ray: recorded while the service runs, reaped after it.

`kill -9` of the service leaves Ray's dashboard and runtime-env agents running as orphans
(parent 1; they ignore SIGTERM). Ray cannot tie them to a process that dies without running
any code, so the service records its descendants (pid and kernel start time, which together
name one process for ever) in `ray-processes.json` in its data directory, and the next start,
or the clean shutdown, kills whichever of them still run. Linux only (`/proc`); elsewhere this
does nothing.
"""

from __future__ import annotations

import json
import logging
import os
import signal
from pathlib import Path

from sweepd import private

log = logging.getLogger("sweepd.local_ray")

RECORD = "ray-processes.json"
_PROC = Path("/proc")


def record(data_dir: Path) -> None:
    """Save this process's descendants (the local Ray's processes) to the data directory."""
    if not _PROC.is_dir():
        return
    found = descendants(os.getpid())
    path = data_dir / RECORD
    private.create_private(path)
    path.write_text(json.dumps([[pid, start] for pid, start in sorted(found.items())]))


def reap(data_dir: Path) -> list[int]:
    """Kill the recorded processes that still run (same pid, same start time); forget them.

    Returns:
        The pids killed.
    """
    path = data_dir / RECORD
    try:
        recorded = [(int(pid), int(start)) for pid, start in json.loads(path.read_text())]
    except (OSError, ValueError, TypeError):
        return []
    killed = []
    for pid, start in recorded:
        if pid != os.getpid() and _start_time(pid) == start and _running(pid) and _owned(pid):
            try:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            except ProcessLookupError:
                pass
    path.unlink(missing_ok=True)
    if killed:
        log.warning("killed %d processes an earlier local Ray left behind: %s", len(killed),
                    killed)
    return killed


def kill_descendants() -> int:
    """SIGKILL every descendant of this process (the local Ray it started); how many.

    Two passes: a raylet may start a worker between the scan and its own death.
    """
    killed: set[int] = set()
    for _ in range(2):
        for pid in descendants(os.getpid()):
            try:
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
            except ProcessLookupError:
                pass
    return len(killed)


def descendants(root: int) -> dict[int, int]:
    """pid → start time of every live descendant of `root`."""
    children: dict[int, list[int]] = {}
    for entry in _PROC.iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None:
                children.setdefault(int(stat[1]), []).append(int(entry.name))
    out: dict[int, int] = {}
    todo = list(children.get(root, []))
    while todo:
        pid = todo.pop()
        start = _start_time(pid)
        if start is not None and pid not in out:
            out[pid] = start
            todo.extend(children.get(pid, []))
    return out


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name: [state, ppid, ..., starttime (19)]."""
    try:
        text = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()


def _start_time(pid: int) -> int | None:
    fields = _stat(pid)
    return int(fields[19]) if fields is not None and len(fields) > 19 else None


def _running(pid: int) -> bool:
    """Not a zombie: killed already, only waiting for its parent to collect it."""
    fields = _stat(pid)
    return fields is not None and fields[0] not in "ZX"


def _owned(pid: int) -> bool:
    try:
        return (_PROC / str(pid)).stat().st_uid == os.getuid()
    except OSError:
        return False
