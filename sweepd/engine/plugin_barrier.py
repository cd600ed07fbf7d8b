"""The loss barrier between two trained plugin models (issue 18, item 4; docs/science.md §3):
max over α on a grid of L(α·θ_A + (1−α)·θ_B) − (α·L(θ_A) + (1−α)·L(θ_B)), on the training set,
with L the trial's data loss. Align θ_B first (`sweepd.analysis.group_matching`) for the
aligned barrier."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch.func import functional_call

from sweepd import datasets
from sweepd.engine.generic import _build, _per_row, _targets
from sweepd.outputs import resolve_output
from sweepd.spec import TrialSpec

ALPHAS = tuple(np.linspace(0.0, 1.0, 11))


def loss_barrier(trial: TrialSpec, a: Mapping[str, np.ndarray], b: Mapping[str, np.ndarray],
                 alphas: Sequence[float] = ALPHAS) -> float:
    """The barrier between parameters `a` and `b` (named, torch layout) of `trial`'s model."""
    data = datasets.load(trial.dataset, draw=getattr(trial, "data_seed", None))
    output, loss = resolve_output(trial.model.output, trial.training.loss, data.n_classes)
    n_out = 1 if output == "sigmoid" else data.n_classes
    module = _build(trial, (data.n_features,), n_out, torch.float64).eval()
    x = torch.tensor(data.x_train, dtype=torch.float64)
    target = _targets(data.y_train, n_out, torch.float64)

    def cost(params: Mapping[str, np.ndarray]) -> float:
        tensors = {k: torch.as_tensor(np.asarray(v, dtype=np.float64)) for k, v in params.items()}
        with torch.no_grad():
            logits = functional_call(module, tensors, (x,))
            return float(_per_row(logits, target, loss).mean())

    la, lb = cost(a), cost(b)
    gaps = [cost({k: t * a[k] + (1 - t) * b[k] for k in a}) - (t * la + (1 - t) * lb)
            for t in alphas]
    return float(max(gaps))
