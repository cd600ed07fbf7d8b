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
