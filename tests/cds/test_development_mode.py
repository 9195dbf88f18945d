"""Unsigned calls: only with the explicit development flag, and only over loopback."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from cds_helpers import load
from cre_advisor.cds.config import load_cds_config

VIEW = "/cds-services/cre-advisor-patient-view"


def unsigned_status(app: Any, *, server: str, client: str) -> int:
    host = f"[{server}]" if ":" in server else server
    with TestClient(app, base_url=f"http://{host}", client=(client, 40000)) as test_client:
        return test_client.get("/cds-services").status_code


@pytest.fixture()
def development(app: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    runtime = app.state.cds
    monkeypatch.setattr(runtime, "config", runtime.config.model_copy(update={"development_unsigned": True}))
    return app


def test_without_the_flag_unsigned_loopback_calls_are_refused(app: Any) -> None:
    assert unsigned_status(app, server="127.0.0.1", client="127.0.0.1") == 401


def test_with_the_flag_unsigned_loopback_calls_pass(development: Any) -> None:
    assert unsigned_status(development, server="127.0.0.1", client="127.0.0.1") == 200
    assert unsigned_status(development, server="::1", client="::1") == 200


@pytest.mark.parametrize(("server", "client"), [("127.0.0.1", "10.1.2.3"), ("10.1.2.3", "127.0.0.1"), ("cds.test", "testclient")])
def test_with_the_flag_other_addresses_are_still_refused(development: Any, server: str, client: str) -> None:
    assert unsigned_status(development, server=server, client=client) == 401


def test_development_allows_an_http_fhir_server_on_loopback(development: Any) -> None:
    body = load("patient-view-kpc-bacteraemia")
    body.update(fhirServer="http://127.0.0.1:8080/fhir", fhirAuthorization={
        "access_token": "t", "token_type": "Bearer", "expires_in": 60, "scope": "user/*.read", "subject": "s"})
    with TestClient(development, base_url="http://127.0.0.1", client=("127.0.0.1", 40000)) as test_client:
        assert test_client.post(VIEW, json=body).status_code == 200


def test_flag_comes_from_the_environment_only_when_explicit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CRE_ADVISOR_CDS_CONFIG", raising=False)
    monkeypatch.delenv("CRE_ADVISOR_CDS_DEV_UNSIGNED", raising=False)
    assert load_cds_config().development_unsigned is False
    monkeypatch.setenv("CRE_ADVISOR_CDS_DEV_UNSIGNED", "1")
    assert load_cds_config().development_unsigned is True
