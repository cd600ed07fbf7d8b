"""The states of trials and sweeps, and the sets the rules test: the one home of this
vocabulary (the store's guarded transitions, the API's events, the web page and the
comparison cache all import it).

A trial goes pending → running → completed | failed | cancelled (back to pending when its
lease expires and attempts are left). A sweep is pending until a trial runs, running until
every trial has ended, then completed (all completed), failed (some failed) or cancelled.
An open sweep may be paused (issue 15): its pending trials are not claimed, its running ones
finish and are stored; resumed, it is running again (pending if no trial has started yet).
Paused is not final: a paused sweep whose last trials end closes as completed or failed.
"""

from __future__ import annotations

from typing import Literal

TrialState = Literal["pending", "running", "completed", "failed", "cancelled"]
SweepState = Literal["pending", "running", "paused", "completed", "failed", "cancelled"]
TRIAL_STATES: tuple[str, ...] = TrialState.__args__  # type: ignore[attr-defined]
OPEN_TRIAL_STATES: tuple[str, ...] = ("pending", "running")
FINAL_TRIAL_STATES = frozenset({"completed", "failed", "cancelled"})
FINAL_SWEEP_STATES = frozenset({"completed", "failed", "cancelled"})
UNCLAIMED_SWEEP_STATES: tuple[str, ...] = ("cancelled", "paused")  # their trials are not claimed
