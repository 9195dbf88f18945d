"""CDS Hooks 2.0 HTTP endpoints: discovery, the three services, and feedback.

Every call must carry `Authorization: Bearer <JWT>` signed by a configured EHR client (see
`cre_advisor.security.client_tokens`); unsigned calls pass only in development mode on
loopback. The token is checked before the body is read (the handlers read it themselves, after
the `authorize` dependency), and the app caps every body's size, so an unauthenticated caller
cannot make the server hold a large body. The handlers translate HTTP to
`cre_advisor.cds.advice` and back: 400 for a body that is not JSON, nests deeper than any FHIR
resource does, or is invalid FHIR or context; 412 when required data can be neither prefetched
nor fetched. Browser clients get CORS headers for the origins the configuration allows.
"""

from __future__ import annotations

import ipaddress
import json
import threading
from contextlib import nullcontext
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

import anyio
import anyio.to_thread
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator
from starlette.concurrency import run_in_threadpool

from cre_advisor.case import Case
from cre_advisor.cds.advice import advise
from cre_advisor.cds.prefetch import PrefetchFailed, gather_prefetch
from cre_advisor.cds.runtime import CdsRuntime
from cre_advisor.cds.services import SERVICES, Service, prefetch_templates
from cre_advisor.fhir.reader import FhirInputError
from cre_advisor.knowledge.loader import default_knowledge
from cre_advisor.security.client_tokens import TokenRejected, VerifiedClient
from cre_advisor.store.cds_feedback import Feedback, FeedbackRejected, record_cards, record_feedback
from cre_advisor.store.saved_cases import save_case
from cre_advisor.web import services, smart_launch

router = APIRouter(tags=["cds-hooks"])
# SQLite has one writer: hook calls queue for it here rather than in SQLite's busy handler, which
# polls with sleeps of up to 100 ms and gave the hook its 1 s tail under concurrent load.
_SQLITE_WRITES = threading.Lock()
# The hook's work is CPU-bound Python under the GIL: more threads than this only share the core,
# so every call finishes late. Two lets one thread wait on the database while the other computes.
_HOOK_THREADS = 2
_limiter: anyio.CapacityLimiter | None = None


def _hook_limiter() -> anyio.CapacityLimiter:
    """The hook calls' own thread limit (made on first use: a limiter belongs to the running loop)."""
    global _limiter
    if _limiter is None:
        _limiter = anyio.CapacityLimiter(_HOOK_THREADS)
    return _limiter


def runtime(request: Request) -> CdsRuntime:
    """The app's CDS runtime (built by `install` when the app is made)."""
    return _app_runtime(request.app)


def _app_runtime(app: Any) -> CdsRuntime:
    found = getattr(app.state, "cds", None)
    if found is None:
        found = app.state.cds = CdsRuntime.from_environment()
    return found


def install(app: FastAPI) -> None:
    """Load the CDS configuration now, so a broken file stops the server before it listens
    (ValueError naming the file and key), and answer browsers' CORS requests."""
    _app_runtime(app)
    app.include_router(smart_launch.router)
    app.add_middleware(CdsCors)


# ---- CORS ------------------------------------------------------------------------------------

CORS_METHODS = "GET, POST, OPTIONS"
CORS_HEADERS = "Authorization, Content-Type"
CORS_EXPOSE = "Origin, Accept, Content-Location, Location, X-Requested-With"
CORS_MAX_AGE = "600"


class CdsCors:
    """CORS for /cds-services only, for the origins `cors_origins` allows (none by default).

    A preflight (OPTIONS with Access-Control-Request-Method) is answered here, before routing
    and authentication, since browsers send it without the Authorization header; other calls
    from an allowed origin get the Access-Control-Allow-Origin header on their answer. An
    origin not allowed gets no CORS header, and its preflight a 403.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/cds-services"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        origin = headers.get(b"origin", b"").decode("latin-1")
        if not origin:
            await self.app(scope, receive, send)
            return
        origins = _app_runtime(scope["app"]).config.cors_origins
        allowed = "*" if "*" in origins else origin if origin in origins else None
        if scope["method"] == "OPTIONS" and b"access-control-request-method" in headers:
            cors = {"Access-Control-Allow-Methods": CORS_METHODS, "Access-Control-Allow-Headers": CORS_HEADERS,
                    "Access-Control-Max-Age": CORS_MAX_AGE, "Vary": "Origin"}
            if allowed is not None:
                cors["Access-Control-Allow-Origin"] = allowed
            response = JSONResponse({} if allowed else {"detail": f"origin {origin} is not allowed"},
                                    status_code=200 if allowed else 403, headers=cors)
            await response(scope, receive, send)
            return

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start" and allowed is not None:
                response_headers = MutableHeaders(scope=message)
                response_headers["Access-Control-Allow-Origin"] = allowed
                response_headers["Access-Control-Expose-Headers"] = CORS_EXPOSE
                response_headers.add_vary_header("Origin")
            await send(message)

        await self.app(scope, receive, with_cors)


Runtime = Annotated[CdsRuntime, Depends(runtime)]


def _loopback(host: str | None) -> bool:
    if host in ("localhost",):
        return True
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def development_call(request: Request, cds: CdsRuntime) -> bool:
    """Development mode applies only to a loopback client talking to a loopback server address."""
    server = request.scope.get("server") or (None, None)
    client = request.client.host if request.client else None
    return cds.config.development_unsigned and _loopback(server[0]) and _loopback(client)


def called_url(request: Request, cds: CdsRuntime) -> str:
    """The exact URL the client called: what its JWT's aud must say."""
    if cds.config.public_base_url:
        return cds.config.public_base_url + request.url.path
    return str(request.url.replace(query=None, fragment=None))


