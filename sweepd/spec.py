"""The sweep specification: what users write, validated completely before anything is stored.

A `SweepSpec` names a dataset, an architecture, a training configuration, a set of seeds, a set of
kernel initializers and optional extra grid axes. `SweepSpec.trials()` expands it into one
`TrialSpec` per (seed, initializer, grid point) cell; each cell has a `cell_key` that depends only
on what the cell trains, so the same spec gives the same keys in any process.

Every model here is strict: unknown fields are rejected, numbers are bounded and NaN/inf refused.
This module imports neither torch nor any server dependency, so the light client can use it.

It is the spec's one import path; the parts live beside it: `spec_sections` (dataset, model,
training, store), `spec_grid` (grid axes), `spec_cells` (`TrialSpec`, `cell_key`),
`spec_sweep` (`SweepSpec`), `spec_seeds`, `spec_initializers`, `spec_yaml`, `spec_base`.
"""

from __future__ import annotations

import math

from sweepd.spec_base import _Strict  # noqa: F401  (re-exported: they are part of the spec)
from sweepd.spec_cells import (  # noqa: F401  (re-exported: they are part of the spec)
    Cell,
    CellKeys,
    TrialSpec,
    _digest,
    _digest_hex,
    _dump,
    cell_key,
)
from sweepd.spec_grid import (  # noqa: F401  (re-exported: they are part of the spec)
    GRID_SECTIONS,
    MAX_CHECKED_POINTS,
    MAX_GRID_VALUES,
    GridValue,
    _apply,
    _check_axis,
    _integer_field,
)
from sweepd.spec_initializers import (  # noqa: F401  (re-exported: they are part of the spec)
    INITIALIZER_NAMES,
    Constant,
    GlorotNormal,
    GlorotUniform,
    HeNormal,
    HeUniform,
    Identity,
    Initializer,
    InitializerInput,
    LecunNormal,
    LecunUniform,
    Ones,
    Orthogonal,
    RandomNormal,
    RandomUniform,
    TorchDefault,
    TruncatedNormal,
    VarianceScaling,
    Zeros,
    _name_to_mapping,
    initializer_label,
)
from sweepd.spec_sections import (  # noqa: F401  (re-exported: they are part of the spec)
    BUILTIN_DATASETS,
    GENERATED_DATASETS,
    MAX_CURVE_POINTS,
    UPLOADED,
    Activation,
    DatasetName,
    DatasetRef,
    DatasetSpec,
    ModelSpec,
    PluginValue,
    StoreSpec,
    TrainingSpec,
)
from sweepd.spec_seeds import (  # noqa: F401  (re-exported: they are part of the spec)
    MAX_SEEDS,
    SEED_LIMIT,
    AdaptiveRule,
    AdaptiveSeeds,
    DataSeeds,
    OrderSeeds,
    Seed,
    SeedRange,
    Seeds,
    factor_values,
)
from sweepd.spec_sweep import (  # noqa: F401  (re-exported: they are part of the spec)
    EXAMPLE,
    MAX_TRIALS_DEFAULT,
    SafeName,
    SweepSpec,
)
from sweepd.spec_yaml import MAX_SPEC_BYTES, SpecYamlError, load_yaml  # noqa: F401  (re-exported)


def spec_hash(spec: SweepSpec) -> str:
    """sha256 of the canonical JSON of a validated spec: what an Idempotency-Key is bound to.

    Hashing the validated spec rather than the raw bytes makes key order, whitespace and the
    shorthand `"he_normal"` for `{"name": "he_normal"}` irrelevant to idempotency. Every
    submission path (the API, the store, the SDK's `SweepSpec`) uses this one function.
    """
    return _digest_hex(spec.model_dump(mode="json"))


def resolved_steps(training: TrainingSpec, n_train: int) -> int:
    """Total optimisation steps: `steps`, or `epochs` × batches per epoch (1000 if neither)."""
    if training.steps is not None:
        return training.steps
    if training.epochs is None:
        return 1000
    batch = training.batch_size or n_train
    return training.epochs * max(1, math.ceil(n_train / batch))


def resolved_curve_every(store: StoreSpec, total_steps: int) -> int:
    """The interval a trial records its cost at: `curve_every`, raised so that the curve
    (points before steps 0, every, 2·every, ... < total, then the final cost) holds at most
    `MAX_CURVE_POINTS` points. Evenly thinned, never truncated; the result says which."""
    return max(store.curve_every, math.ceil(total_steps / (MAX_CURVE_POINTS - 1)))
