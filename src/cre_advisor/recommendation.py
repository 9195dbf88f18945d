"""Output models: the Recommendation every door renders.

The JSON shape is the DESIGN.md contract (schema_version "1"); fields are only ever added,
never renamed. These models hold results; they decide nothing. The parts the engine may reuse
between answers (avoid entries, fixed-dose regimen items) hold tuples, so no answer can change another.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = "1"

Tier = Literal["preferred", "alternative", "last_resort"]
MechanismClass = Literal["serine_carbapenemase", "metallo_beta_lactamase", "non_carbapenemase", "unknown"]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, serialize_by_alias=True, frozen=True)


class Mechanism(_Out):
    class_: MechanismClass = Field(alias="class")
    enzymes: list[str]
    basis: Literal["reported", "inferred", "empiric"]
    explanation: str
    group: str = Field(description="The regimen table used: kpc, oxa48, mbl, non_carbapenemase or non_carbapenemase_carbapenem_s.")


class Renal(_Out):
    crcl_ml_min: float | None
    method: Literal["cockcroft_gault", "measured", "intermittent_hemodialysis", "crrt", "unknown"]
    weight_basis: Literal["actual", "ideal", "adjusted"] | None
    weight_kg: float | None = None
    renal_replacement: str = "none"
    flags: list[str] = Field(default_factory=list)


class Risk(_Out):
    increment_cpe_score: int | None
    category: Literal["low", "high", "unknown"]


class RegimenItem(_Out):
    agent: str
    route: str
    dose: str
    dose_mg: float | None
    interval_h: float | None
    infusion_h: float | None
    loading_dose_mg: float | None
    adjusted_for: str
    citations: tuple[str, ...]
    notes: tuple[str, ...] = ()
    evidence: str | None = Field(default=None, description="How the dose's source was read: label/guideline [P], "
                                 "hospital guide [H], study [R], secondary only [S].")
    dose_options: tuple[str, ...] = Field(default=(), description="Doses by a value not given (CRRT effluent rate, "
                                          "residual clearance on haemodialysis); dose_mg is then the first dose.")


class Option(_Out):
    rank: int
    tier: Tier
    regimen: list[RegimenItem]
    rationale: str
    citations: list[str]
    cautions: list[str]
    id: str = Field(description="Knowledge item this option came from.")


class Avoid(_Out):
    agents: tuple[str, ...]
    reason: str
    citations: tuple[str, ...]


class TraceEntry(_Out):
    step: str
    finding: str
    citations: list[str] = Field(default_factory=list)


class Review(_Out):
    status: Literal["pending_review", "under_review", "changes_requested", "approved"]
    last_updated: str
    items_used: int = 0


class Recommendation(_Out):
    schema_version: str = SCHEMA_VERSION
    knowledge_version: str
    mechanism: Mechanism
    renal: Renal
    risk: Risk
    options: list[Option]
    avoid: list[Avoid]
    warnings: list[str]
    monitoring: list[str]
    missing_data: list[str]
    trace: list[TraceEntry]
    review: Review
    disclaimer: str