def base_url(request: Request, cds: CdsRuntime) -> str:
    return cds.config.public_base_url or str(request.base_url).rstrip("/")


async def authorize(request: Request, cds: Runtime) -> VerifiedClient | None:
    """The verified client, or None for an unsigned development call; 401/403 otherwise."""
    header = request.headers.get("authorization")
    if header is None:
        if development_call(request, cds):
            return None
        raise HTTPException(401, "Authorization: Bearer <JWT> is required", headers={"WWW-Authenticate": "Bearer"})
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(401, "Authorization must be 'Bearer <JWT>'", headers={"WWW-Authenticate": "Bearer"})
    try:
        return await cds.verifier.verify(token.strip(), called_url(request, cds))
    except TokenRejected as rejected:
        headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'} if rejected.status == 401 else None
        raise HTTPException(rejected.status, rejected.reason, headers=headers) from rejected


Client = Annotated[VerifiedClient | None, Depends(authorize)]


MAX_JSON_DEPTH = 64  # deeper than any FHIR resource an EHR sends; deeper nesting is an attack or a bug


def _depth_exceeds(value: Any, limit: int) -> bool:
    """True when arrays and objects nest deeper than `limit` (walked without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object, read only now (after authentication); 400 when unusable."""
    raw = await request.body()
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as error:
        reason = "nests too deeply" if isinstance(error, RecursionError) else f"is not JSON ({error})"
        raise HTTPException(400, f"the request body {reason}") from None
    if not isinstance(data, dict):
        raise HTTPException(400, "the request body must be a JSON object")
    if _depth_exceeds(data, MAX_JSON_DEPTH):
        raise HTTPException(400, f"the request body nests deeper than {MAX_JSON_DEPTH} levels")
    return data


