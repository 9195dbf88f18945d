"""The review doors: pages for the advisory board (session cookie + CSRF) and a JSON API (tokens).

Pages: sign-in, the review queue, an item page with history and the diff since approval,
approve / request-changes / resubmit forms, the audit export and the editorial policy.
The API offers the same reading and actions to scripts with `Authorization: Bearer <token>`;
it never accepts the cookie, so cross-site requests cannot use a reviewer's browser session.
The review store is opened on first use from `app.state.database` and synchronised with the
knowledge base the process loaded. No workflow rule lives here; `store` and `workflow` decide.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path as FilePath
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Form, Header, HTTPException, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict, Field

from cre_advisor.knowledge.loader import default_knowledge
from cre_advisor.review.accounts import SESSION_LIFETIME, Accounts, Actor
from cre_advisor.review.content import ContentItem, content_items
from cre_advisor.review.diff import FieldChange
from cre_advisor.review.display import QueueFilter, field_label, parse_items, readable_fields, word_diff
from cre_advisor.review.store import ItemView, ReviewStore, UnknownItem
from cre_advisor.review.workflow import (
    REVIEWERS,
    TRANSITIONS,
    Action,
    CommentRequired,
    NotPermitted,
    Refused,
    Role,
    Status,
    parse_action,
)

SESSION_COOKIE = "cre_review_session"
LOGIN_CSRF_COOKIE = "cre_review_login_csrf"
PAGES = "/review"
templates = Jinja2Templates(directory=FilePath(__file__).parent / "templates")
templates.env.globals["STATUS_LABELS"] = {
    Status.submitted: "Submitted", Status.under_review: "Under review",
    Status.changes_requested: "Changes requested", Status.approved: "Approved",
}
templates.env.globals["word_diff"] = word_diff
templates.env.filters["field_label"] = field_label
templates.env.globals["ACTION_LABELS"] = {
    Action.start_review: "Start review", Action.approve: "Approve this version",
    Action.request_changes: "Request changes", Action.resubmit: "Resubmit",
}
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "Referrer-Policy": "same-origin",
}

# Text PostgreSQL can store: no NUL characters (a 422 instead of a database error).
NO_NUL = r"^[^\x00]*$"
ItemId = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]+$")]

TOKEN_REFUSED = {401: {"description": "No API token, or an unknown, revoked or disabled one"}}
api = APIRouter(prefix="/v1/review", tags=["review"], responses=TOKEN_REFUSED)
pages = APIRouter(prefix=PAGES, include_in_schema=False)


# ---- the store, opened once per application --------------------------------------------------
@dataclass(frozen=True)
class Review:
    store: ReviewStore
    accounts: Accounts
    items: dict[str, ContentItem]


_opening = threading.Lock()


def review_of(app: FastAPI) -> Review:
    """The application's review store, opened and synchronised with the knowledge base on first use."""
    review = getattr(app.state, "review", None)
    if review is None:
        with _opening:
            review = getattr(app.state, "review", None)
            if review is None:
                items = content_items(default_knowledge())
                store = ReviewStore(app.state.database.engine)
                store.sync(items)
                review = app.state.review = Review(store, Accounts(), items)
    return review


def review_states_for(app: FastAPI) -> Mapping[str, Status]:
    """What `cre_advisor.recommend(..., review_states=...)` needs, for this application's database."""
    review = review_of(app)
    return review.store.review_states(review.items)


def _review(request: Request) -> Review:
    return review_of(request.app)


ReviewDep = Annotated[Review, Depends(_review)]


