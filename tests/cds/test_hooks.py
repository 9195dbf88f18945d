"""Each hook from its FHIR fixture: which cards come back, with what indicator, dose and action.

Expected doses come from the clinical DOSING.md tables, worked by hand for each patient:
- KPC bacteraemia: woman, 68 y, 72 kg, 165 cm, creatinine 1.6 mg/dL. IBW 45.5 + 0.9055 x 12.6
  = 56.9 kg; 72 kg is > 120% of IBW, so adjusted weight 56.9 + 0.4 x 15.1 = 62.9 kg;
  CrCl = (140 - 68) x 62.9 / (72 x 1.6) x 0.85 = 33 mL/min. Ceftazidime-avibactam band 31-50:
  1.25 g q8h; meropenem-vaborbactam band 30-49: 2 g q8h over 3 h.
- NDM pneumonia: man, 55 y, 80 kg, 178 cm, creatinine 80 umol/L. IBW 73.2 kg; 80 kg <= 120%
  of IBW, so IBW is used; CrCl = 85 x 73.2 x 1.23 / 80 = 96 mL/min. Cefiderocol band 60-119:
  2 g q8h over 3 h; or ceftazidime-avibactam 2.5 g q8h (band > 50) with aztreonam 2 g q8h.
"""

from __future__ import annotations

from typing import Any

import pytest
from fhir.resources.R4B.medicationrequest import MedicationRequest

from cds_helpers import BASE, load

SIGN = "/cds-services/cre-advisor-order-sign"
SELECT = "/cds-services/cre-advisor-order-select"
VIEW = "/cds-services/cre-advisor-patient-view"


def cards_for(call: Any, path: str, fixture: str) -> list[dict[str, Any]]:
    response = call(path, load(fixture))
    assert response.status_code == 200, response.text
    return response.json()["cards"]


def only(cards: list[dict[str, Any]]) -> dict[str, Any]:
    assert len(cards) == 1, [c["summary"] for c in cards]
    return cards[0]


def card_type(card: dict[str, Any]) -> str:
    return card["source"]["topic"]["code"]


def created(card: dict[str, Any]) -> list[dict[str, Any]]:
    [suggestion] = card["suggestions"]
    return [a["resource"] for a in suggestion["actions"] if a["type"] == "create"]


def deleted(card: dict[str, Any]) -> list[str]:
    [suggestion] = card["suggestions"]
    return [a["resourceId"] for a in suggestion["actions"] if a["type"] == "delete"]


def dose(resource: dict[str, Any]) -> tuple[float, float]:
    dosage = resource["dosageInstruction"][-1]
    return dosage["doseAndRate"][0]["doseQuantity"]["value"], dosage["timing"]["repeat"]["period"]


def test_patient_view_kpc_bacteraemia_shows_the_renally_adjusted_plan(call: Any) -> None:
    card = only(cards_for(call, VIEW, "patient-view-kpc-bacteraemia"))
    assert card["indicator"] == "info" and card_type(card) == "plan"
    assert "KPC" in card["summary"] and "Klebsiella pneumoniae" in card["summary"]
    detail = card["detail"]
    assert "Meropenem-vaborbactam IV 2 g" in detail and "q8h" in detail
    assert "Ceftazidime-avibactam IV 1.25 g" in detail
    # citations travel with the doses: numbered markers, and the sources listed at the end
    assert "Meropenem-vaborbactam IV 2 g (meropenem 1 g + vaborbactam 1 g) q8h over 3 h [" in detail
    assert "**Sources**" in detail and "Infectious Diseases Society of America 2024 Guidance" in detail
    assert "CrCl 33" in detail
    [link] = card["links"]
    assert link["url"].startswith(f"{BASE}/cases/") and link["type"] == "absolute"
    assert "suggestions" not in card and "selectionBehavior" not in card


def test_patient_view_ndm_pneumonia_offers_cefiderocol_at_full_dose(call: Any) -> None:
    card = only(cards_for(call, VIEW, "patient-view-ndm-pneumonia"))
    assert card["indicator"] == "info" and "NDM" in card["summary"]
    assert "Cefiderocol IV 2 g q8h over 3 h" in card["detail"]
    assert "Tigecycline" in card["detail"]  # avoided for pneumonia, and said so


