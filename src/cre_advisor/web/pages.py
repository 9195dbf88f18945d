"""The bedside pages: case form, result, saved-case link, agent and reference pages.

Server-rendered and usable without JavaScript: every action is a plain form post or link.
The chosen audience is remembered in a cookie. A case is stored only when the user asks for a
link; otherwise it travels in a hidden field so switching audience needs no storage.
"""

from __future__ import annotations

import re
from functools import cache
from types import ModuleType
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from cre_advisor import render
from cre_advisor.case import Case
from cre_advisor.knowledge.loader import Knowledge, default_knowledge
from cre_advisor.recommendation import Recommendation
from cre_advisor.render.citations import CitationIndex
from cre_advisor.render.dose_table import dose_tables, items_review
from cre_advisor.render.view import number, review_banner
from cre_advisor.store.saved_cases import ID_PATTERN, SavedCase, load_case, save_case
from cre_advisor.web import plan_page, services
from cre_advisor.web.forms import (
    ALLERGY_ROWS,
    CHOICES,
    LABELS,
    FormErrors,
    FormState,
    breakpoint_choices,
    case_from_form,
    form_errors,
    read_form,
    state_from_case,
)
from cre_advisor.web.topic import topic_view
from cre_advisor.web.templating import PAGE_HEADERS as PAGE_HEADERS  # re-exported for web/ask.py
from cre_advisor.web.templating import render_page

router = APIRouter(include_in_schema=False)

AUDIENCE_COOKIE = "cre_audience"
AUDIENCE_COOKIE_MAX_AGE = 365 * 24 * 3600
MAX_CASE_JSON = 64_000


def _audience(request: Request, chosen: str | None) -> str:
    for candidate in (chosen, request.cookies.get(AUDIENCE_COOKIE)):
        if candidate in render.AUDIENCES:
            return candidate  # type: ignore[return-value]
    return "clinician"


def _remember(request: Request, response: Response, chosen: str | None) -> Response:
    if chosen in render.AUDIENCES:
        response.set_cookie(
            AUDIENCE_COOKIE, chosen, max_age=AUDIENCE_COOKIE_MAX_AGE, httponly=True, samesite="lax",
            secure=request.url.scheme == "https",
        )
    return response


@cache
def _first_agents(knowledge: Knowledge) -> tuple[str, ...]:
    """Agents whose result decides a bloodstream plan: the active agents of its preferred regimens,
    and the carbapenems. They head the susceptibility entry; the rest sit in a closed list, so a
    keyboard user tabs through a few rows, not all of them."""
    preferred = [
        c.agent for r in knowledge.regimens_by_site["bloodstream"] if r.tier == "preferred"
        for c in r.components if c.role == "active"
    ]
    carbapenems = [a.id for a in knowledge.agents.values() if a.drug_class == "carbapenem"]
    return tuple(dict.fromkeys(preferred + carbapenems))


def _form_page(request: Request, state: FormState, status_code: int = 200) -> HTMLResponse:
    knowledge = default_knowledge()
    first = _first_agents(knowledge)
    more = [a for a in knowledge.agents.values() if a.id not in first]
    return render_page(request, "form.html", {
        "first_agents": [knowledge.agents[a] for a in first if a in knowledge.agents],
        "more_agents": more,
        "more_open": any(
            state.value(f"sus.{a.id}.{part}") or state.errors.get(f"sus.{a.id}.{part}") or state.checked("unavailable", a.id)
            for a in more for part in ("mic", "sir")
        ),
        "local_open": any(name.startswith("local") for name in state.errors) or any(
            state.value(f"local.{enzyme}") for enzyme in CHOICES["carbapenemase.enzyme"]
        ),
        "state": state,
        "labels": LABELS,
        "label_for": lambda name: LABELS.get(name) or _grid_label(name),
        "choices": CHOICES,
        "breakpoint_choices": breakpoint_choices(),
        "agents": list(knowledge.agents.values()),
        "allergy_classes": knowledge.allergy_classes,
        "allergy_rows": ALLERGY_ROWS,
        "organisms": knowledge.organism_names,
    }, status_code)


def _grid_label(name: str) -> str:
    """Labels of generated fields: 'sus.meropenem.mic' -> 'Meropenem MIC'."""
    parts = name.split(".")
    knowledge = default_knowledge()
    if parts[0] == "sus" and len(parts) == 3:
        agent = knowledge.agents.get(parts[1])
        return f"{agent.name if agent else parts[1]} {'MIC' if parts[2] == 'mic' else 'category'}"
    if parts[0] == "allergy" and len(parts) == 3:
        return f"Allergy {int(parts[1]) + 1}: {'allergen' if parts[2] == 'agent' else 'reaction'}"
    if parts[0] == "local" and len(parts) == 2:
        return f"Local share of {parts[1]}"
    return name


