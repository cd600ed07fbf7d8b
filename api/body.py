"""Reading a sweep spec from a request body, strictly (issue 6, "hostile input").

FastAPI's own body parsing goes through `json.loads`, which accepts `NaN`, `Infinity` and
`1e999` (as inf), keeps the last of two duplicate keys, and lets a body nested ten thousand
levels deep escape as a `RecursionError` (a 500). The spec is therefore read here: parsed with a
strict JSON reader, then validated with the per-sweep trial limit as validation context, in the
threadpool because a spec may list a hundred thousand seeds. Every failure is an `InvalidSpec`
(422) naming where the body went wrong, and nothing has been stored when it is raised.
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any

from fastapi import Depends, Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from sweepd.errors import InvalidSpec
from sweepd.spec import SweepSpec
from sweepd_api.deps import SettingsDep
from sweepd_api.errors import UnsupportedMediaType, summarize

MAX_KEY_IN_MESSAGE = 80


def parse_json(raw: bytes) -> Any:
    """Parse a JSON document strictly: UTF-8, finite numbers only, no duplicate keys.

    Args:
        raw: the request body.

    Returns:
        The parsed value.

    Raises:
        InvalidSpec: the body is empty, not UTF-8, not JSON, too deeply nested, or holds a
            non-finite number or a duplicate key.
    """
    if not raw.strip():
        raise _invalid("the request body is empty: send the sweep spec as JSON", "missing")
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_reject_constant,
                          parse_float=_finite_float, object_pairs_hook=_unique_keys)
    except RecursionError:
        raise _invalid("the JSON body is nested too deeply", "json_too_deep") from None
    except UnicodeDecodeError:
        raise _invalid("the request body is not UTF-8 text", "json_invalid") from None
    except json.JSONDecodeError as exc:
        raise _invalid(f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
                       "json_invalid") from None
    except ValueError as exc:  # raised by the hooks below, or by int() on 4300+ digits
        raise _invalid(f"invalid JSON: {str(exc)[:200]}", "json_invalid") from None


def parse_spec(raw: bytes, max_trials: int) -> SweepSpec:
    """Parse and validate a sweep spec from a request body.

    Args:
        raw: the request body (JSON).
        max_trials: the most trials one sweep may expand to (`settings.max_trials_per_sweep`).

    Returns:
        The validated spec.

    Raises:
        InvalidSpec: with one `errors` entry per problem, each located under `body`.
    """
    data = parse_json(raw)
    try:
        return SweepSpec.model_validate(data, context={"max_trials": max_trials})
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])}
                  for e in exc.errors(include_input=False, include_url=False,
                                      include_context=False)]
        raise InvalidSpec(summarize(errors), errors=errors) from None


async def read_spec(request: Request, settings: SettingsDep) -> SweepSpec:
    """Dependency: the request's body as a validated `SweepSpec` (see the module docstring).

    Raises:
        UnsupportedMediaType: the body is declared as something other than JSON.
        InvalidSpec: the body is not a valid spec.
    """
    _check_media_type(request.headers.get("content-type"))
    raw = await request.body()
    return await run_in_threadpool(parse_spec, raw, settings.max_trials_per_sweep)


SpecBody = Annotated[SweepSpec, Depends(read_spec)]


def _check_media_type(content_type: str | None) -> None:
    if content_type is None:
        return  # a bare `curl --data-binary` without a type: the body must still be JSON
    media = content_type.split(";", 1)[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise UnsupportedMediaType(
            f"the sweep spec must be sent as JSON (Content-Type: application/json), "
            f"not {media[:80]!r}")


def _invalid(detail: str, kind: str) -> InvalidSpec:
    return InvalidSpec(detail, errors=[{"loc": ["body"], "msg": detail, "type": kind}])


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number: JSON has no NaN or Infinity")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number out of range: {text[:40]}")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:  # json.loads would silently keep the last one
            raise ValueError(f"duplicate key {key[:MAX_KEY_IN_MESSAGE]!r}")
        out[key] = value
    return out
