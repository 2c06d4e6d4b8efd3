"""Schemathesis against the service's own OpenAPI schema: no 5xx, responses match the schema.

Every operation is called with generated (valid and invalid) input by an admin key, on the
sample catalogue with the fast hashing encoder. Examples per operation are bounded so that the
whole run stays around a minute.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance, status_code_conformance

from matcher.settings import Settings
from service.app import create_app

MAX_EXAMPLES = 15
#: what the issue asks: no 5xx, documented status codes and content types, bodies that match the schema
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
DATA = Path(tempfile.mkdtemp(prefix="matcher-fuzz-"))
APP = create_app(Settings(data_dir=DATA / "data", encoder="hashing", reranker="none"))  # the engine opens in the lifespan
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture(scope="module")
def token():
    with TestClient(APP) as client:  # runs the lifespan: engine and key store in app.state
        yield client.app.state.keys.create("fuzzer", "admin")[1]
    shutil.rmtree(DATA, ignore_errors=True)


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_server_error_and_schema_conformance(case, token) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
