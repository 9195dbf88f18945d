"""The full plan inside the EHR: a SMART launch link on the card, and the launch flow it starts."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from cds_helpers import BASE, load

VIEW = "/cds-services/cre-advisor-patient-view"
ISS = "https://fhir.hospital.test/r4"
AUTHORIZE = "https://auth.hospital.test/authorize"
TOKEN = "https://auth.hospital.test/token"


class SmartServer:
    """The EHR's SMART configuration and token endpoint; the token answer carries `app_context`."""

    def __init__(self) -> None:
        self.app_context: str | None = None
        self.token_requests: list[dict[str, list[str]]] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        if str(request.url) == f"{ISS}/.well-known/smart-configuration":
            return httpx.Response(200, json={"authorization_endpoint": AUTHORIZE, "token_endpoint": TOKEN})
        if str(request.url) == TOKEN:
            self.token_requests.append(parse_qs(request.content.decode()))
            return httpx.Response(200, json={"access_token": "t", "token_type": "Bearer", "appContext": self.app_context})
        return httpx.Response(404)


@pytest.fixture
def smart(app: Any, monkeypatch: pytest.MonkeyPatch) -> SmartServer:
    server = SmartServer()
    runtime = app.state.cds
    monkeypatch.setattr(runtime, "config", runtime.config.model_copy(
        update={"smart_client_id": "cre-advisor", "smart_issuers": (ISS,)}))
    monkeypatch.setattr(runtime, "http", httpx.AsyncClient(transport=httpx.MockTransport(server.handler)))
    return server


def test_plan_card_has_a_smart_link_beside_the_absolute_one(call: Any, smart: SmartServer) -> None:
    [card] = call(VIEW, load("patient-view-kpc-bacteraemia")).json()["cards"]
    absolute, launch = card["links"]
    assert absolute["type"] == "absolute" and launch["type"] == "smart"
    assert launch["url"] == f"{BASE}/smart/launch"
    assert json.loads(launch["appContext"]) == {"case": absolute["url"].rsplit("/", 1)[1]}


def test_without_smart_configuration_only_the_absolute_link(call: Any) -> None:
    [card] = call(VIEW, load("patient-view-kpc-bacteraemia")).json()["cards"]
    assert [link["type"] for link in card["links"]] == ["absolute"]


def test_launch_ends_on_the_saved_case(call: Any, client: TestClient, smart: SmartServer) -> None:
    [card] = call(VIEW, load("patient-view-kpc-bacteraemia")).json()["cards"]
    absolute, launch = card["links"]
    smart.app_context = launch["appContext"]

    started = client.get("/smart/launch", params={"iss": ISS, "launch": "xyz"}, follow_redirects=False)
    assert started.status_code == 302
    target = urlsplit(started.headers["location"])
    asked = parse_qs(target.query)
    assert f"{target.scheme}://{target.netloc}{target.path}" == AUTHORIZE
    assert asked["launch"] == ["xyz"] and asked["aud"] == [ISS] and asked["code_challenge_method"] == ["S256"]

    done = client.get("/smart/callback", params={"code": "c1", "state": asked["state"][0]}, follow_redirects=False)
    assert done.status_code == 303 and BASE + done.headers["location"] == absolute["url"]
    [exchange] = smart.token_requests
    verifier = exchange["code_verifier"][0]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert asked["code_challenge"] == [challenge]
    again = client.get("/smart/callback", params={"code": "c1", "state": asked["state"][0]}, follow_redirects=False)
    assert again.status_code == 400  # a state works once


def test_launch_from_an_unlisted_server_is_refused(client: TestClient, smart: SmartServer) -> None:
    response = client.get("/smart/launch", params={"iss": "https://evil.example/fhir", "launch": "x"}, follow_redirects=False)
    assert response.status_code == 403


@pytest.mark.parametrize("context", [None, "not json", json.dumps({"case": "https://evil.example/"})])
def test_callback_without_a_saved_case_in_app_context_is_400(client: TestClient, smart: SmartServer, context: Any) -> None:
    smart.app_context = context
    started = client.get("/smart/launch", params={"iss": ISS, "launch": "x"}, follow_redirects=False)
    state = parse_qs(urlsplit(started.headers["location"]).query)["state"][0]
    assert client.get("/smart/callback", params={"code": "c", "state": state}, follow_redirects=False).status_code == 400
