"""A plugin model as the comparison sees it (issue 18, item 4): its torch module run with
`torch.func.functional_call` on stored weights, in float64, on CPU.

- Weights: a trial's stored tensors as named float64 arrays in torch layout (a Linear stack
  stored in the fast engine's Keras layout, `layers.{i}.kernel`, is converted back to its
  module's names), checked against the module's parameters.
- Layers: the representations the comparison measures (CKA, effective units): for every
  module with parameters except the last, the output of the parameterless module right after
  it (its activation), else its own output; flattened per point for CKA, channel axis 1.
- Symmetry: the plugin's permutation spec (`models_registry.PermutationGroup`); sign flips
  are exact symmetries only when every parameterless module is odd (tanh, identity, average
  pooling, ...) and every module with parameters is a Linear or a convolution, so only then
  does `odd` allow them. Positive rescaling (ReLU) is not used for plugins.
- Loss and predictions: `sweepd.analysis.functional`'s (the engine's heads).

Imports torch: loaded only for plugin models, never by the built-in MLP's comparison.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch.func import functional_call

from sweepd import models_registry
from sweepd.analysis.functional import Interpolation, _barrier, _classes, _loss
from sweepd.errors import InvalidSpec
from sweepd.outputs import resolve_output

Params = dict[str, np.ndarray]
_ODD_LEAVES = (torch.nn.Tanh, torch.nn.Identity, torch.nn.Hardtanh, torch.nn.Softsign,
               torch.nn.Tanhshrink, torch.nn.modules.pooling._AvgPoolNd,
               torch.nn.Flatten, torch.nn.Unflatten)
_SHAPING = (torch.nn.Flatten, torch.nn.Unflatten, torch.nn.Dropout, torch.nn.Identity)
_KERNELS = (torch.nn.Linear, torch.nn.modules.conv._ConvNd)
_CHUNK_ROWS = 2048


@dataclasses.dataclass
class PluginNet:
    """The plugin's module (structure only) and what the comparison needs to know of it."""

    plugin: str
    module: torch.nn.Module
    shapes: dict[str, tuple[int, ...]]
    groups: list[Any]  # PermutationGroup; empty without a permutation spec
    odd: bool
    activation: str
    layer_names: list[str]
    owners: dict[str, int]  # module with parameters → index of its layer in layer_names
    stack: list[str] | None  # Linear names when the engine stores the weights in Keras layout
    n_out: int
    macs_per_row: int
    n_features: int

    @property
    def widths(self) -> list[int]:
        """Units (channels) of each permutation group."""
        return [int(self.shapes[g.out[0]][0]) for g in self.groups]

    def params(self, stored: Mapping[str, Any], trial_id: int) -> Params:
        """A trial's stored weights as named float64 arrays in torch layout.

        Raises:
            InvalidSpec: the weights do not fit the module.
        """
        if self.stack is not None and any(k.startswith("layers.") for k in stored):
            out: Params = {}
            for i, name in enumerate(self.stack):
                prefix = f"{name}." if name else ""
                kernel, bias = stored.get(f"layers.{i}.kernel"), stored.get(f"layers.{i}.bias")
                if kernel is None or bias is None:
                    break
                out[prefix + "weight"] = np.asarray(kernel, dtype=np.float64).T.copy()
                out[prefix + "bias"] = np.asarray(bias, dtype=np.float64).copy()
        else:
            out = {k: np.asarray(v, dtype=np.float64) for k, v in stored.items()}
        if sorted(out) != sorted(self.shapes) or any(
                tuple(out[k].shape) != s for k, s in self.shapes.items()):
            raise InvalidSpec(f"trial {trial_id}: its weights do not fit the {self.plugin} "
                              f"model of the spec")
        return out

    def run(self, params: Mapping[str, np.ndarray], x: np.ndarray, *, layers: bool = True
            ) -> tuple[list[np.ndarray], np.ndarray]:
        """Every layer's output (points first; conv maps keep their shape; none unless
        `layers`) and the logits."""
        tensors = {k: torch.as_tensor(np.asarray(v, dtype=np.float64)) for k, v in params.items()}
        modules = dict(self.module.named_modules())
        names = self.layer_names if layers else []
        found: dict[str, list[torch.Tensor]] = {n: [] for n in names}
        hooks = [modules[n].register_forward_hook(
            lambda _m, _i, out, n=n: found[n].append(out.detach())) for n in names]
        logits = []
        try:
            with torch.no_grad():
                for start in range(0, len(x), _CHUNK_ROWS):
                    chunk = torch.tensor(x[start:start + _CHUNK_ROWS], dtype=torch.float64)
                    logits.append(functional_call(self.module, tensors, (chunk,)))
        finally:
            for hook in hooks:
                hook.remove()
        outputs = [torch.cat(found[n]).numpy() for n in names]
        return outputs, torch.cat(logits).numpy()

    def logits(self, params: Mapping[str, np.ndarray], x: np.ndarray) -> np.ndarray:
        return self.run(params, x, layers=False)[1]

    def line(self, a: Params, b: Params, x: np.ndarray, y: np.ndarray,
             alphas: Sequence[float], loss: str) -> Interpolation:
        """Loss and error along α·a + (1−α)·b (α = 1 is a), and the barriers
        (`functional.interpolate`'s definitions)."""
        grid = np.asarray(alphas, dtype=np.float64)
        found: dict[float, tuple[float, float]] = {}
        for t in dict.fromkeys([*grid.tolist(), 1.0, 0.0]):  # each α once, the ends included
            z = self.logits({k: t * a[k] + (1 - t) * b[k] for k in a}, x)
            found[t] = (float(_loss(z, y, loss)), float(np.mean(_classes(z) != np.asarray(y))))
        values = [found[t] for t in [*grid.tolist(), 1.0, 0.0]]
        lo, er = np.array([v[0] for v in values]), np.array([v[1] for v in values])
        return Interpolation(grid, lo[:-2], er[:-2], _barrier(grid, lo[:-2], lo[-2], lo[-1]),
                             _barrier(grid, er[:-2], er[-2], er[-1]))


