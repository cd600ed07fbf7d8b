"""Grid axes: `section.field` paths into the spec's sections, each value validated as its field.

A grid point (or a search corner) is applied by re-validating the section with the fields
replaced, so it goes through the same checks as the spec itself.
"""

from __future__ import annotations

import json
from typing import Any, Union

from pydantic import BaseModel, ValidationError

from sweepd.spec_sections import DatasetSpec, ModelSpec, TrainingSpec

GridValue = Union[bool, int, float, str, list[int]]
MAX_CHECKED_POINTS = 100_000  # grid points × search corners checked at submission
GRID_SECTIONS = {"dataset": DatasetSpec, "model": ModelSpec, "training": TrainingSpec}
MAX_GRID_VALUES = 1_000


def _integer_field(base: BaseModel, field: str) -> bool:
    """Whether the field takes whole numbers only (its value validates as int, not as 0.5)."""
    try:
        _apply(base, {field: 0.5})
    except ValidationError:
        return True
    return False


def _check_axis(base: BaseModel, path: str, values: list[Any], kind: str = "grid axis") -> None:
    """Validate each value of a grid axis as its field, and refuse values that are the same.

    Two values are the same when the field makes them equal: 1 and 1.0 for a float (strict
    types already refuse "1", "1e0" and true), so no two grid points train the same thing.
    """
    field = path.partition(".")[2]
    seen: dict[str, int] = {}
    for i, value in enumerate(values):
        try:
            canonical = getattr(_apply(base, {field: value}), field)
        except ValidationError as exc:
            raise ValueError(f"{kind} {path!r}: the value at index {i} is invalid: "
                             f"{exc.errors()[0]['msg']}") from None
        key = json.dumps(canonical, sort_keys=True)
        if key in seen:
            raise ValueError(f"{kind} {path!r} repeats a value: the values at indices "
                             f"{seen[key]} and {i} are both {key[:40]}")
        seen[key] = i


def _apply(model: BaseModel, changes: dict[str, Any]) -> BaseModel:
    """Re-validate `model` with some fields replaced (grid points go through full validation)."""
    data = model.model_dump(mode="json")
    data.update(changes)
    return type(model).model_validate(data)
