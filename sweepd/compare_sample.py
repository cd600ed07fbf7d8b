"""Which trials a large sweep's comparison analyses: a seeded random sample of seeds (issue 19).

A sweep of up to `SAMPLE_THRESHOLD` trials is compared in full, exactly as before. Above it,
the comparison loads and analyses the trials of a random sample of *pairing keys* — a key is
(seed, order seed, data draw), the unit on which two initializers are paired — drawn with
`numpy.random.default_rng(SAMPLE_SEED)` so that the same sweep gives the same sample. Every
trial of a chosen key is kept (all its initializers and grid points), so paired tests stay
paired; about `SAMPLE_TRIALS` trials are kept in all. The statistics per initializer, the
failures, the per-trial diagnostics, the solutions and the paired tests are then those of the
sample; the sweep's counts (`n_total`, `n_finished`, `n_with_result`, `partial`) stay exact.
The comparison says so in `sample` and in its notes. Only the sample's rows and weights are
read from the store. An adaptive sweep is never sampled (`sweepd.compare_load`): its rule reads
every trial's value from the comparison.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict

SAMPLE_THRESHOLD = 4000  # trials of a sweep compared in full; above, a sample
SAMPLE_TRIALS = 4000  # about this many trials in a sample
SAMPLE_SEED = 0


class TrialKey(NamedTuple):
    """What the sampling needs of a trial: its id, its pairing key and whether it is done."""

    id: int
    seed: int
    order_seed: int | None
    data_seed: int | None
    finished: bool
    has_result: bool

    @property
    def pairing(self) -> tuple[int, int, int]:
        # The key `sweepd.analysis.compare` pairs two initializers' trials on.
        order = self.seed if self.order_seed is None else self.order_seed
        return self.seed, order, -1 if self.data_seed is None else self.data_seed


class CompareSample(BaseModel):
    """The random sample a large comparison was computed on (None when it covers every trial)."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    n_trials: int
    """Trials in the sweep."""
    n_sampled: int
    """Trials in the sample: the groups, failures, solutions and paired tests cover these."""
    n_keys: int
    """Pairing keys (seed, order seed, data draw) in the sweep."""
    n_keys_sampled: int
    """Pairing keys drawn; every trial of a drawn key is in the sample."""
    threshold: int
    """Sweeps with more trials than this are sampled."""
    seed: int
    """Seed of the draw (`numpy.random.default_rng`)."""


class Chosen(NamedTuple):
    ids: list[int] | None  # None: every trial
    sample: CompareSample | None


def choose(keys: Sequence[TrialKey], *, threshold: int | None = None, size: int | None = None,
           seed: int | None = None) -> Chosen:
    """The trials to analyse: all of them up to `threshold`, else a seeded sample of keys.

    Args:
        keys: every trial of the sweep.
        threshold: sweeps of at most this many trials are not sampled (default
            `SAMPLE_THRESHOLD`, read at the call).
        size: about this many trials are kept, at least one key (default `SAMPLE_TRIALS`).
        seed: seed of the draw (default `SAMPLE_SEED`).
    """
    threshold = SAMPLE_THRESHOLD if threshold is None else threshold
    size = SAMPLE_TRIALS if size is None else size
    seed = SAMPLE_SEED if seed is None else seed
    if len(keys) <= threshold:
        return Chosen(None, None)
    import numpy as np  # here: `sweepd.analysis.models` imports this module for a light client
    units = sorted({k.pairing for k in keys})
    n_keys = max(1, min(len(units), math.floor(size * len(units) / len(keys))))
    drawn = np.random.default_rng(seed).choice(len(units), size=n_keys, replace=False)
    wanted = {units[i] for i in drawn.tolist()}
    ids = sorted(k.id for k in keys if k.pairing in wanted)
    return Chosen(ids, CompareSample(n_trials=len(keys), n_sampled=len(ids),
                                     n_keys=len(units), n_keys_sampled=n_keys,
                                     threshold=threshold, seed=seed))


def note(sample: CompareSample) -> str:
    """The comparison's note on its sample."""
    return (f"sampled sweep: {sample.n_trials} trials are over the threshold of "
            f"{sample.threshold}, so the groups, failures, per-trial diagnostics, solutions and "
            f"paired tests cover a random sample of {sample.n_sampled} trials (every trial of "
            f"{sample.n_keys_sampled} of the {sample.n_keys} seeds, drawn with seed "
            f"{sample.seed}); the trial counts are the whole sweep's")
