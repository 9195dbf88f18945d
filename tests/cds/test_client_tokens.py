"""The JWT matrix: which EHR tokens open the CDS services, and which are refused (401/403)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient

from cds_helpers import BASE, EHR2, EHR2_JKU

DISCOVERY = "/cds-services"


def get(client: TestClient, token: str | None, path: str = DISCOVERY) -> int:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    return client.get(path, headers=headers).status_code


def unsigned(payload: dict[str, Any], header: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part(header)}.{part(payload)}."


@pytest.mark.parametrize("alg", ["ES384", "RS384"])
def test_valid_tokens_are_accepted(client: TestClient, sign: Any, alg: str) -> None:
    assert get(client, sign(DISCOVERY, alg=alg)) == 200


def test_token_from_an_allowlisted_jku_is_accepted(client: TestClient, sign: Any, keys: dict[str, Any]) -> None:
    token = sign(DISCOVERY, key=keys["ec2"], iss=EHR2, header={"kid": "ec2-1", "jku": EHR2_JKU})
    assert get(client, token) == 200


def test_service_call_needs_the_service_url_as_audience(client: TestClient, sign: Any) -> None:
    path = "/cds-services/cre-advisor-patient-view"
    body = {"hook": "patient-view", "hookInstance": "x", "context": {"patientId": "p"}, "prefetch": {"patient": None, "microbiology": None}}
    wrong = client.post(path, json=body, headers={"Authorization": f"Bearer {sign(DISCOVERY)}"})
    assert wrong.status_code == 401
    right = client.post(path, json=body, headers={"Authorization": f"Bearer {sign(path)}"})
    assert right.status_code == 200


def test_no_token_is_refused(client: TestClient) -> None:
    response = client.get(DISCOVERY)
    assert response.status_code == 401 and response.headers["www-authenticate"].startswith("Bearer")


def test_alg_none_is_refused(client: TestClient) -> None:
    now = int(time.time())
    token = unsigned({"iss": "https://ehr.test", "aud": BASE + DISCOVERY, "iat": now, "exp": now + 60, "jti": "n1"},
                     {"alg": "none", "typ": "JWT", "kid": "ec-1"})
    assert get(client, token) == 401


def test_hmac_is_refused_even_with_the_public_key_as_secret(client: TestClient, keys: dict[str, Any]) -> None:
    now = int(time.time())
    # the classic key-confusion attempt: HS256 with the EHR's public key as the shared secret
    secret = keys["ec"].public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    signing_input = unsigned(
        {"iss": "https://ehr.test", "aud": BASE + DISCOVERY, "iat": now, "exp": now + 60, "jti": "h1"},
        {"alg": "HS256", "typ": "JWT", "kid": "ec-1"},
    ).rstrip(".")
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    token = f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"
    assert get(client, token) == 401


def test_wrong_audience_is_refused(client: TestClient, sign: Any) -> None:
    assert get(client, sign(DISCOVERY, aud="https://elsewhere.test/cds-services")) == 401


def test_expired_token_is_refused(client: TestClient, sign: Any) -> None:
    past = int(time.time()) - 3600
    assert get(client, sign(DISCOVERY, iat=past, exp=past + 300)) == 401


def test_token_issued_in_the_future_is_refused(client: TestClient, sign: Any) -> None:
    future = int(time.time()) + 3600
    assert get(client, sign(DISCOVERY, iat=future, exp=future + 300)) == 401


def test_unknown_issuer_is_refused(client: TestClient, sign: Any) -> None:
    assert get(client, sign(DISCOVERY, iss="https://rogue.test")) == 403


def test_untrusted_jku_is_refused(client: TestClient, sign: Any, keys: dict[str, Any]) -> None:
    token = sign(DISCOVERY, key=keys["ec2"], iss=EHR2, header={"kid": "ec2-1", "jku": "https://rogue.test/jwks.json"})
    assert get(client, token) == 403


def test_replayed_jti_is_refused(client: TestClient, sign: Any) -> None:
    token = sign(DISCOVERY, jti="once-only")
    assert get(client, token) == 200
    assert get(client, token) == 401


def test_signature_by_another_key_is_refused(client: TestClient, sign: Any) -> None:
    stranger = ec.generate_private_key(ec.SECP384R1())
    assert get(client, sign(DISCOVERY, key=stranger)) == 401


@pytest.mark.parametrize("header", [{"typ": "at+jwt"}, {"kid": "unknown-kid"}])
def test_wrong_typ_or_unknown_kid_is_refused(client: TestClient, sign: Any, header: dict[str, Any]) -> None:
    assert get(client, sign(DISCOVERY, header=header)) == 401


@pytest.mark.parametrize("claim", ["jti", "exp", "iat"])
def test_missing_required_claim_is_refused(client: TestClient, sign: Any, claim: str) -> None:
    assert get(client, sign(DISCOVERY, **{claim: None})) == 401


def test_overlong_lifetime_is_refused(client: TestClient, sign: Any) -> None:
    now = int(time.time())
    assert get(client, sign(DISCOVERY, iat=now, exp=now + 7 * 24 * 3600)) == 401
