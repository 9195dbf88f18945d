"""POST /v1/ask and the result page's follow-up box (POST /ask)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cre_advisor.settings import Settings, sqlite_url
from cre_advisor.web.app import create_app

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "kpc-bacteremia.json"


def _client(directory: Path, **settings: Any) -> TestClient:
    data = directory / "data"
    return TestClient(create_app(Settings(data_dir=data, database_url=sqlite_url(data / "ask.db"), **settings)))


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with _client(tmp_path_factory.mktemp("ask")) as test_client:
        yield test_client


@pytest.fixture
def case() -> dict[str, Any]:
    return json.loads(EXAMPLE.read_text())


def test_answer_json(client: TestClient) -> None:
    response = client.post("/v1/ask", json={"question": "Why not meropenem-vaborbactam for OXA-48?"})
    assert response.status_code == 200
    body = response.json()
    assert body["covered"] is True
    assert body["items"][0]["id"] == "avoid-oxa48-vaborbactam-relebactam"
    assert body["items"][0]["lines"][0]["citations"] == ["idsa-2024:Q3.6"]
    assert body["review"]["status"] == "pending_review"


def test_answer_for_a_case(client: TestClient, case: dict[str, Any]) -> None:
    response = client.post("/v1/ask", json={"question": "What dose of CZA?", "case": case, "audience": "nurse"})
    assert response.status_code == 200
    lines = [line["text"] for line in response.json()["for_this_patient"]]
    assert any("1.25 g" in text and "q8h" in text for text in lines)


def test_not_covered(client: TestClient) -> None:
    body = client.post("/v1/ask", json={"question": "Does tigecycline interact with warfarin?"}).json()
    assert body["covered"] is False and body["nearest_topics"]


@pytest.mark.parametrize(("payload", "field"), [
    ({}, "question"),
    ({"question": "   "}, "question"),
    ({"question": "x" * 501}, "question"),
    ({"question": "CZA dose", "audience": "doctor"}, "audience"),
    ({"question": "CZA dose", "unknown": 1}, "unknown"),
])
def test_bad_input_is_422_naming_the_field(client: TestClient, payload: dict[str, Any], field: str) -> None:
    response = client.post("/v1/ask", json=payload)
    assert response.status_code == 422
    assert any(error["loc"][:2] == ["body", field] for error in response.json()["detail"])


def test_invalid_case_is_422_naming_the_case_field(client: TestClient, case: dict[str, Any]) -> None:
    case["patient"]["weight_kg"] = 0
    response = client.post("/v1/ask", json={"question": "CZA dose", "case": case})
    assert response.status_code == 422
    assert any(error["loc"][:4] == ["body", "case", "patient", "weight_kg"] for error in response.json()["detail"])


def test_result_page_has_the_follow_up_box(client: TestClient, case: dict[str, Any]) -> None:
    page = client.post("/plan", data={"case_json": json.dumps(case)})
    assert page.status_code == 200
    assert 'action="/ask"' in page.text and 'name="question"' in page.text


def test_follow_up_page_answers_for_the_case(client: TestClient, case: dict[str, Any]) -> None:
    page = client.post("/ask", data={"question": "What dose of CZA?", "case_json": json.dumps(case), "audience": "pharmacist"})
    assert page.status_code == 200
    assert "For this patient" in page.text and "1.25 g" in page.text
    assert "Sources" in page.text and "Back to the plan" in page.text
    assert page.headers["content-security-policy"]


def test_follow_up_page_rejects_an_empty_question(client: TestClient) -> None:
    page = client.post("/ask", data={"question": " "})
    assert page.status_code == 422
    assert "question: must not be empty" in page.text


def test_strict_review_quotes_only_approved_items(tmp_path: Path) -> None:
    with _client(tmp_path, strict_review=True) as strict:
        body = strict.post("/v1/ask", json={"question": "Do I need repeat blood cultures?"}).json()
    assert [item for item in body["items"] if item["review_status"] is not None] == []  # nothing approved yet
    assert "site-bloodstream-cultures" in body["left_out_unapproved"]


def test_follow_up_page_answers_a_what_if_for_her_first_choice(client: TestClient, case: dict[str, Any]) -> None:
    page = client.post("/ask", data={"question": "What if she goes on dialysis?", "case_json": json.dumps(case)})
    assert page.status_code == 200
    assert "Meropenem-vaborbactam IV on intermittent haemodialysis" in page.text
    assert "Not found in the knowledge base" not in page.text


def test_follow_up_page_refuses_a_drug_it_does_not_hold_by_name(client: TestClient, case: dict[str, Any]) -> None:
    page = client.post("/ask", data={"question": "vanc dose on CRRT", "case_json": json.dumps(case)})
    assert page.status_code == 200
    assert "Not covered" in page.text and "vancomycin: not an agent in this knowledge base" in page.text


def test_follow_up_page_answers_about_the_tool(client: TestClient) -> None:
    page = client.post("/ask", data={"question": "what does under review mean?"})
    assert page.status_code == 200
    assert "what the review statuses mean" in page.text and "about this tool" in page.text
