"""The library calls behind the doors: recommend a case, dose one agent, read one MIC.

Kept apart from the HTTP handlers so pages and API call the same thing. Clinical work stays in
the engine, `dosing` and `microbiology`; this module only maps request models onto them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cre_advisor.case import Case
from cre_advisor.dosing import dose_for
from cre_advisor.engine import recommend as engine_recommend
from cre_advisor.knowledge.loader import default_knowledge
from cre_advisor.microbiology import interpretation_report
from cre_advisor.patient import assess_renal_values
from cre_advisor.web.observability import engine_timer

if TYPE_CHECKING:
    from fastapi import FastAPI

    from cre_advisor.recommendation import Recommendation
    from cre_advisor.web.requests import DoseRequest, InterpretRequest


def recommend(case: Case, app: FastAPI) -> Recommendation:
    """The engine's answer, with the advisory board's review states when the store has them."""
    states = app.state.review_states
    review_states = states() if states is not None else None
    with engine_timer():
        return engine_recommend(case, review_states=review_states, strict=app.state.settings.strict_review)


def dose(request: DoseRequest) -> dict[str, Any]:
    """The DoseResult fields (as `cre-advisor dose --json`), plus the renal assessment used."""
    renal = assess_renal_values(
        age_years=request.age_years,
        sex=request.sex,
        weight_kg=request.weight_kg,
        height_cm=request.height_cm,
        serum_creatinine_mg_dl=request.serum_creatinine_mg_dl,
        serum_creatinine_umol_l=request.serum_creatinine_umol_l,
        measured_crcl_ml_min=request.crcl_ml_min,
        creatinine_unstable=request.creatinine_unstable,
        weight_basis=request.crcl_weight_basis,
        renal_replacement=request.renal_replacement,
        crrt_effluent_l_h=request.crrt_effluent_l_h,
    )
    result = dose_for(
        request.agent,
        renal=renal,
        site=request.site.value if request.site else None,
        variant=request.variant,
        child_pugh=request.child_pugh_class,
        route=request.route,
    )
    return {**result.model_dump(mode="json"), "renal": renal.model_dump(mode="json")}


def interpret(request: InterpretRequest) -> dict[str, Any]:
    """The same reading as `cre-advisor interpret --json`: breakpoint row, then expected resistance."""
    knowledge = default_knowledge()
    table = knowledge.breakpoint_tables.table(request.breakpoints)
    if table is None:
        raise ValueError(
            f"breakpoints: {request.breakpoints} is known but no laboratory table for it is loaded on this server"
        )
    organism = knowledge.organism(request.organism)
    site = request.site.value if request.site else None
    return interpretation_report(table, request.agent, request.mic, organism, site, knowledge)
