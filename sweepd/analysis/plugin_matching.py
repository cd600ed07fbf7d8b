"""Weight matching of plugin models with sign flips where the activation is odd (issue 18).

`sweepd.analysis.group_matching.match` aligns by permutations only. For a model whose
activations are all odd (`PluginNet.odd`: tanh, identity, ...) a unit may also flip the sign of
all its parameters — its `out` rows and its `into` columns — and compute the same function
(docs/science.md §3). For a fixed permutation of the other groups the best signed permutation
of one group is still a linear assignment: on the gain |S_jk|, S the similarity of A's unit j
and B's unit k over the group's parameters, with the sign of S_jk (Git Re-Basin's algorithm 1,
signed variant). Same schedule as `match`: a greedy pass input side first, then coordinate
descent over the groups in a seeded random order until a pass changes nothing; the result is
never further from A than B itself (the identity is kept when the local optimum is worse).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from sweepd.analysis.group_matching import _features, _into_view, _units, apply, match
from sweepd.analysis.plugin_net import flat_distance

Params = Mapping[str, np.ndarray]


@dataclass(frozen=True)
class Alignment:
    """B aligned to A: its transformed parameters, per group the permutation and the signs."""

    aligned: dict[str, np.ndarray]
    perms: list[np.ndarray]
    signs: list[np.ndarray]
    distance: float
    raw_distance: float


def transform(params: Params, groups: Sequence[Any], perms: Sequence[np.ndarray],
              signs: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
    """Unit j of each group ← signs[j] · unit perms[j] (the function is unchanged when the
    activation is odd, or when every sign is +1)."""
    out = apply(params, groups, perms)
    for group, sign in zip(groups, signs):
        if np.all(sign == 1):
            continue
        n = len(sign)
        for name in group.out:
            out[name] = out[name] * sign.reshape(n, *([1] * (out[name].ndim - 1)))
        for name in group.into:
            t = out[name]
            out[name] = (_into_view(t, n) * sign[None, :, None]).reshape(t.shape)
    return out


def align(a: Params, b: Params, groups: Sequence[Any], *, signed: bool, seed: int = 0,
          max_passes: int = 100) -> Alignment:
    """Align B to A over the permutation groups, with sign flips when `signed`.

    Raises:
        ValueError: A and B do not have the same parameters and shapes.
    """
    if not groups:
        d = flat_distance(a, b)
        return Alignment({k: np.array(v) for k, v in b.items()}, [], [], d, d)
    if not signed:
        found = match(a, b, groups, seed=seed, max_passes=max_passes)
        return _no_worse(a, b, Alignment(found.aligned, found.perms,
                                         [np.ones(len(p)) for p in found.perms],
                                         found.distance, found.raw_distance))
    if sorted(a) != sorted(b) or any(np.shape(a[k]) != np.shape(b[k]) for k in a):
        raise ValueError("the two nets do not have the same parameters and shapes")
    perms = [np.arange(_units(a, g)) for g in groups]
    signs = [np.ones(len(p)) for p in perms]
    for i, group in enumerate(groups):  # greedy, input side first, on each group's own rows
        current = transform(b, groups[:i], perms[:i], signs[:i])
        perms[i], signs[i] = _assign(_similarity(a, current, group, into=False))
    rng = np.random.default_rng(seed)
    for _ in range(max_passes):
        changed = False
        for i in rng.permutation(len(groups)):
            others_p = [p if j != i else np.arange(len(p)) for j, p in enumerate(perms)]
            others_s = [s if j != i else np.ones(len(s)) for j, s in enumerate(signs)]
            current = transform(b, groups, others_p, others_s)
            perm, sign = _assign(_similarity(a, current, groups[i], into=True))
            if not (np.array_equal(perm, perms[i]) and np.array_equal(sign, signs[i])):
                perms[i], signs[i], changed = perm, sign, True
        if not changed:
            break
    aligned = transform(b, groups, perms, signs)
    return _no_worse(a, b, Alignment(aligned, perms, signs, flat_distance(a, aligned),
                                     flat_distance(a, b)))


def _no_worse(a: Params, b: Params, found: Alignment) -> Alignment:
    """The identity when the local optimum is further than B as it is (it is a candidate too),
    so an aligned distance never exceeds the raw one."""
    if found.distance <= found.raw_distance:
        return found
    return Alignment({k: np.array(v) for k, v in b.items()}, [np.arange(len(p)) for p in found.perms],
                     [np.ones(len(s)) for s in found.signs], found.raw_distance, found.raw_distance)


def _similarity(a: Params, b: Params, group: Any, *, into: bool) -> np.ndarray:
    a_out, a_into = _features(a, group)
    b_out, b_into = _features(b, group)
    pairs = zip(a_out + a_into, b_out + b_into) if into else zip(a_out, b_out)
    return sum(x @ y.T for x, y in pairs)


def _assign(similarity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    _, perm = linear_sum_assignment(np.abs(similarity), maximize=True)
    sign = np.sign(similarity[np.arange(len(perm)), perm])
    return perm, np.where(sign == 0, 1.0, sign)
