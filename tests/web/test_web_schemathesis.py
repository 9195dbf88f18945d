"""Property-based API test from /openapi.json: no generated request may get a 5xx.

Every operation the server documents is exercised (the REST API and whatever feature routers
are mounted), with a bounded number of examples so the whole file stays under a minute.
Responses of the operations this door owns (/v1 REST, /healthz) must also match their
documented schema and status codes; other features' routers are held to "no 5xx" here and
test their own contracts.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance, status_code_conformance

from cre_advisor.web.app import create_app
from web_helpers import make_settings

OWN_PATHS = ("/v1/recommendations", "/v1/dose", "/v1/interpret", "/v1/agents", "/v1/references", "/v1/cases", "/healthz")
EXAMPLES = int(os.environ.get("CRE_ADVISOR_SCHEMATHESIS_EXAMPLES", "30"))

_DATA = tempfile.TemporaryDirectory(prefix="cre-schemathesis-")
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(make_settings(Path(_DATA.name))))


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_server_errors(case: schemathesis.Case) -> None:
    checks = [not_a_server_error]
    if case.operation.path.startswith(OWN_PATHS):
        checks += [status_code_conformance, response_schema_conformance]
    case.call_and_validate(checks=checks)