def plugin_net(model: Any, n_features: int, n_classes: int, loss: str) -> PluginNet:
    """Build the module of a plugin `ModelSpec` for data of `n_features` and `n_classes`.

    Raises:
        InvalidSpec: the plugin is not installed here, or the module cannot be built.
    """
    try:
        plugin = models_registry.get(model.plugin)
    except models_registry.UnknownPlugin as exc:
        raise InvalidSpec(f"cannot compare: {exc}") from None
    output, _ = resolve_output(model.output, loss, n_classes)
    n_out = 1 if output == "sigmoid" else n_classes
    params = dict(model.params)
    module = models_registry.build(model.plugin, params, (n_features,), n_out)
    module = module.to(torch.float64).eval()
    for p in module.parameters():
        p.requires_grad_(False)
    groups = (list(plugin.permutation(plugin.params.model_validate(params)))
              if plugin.permutation is not None else [])
    shapes = {n: tuple(p.shape) for n, p in module.named_parameters()}
    for g in groups:
        if any(name not in shapes for name in (*g.out, *g.into)):
            raise InvalidSpec(f"the permutation spec of {model.plugin} names parameters its "
                              f"module does not have")
    layer_names, owners = _layers(module)
    from sweepd.engine.module_init import linear_stack

    return PluginNet(
        plugin=model.plugin, module=module, shapes=shapes, groups=groups, odd=_odd(module),
        activation=_activation_name(module, params), layer_names=layer_names, owners=owners,
        stack=linear_stack(module), n_out=n_out, macs_per_row=_macs_per_row(module, n_features),
        n_features=n_features)


def _leaves(module: torch.nn.Module) -> list[tuple[str, torch.nn.Module]]:
    return [(n, m) for n, m in module.named_modules() if n and not list(m.children())]


def _own_params(m: torch.nn.Module) -> bool:
    return any(True for _ in m.parameters(recurse=False))


def _layers(module: torch.nn.Module) -> tuple[list[str], dict[str, int]]:
    leaves = _leaves(module)
    with_params = [i for i, (_, m) in enumerate(leaves) if _own_params(m)]
    names: list[str] = []
    owners: dict[str, int] = {}
    for i in with_params[:-1]:
        chosen = leaves[i][0]
        nxt = leaves[i + 1][1] if i + 1 < len(leaves) else None
        if nxt is not None and not _own_params(nxt) and not isinstance(nxt, _SHAPING):
            chosen = leaves[i + 1][0]
        owners[leaves[i][0]] = len(names)
        names.append(chosen)
    return names, owners


def _odd(module: torch.nn.Module) -> bool:
    for _, m in _leaves(module):
        if _own_params(m):
            if not isinstance(m, _KERNELS):
                return False
        elif not isinstance(m, _ODD_LEAVES):
            return False
    return True


def _activation_name(module: torch.nn.Module, params: Mapping[str, Any]) -> str:
    given = params.get("activation")
    if isinstance(given, str):
        return given
    kinds = sorted({type(m).__name__.lower() for _, m in _leaves(module)
                    if not _own_params(m) and not isinstance(m, _SHAPING)})
    return "+".join(kinds) if kinds else "linear"


def _macs_per_row(module: torch.nn.Module, n_features: int) -> int:
    """Multiply-adds of one point's forward pass through the Linear and conv layers."""
    total = [0]

    def count(m: torch.nn.Module, _inp: Any, out: torch.Tensor) -> None:
        per_output = m.weight[0].numel() if isinstance(m, _KERNELS) else 0
        total[0] += per_output * out[0].numel()

    hooks = [m.register_forward_hook(count) for _, m in _leaves(module) if isinstance(m, _KERNELS)]
    try:
        with torch.no_grad():
            module(torch.zeros(1, n_features, dtype=torch.float64))
    finally:
        for hook in hooks:
            hook.remove()
    return max(1, int(total[0]))


def flat_norm(params: Mapping[str, np.ndarray]) -> float:
    return float(math.sqrt(sum(float(np.sum(np.square(v))) for v in params.values())))


def flat_distance(a: Mapping[str, np.ndarray], b: Mapping[str, np.ndarray]) -> float:
    return float(math.sqrt(sum(float(np.sum(np.square(a[k] - b[k]))) for k in a)))
