"""REST API under /v1: the same Case and Recommendation JSON as the command line.

`POST /v1/recommendations` answers exactly `recommend(case).model_dump(mode="json")`. Handlers
translate HTTP to the library's functions and back; they hold no clinical logic.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, HTTPException, Path, Request
from fastapi.responses import JSONResponse, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.exc import SQLAlchemyError

from cre_advisor.case import (
    AgeYears,
    AgentId,
    Case,
    ClearanceMlMin,
    CreatinineMgDl,
    CreatinineUmolL,
    EffluentLH,
    HeightCm,
    RenalReplacement,
    Sex,
    Site,
    WeightKg,
    input_conflict,
)
from cre_advisor.input_words import CLEARANCE_AND_CREATININE, CREATININE_TWICE, EFFLUENT_ONLY_CRRT
from cre_advisor.knowledge.loader import default_knowledge
from cre_advisor.mic_values import parse_mic
from cre_advisor.recommendation import Recommendation
from cre_advisor.store.saved_cases import ID_PATTERN, load_case, save_case
from cre_advisor.web import services
from cre_advisor.web.errors import unprocessable

router = APIRouter(prefix="/v1", tags=["api"])
bench_router = APIRouter(prefix="/v1/_bench", tags=["benchmark"])
health_router = APIRouter(tags=["api"])


class DoseRequest(BaseModel):
    """One agent's dose for a clearance, or for the patient values Cockcroft-Gault needs."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"agent": "ceftazidime-avibactam", "crcl_ml_min": 40}]}
    )

    agent: AgentId
    # The same strict, plausibility-checked number types as the Case (cre_advisor.case).
    crcl_ml_min: ClearanceMlMin | None = Field(  # type: ignore[valid-type]
        default=None, description="A known clearance; wins over the values below."
    )
    age_years: AgeYears | None = None  # type: ignore[valid-type]
    sex: Sex | None = None
    weight_kg: WeightKg | None = Field(default=None, description="Also used for mg/kg doses.")  # type: ignore[valid-type]
    height_cm: HeightCm | None = None  # type: ignore[valid-type]
    serum_creatinine_mg_dl: CreatinineMgDl | None = None  # type: ignore[valid-type]
    serum_creatinine_umol_l: CreatinineUmolL | None = None  # type: ignore[valid-type]
    creatinine_unstable: bool = Field(default=False, description="Rising or falling creatinine: estimates unreliable.")
    crcl_weight_basis: Literal["actual", "ideal", "adjusted"] | None = None
    renal_replacement: RenalReplacement = RenalReplacement.none
    crrt_effluent_l_h: EffluentLH | None = None  # type: ignore[valid-type]
    site: Site | None = None
    variant: str = Field(default="default", max_length=64, description="Dose variant, e.g. cystitis or with_ceftazidime_avibactam.")
    route: Literal["IV", "PO"] | None = Field(default=None, description="Picks an oral variant where the agent has one.")
    child_pugh_class: Literal["A", "B", "C"] | None = None

    @model_validator(mode="after")
    def _one_renal_input(self) -> DoseRequest:
        if self.crcl_ml_min is not None and (self.serum_creatinine_mg_dl or self.serum_creatinine_umol_l):
            raise input_conflict(CLEARANCE_AND_CREATININE, "crcl_ml_min")
        if self.serum_creatinine_mg_dl is not None and self.serum_creatinine_umol_l is not None:
            raise input_conflict(CREATININE_TWICE, "serum_creatinine_mg_dl")
        if self.crrt_effluent_l_h is not None and self.renal_replacement is not RenalReplacement.crrt:
            raise input_conflict(EFFLUENT_ONLY_CRRT, "crrt_effluent_l_h")
        return self


def _readable_mic(value: str) -> str:
    parse_mic(value)  # ValueError says what a readable MIC looks like
    return value.strip()


def _known_organism(value: str) -> str:
    return default_knowledge().organism(value).name


def _known_table(value: str) -> str:
    return default_knowledge().breakpoint_table_id(value)


class InterpretRequest(BaseModel):
    """One MIC of one agent against one organism (and site), read with a breakpoint table."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"agent": "meropenem", "mic": "16", "organism": "Klebsiella pneumoniae"}]},
    )

    agent: AgentId
    mic: Annotated[
        str,
        AfterValidator(_readable_mic),
        Field(max_length=32, description="mg/L as the lab writes it: '2', '<=0.25', '>32'."),
    ]
    organism: Annotated[str, AfterValidator(_known_organism), Field(max_length=200)]
    site: Site | None = None
    breakpoints: Annotated[str, AfterValidator(_known_table), Field(max_length=64)] = "EUCAST-2026"


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


@health_router.get("/healthz", summary="Liveness: the knowledge base is loaded and the database answers")
def get_health(request: Request) -> JSONResponse:
    try:
        database_ok = request.app.state.database.ping()
    except SQLAlchemyError:
        database_ok = False
    body = {"status": "ok" if database_ok else "unavailable", "knowledge_version": default_knowledge().version,
            "database": "ok" if database_ok else "unreachable"}
    return JSONResponse(body, status_code=200 if database_ok else 503)


@bench_router.post("/parse", summary="Benchmark baseline: parses a Case and does nothing else")
async def post_bench_parse(case: Case) -> JSONResponse:
    return JSONResponse({"ok": True})
