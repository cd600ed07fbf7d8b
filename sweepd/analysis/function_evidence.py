"""Do a group's runs compute the same function? Disagreement, |Δp|, loss barriers and CKA over
all pairs of runs or a stated random sample of them (issue 11).

Predictions, probabilities and hidden activations are computed once per run; only the
barriers need work per pair (an alignment and two interpolations), so they get a smaller
sample. Costs are bounded by the pair budgets and the point subsamples below.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sweepd.analysis._net import Layers
from sweepd.analysis.functional import (
    _classes,
    _probabilities,
    barrier,
    forward,
    linear_cka,
)
from sweepd.analysis.models import FunctionEvidence

MAX_PAIRS = 200  # pairs for disagreement, |Δp| and CKA
MAX_BARRIER_PAIRS = 8  # pairs for the loss barriers
MAX_POINTS = 2_000  # evaluation points (evenly spaced subsample)
MAX_BARRIER_POINTS = 1_000  # training points for the barriers
BARRIER_ALPHAS = np.linspace(0.0, 1.0, 11)


def function_evidence(nets: Sequence[Layers], x_eval: np.ndarray, x_train: np.ndarray,
                      y_train: np.ndarray, activation: str, *, loss: str = "auto",
                      seed: int = 0) -> FunctionEvidence | None:
    """Functional comparison of every two of `nets` (or a sample of the pairs).

    Args:
        nets: finite float64 layers of one architecture.
        x_eval: the points disagreement and |Δp| are measured on (test set, else train).
        x_train, y_train: the training set, for the loss barriers.
        activation: the hidden activation.
        loss: the training loss ("auto": the engine's bce or ce).
        seed: draws the pair samples.

    Returns:
        The evidence, or None for fewer than two nets.
    """
    if len(nets) < 2:
        return None
    rng = np.random.default_rng(seed)
    pairs = _pairs(len(nets), MAX_PAIRS, rng)
    x = _subsample(np.asarray(x_eval, dtype=np.float64))
    hidden, z = zip(*(_outputs(net, x, activation) for net in nets))
    if loss == "regression":  # no classes: |Δŷ| in units of the target's std, no disagreement
        scale = float(np.std(np.asarray(y_train, dtype=np.float64))) or 1.0
        dis = None
        dp = np.array([np.mean(np.abs(z[i] - z[j])) / scale for i, j in pairs])
    else:
        classes = [_classes(zi) for zi in z]
        probs = [_probabilities(zi) for zi in z]
        dis = np.array([np.mean(classes[i] != classes[j]) for i, j in pairs])
        dp = np.array([np.mean(np.abs(probs[i] - probs[j])) for i, j in pairs])
    ckas = [c for i, j in pairs if (c := linear_cka(hidden[i], hidden[j])) is not None]
    barrier_pairs = pairs[:MAX_BARRIER_PAIRS]
    xt = _subsample(np.asarray(x_train, dtype=np.float64), MAX_BARRIER_POINTS)
    yt = _subsample(np.asarray(y_train), MAX_BARRIER_POINTS)
    lines = [barrier(nets[i], nets[j], xt, yt, activation, BARRIER_ALPHAS, loss, seed=seed)
             for i, j in barrier_pairs]
    total = len(nets) * (len(nets) - 1) // 2
    return FunctionEvidence(
        n_pairs=len(pairs), sampled=len(pairs) < total,
        disagreement=float(dis.mean()) if dis is not None else None,
        max_disagreement=float(dis.max()) if dis is not None else None,
        mean_abs_dp=float(dp.mean()),
        n_barrier_pairs=len(lines),
        barrier_raw=float(np.mean([b.raw.barrier for b in lines])),
        barrier_aligned=float(np.mean([b.aligned.barrier for b in lines])),
        cka=float(np.mean(ckas)) if ckas else None,
    )


def _outputs(net: Layers, x: np.ndarray, activation: str) -> tuple[np.ndarray, np.ndarray]:
    hidden, z = forward(net, x, activation)
    return hidden[0], z


def _pairs(n: int, budget: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    """All pairs i < j when they fit the budget, else a uniform sample without repeats; in a
    shuffled order, so that any prefix is a random sample too."""
    total = n * (n - 1) // 2
    if total <= budget:
        flat = rng.permutation(total)
    else:
        flat = rng.choice(total, size=budget, replace=False)
    rows, cols = np.triu_indices(n, 1)
    return [(int(rows[k]), int(cols[k])) for k in flat]


def _subsample(values: np.ndarray, limit: int = MAX_POINTS) -> np.ndarray:
    if len(values) <= limit:
        return values
    return values[np.linspace(0, len(values) - 1, limit).astype(int)]
