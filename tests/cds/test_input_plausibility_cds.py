"""CDS Hooks door: implausible FHIR values end as a card that says why, never as a dose (issue 12 item 6).

The values go in through the EHR's prefetch, as an EHR would send them; the card must name the
field in clinical words and must not carry a plan or a dose.
"""

from __future__ import annotations

from typing import Any

import pytest

from cds_helpers import check_card, load

VIEW = "/cds-services/cre-advisor-patient-view"
LOINC = "http://loinc.org"


def _newest(body: dict[str, Any], key: str) -> dict[str, Any]:
    return body["prefetch"][key]["entry"][0]["resource"]


@pytest.mark.parametrize(
    ("key", "code", "value", "unit", "words"),
    [
        ("creatinine", "14682-9", 1.9, "umol/L", ["Serum creatinine", "almost surely in mg/dL"]),
        ("creatinine", "2160-0", 1e-300, "mg/dL", ["Serum creatinine", "below the plausible range"]),
        ("creatinine", "2160-0", 150, "mg/dL", ["Serum creatinine", "almost surely in µmol/L"]),
        ("weight", "29463-7", 0.001, "kg", ["Weight", "kilograms"]),
        ("weight", "29463-7", 70, "g", ["Weight", "kilograms"]),  # 70 g: a weight sent in the wrong unit
    ],
)
def test_an_implausible_value_is_a_refusal_naming_the_field(
    call: Any, key: str, code: str, value: float, unit: str, words: list[str]
) -> None:
    body = load("patient-view-kpc-bacteraemia")
    observation = _newest(body, key)
    observation["code"] = {"coding": [{"system": LOINC, "code": code}]}
    observation["valueQuantity"] = {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}
    response = call(VIEW, body)
    assert response.status_code == 200
    [card] = response.json()["cards"]
    check_card(card)
    text = card["summary"] + " " + card["detail"]
    assert "cannot assess" in card["summary"]
    for word in words:
        assert word in text, text
    assert not card.get("suggestions"), "a refused record must not suggest an order"
    for dose_word in (" g q", "mg q", "q8h", "q12h", "loading dose"):
        assert dose_word not in text, f"a dose in a refusal card: {text}"


def test_the_same_record_with_plausible_values_gets_a_dosed_plan(call: Any) -> None:
    """The pair: the shipped record (creatinine 1.6 mg/dL, 72 kg) is read and dosed."""
    [card] = call(VIEW, load("patient-view-kpc-bacteraemia")).json()["cards"]
    assert "cannot assess" not in card["summary"]
    assert "q8h" in card["detail"]
