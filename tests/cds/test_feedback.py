"""Feedback: stored per card, then `cre-advisor cds feedback-report` counts it by card type."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cds_helpers import BASE, EHR2, EHR2_JKU, check_response, load, make_config
from cre_advisor.cds.runtime import CdsRuntime
from cre_advisor.cli import app as cli
from cre_advisor.settings import Settings
from cre_advisor.web.app import create_app

SIGN = "/cds-services/cre-advisor-order-sign"
FEEDBACK = SIGN + "/feedback"


@pytest.fixture()
def fresh(tmp_path: Path, jwks: dict[str, Any], sign: Any) -> Any:
    """A server with an empty database, and a signed POST helper for it."""
    application = create_app(Settings.resolve(data_dir=tmp_path))
    application.state.cds = CdsRuntime.build(make_config(jwks), transport=httpx.MockTransport(lambda r: httpx.Response(404)))
    with TestClient(application, base_url=BASE) as client:
        def post(path: str, body: dict[str, Any]) -> httpx.Response:
            return client.post(path, json=body, headers={"Authorization": f"Bearer {sign(path)}"})
        yield post


def card_from(post: Any, fixture: str) -> dict[str, Any]:
    body = post(SIGN, load(fixture)).json()
    check_response(body)
    [card] = body["cards"]
    return card


def report(tmp_path: Path) -> dict[str, dict[str, Any]]:
    result = CliRunner().invoke(cli, ["cds", "feedback-report", "--data-dir", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    return {row["card_type"]: row for row in json.loads(result.output)}


def test_feedback_is_stored_and_reported_per_card_type(fresh: Any, tmp_path: Path) -> None:
    harmful = card_from(fresh, "order-sign-tigecycline-bacteraemia")
    harmful_again = card_from(fresh, "order-sign-tigecycline-bacteraemia")
    misdosed = card_from(fresh, "order-sign-cza-overdose")
    feedback = {"feedback": [
        {"card": harmful["uuid"], "outcome": "accepted",
         "acceptedSuggestions": [{"id": harmful["suggestions"][0]["uuid"]}], "outcomeTimestamp": "2026-11-24T03:10:00Z"},
        {"card": harmful_again["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-11-24T03:12:00Z",
         "overrideReason": {"reason": {"system": harmful_again["overrideReasons"][1]["system"], "code": "id-advice"},
                            "userComment": "ID consult says continue"}},
        {"card": misdosed["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-11-24T03:15:00Z"},
    ]}
    response = fresh(FEEDBACK, feedback)
    assert response.status_code == 200 and response.json() == {"received": 3, "duplicates": 0}

    rows = report(tmp_path)
    assert rows["harmful-order"]["cards"] == 2
    assert rows["harmful-order"]["accepted"] == 1 and rows["harmful-order"]["overridden"] == 1
    assert rows["harmful-order"]["acceptance"] == 0.5
    assert rows["harmful-order"]["override_reasons"] == {"Infectious diseases / stewardship advised otherwise": 1}
    assert rows["misdosed-order"]["override_reasons"] == {"no reason given": 1}
    assert rows["misdosed-order"]["acceptance"] == 0.0


def test_table_report_names_card_types_and_reasons(fresh: Any, tmp_path: Path) -> None:
    card = card_from(fresh, "order-sign-tigecycline-bacteraemia")
    fresh(FEEDBACK, {"feedback": [{"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-11-24T03:12:00Z",
                                   "overrideReason": {"reason": {"code": "not-available", "system": "x"}}}]})
    result = CliRunner().invoke(cli, ["cds", "feedback-report", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0
    assert "harmful-order" in result.output and "Recommended agent not" in result.output


@pytest.mark.parametrize("item", [
    {"card": "c", "outcome": "accepted", "outcomeTimestamp": "2026-11-24T03:10:00Z"},  # no acceptedSuggestions
    {"card": "c", "outcome": "dismissed", "outcomeTimestamp": "2026-11-24T03:10:00Z"},
    {"card": "c", "outcome": "overridden"},
])
def test_invalid_feedback_is_400(fresh: Any, item: dict[str, Any]) -> None:
    assert fresh(FEEDBACK, {"feedback": [item]}).status_code == 400


def test_empty_database_reports_nothing(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["cds", "feedback-report", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0 and "No CDS cards" in result.output


def overridden(card: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-11-24T03:12:00Z", **extra}


def test_repeated_feedback_counts_once(fresh: Any, tmp_path: Path) -> None:
    card = card_from(fresh, "order-sign-tigecycline-bacteraemia")
    first = fresh(FEEDBACK, {"feedback": [overridden(card), overridden(card)]})
    again = fresh(FEEDBACK, {"feedback": [overridden(card)]})
    assert first.json() == {"received": 1, "duplicates": 1}
    assert again.json() == {"received": 0, "duplicates": 1}
    assert report(tmp_path)["harmful-order"]["overridden"] == 1


def test_feedback_on_an_unknown_card_or_suggestion_is_refused(fresh: Any, tmp_path: Path) -> None:
    card = card_from(fresh, "order-sign-tigecycline-bacteraemia")
    unknown = {"card": "00000000-0000-4000-8000-00000000dead", "outcome": "overridden", "outcomeTimestamp": "2026-11-24T03:12:00Z"}
    assert fresh(FEEDBACK, {"feedback": [overridden(card), unknown]}).status_code == 404
    made_up = {"card": card["uuid"], "outcome": "accepted", "acceptedSuggestions": [{"id": "not-a-suggestion"}],
               "outcomeTimestamp": "2026-11-24T03:12:00Z"}
    assert fresh(FEEDBACK, {"feedback": [made_up]}).status_code == 400
    assert report(tmp_path)["harmful-order"]["overridden"] == 0  # a refused batch stores nothing


def test_feedback_from_another_client_is_refused(call: Any, client: TestClient, sign: Any, keys: dict[str, Any]) -> None:
    [card] = call(SIGN, load("order-sign-tigecycline-bacteraemia")).json()["cards"]
    token = sign(FEEDBACK, key=keys["ec2"], iss=EHR2, header={"kid": "ec2-1", "jku": EHR2_JKU})
    response = client.post(FEEDBACK, json={"feedback": [overridden(card)]}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 404
    assert call(FEEDBACK, {"feedback": [overridden(card)]}).status_code == 200  # its own client may


@pytest.mark.parametrize("change", [
    {"card": "c" * 65},
    {"overrideReason": {"userComment": "see note\x00"}},
    {"overrideReason": {"reason": {"code": "x" * 129}}},
    {"overrideReason": {"userComment": "x" * 4001}},
])
def test_oversized_or_nul_fields_are_400_not_a_database_error(fresh: Any, change: dict[str, Any]) -> None:
    card = card_from(fresh, "order-sign-tigecycline-bacteraemia")
    assert fresh(FEEDBACK, {"feedback": [{**overridden(card), **change}]}).status_code == 400