PLAIN_SITES = {
    "bloodstream": "the blood", "intra_abdominal": "the belly (abdomen)", "urinary_complicated": "the kidneys or urinary tract",
    "cystitis": "the bladder", "pneumonia": "the lungs", "skin_soft_tissue": "the skin and the tissue under it",
    "bone_joint": "a bone or joint", "cns": "the brain or spinal cord", "other": "another part of the body",
}


def _case_line(case: Case, rec: Recommendation, audience: str) -> str:
    """One line saying which case this is: clinical shorthand, or plain words for patients."""
    site = case.infection.site.value
    if audience == "patient":
        return f"Germ: {case.isolate.organism}. Infection in {PLAIN_SITES[site]}."
    enzymes = case.isolate.carbapenemase
    carbapenemase = "carbapenemase not tested" if enzymes is None else (
        f"carbapenemase {', '.join(e.value for e in enzymes)}" if enzymes else "no carbapenemase found"
    )
    severity = case.infection.severity.value.replace("_", " ")
    renal = f"CrCl {number(rec.renal.crcl_ml_min)} mL/min" if rec.renal.crcl_ml_min is not None else (
        rec.renal.method.replace("_", " ")
    )
    return f"{case.isolate.organism}, {carbapenemase}; {site.replace('_', ' ')}, {severity}; {renal}."


def _result_page(
    request: Request, case: Case, audience: str, saved: SavedCase | None = None, status_code: int = 200
) -> HTMLResponse:
    try:
        rec = services.recommend(case, request.app)
    except ValueError as exc:
        state = state_from_case(case)
        state.errors["case"] = str(exc)
        return _form_page(request, state, 422)
    knowledge = default_knowledge()
    view = render.view(rec, audience)
    states = request.app.state.review_states
    option_ids = plan_page.option_item_ids(rec.options, knowledge)
    approvals = _approvals(request, option_ids)
    return render_page(request, "result.html", {
        "view": view,
        "case_line": _case_line(case, rec, audience),
        "allergies": plan_page.allergy_line(case, knowledge),
        "dose_facts": {o.rank: [plan_page.dose_facts(i) for i in o.regimen] for o in rec.options} if view.shows_doses else {},
        "mic_rows": plan_page.mic_rows(case, view, knowledge) if view.shows_doses else [],
        "option_reviews": plan_page.option_reviews(option_ids, knowledge, states() if states else None, approvals),
        "approved_by": plan_page.latest_approval(approvals.values()) if view.review.status == "approved" else None,
        "topic_url": request.url_for("topic_page").path,
        "review_items_url": _review_items_url(request, option_ids),
        "case_json": case.model_dump_json(),
        "saved": saved,
        "share_url": str(request.url_for("saved_case_page", case_id=saved.id)) if saved else None,
        "switch_action": request.url_for("saved_case_page", case_id=saved.id).path if saved else "/plan",
    }, status_code)


def _review_module(request: Request) -> ModuleType | None:
    """The editorial review feature, when this application mounts it."""
    return getattr(request.app.state, "review_module", None)


def _approvals(request: Request, option_ids: dict[int, list[str]]) -> dict[str, tuple[str, str]]:
    """Who approved the current version of each item behind the options (every approver the board's
    rule required, in order), and the day the last of them did."""
    review = _review_module(request)
    if review is None:
        return {}
    ids = {i for ids in option_ids.values() for i in ids}
    views = review.review_of(request.app).store.items(ids)
    return {
        v.item_id: (" and ".join(a.approver for a in v.approvals), v.approvals[-1].at.date().isoformat())
        for v in views if v.approved_hash == v.hash and v.approvals
    }


def _review_items_url(request: Request, option_ids: dict[int, list[str]]) -> str | None:
    """The review queue narrowed to the items behind this plan's options (board members only)."""
    if _review_module(request) is None:
        return None
    ids = ",".join(dict.fromkeys(i for ids in option_ids.values() for i in ids))
    return f"{request.app.url_path_for('queue_page')}?{urlencode({'items': ids})}"


def _case_from_json(text: str) -> Case:
    if len(text) > MAX_CASE_JSON:
        raise HTTPException(413, "case too large")
    return Case.model_validate_json(text)


@router.get("/", response_class=HTMLResponse)
def case_form(request: Request) -> HTMLResponse:
    return _form_page(request, FormState())


