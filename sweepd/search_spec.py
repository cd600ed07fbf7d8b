"""The search part of a sweep spec (`SweepSpec.search`): the space, the sampler, the objective.

Only pydantic here, so that the light client can build and validate a spec; the sampling
itself (Optuna, SciPy) is in `sweepd.search`.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Sampler = Literal["random", "tpe", "cmaes", "qmc"]
Statistic = Literal["iqm", "mean", "median"]
MAX_POINTS = 1_000
MAX_IN_FLIGHT = 64


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True,
                              use_attribute_docstrings=True)


class Range(_Strict):
    """An interval, searched uniformly (or on a log scale); integer for integer fields."""

    low: float | int
    """Smallest value."""
    high: float | int
    """Largest value; greater than `low`."""
    log: bool = False
    """Search log(value) uniformly; needs `low` > 0."""
    integer: bool = False
    """Whole numbers only (set for integer fields such as `training.steps`)."""

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            raise ValueError("low and high must be finite")
        if self.low >= self.high:
            raise ValueError(f"low ({self.low:g}) must be below high ({self.high:g})")
        if self.log and self.low <= 0:
            raise ValueError(f"a log range needs low > 0 (got {self.low:g})")
        if self.integer and not (float(self.low).is_integer() and float(self.high).is_integer()):
            raise ValueError("an integer range needs whole-number low and high")
        return self


class Choices(_Strict):
    """A finite set of values, e.g. architectures: `{"choices": [[4], [8], [16, 16]]}`."""

    choices: Annotated[list[Any], Field(min_length=2, max_length=1000)]
    """The values; at least two, all distinct."""

    @model_validator(mode="after")
    def _distinct(self) -> Choices:
        keys = [repr(c) for c in self.choices]
        if len(set(keys)) != len(keys):
            raise ValueError("choices must be distinct")
        return self


Dimension = Range | Choices


class Objective(_Strict):
    """What a point is worth: a statistic of one metric over the point's runs."""

    metric: Literal["test_accuracy_tail", "test_accuracy", "train_accuracy", "train_cost_tail",
                    "test_cost"] = "test_accuracy_tail"
    """The metric of each run (the tail-averaged test accuracy, as the verdict ranks)."""
    direction: Literal["maximize", "minimize"] = "maximize"
    """Whether larger values are better."""
    statistic: Statistic = "iqm"
    """How a point's runs become one number: interquartile mean, mean or median."""


class SearchSpec(_Strict):
    """A search beside (or instead of) the grid: `points` points sampled from `space`."""

    sampler: Sampler = "tpe"
    """random, tpe (Optuna's TPE), cmaes (numeric spaces only) or qmc (scrambled Sobol)."""
    points: Annotated[int, Field(ge=1, le=MAX_POINTS)]
    """Points to evaluate in all."""
    space: Annotated[dict[str, Dimension], Field(min_length=1, max_length=16)]
    """Spec path → its range or choices, e.g. {"training.learning_rate": {"low": 0.001,
    "high": 3, "log": true}}."""
    objective: Objective = Field(default_factory=Objective)
    """What is optimised."""
    seed: Annotated[int, Field(ge=0, lt=2**32)] = 0
    """Seeds the samplers: the same seed gives the same sequence of points."""
    in_flight: Annotated[int, Field(ge=1, le=MAX_IN_FLIGHT)] = 4
    """Points trained at once; point k is sampled from the results of the points before
    k − in_flight."""

    @model_validator(mode="after")
    def _sampler_fits_space(self) -> SearchSpec:
        if self.sampler == "cmaes" and any(isinstance(d, Choices) for d in self.space.values()):
            raise ValueError("cmaes searches numeric ranges only; use tpe or random for choices")
        return self