_BODY_DOC = {"requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}}


def _bad_request(error: ValidationError) -> HTTPException:
    first = error.errors()[0]
    return HTTPException(400, f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}")


def _service(service_id: str) -> Service:
    service = SERVICES.get(service_id)
    if service is None:
        raise HTTPException(404, f"no CDS service '{service_id}'; services: {', '.join(SERVICES)}")
    return service


# ---- request models ------------------------------------------------------------------------


class FhirAuthorization(BaseModel):
    model_config = ConfigDict(extra="allow")

    access_token: str = Field(min_length=1)
    token_type: str
    expires_in: int
    scope: str
    subject: str

    @model_validator(mode="after")
    def _bearer(self) -> FhirAuthorization:
        if self.token_type.lower() != "bearer":
            raise ValueError("fhirAuthorization.token_type must be 'Bearer'")
        return self


class HookRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    hook: str
    hookInstance: str = Field(min_length=1)
    fhirServer: str | None = None
    fhirAuthorization: FhirAuthorization | None = None
    context: dict[str, Any]
    prefetch: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _server_with_token(self) -> HookRequest:
        if self.fhirAuthorization is not None and not self.fhirServer:
            raise ValueError("fhirServer is required when fhirAuthorization is given")
        return self


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _text(max_length: int, min_length: int = 0) -> Any:
    """A string field that fits its database column and holds no NUL (PostgreSQL refuses both)."""
    return Annotated[str, Field(min_length=min_length, max_length=max_length), AfterValidator(_no_nul)]


class Coding(BaseModel):
    model_config = ConfigDict(extra="allow")

    system: _text(256) | None = None
    code: _text(128) | None = None
    display: _text(256) | None = None


class OverrideReason(BaseModel):
    model_config = ConfigDict(extra="allow")

    reason: Coding | None = None
    userComment: _text(4000) | None = None


class AcceptedSuggestion(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: _text(64, min_length=1)


class FeedbackItem(BaseModel):
    model_config = ConfigDict(extra="allow")

    card: _text(64, min_length=1)
    outcome: Literal["accepted", "overridden"]
    acceptedSuggestions: list[AcceptedSuggestion] | None = Field(default=None, max_length=20)
    overrideReason: OverrideReason | None = None
    outcomeTimestamp: datetime

    @model_validator(mode="after")
    def _accepted_names_suggestions(self) -> FeedbackItem:
        if self.outcome == "accepted" and not self.acceptedSuggestions:
            raise ValueError("acceptedSuggestions is required when outcome is 'accepted'")
        return self


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    feedback: list[FeedbackItem] = Field(min_length=1, max_length=100)


# ---- endpoints -----------------------------------------------------------------------------


@router.get("/cds-services", summary="CDS Hooks discovery")
async def discovery(_client: Client) -> dict[str, Any]:
    return {"services": [service.discovery() for service in SERVICES.values()]}


def _check_context(service: Service, hook: HookRequest, development: bool) -> None:
    if hook.hook != service.hook:
        raise HTTPException(400, f"hook '{hook.hook}' sent to service '{service.id}', which answers '{service.hook}'")
    for name in service.context_fields:
        if hook.context.get(name) in (None, "", [], {}):
            raise HTTPException(400, f"context.{name} is required for {service.hook}")
    if not isinstance(hook.context["patientId"], str):
        raise HTTPException(400, "context.patientId must be a string")
    selections = hook.context.get("selections")
    if "selections" in service.context_fields and not (
        isinstance(selections, list) and all(isinstance(s, str) for s in selections)
    ):
        raise HTTPException(400, "context.selections must be a list of references such as 'MedicationRequest/123'")
    if hook.fhirServer and not hook.fhirServer.startswith("https://") and not development:
        raise HTTPException(400, "fhirServer must be an https URL")


@router.post("/cds-services/{service_id}", summary="Call a CDS service", openapi_extra=_BODY_DOC,
             responses={412: {"description": "Required data unavailable"}, 413: {"description": "Body too large"}})
async def call_service(service_id: str, request: Request, cds: Runtime, client: Client) -> JSONResponse:
    service = _service(service_id)
    body = await json_body(request)
    try:
        hook = HookRequest.model_validate(body)
    except ValidationError as error:
        raise _bad_request(error) from None
    _check_context(service, hook, development_call(request, cds))
    try:
        prefetch, unavailable = await gather_prefetch(
            prefetch_templates(), service.required, body, cds.http, cds.config.fhir_timeout_s
        )
    except PrefetchFailed as failed:
        raise HTTPException(412, str(failed)) from failed
    database = request.app.state.database
    base = base_url(request, cds)

    def answer() -> list[dict[str, Any]]:
        # One write transaction per call: the saved case (its row id is made before the insert, so
        # the link is known at once) and the card rows commit together, before the cards are sent.
        with database.sessions() as session:

            def plan_link(case: Case) -> str:
                saved = save_case(session, case, default_knowledge().version)
                return base + request.app.url_path_for("saved_case_page", case_id=saved.id)

            produced = advise(
                service, hook.context, prefetch, cds.codes, base_url=base, today=date.today(), plan_link=plan_link,
                smart_launch_url=base + smart_launch.LAUNCH_PATH if cds.config.smart_client_id else None,
                recommend=lambda case: services.recommend(case, request.app), unavailable=tuple(unavailable),
                concordant_cards=cds.config.concordant_cards,
            )
            if produced:
                record_cards(session, service.id, hook.hookInstance, produced, client.iss if client else None)
                sqlite = database.engine.dialect.name == "sqlite"
                with _SQLITE_WRITES if sqlite else nullcontext():
                    session.commit()
        return produced

    try:
        produced = await anyio.to_thread.run_sync(answer, limiter=_hook_limiter())
    except FhirInputError as error:
        raise HTTPException(400, f"invalid FHIR: {error}") from None
    except RecursionError:
        raise HTTPException(400, "invalid FHIR: a resource nests too deeply to read") from None
    return JSONResponse({"cards": produced})  # plain JSON already: skip FastAPI's re-encoding


@router.post("/cds-services/{service_id}/feedback", summary="Feedback on cards", openapi_extra=_BODY_DOC)
async def feedback(service_id: str, request: Request, client: Client) -> dict[str, Any]:
    service = _service(service_id)
    body = await json_body(request)
    try:
        parsed = FeedbackRequest.model_validate(body)
    except ValidationError as error:
        raise _bad_request(error) from None
    items = []
    for item in parsed.feedback:
        reason = item.overrideReason.reason if item.overrideReason else None
        code = reason.code if reason else None
        items.append(Feedback(
            card=item.card, outcome=item.outcome,
            accepted_suggestions=tuple(s.id for s in item.acceptedSuggestions or ()),
            override_system=reason.system if reason else None, override_code=code,
            override_display=reason.display if reason else None,
            user_comment=item.overrideReason.userComment if item.overrideReason else None,
            outcome_timestamp=item.outcomeTimestamp if item.outcomeTimestamp.tzinfo else item.outcomeTimestamp.replace(tzinfo=UTC),
        ))

    def store() -> dict[str, int]:
        with request.app.state.database.session() as session:
            result = record_feedback(session, service.id, items, client.iss if client else None)
        return {"received": result.received, "duplicates": result.duplicates}

    try:
        return await run_in_threadpool(store)
    except FeedbackRejected as rejected:
        raise HTTPException(rejected.status, str(rejected)) from None
