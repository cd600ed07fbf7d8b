"""The generic batched engine: K copies of any plugin's torch module trained together (issue 18).

    run_batch(trials, device=None, progress=None) -> list[TrialResult]

The K models' parameters live in one (K, width) tensor (each parameter at an aligned offset,
`layout.padded`), bound by views; a step is `vmap(grad_and_value(loss))` of `functional_call`
over those views, so every model's gradient is its own mean loss's — the sum of the K losses,
never their mean — and the update is the fast engine's `optimizers` (PyTorch's rules, per-model
divergence isolation). Data order, curve points, the tail and the final metrics follow the fast
engine exactly (`loop.Schedule`); the result is the same `TrialResult`.

Determinism: initial parameters from each trial's own streams (`module_init`), deterministic
torch settings (`environment.deterministic`), and K-invariance by construction where it can be
had: a lone trial trains beside a copy of itself (as in the fast engine) and every row count is
padded to a multiple of `layout.ALIGN` with masked rows, so each model's slice of every stacked
activation starts on an aligned address whatever its position. A module that `vmap` cannot
batch (in-place buffer updates such as BatchNorm's running statistics, random ops such as
Dropout) trains one trial at a time instead, with its random ops on a global RNG seeded from the
trial; `environment.batching` says which path ran and why.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from typing import Any

import torch
from torch.func import functional_call, grad_and_value, vmap

from sweepd import datasets, models_registry
from sweepd.engine.batch import _check_batch, _curve, _finite, _tail, _tail_metrics
from sweepd.engine.data import make_generator, stream_seed
from sweepd.engine.environment import deterministic, fingerprint
from sweepd.engine.layout import ALIGN, padded
from sweepd.engine.loop import PROGRESS_EVERY, Schedule, Trace, _Clock
from sweepd.engine.module_init import Initialized, initialize, linear_stack, pack, seeded_build
from sweepd.engine.optimizers import make_optimizer
from sweepd.outputs import resolve_output
from sweepd.results import TrialResult
from sweepd.spec import TrialSpec, resolved_curve_every, resolved_steps

ENGINE_ID = "sweepd.generic/1"
_DTYPES = {"float32": torch.float32, "float64": torch.float64}


# -- data ------------------------------------------------------------------------------------


@dataclasses.dataclass
class _Rows:
    """Examples (rows_padded, *features), float targets (rows_padded, n_out) and a row mask;
    `rows` of them are real, the rest zeros that weigh nothing."""

    x: torch.Tensor
    target: torch.Tensor
    mask: torch.Tensor
    rows: int


def _rows(x: torch.Tensor, target: torch.Tensor) -> _Rows:
    n = x.shape[-2] if x.dim() > 2 else x.shape[0]
    pad = -(-n // ALIGN) * ALIGN - n
    mask = torch.ones(n, dtype=x.dtype, device=x.device)
    if pad:
        dim = x.dim() - 2 if x.dim() > 2 else 0  # (K, n, F) minibatches pad along n too
        x = torch.cat([x, x.new_zeros(*x.shape[:dim], pad, *x.shape[dim + 1:])], dim=dim)
        target = torch.cat([target, target.new_zeros(*target.shape[:dim], pad,
                                                     *target.shape[dim + 1:])], dim=dim)
        mask = torch.cat([mask, mask.new_zeros(pad)])
    return _Rows(x, target, mask, n)


def _targets(labels: Any, n_out: int, dtype: torch.dtype) -> torch.Tensor:
    y = torch.tensor(labels, dtype=torch.int64)
    if n_out == 1:
        return y.to(dtype).unsqueeze(1)
    return torch.nn.functional.one_hot(y, n_out).to(dtype)


# -- loss ------------------------------------------------------------------------------------


def _per_row(logits: torch.Tensor, target: torch.Tensor, loss: str) -> torch.Tensor:
    """Each example's loss, shape (rows,), as the fast engine's heads define it."""
    if loss == "bce":
        return (torch.logaddexp(logits, torch.zeros_like(logits)) - target * logits).sum(1)
    if loss == "ce":
        return torch.logsumexp(logits, 1) - (target * logits).sum(1)
    prob = torch.sigmoid(logits) if logits.shape[1] == 1 else torch.softmax(logits, 1)
    return (prob - target).square().sum(1) / logits.shape[1]


def _correct(logits: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    if logits.shape[-1] == 1:
        hit = (logits[..., 0] > 0) == (target[..., 0] > 0.5)
    else:
        hit = logits.argmax(-1) == target.argmax(-1)
    return (hit.to(mask.dtype) * mask).sum(-1)


# -- the batch -------------------------------------------------------------------------------


@dataclasses.dataclass
class _Model:
    """The module (structure only: parameters come from the stacked views) and its loss."""

    module: torch.nn.Module
    loss: str
    batched: bool

    def mean_loss(self, params: dict[str, torch.Tensor], buffers: dict[str, torch.Tensor],
                  x: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
                  rows: int) -> torch.Tensor:
        logits = functional_call(self.module, (params, buffers), (x,))
        return (_per_row(logits, target, self.loss) * mask).sum() / rows

    def logits(self, params: dict[str, torch.Tensor], buffers: dict[str, torch.Tensor],
               x: torch.Tensor) -> torch.Tensor:
        return functional_call(self.module, (params, buffers), (x,))


class _Stack:
    """K models' parameters in one (K, width) tensor with a view per parameter."""

    def __init__(self, inits: list[Initialized], device: torch.device) -> None:
        first = inits[0].params
        self.names = list(first)
        self.shapes = {n: tuple(t.shape) for n, t in first.items()}
        self.offsets, offset = {}, 0
        for n in self.names:
            self.offsets[n] = offset
            offset += padded(math.prod(self.shapes[n]))
        k, dtype = len(inits), next(iter(first.values())).dtype
        self.initial = torch.zeros(k, offset, dtype=dtype)
        for i, init in enumerate(inits):
            for n, view in self.views(self.initial[i:i + 1]).items():
                view[0] = init.params[n]
        self.params = self.initial.to(device, copy=True)
        self.grads = torch.zeros_like(self.params)
        self.param_views = self.views(self.params)
        self.grad_views = self.views(self.grads)

    def views(self, flat: torch.Tensor) -> dict[str, torch.Tensor]:
        return {n: flat[:, o:o + math.prod(self.shapes[n])].view(flat.shape[0], *self.shapes[n])
                for n, o in self.offsets.items()}

    def row(self, flat: torch.Tensor, k: int) -> dict[str, torch.Tensor]:
        """Model k's parameters (CPU copies)."""
        return {n: v[0].detach().cpu().clone() for n, v in self.views(flat[k:k + 1]).items()}


