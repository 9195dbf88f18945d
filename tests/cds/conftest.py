"""Shared pieces for the CDS Hooks tests: EHR signing keys, a configured app, signed calls.

Two trusted EHRs: `https://ehr.test` with its JWK Set inline (an EC P-384 and an RSA key),
and `https://ehr2.test` whose JWK Set is fetched from an allow-listed jku. The EHR's FHIR
server and JWK Set URL are served by an httpx MockTransport; nothing leaves the process.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi.testclient import TestClient

from cre_advisor.cds.runtime import CdsRuntime
from cre_advisor.settings import Settings
from cre_advisor.web.app import create_app

from cds_helpers import BASE, EHR, EHR2_JKU, FHIR, check_response, make_config, public_jwk


@pytest.fixture(scope="session")
def keys() -> dict[str, Any]:
    return {
        "ec": ec.generate_private_key(ec.SECP384R1()),
        "rsa": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "ec2": ec.generate_private_key(ec.SECP384R1()),
    }


@pytest.fixture(scope="session")
def jwks(keys: dict[str, Any]) -> dict[str, Any]:
    return {"keys": [public_jwk(keys["ec"], "ec-1", "ES384"), public_jwk(keys["rsa"], "rsa-1", "RS384")]}


class FakeEhr:
    """The EHR's FHIR server and key URL: answers from a dict and records what was asked."""

    def __init__(self, jwks2: dict[str, Any]) -> None:
        self.jwks2 = jwks2
        self.resources: dict[str, Any] = {}
        self.requests: list[httpx.Request] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        url = str(request.url)
        if url == EHR2_JKU:
            return httpx.Response(200, json=self.jwks2)
        if url.startswith(FHIR):
            if request.headers.get("authorization") != "Bearer fhir-token":
                return httpx.Response(401)
            path = url[len(FHIR) + 1:].split("?")[0]
            found = self.resources.get(path)
            return httpx.Response(200, json=found) if found is not None else httpx.Response(404)
        return httpx.Response(404)


@pytest.fixture(scope="session")
def fake_ehr(keys: dict[str, Any]) -> FakeEhr:
    return FakeEhr({"keys": [public_jwk(keys["ec2"], "ec2-1", "ES384")]})


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory, jwks: dict[str, Any], fake_ehr: FakeEhr) -> Any:
    data = tmp_path_factory.mktemp("cds-data")
    application = create_app(Settings.resolve(data_dir=data))
    application.state.cds = CdsRuntime.build(make_config(jwks), transport=httpx.MockTransport(fake_ehr.handler))
    return application


@pytest.fixture(scope="session")
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app, base_url=BASE) as test_client:
        yield test_client


Signer = Callable[..., str]


@pytest.fixture(scope="session")
def sign(keys: dict[str, Any]) -> Signer:
    """A token for `path` as the EHR would sign it; keyword arguments override claims and header."""

    def signer(path: str, *, alg: str = "ES384", key: Any = None, header: dict[str, Any] | None = None, **claims: Any) -> str:
        now = int(time.time())
        payload = {"iss": EHR, "aud": BASE + path, "iat": now, "exp": now + 300, "jti": str(uuid.uuid4()), **claims}
        payload = {k: v for k, v in payload.items() if v is not None}
        kid = {"ES384": "ec-1", "RS384": "rsa-1"}.get(alg, "ec-1")
        headers = {"kid": kid, "typ": "JWT", **(header or {})}
        signing_key = key if key is not None else keys["rsa"] if alg == "RS384" else keys["ec"]
        return jwt.encode(payload, signing_key, algorithm=alg, headers=headers)

    return signer


@pytest.fixture(scope="session")
def call(client: TestClient, sign: Signer) -> Callable[..., httpx.Response]:
    """POST (or GET without a body) a signed call to `path`."""

    def caller(path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {sign(path)}"}
        if body is None:
            return client.get(path, headers=headers)
        response = client.post(path, json=body, headers=headers)
        if response.status_code == 200 and "cards" in response.json():
            check_response(response.json())
        return response

    return caller
