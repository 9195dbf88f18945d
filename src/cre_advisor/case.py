"""Input models: the case a door hands to the engine.

Validation lives here so that every door refuses the same bad input with the same message,
naming the field and the allowed values. Nothing here picks a dose or a drug, and nothing
fills a clinical value the user did not give: what is missing stays missing for the engine
to report.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    model_validator,
)
from pydantic_core import PydanticCustomError

from cre_advisor.input_words import (
    CREATININE_TWICE,
    EFFLUENT_ONLY_CRRT,
    ENTER_ORGANISM,
    INCREMENT_TWICE,
    PREGNANT_MALE,
    SHARE_RANGE,
    SUSCEPTIBILITY_EMPTY,
    VENTILATOR_NOT_PNEUMONIA,
    shares_too_large,
)
from cre_advisor.knowledge.loader import Knowledge, default_knowledge
from cre_advisor.mic_values import parse_mic


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


# ---- numbers ---------------------------------------------------------------------------------
# A number is a number: a JSON true is not a weight and "70" is not either (the web form turns
# its text into numbers itself). Whole numbers are accepted where a decimal is allowed; NaN and
# infinity never are.
Number = Annotated[float, Strict(), Field(allow_inf_nan=False)]
WholeNumber = Annotated[int, Strict()]


def input_conflict(message: str, field: str) -> PydanticCustomError:
    """A check across fields, reported on the field the user should change."""
    return PydanticCustomError("input_conflict", message, {"field": field})


@dataclass(frozen=True)
class Plausible:
    """The range an adult's value can take in one unit, and what a value outside it most likely is.

    These are plausibility limits, not clinical cut-offs: they exist so that a unit mix-up or a
    typing slip is refused with a reason instead of becoming a confident dose. A value outside
    them is refused, never clamped: the user must look at it.
    """

    unit: str
    low: float
    high: float
    below: str
    above: str

    def check(self, value: float) -> float:
        if self.low <= value <= self.high:
            return value
        side, hint = ("below", self.below) if value < self.low else ("above", self.above)
        raise PydanticCustomError(
            "implausible_value", "{value} {unit} is {side} the plausible range ({low}-{high} {unit}). {hint}",
            {"value": f"{value:g}", "unit": self.unit, "side": side, "low": f"{self.low:g}", "high": f"{self.high:g}",
             "hint": hint},
        )

    def number(self, description: str = "") -> object:
        """The annotated type: a strict finite number within the limits (shown in the JSON schema)."""
        return Annotated[
            Number, AfterValidator(self.check),
            Field(description=description or None, json_schema_extra={"minimum": self.low, "maximum": self.high}),
        ]


_CHECK_UNIT = "Check the value and its unit."
# Why these limits (plausibility, not clinical thresholds; the one exception is age, the scope):
# - weight 20-400 kg and height 100-250 cm hold the lightest and heaviest adults; what falls
#   outside is a value in grams, pounds, metres or inches.
# - serum creatinine 0.2-25 mg/dL, the same span in µmol/L (18-2210): an adult creatinine under
#   about 20 µmol/L is almost never seen (extreme muscle wasting at most), while 0.2-2 mg/dL is
#   everyday, so a small µmol/L value was almost surely typed in mg/dL; above 25 mg/dL the same
#   holds the other way round (a µmol/L value in the mg/dL field). A real value outside can still
#   be dosed: give a measured clearance or the renal replacement mode instead.
# - measured clearance 0-400 mL/min (anuria to extreme augmented clearance; an estimate above
#   250 is capped in `patient`), CRRT effluent 0.1-10 L/h (above that, mL/h or mL/kg/h).
PLAUSIBLE: dict[str, Plausible] = {
    "age_years": Plausible("years", 18, 120, "Doses here are for adults (18 years or older).", _CHECK_UNIT),
    "weight_kg": Plausible("kg", 20, 400, "Enter the weight in kilograms.",
                           "A weight this high is probably in grams or pounds: enter kilograms."),
    "height_cm": Plausible("cm", 100, 250, "A height this low is probably in metres or inches: enter centimetres.",
                           "Enter the height in centimetres."),
    "serum_creatinine_mg_dl": Plausible("mg/dL", 0.2, 25, _CHECK_UNIT,
                                        "A creatinine this high is almost surely in µmol/L: choose the µmol/L unit."),
    "serum_creatinine_umol_l": Plausible("µmol/L", 18, 2210,
                                         "A creatinine this low is almost surely in mg/dL: choose the mg/dL unit.",
                                         _CHECK_UNIT),
    "creatinine_clearance_ml_min": Plausible("mL/min", 0, 400, _CHECK_UNIT, _CHECK_UNIT),
    "crrt_effluent_l_h": Plausible("L/h", 0.1, 10, "Enter the effluent rate in litres per hour (for example 2.5).",
                                   "A rate this high is probably in mL/h or mL/kg/h: enter litres per hour."),
}
AgeYears = PLAUSIBLE["age_years"].number("Adults only: guidance doses are for adults.")
WeightKg = PLAUSIBLE["weight_kg"].number()
HeightCm = PLAUSIBLE["height_cm"].number()
CreatinineMgDl = PLAUSIBLE["serum_creatinine_mg_dl"].number()
CreatinineUmolL = PLAUSIBLE["serum_creatinine_umol_l"].number()
ClearanceMlMin = PLAUSIBLE["creatinine_clearance_ml_min"].number()
EffluentLH = PLAUSIBLE["crrt_effluent_l_h"].number()


class Patient(_Model):
    age_years: AgeYears  # type: ignore[valid-type]
    sex: Sex | None = None
    weight_kg: WeightKg | None = None  # type: ignore[valid-type]
    height_cm: HeightCm | None = None  # type: ignore[valid-type]
    serum_creatinine_mg_dl: CreatinineMgDl | None = None  # type: ignore[valid-type]
    serum_creatinine_umol_l: CreatinineUmolL | None = None  # type: ignore[valid-type]
    creatinine_clearance_ml_min: ClearanceMlMin | None = Field(  # type: ignore[valid-type]
        default=None, description="A measured clearance (urine collection); it wins over an estimate."
    )
    creatinine_unstable: bool = Field(
        default=False, description="Rising or falling creatinine (AKI): any estimate is unreliable."
    )
    crcl_weight_basis: Literal["actual", "ideal", "adjusted"] | None = Field(
        default=None, description="Overrides the documented default weight for Cockcroft-Gault."
    )
    renal_replacement: RenalReplacement = RenalReplacement.none
    crrt_effluent_l_h: EffluentLH | None = None  # type: ignore[valid-type]
    child_pugh_class: Literal["A", "B", "C"] | None = None
    pregnant: bool = False
    allergies: tuple[Allergy, ...] = ()
    recent_ceftazidime_avibactam: bool = Field(
        default=False, description="Recent ceftazidime-avibactam exposure or a known CZA-resistant CRE (idsa-2024 Q3.7)."
    )

    @model_validator(mode="after")
    def _consistent(self) -> Patient:
        if self.serum_creatinine_mg_dl is not None and self.serum_creatinine_umol_l is not None:
            raise input_conflict(CREATININE_TWICE, "serum_creatinine_mg_dl")
        if self.crrt_effluent_l_h is not None and self.renal_replacement is not RenalReplacement.crrt:
            raise input_conflict(EFFLUENT_ONLY_CRRT, "crrt_effluent_l_h")
        if self.pregnant and self.sex is Sex.male:
            raise input_conflict(PREGNANT_MALE, "pregnant")
        return self


class IncrementCpe(_Model):
    """The parts of the INCREMENT-CPE mortality score (increment-cpe-2016)."""

    severe_sepsis_or_shock: bool
    pitt_score: WholeNumber = Field(ge=0, le=14)
    charlson_index: WholeNumber = Field(ge=0, le=37)
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
    increment_cpe_score: WholeNumber | None = Field(default=None, ge=0, le=17)

    @model_validator(mode="after")
    def _one_score(self) -> Infection:
        if self.increment_cpe is not None and self.increment_cpe_score is not None:
            raise input_conflict(INCREMENT_TWICE, "increment_cpe_score")
        if self.ventilator_associated and self.site is not Site.pneumonia:
            raise input_conflict(VENTILATOR_NOT_PNEUMONIA, "ventilator_associated")
        return self


def _mic_value(value: object) -> object:
    """A number or a lab string ("<=0.25"), read now so that an unreadable MIC is refused as input."""
    if isinstance(value, (bool, int, float, str)):
        mic = parse_mic(value)  # raises ValueError with the reason
        return mic.value if not isinstance(value, str) else value.strip()
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
            raise ValueError(SUSCEPTIBILITY_EMPTY)
        return self


def _normalise_organism(value: object) -> object:
    if not isinstance(value, str):
        return value
    if not value.strip():
        raise ValueError(ENTER_ORGANISM)
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
        try:
            _table_id(default_knowledge(), self.breakpoints)
        except ValueError as exc:  # names the allowed tables
            raise input_conflict(str(exc), "breakpoints") from None
        return self


class Context(_Model):
    unavailable_agents: Annotated[tuple[AgentId, ...], AfterValidator(_unique)] = ()
    guideline_profile: Profile = Profile.idsa_2024
    local_carbapenemase_distribution: dict[Annotated[Enzyme, BeforeValidator(_normalise_enzyme)], Number] | None = Field(
        default=None, description="Share of each carbapenemase among local CRE (0-1), for empiric choices."
    )

    @model_validator(mode="after")
    def _distribution(self) -> Context:
        dist = self.local_carbapenemase_distribution
        if dist is not None:
            if not dist or any(not 0 <= v <= 1 for v in dist.values()):
                raise input_conflict(SHARE_RANGE, "local_carbapenemase_distribution")
            if sum(dist.values()) > 1.0001:
                raise input_conflict(shares_too_large(sum(dist.values())), "local_carbapenemase_distribution")
        return self


class Case(_Model):
    patient: Patient
    infection: Infection
    isolate: Isolate
    context: Context = Field(default_factory=Context)
