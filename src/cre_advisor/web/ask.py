"""Follow-up questions over HTTP: `POST /v1/ask` (JSON) and `POST /ask` (the result page's box).

Both call `cre_advisor.ask.answer` with the advisory board's review states and the server's
strict-review setting; neither holds clinical logic. The page keeps the case in a hidden field,
as the result page does, so asking needs no storage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from cre_advisor import render
from cre_advisor.ask import Answer, answer
from cre_advisor.ask.compose import MAX_QUESTION_CHARS
from cre_advisor.ask.index import default_index
from cre_advisor.ask.models import CitedLine
from cre_advisor.case import Case
from cre_advisor.input_words import problems
from cre_advisor.knowledge.loader import default_knowledge
from cre_advisor.render.citations import CitationIndex, Marker
from cre_advisor.render.view import review_banner
from cre_advisor.web.errors import SafeJSONResponse, unprocessable
from cre_advisor.web.templating import render_page

router = APIRouter()
MAX_CASE_CHARS = 64_000  # the result page's cap on a case carried in a hidden field
default_index()  # build the retrieval index when the app is assembled, not on the first question

Audience = Literal["clinician", "pharmacist", "nurse", "patient"]


def _has_words(question: str) -> str:
    if not question.strip():
        raise ValueError("must contain a question, not only spaces")
    return question


class AskRequest(BaseModel):
    """A follow-up question, optionally about a case (the same Case JSON as /v1/recommendations)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"question": "What dose of ceftazidime-avibactam on CRRT?", "audience": "pharmacist"},
    ]})

    question: Annotated[str, Field(min_length=1, max_length=MAX_QUESTION_CHARS), AfterValidator(_has_words)]
    audience: Audience = "clinician"
    case: Case | None = Field(default=None, description="Answer for this patient: doses and plan from its recommendation.")


def _ask(request: Request, question: str, case: Case | None, audience: str) -> Answer:
    states = request.app.state.review_states
    return answer(
        question, case=case, audience=audience, review_states=states() if states is not None else None,
        strict=request.app.state.settings.strict_review,
    )


@router.post(
    "/v1/ask", tags=["api"], summary="Answer a follow-up question from the knowledge base",
    responses={200: {"model": Answer, "description": "Cited items, or covered=false with the nearest topics."}},
)
def post_ask(body: AskRequest, request: Request) -> JSONResponse:
    try:
        result = _ask(request, body.question, body.case, body.audience)
    except ValueError as exc:
        return unprocessable(str(exc))
    return SafeJSONResponse(result.model_dump(mode="json"))


@dataclass(frozen=True)
class Shown:
    """A line with its citation markers, numbered for this page."""

    text: str
    markers: tuple[Marker, ...]


@router.post("/ask", response_class=HTMLResponse, include_in_schema=False)
async def ask_page(request: Request) -> HTMLResponse:
    """The follow-up box's submit: the answer, the box again, and the way back to the plan."""
    form = await request.form()
    question = str(form.get("question") or "")
    chosen = str(form.get("audience") or "clinician")
    audience = chosen if chosen in render.AUDIENCES else "clinician"
    case_json = str(form.get("case_json") or "")
    context: dict[str, Any] = {"question": question, "audience": audience, "case_json": case_json, "error": None}
    try:
        case = _case(case_json)
        result = _ask(request, question, case, audience)
    except (ValueError, ValidationError) as exc:
        context["error"] = _problem(exc)
        return _page(request, context, 422)
    cite = CitationIndex(default_knowledge().references)

    def shown(lines: list[CitedLine]) -> list[Shown]:
        return [Shown(line.text, cite.mark(line.citations)) for line in lines]

    context.update({
        "answer": result,
        "patient_lines": shown(result.for_this_patient),
        "items": [(item, shown(item.lines)) for item in result.items],
        "banner": review_banner(result.review),
        "references": cite.listing(),
    })
    return _page(request, context)


def _case(case_json: str) -> Case | None:
    if not case_json.strip():
        return None
    if len(case_json) > MAX_CASE_CHARS:
        raise ValueError("case: too large")
    return Case.model_validate_json(case_json)


def _problem(exc: ValueError | ValidationError) -> str:
    if isinstance(exc, ValidationError):  # in the clinical words every door uses
        return f"The case could not be read ({problems(exc.errors())[0].line}). Go back to the form and check it."
    return str(exc)


def _page(request: Request, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    return render_page(request, "ask.html", context, status_code)
