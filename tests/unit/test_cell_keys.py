"""Cell keys joined from pieces (`CellKeys`, what an expansion uses) are the bytes `cell_key`
hashes, so a stored sweep's trials keep their keys (growth and claims find them by key)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from sweepd.spec import CellKeys, SweepSpec, cell_key
from sweepd.storage.store_sweeps import cell_rows, trial_rows

SMALL: dict[str, Any] = {
    "name": "k", "dataset": {"name": "moons", "n_samples": 200, "noise": 0.2, "seed": 0},
    "model": {"hidden": [2], "activation": "tanh"},
    "training": {"optimizer": "sgd", "learning_rate": 0.5, "steps": 1, "batch_size": 50},
}

# Taken from the code before `CellKeys` (e123ad4's expansion dumped each cell's payload whole):
# the keys of sweeps stored by earlier versions.
STORED_KEYS = {
    "grid": ["2e83465d65d040ddd357080d8a964b85", "978c54f78cf96f402b4613ccfde37b89",
             "ce8ea90519f87bb5c51dce03b02d79fb", "e4398d0b7ab21c3fd2d60dccaefefc8b",
             "76638557c7118687b8252a42cba96887", "cfd349e083141b79fa9dc698318d7ee9",
             "8f1a7ba443c4f9aae480bff0575b3253", "e186dd2397c5f34f7b5dbe8e01d6e0ef"],
    "factors": ["a1cc11d10f08a216d6e5c480611c6da6", "a58f4d6e2429ce3edd0c7c846e7287a3",
                "0ad5523e8e13410ca2e1327e99d3c743", "1fccfd955c6d7cd8abdfe46c8010a5ae"],
}
SPECS = {
    "grid": {**SMALL, "training": {"optimizer": "gd", "learning_rate": 0.5, "steps": 1},
             "seeds": {"start": 0, "count": 2},
             "initializers": ["glorot_uniform", {"name": "random_normal", "stddev": 0.01}],
             "grid": {"training.learning_rate": [0.1, 0.5]}},
    "factors": {**SMALL, "seeds": [3], "order_seeds": {"start": 0, "count": 2},
                "data_seeds": [0, 7], "initializers": ["he_normal"]},
}


def test_expansions_keep_the_keys_stored_sweeps_have() -> None:
    for name, spec in SPECS.items():
        sweep = SweepSpec.model_validate(spec)
        assert [t.cell_key for t in sweep.trials()] == STORED_KEYS[name]
        assert [c.cell_key for c in sweep.trial_cells()] == STORED_KEYS[name]


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
                     | st.text(max_size=5), lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=8)
_seed = st.integers(0, 2**63 - 1)


@settings(max_examples=300, deadline=None)
@given(seed=_seed, init=st.dictionaries(st.text(max_size=8), _json, max_size=4),
       params=st.dictionaries(st.text(max_size=8), _json, max_size=3),
       order=st.none() | _seed, draw=st.none() | st.integers(0, 2**32 - 1))
def test_a_joined_key_is_the_key_of_the_whole_payload(seed: int, init: dict[str, Any],
                                                      params: dict[str, Any], order: int | None,
                                                      draw: int | None) -> None:
    keys = CellKeys()
    joined = keys.key(seed, keys.text(init), keys.text(params), order_seed=order,
                      data_seed=draw)
    assert joined == cell_key(seed, init, params, order_seed=order, data_seed=draw)


def test_keyed_cells_are_the_cells_of_the_expansion_as_rows() -> None:
    sweep = SweepSpec.model_validate(SPECS["factors"])
    trials = sweep.trials()
    rows = trial_rows(sweep)
    assert [r["cell_key"] for r in rows] == [t.cell_key for t in trials]
    assert [r["batch_key"] for r in rows] == [t.batch_key for t in trials]
    # Stored as before issue 16: null where the factor is its default (the draw of
    # dataset.seed 0; the seed 3 is none of the order seeds).
    assert [(r["order_seed"], r["data_seed"]) for r in rows] == [(0, None), (1, None),
                                                                 (0, 7), (1, 7)]
    assert {r["initializer_label"] for r in rows} == {"he_normal"}
    grown = cell_rows(sweep.keyed_cells([4], sweep.initializers, sweep.grid_points()))
    assert [r["seed"] for r in grown] == [4, 4, 4, 4]
    rebuilt = [sweep.trial_for(r["seed"], r["initializer"], r["params"],
                               order_seed=r["order_seed"], data_seed=r["data_seed"])
               for r in rows]
    assert [t.cell_key for t in rebuilt] == [t.cell_key for t in trials]