# ---- API authentication ----------------------------------------------------------------------
def _token_actor(review: ReviewDep, authorization: Annotated[str | None, Header()] = None) -> Actor:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(401, "an API token is required: send 'Authorization: Bearer <token>'",
                            headers={"WWW-Authenticate": "Bearer"})
    with review.store.reading() as session:
        actor = Accounts.token_actor(session, token.strip())
    if actor is None:
        raise HTTPException(401, "the API token is unknown, revoked or belongs to a disabled user",
                            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    return actor


TokenActor = Annotated[Actor, Depends(_token_actor)]


def _require(actor: Actor, roles: frozenset[Role], what: str) -> None:
    if actor.role not in roles:
        allowed = " or ".join(sorted(r.value for r in roles))
        raise HTTPException(403, f"{what} needs the role {allowed}; {actor.name} is {actor.role.value}")


# ---- API models ------------------------------------------------------------------------------
class ItemOut(ItemView):
    # The store's ItemView as the API sends it, `item_id` named `id`; built with model_validate(view).
    # No docstring: it would become the OpenAPI schema's description.
    model_config = ConfigDict(from_attributes=True, validate_by_name=True)

    item_id: str = Field(alias="id")


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    from_status: str | None
    to_status: str
    hash: str
    outcome: str
    comment: str
    reason: str


class ItemDetail(BaseModel):
    item: ItemOut
    payload: dict[str, Any] | None
    changes_since_approval: list[FieldChange] | None
    history: list[AuditOut]


class ActionIn(BaseModel):
    action: Action
    hash: str = Field(pattern=r"^[0-9a-f]{64}$", description="The content hash the actor reviewed.")
    comment: str = Field(default="", max_length=4000, pattern=NO_NUL)
    version: int | None = Field(default=None, ge=1, description="The item version the actor saw, if known.")


def _detail(review: Review, item_id: str) -> ItemDetail:
    view = review.store.item(item_id)
    return ItemDetail(
        item=ItemOut.model_validate(view),
        payload=review.store.payload(item_id, view.hash),
        changes_since_approval=review.store.changes_since_approval(item_id),
        history=[AuditOut.model_validate(entry, from_attributes=True) for entry in review.store.history(item_id)],
    )


def _status_for(refusal: Refused) -> int:
    if isinstance(refusal, NotPermitted):
        return 403
    if isinstance(refusal, CommentRequired):
        return 422
    return 409


# ---- JSON API --------------------------------------------------------------------------------
@api.get("/items", response_model=list[ItemOut])
def api_items(review: ReviewDep, actor: TokenActor) -> list[ItemOut]:
    """Every content item of this release with its review state, queue order."""
    return [ItemOut.model_validate(v) for v in review.store.items(set(review.items))]


@api.get("/items/{item_id}", response_model=ItemDetail, responses={404: {"description": "No such item"}})
def api_item(item_id: ItemId, review: ReviewDep, actor: TokenActor) -> ItemDetail:
    """One item: state, current content, what changed since approval, and its audit history."""
    try:
        return _detail(review, item_id)
    except UnknownItem as error:
        raise HTTPException(404, str(error)) from None


@api.post("/items/{item_id}/actions", response_model=ItemOut,
          responses={403: {"description": "Role may not act"}, 404: {"description": "No such item"},
                     409: {"description": "Not allowed from this state, four-eyes rule, or stale content"}})
def api_act(item_id: ItemId, body: ActionIn, review: ReviewDep, actor: TokenActor) -> ItemOut:
    """Start review, approve, request changes or resubmit; the refusal reason is in `detail`."""
    try:
        view = review.store.act(item_id, body.action, actor, expected_hash=body.hash, comment=body.comment,
                                expected_version=body.version)
    except UnknownItem as error:
        raise HTTPException(404, str(error)) from None
    except Refused as refusal:
        raise HTTPException(_status_for(refusal), str(refusal)) from None
    return ItemOut.model_validate(view)


@api.get("/audit.csv", response_class=Response,
         responses={200: {"content": {"text/csv": {}}, "description": "One row per action, oldest first"},
                    403: {"description": "Authors may not export"}})
def api_audit(review: ReviewDep, actor: TokenActor) -> Response:
    """The whole audit trail as CSV (reviewers and admins)."""
    _require(actor, REVIEWERS, "the audit export")
    return _csv(review)


def _csv(review: Review) -> Response:
    return Response(review.store.export_csv(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="review-audit.csv"'})


# ---- pages: sessions and CSRF ----------------------------------------------------------------
@dataclass(frozen=True)
class Visitor:
    actor: Actor
    csrf: str
    cookie: str


def _visitor(request: Request, review: Review) -> Visitor | None:
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    with review.store.reading() as session:
        found = Accounts.session_actor(session, cookie)
    return Visitor(found[0], found[1], cookie) if found else None


def _page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    response = templates.TemplateResponse(request, name, context, status_code=status_code)
    response.headers.update(PAGE_HEADERS)
    return response


def _to_login(request: Request) -> RedirectResponse:
    return RedirectResponse(f"{PAGES}/login?next={quote(request.url.path)}", status_code=303)


def _check_csrf(visitor: Visitor, token: str) -> None:
    if not secrets.compare_digest(visitor.csrf.encode(), token.encode()):
        raise HTTPException(403, "the form's security token is missing or out of date; reload the page and try again")


def _safe_next(target: str) -> str:
    """Only paths inside the review pages: no open redirect to another site."""
    inside = target == PAGES or target.startswith(f"{PAGES}/")
    return target if inside and "\\" not in target else PAGES


@pages.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = PAGES) -> HTMLResponse:
    token = secrets.token_urlsafe(32)
    response = _page(request, "login.html", {"csrf": token, "next": _safe_next(next), "error": None})
    response.set_cookie(LOGIN_CSRF_COOKIE, token, max_age=3600, path=f"{PAGES}/login", secure=True,
                        httponly=True, samesite="strict")
    return response


@pages.post("/login")
def login(request: Request, review: ReviewDep, name: Annotated[str, Form()], password: Annotated[str, Form()],
          csrf_token: Annotated[str, Form()] = "", next: Annotated[str, Form()] = PAGES) -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not secrets.compare_digest(expected.encode(), csrf_token.encode()):
        raise HTTPException(403, "the sign-in form's security token is missing or out of date; reload the page")
    with review.store.writing() as session:
        actor = review.accounts.authenticate(session, name, password)
        cookie = Accounts.open_session(session, actor)[0] if actor else None
    if cookie is None:
        return _page(request, "login.html", {"csrf": csrf_token, "next": _safe_next(next),
                                             "error": "The name or password is not right."}, status_code=401)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(SESSION_COOKIE, cookie, max_age=int(SESSION_LIFETIME.total_seconds()), path=PAGES,
                        secure=True, httponly=True, samesite="lax")
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=f"{PAGES}/login", secure=True, httponly=True, samesite="strict")
    return response


@pages.post("/logout")
def logout(request: Request, review: ReviewDep, csrf_token: Annotated[str, Form()] = "") -> Response:
    visitor = _visitor(request, review)
    if visitor is not None:
        _check_csrf(visitor, csrf_token)
        with review.store.writing() as session:
            Accounts.close_session(session, visitor.cookie)
    response = RedirectResponse(f"{PAGES}/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=PAGES, secure=True, httponly=True, samesite="lax")
    return response


# ---- pages -----------------------------------------------------------------------------------
@pages.get("", response_class=HTMLResponse)
def queue_page(request: Request, review: ReviewDep) -> Response:
    visitor = _visitor(request, review)
    if visitor is None:
        return _to_login(request)
    views = review.store.items(set(review.items))
    counts = {status: sum(1 for v in views if v.status is status) for status in Status}
    params = request.query_params
    chosen = QueueFilter(status=params.get("status", ""), kind=params.get("kind", ""), q=params.get("q", "")[:200],
                         items=parse_items(params.get("items", ""), list(review.items)))
    shown = chosen.apply(views, {i: item.payload for i, item in review.items.items()})
    return _page(request, "queue.html", {"visitor": visitor, "items": shown, "total": len(views), "counts": counts,
                                         "filter": chosen, "kinds": sorted({v.kind for v in views})})


def _actions_for(actor: Actor, status: Status) -> list[Action]:
    return [action for action, t in TRANSITIONS.items() if t.source is status and actor.role in t.roles]


def _item_page(request: Request, review: Review, visitor: Visitor, item_id: str, *, error: str | None = None,
               status_code: int = 200) -> Response:
    try:
        detail = _detail(review, item_id)
    except UnknownItem as unknown:
        raise HTTPException(404, str(unknown)) from None
    item = detail.item
    return _page(request, "item.html", {
        "visitor": visitor, "detail": detail, "item": item, "actions": _actions_for(visitor.actor, item.status),
        "payload_text": json.dumps(detail.payload, indent=2, sort_keys=True, ensure_ascii=False),
        "fields": readable_fields(detail.payload),
        "needs_comment": {a for a, t in TRANSITIONS.items() if t.needs_comment},
        "own_submission": item.submitted_by == visitor.actor.name, "error": error,
    }, status_code=status_code)


@pages.get("/items/{item_id}", response_class=HTMLResponse)
def item_page(item_id: ItemId, request: Request, review: ReviewDep) -> Response:
    visitor = _visitor(request, review)
    if visitor is None:
        return _to_login(request)
    return _item_page(request, review, visitor, item_id)


@pages.post("/items/{item_id}")
def item_action(item_id: ItemId, request: Request, review: ReviewDep, action: Annotated[str, Form()],
                hash: Annotated[str, Form()], version: Annotated[int, Form()],
                csrf_token: Annotated[str, Form()] = "", comment: Annotated[str, Form(max_length=4000, pattern=NO_NUL)] = "") -> Response:
    visitor = _visitor(request, review)
    if visitor is None:
        raise HTTPException(401, "sign in first")
    _check_csrf(visitor, csrf_token)
    try:
        chosen = parse_action(action)
    except ValueError as error:
        raise HTTPException(422, str(error)) from None
    try:
        review.store.act(item_id, chosen, visitor.actor, expected_hash=hash, comment=comment,
                         expected_version=version)
    except UnknownItem as unknown:
        raise HTTPException(404, str(unknown)) from None
    except Refused as refusal:
        return _item_page(request, review, visitor, item_id, error=str(refusal), status_code=_status_for(refusal))
    return RedirectResponse(f"{PAGES}/items/{quote(item_id)}", status_code=303)


@pages.get("/audit.csv")
def audit_export(request: Request, review: ReviewDep) -> Response:
    visitor = _visitor(request, review)
    if visitor is None:
        return _to_login(request)
    if visitor.actor.role not in REVIEWERS:
        raise HTTPException(403, "the audit export needs the role admin or reviewer")
    return _csv(review)


@pages.get("/policy", response_class=HTMLResponse)
def policy_page(request: Request, review: ReviewDep) -> HTMLResponse:
    return _page(request, "policy.html", {"visitor": _visitor(request, review)})


router = APIRouter()
router.include_router(api)
router.include_router(pages)
