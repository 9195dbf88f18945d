"""Plausibility and clinical words at the web doors: REST API and case form (issues 12 item 6, 17 item 4).

The same bad values as the command line and the CDS Hooks tests: each is a 422 whose message
names the field as a clinician does, and in the form the message sits beside its field.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from cre_advisor.store.saved_cases import SavedCase

from web_helpers import KPC_BLOODSTREAM, KPC_FORM

# (where in the case, value, clinical words in the REST message)
BAD_CASE_VALUES = [
    (("patient", "weight_kg"), True, ["Weight (patient.weight_kg)", "true is not a number"]),
    (("patient", "weight_kg"), 0.001, ["Weight (patient.weight_kg)", "kilograms"]),
    (("patient", "weight_kg"), "72", ["Weight (patient.weight_kg)", "as a number"]),
    (("patient", "serum_creatinine_mg_dl"), 1e-300, ["Serum creatinine", "plausible range (0.2-25 mg/dL)"]),
    (("patient", "age_years"), True, ["Age (patient.age_years)", "not a number"]),
]


@pytest.mark.parametrize(("path", "value", "words"), BAD_CASE_VALUES)
def test_recommendations_refuse_implausible_values(
    client: TestClient, kpc_case: dict[str, Any], path: tuple[str, str], value: Any, words: list[str]
) -> None:
    kpc_case[path[0]][path[1]] = value
    response = client.post("/v1/recommendations", json=kpc_case)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", *path]
    for word in words:
        assert word in error["msg"], error["msg"]


def test_creatinine_in_the_wrong_unit_is_refused_saying_which_unit(client: TestClient, kpc_case: dict[str, Any]) -> None:
    del kpc_case["patient"]["serum_creatinine_mg_dl"]
    kpc_case["patient"]["serum_creatinine_umol_l"] = 1.9
    [error] = client.post("/v1/recommendations", json=kpc_case).json()["detail"]
    assert error["loc"] == ["body", "patient", "serum_creatinine_umol_l"]
    assert error["field"] == "serum creatinine" and "almost surely in mg/dL" in error["msg"]


def test_nan_in_the_body_is_refused(client: TestClient) -> None:
    body = '{"agent": "cefiderocol", "crcl_ml_min": NaN}'  # Python's JSON reader accepts NaN; the API must not
    response = client.post("/v1/dose", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert "finite number" in response.json()["detail"][0]["msg"]


@pytest.mark.parametrize(
    ("body", "loc", "words"),
    [
        ({"agent": "cefiderocol", "weight_kg": True}, ["body", "weight_kg"], "true is not a number"),
        ({"agent": "cefiderocol", "crcl_ml_min": True}, ["body", "crcl_ml_min"], "not a number"),
        ({"agent": "cefiderocol", "serum_creatinine_umol_l": 1.9, "age_years": 60, "sex": "male", "weight_kg": 80},
         ["body", "serum_creatinine_umol_l"], "mg/dL"),
        ({"agent": "cefiderocol", "crrt_effluent_l_h": 2}, ["body", "crrt_effluent_l_h"], "Effluent rate applies only to CRRT"),
    ],
)
def test_dose_refuses_implausible_values(client: TestClient, body: dict[str, Any], loc: list[str], words: str) -> None:
    response = client.post("/v1/dose", json=body)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == loc and words in error["msg"], error


def test_dose_caps_a_clearance_above_the_ceiling_with_a_warning(client: TestClient) -> None:
    # (140 - 20) x 100 / (72 x 0.3) = 555.6 mL/min by Cockcroft-Gault: capped at 250, and said.
    body = client.post("/v1/dose", json={
        "agent": "cefiderocol", "age_years": 20, "sex": "male", "weight_kg": 100, "serum_creatinine_mg_dl": 0.3,
        "crcl_weight_basis": "actual",
    }).json()
    assert body["renal"]["crcl_ml_min"] == 250
    assert any("555.6 mL/min" in flag and "ceiling" in flag for flag in body["renal"]["flags"])


def test_the_plan_says_when_the_clearance_was_capped(client: TestClient, kpc_case: dict[str, Any]) -> None:
    kpc_case["patient"].update({"age_years": 20, "serum_creatinine_mg_dl": 0.2, "crcl_weight_basis": "actual"})
    plan = client.post("/v1/recommendations", json=kpc_case).json()
    assert plan["renal"]["crcl_ml_min"] == 250
    assert any("above the 250 mL/min ceiling" in warning for warning in plan["warnings"])


def test_an_unknown_site_lists_readable_sites_and_their_codes(client: TestClient, kpc_case: dict[str, Any]) -> None:
    kpc_case["infection"]["site"] = "lung"
    message = client.post("/v1/recommendations", json=kpc_case).json()["detail"][0]["msg"]
    assert message.startswith("Site of infection (infection.site): Choose one of: bloodstream, intra-abdominal")
    assert "accepted values: bloodstream, intra_abdominal" in message
    assert "Input should be" not in message


# ---- the web form: the message beside its field --------------------------------------------------
def _field_error(page: str, field: str) -> str:
    """The error paragraph the form renders beside one field (see _macros.html)."""
    found = re.search(rf'id="f-{re.escape(field.replace(".", "-"))}-error">([^<]*)<', page)
    assert found, f"no error beside {field}"
    return found.group(1)


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"creatinine_value": "1.9", "creatinine_unit": "umol_l"}, "creatinine_value", "almost surely in mg/dL"),
        ({"creatinine_value": "1e-300"}, "creatinine_value", "below the plausible range"),
        ({"patient.weight_kg": "0.001"}, "patient.weight_kg", "Enter the weight in kilograms"),
        ({"patient.crrt_effluent_l_h": "2"}, "patient.crrt_effluent_l_h", "Effluent rate applies only to CRRT"),
        ({"isolate.organism": ""}, "isolate.organism", "Enter the organism."),
        ({"infection.site": ""}, "infection.site", "Choose the site of infection."),
    ],
)
def test_the_form_shows_clinical_words_beside_the_field(
    client: TestClient, change: dict[str, str], field: str, words: str
) -> None:
    response = client.post("/plan", data={**KPC_FORM, **change})
    assert response.status_code == 422
    message = _field_error(response.text, field)
    assert words in message.replace("&#39;", "'"), message
    assert "Input should" not in response.text and "crrt_effluent_l_h is" not in response.text


def test_a_blank_organism_does_not_list_every_species(client: TestClient) -> None:
    page = client.post("/plan", data={**KPC_FORM, "isolate.organism": ""}).text
    assert "Citrobacter" not in _field_error(page, "isolate.organism")


def test_the_form_and_the_json_refuse_the_same_case_with_the_same_words(client: TestClient) -> None:
    case = copy.deepcopy(KPC_BLOODSTREAM)
    case["patient"]["crrt_effluent_l_h"] = 2
    api = client.post("/v1/recommendations", json=case).json()["detail"][0]["msg"]
    form = _field_error(client.post("/plan", data={**KPC_FORM, "patient.crrt_effluent_l_h": "2"}).text,
                        "patient.crrt_effluent_l_h")
    assert form in api


def test_a_saved_case_from_before_the_checks_is_a_422_not_a_500(client: TestClient, app: Any) -> None:
    link = client.post("/v1/cases", json=KPC_BLOODSTREAM).json()
    old = copy.deepcopy(KPC_BLOODSTREAM)
    old["patient"]["weight_kg"] = 0.5  # accepted before the plausibility limits existed
    with app.state.database.session() as session:
        session.execute(update(SavedCase).where(SavedCase.id == link["id"]).values(case_json=json.dumps(old)))
    page = client.get(f"/cases/{link['id']}", headers={"accept": "text/html"})
    assert page.status_code == 422 and "Enter the weight in kilograms" in page.text
    api = client.get(f"/v1/cases/{link['id']}")
    assert api.status_code == 422 and "Weight (patient.weight_kg)" in api.json()["detail"][0]["msg"]


def test_the_ask_page_and_saving_speak_the_same_words(client: TestClient) -> None:
    case = copy.deepcopy(KPC_BLOODSTREAM)
    case["patient"]["weight_kg"] = 0.001
    ask = client.post("/ask", data={"question": "How long should I treat?", "case_json": json.dumps(case)})
    assert ask.status_code == 422 and "Weight (patient.weight_kg)" in ask.text and "kilograms" in ask.text
    saved = client.post("/cases", data={"case_json": json.dumps(case)}, headers={"accept": "text/html"})
    assert saved.status_code == 422 and "Enter the weight in kilograms" in saved.text
