"""A service an EHR can run: token before body, size and depth limits, CORS, ES256, key rotation,
and a configuration that fails at start.

The large bodies are streamed to the ASGI app chunk by chunk and the chunks it pulls are
counted: the tests show the server refuses without reading, never that it survives a big read.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cds_helpers import BASE, EHR, load, public_jwk
from cre_advisor.cds import config as config_module
from cre_advisor.cds.config import CONFIG_ENV, load_cds_config
from cre_advisor.cli import app as cli
from cre_advisor.security.client_tokens import ClientTokenVerifier, TokenRejected, TrustedClient
from cre_advisor.settings import MAX_BODY_BYTES, Settings
from cre_advisor.web.app import create_app

SIGN = "/cds-services/cre-advisor-order-sign"
VIEW = "/cds-services/cre-advisor-patient-view"
MIB = 1024 * 1024


# ---- body: authenticate first, cap the size, refuse deep nesting --------------------------------


def asgi_post(app: Any, path: str, chunks: Iterator[bytes], headers: dict[str, str]) -> tuple[int, int]:
    """POST a streamed body straight to the ASGI app: (status, chunks the app pulled)."""
    pulled = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        chunk = next(chunks, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        pulled += 1
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "https",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "server": ("cds.test", 443), "client": ("203.0.113.9", 50000),
    }
    asyncio.run(app(scope, receive, send))
    return next(m["status"] for m in sent if m["type"] == "http.response.start"), pulled


def gigabyte() -> Iterator[bytes]:
    """1 GiB of JSON-looking bytes, made one MiB at a time as the app asks for them."""
    block = b"[" * MIB
    return (block for _ in range(1024))


def test_unauthenticated_streamed_gigabyte_is_refused_before_any_of_it_is_read(app: Any) -> None:
    status, pulled = asgi_post(app, SIGN, gigabyte(), {"content-type": "application/json"})
    assert status == 401
    assert pulled == 0


def test_declared_gigabyte_is_refused_unread(app: Any, sign: Any) -> None:
    headers = {"content-type": "application/json", "content-length": str(1024 * MIB), "authorization": f"Bearer {sign(SIGN)}"}
    status, pulled = asgi_post(app, SIGN, gigabyte(), headers)
    assert (status, pulled) == (413, 0)


def test_authenticated_streamed_body_is_cut_off_at_the_cap(app: Any, sign: Any) -> None:
    status, pulled = asgi_post(app, SIGN, gigabyte(), {"content-type": "application/json",
                                                      "authorization": f"Bearer {sign(SIGN)}"})
    assert status == 413
    assert pulled <= MAX_BODY_BYTES // MIB + 1


@pytest.mark.parametrize("path", ["/v1/recommendations", "/plan", "/v1/cases"])
def test_every_route_caps_the_body(client: TestClient, path: str) -> None:
    response = client.post(path, content=b"x" * (MAX_BODY_BYTES + 1), headers={"content-type": "application/json"})
    assert response.status_code == 413


def test_streamed_body_on_rest_is_cut_off_at_the_cap(app: Any) -> None:
    status, pulled = asgi_post(app, "/v1/recommendations", gigabyte(), {"content-type": "application/json"})
    assert status == 413
    assert pulled <= MAX_BODY_BYTES // MIB + 1


def test_streamed_form_on_a_page_is_refused_without_reading_it_all(app: Any) -> None:
    """The form parser stops at its own field limits (400) or the cap stops it (413): never 1 GiB."""
    fields = (b"a=1&" * (MIB // 4) for _ in range(1024))
    status, pulled = asgi_post(app, "/plan", fields, {"content-type": "application/x-www-form-urlencoded"})
    assert status in (400, 413)
    assert pulled <= MAX_BODY_BYTES // MIB + 1


def test_deep_array_without_a_token_is_401_not_a_parse_error(client: TestClient) -> None:
    response = client.post(SIGN, content=b"[" * 200_000, headers={"content-type": "application/json"})
    assert response.status_code == 401


def test_deep_array_with_a_token_is_400(client: TestClient, sign: Any) -> None:
    response = client.post(SIGN, content=b"[" * 200_000 + b"]" * 200_000,
                           headers={"content-type": "application/json", "authorization": f"Bearer {sign(SIGN)}"})
    assert response.status_code == 400 and "nest" in response.json()["detail"]


def test_150_nested_fhir_extensions_are_400(client: TestClient, sign: Any) -> None:
    extension: dict[str, Any] = {"url": "http://example.org/leaf", "valueString": "x"}
    for level in range(150):
        extension = {"url": f"http://example.org/level-{level}", "extension": [extension]}
    body = load("patient-view-kpc-bacteraemia")
    body["prefetch"]["patient"]["extension"] = [extension]
    response = client.post(VIEW, json=body, headers={"authorization": f"Bearer {sign(VIEW)}"})
    assert response.status_code == 400, response.text


# ---- CORS ----------------------------------------------------------------------------------------


@pytest.fixture
def cors_allowed(app: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    origin = "https://sandbox.cds-hooks.org"
    runtime = app.state.cds
    monkeypatch.setattr(runtime, "config", runtime.config.model_copy(update={"cors_origins": (origin,)}))
    return origin


def test_cors_preflight_from_an_allowed_origin(client: TestClient, cors_allowed: str) -> None:
    response = client.options(SIGN, headers={"Origin": cors_allowed, "Access-Control-Request-Method": "POST",
                                             "Access-Control-Request-Headers": "authorization, content-type"})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == cors_allowed
    assert "POST" in response.headers["access-control-allow-methods"]
    assert {"authorization", "content-type"} <= {h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")}


def test_cors_preflight_from_another_origin_is_refused(client: TestClient, cors_allowed: str) -> None:
    response = client.options(SIGN, headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert response.status_code == 403 and "access-control-allow-origin" not in response.headers


def test_cors_header_on_a_signed_call_from_an_allowed_origin(client: TestClient, sign: Any, cors_allowed: str) -> None:
    response = client.get("/cds-services", headers={"Origin": cors_allowed, "Authorization": f"Bearer {sign('/cds-services')}"})
    assert response.status_code == 200 and response.headers["access-control-allow-origin"] == cors_allowed
    other = client.get("/cds-services", headers={"Origin": "https://evil.example", "Authorization": f"Bearer {sign('/cds-services')}"})
    assert "access-control-allow-origin" not in other.headers


# ---- tokens: ES256 and rotated keys --------------------------------------------------------------


def token(key: Any, kid: str, alg: str) -> str:
    now = int(time.time())
    claims = {"iss": EHR, "aud": BASE + SIGN, "iat": now, "exp": now + 300, "jti": str(uuid.uuid4())}
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid, "typ": "JWT"})


def es256_jwk(key: Any, kid: str) -> dict[str, Any]:
    jwk = public_jwk(key, kid, "ES384")
    return {**jwk, "alg": "ES256"}


def test_es256_token_from_the_sandbox_is_accepted() -> None:
    p256 = ec.generate_private_key(ec.SECP256R1())
    verifier = ClientTokenVerifier((TrustedClient(iss=EHR, jwks={"keys": [es256_jwk(p256, "sandbox")]}),), httpx.AsyncClient())
    verified = asyncio.run(verifier.verify(token(p256, "sandbox", "ES256"), BASE + SIGN))
    assert verified.iss == EHR and verified.kid == "sandbox"


def test_es256_header_with_a_p384_key_is_refused() -> None:
    """ES256 names curve P-256: a P-384 key published for it is refused, whatever it signed."""
    p384 = ec.generate_private_key(ec.SECP384R1())
    jwk = {**public_jwk(p384, "wrong-curve", "ES384"), "alg": "ES256"}
    verifier = ClientTokenVerifier((TrustedClient(iss=EHR, jwks={"keys": [jwk]}),), httpx.AsyncClient())
    good = token(p384, "wrong-curve", "ES384")
    header = base64.urlsafe_b64encode(json.dumps({"alg": "ES256", "typ": "JWT", "kid": "wrong-curve"}).encode())
    signed = header.rstrip(b"=").decode() + good[good.index("."):]  # header says ES256, key is P-384
    with pytest.raises(TokenRejected, match="not a EC key for ES256"):
        asyncio.run(verifier.verify(signed, BASE + SIGN))


class RotatingKeys:
    """A client's JWK Set URL whose keys can be replaced, counting the fetches."""

    url = "https://ehr-rotating.test/jwks.json"

    def __init__(self, keys: list[dict[str, Any]]) -> None:
        self.keys = keys
        self.fetches = 0

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.fetches += 1
        return httpx.Response(200, json={"keys": self.keys})


