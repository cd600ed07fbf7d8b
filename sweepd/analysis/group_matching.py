"""Weight matching of any plugin model with a permutation spec (issue 18, item 4).

A plugin's permutation spec lists groups of units that may be permuted together
(`sweepd.models_registry.PermutationGroup`): parameters indexed by the unit on their first axis
(`out`: a layer's weight and bias) and on their second (`into`: the next layer's weight; after
a Flatten the second axis holds the unit's block of positions, channel-major, so it is read as
(units, block)). Weights are named torch-layout arrays, as the generic engine stores them.

Weight matching (Ainsworth et al. 2023, "Git Re-Basin", algorithm 1): for one group at a time,
with the other groups' permutations held, the permutation of B's units that maximises
Σ ⟨A, π(B)⟩ over the group's parameters is a linear assignment
(`scipy.optimize.linear_sum_assignment`); groups are visited in a seeded random order until a
full pass changes nothing. Permutations only: no sign flips (they are exact symmetries only for
odd activations, and the built-in CNN is ReLU). The descent starts from a greedy pass, input
side first, each group matched on its own parameters. A local optimum, not a certificate; a net
and a permuted copy of itself align exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

Params = Mapping[str, np.ndarray]


@dataclass(frozen=True)
class GroupAlignment:
    """B aligned to A: its permuted parameters, the permutations, and the distances."""

    aligned: dict[str, np.ndarray]
    perms: list[np.ndarray]
    distance: float
    raw_distance: float
    passes: int


def _units(params: Params, group: Any) -> int:
    return int(params[group.out[0]].shape[0])


def _into_view(t: np.ndarray, n: int) -> np.ndarray:
    """(rows, n·block, *rest) → (rows, n, block·prod(rest))."""
    return t.reshape(t.shape[0], n, -1)


def _features(params: Params, group: Any) -> tuple[list[np.ndarray], list[np.ndarray]]:
    n = _units(params, group)
    outs = [np.asarray(params[name]).reshape(n, -1) for name in group.out]
    intos = [_into_view(np.asarray(params[name]), n).transpose(1, 0, 2).reshape(n, -1)
             for name in group.into]
    return outs, intos


def apply(params: Params, groups: Sequence[Any], perms: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
    """`params` with each group's units permuted by its permutation (unit j ← unit perm[j])."""
    out = {k: np.array(v, copy=True) for k, v in params.items()}
    for group, perm in zip(groups, perms):
        n = _units(out, group)
        for name in group.out:
            out[name] = out[name][perm]
        for name in group.into:
            t = out[name]
            out[name] = _into_view(t, n)[:, perm, :].reshape(t.shape)
    return out


def from_keras_layers(stored: Params) -> dict[str, np.ndarray]:
    """An MLP's stored weights (`layers.{i}.kernel` (fan_in, fan_out), `layers.{i}.bias`) under
    the names and layout of its torch module (`{2i}.weight` (out, in), `{2i}.bias`), which the
    MLP plugin's permutation spec uses."""
    out: dict[str, np.ndarray] = {}
    for name, value in stored.items():
        _, i, kind = name.split(".")
        key = f"{2 * int(i)}.{'weight' if kind == 'kernel' else 'bias'}"
        out[key] = np.ascontiguousarray(value.T) if kind == "kernel" else np.asarray(value)
    return out


def _flat(params: Params, names: Sequence[str]) -> np.ndarray:
    return np.concatenate([np.asarray(params[n], dtype=np.float64).ravel() for n in names])


def match(a: Params, b: Params, groups: Sequence[Any], *, seed: int = 0,
          max_passes: int = 100) -> GroupAlignment:
    """Align B to A by weight matching over the permutation groups.

    Raises:
        ValueError: A and B do not have the same parameters and shapes.
    """
    if sorted(a) != sorted(b) or any(np.shape(a[k]) != np.shape(b[k]) for k in a):
        raise ValueError("the two nets do not have the same parameters and shapes")
    names = sorted(a)
    perms = [np.arange(_units(a, g)) for g in groups]
    # Start greedily, input side first, from each group's own parameters alone (their input
    # axis already permuted by the groups before): a permuted copy is recovered exactly here.
    for i, group in enumerate(groups):
        current = apply(b, groups[:i], perms[:i])
        a_out, _ = _features(a, group)
        b_out, _ = _features(current, group)
        perms[i] = linear_sum_assignment(sum(x @ y.T for x, y in zip(a_out, b_out)),
                                         maximize=True)[1]
    rng = np.random.default_rng(seed)
    passes = 0
    for passes in range(1, max_passes + 1):  # noqa: B007 - reported
        changed = False
        for i in rng.permutation(len(groups)):
            others = [p if j != i else np.arange(len(p)) for j, p in enumerate(perms)]
            current = apply(b, groups, others)
            a_out, a_into = _features(a, groups[i])
            b_out, b_into = _features(current, groups[i])
            similarity = sum(x @ y.T for x, y in zip(a_out + a_into, b_out + b_into))
            _, best = linear_sum_assignment(similarity, maximize=True)
            if not np.array_equal(best, perms[i]):
                perms[i], changed = best, True
        if not changed:
            break
    aligned = apply(b, groups, perms)
    return GroupAlignment(
        aligned=aligned, perms=perms, passes=passes,
        distance=float(np.linalg.norm(_flat(a, names) - _flat(aligned, names))),
        raw_distance=float(np.linalg.norm(_flat(a, names) - _flat(b, names))))