@router.post("/plan", response_class=HTMLResponse)
async def plan(request: Request) -> Response:
    """The form's submit and the audience switch (which re-posts the case as JSON)."""
    form = await request.form()
    chosen = str(form.get("audience") or "") or None
    case_json = form.get("case_json")
    try:
        if case_json is not None:
            case = _case_from_json(str(case_json))
        else:
            case = case_from_form(read_form(form, form.getlist))
    except FormErrors as exc:
        return _form_page(request, exc.state, 422)
    except ValidationError as exc:
        state = FormState()
        state.errors = form_errors(exc)
        return _form_page(request, state, 422)
    response = _result_page(request, case, _audience(request, chosen))
    return _remember(request, response, chosen)


@router.post("/edit", response_class=HTMLResponse)
async def edit(request: Request) -> HTMLResponse:
    form = await request.form()
    try:
        case = _case_from_json(str(form.get("case_json") or ""))
    except ValidationError:
        return _form_page(request, FormState())
    return _form_page(request, state_from_case(case))


@router.post("/cases")
async def save(request: Request) -> Response:
    form = await request.form()
    case = _case_from_json(str(form.get("case_json") or ""))  # a refused case: 422 in clinical words (web.errors)
    case_id = await run_in_threadpool(_store, request, case)  # the database may be across a network
    return RedirectResponse(request.url_for("saved_case_page", case_id=case_id).path, status_code=303)


def _store(request: Request, case: Case) -> str:
    with request.app.state.database.session() as session:
        return save_case(session, case, default_knowledge().version).id


@router.get("/cases/{case_id}", response_class=HTMLResponse, name="saved_case_page")
def saved_case(
    request: Request, case_id: Annotated[str, Path(max_length=200)], audience: str | None = None
) -> Response:
    if not re.fullmatch(ID_PATTERN, case_id):  # a link cut short when pasted: a page saying so, not a 422
        raise HTTPException(404, "This case link is incomplete or mistyped: a case link ends in 32 letters, "
                            "digits, '-' or '_'. Copy the whole link again.")
    with request.app.state.database.session() as session:
        row = load_case(session, case_id)
    if row is None:
        raise HTTPException(404, "There is no saved case at this link. It may have been mistyped.")
    response = _result_page(request, row.case(), _audience(request, audience), saved=row)
    return _remember(request, response, audience)


@router.get("/favicon.ico")
def favicon(request: Request) -> RedirectResponse:
    """Browsers ask for /favicon.ico on pages that name none (the API reference, error pages of other doors)."""
    return RedirectResponse(request.url_for("static", path="favicon.svg").path, status_code=301)


@router.get("/agents", response_class=HTMLResponse)
def agents_page(request: Request) -> HTMLResponse:
    knowledge = default_knowledge()
    return render_page(request, "agents.html", {"agents": list(knowledge.agents.values()), "dosed": set(knowledge.dosing.agents)})


@router.get("/agents/{agent}", response_class=HTMLResponse)
def agent_page(request: Request, agent: Annotated[str, Path(max_length=100)]) -> Response:
    knowledge = default_knowledge()
    agent_id = knowledge.agent_id(agent)
    if agent_id is None:
        raise HTTPException(404, f"No agent called '{agent}' in this knowledge base.")
    if agent_id != agent:
        return RedirectResponse(f"/agents/{agent_id}", status_code=308)
    cite = CitationIndex(knowledge.references)
    info = knowledge.agents[agent_id]
    dosing = knowledge.dosing.agents.get(agent_id)
    agent_markers = cite.mark(info.citations)
    tables = dose_tables(dosing, cite) if dosing is not None else []
    states = request.app.state.review_states
    review = items_review([info, *([dosing] if dosing else [])], knowledge.released, states() if states else None)
    return render_page(request, "agent.html", {
        "agent": info,
        "agent_markers": agent_markers,
        "tables": tables,
        "monitoring": dosing.monitoring if dosing is not None else (),
        "review": review_banner(review),
        "references": cite.listing(),
    })


@router.get("/references", response_class=HTMLResponse)
def references_page(request: Request) -> HTMLResponse:
    return render_page(request, "references.html", {"references": list(default_knowledge().references.values())})


@router.get("/topics/cre-in-the-icu", response_class=HTMLResponse, name="topic_page")
def topic(request: Request, audience: str | None = None) -> Response:
    """The stepwise approach for no particular patient, with the plan's sources and review status."""
    chosen = _audience(request, audience)
    states = request.app.state.review_states
    view = topic_view(default_knowledge(), chosen, states() if states else None)
    response = render_page(request, "topic.html", {"topic": view, "switch_action": request.url.path})
    return _remember(request, response, audience)
