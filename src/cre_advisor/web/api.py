"""REST API under /v1: the same Case and Recommendation JSON as the command line.

`POST /v1/recommendations` answers exactly `recommend(case).model_dump(mode="json")`. Handlers
translate HTTP to the library's functions and back; they hold no clinical logic.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Path, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from cre_advisor.case import Case
from cre_advisor.knowledge.loader import default_knowledge
from cre_advisor.recommendation import Recommendation
from cre_advisor.store.saved_cases import ID_PATTERN, delete_case, load_case, save_case
from cre_advisor.web import services
from cre_advisor.web.requests import DoseRequest, InterpretRequest
from cre_advisor.web.errors import unprocessable

router = APIRouter(prefix="/v1", tags=["api"])
bench_router = APIRouter(prefix="/v1/_bench", tags=["benchmark"])


KPC_EXAMPLE = {  # shown in /docs: a KPC bloodstream infection with reduced renal function
    "patient": {"age_years": 67, "sex": "female", "weight_kg": 72, "height_cm": 165, "serum_creatinine_mg_dl": 1.4},
    "infection": {"site": "bloodstream", "severity": "septic_shock", "source_control": "pending"},
    "isolate": {"organism": "Klebsiella pneumoniae", "carbapenemase": ["KPC"],
                "susceptibility": {"meropenem-vaborbactam": {"interpretation": "S"}, "meropenem": {"mic_mg_l": 16}}},
}
CaseBody = Annotated[Case, Body(openapi_examples={"kpc": {"summary": "KPC bacteraemia, CrCl about 40", "value": KPC_EXAMPLE}})]


class SavedCaseLink(BaseModel):
    id: str
    url: str


@router.post(
    "/recommendations",
    summary="Recommendation for a case",
    response_class=JSONResponse,
    responses={200: {"model": Recommendation, "description": "The Recommendation, as `cre-advisor recommend --json` prints it."}},
)
async def post_recommendation(case: CaseBody, request: Request) -> Response:
    try:
        recommendation = services.recommend(case, request.app)
    except ValueError as exc:
        return unprocessable(str(exc))
    return Response(recommendation.model_dump_json(), media_type="application/json")


@router.post("/dose", summary="Dose of one agent for this renal function")
def post_dose(request: DoseRequest) -> dict[str, Any]:
    try:
        return services.dose(request)
    except ValueError as exc:
        return unprocessable(str(exc))  # type: ignore[return-value]


@router.post("/interpret", summary="S, I or R for one MIC")
def post_interpret(request: InterpretRequest) -> dict[str, Any]:
    try:
        return services.interpret(request)
    except ValueError as exc:
        return unprocessable(str(exc))  # type: ignore[return-value]


@router.get("/agents", summary="Every agent in the knowledge base")
def get_agents() -> list[dict[str, Any]]:
    return [agent.model_dump(mode="json") for agent in default_knowledge().agents.values()]


@router.get("/agents/{agent}", summary="One agent with its dose table", responses={404: {"description": "Unknown agent"}})
def get_agent(agent: Annotated[str, Path(max_length=100)]) -> dict[str, Any]:
    knowledge = default_knowledge()
    agent_id = knowledge.agent_id(agent)
    if agent_id is None:
        raise HTTPException(404, f"unknown agent '{agent}'; known agents: {', '.join(knowledge.agents)}")
    dosing = knowledge.dosing.agents.get(agent_id)
    return {
        **knowledge.agents[agent_id].model_dump(mode="json"),
        "dosing": dosing.model_dump(mode="json") if dosing is not None else None,
    }


@router.get("/references", summary="Every cited source")
def get_references() -> list[dict[str, Any]]:
    return [ref.model_dump(mode="json") for ref in default_knowledge().references.values()]


@router.post("/cases", status_code=201, summary="Save a case; returns its shareable link")
def post_case(case: CaseBody, request: Request) -> SavedCaseLink:
    with request.app.state.database.session() as session:
        row = save_case(session, case, default_knowledge().version)
    return SavedCaseLink(id=row.id, url=str(request.url_for("saved_case_page", case_id=row.id)))


@router.get("/cases/{case_id}", summary="A saved case", responses={404: {"description": "No such case"}})
def get_case(case_id: Annotated[str, Path(pattern=ID_PATTERN)], request: Request) -> dict[str, Any]:
    with request.app.state.database.session() as session:
        row = load_case(session, case_id)
        if row is None:
            raise HTTPException(404, "no saved case with this id")
        return {
            "id": row.id,
            "created_at": row.created_at.isoformat(),
            "knowledge_version": row.knowledge_version,
            "case": row.case().model_dump(mode="json"),
        }


@router.delete("/cases/{case_id}", status_code=204, summary="Delete a saved case now (its link stops working)",
               responses={404: {"description": "No such case"}})
def delete_saved_case(case_id: Annotated[str, Path(pattern=ID_PATTERN)], request: Request) -> Response:
    with request.app.state.database.session() as session:
        if not delete_case(session, case_id):
            raise HTTPException(404, "no saved case with this id")
    return Response(status_code=204)


@bench_router.post("/parse", summary="Benchmark baseline: parses a Case and does nothing else")
async def post_bench_parse(case: Case) -> JSONResponse:
    return JSONResponse({"ok": True})
