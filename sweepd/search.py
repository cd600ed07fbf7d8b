"""Seed-aware hyperparameter search: which points to train next, asked of Optuna's samplers.

A search point is a set of spec values (`training.learning_rate`, `model.hidden`, ...), like a
grid point; each point is trained over the sweep's seeds × initializers, and its value is a
statistic over those runs (the IQM of the test accuracy, by default), so a sampler sees one
number per point with the seed noise already averaged the way the verdict averages it.

Determinism. Point k is sampled from the results of points 0 … k − in_flight − 1 exactly
(`visible_history`), with a sampler seeded from (`search.seed`, k). The sequence of points is
then a function of the seed and of the trained results — which sweepd reproduces bitwise — and
not of which trials happened to finish first, so two sweeps with the same spec sample the same
points, with every sampler. Optuna studies are rebuilt in memory for each ask from the points
stored in sweepd's own tables: there is no second database and nothing to lose on a restart.

Samplers: `random` (RandomSampler), `tpe` (TPESampler, 10 random start-up points by default),
`cmaes` (the `cmaes` library that Optuna's CmaEsSampler uses, replayed generation by
generation: `_cma_point`; numeric spaces only), `qmc` (scrambled Sobol, point k the k-th of
the sequence: `_sobol_point`).
"""

from __future__ import annotations

import hashlib
import math
import statistics
import warnings
from collections.abc import Sequence
from typing import Any

from sweepd.search_spec import Choices, Dimension, Objective, Range, SearchSpec


def point_value(values: Sequence[float | None], objective: Objective) -> float | None:
    """A point's value from its runs' metric values (None or non-finite: a failed run, counted
    as the worst value so that a fragile point is not rewarded for its failures)."""
    worst = -math.inf if objective.direction == "maximize" else math.inf
    clean = [v if v is not None and math.isfinite(v) else worst for v in values]
    if not clean or all(math.isinf(v) for v in clean):
        return None
    finite = sorted(v for v in clean if math.isfinite(v))
    clean = [v if math.isfinite(v) else (finite[0] if objective.direction == "maximize"
                                         else finite[-1]) for v in clean]
    if objective.statistic == "mean":
        return statistics.fmean(clean)
    if objective.statistic == "median":
        return statistics.median(clean)
    return _iqm(sorted(clean))


def _iqm(ordered: list[float]) -> float:
    n = len(ordered)
    cut = n // 4
    middle = ordered[cut:n - cut] or ordered
    return statistics.fmean(middle)


def visible_history(search: SearchSpec, k: int,
                    history: Sequence[tuple[dict[str, Any], float | None]]
                    ) -> list[tuple[dict[str, Any], float | None]]:
    """The results point k may be sampled from: those of points 0 … k − in_flight − 1 (for
    CMA-ES, every earlier generation: point k is one of generation k // population)."""
    return list(history[:_visible(search, k)])


def ready(search: SearchSpec, k: int, finished: Sequence[bool]) -> bool:
    """Whether point k can be sampled: every point it is sampled from has finished."""
    return all(finished[:_visible(search, k)])


