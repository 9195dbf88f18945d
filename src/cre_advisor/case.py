"""Input models: the case a door hands to the engine.

Validation lives here so that every door refuses the same bad input with the same message,
naming the field and the allowed values. Nothing here picks a dose or a drug, and nothing
fills a clinical value the user did not give: what is missing stays missing for the engine
to report.
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from cre_advisor.knowledge.loader import Knowledge, default_knowledge


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)


class Sex(StrEnum):
    female = "female"
    male = "male"


class RenalReplacement(StrEnum):
    none = "none"
    intermittent_hemodialysis = "intermittent_hemodialysis"
    crrt = "crrt"


class Reaction(StrEnum):
    anaphylaxis = "anaphylaxis"
    severe_cutaneous = "severe_cutaneous"
    mild = "mild"
    intolerance = "intolerance"


class Site(StrEnum):
    bloodstream = "bloodstream"
    intra_abdominal = "intra_abdominal"
    urinary_complicated = "urinary_complicated"
    cystitis = "cystitis"
    pneumonia = "pneumonia"
    skin_soft_tissue = "skin_soft_tissue"
    bone_joint = "bone_joint"
    cns = "cns"
    other = "other"


class Severity(StrEnum):
    septic_shock = "septic_shock"
    severe = "severe"
    non_severe = "non_severe"


class SourceControl(StrEnum):
    achieved = "achieved"
    pending = "pending"
    not_needed = "not_needed"
    not_possible = "not_possible"


class Enzyme(StrEnum):
    KPC = "KPC"
    OXA48 = "OXA-48-like"
    NDM = "NDM"
    VIM = "VIM"
    IMP = "IMP"
    GES = "GES"


class CarbapenemaseTest(StrEnum):
    """How the carbapenemase result was obtained; the panel decides what a negative excludes."""

    xpert_carba_r = "xpert_carba_r"
    ng_test_carba_5 = "ng_test_carba_5"
    other_pcr = "other_pcr"
    phenotypic = "phenotypic"
    whole_genome = "whole_genome"


class Profile(StrEnum):
    idsa_2024 = "idsa-2024"
    escmid_2022 = "escmid-2022"


_ENZYME_SYNONYMS = {
    "kpc": Enzyme.KPC, "ndm": Enzyme.NDM, "vim": Enzyme.VIM, "imp": Enzyme.IMP, "ges": Enzyme.GES,
    "oxa-48-like": Enzyme.OXA48, "oxa-48": Enzyme.OXA48, "oxa48": Enzyme.OXA48,
    "oxa-181": Enzyme.OXA48, "oxa-232": Enzyme.OXA48, "oxa-244": Enzyme.OXA48,
    "oxa-162": Enzyme.OXA48, "oxa-204": Enzyme.OXA48,
}


def _normalise_agent(value: object) -> object:
    if not isinstance(value, str):
        return value
    knowledge = default_knowledge()
    if value in knowledge.agents:  # a contract id, as most cases give: runs once per susceptibility key
        return value
    agent = knowledge.agent_id(value)
    if agent is None:
        raise ValueError(f"unknown agent '{value}'; known agents: {', '.join(knowledge.agents)}")
    return agent


def _normalise_enzyme(value: object) -> object:
    if isinstance(value, str):
        found = _ENZYME_SYNONYMS.get(value.strip().lower())
        if found is None:
            allowed = ", ".join(e.value for e in Enzyme)
            raise ValueError(f"unknown carbapenemase '{value}'; allowed: {allowed}")
        return found
    return value


AgentId = Annotated[str, BeforeValidator(_normalise_agent)]


def _normalise_allergen(value: object) -> object:
    """An allergy may name an agent or a whole class ("penicillins")."""
    if not isinstance(value, str):
        return value
    knowledge = default_knowledge()
    if value in knowledge.agents or value in knowledge.allergy_classes:  # already an identifier, as most cases give
        return value
    return _allergen(knowledge, value)


@lru_cache(maxsize=512)
def _allergen(knowledge: Knowledge, value: str) -> str:
    """Cached per knowledge base: allergen names are few; an unknown one raises and is not cached."""
    agent = knowledge.agent_id(value)
    if agent is not None:
        return agent
    key = value.strip().lower()
    for cls in knowledge.allergy_classes:
        if key in (cls, cls.rstrip("s"), cls.rstrip("s") + " allergy"):
            return cls
    synonym = knowledge.allergen_class(value)
    if synonym is not None:
        return synonym
    raise ValueError(
        f"unknown allergen '{value}'; give an agent or one of: {', '.join(knowledge.allergy_classes)}"
    )


class Allergy(_Model):
    agent: Annotated[str, BeforeValidator(_normalise_allergen)] = Field(
        description="An agent identifier or an allergy class such as 'penicillins'."
    )
    reaction: Reaction


class Patient(_Model):
    age_years: float = Field(ge=18, le=120, description="Adults only: guidance doses are for adults.")
    sex: Sex | None = None
    weight_kg: float | None = Field(default=None, gt=0, le=400)
    height_cm: float | None = Field(default=None, ge=100, le=250)
    serum_creatinine_mg_dl: float | None = Field(default=None, gt=0, le=30)
    serum_creatinine_umol_l: float | None = Field(default=None, gt=0, le=2650)
    creatinine_clearance_ml_min: float | None = Field(
        default=None, ge=0, le=400, description="A measured clearance (urine collection); it wins over an estimate."
    )
    creatinine_unstable: bool = Field(
        default=False, description="Rising or falling creatinine (AKI): any estimate is unreliable."
    )
    crcl_weight_basis: Literal["actual", "ideal", "adjusted"] | None = Field(
        default=None, description="Overrides the documented default weight for Cockcroft-Gault."
    )
    renal_replacement: RenalReplacement = RenalReplacement.none
    crrt_effluent_l_h: float | None = Field(default=None, gt=0, le=10)
    child_pugh_class: Literal["A", "B", "C"] | None = None
    pregnant: bool = False
    allergies: tuple[Allergy, ...] = ()
    recent_ceftazidime_avibactam: bool = Field(
        default=False, description="Recent ceftazidime-avibactam exposure or a known CZA-resistant CRE (idsa-2024 Q3.7)."
    )

    @model_validator(mode="after")
    def _consistent(self) -> Patient:
        if self.serum_creatinine_mg_dl is not None and self.serum_creatinine_umol_l is not None:
            raise ValueError(
                "give serum creatinine once: serum_creatinine_mg_dl or serum_creatinine_umol_l, not both"
            )
        if self.crrt_effluent_l_h is not None and self.renal_replacement is not RenalReplacement.crrt:
            raise ValueError("crrt_effluent_l_h is only meaningful with renal_replacement 'crrt'")
        if self.pregnant and self.sex is Sex.male:
            raise ValueError("pregnant: true contradicts sex 'male'")
        return self


class IncrementCpe(_Model):
    """The parts of the INCREMENT-CPE mortality score (increment-cpe-2016)."""

    severe_sepsis_or_shock: bool
    pitt_score: int = Field(ge=0, le=14)
    charlson_index: int = Field(ge=0, le=37)
    source: Literal["urinary", "biliary", "other"] = Field(
        description="'urinary' and 'biliary' score 0; any other source scores 3."
    )
    inappropriate_early_therapy: bool


class Infection(_Model):
    site: Site
    ventilator_associated: bool = False
    severity: Severity
    source_control: SourceControl | None = None
    increment_cpe: IncrementCpe | None = None
    increment_cpe_score: int | None = Field(default=None, ge=0, le=17)

    @model_validator(mode="after")
    def _one_score(self) -> Infection:
        if self.increment_cpe is not None and self.increment_cpe_score is not None:
            raise ValueError("give INCREMENT-CPE once: increment_cpe (its parts) or increment_cpe_score, not both")
        if self.ventilator_associated and self.site is not Site.pneumonia:
            raise ValueError("ventilator_associated applies only to site 'pneumonia'")
        return self


MIC_MAX_MG_L = 10_000  # far above any dilution a laboratory reports; refuses absurd numbers cleanly


def _mic_value(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError("an MIC is a number in mg/L or a lab string such as '<=0.25'")
    if isinstance(value, (int, float)):
        if not 0 < value <= MIC_MAX_MG_L:  # also false for NaN and infinity, without converting huge ints
            raise ValueError(f"an MIC must be a positive number of mg/L, at most {MIC_MAX_MG_L}")
        return float(value)
    if isinstance(value, str):
        from cre_advisor.microbiology import parse_mic  # local: microbiology imports case types

        parse_mic(value)  # raises ValueError with the reason
        return value.strip()
    return value


class Interpretation(StrEnum):
    S = "S"
    I = "I"  # noqa: E741 - the laboratory's own letter
    R = "R"


class SusceptibilityResult(_Model):
    mic_mg_l: Annotated[float | str, BeforeValidator(_mic_value)] | None = None
    interpretation: Interpretation | None = None

    @model_validator(mode="after")
    def _something(self) -> SusceptibilityResult:
        if self.mic_mg_l is None and self.interpretation is None:
            raise ValueError("a susceptibility entry needs mic_mg_l, interpretation, or both")
        return self


def _normalise_organism(value: object) -> object:
    if not isinstance(value, str):
        return value
    return _organism_name(default_knowledge(), value)


@lru_cache(maxsize=512)
def _organism_name(knowledge: Knowledge, value: str) -> str:
    """Cached per knowledge base: organism names are few; an out-of-scope one raises and is not cached."""
    return knowledge.organism(value).name


@lru_cache(maxsize=64)
def _table_id(knowledge: Knowledge, name: str) -> str:
    """Cached per knowledge base: cases name a handful of tables; an unknown one raises and is not cached."""
    return knowledge.breakpoint_table_id(name)


def _unique(values: tuple[str, ...]) -> tuple[str, ...]:
    return values if len(values) < 2 else tuple(dict.fromkeys(values))


class Isolate(_Model):
    organism: Annotated[str, BeforeValidator(_normalise_organism)]
    carbapenemase: Annotated[
        tuple[Annotated[Enzyme, BeforeValidator(_normalise_enzyme)], ...], AfterValidator(_unique)
    ] | None = Field(default=None, description="[] = tested, none found; null or absent = not tested.")
    carbapenemase_test: CarbapenemaseTest | None = None
    susceptibility: dict[AgentId, SusceptibilityResult] = Field(default_factory=dict)
    breakpoints: str = Field(default="EUCAST-2026", description="Table that interprets raw MICs.")

    @model_validator(mode="after")
    def _known_table(self) -> Isolate:
        _table_id(default_knowledge(), self.breakpoints)  # raises with the allowed names
        return self


class Context(_Model):
    unavailable_agents: Annotated[tuple[AgentId, ...], AfterValidator(_unique)] = ()
    guideline_profile: Profile = Profile.idsa_2024
    local_carbapenemase_distribution: dict[Annotated[Enzyme, BeforeValidator(_normalise_enzyme)], float] | None = Field(
        default=None, description="Share of each carbapenemase among local CRE (0-1), for empiric choices."
    )

    @model_validator(mode="after")
    def _distribution(self) -> Context:
        dist = self.local_carbapenemase_distribution
        if dist is not None:
            if not dist or any(not 0 <= v <= 1 for v in dist.values()) or sum(dist.values()) > 1.0001:
                raise ValueError("local_carbapenemase_distribution: shares must lie in 0-1 and add up to at most 1")
        return self


class Case(_Model):
    patient: Patient
    infection: Infection
    isolate: Isolate
    context: Context = Field(default_factory=Context)
