"""The store contract for uploaded data sets (issue 17), on SQLite and PostgreSQL: content
addressed (one blob per sha256 for all owners), owner-scoped, delete refused while in use."""

from __future__ import annotations

import numpy as np
import pytest

from sweepd import uploaded
from sweepd.errors import Conflict, NotFound
from sweepd.spec import SweepSpec
from sweepd.storage.store import Store
from tests.integration.store_support import in_threads, scalar

X = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5], [1.5, 2.0]])
Y = np.array([0, 1, 0, 1])


def add(store: Store, owner: int, x: np.ndarray = X, name: str = "a.csv"):
    blob, sha = uploaded.encode(x, Y)
    return store.add_dataset(owner, blob, sha, name=name, format="csv", target="t",
                             shape=(len(x), x.shape[1], 2), feature_names=["a", "b"],
                             class_names=["0", "1"], class_counts=[2, 2])


def test_add_dataset_same_content_is_one_dataset_and_one_blob(store: Store, owner: int):
    first, created = add(store, owner)
    again, created_again = add(store, owner, name="b.csv")
    other = store.create_user("bob").id
    theirs, _ = add(store, other)
    assert created and not created_again and again.id == first.id and again.name == "a.csv"
    assert theirs.id != first.id and theirs.sha256 == first.sha256
    assert scalar(store, "SELECT count(*) FROM dataset_blobs") == 1
    assert scalar(store, "SELECT count(*) FROM datasets") == 2
    x, y = uploaded.decode(store.dataset_blob(first.sha256))
    assert np.array_equal(x, X) and y.tolist() == Y.tolist()


def test_add_dataset_concurrently_stores_it_once(store: Store, owner: int):
    results = in_threads(4, lambda _i: add(store, owner))
    assert len({r.id for r, _ in results}) == 1 and sum(c for _, c in results) == 1
    assert scalar(store, "SELECT count(*) FROM datasets") == 1


def test_get_dataset_of_another_owner_is_not_found(store: Store, owner: int):
    record, _ = add(store, owner)
    other = store.create_user("bob").id
    for ref in (record.id, record.sha256):
        assert store.get_dataset(owner, ref).id == record.id
        with pytest.raises(NotFound):
            store.get_dataset(other, ref)
        with pytest.raises(NotFound):
            store.delete_dataset(other, ref)
    assert store.list_datasets(other, limit=10, offset=0) == ([], 0)


def test_list_datasets_pages_newest_first(store: Store, owner: int):
    ids = [add(store, owner, X + i)[0].id for i in range(3)]
    page, total = store.list_datasets(owner, limit=2, offset=1)
    assert total == 3 and [r.id for r in page] == ids[::-1][1:]


def test_delete_dataset_refused_while_an_open_sweep_uses_it(store: Store, owner: int):
    record, _ = add(store, owner)
    spec = SweepSpec.model_validate({
        "name": "s", "dataset": {"name": "uploaded", "id": record.sha256},
        "training": {"steps": 10}, "seeds": {"count": 1}, "initializers": ["zeros"]})
    sweep, _ = store.submit_sweep(owner, spec)
    with pytest.raises(Conflict, match=str(sweep.id)):
        store.delete_dataset(owner, record.id)
    store.cancel_sweep(owner, sweep.id)
    store.delete_dataset(owner, record.id)
    assert scalar(store, "SELECT count(*) FROM dataset_blobs") == 0
    with pytest.raises(NotFound):
        store.dataset_blob(record.sha256)


def _spec_on(sha256: str) -> SweepSpec:
    return SweepSpec.model_validate({
        "name": "s", "dataset": {"name": "uploaded", "id": sha256},
        "training": {"steps": 10}, "seeds": {"count": 2}, "initializers": ["zeros"]})


def test_submit_after_a_delete_that_followed_its_check_stores_nothing(store: Store, owner: int):
    """The submission looked the set up (it existed), then the set was deleted before the
    insert: the insert itself refuses, so no sweep names a missing data set."""
    record, _ = add(store, owner)
    spec = _spec_on(record.sha256)  # as resolved by the submission's check
    store.delete_dataset(owner, record.id)
    with pytest.raises(NotFound, match="deleted while the sweep"):
        store.submit_sweep(owner, spec)
    assert scalar(store, "SELECT count(*) FROM sweeps") == 0
    assert scalar(store, "SELECT count(*) FROM trials") == 0


def test_delete_racing_submit_never_leaves_a_sweep_without_its_data(store: Store, owner: int):
    """Delete and submit at the same moment, many times: exactly one of them wins each round,
    and a stored sweep always finds its data set."""
    submitted = 0
    for i in range(12):
        record, _ = add(store, owner, X + 10 * i)
        spec = _spec_on(record.sha256)

        def race(k: int, record=record, spec=spec) -> str:
            try:
                if k == 0:
                    store.delete_dataset(owner, record.id)
                    return "deleted"
                store.submit_sweep(owner, spec)
                return "submitted"
            except (Conflict, NotFound) as err:
                return type(err).__name__

        result = sorted(in_threads(2, race))
        assert result in (["Conflict", "submitted"], ["NotFound", "deleted"]), result
        if "submitted" in result:
            submitted += 1
            assert store.get_dataset(owner, record.id).sha256 == record.sha256
    sweeps, total = store.list_sweeps(owner, limit=100, offset=0)
    assert total == submitted
    for sweep in sweeps:  # every stored sweep still finds its data set
        assert store.get_dataset(owner, sweep.spec["dataset"]["id"])
