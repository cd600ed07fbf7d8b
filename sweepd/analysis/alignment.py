"""Aligned distance between two networks: the distance modulo hidden-unit symmetries.

For one hidden layer this is exact (docs/science.md §3): min over permutations π and signs s of
‖θ_A − s·π(θ_B)‖. Since ‖u_A − s u_B‖² = ‖u_A‖² + ‖u_B‖² − 2 s ⟨u_A, u_B⟩, the best sign of a
matched pair is the sign of ⟨u_A, u_B⟩, and the best π is the linear assignment maximising
Σ_j |⟨u_Aj, u_Bπ(j)⟩| — the cost C_jk = min(‖u_Aj − u_Bk‖², ‖u_Aj + u_Bk‖²) up to constants —
solved by `scipy.optimize.linear_sum_assignment`. Without odd symmetry the sign is always +1.

Deeper nets use weight matching (Ainsworth et al. 2023, "Git Re-Basin", algorithm 1): solve one
layer's assignment with the others held fixed, layers visited in a seeded random order, until a
full pass changes nothing; from three starts (see `weight_matching`), keeping the best. Each
step is the one-layer problem above for that layer's units (incoming weights, bias, outgoing
weights against the currently aligned B), so signs are handled the same way for odd activations
and the objective never decreases. It is a local optimum, not a certificate.

ReLU and leaky ReLU: both nets are first rescaled to unit-norm incoming weights per unit (the
rescaling part of the canonical form), so the distance does not depend on the positive rescaling
symmetry; distances and norms are then those of the rescaled nets.

Relative distance = distance ÷ the mean of ‖θ_A‖ and ‖θ_B‖ (of the compared forms): symmetric,
and 0 when both nets are zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from sweepd.analysis._net import (
    HOMOGENEOUS,
    ODD,
    Layers,
    Net,
    as_layers,
    check_activation,
    flatten,
    incoming,
    normalise_scales,
    shape_of,
    to_weights,
    transform_units,
    unit_vectors,
)

MAX_PASSES = 100


@dataclass(frozen=True)
class Alignment:
    """The result of aligning network B to network A.

    `permutations[l][j]` is the unit of B's hidden layer l placed at position j, and
    `signs[l][j]` the sign it was multiplied by (all +1 unless the activation is odd).
    `reference` is A and `aligned` is B's aligned copy, both as compared (rescaled for ReLU),
    in the stored naming scheme; `aligned` computes the same function as B.
    """

    distance: float
    relative_distance: float
    raw_distance: float
    raw_relative_distance: float
    permutations: list[np.ndarray]
    signs: list[np.ndarray]
    reference: dict[str, np.ndarray]
    aligned: dict[str, np.ndarray]
    exact: bool


def relative(distance: float, norm_a: float, norm_b: float) -> float:
    """distance ÷ mean(‖θ_A‖, ‖θ_B‖); 0 when both norms are 0 (then distance is 0 too)."""
    scale = (norm_a + norm_b) / 2
    return float(distance / scale) if scale > 0 else 0.0


def aligned_distance(a: Net, b: Net, activation: str, *, seed: int = 0) -> Alignment:
    """Align `b` to `a` modulo hidden-unit symmetries and measure what is left.

    Args:
        a, b: two networks of the same architecture (stored scheme or (kernel, bias) pairs).
        activation: the hidden activation (decides which symmetries apply).
        seed: the order of layer visits in weight matching (deep nets only).

    Returns:
        The aligned and raw distances (absolute and relative), the signed permutations, and
        the aligned copy of `b`. `exact` is True for one hidden layer.

    Raises:
        ValueError: different architectures, an unknown activation or malformed weights.
    """
    check_activation(activation)
    la, lb = as_layers(a), as_layers(b)
    if shape_of(la) != shape_of(lb):
        raise ValueError(f"architectures differ: {shape_of(la)} and {shape_of(lb)}")
    fa, fb = flatten(la), flatten(lb)
    raw = float(np.linalg.norm(fa - fb))
    raw_rel = relative(raw, float(np.linalg.norm(fa)), float(np.linalg.norm(fb)))
    if activation in HOMOGENEOUS:
        la, lb = normalise_scales(la), normalise_scales(lb)
    aligned, perms, signs = weight_matching(la, lb, signed=activation in ODD, seed=seed)
    fa, fb = flatten(la), flatten(aligned)
    distance = float(np.linalg.norm(fa - fb))
    return Alignment(
        distance=distance,
        relative_distance=relative(distance, float(np.linalg.norm(fa)), float(np.linalg.norm(fb))),
        raw_distance=raw, raw_relative_distance=raw_rel, permutations=perms, signs=signs,
        reference=to_weights(la, np.float64), aligned=to_weights(aligned, np.float64),
        exact=len(la) == 2,
    )


def weight_matching(a: Layers, b: Layers, *, signed: bool,
                    seed: int = 0) -> tuple[Layers, list[np.ndarray], list[np.ndarray]]:
    """Coordinate descent over hidden layers: B's signed permutations that bring it nearest A.

    Deep nets start the descent three times — from the identity, and from greedy passes that
    match each layer's units on their incoming weights alone (forwards from the inputs, which
    no other layer's symmetry touches) or on their outgoing weights alone (backwards from the
    outputs) — and keep the nearest result: one start from the identity often stalls in a
    poor local optimum on small nets.

    Args:
        a, b: float64 (kernel, bias) pairs of the same architecture.
        signed: allow sign flips (odd activations).
        seed: the order in which layers are visited on each pass.

    Returns:
        B aligned, and per hidden layer the permutation and signs applied to B's units. Exact
        for one hidden layer (a single assignment).
    """
    if len(a) == 2:
        return _descend(a, _Matched.identity(b), signed, seed).as_tuple()
    starts = [_Matched.identity(b), _greedy(a, b, signed, forward=True),
              _greedy(a, b, signed, forward=False)]
    results = [_descend(a, start, signed, seed) for start in starts]
    reference = flatten(a)
    best = min(results, key=lambda r: float(np.linalg.norm(reference - flatten(r.layers))))
    return best.as_tuple()


@dataclass(frozen=True)
class _Matched:
    """B with signed permutations applied, and the permutations and signs so far."""

    layers: Layers
    perms: list[np.ndarray]
    signs: list[np.ndarray]

    @classmethod
    def identity(cls, b: Layers) -> _Matched:
        sizes = [bias.size for _, bias in b[:-1]]
        return cls(list(b), [np.arange(n) for n in sizes], [np.ones(n) for n in sizes])

    def moved(self, layer: int, perm: np.ndarray, sign: np.ndarray) -> _Matched:
        perms, signs = list(self.perms), list(self.signs)
        perms[layer], signs[layer] = perms[layer][perm], signs[layer][perm] * sign
        return _Matched(transform_units(self.layers, layer, perm, sign), perms, signs)

    def as_tuple(self) -> tuple[Layers, list[np.ndarray], list[np.ndarray]]:
        return self.layers, self.perms, self.signs


def _descend(a: Layers, state: _Matched, signed: bool, seed: int) -> _Matched:
    n_hidden = len(a) - 1
    rng = np.random.default_rng(seed)
    for _ in range(MAX_PASSES if n_hidden > 1 else 1):
        changed = False
        for layer in rng.permutation(n_hidden):
            step = match_units(unit_vectors(a, layer), unit_vectors(state.layers, layer), signed)
            if step is not None:
                state, changed = state.moved(layer, *step), True
        if not changed:
            break
    return state


def _greedy(a: Layers, b: Layers, signed: bool, *, forward: bool) -> _Matched:
    """Match layer by layer on incoming weights only (forward) or outgoing only (backward)."""
    state = _Matched.identity(b)
    order = range(len(a) - 1) if forward else reversed(range(len(a) - 1))
    for layer in order:
        if forward:
            ua, ub = incoming(a, layer), incoming(state.layers, layer)
        else:
            ua, ub = a[layer + 1][0], state.layers[layer + 1][0]
        step = match_units(ua, ub, signed)
        if step is not None:
            state = state.moved(layer, *step)
    return state


def match_units(ua: np.ndarray, ub: np.ndarray,
                signed: bool) -> tuple[np.ndarray, np.ndarray] | None:
    """The signed permutation of B's units (rows of `ub`) maximising Σ_j ⟨ua_j, s_j ub_π(j)⟩.

    Returns None when the identity is already optimal (so coordinate descent stops on ties).
    """
    similarity = ua @ ub.T
    gain = np.abs(similarity) if signed else similarity
    _, perm = linear_sum_assignment(gain, maximize=True)
    rows = np.arange(len(perm))
    kept = np.trace(gain)
    if gain[rows, perm].sum() <= kept + 1e-12 * max(1.0, abs(kept)):
        perm = rows  # keep the current order on ties, so that coordinate descent ends
    sign = np.sign(similarity[rows, perm]) if signed else np.ones(len(perm))
    sign = np.where(sign == 0, 1.0, sign)
    if np.array_equal(perm, rows) and np.all(sign > 0):
        return None
    return perm, sign
