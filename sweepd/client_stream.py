"""Following a sweep live: its Server-Sent Events parsed, reconnects backed off, and the progress
bar that `Client.wait` draws from them. Part of the light client (no server dependency).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from sweepd.errors import Unavailable

FINAL_STATES = frozenset({"completed", "failed", "cancelled"})


def _parse_sse(lines: Iterator[str], deadline: float | None,
               ) -> Iterator[tuple[str, dict[str, Any]]]:
    event, data, event_id = "message", [], None
    for line in lines:
        if deadline is not None and time.monotonic() > deadline:
            return
        if line == "":
            if data:
                parsed = json.loads("\n".join(data))
                if event_id is not None and isinstance(parsed, dict):
                    parsed["_id"] = event_id
                yield event, parsed
            event, data, event_id = "message", [], None
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
        elif line.startswith("id:"):
            event_id = line[3:].strip()


class _Reconnect:
    """Backoff for a waiting client: 1, 2, 4 … 15 s between tries (or the service's
    Retry-After), giving up after `patience` seconds without an answer."""

    def __init__(self, patience: float) -> None:
        self.patience, self.delay = patience, 1.0
        self.last_id: str | None = None
        self.since = time.monotonic()

    def answered(self, data: dict[str, Any]) -> None:
        self.since, self.delay = time.monotonic(), 1.0
        self.last_id = data.get("_id", self.last_id)

    def back_off(self, exc: Exception) -> None:
        if time.monotonic() - self.since > self.patience:
            raise Unavailable(f"sweepd did not answer for {self.patience:g} s: {exc}") from exc
        retry_after = getattr(exc, "retry_after", None)
        time.sleep(min(60.0, retry_after) if retry_after is not None else self.delay)
        self.delay = min(15.0, self.delay * 2)


def _steps_per_trial(spec: dict[str, Any]) -> int:
    """Training steps of one trial as the spec states them (1 when it gives epochs instead)."""
    steps = (spec.get("training") or {}).get("steps")
    return int(steps) if isinstance(steps, int) and steps > 0 else 1


def _update_bar(bar: Any, data: dict[str, Any], steps: int) -> None:
    sweep_id = data.get("sweep_id", data.get("id"))
    paused = " paused" if data.get("state") == "paused" else ""
    bar.set_description_str(f"sweep {sweep_id}{paused}", refresh=False)
    counts = data.get("counts") or {}
    done = sum(counts.get(s, 0) for s in FINAL_STATES)
    total = data.get("n_trials") or sum(counts.values())
    bar.n = min(bar.total, round(float(data.get("progress", 0.0)) * total * steps))
    bar.set_postfix_str(f"{done}/{total} trials" + "".join(
        f", {k} {v}" for k, v in counts.items() if v and k not in FINAL_STATES), refresh=False)
    bar.refresh()
