"""Fuzzing the API from its own OpenAPI document (schemathesis), with a valid token.

No generated request may produce a 5xx or a response that violates the documented schema,
status codes, content types or headers. Runs in-process over ASGI on a real SQLite store.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from sweepd.settings import load_settings
from sweepd.storage.schema import open_store
from sweepd_api import create_app

EXAMPLES_PER_OPERATION = 20
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance]


def _app_and_token(tmp_dir: str):
    store = open_store(f"sqlite:///{tmp_dir}/fuzz.db", auto_migrate=True)
    user = store.create_user("fuzzer")
    _, token = store.create_token(user.id, "fuzz")
    # Schemathesis calls the app as `Host: testserver`, which the default trusted hosts refuse.
    return create_app(load_settings(data_dir=tmp_dir, trusted_hosts="testserver"), store), token


_TMP = __import__("tempfile").mkdtemp(prefix="sweepd-fuzz-")
APP, TOKEN = _app_and_token(_TMP)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
RUN: dict[str, int] = {}


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_fuzz_operation_without_server_errors(case):
    case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}"}, checks=CHECKS)
    key = case.operation.label
    RUN[key] = RUN.get(key, 0) + 1


def test_zz_fuzz_ran_enough_examples():
    """The fuzz above really ran (it is collected before this test)."""
    total = sum(RUN.values())
    print(f"\nschemathesis: {total} examples over {len(RUN)} operations")
    if not RUN:
        pytest.skip("run together with the fuzz test")
    assert total >= 200
