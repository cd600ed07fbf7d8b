"""Crossed random factors (issue 16) through the store: each trial keeps its order seed and
data draw, and the dispatcher's claim rebuilds exactly the cells the spec expands to; on SQLite
and PostgreSQL."""

from __future__ import annotations

from sweepd.spec import SweepSpec
from sweepd.storage.store import Store
from tests.integration.store_support import claim, make_spec


def _crossed() -> SweepSpec:
    base = make_spec(seeds=2).model_dump(mode="json")
    return SweepSpec.model_validate({**base, "order_seeds": [0, 5], "data_seeds": [0, 9]})


def test_claim_trials_rebuilds_crossed_cells_with_their_factors(store: Store, owner: int) -> None:
    spec = _crossed()
    sweep, _ = store.submit_sweep(owner, spec)
    assert sweep.n_trials == 2 * 2 * 2 * 2
    batches = store.claim_trials(holder="d1", max_trials=100, max_batch=100, lease_seconds=60)
    rebuilt = {t.spec.cell_key: t.spec for b in batches for t in b.trials}
    assert rebuilt == {t.cell_key: t for t in spec.trials()}
    # Trials of one batch share their data draw.
    assert {b.batch_key: {t.spec.data_seed for t in b.trials} for b in batches} == {
        b.batch_key: {b.trials[0].spec.data_seed} for b in batches}
    assert len({b.batch_key for b in batches}) == 2


def test_list_trials_reports_factors_only_where_not_the_default(store: Store,
                                                               owner: int) -> None:
    sweep, _ = store.submit_sweep(owner, _crossed())
    trials, _ = store.list_trials(owner, sweep.id, limit=100, offset=0)
    got = {(t.seed, t.order_seed, t.data_seed) for t in trials}
    assert got == {(0, None, None), (0, 5, None), (0, None, 9), (0, 5, 9),
                   (1, 0, None), (1, 5, None), (1, 0, 9), (1, 5, 9)}


def test_claim_trials_old_spec_rows_have_no_factors(store: Store, owner: int) -> None:
    spec = make_spec(seeds=2)
    sweep, _ = store.submit_sweep(owner, spec)
    trials, _ = store.list_trials(owner, sweep.id, limit=100, offset=0)
    assert all(t.order_seed is None and t.data_seed is None for t in trials)
    assert {t.spec.cell_key: t.spec for t in claim(store)} == {t.cell_key: t
                                                                for t in spec.trials()}
