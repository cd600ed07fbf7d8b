"""The strict base of every spec model: unknown fields rejected, NaN and inf refused."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _bounded(default: float, lo: float, hi: float, **kw: Any) -> Any:
    return Field(default, ge=lo, le=hi, **kw)
