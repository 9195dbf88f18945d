"""Prefetch rules: absent key = not fetched, null = no data, fetch with the EHR's token, else 412."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from cds_helpers import FHIR, load
from cre_advisor.cds.services import SERVICES, prefetch_templates

VIEW = "/cds-services/cre-advisor-patient-view"
AUTH = {"access_token": "fhir-token", "token_type": "Bearer", "expires_in": 300, "scope": "user/*.read", "subject": "cre-advisor"}


def test_discovery_lists_three_services_with_the_prefetch_templates(call: Any) -> None:
    services = call("/cds-services").json()["services"]
    assert {(s["id"], s["hook"]) for s in services} == {
        ("cre-advisor-patient-view", "patient-view"),
        ("cre-advisor-order-select", "order-select"),
        ("cre-advisor-order-sign", "order-sign"),
    }
    prefetch = services[0]["prefetch"]
    assert prefetch["patient"] == "Patient/{{context.patientId}}"
    assert "http://loinc.org|29463-7" in prefetch["weight"] and "http://loinc.org|8302-2" in prefetch["height"]
    assert "2160-0" in prefetch["creatinine"] and "14682-9" in prefetch["creatinine"]
    for gene in ("49617-4", "73982-1", "85503-1", "85827-4", "85501-5", "85498-4"):
        assert gene in prefetch["carbapenemase-genes"]
    assert "category=MB" in prefetch["microbiology"]
    for template in prefetch.values():
        if "?" in template:
            assert "sort:desc" not in template
    assert all("_sort=-date" in prefetch[k] for k in ("weight", "height", "creatinine", "microbiology"))


def test_absent_required_key_without_fhir_access_is_412(call: Any) -> None:
    body = load("patient-view-kpc-bacteraemia")
    del body["prefetch"]["microbiology"]
    response = call(VIEW, body)
    assert response.status_code == 412 and "microbiology" in response.json()["detail"]


def test_absent_optional_key_becomes_missing_data(call: Any) -> None:
    body = load("patient-view-kpc-bacteraemia")
    del body["prefetch"]["weight"]
    [card] = call(VIEW, body).json()["cards"]
    assert "weight: not available from the EHR" in card["detail"]


def test_operation_outcome_counts_as_not_fetched(call: Any) -> None:
    body = load("patient-view-kpc-bacteraemia")
    body["prefetch"]["microbiology"] = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "timeout"}]}
    assert call(VIEW, body).status_code == 412


def _serve_kpc_record(fake_ehr: Any) -> None:
    prefetch = load("patient-view-kpc-bacteraemia")["prefetch"]
    observations = [e for key in ("weight", "height", "creatinine", "carbapenemase-genes") for e in prefetch[key]["entry"]]
    fake_ehr.resources.update({
        "Patient/kpc-1": prefetch["patient"],
        "DiagnosticReport": prefetch["microbiology"],
        "Observation": {"resourceType": "Bundle", "type": "searchset", "entry": observations},
        "Condition": prefetch["conditions"],
        "AllergyIntolerance": prefetch["allergies"],
        "MedicationRequest": prefetch["medications"],
    })


def test_absent_keys_are_fetched_with_the_ehr_token(call: Any, fake_ehr: Any) -> None:
    _serve_kpc_record(fake_ehr)
    body = load("patient-view-kpc-bacteraemia")
    body.update(prefetch={}, fhirServer=FHIR, fhirAuthorization=AUTH)
    before = len(fake_ehr.requests)
    response = call(VIEW, body)
    assert response.status_code == 200, response.text
    [card] = response.json()["cards"]
    assert "KPC" in card["summary"]
    asked = [r for r in fake_ehr.requests[before:] if str(r.url).startswith(FHIR)]
    assert len(asked) == len(prefetch_templates())
    assert all(r.headers["authorization"] == "Bearer fhir-token" for r in asked)
    assert any("_sort=-date" in str(r.url) and "29463-7" in str(r.url) for r in asked)


def test_null_means_no_data_and_is_not_fetched(call: Any, fake_ehr: Any) -> None:
    _serve_kpc_record(fake_ehr)
    body = load("patient-view-kpc-bacteraemia")
    body["prefetch"]["carbapenemase-genes"] = None
    body.update(fhirServer=FHIR, fhirAuthorization=AUTH)
    before = len(fake_ehr.requests)
    [card] = call(VIEW, body).json()["cards"]
    assert fake_ehr.requests[before:] == []  # every key was given; null is an answer
    assert "carbapenemase genes" in card["detail"]  # the missing result is named


def test_http_fhir_server_is_refused_outside_development(call: Any) -> None:
    body = load("patient-view-kpc-bacteraemia")
    body.update(fhirServer="http://fhir.test/r4", fhirAuthorization=AUTH)
    assert call(VIEW, body).status_code == 400


def test_slow_fhir_server_is_cut_off_and_answered_412(
    app: Any, client: TestClient, sign: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200, json={})

    runtime = app.state.cds
    monkeypatch.setattr(runtime, "config", runtime.config.model_copy(update={"fhir_timeout_s": 0.2}))
    monkeypatch.setattr(runtime, "http", httpx.AsyncClient(transport=httpx.MockTransport(slow)))
    body = load("patient-view-kpc-bacteraemia")
    del body["prefetch"]["microbiology"]
    body.update(fhirServer=FHIR, fhirAuthorization=AUTH)
    started = time.perf_counter()
    response = client.post(VIEW, json=body, headers={"Authorization": f"Bearer {sign(VIEW)}"})
    elapsed = time.perf_counter() - started
    assert response.status_code == 412
    assert elapsed < 2.0


def test_every_service_requires_patient_and_microbiology() -> None:
    assert all(s.required == {"patient", "microbiology"} for s in SERVICES.values())
