"""The spec's response invariants over every fixture's cards (and the checker catches breaches).

`check_response` (cds_helpers) also runs on every response the other tests receive through
the `call` fixture, so every card the tests produce passes these rules.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from fhir.resources.R4B.medicationrequest import MedicationRequest

from cds_helpers import FIXTURES, check_card, check_response, load

SERVICE = {"patient-view": "cre-advisor-patient-view", "order-select": "cre-advisor-order-select",
           "order-sign": "cre-advisor-order-sign"}
NAMES = sorted(p.stem for p in FIXTURES.glob("*.json"))


@pytest.fixture(scope="module")
def responses(call: Any) -> dict[str, dict[str, Any]]:
    out = {}
    for name in NAMES:
        body = load(name)
        response = call(f"/cds-services/{SERVICE[body['hook']]}", body)
        assert response.status_code == 200, (name, response.text)
        out[name] = response.json()
    return out


def test_every_fixture_answers_within_the_spec(responses: dict[str, dict[str, Any]]) -> None:
    assert len(responses) >= 9
    for body in responses.values():
        check_response(body)


def test_suggested_resources_are_valid_r4(responses: dict[str, dict[str, Any]]) -> None:
    actions = [a for body in responses.values() for card in body["cards"] for s in card.get("suggestions", [])
               for a in s["actions"] if a["type"] == "create"]
    assert actions
    for action in actions:
        MedicationRequest.model_validate(action["resource"])


def test_critical_only_for_harmful_orders(responses: dict[str, dict[str, Any]]) -> None:
    for body in responses.values():
        for card in body["cards"]:
            assert (card["indicator"] == "critical") == (card["source"]["topic"]["code"] == "harmful-order")


@pytest.fixture(scope="module")
def good_card(responses: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return responses["order-sign-tigecycline-bacteraemia"]["cards"][0]


@pytest.mark.parametrize("breach", [
    lambda c: c.pop("selectionBehavior"),
    lambda c: c["suggestions"].append(copy.deepcopy(c["suggestions"][0])),
    lambda c: c["suggestions"][0]["actions"][0].pop("resourceId"),
    lambda c: c["suggestions"][0]["actions"][1].update(description=" "),
    lambda c: c["overrideReasons"][0].pop("display"),
    lambda c: c.update(summary="x" * 140),
    lambda c: c.update(detail=""),
    lambda c: c.update(indicator="urgent"),
])
def test_the_checker_catches_each_breach(good_card: dict[str, Any], breach: Any) -> None:
    broken = copy.deepcopy(good_card)
    breach(broken)
    with pytest.raises((AssertionError, KeyError)):
        check_card(broken)
