"""Write `schemas/<revision>.sqlite`: a database at the current head, with data in every table.

Run once per released schema revision (`python tests/data/make_schema_fixture.py`) and commit
the file: `test_schema_upgrades.py` then upgrades every stored revision to the head.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np

from sweepd import uploaded, weights
from sweepd.records import ResultItem
from sweepd.results import TailMetrics, TrialResult
from sweepd.spec import SweepSpec
from sweepd.storage.schema import head_revision, open_store


def main() -> Path:
    target = Path(__file__).parent / "schemas" / f"{head_revision()}.sqlite"
    target.unlink(missing_ok=True)
    store = open_store(f"sqlite:///{target}", auto_migrate=True)
    user = store.create_user("fixture")
    _, raw_token = store.create_token(user.id, "fixture")
    # A web session that outlives the fixture (0003): the upgrade must keep it.
    store.start_web_session(raw_token, lifetime=timedelta(days=365 * 100))
    spec = SweepSpec.model_validate({
        "name": "schema fixture", "dataset": {"name": "xor"}, "seeds": {"count": 2},
        "initializers": ["glorot_uniform", "zeros"], "training": {"steps": 10}})
    sweep, _ = store.submit_sweep(user.id, spec, idempotency_key="fixture")
    batches = store.claim_trials(holder="fixture", max_trials=1, max_batch=1, lease_seconds=60)
    trial = batches[0].trials[0]
    blob, sha = weights.pack({"layers.0.kernel": np.ones((2, 4), np.float32),
                              "layers.0.bias": np.zeros(4, np.float32),
                              "layers.1.kernel": np.ones((4, 1), np.float32),
                              "layers.1.bias": np.zeros(1, np.float32)})
    result = TrialResult(cell_key=trial.spec.cell_key, status="ok", train_cost=0.5,
                         train_accuracy=0.75, test_cost=0.6, test_accuracy=0.7,
                         train_cost_tail=0.5, steps=10, wall_seconds=0.01, curve_every=5,
                         curve=[0.7, 0.6, 0.5], final_weights=blob, final_sha256=sha,
                         environment={"torch": "fixture"},
                         tail=TailMetrics(steps=8, train_cost=0.5, train_accuracy=0.75,
                                          test_cost=0.6, test_accuracy=0.7, oscillating=True,
                                          cost_gap=0.01, accuracy_gap=0.005))
    store.record_results([ResultItem(trial_id=trial.trial_id, attempt=trial.attempt,
                                     result=result, node="fixture", device="cpu")])
    # An uploaded data set (0005): its record and its blob must survive the upgrade.
    x = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5], [1.5, 2.0]])
    blob, sha = uploaded.encode(x, np.array([0, 1, 0, 1]))
    store.add_dataset(user.id, blob, sha, name="fixture.csv", format="csv", target="label",
                      shape=(4, 2, 2), feature_names=["a", "b"], class_names=["0", "1"],
                      class_counts=[2, 2])
    store.dispose()
    print(f"wrote {target} (sweep {sweep.id})")
    return target


if __name__ == "__main__":
    main()