def _visible(search: SearchSpec, k: int) -> int:
    if search.sampler == "cmaes":
        return (k // _population(search)) * _population(search)
    return max(0, k - search.in_flight)


def initial_points(search: SearchSpec) -> list[dict[str, Any]]:
    """The points a search starts with: the first `in_flight`, which see no results."""
    return [propose(search, k, []) for k in range(min(search.in_flight, search.points))]


def propose(search: SearchSpec, k: int,
            history: Sequence[tuple[dict[str, Any], float | None]], *,
            attempt: int = 0) -> dict[str, Any]:
    """Point k of the search, from the results of the points before k − in_flight.

    Args:
        search: the search.
        k: the point's index (0-based).
        history: (params, value) of points 0 … k − 1 in index order; a value of None is a
            point all of whose runs failed (told to the sampler as failed).
        attempt: asks again with another seed (the driver's way out of a repeated point).

    Returns:
        The point's params, by spec path.
    """
    if search.sampler == "qmc":
        return _sobol_point(search, k + attempt * search.points)
    if search.sampler == "cmaes":
        return _cma_point(search, k, history, attempt)
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    distributions = {path: _distribution(dim) for path, dim in search.space.items()}
    study = optuna.create_study(direction=search.objective.direction,
                                sampler=_sampler(search, _seed(search.seed, k, attempt)))
    for params, value in visible_history(search, k, history):
        study.add_trial(optuna.trial.create_trial(
            params={p: _encode(search.space[p], params[p]) for p in search.space},
            distributions=distributions, value=value,
            state=optuna.trial.TrialState.COMPLETE if value is not None
            else optuna.trial.TrialState.FAIL))
    trial = study.ask(distributions)
    return {p: _decode(search.space[p], trial.params[p]) for p in search.space}


def _seed(seed: int, k: int, attempt: int = 0) -> int:
    salt = f":{attempt}" if attempt else ""  # attempt 0 keeps the seeds of the first points
    digest = hashlib.sha256(f"sweepd-search:{seed}:{k}{salt}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def _sampler(search: SearchSpec, seed: int) -> Any:
    from optuna import samplers

    if search.sampler == "random":
        return samplers.RandomSampler(seed=seed)
    return samplers.TPESampler(seed=seed, n_startup_trials=min(10, max(1, search.points // 3)))


def _population(search: SearchSpec) -> int:
    """CMA-ES's default population, 4 + ⌊3 ln d⌋ (Hansen 2016), for d searched dimensions."""
    return 4 + int(3 * math.log(len(search.space)))


def _cma_point(search: SearchSpec, k: int, history: Sequence[tuple[dict[str, Any], float | None]],
               attempt: int) -> dict[str, Any]:
    """Point k of a CMA-ES run on the unit cube, replayed from the search's seed.

    The `cmaes` library (the one Optuna's CmaEsSampler uses) is deterministic for a seed, so
    the run is rebuilt for each ask: generation after generation, the same solutions are
    asked again and told the values their points earned; point k is solution k mod population
    of generation k // population. Nothing of the optimiser needs storing. A failed point is
    told the worst value seen.
    """
    import numpy as np
    from cmaes import CMA

    dims = list(search.space.values())
    size = _population(search)
    optimizer = CMA(mean=np.full(len(dims), 0.5), sigma=0.3, bounds=np.array([[0.0, 1.0]] * len(dims)),
                    seed=_seed(search.seed, 0, attempt), population_size=size)
    sign = -1.0 if search.objective.direction == "maximize" else 1.0  # cmaes minimises
    told = [sign * v for _, v in history if v is not None]
    worst = max(told) if told else 0.0
    for generation in range(k // size):
        solutions = [optimizer.ask() for _ in range(size)]
        values = [history[generation * size + j][1] for j in range(size)]
        optimizer.tell([(x, sign * v if v is not None else worst)
                        for x, v in zip(solutions, values)])
    solution = [optimizer.ask() for _ in range(k % size + 1)][-1]
    return {path: _from_unit(dim, float(u)) for (path, dim), u in zip(search.space.items(), solution)}


def _sobol_point(search: SearchSpec, k: int) -> dict[str, Any]:
    """Point k of one scrambled Sobol sequence (seeded by `search.seed`): QMC needs no results,
    and indexing the sequence by k (Optuna's QMCSampler indexes it by the trials told so far)
    keeps points that are sampled before earlier ones finish distinct."""
    from scipy.stats import qmc

    sobol = qmc.Sobol(d=len(search.space), scramble=True, seed=search.seed)
    if k:
        sobol.fast_forward(k)
    with warnings.catch_warnings():  # "balance properties ... 2**n points": one point is the
        warnings.simplefilter("ignore", UserWarning)  # whole point of a sequential search
        unit = sobol.random(1)[0]
    return {path: _from_unit(dim, float(u)) for (path, dim), u in zip(search.space.items(), unit)}


def _from_unit(dim: Dimension, u: float) -> Any:
    if isinstance(dim, Choices):
        return dim.choices[min(int(u * len(dim.choices)), len(dim.choices) - 1)]
    low, high = float(dim.low), float(dim.high)
    if dim.integer:
        low, high = low - 0.5, high + 0.5  # each whole number gets an equal share
    value = math.exp(math.log(low) + u * (math.log(high) - math.log(low))) if dim.log and low > 0 \
        else low + u * (high - low)
    return int(min(max(round(value), dim.low), dim.high)) if dim.integer else value


def _distribution(dim: Dimension) -> Any:
    from optuna import distributions

    if isinstance(dim, Range) and dim.integer:
        return distributions.IntDistribution(int(dim.low), int(dim.high), log=dim.log)
    if isinstance(dim, Range):
        return distributions.FloatDistribution(float(dim.low), float(dim.high), log=dim.log)
    return distributions.CategoricalDistribution(list(range(len(dim.choices))))


def _encode(dim: Dimension, value: Any) -> Any:
    """A point's value as Optuna sees it: choices by their index (lists are not hashable)."""
    return dim.choices.index(value) if isinstance(dim, Choices) else value


def _decode(dim: Dimension, value: Any) -> Any:
    return dim.choices[value] if isinstance(dim, Choices) else value
