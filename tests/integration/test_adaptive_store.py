"""The adaptive rule over a real store (SQLite and PostgreSQL), without training: trials are
finished with hand-built results, and each look adds a block or stops the sweep."""

from __future__ import annotations

from sweepd.adaptive_driver import advance_adaptive
from sweepd.spec import SweepSpec
from tests.integration.api.api_support import finish_trials, small_spec


def adaptive_spec(**rule):
    return SweepSpec.model_validate(small_spec("adaptive", seeds={"adaptive": {
        "initial": 4, "step": 4, "max": 12, **rule}}))


def test_equal_arms_add_a_block_then_stop_equivalent(store, owner):
    sweep, _ = store.submit_sweep(owner, adaptive_spec())
    assert sweep.n_trials == 8 and store.adaptive_sweeps_between_blocks() == []
    finish_trials(store)  # every result the same accuracy: the arms are equal
    assert store.get_sweep(owner, sweep.id).state == "running"  # open until the rule says stop
    # Look 1: four seeds per arm cannot decide at α = 0.05 (a 4-pair block bets at most 1.95⁴).
    assert advance_adaptive(store) == 8
    grown = store.get_sweep(owner, sweep.id)
    assert grown.n_trials == 16 and grown.counts["pending"] == 8 and grown.stop_reason is None
    seeds = sorted({t.seed for t in store.list_trials(owner, sweep.id, limit=100, offset=0)[0]})
    assert seeds == list(range(8))
    assert advance_adaptive(store) == 0  # nothing to look at while the block runs
    finish_trials(store)
    assert advance_adaptive(store) == 0  # look 2: equivalent, so it stops
    done = store.get_sweep(owner, sweep.id)
    assert done.stop_reason == "equivalent" and done.state == "completed"
    growths = store.list_growths(owner, sweep.id)
    assert [(g.source, g.n_trials) for g in growths] == [("adaptive", 8), ("adaptive", 0)]
    first, last = growths[0].decision, growths[1].decision
    assert first["stop"] is None and first["points"][0]["pairs"][0]["state"] == "undecided"
    assert last["stop"] == "equivalent" and last["points"][0]["seeds"] == {
        "glorot_uniform": 8, "he_normal": 8}
    assert growths[0].initializers == ["glorot_uniform", "he_normal"]
    assert growths[0].seeds == [4, 5, 6, 7]
    assert store.adaptive_sweeps_between_blocks() == []


def test_never_passes_max_and_stops_there(store, owner):
    # A cap the first block already reaches: four seeds cannot decide, and no more may come.
    sweep, _ = store.submit_sweep(owner, adaptive_spec(initial=4, step=4, max=4))
    finish_trials(store)
    assert advance_adaptive(store) == 0
    done = store.get_sweep(owner, sweep.id)
    assert done.stop_reason == "max_seeds" and done.n_trials == 8 and done.state == "completed"


def test_a_look_after_the_sweep_moved_on_adds_nothing(store, owner):
    sweep, _ = store.submit_sweep(owner, adaptive_spec())
    finish_trials(store)
    stale = store.get_sweep(owner, sweep.id).n_trials
    assert advance_adaptive(store) == 8
    # The same block decided again from the old trial count (a dispatcher that died between
    # deciding and writing) is refused.
    assert store.add_block(sweep.id, [], {"arms": []}, {}, after_trials=stale) == 0
    assert store.get_sweep(owner, sweep.id).n_trials == 16
