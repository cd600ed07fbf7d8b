"""The seeds of a sweep: a range, a list, or an adaptive rule that adds blocks of seeds until the
comparison is decided (issue 15).

    seeds: {start: 0, count: 8}                 # 0 … 7
    seeds: [3, 17, 42]                          # exactly these
    seeds: {adaptive: {initial: 10, step: 10, max: 200, alpha: 0.05}}

An adaptive sweep starts with `initial` seeds per initializer and grid point; after each block
the service re-computes the comparison and adds `step` more seeds to the initializers of every
undecided pair, until each pair that matters is decided or `max` is reached
(`sweepd.analysis.sequential` holds the rule, `sweepd.adaptive_driver` runs it).
"""

from __future__ import annotations

from typing import Annotated, Any, Union

from pydantic import Discriminator, Field, Tag, model_validator

from sweepd.spec_base import _Strict

SEED_LIMIT = 2**63  # seeds are non-negative signed 64-bit integers
MAX_SEEDS = 100_000


class SeedRange(_Strict):
    """The seeds start, start + 1, ..., start + count - 1."""

    start: int = Field(0, ge=0, lt=SEED_LIMIT, description="First seed, in [0, 2**63).")
    count: int = Field(..., ge=1, le=MAX_SEEDS, description="How many seeds, in [1, 100 000].")

    @model_validator(mode="after")
    def _in_range(self) -> SeedRange:
        if self.start + self.count > SEED_LIMIT:
            raise ValueError(f"seeds must stay below 2**63 (start + count ≤ {SEED_LIMIT})")
        return self

    def values(self) -> list[int]:
        return list(range(self.start, self.start + self.count))


class AdaptiveRule(_Strict):
    """Seeds until decided: blocks of seeds, looked at with an anytime-valid confidence
    sequence after each block (docs/verdict.md, "Seeds until decided")."""

    initial: int = Field(10, ge=2, le=MAX_SEEDS, description=(
        "Seeds per initializer (and grid point) in the first block, in [2, 100 000]."))
    step: int = Field(10, ge=1, le=MAX_SEEDS, description=(
        "Seeds added to each initializer of an undecided pair per block, in [1, 100 000]."))
    max: int = Field(200, ge=2, le=MAX_SEEDS, description=(
        "The most seeds any initializer gets, in [2, 100 000]: the sweep stops there, "
        "decided or not (`max_seeds`)."))
    alpha: float = Field(0.05, gt=0.0, le=0.5, description=(
        "The error rate of the decisions together, in (0, 0.5]: the chance that any pair is "
        "declared decided wrongly, however many blocks are looked at."))
    rope: float | None = Field(None, gt=0.0, le=1.0, description=(
        "Region of practical equivalence on the ranked accuracy, in (0, 1]; unset: the "
        "verdict's (the test set's binomial standard error, at least 0.1 pp)."))

    @model_validator(mode="after")
    def _ordered(self) -> AdaptiveRule:
        if self.max < self.initial:
            raise ValueError(f"adaptive: max ({self.max}) is below initial ({self.initial})")
        return self


class AdaptiveSeeds(_Strict):
    """Seeds start, start + 1, ... added block by block until the comparison is decided."""

    adaptive: AdaptiveRule = Field(description="The rule: first block, step, cap and level.")
    start: int = Field(0, ge=0, lt=SEED_LIMIT - MAX_SEEDS, description=(
        "First seed, in [0, 2**63 − 100 000); the blocks take the next ones in order."))

    def values(self) -> list[int]:
        """The first block's seeds (what the sweep is submitted with)."""
        return list(range(self.start, self.start + self.adaptive.initial))

    def all_values(self) -> list[int]:
        """Every seed the rule may add, up to `max`."""
        return list(range(self.start, self.start + self.adaptive.max))


Seed = Annotated[int, Field(ge=0, lt=SEED_LIMIT)]


def _seeds_kind(value: Any) -> str:
    if isinstance(value, AdaptiveSeeds) or (isinstance(value, dict) and "adaptive" in value):
        return "adaptive"
    return "range" if isinstance(value, (dict, SeedRange)) else "list"


Seeds = Annotated[
    Union[Annotated[SeedRange, Tag("range")],
          Annotated[list[Seed], Field(min_length=1, max_length=MAX_SEEDS), Tag("list")],
          Annotated[AdaptiveSeeds, Tag("adaptive")]],
    Discriminator(_seeds_kind),
]
"""What `SweepSpec.seeds` accepts."""


def seeds_after(seeds: SeedRange | list[int], new: list[int]) -> SeedRange | list[int]:
    """A sweep's seeds with `new` appended: still a range when they continue it."""
    if isinstance(seeds, SeedRange) and new == list(range(seeds.start + seeds.count,
                                                          seeds.start + seeds.count + len(new))):
        return SeedRange(start=seeds.start, count=seeds.count + len(new))
    return [*(seeds.values() if isinstance(seeds, SeedRange) else seeds), *new]


# ---------------------------------------------------------------------------------------------
# The other random factors (issue 16): data-order seeds and data draws, crossed with the seeds.
# ---------------------------------------------------------------------------------------------

DATA_SEED_LIMIT = 2**32  # a data draw seeds the generators' RandomState, as dataset.seed does


class DataSeedRange(_Strict):
    """The data draws start, start + 1, ..., start + count - 1."""

    start: int = Field(0, ge=0, lt=DATA_SEED_LIMIT, description="First data draw, in [0, 2**32).")
    count: int = Field(..., ge=1, le=MAX_SEEDS, description="How many draws, in [1, 100 000].")

    @model_validator(mode="after")
    def _in_range(self) -> DataSeedRange:
        if self.start + self.count > DATA_SEED_LIMIT:
            raise ValueError(f"data seeds must stay below 2**32 (start + count ≤ "
                             f"{DATA_SEED_LIMIT})")
        return self

    def values(self) -> list[int]:
        return list(range(self.start, self.start + self.count))


DataSeed = Annotated[int, Field(ge=0, lt=DATA_SEED_LIMIT)]


def _range_or_list(value: Any) -> str:
    return "range" if isinstance(value, (dict, SeedRange, DataSeedRange)) else "list"


OrderSeeds = Annotated[
    Union[Annotated[SeedRange, Tag("range")],
          Annotated[list[Seed], Field(min_length=1, max_length=MAX_SEEDS), Tag("list")]],
    Discriminator(_range_or_list),
]
"""What `SweepSpec.order_seeds` accepts: {start, count} or a list, in [0, 2**63)."""

DataSeeds = Annotated[
    Union[Annotated[DataSeedRange, Tag("range")],
          Annotated[list[DataSeed], Field(min_length=1, max_length=MAX_SEEDS), Tag("list")]],
    Discriminator(_range_or_list),
]
"""What `SweepSpec.data_seeds` accepts: {start, count} or a list, in [0, 2**32)."""


def factor_values(seeds: SeedRange | DataSeedRange | list[int]) -> list[int]:
    """The seeds of a factor, in order."""
    return list(seeds) if isinstance(seeds, list) else seeds.values()
