"""Bounded admission (`sweepd.slots`): per-key and total caps, refusals carry Retry-After."""

from __future__ import annotations

import pytest

from sweepd.errors import Busy
from sweepd.slots import Slots


def test_slots_refuse_past_the_per_key_and_total_caps_and_free_on_exit():
    slots = Slots("replays", total=3, per_key=2, retry_after=7)
    with slots.hold("alice"), slots.hold("alice"):
        with pytest.raises(Busy, match="you already have 2 replays") as mine:
            slots.acquire("alice")
        with slots.hold("bob"):
            with pytest.raises(Busy, match="maximum of 3 replays") as everyone:
                slots.acquire("carol")
        assert slots.in_use() == 2 and slots.in_use("alice") == 2
    assert mine.value.retry_after == everyone.value.retry_after == 7
    assert slots.in_use() == 0


def test_slots_free_a_slot_when_the_block_raises():
    slots = Slots("streams", total=1, per_key=1, retry_after=1)
    with pytest.raises(RuntimeError), slots.hold("alice"):
        raise RuntimeError("boom")
    assert slots.in_use() == 0
