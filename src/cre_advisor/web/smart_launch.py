"""SMART App Launch of the full plan from a CDS card (`smart` link, CDS Hooks 2.0 "Link").

A card's smart link names `/smart/launch` and carries `appContext`: a JSON string
{"case": "<saved case id>"}. The EHR opens the launch URL with `iss` (its FHIR server) and
`launch`; this module then does the SMART authorization-code flow with PKCE (S256): it reads
the server's `.well-known/smart-configuration`, sends the browser to its authorization
endpoint, exchanges the code at its token endpoint, and takes `appContext` from the token
response (the EHR returns it there). The browser ends on the saved case's bedside page.

Only FHIR servers the CDS configuration lists (`smart_issuers`) are launched from, and only a
saved-case id is accepted from `appContext`, so the flow can neither be pointed at another
server nor redirect anywhere but this service's own case pages. Pending launches live in
process memory for ten minutes.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse

from cre_advisor.store.saved_cases import ID_PATTERN

router = APIRouter(tags=["smart-launch"], include_in_schema=False)
LAUNCH_PATH = "/smart/launch"
CALLBACK_PATH = "/smart/callback"
PENDING_TTL_S = 600
MAX_PENDING = 1024
_CASE_ID = re.compile(ID_PATTERN)


@dataclass(frozen=True)
class _Pending:
    iss: str
    token_endpoint: str
    verifier: str
    expires: float


class _PendingLaunches:
    """Launches waiting for their callback, by `state`; each is used once."""

    def __init__(self) -> None:
        self._items: dict[str, _Pending] = {}
        self._lock = threading.Lock()

    def add(self, pending: _Pending) -> str:
        state = secrets.token_urlsafe(24)
        now = time.monotonic()
        with self._lock:
            self._items = {k: v for k, v in self._items.items() if v.expires > now}
            if len(self._items) >= MAX_PENDING:
                raise HTTPException(503, "too many SMART launches in progress; try again shortly")
            self._items[state] = pending
        return state

    def take(self, state: str) -> _Pending | None:
        with self._lock:
            pending = self._items.pop(state, None)
        return pending if pending is not None and pending.expires > time.monotonic() else None


_pending = _PendingLaunches()


def _cds(request: Request) -> Any:
    cds = getattr(request.app.state, "cds", None)
    if cds is None or not cds.config.smart_client_id:
        raise HTTPException(404, "SMART launch is not configured (smart_client_id in the CDS configuration)")
    return cds


def _base(request: Request, cds: Any) -> str:
    return cds.config.public_base_url or str(request.base_url).rstrip("/")


async def _json(http: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
    try:
        response = await http.request(method, url, timeout=5.0, headers={"Accept": "application/json"}, **kwargs)
        response.raise_for_status()
        data = response.json()
    except (httpx.HTTPError, ValueError) as error:
        raise HTTPException(502, f"the EHR's SMART server did not answer usably ({url}): {error}") from None
    if not isinstance(data, dict):
        raise HTTPException(502, f"the EHR's SMART server sent no JSON object ({url})")
    return data


@router.get(LAUNCH_PATH)
async def launch(request: Request, iss: str, launch: str) -> RedirectResponse:
    """EHR launch: discover the server's endpoints and send the browser to authorize."""
    cds = _cds(request)
    iss = iss.rstrip("/")
    if iss not in cds.config.smart_issuers:
        raise HTTPException(403, f"SMART launch from {iss!r} is not allowed (smart_issuers)")
    found = await _json(cds.http, "GET", f"{iss}/.well-known/smart-configuration")
    authorize, token = found.get("authorization_endpoint"), found.get("token_endpoint")
    if not (isinstance(authorize, str) and isinstance(token, str) and authorize.startswith("https://")
            and token.startswith("https://")):
        raise HTTPException(502, f"{iss} gives no https authorization and token endpoints")
    verifier = secrets.token_urlsafe(48)
    state = _pending.add(_Pending(iss, token, verifier, time.monotonic() + PENDING_TTL_S))
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = urlencode({
        "response_type": "code", "client_id": cds.config.smart_client_id,
        "redirect_uri": _base(request, cds) + CALLBACK_PATH, "launch": launch, "scope": "launch openid fhirUser",
        "state": state, "aud": iss, "code_challenge": challenge, "code_challenge_method": "S256",
    })
    return RedirectResponse(f"{authorize}?{query}", status_code=302)


@router.get(CALLBACK_PATH)
async def callback(request: Request, code: str, state: str) -> RedirectResponse:
    """Exchange the code, read appContext, and open the saved case's page."""
    cds = _cds(request)
    pending = _pending.take(state)
    if pending is None:
        raise HTTPException(400, "unknown or expired SMART launch (state)")
    answer = await _json(cds.http, "POST", pending.token_endpoint, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": _base(request, cds) + CALLBACK_PATH,
        "client_id": cds.config.smart_client_id, "code_verifier": pending.verifier,
    })
    try:
        context = json.loads(answer.get("appContext") or "")
    except (TypeError, ValueError):
        context = None
    case_id = context.get("case") if isinstance(context, dict) else None
    if not isinstance(case_id, str) or not _CASE_ID.match(case_id):
        raise HTTPException(400, "the EHR's launch carried no appContext naming a saved case")
    return RedirectResponse(request.app.url_path_for("saved_case_page", case_id=case_id), status_code=303)
