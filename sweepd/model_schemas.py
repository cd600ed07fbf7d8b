"""Response schemas of the model plugin route (`GET /api/v1/models`, issue 18).

Strict pydantic only, like `sweepd.schemas`, so the SDK parses them too.
"""

from __future__ import annotations

from typing import Any, Literal

from sweepd.schemas import _Public


class ModelPluginPublic(_Public):
    """An installed model plugin: what a spec names as `model: {plugin: <name>, params: {...}}`."""

    name: str
    """The plugin's name, as a spec's `model.plugin` gives it (its entry point in the
    `sweepd.models` group)."""
    description: str
    """What the model is, in a line."""
    engine: Literal["fast", "generic"]
    """The engine that trains it: `fast` (the built-in MLP's hand-written batched engine) or
    `generic` (any torch module, batched with torch.func)."""
    permutation: bool
    """Whether it declares which units may be permuted together (for weight matching)."""
    params: dict[str, Any]
    """The JSON schema of its params (`model.params`); the MLP's are the model's own `hidden`
    and `activation` fields."""


class ModelPluginsPublic(_Public):
    """Every installed model plugin, by name."""

    items: list[ModelPluginPublic]
    """The plugins, sorted by name."""
