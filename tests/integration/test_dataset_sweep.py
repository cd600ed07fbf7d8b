"""A sweep on an uploaded data set, trained through Ray by the real dispatcher (issue 17):
scikit-learn's breast_cancer uploaded as CSV trains bitwise like the built-in `breast_cancer`
with the same split and seeds, and the dispatcher puts the data set into Ray's object store once.
"""

from __future__ import annotations

import time

import pytest

from sweepd.dataset_upload import upload_dataset
from sweepd.errors import Conflict, NotFound
from sweepd.settings import load_settings
from sweepd.spec import SweepSpec
from sweepd.submission import submit_sweep
from tests.integration.dataset_support import TARGET, breast_cancer_files

pytestmark = pytest.mark.ray


@pytest.fixture
def store(real_clock_store):
    return real_clock_store


def spec(dataset: dict, learning_rate: float = 0.5) -> SweepSpec:
    return SweepSpec.model_validate({
        "name": "byod", "dataset": {**dataset, "test_fraction": 0.25, "standardize": True,
                                    "seed": 3},
        "model": {"hidden": [4]},
        "training": {"optimizer": "gd", "learning_rate": learning_rate, "steps": 200},
        "seeds": {"start": 0, "count": 2}, "initializers": ["glorot_uniform", "he_normal"]})


def outcome(store, owner: int, sweep_id: int) -> dict:
    trials, _ = store.list_trials(owner, sweep_id, limit=100, offset=0)
    assert all(t.state == "completed" for t in trials), [t.error for t in trials]
    return {(t.seed, t.initializer_label): (t.result.test_accuracy, t.result.final_sha256)
            for t in trials}


def test_sweep_on_uploaded_csv_equals_builtin_breast_cancer(store, ray_connected):
    from sweepd_workers.dispatcher import Dispatcher

    settings = load_settings(ray_address=ray_connected, poll_seconds=0.05)
    owner = store.create_user("alice").id
    other = store.create_user("bob").id
    record, _ = upload_dataset(store, settings, owner, breast_cancer_files()["csv"],
                               target=TARGET, filename="cancer.csv")
    with pytest.raises(NotFound):  # another user's data set is not found, nothing stored
        submit_sweep(store, settings, other, spec({"name": "uploaded", "id": record.id}))
    assert store.list_sweeps(other, limit=10, offset=0)[1] == 0

    mine, _ = submit_sweep(store, settings, owner, spec({"name": "uploaded", "id": record.id}))
    again, _ = submit_sweep(store, settings, owner,
                            spec({"name": "uploaded", "id": record.sha256}, learning_rate=0.6))
    builtin, _ = submit_sweep(store, settings, owner, spec({"name": "breast_cancer"}))
    assert mine.spec["dataset"]["id"] == record.sha256  # stored by content
    with pytest.raises(Conflict):
        store.delete_dataset(owner, record.id)

    dispatcher = Dispatcher(store, settings)
    dispatcher.start()
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            states = {store.get_sweep(owner, s.id).state for s in (mine, again, builtin)}
            if states == {"completed"}:
                break
            time.sleep(0.5)
    finally:
        dispatcher.stop()
    uploaded, reference = outcome(store, owner, mine.id), outcome(store, owner, builtin.id)
    assert len(uploaded) == 4 and uploaded == reference
    assert all(acc > 0.85 for acc, _ in uploaded.values())
    assert outcome(store, owner, again.id) != uploaded  # another learning rate: it did train
    assert dispatcher.shipper.puts == 1  # two sweeps, two batches, one ray.put
    store.delete_dataset(owner, record.id)  # every sweep finished: deletable
    assert store.list_datasets(owner, limit=10, offset=0)[1] == 0
