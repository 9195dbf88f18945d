"""Suggestions an EHR can apply: RxNorm- and SNOMED-coded R4 MedicationRequests with UCUM doses,
no duplicate therapy, and tested-susceptible agents first.

The codes expected here are written out by hand from their sources (NHSN antimicrobial list
and PEDSnet dose groups for RxNorm, the FHIR R4 route-codes value set for SNOMED CT), not
read from the service's data.
"""

from __future__ import annotations

import copy
from typing import Any

from fhir.resources.R4B.medicationrequest import MedicationRequest

from cds_helpers import load
from cre_advisor.cds.cards import susceptible_first
from cre_advisor.microbiology import AgentResult, SusceptibilityReading
from cre_advisor.recommendation import Option, RegimenItem

SIGN = "/cds-services/cre-advisor-order-sign"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"


def created(card: dict[str, Any]) -> list[dict[str, Any]]:
    return [a["resource"] for s in card.get("suggestions", []) for a in s["actions"] if a["type"] == "create"]


def test_suggested_orders_are_coded_valid_r4_resources(call: Any) -> None:
    [card] = call(SIGN, load("order-sign-ndm-meropenem")).json()["cards"]
    resources = created(card)
    assert resources
    expected_rxnorm = {"Aztreonam": {"1272", "1155015"}, "Ceftazidime-avibactam": {"1603837"}, "Cefiderocol": set()}
    for resource in resources:
        MedicationRequest.model_validate(resource)  # fhir.resources R4 model: the EHR can create it
        concept = resource["medicationCodeableConcept"]
        codes = {c["code"] for c in concept.get("coding", []) if c["system"] == RXNORM}
        assert codes == expected_rxnorm[concept["text"]], concept
        for dosage in resource["dosageInstruction"]:
            assert dosage["route"]["coding"] == [{"system": SNOMED, "code": "47625008", "display": "Intravenous route"}]
            for dose_rate in dosage.get("doseAndRate", []):
                quantity = dose_rate["doseQuantity"]
                assert (quantity["system"], quantity["code"]) == (UCUM, "mg")


def test_harmful_draft_beside_a_correctly_dosed_plan_agent_is_only_removed(call: Any) -> None:
    """Tigecycline drafted for a KPC bacteraemia while ceftazidime-avibactam 1.25 g q8h (the
    plan's dose for CrCl 33) is drafted too: remove tigecycline, add nothing."""
    body = load("order-sign-tigecycline-bacteraemia")
    cza = load("order-sign-cza-correct-dose")["context"]["draftOrders"]["entry"][0]
    body["context"]["draftOrders"]["entry"].append(copy.deepcopy(cza))
    cards = call(SIGN, body).json()["cards"]
    [card] = [c for c in cards if "Tigecycline" in c["summary"]]
    [suggestion] = card["suggestions"]
    assert [a["type"] for a in suggestion["actions"]] == ["delete"]
    assert suggestion["actions"][0]["resourceId"] == "MedicationRequest/draft-tgc"
    assert "already ordered" in suggestion["label"]


def test_harmful_draft_beside_a_misdosed_plan_agent_does_not_order_it_twice(call: Any) -> None:
    body = load("order-sign-tigecycline-bacteraemia")
    cza = load("order-sign-cza-overdose")["context"]["draftOrders"]["entry"][0]
    body["context"]["draftOrders"]["entry"].append(copy.deepcopy(cza))
    cards = call(SIGN, body).json()["cards"]
    [card] = [c for c in cards if "Tigecycline" in c["summary"]]
    names = [r["medicationCodeableConcept"]["text"] for r in created(card)]
    assert "Ceftazidime-avibactam" not in names


def _item(agent: str) -> RegimenItem:
    return RegimenItem(agent=agent, route="IV", dose="1 g q8h", dose_mg=1000, interval_h=8, infusion_h=None,
                       loading_dose_mg=None, adjusted_for="test", citations=())


def _option(rank: int, tier: str, agent: str) -> Option:
    return Option(rank=rank, tier=tier, regimen=[_item(agent)], rationale="", citations=[], cautions=[], id=f"o{rank}")


def _reading(**categories: str) -> SusceptibilityReading:
    return SusceptibilityReading(results={
        agent: AgentResult(agent=agent, category=category, source="reported") for agent, category in categories.items()
    })


def test_tested_susceptible_option_comes_first_within_its_tier() -> None:
    options = [_option(1, "preferred", "meropenem-vaborbactam"), _option(2, "preferred", "ceftazidime-avibactam"),
               _option(3, "alternative", "amikacin")]
    ordered = susceptible_first(options, _reading(**{"ceftazidime-avibactam": "S", "amikacin": "S"}))
    assert [o.rank for o in ordered] == [2, 1, 3]


def test_a_tested_lower_tier_never_jumps_a_preferred_option() -> None:
    options = [_option(1, "preferred", "meropenem-vaborbactam"), _option(2, "alternative", "amikacin")]
    assert [o.rank for o in susceptible_first(options, _reading(amikacin="S"))] == [1, 2]
