"""The sweep: `SweepSpec`, what users write, validated completely before anything is stored.

`SweepSpec.trials()` expands it into one `TrialSpec` (`sweepd.spec_cells`) per (seed,
initializer, grid point) cell. Imports neither torch nor any server dependency.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

from sweepd import batching
from sweepd.search_spec import Choices, SearchSpec
from sweepd.spec_base import _Strict
from sweepd.spec_cells import Cell, CellKeys, TrialSpec, _dump, cell_key
from sweepd.spec_grid import (
    GRID_SECTIONS,
    MAX_CHECKED_POINTS,
    MAX_GRID_VALUES,
    GridValue,
    _apply,
    _check_axis,
    _integer_field,
)
from sweepd.spec_initializers import InitializerInput, initializer_label
from sweepd.spec_sections import GENERATED_DATASETS, DatasetSpec, ModelSpec, StoreSpec, TrainingSpec
from sweepd.spec_seeds import AdaptiveRule, AdaptiveSeeds, DataSeeds, OrderSeeds, Seeds, factor_values
from sweepd.spec_yaml import MAX_SPEC_BYTES, SpecYamlError, load_yaml

MAX_TRIALS_DEFAULT = 100_000

# The README's quick sweep, verbatim as examples/spec.json (a test keeps the two equal): the
# example of the spec's JSON schema, so of the OpenAPI document.
EXAMPLE: dict[str, Any] = {
    "name": "moons-quick",
    "dataset": {"name": "moons", "n_samples": 1000, "noise": 0.2, "test_fraction": 0.2, "seed": 0},
    "model": {"hidden": [4], "activation": "tanh", "output": "sigmoid"},
    "training": {"optimizer": "gd", "learning_rate": 1.2, "steps": 2000, "loss": "bce"},
    "seeds": {"start": 0, "count": 8},
    "initializers": ["glorot_uniform", {"name": "random_normal", "stddev": 0.01}, "zeros"],
}

SafeName = Annotated[
    str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")
]


class SweepSpec(_Strict):
    """A seed × initializer (× grid) sweep. See the README for an annotated example."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE]})

    name: SafeName = Field(description="A name for people, 1-200 characters, no control "
                                       "characters; need not be unique.")
    description: str = Field("", max_length=10_000, pattern=r"^[^\x00]*$", description=(
        "Free text about the sweep, at most 10 000 characters."))
    dataset: DatasetSpec = Field(description="What every trial trains on.")
    model: ModelSpec = Field(default_factory=ModelSpec, description=(
        "The model every trial trains: the built-in MLP, or an installed model plugin."))
    training: TrainingSpec = Field(default_factory=TrainingSpec, description=(
        "How every trial is trained."))
    seeds: Seeds = Field(description=(
        "The seeds: {start, count}, a list of distinct integers in [0, 2**63) (at most "
        "100 000), or {adaptive: {initial, step, max, alpha}} to add blocks of seeds until the "
        "comparison is decided."))
    order_seeds: OrderSeeds | None = Field(None, description=(
        "Seeds of the minibatch order, crossed with `seeds`: {start, count} or a list of "
        "distinct integers in [0, 2**63); unset: each trial's order comes from its own seed "
        "(init and order move together)."))
    data_seeds: DataSeeds | None = Field(None, description=(
        "Draws of the data set, crossed with `seeds`: {start, count} or a list of distinct "
        "integers in [0, 2**32). A generated data set is generated from the draw (as "
        "dataset.seed would); a fixed one gets a stratified train/test split drawn from it. "
        "Unset: dataset.seed alone."))
    initializers: list[InitializerInput] = Field(min_length=1, max_length=100, description=(
        "Kernel initializers compared, 1 to 100, each an object or its name alone "
        "(\"glorot_uniform\")."))
    bias_initializer: InitializerInput | None = Field(None, description=(
        "Initializer of every bias (not orthogonal or identity); unset: zeros, as in Keras, "
        "or PyTorch's U(±1/√fan_in) under a torch_default kernel."))
    grid: dict[str, Annotated[list[GridValue], Field(min_length=1, max_length=MAX_GRID_VALUES)]] = (
        Field(default_factory=dict, max_length=8, description=(
            "Extra axes: up to 8 fields written section.field (e.g. training.learning_rate), "
            "each with 1 to 1000 distinct values; every combination is a grid point."))
    )
    search: SearchSpec | None = Field(None, description=(
        "A hyperparameter search beside (or instead of) the grid: `points` points sampled from "
        "`space` (random, tpe, cmaes or qmc), each trained over every seed × initializer."))
    store: StoreSpec = Field(default_factory=StoreSpec, description="What each trial keeps.")
    max_attempts: int = Field(3, ge=1, le=20, description=(
        "Tries per trial before it is marked failed, in [1, 20]."))

    @model_serializer(mode="wrap")
    def _without_unset_factors(self, handler):  # type: ignore[no-untyped-def]
        # A spec without order_seeds and data_seeds dumps as before they existed, so its hash
        # (the Idempotency-Key's binding) and its stored JSON are unchanged (issue 16).
        data = handler(self)
        if isinstance(data, dict):
            for name in ("order_seeds", "data_seeds"):
                if getattr(self, name) is None:
                    data.pop(name, None)
        return data

    @field_validator("bias_initializer")
    @classmethod
    def _bias_is_one_dimensional(cls, value: Any) -> Any:
        if value is not None and value.name in ("orthogonal", "identity"):
            raise ValueError(f"{value.name} needs a 2-D kernel and cannot initialize a bias")
        return value

    @field_validator("seeds", "order_seeds", "data_seeds")
    @classmethod
    def _unique_seeds(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, list) and len(set(value)) != len(value):
            raise ValueError(f"{info.field_name} must be unique")
        return value

    @field_validator("initializers")
    @classmethod
    def _unique_initializers(cls, value: list[Any]) -> list[Any]:
        labels = [initializer_label(v) for v in value]
        repeated = sorted({x for x in labels if labels.count(x) > 1})
        if repeated:
            raise ValueError(f"initializers listed more than once: {', '.join(repeated)}")
        return value

    @field_validator("grid")
    @classmethod
    def _valid_grid(cls, grid: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for path in grid:
            section, _, field = path.partition(".")
            model = GRID_SECTIONS.get(section)
            if model is None or field not in model.model_fields or "." in field:
                allowed = ", ".join(sorted(
                    f"{s}.{f}" for s, m in GRID_SECTIONS.items() for f in m.model_fields))
                raise ValueError(f"unknown grid axis {path!r}; axes are any of: {allowed}")
        return grid

    @model_validator(mode="after")
    def _grid_points_and_size(self, info: ValidationInfo) -> SweepSpec:
        for path, values in self.grid.items():
            _check_axis(getattr(self, path.partition(".")[0]), path, values)
        if self.search is not None:
            object.__setattr__(self, "search", self._checked_search(self.search))
        if self.adaptive is not None:
            if self.search is not None:
                raise ValueError("adaptive seeds and a search cannot be combined: give the "
                                 "seeds as {start, count} or a list")
            if len(self.initializers) < 2:
                raise ValueError("adaptive seeds need at least two initializers to compare")
        self._check_factors()
        limit = (info.context or {}).get("max_trials", MAX_TRIALS_DEFAULT)
        if self.adaptive is not None and self.max_trials > limit:
            raise ValueError(
                f"this adaptive sweep can grow to {self.max_trials} trials ({self.adaptive.max} "
                f"seeds × {len(self.initializers)} initializers × {self.n_grid_points} grid "
                f"points), over the limit of {limit}")
        if self.n_trials > limit:
            raise ValueError(
                f"this sweep expands to {self.n_trials} trials "
                f"({self.n_seeds} seeds × "
                + (f"{self.n_order_seeds} order seeds × " if self.order_seeds else "")
                + (f"{self.n_data_seeds} data seeds × " if self.data_seeds else "")
                + f"{len(self.initializers)} initializers × {self.n_grid_points} grid points"
                + (f" × {self.search.points} search points" if self.search else "")
                + f"), over the limit of {limit}"
            )
        return self

    def _check_factors(self) -> None:
        """Order seeds and data draws: not with adaptive seeds, nor beside a grid or search
        over dataset.seed (two names for one factor); a fixed data set's draw is its split."""
        if self.order_seeds is None and self.data_seeds is None:
            return
        if self.adaptive is not None:
            raise ValueError("adaptive seeds cannot be crossed with order_seeds or data_seeds "
                             "yet: give the seeds as {start, count} or a list")
        if self.data_seeds is None:
            return
        searched = self.search.space if self.search is not None else {}
        if "dataset.seed" in self.grid or "dataset.seed" in searched:
            raise ValueError("data_seeds and a grid or search over dataset.seed name the same "
                             "factor: give the draws in data_seeds only")
        if self.dataset.name not in GENERATED_DATASETS and self.dataset.test_fraction == 0:
            raise ValueError(f"data_seeds draw the train/test split of {self.dataset.name!r}; "
                             "with test_fraction 0 every draw is the same data")

    def _checked_search(self, search: SearchSpec) -> SearchSpec:
        """Every path of the space is a searchable field outside the grid; every choice and
        both ends of every range are valid values of it; integer fields get integer ranges."""
        space = {}
        for path, dim in search.space.items():
            section, _, field = path.partition(".")
            model = GRID_SECTIONS.get(section)
            if model is None or field not in model.model_fields or "." in field:
                raise ValueError(f"search: unknown field {path!r}; fields are those of the grid "
                                 "(section.field, e.g. training.learning_rate)")
            if path in self.grid:
                raise ValueError(f"search: {path!r} is also a grid axis; give it in one place")
            base = getattr(self, section)
            if isinstance(dim, Choices):
                _check_axis(base, path, list(dim.choices), kind="search choices")
            else:
                if not isinstance(getattr(base, field), (int, float)) or isinstance(
                        getattr(base, field), bool):
                    raise ValueError(f"search: {path!r} cannot be searched over a range (it is "
                                     "not a number here); give it choices instead")
                integer = _integer_field(base, field)
                if integer and not (float(dim.low).is_integer() and float(dim.high).is_integer()):
                    raise ValueError(f"search: {path!r} takes whole numbers; low and high must be "
                                     "whole numbers")
                ends = [int(dim.low), int(dim.high)] if integer else [dim.low, dim.high]
                _check_axis(base, path, ends, kind="search range")
                dim = dim.model_copy(update={"integer": integer})
            space[path] = dim
        corners = math.prod(len(d.choices) if isinstance(d, Choices) else 2 for d in space.values())
        if corners * self.n_grid_points > MAX_CHECKED_POINTS:
            raise ValueError(f"search: {corners} combinations of choices and range ends × "
                             f"{self.n_grid_points} grid points are more than the "
                             f"{MAX_CHECKED_POINTS} sweepd checks at submission")
        return search.model_copy(update={"space": space})

    # -- size -----------------------------------------------------------------------------

    @property
    def seed_values(self) -> list[int]:
        """The seeds every cell is expanded with (an adaptive sweep's first block)."""
        return list(self.seeds) if isinstance(self.seeds, list) else self.seeds.values()

    @property
    def n_seeds(self) -> int:
        return len(self.seeds) if isinstance(self.seeds, list) else len(self.seeds.values())

    @property
    def n_order_seeds(self) -> int:
        """Order seeds crossed with each seed (1 without order_seeds: the seed itself)."""
        return 1 if self.order_seeds is None else len(factor_values(self.order_seeds))

    @property
    def n_data_seeds(self) -> int:
        """Data draws crossed with each seed (1 without data_seeds: dataset.seed)."""
        return 1 if self.data_seeds is None else len(factor_values(self.data_seeds))

    def order_seeds_of(self, seed: int) -> list[int]:
        """The order seeds a seed is crossed with: `order_seeds`, or the seed itself."""
        return [seed] if self.order_seeds is None else factor_values(self.order_seeds)

    def data_seeds_at(self, dataset: DatasetSpec) -> list[int]:
        """The data draws of a grid point: `data_seeds`, or its dataset.seed alone."""
        return [dataset.seed] if self.data_seeds is None else factor_values(self.data_seeds)

    @property
    def adaptive(self) -> AdaptiveRule | None:
        """The seeds-until-decided rule, when the seeds are adaptive."""
        return self.seeds.adaptive if isinstance(self.seeds, AdaptiveSeeds) else None

    @property
    def max_trials(self) -> int:
        """The most trials the sweep can come to: `n_trials`, or at an adaptive sweep's cap."""
        if self.adaptive is None:
            return self.n_trials
        return self.adaptive.max * len(self.initializers) * self.n_grid_points

    @property
    def n_grid_points(self) -> int:
        return math.prod(len(v) for v in self.grid.values())

    @property
    def n_trials(self) -> int:
        """Trials in the whole sweep, the search's points not yet sampled included."""
        points = self.search.points if self.search is not None else 1
        return (self.n_seeds * self.n_order_seeds * self.n_data_seeds * len(self.initializers)
                * self.n_grid_points * points)

    # -- expansion ------------------------------------------------------------------------

    def grid_points(self) -> list[dict[str, Any]]:
        """Every grid point, in a fixed order (axes sorted by name)."""
        axes = sorted(self.grid)
        return [dict(zip(axes, combo)) for combo in itertools.product(*(self.grid[a] for a in axes))]

    def search_corners(self) -> list[dict[str, Any]]:
        """Every choice and both ends of every range of the search (one empty point without a
        search): what the submission checks train-ability and cost on."""
        if self.search is None:
            return [{}]
        axes = {p: (d.choices if isinstance(d, Choices) else [d.low, d.high])
                for p, d in self.search.space.items()}
        return [dict(zip(axes, combo)) for combo in itertools.product(*axes.values())]

    def trials(self, search_points: list[dict[str, Any]] | None = None) -> list[TrialSpec]:
        """Expand into one `TrialSpec` per (grid point, seed, initializer) cell; with a search,
        per (grid point, search point, seed, initializer) for the search points given.

        Raises:
            ValueError: a search sweep expanded without its points.
        """
        return self.cells(self.seed_values, self.initializers,
                          self._expanded_points(search_points))

    def cells(self, seeds: list[int], initializers: list[Any],
              points: list[dict[str, Any]]) -> list[TrialSpec]:
        """The cells of these seeds × initializers (of this sweep) at these points, point by
        point, seed by seed: what `trials` expands to, and what a growing sweep adds. A cell is
        the same (`cell_key`, batch key, everything it trains) whichever call made it.

        Each seed is crossed with the order seeds and the data draws (issue 16); the draws are
        the outer loop, so the trials of one draw (one batch key) are stored together."""
        return [self._trial(cell, sections)
                for cell, sections in self._expand(seeds, initializers, points)]

    def keyed_cells(self, seeds: list[int], initializers: list[Any],
                    points: list[dict[str, Any]]) -> list[Cell]:
        """The cells of `cells`, in its order, as a trial row stores them (keys, seeds,
        initializer and point) without building their `TrialSpec`s: what submitting and
        growing store (a claim rebuilds the spec of each cell it takes)."""
        return [cell for cell, _ in self._expand(seeds, initializers, points)]

    def trial_cells(self, search_points: list[dict[str, Any]] | None = None) -> list[Cell]:
        """`trials()` as `keyed_cells`."""
        return self.keyed_cells(self.seed_values, self.initializers,
                                self._expanded_points(search_points))

    def _expanded_points(self, search_points: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
        if self.search is not None and search_points is None:
            raise ValueError("a search sweep expands only for given search points")
        grid = self.grid_points()
        return [{**g, **sp} for sp in (search_points or [{}]) for g in grid]

    def _expand(self, seeds: list[int], initializers: list[Any], points: list[dict[str, Any]]
                ) -> Iterator[tuple[Cell, dict[str, BaseModel]]]:
        keys = CellKeys()
        texts = [(init, keys.text(init)) for init in initializers]
        for point in points:
            sections = self._resolved_sections(point)
            point_text = keys.text(point)
            default_draw = sections["dataset"].seed  # type: ignore[attr-defined]
            for data_seed in self.data_seeds_at(sections["dataset"]):  # type: ignore[arg-type]
                batch_key = self._batch_key(sections, data_seed)
                draw = None if data_seed == default_draw else data_seed
                for seed in seeds:
                    for order_seed in self.order_seeds_of(seed):
                        order = None if order_seed == seed else order_seed
                        for init, init_text in texts:
                            key = keys.key(seed, init_text, point_text, order_seed=order,
                                           data_seed=draw)
                            yield Cell(key, batch_key, seed, order, draw, init, point), sections

    def trial_for(self, seed: int, initializer: dict[str, Any] | BaseModel,
                  params: dict[str, Any], *, order_seed: int | None = None,
                  data_seed: int | None = None,
                  keys: tuple[str, str] | None = None) -> TrialSpec:
        """Rebuild the `TrialSpec` of one stored cell (what a dispatcher sends to a worker);
        an unset order seed or data draw is the default (the seed, dataset.seed).

        `keys`: the cell's stored (cell_key, batch_key), which a claim passes instead of
        hashing them again (they are what submission computed from this spec; two digests
        per trial were a third of the dispatcher's time on one-step trials, issue 19).
        """
        wanted = _dump(initializer)
        init = self._initializers_by_json.get(_canonical(wanted)) or next(
            (i for i in self.initializers if _dump(i) == wanted), None)
        if init is None:
            raise ValueError(f"initializer {initializer!r} is not part of this sweep")
        sections = self._resolved_sections(params)
        default_draw = sections["dataset"].seed  # type: ignore[attr-defined]
        order = None if order_seed in (None, seed) else order_seed
        draw = None if data_seed in (None, default_draw) else data_seed
        if keys is None:
            keys = (cell_key(seed, init, params, order_seed=order, data_seed=draw),
                    self._batch_key(sections, data_seed))
        return self._trial(Cell(keys[0], keys[1], seed, order, draw, init, params), sections)

    @cached_property
    def _initializers_by_json(self) -> dict[str, Any]:
        return {_canonical(_dump(i)): i for i in self.initializers}

    def _batch_key(self, sections: dict[str, BaseModel], data_seed: int | None = None) -> str:
        """The batch key of a grid point's cells of one data draw: trials of one batch share
        their data. The default draw (dataset.seed) keeps the key it had before issue 16."""
        default = data_seed is None or data_seed == sections["dataset"].seed  # type: ignore[attr-defined]
        return batching.batch_key({k: v.model_dump(mode="json") for k, v in sections.items()},
                                  self.store.model_dump(mode="json"),
                                  _dump(self.bias_initializer),
                                  data_seed=None if default else data_seed)

    def grid_sections(self) -> list[tuple[DatasetSpec, ModelSpec, TrainingSpec]]:
        """The dataset, model and training of every grid point, in `grid_points` order.

        What the submission checks read: a section is validated once per distinct change, not
        once per point (a 1000 × 100 grid has 1100 distinct sections, not 100 000).
        """
        memo: dict[str, BaseModel] = {}
        checked = [{**g, **c} for c in self.search_corners() for g in self.grid_points()]
        resolved = (self._resolved_sections(point, memo) for point in checked)
        return [(s["dataset"], s["model"], s["training"]) for s in resolved]  # type: ignore[misc]

    def _resolved_sections(self, point: dict[str, Any],
                           memo: dict[str, BaseModel] | None = None) -> dict[str, BaseModel]:
        memo = {} if memo is None else memo
        sections: dict[str, BaseModel] = {s: getattr(self, s) for s in GRID_SECTIONS}
        for section in GRID_SECTIONS:
            changes = {p.partition(".")[2]: v for p, v in point.items()
                       if p.partition(".")[0] == section}
            if changes:
                key = section + json.dumps(changes, sort_keys=True)
                if key not in memo:
                    memo[key] = _apply(sections[section], changes)
                sections[section] = memo[key]
        return sections

    def _trial(self, cell: Cell, sections: dict[str, BaseModel]) -> TrialSpec:
        dataset_seed = sections["dataset"].seed  # type: ignore[attr-defined]
        return TrialSpec.model_construct(
            cell_key=cell.cell_key, batch_key=cell.batch_key, seed=cell.seed,
            order_seed=cell.seed if cell.order_seed is None else cell.order_seed,
            data_seed=dataset_seed if cell.data_seed is None else cell.data_seed,
            initializer=cell.initializer, bias_initializer=self.bias_initializer,
            params=dict(cell.params), dataset=sections["dataset"], model=sections["model"],
            training=sections["training"], store=self.store,
        )

    # -- files ------------------------------------------------------------------------------

    @classmethod
    def stored(cls, data: dict[str, Any]) -> SweepSpec:
        """A spec read back from the store: validated as at submission, but with no trial limit
        (the sweep was held to the limit when it was submitted or grown)."""
        return cls.model_validate(data, context={"max_trials": math.inf, "stored": True})

    @classmethod
    def from_yaml(cls, text: str, *, max_trials: int = MAX_TRIALS_DEFAULT) -> SweepSpec:
        """Parse and validate a spec file's text (YAML 1.2 scalars, aliases bounded).

        Raises:
            SpecYamlError: too large, before or after expanding aliases (a ValueError).
            yaml.YAMLError: not YAML.
            ValidationError: not a valid spec; the message never repeats the input.
            ValueError: not a mapping.
        """
        data = load_yaml(text)
        if not isinstance(data, dict):
            raise ValueError("a sweep spec is a YAML mapping")
        return cls.model_validate(data, context={"max_trials": max_trials})

    @classmethod
    def from_file(cls, path: str | Path, *, max_trials: int = MAX_TRIALS_DEFAULT) -> SweepSpec:
        """`from_yaml` of a file, refused by its size before it is read."""
        size = Path(path).stat().st_size
        if size > MAX_SPEC_BYTES:
            raise SpecYamlError(f"{path} has {size} bytes, over the limit of {MAX_SPEC_BYTES}")
        return cls.from_yaml(Path(path).read_text(encoding="utf-8"), max_trials=max_trials)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json", exclude_defaults=True),
                              sort_keys=False)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