def test_patient_without_cre_gets_no_card(call: Any) -> None:
    assert cards_for(call, VIEW, "patient-view-no-cre") == []
    assert cards_for(call, SIGN, "order-sign-no-cre-meropenem") == []


def test_tigecycline_for_bacteraemia_is_critical_with_a_replacement(call: Any) -> None:
    card = only(cards_for(call, SIGN, "order-sign-tigecycline-bacteraemia"))
    assert card["indicator"] == "critical" and card_type(card) == "harmful-order"
    assert "Tigecycline" in card["summary"]
    assert card["selectionBehavior"] == "at-most-one"
    assert deleted(card) == ["MedicationRequest/draft-tgc"]
    [new] = created(card)
    assert new["medicationCodeableConcept"]["text"] == "Meropenem-vaborbactam"
    assert dose(new) == (2000, 8)
    assert new["subject"] == {"reference": "Patient/kpc-1"}
    MedicationRequest.model_validate(new)  # a valid R4 resource the EHR can create


def test_resistant_agent_is_critical(call: Any) -> None:
    card = only(cards_for(call, SIGN, "order-sign-ndm-meropenem"))
    assert card["indicator"] == "critical"
    assert "resistant" in card["detail"] and ">=32" in card["detail"]
    # IDSA Q3.5 gives the two MBL options equal standing: either may come first
    replacement = {(r["medicationCodeableConcept"]["text"], *dose(r)) for r in created(card)}
    assert replacement in (
        {("Ceftazidime-avibactam", 2500, 8), ("Aztreonam", 2000, 8)},
        {("Cefiderocol", 2000, 8)},
    )


def test_correctly_dosed_order_gets_no_card(call: Any) -> None:
    assert cards_for(call, SIGN, "order-sign-cza-correct-dose") == []


def test_concordant_card_when_the_hospital_turns_it_on(call: Any, app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = app.state.cds
    monkeypatch.setattr(runtime, "config", runtime.config.model_copy(update={"concordant_cards": True}))
    card = only(cards_for(call, SIGN, "order-sign-cza-correct-dose"))
    assert card["indicator"] == "info" and card_type(card) == "concordant-order"


def test_overdose_is_a_warning_with_the_plan_dose(call: Any) -> None:
    card = only(cards_for(call, SIGN, "order-sign-cza-overdose"))
    assert card["indicator"] == "warning" and card_type(card) == "misdosed-order"
    assert "1.25 g" in card["summary"] and "2500 mg" in card["summary"]
    [new] = created(card)
    assert dose(new) == (1250, 8)
    assert deleted(card) == ["MedicationRequest/draft-cza"]


def test_order_select_without_a_dose_gets_the_dose_for_this_patient(call: Any) -> None:
    card = only(cards_for(call, SELECT, "order-select-kpc-cza-no-dose"))
    assert card["indicator"] == "info" and card_type(card) == "dose-info"
    assert "1.25 g" in card["summary"]


def test_missing_site_asks_for_it(call: Any) -> None:
    body = load("patient-view-kpc-bacteraemia")
    body["prefetch"]["conditions"] = None  # null: the EHR has no conditions for this patient
    card = only(call(VIEW, body).json()["cards"])
    assert card_type(card) == "needs-input" and "site" in card["summary"] and "severity" in card["summary"]


def test_resistance_is_flagged_even_without_site(call: Any) -> None:
    body = load("order-sign-ndm-meropenem")
    body["prefetch"]["conditions"] = None
    cards = call(SIGN, body).json()["cards"]
    assert sorted(card_type(c) for c in cards) == ["harmful-order", "needs-input"]


def test_wrong_hook_for_the_service_is_400(call: Any) -> None:
    response = call(SIGN, load("patient-view-kpc-bacteraemia"))
    assert response.status_code == 400 and "patient-view" in response.json()["detail"]


def test_invalid_fhir_is_400_naming_the_resource(call: Any) -> None:
    body = load("order-sign-cza-overdose")
    del body["context"]["draftOrders"]["entry"][0]["resource"]["status"]
    response = call(SIGN, body)
    assert response.status_code == 400 and "MedicationRequest/draft-cza" in response.json()["detail"]


def test_unknown_service_is_404(call: Any) -> None:
    assert call("/cds-services/nope", load("patient-view-kpc-bacteraemia")).status_code == 404