def _step_functions(model: _Model, shared_x: bool) -> tuple[Any, Any]:
    """(grad_and_value over the K models, logits over the K models)."""
    def gv(p: Any, b: Any, x: Any, t: Any, m: Any, rows: int) -> Any:
        # Buffers are an input, not captured: a K = 1 module may update them in place.
        return grad_and_value(model.mean_loss)(p, b, x, t, m, rows)

    if model.batched:
        dims = (0, None, None, None, None) if shared_x else (0, None, 0, 0, 0)
        step = vmap(gv, in_dims=(*dims, None))
        logits = vmap(model.logits, in_dims=(0, None, None))
        return step, logits

    def step_one(p: Any, b: Any, x: Any, t: Any, m: Any, rows: int) -> Any:
        sq = {n: v[0] for n, v in p.items()}
        g, value = gv(sq, b, x if shared_x else x[0], t if shared_x else t[0],
                      m if shared_x else m[0], rows)
        return {n: v.unsqueeze(0) for n, v in g.items()}, value.unsqueeze(0)

    def logits_one(p: Any, b: Any, x: Any) -> Any:
        return model.logits({n: v[0] for n, v in p.items()}, b, x).unsqueeze(0)

    return step_one, logits_one


class _Trainer:
    """One group of trials (all of a batch when vmap can batch the module, else one)."""

    def __init__(self, trials: list[TrialSpec], model: _Model, inits: list[Initialized],
                 data: datasets.Dataset, n_out: int, dtype: torch.dtype,
                 device: torch.device) -> None:
        self.trials, self.model, self.dtype, self.device = trials, model, dtype, device
        self.stack = _Stack(inits, device)
        # vmap: the module's buffers, shared and never written (else vmap refuses the module);
        # one at a time: the trial's own, updated in place (BatchNorm's running statistics).
        source = dict(model.module.named_buffers()) if model.batched else inits[0].buffers
        self.buffers = {n: b.to(device, copy=True) for n, b in source.items()}
        self.data, self.n_out = data, n_out
        self.full = self._rows(data.x_train, data.y_train)
        self.test = self._rows(data.x_test, data.y_test) if len(data.y_test) else None
        training = trials[0].training
        total = resolved_steps(training, len(data.y_train))
        self.schedule = Schedule(total, resolved_curve_every(trials[0].store, total))
        self.optimizer = make_optimizer(training, self.stack.params)
        self.step_full, self.logits_fn = _step_functions(model, shared_x=True)
        self.step_mini, _ = _step_functions(model, shared_x=False)
        size = training.batch_size
        n = len(data.y_train)
        self.minibatch = not (training.optimizer == "gd" or size is None or size >= n)
        if self.minibatch:
            self.batch_size, self.per_epoch = size, math.ceil(n / size)
            # As the fast engine: the order stream is the order seed's (issue 16), else the seed's.
            self.generators = [make_generator(_order_seed(t), "data") for t in trials]
            self.order = torch.empty(len(trials), n, dtype=torch.int64)
            self.x_cpu = torch.tensor(data.x_train, dtype=dtype)
            self.t_cpu = _targets(data.y_train, n_out, dtype)

    def _rows(self, x: Any, y: Any) -> _Rows:
        rows = _rows(torch.tensor(x, dtype=self.dtype), _targets(y, self.n_out, self.dtype))
        return _Rows(rows.x.to(self.device), rows.target.to(self.device),
                     rows.mask.to(self.device), rows.rows)

    def _grad(self, step: int) -> torch.Tensor:
        """Write each model's gradient into stack.grads; return each model's batch cost (K,)."""
        p = self.stack.param_views
        self.model.module.train()
        if not self.minibatch:
            f = self.full
            grads, cost = self.step_full(p, self.buffers, f.x, f.target, f.mask, f.rows)
        else:
            epoch, j = divmod(step, self.per_epoch)
            if j == 0:
                for row, g in zip(self.order, self.generators):
                    torch.randperm(len(self.x_cpu), generator=g, out=row)
            index = self.order[:, j * self.batch_size:(j + 1) * self.batch_size]
            b = _rows(self.x_cpu[index], self.t_cpu[index])  # (K, rows, ·)
            grads, cost = self.step_mini(p, self.buffers, b.x.to(self.device), b.target.to(self.device),
                                         b.mask.to(self.device).expand(len(self.trials), -1),
                                         b.rows)
        for n, g in grads.items():
            self.stack.grad_views[n].copy_(g)
        return cost

    def evaluate(self, rows: _Rows) -> tuple[torch.Tensor, torch.Tensor]:
        """Cost (K,) and correct predictions (K,) on these rows."""
        self.model.module.eval()
        with torch.no_grad():
            logits = self.logits_fn(self.stack.param_views, self.buffers, rows.x)
            k = logits.shape[0]
            per_row = torch.stack([_per_row(logits[i], rows.target, self.model.loss)
                                   for i in range(k)])
            cost = (per_row * rows.mask).sum(1) / rows.rows
            return cost, _correct(logits, rows.target.expand(k, -1, -1), rows.mask)

    def train(self, progress: Any) -> tuple[Trace, list[list[list[float]]] | None]:
        s, k = self.schedule, len(self.trials)
        trace = Trace(curve=self.stack.params.new_zeros(k, s.n_points),
                      tail_sum=self.stack.params.new_zeros(k))
        tails = self.stack.params.new_zeros(4, k, max(1, s.n_evals))
        clock, first_eval = _Clock(progress, s.total), s.total - s.n_evals
        for step in range(s.total):
            point = step % s.curve_every == 0
            if point and self.minibatch:
                trace.curve[:, step // s.curve_every] = self.evaluate(self.full)[0]
            cost = self._grad(step)
            if point and not self.minibatch:
                trace.curve[:, step // s.curve_every] = cost
            if step >= s.tail_start:
                trace.tail_sum += cost
            self.optimizer.step(self.stack.grads, step)
            if step >= first_eval:
                i = step - first_eval
                tails[0, :, i], tails[1, :, i] = self.evaluate(self.full)
                if self.test is not None:
                    tails[2, :, i], tails[3, :, i] = self.evaluate(self.test)
            if step % PROGRESS_EVERY == PROGRESS_EVERY - 1:
                clock.tick(step + 1)
        clock.finish()
        trace = Trace(curve=trace.curve.cpu(), tail_sum=trace.tail_sum.cpu())
        return trace, (tails.cpu().permute(1, 0, 2).tolist() if s.n_evals else None)


# -- the entry point -------------------------------------------------------------------------


def vmap_problem(module: torch.nn.Module, x: torch.Tensor, n_out: int) -> str | None:
    """Why vmap cannot batch this module (None when it can): one forward and backward of two
    stacked copies on a few rows, in training mode."""
    params = {n: torch.stack([p.detach(), p.detach()]) for n, p in module.named_parameters()}
    target = torch.zeros(x.shape[0], n_out, dtype=x.dtype)
    model = _Model(module, "mse", batched=True)
    step, _ = _step_functions(model, shared_x=True)
    module.train()
    try:
        step(params, dict(module.named_buffers()), x, target,
             torch.ones(x.shape[0], dtype=x.dtype), x.shape[0])
    except RuntimeError as exc:  # vmap refuses in-place buffer updates and random ops
        return str(exc).splitlines()[0][:200]
    return None


def run_batch(trials: list[TrialSpec], device: str | torch.device | None = None,
              progress: Any = None) -> list[TrialResult]:
    """Train trials that share a `batch_key` (a plugin model) together; see the module doc.

    Returns:
        One `TrialResult` per trial, in the order given.

    Raises:
        ValueError: no trials, or trials with different batch keys.
        InvalidSpec: a configuration that cannot be trained (e.g. sigmoid on 3 classes).
    """
    _check_batch(trials)
    dev = torch.device(device if device is not None else "cpu")
    first = trials[0]
    dtype = _DTYPES[first.training.dtype]
    started = time.perf_counter()
    with deterministic(dev):
        environment = {**fingerprint(dev, dtype), "engine": ENGINE_ID,
                       "plugin": first.model.plugin}
        data = datasets.load(first.dataset, draw=getattr(first, "data_seed", None))
        output, loss = resolve_output(first.model.output, first.training.loss, data.n_classes)
        n_out = 1 if output == "sigmoid" else data.n_classes
        build = functools.partial(_build, first, (data.n_features,), n_out, dtype)
        module = seeded_build(build, 0).to(dev)
        for p in module.parameters():
            p.requires_grad_(False)
        probe = torch.tensor(data.x_train[:ALIGN], dtype=dtype).to(dev)
        problem = vmap_problem(module, probe, n_out)
        model = _Model(module, loss, batched=problem is None)
        inits = [initialize(build, t, dtype) for t in trials]
        stack = linear_stack(module)
        groups = ([list(range(len(trials)))] if problem is None
                  else [[k] for k in range(len(trials))])
        results: dict[int, TrialResult] = {}
        for group in groups:
            results.update(_train_group(trials, group, model, inits, data, n_out, dtype, dev,
                                        progress, stack, environment))
    seconds = time.perf_counter() - started
    batching = ({"batching": "vmap", "batch_trials": len(trials)} if problem is None else
                {"batching": "one at a time (K = 1): vmap cannot batch this module: " + problem,
                 "batch_trials": 1})
    out = []
    for k in range(len(trials)):
        r = results[k]
        env = {**r.environment, **batching, "batch_seconds": round(seconds, 3)}
        out.append(r.model_copy(update={"wall_seconds": seconds / len(trials),
                                        "environment": env}))
    return out


def _order_seed(trial: TrialSpec) -> int:
    order = getattr(trial, "order_seed", None)
    return trial.seed if order is None else order


def _build(trial: TrialSpec, input_shape: tuple[int, ...], n_out: int,
           dtype: torch.dtype) -> torch.nn.Module:
    model = trial.model
    params = ({"hidden": list(model.hidden), "activation": model.activation}
              if model.plugin == models_registry.MLP else dict(model.params))
    return models_registry.build(model.plugin, params, input_shape, n_out).to(dtype)


def _train_group(trials: list[TrialSpec], group: list[int], model: _Model,
                 inits: list[Initialized], data: datasets.Dataset, n_out: int,
                 dtype: torch.dtype, dev: torch.device, progress: Any, stack: list[str] | None,
                 environment: dict[str, Any]) -> dict[int, TrialResult]:
    members = [trials[k] for k in group]
    group_inits = [inits[k] for k in group]
    if model.batched and len(members) == 1:  # a lone trial beside a copy (see batch.py)
        members, group_inits = members * 2, group_inits * 2
    cuda = [] if dev.type == "cpu" else [dev.index if dev.index is not None
                                         else torch.cuda.current_device()]
    with torch.random.fork_rng(devices=cuda):
        torch.manual_seed(stream_seed(members[0].seed, "ops") % 2**63)  # K = 1 path's random ops
        trainer = _Trainer(members, model, group_inits, data, n_out, dtype, dev)
        trace, tails = trainer.train(progress)
        final_cost, final_correct = trainer.evaluate(trainer.full)
        test = trainer.evaluate(trainer.test) if trainer.test is not None else None
    diverged = trainer.optimizer.diverged_steps()
    out = {}
    for i, k in enumerate(group):
        out[k] = _result(trainer, i, trace, tails, diverged[i], final_cost, final_correct, test,
                         stack, {**environment, "module_defaults": inits[k].defaults})
    return out


def _result(tr: _Trainer, k: int, trace: Trace, tails: Any, diverged_at: int | None,
            cost: torch.Tensor, correct: torch.Tensor, test: Any, stack: list[str] | None,
            environment: dict[str, Any]) -> TrialResult:
    s, trial = tr.schedule, tr.trials[k]
    n_train, n_test = len(tr.data.y_train), len(tr.data.y_test)
    train_cost = float(cost[k])
    if diverged_at is None and not math.isfinite(train_cost):
        diverged_at = s.total
    ok = diverged_at is None
    final, final_sha = pack(tr.stack.row(tr.stack.params, k), stack)
    initial, initial_sha = (pack(tr.stack.row(tr.stack.initial, k), stack)
                            if trial.store.initial_weights else (None, None))
    shim = dataclasses.make_dataclass("B", ["data", "test"])(tr.data, tr.test)
    return TrialResult(
        cell_key=trial.cell_key, status="ok" if ok else "diverged",
        train_cost=_finite(train_cost, ok),
        train_accuracy=_finite(float(correct[k]) / n_train, ok),
        test_cost=_finite(float(test[0][k]), ok) if test is not None else None,
        test_accuracy=_finite(float(test[1][k]) / n_test, ok) if test is not None else None,
        train_cost_tail=_tail(trace, k, s, train_cost, ok),
        steps=s.total if ok else diverged_at, diverged_step=diverged_at, wall_seconds=0.0,
        curve_every=s.curve_every, curve=_curve(trace, k, s, train_cost, diverged_at),
        final_weights=final, final_sha256=final_sha, initial_weights=initial,
        initial_sha256=initial_sha, environment=environment,
        tail=_tail_metrics(shim, tails[k]) if ok and tails is not None else None,
    )
