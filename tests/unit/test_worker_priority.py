"""Batches train at a lower CPU priority than the API (`SWEEPD_WORKER_NICE`, issue 19).

Niceness belongs to a process and, without privileges, only goes up, so each case runs in a
fresh interpreter.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from sweepd.settings import load_settings


def _niceness_after(*calls: int) -> list[int]:
    """What `lower_priority` returned for each call in one new process; checked against the
    kernel's own figure at the end."""
    code = ("import json, os, sys\nfrom sweepd_workers.tasks import lower_priority\n"
            "got = [lower_priority(int(n)) for n in sys.argv[1:]]\n"
            "print(json.dumps({'returned': got, 'kernel': os.nice(0)}))")
    done = subprocess.run([sys.executable, "-c", code, *map(str, calls)], capture_output=True,
                          text=True, check=True, timeout=120)
    out = json.loads(done.stdout)
    assert out["kernel"] == out["returned"][-1]
    return out["returned"]


def test_a_worker_raises_its_niceness_to_the_setting_and_never_lowers_it():
    start = int(subprocess.run([sys.executable, "-c", "import os; print(os.nice(0))"],
                               capture_output=True, text=True, check=True).stdout)
    if start > 5:
        pytest.skip(f"this test runs at niceness {start} already")
    # 7, then a smaller setting keeps 7, then a larger one raises it, then 0 keeps it.
    assert _niceness_after(7, 5, 12, 0) == [7, 7, 12, 12]


def test_worker_niceness_defaults_to_10_and_is_bounded_to_what_nice_accepts():
    assert load_settings().worker_nice == 10
    assert load_settings(worker_nice=0).worker_nice == 0
    for bad in (-1, 20):
        with pytest.raises(ValueError):
            load_settings(worker_nice=bad)


def test_a_worker_whose_priority_cannot_change_trains_on_and_says_so(monkeypatch, caplog):
    from sweepd_workers import tasks

    def refused(_increment: int) -> int:
        raise PermissionError("setpriority: operation not permitted")

    monkeypatch.setattr(tasks.os, "nice", refused)
    assert tasks.lower_priority(10) == 0
    assert "trains at its own priority" in caplog.text
