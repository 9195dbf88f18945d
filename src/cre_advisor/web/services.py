"""The library calls behind the doors: recommend a case, dose one agent, read one MIC.

`recommend` is the engine's own function, re-exported so pages and API share one name.

Kept apart from the HTTP handlers so pages and API call the same thing. Clinical work stays in
the engine, `dosing` and `microbiology`; this module only maps request models onto them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cre_advisor.dosing import dose_for
from cre_advisor.engine import recommend
from cre_advisor.knowledge.loader import default_knowledge
from cre_advisor.microbiology import interpret_mic, parse_mic
from cre_advisor.patient import assess_renal_values

if TYPE_CHECKING:
    from cre_advisor.web.api import DoseRequest, InterpretRequest


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
        renal_replacement=request.renal_replacement,
        crrt_effluent_l_h=request.crrt_effluent_l_h,
    )
    result = dose_for(
        request.agent,
        renal=renal,
        site=request.site.value if request.site else None,
        variant=request.variant,
        child_pugh=request.child_pugh_class,
    )
    return {**result.model_dump(mode="json"), "renal": renal.model_dump(mode="json")}


def interpret(request: InterpretRequest) -> dict[str, Any]:
    knowledge = default_knowledge()
    tables = knowledge.breakpoint_tables
    table = tables.table(request.breakpoints)
    if table is None:
        raise ValueError(f"breakpoints: table '{request.breakpoints}' has no rows loaded on this server")
    organism = knowledge.organism(request.organism)
    reading = interpret_mic(table, request.agent, parse_mic(request.mic), organism, request.site.value if request.site else None)
    row = reading.row
    return {
        "agent": request.agent,
        "organism": organism.name,
        "mic": request.mic,
        "interpretation": reading.category,
        "breakpoint_s": row.s_le if row is not None else None,
        "breakpoint_r": row.r_gt if row is not None else None,
        "table": table.id,
        "note": reading.note,
        "citations": list(reading.citations),
    }