def rotating_verifier(served: RotatingKeys, refetch_s: float) -> ClientTokenVerifier:
    client = TrustedClient(iss=EHR, jku=(served.url,))
    return ClientTokenVerifier((client,), httpx.AsyncClient(transport=httpx.MockTransport(served.handler)),
                               jwks_refetch_s=refetch_s)


def test_rotated_key_works_at_once_without_waiting_for_the_cache() -> None:
    old, new = ec.generate_private_key(ec.SECP384R1()), ec.generate_private_key(ec.SECP384R1())
    served = RotatingKeys([public_jwk(old, "2026-old", "ES384")])
    verifier = rotating_verifier(served, refetch_s=0.0)

    async def run() -> None:
        await verifier.verify(token(old, "2026-old", "ES384"), BASE + SIGN)
        served.keys = [public_jwk(new, "2026-new", "ES384")]  # the client rotates its key
        verified = await verifier.verify(token(new, "2026-new", "ES384"), BASE + SIGN)
        assert verified.kid == "2026-new"

    asyncio.run(run())
    assert served.fetches == 2


def test_unknown_kids_refetch_at_most_once_per_interval() -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    served = RotatingKeys([public_jwk(key, "known", "ES384")])
    verifier = rotating_verifier(served, refetch_s=3600.0)

    async def run() -> None:
        await verifier.verify(token(key, "known", "ES384"), BASE + SIGN)
        for n in range(5):
            with pytest.raises(TokenRejected):
                await verifier.verify(token(key, f"made-up-{n}", "ES384"), BASE + SIGN)

    asyncio.run(run())
    assert served.fetches == 1


