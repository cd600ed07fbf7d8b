"""What the SDK sends and reads back: a spec as a request body (a spec file validated here
first), an error answer as the project's exception, a trial as a flat row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from sweepd.errors import (
    BadRequest,
    Conflict,
    InvalidSpec,
    LimitExceeded,
    NotFound,
    SweepdError,
    Unauthorized,
    Unavailable,
)
from sweepd.schemas import TrialPublic
from sweepd.spec import SweepSpec

_ERRORS = {400: BadRequest, 401: Unauthorized, 404: NotFound, 409: Conflict, 413: InvalidSpec,
           422: InvalidSpec, 429: LimitExceeded, 503: Unavailable}


def _spec_json(spec: SweepSpec | dict[str, Any] | str | Path) -> dict[str, Any]:
    if isinstance(spec, SweepSpec):
        return spec.model_dump(mode="json")
    if isinstance(spec, dict):
        return spec
    return _read_spec_file(Path(spec))


def _read_spec_file(path: Path) -> dict[str, Any]:
    """A spec file parsed and validated here, so a bad one is named field by field, as the
    service's 422 names them, before anything is sent."""
    import yaml
    from pydantic import ValidationError

    try:
        return SweepSpec.from_file(path).model_dump(mode="json")  # size-capped before reading
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise InvalidSpec(f"{path} is not valid YAML{where}: "
                          f"{getattr(exc, 'problem', None) or exc}") from None
    except ValidationError as exc:
        errors = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]}
                  for e in exc.errors(include_input=False, include_url=False,
                                      include_context=False)]
        raise InvalidSpec(f"{path}: {len(errors)} invalid field"
                          f"{'s' if len(errors) != 1 else ''}", errors=errors) from None
    except ValueError as exc:
        raise InvalidSpec(f"{path}: {exc}") from None


def _raise_for(resp: httpx.Response) -> None:
    if resp.status_code < 400:
        return
    try:
        body = resp.json()
        detail = body.get("detail") or body.get("title") or resp.text
        errors = body.get("errors") or []
    except ValueError:
        detail, errors = resp.text[:500], []
    cls = _ERRORS.get(resp.status_code, SweepdError)
    error = cls(f"{resp.status_code}: {detail}", errors=errors)
    retry = resp.headers.get("retry-after")
    if retry is not None and retry.isdigit():
        error.retry_after = float(retry)  # type: ignore[attr-defined]
    raise error


def _trial_row(trial: TrialPublic) -> dict[str, Any]:
    row = {"id": trial.id, "seed": trial.seed, "initializer": trial.initializer_label,
           "state": trial.state, "attempt": trial.attempt, **{f"param.{k}": v for k, v
                                                              in trial.params.items()}}
    if trial.result is not None:
        row.update(trial.result.model_dump(exclude={"curve", "environment", "tail"}))
        tail = trial.result.tail
        row.update({f"tail.{k}": v for k, v in (tail.model_dump() if tail else {}).items()})
    return row
