"""One cell of a sweep (`TrialSpec`) and its stable key.

A cell's `cell_key` is a sha256 of what the cell trains (its seed, full initializer and grid
point), so the same spec gives the same keys in any process.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, NamedTuple

from pydantic import BaseModel, Field

from sweepd.spec_base import _Strict
from sweepd.spec_grid import GridValue
from sweepd.spec_initializers import Initializer, initializer_label
from sweepd.spec_sections import DatasetSpec, ModelSpec, StoreSpec, TrainingSpec


class TrialSpec(_Strict):
    """One cell of a sweep: everything a worker needs to train it, and nothing else."""

    cell_key: str = Field(description="Stable key of the cell: its seed, initializer and grid "
                                      "point.")
    batch_key: str = Field(description="Key shared by the trials that may train together.")
    seed: int = Field(description="The trial's seed (its init stream).")
    order_seed: int | None = Field(None, description=(
        "The seed of the minibatch order stream; unset: `seed` (a spec without order_seeds)."))
    data_seed: int | None = Field(None, description=(
        "The data draw (a generated set's seed, or a fixed set's train/test split); unset: "
        "`dataset.seed`."))
    initializer: Initializer = Field(description="The kernel initializer.")
    bias_initializer: Initializer | None = Field(None, description=(
        "The bias initializer; unset: zeros, or PyTorch's rule under a torch_default kernel."))
    params: dict[str, GridValue] = Field(default_factory=dict, description=(
        "The grid point: axis → value."))
    dataset: DatasetSpec = Field(description="The dataset, with the grid point applied.")
    model: ModelSpec = Field(description="The model, with the grid point applied.")
    training: TrainingSpec = Field(description="The training, with the grid point applied.")
    store: StoreSpec = Field(default_factory=StoreSpec, description="What the trial keeps.")

    @property
    def initializer_label(self) -> str:
        return initializer_label(self.initializer)


class Cell(NamedTuple):
    """A cell as its trial row stores it; its `TrialSpec` is rebuilt from the sweep's spec.

    `order_seed` and `data_seed` are None where they are the default (the seed, dataset.seed),
    as stored. `initializer` and `params` are the spec's own objects, shared by many cells:
    never change them.
    """

    cell_key: str
    batch_key: str
    seed: int
    order_seed: int | None
    data_seed: int | None
    initializer: Any
    params: dict[str, Any]


def _dump(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return value
    return value


def _digest(payload: Any) -> str:
    return _digest_hex(payload)[:32]


def _digest_hex(payload: Any) -> str:
    text = _canonical_json(payload)
    return hashlib.sha256(text.encode()).hexdigest()


def _canonical_json(payload: Any) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"))


class CellKeys:
    """`cell_key` for the many cells of one expansion, with the same bytes hashed.

    A sweep's cells share a few initializers and grid points: each one's canonical JSON is
    written once (`text`, cached by identity; the cache keeps the object alive, so an id is
    never reused) and a cell's payload is joined from those pieces in the canonical key order
    (`key`). Dumping the whole payload per cell was half the time of submitting 10⁵ trials
    (issue 19).
    """

    def __init__(self) -> None:
        self._texts: dict[int, tuple[Any, str]] = {}

    def text(self, value: Any) -> str:
        """The canonical JSON of an initializer (model or dict) or a grid point."""
        found = self._texts.get(id(value))
        if found is None:
            dumped = value.model_dump(mode="json") if isinstance(value, BaseModel) else value
            found = self._texts[id(value)] = (value, _canonical_json(dumped))
        return found[1]

    @staticmethod
    def key(seed: int, initializer_text: str, params_text: str, *,
            order_seed: int | None = None, data_seed: int | None = None) -> str:
        """`cell_key` of a cell whose initializer and point have these `text`s."""
        text = (("{" if data_seed is None else f'{{"data_seed":{_int(data_seed)},')
                + f'"initializer":{initializer_text},'
                + ("" if order_seed is None else f'"order_seed":{_int(order_seed)},')
                + f'"params":{params_text},"seed":{_int(seed)}}}')
        return hashlib.sha256(text.encode()).hexdigest()[:32]


def _int(value: int) -> str:
    return str(value) if type(value) is int else json.dumps(value)


def cell_key(seed: int, initializer: Any, params: dict[str, Any], *,
             order_seed: int | None = None, data_seed: int | None = None) -> str:
    """The stable key of one grid cell: sha256 of its seed, full initializer and grid point,
    and of its order seed and data draw where they are not the default (the seed,
    dataset.seed), so a cell keeps the key it had before they existed."""
    init = initializer.model_dump(mode="json") if isinstance(initializer, BaseModel) else initializer
    payload: dict[str, Any] = {"seed": seed, "initializer": init, "params": params}
    if order_seed is not None:
        payload["order_seed"] = order_seed
    if data_seed is not None:
        payload["data_seed"] = data_seed
    return _digest(payload)
