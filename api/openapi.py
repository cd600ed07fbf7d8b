"""The OpenAPI document, completed where FastAPI cannot see what the routes do.

Two things FastAPI would get wrong on its own: the sweep body is read by `sweepd_api.body` (strict
JSON), so its schema is added here as `SweepSpec`; and every error is
`application/problem+json` with the `Problem` schema, including the 422s FastAPI documents as
`HTTPValidationError`. Schema-driven clients and fuzzers (schemathesis) rely on both.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from sweepd.examples import REQUEST_EXAMPLES
from sweepd.schemas import Problem, WeightsJson
from sweepd.spec import SweepSpec
from sweepd_api.errors import PROBLEM_JSON

REF = "#/components/schemas/{model}"
SPEC_BODY: dict[str, Any] = {"requestBody": {
    "required": True,
    "content": {"application/json": {"schema": {"$ref": REF.format(model="SweepSpec")},
                                     "examples": REQUEST_EXAMPLES}},
}}
_FASTAPI_VALIDATION = ("HTTPValidationError", "ValidationError")


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries documenting these error statuses as problem details."""
    return {code: {"model": Problem, "description": HTTPStatus(code).phrase} for code in codes}


def build_openapi(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document (built once, then cached on the app).

    Args:
        app: the sweepd app.

    Returns:
        The OpenAPI document as a dict.
    """
    if app.openapi_schema is None:
        doc = get_openapi(title=app.title, version=app.version, description=app.description,
                          routes=app.routes)
        schemas = doc.setdefault("components", {}).setdefault("schemas", {})
        for model in (SweepSpec, WeightsJson, Problem):
            schemas.update(_component(model))
        for operation in _operations(doc):
            _problem_responses(operation)
        for name in _FASTAPI_VALIDATION:
            schemas.pop(name, None)
        app.openapi_schema = doc
    return app.openapi_schema


def _component(model: Any) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template=REF, mode="validation")
    defs = schema.pop("$defs", {})
    return {**defs, model.__name__: schema}


def _operations(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [op for path in doc.get("paths", {}).values() for op in path.values()
            if isinstance(op, dict) and "responses" in op]


def _problem_responses(operation: dict[str, Any]) -> None:
    for code, response in operation["responses"].items():
        if code.isdigit() and int(code) >= 400:
            response["content"] = {PROBLEM_JSON: {"schema": {"$ref": REF.format(model="Problem")}}}