# ---- configuration that fails at start -------------------------------------------------------------


def test_config_typo_names_the_key(tmp_path: Path) -> None:
    path = tmp_path / "cds.yaml"
    path.write_text("public_base_url: https://cds.example\nconcordant_card: true\n", encoding="utf-8")
    with pytest.raises(ValueError, match="concordant_card"):
        load_cds_config(path)


def test_broken_config_stops_serve_before_it_listens(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "cds.yaml"
    path.write_text("clients:\n  - iss: https://ehr.example\n    jwk_url: https://ehr.example/jwks\n", encoding="utf-8")
    monkeypatch.setenv(CONFIG_ENV, str(path))
    with pytest.raises(ValueError, match="jwk_url"):
        create_app(Settings.resolve(data_dir=tmp_path / "data"))
    result = CliRunner().invoke(cli, ["serve", "--data-dir", str(tmp_path / "data"), "--port", "1"])
    assert result.exit_code == 2
    assert "jwk_url" in result.output and "cannot start" in result.output


def test_config_not_a_mapping_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cds.yaml"
    path.write_text(json.dumps(["clients"]), encoding="utf-8")
    with pytest.raises(ValueError, match="mapping"):
        load_cds_config(path)


def test_without_a_config_discovery_is_refused_as_the_docstring_says(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    application = create_app(Settings.resolve(data_dir=tmp_path / "data"))
    with TestClient(application, base_url=BASE) as bare:
        assert bare.get("/cds-services").status_code == 401
    assert "discovery included, is refused with 401" in " ".join((config_module.__doc__ or "").split())
