"""The strict base of every spec model: unknown fields rejected, NaN and inf refused, types strict.

Strict types (issue 14, items 5 and 19): a number is a JSON number, never a string (`"1e0"`) or a
boolean (`true` was 1 step); a boolean is `true` or `false`, never `"yes"`, `"on"` or `1`; an
integer field takes no float. Without this, six spellings of one learning rate made six grid
points training the same thing. Error messages never repeat the input (`hide_input_in_errors`):
a value may be large, and its repr is what made a 460-byte aliased YAML file take seconds.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True,
                              hide_input_in_errors=True)


def _bounded(default: float, lo: float, hi: float, description: str, **kw: Any) -> Any:
    return Field(default, ge=lo, le=hi, description=description, **kw)
