"""Model plugins: the models a sweep may name, found among installed entry points (issue 18).

A model is a factory that an installed package registers under the entry-point group
`sweepd.models` (the way pytest and Jupyter find their plugins), pointing at a `ModelPlugin`:

    [project.entry-points."sweepd.models"]
    "acme.resnet" = "acme_models:PLUGIN"

    PLUGIN = ModelPlugin(description=..., params=ResNetParams, build=build)
    def build(input_shape: tuple[int, ...], n_outputs: int, **params) -> torch.nn.Module

A spec names a plugin by its entry-point name (`model: {plugin: "sweepd.cnn", params: {...}}`)
and its params are validated against the plugin's pydantic `params` model. No user string is
ever imported or evaluated: a name is looked up among the installed entry points' names, and only
an entry point found there is loaded, so `os.system` is simply an unknown plugin.

This module is light (pydantic and the standard library): plugins build their modules lazily,
inside `build`, so naming one at submission never imports torch.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

GROUP = "sweepd.models"
MLP = "sweepd.mlp"  # the built-in MLP: today's spec fields, trained by the fast engine

Engine = Literal["fast", "generic"]


class PluginParams(BaseModel):
    """Base of a plugin's params model: strict, unknown fields refused, frozen."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


@dataclasses.dataclass(frozen=True)
class PermutationGroup:
    """Parameters whose output units (channels) may be permuted together: `out` are the
    parameters indexed by the unit on their first torch axis (a layer's weight and bias),
    `into` those indexed on their second axis (the next layer's weight)."""

    out: tuple[str, ...]
    into: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class ModelPlugin:
    """What a package registers under `sweepd.models`.

    Attributes:
        description: one line for people (`sweepd models`, GET /api/v1/models).
        params: the pydantic model the spec's `model.params` are validated against.
        build: `build(input_shape, n_outputs, **params) -> torch.nn.Module`; imports torch
            itself, when called.
        permutation: optional, for the symmetry analysis: a function of the params giving the
            groups of units that may be permuted together.
        engine: `generic` (torch.func, any module) or `fast` (the built-in MLP only).
    """

    description: str
    params: type[BaseModel]
    build: Callable[..., Any]
    permutation: Callable[[BaseModel], list[PermutationGroup]] | None = None
    engine: Engine = "generic"


class UnknownPlugin(ValueError):
    """A spec names a plugin that is not installed (the message names those that are)."""


_lock = threading.Lock()
_loaded: dict[str, ModelPlugin] = {}


def installed_names() -> list[str]:
    """Names of the installed model plugins, sorted (entry points are read, nothing loaded)."""
    return sorted({ep.name for ep in entry_points(group=GROUP)})


def get(name: str) -> ModelPlugin:
    """The installed plugin called `name`, loaded once per process.

    Raises:
        UnknownPlugin: no installed entry point of the group has this name, or what it points
            at is not a `ModelPlugin`.
    """
    with _lock:
        if name in _loaded:
            return _loaded[name]
    found = [ep for ep in entry_points(group=GROUP) if ep.name == name]
    if not found:
        raise UnknownPlugin(f"unknown model plugin {_shown(name)}; installed: "
                            f"{', '.join(installed_names()) or 'none'}")
    plugin = found[0].load()
    if not isinstance(plugin, ModelPlugin):
        raise UnknownPlugin(f"model plugin {name!r} is installed but does not point at a "
                            "sweepd ModelPlugin")
    with _lock:
        _loaded[name] = plugin
    return plugin


def validate_params(name: str, params: dict[str, Any]) -> dict[str, Any]:
    """`params` validated by plugin `name`'s params model, every field given (JSON values).

    Raises:
        UnknownPlugin: as `get`.
        ValueError: a param the plugin does not take, or of the wrong type or range; the
            message names the param and the plugin, never repeats the input.
    """
    plugin = get(name)
    try:
        model = plugin.params.model_validate(params)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "params"
        raise ValueError(f"model.params.{where} ({name}): {first['msg']}") from None
    return model.model_dump(mode="json")


def checked_model(plugin: str, params: dict[str, Any], given: set[str], *,
                  stored: bool = False) -> dict[str, Any]:
    """The spec's `model.params` for `plugin`, validated (what `ModelSpec` stores).

    Args:
        given: the model fields the spec set (the MLP's `hidden` and `activation` are refused
            for another plugin).
        stored: a spec read back from the store: checked when it was submitted, and its plugin
            may no longer be installed here, so the params are kept as they are.

    Raises:
        ValueError: the MLP with params, another plugin with the MLP's fields, an unknown
            plugin (naming those installed), or a bad param.
    """
    if plugin == MLP:
        if params:
            raise ValueError("model.params: sweepd.mlp takes no params; give model.hidden and "
                             "model.activation")
        return params
    mlp_fields = sorted({"hidden", "activation"} & given)
    if mlp_fields:
        raise ValueError(f"model.{mlp_fields[0]} applies to sweepd.mlp only, not to the plugin "
                         f"{plugin!r}: give the plugin's params in model.params")
    if stored:
        return params
    try:
        return validate_params(plugin, params)
    except UnknownPlugin as exc:
        raise ValueError(f"model.plugin: {exc}") from None


def build(name: str, params: dict[str, Any], input_shape: tuple[int, ...],
          n_outputs: int) -> Any:
    """The torch module of plugin `name` for these (validated) params."""
    plugin = get(name)
    return plugin.build(tuple(input_shape), int(n_outputs),
                        **dict(plugin.params.model_validate(params)))


def describe(name: str) -> dict[str, Any]:
    """Name, description, engine, permutation support and the params' JSON schema."""
    plugin = get(name)
    return {"name": name, "description": plugin.description, "engine": plugin.engine,
            "permutation": plugin.permutation is not None,
            "params": plugin.params.model_json_schema()}


def describe_all() -> list[dict[str, Any]]:
    """`describe` of every installed plugin that loads; one that fails is listed with its error."""
    out = []
    for name in installed_names():
        try:
            out.append(describe(name))
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not hide the others
            out.append({"name": name, "description": f"does not load: {type(exc).__name__}",
                        "engine": "generic", "permutation": False, "params": {}})
    return out


def _shown(name: str) -> str:
    return repr(name if len(name) <= 80 else name[:80] + "…")
