"""Installed model plugins (issue 18): what a spec's `model.plugin` may name."""

from __future__ import annotations

from fastapi import APIRouter

from sweepd import models_registry
from sweepd.model_schemas import ModelPluginPublic, ModelPluginsPublic
from sweepd_api.deps import CurrentUser
from sweepd_api.openapi import problems

router = APIRouter(prefix="/models", tags=["models"], responses=problems(401))


@router.get("")
def list_models(user: CurrentUser) -> ModelPluginsPublic:
    """The installed model plugins with their params' JSON schemas (`sweepd.mlp`, the default,
    is trained by the fast engine; every other one by the generic engine)."""
    return ModelPluginsPublic(items=[ModelPluginPublic(**d)
                                     for d in models_registry.describe_all()])
