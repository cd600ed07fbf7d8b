"""Ready-made specs: the seed example the product was created from (docs/science.md §2)."""

from __future__ import annotations

from sweepd.spec import EXAMPLE, INITIALIZER_NAMES, SweepSpec


def seed_example(*, steps: int = 10_000, seeds: int = 8, all_initializers: bool = True,
                 test_fraction: float = 0.2) -> SweepSpec:
    """The moons study: 2-4-1 tanh/sigmoid, full-batch GD at lr 1.2, every initializer.

    Args:
        steps: gradient-descent steps per trial (10 000 in the original course setup).
        seeds: how many seeds per initializer.
        all_initializers: every initializer sweepd knows; else the course's N(0, 0.01²) and
            Keras's default glorot_uniform only.
        test_fraction: share of the 5 000 points held out for testing.

    Returns:
        The validated spec.
    """
    if all_initializers:
        inits: list[object] = [n for n in INITIALIZER_NAMES if n != "random_normal"]
        inits.insert(3, {"name": "random_normal", "stddev": 0.01})
    else:
        inits = [{"name": "random_normal", "stddev": 0.01}, "glorot_uniform"]
    return SweepSpec.model_validate({
        "name": f"moons-seed-study-{steps}-steps",
        "description": "Same accuracy, different weights: is it the same solution?",
        "dataset": {"name": "moons", "n_samples": 5000, "noise": 0.2,
                    "test_fraction": test_fraction, "seed": 0},
        "model": {"hidden": [4], "activation": "tanh", "output": "sigmoid"},
        "training": {"optimizer": "gd", "learning_rate": 1.2, "steps": steps, "loss": "bce"},
        "seeds": {"start": 0, "count": seeds},
        "initializers": inits,
        "store": {"initial_weights": True, "curve_every": max(1, steps // 100)},
    })


# Request bodies shown in the OpenAPI document (and /docs): the README's quick sweep,
# verbatim as examples/spec.json, and the same study with a learning-rate grid.
QUICK_REQUEST: dict[str, object] = EXAMPLE
GRID_REQUEST: dict[str, object] = {
    **QUICK_REQUEST,
    "name": "moons-learning-rates",
    "seeds": [0, 1, 2, 3],
    "grid": {"training.learning_rate": [0.1, 1.2]},
}
REQUEST_EXAMPLES: dict[str, dict[str, object]] = {
    "quick": {"summary": "24 trials: 8 seeds × 3 initializers, 2 000 steps (examples/spec.json)",
              "value": QUICK_REQUEST},
    "grid": {"summary": "24 trials: 4 seeds × 3 initializers × 2 learning rates",
             "value": GRID_REQUEST},
}
