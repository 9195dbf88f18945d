"""Helpers shared by the CDS Hooks tests: fixture loading and the spec's response invariants."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from cre_advisor.fhir.codes import LocalCode, LocalCodes
from cre_advisor.cds.config import CdsConfig
from cre_advisor.security.client_tokens import TrustedClient

FIXTURES = Path(__file__).parent / "fixtures"
BASE = "https://cds.test"
EHR = "https://ehr.test"
EHR2 = "https://ehr2.test"
EHR2_JKU = "https://ehr2.test/jwks.json"
FHIR = "https://fhir.test/r4"
LAB = "http://lab.example.org/codes"


def public_jwk(key: Any, kid: str, alg: str) -> dict[str, Any]:
    algorithm = ECAlgorithm if alg == "ES384" else RSAAlgorithm
    jwk = json.loads(algorithm.to_jwk(key.public_key()))
    return {**jwk, "kid": kid, "alg": alg, "use": "sig"}


def make_config(jwks: dict[str, Any], **overrides: Any) -> CdsConfig:
    return CdsConfig(
        public_base_url=BASE,
        clients=(TrustedClient(iss=EHR, jwks=jwks), TrustedClient(iss=EHR2, jku=(EHR2_JKU,))),
        local_codes=LocalCodes(susceptibility_mic=(LocalCode(system=LAB, code="CZA-MIC", agent="ceftazidime-avibactam"),)),
        **overrides,
    )


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


# ---- CDS Hooks 2.0 response invariants, checked on every response the tests receive ---------

INDICATORS = {"info", "warning", "critical"}


def _no_empty(value: Any, where: str) -> None:
    """JSON elements are never null or empty (spec: "Null and empty JSON elements")."""
    assert value not in (None, "", [], {}), f"{where} is null or empty"
    if isinstance(value, dict):
        for name, child in value.items():
            _no_empty(child, f"{where}.{name}")
    elif isinstance(value, list):
        for index, child in enumerate(value):
            _no_empty(child, f"{where}[{index}]")


def check_card(card: dict[str, Any]) -> None:
    _no_empty(card, "card")
    uuid.UUID(card["uuid"])
    assert isinstance(card["summary"], str) and len(card["summary"]) < 140, card["summary"]
    assert card["indicator"] in INDICATORS
    source = card["source"]
    assert source["label"] and source["url"].startswith("https://")
    assert {"system", "code"} <= set(source["topic"])
    suggestions = card.get("suggestions", [])
    if suggestions:
        assert card.get("selectionBehavior") in ("at-most-one", "any"), "suggestions need selectionBehavior"
    if card.get("selectionBehavior") == "at-most-one":
        assert len(suggestions) <= 1
    assert sum(1 for s in suggestions if s.get("isRecommended")) <= 1 or card.get("selectionBehavior") == "any"
    for suggestion in suggestions:
        assert suggestion["label"]
        uuid.UUID(suggestion["uuid"])
        for action in suggestion.get("actions", []):
            assert action["type"] in ("create", "update", "delete")
            assert action["description"].strip()
            if action["type"] == "delete":
                assert "/" in action["resourceId"]
            else:
                assert action["resource"]["resourceType"]
    for reason in card.get("overrideReasons", []):
        assert reason["display"] and reason["code"] and reason["system"]
    for link in card.get("links", []):
        assert link["label"] and link["type"] in ("absolute", "smart")
        assert link["url"].startswith(("https://", "http://"))


def check_response(body: dict[str, Any]) -> None:
    assert isinstance(body["cards"], list)
    for card in body["cards"]:
        check_card(card)
