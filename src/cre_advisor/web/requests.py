"""The request bodies of the REST API's one-agent calls (`/v1/dose`, `/v1/interpret`).

They live apart from the handlers (`web/api.py`) and the library calls behind them
(`web/services.py`) so that both import them from here and neither imports the other.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from cre_advisor.case import (
    AgentId,
    AgeYears,
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
from cre_advisor.input_words import (
    CLEARANCE_AND_CREATININE,
    CREATININE_TWICE,
    EFFLUENT_ONLY_CRRT,
)
from cre_advisor.knowledge.loader import default_knowledge
from cre_advisor.mic_values import parse_mic


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
