"""Schema of the knowledge files: what an agent, regimen row, avoid rule or statement must hold.

These models only describe data; the engine decides with them. Extra keys are refused so a
typo in a data file fails the knowledge check instead of silently doing nothing.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ReviewStatus = Literal["submitted", "under_review", "changes_requested", "approved"]
Audience = Literal["clinician", "pharmacist", "nurse", "patient"]
Group = Literal["kpc", "oxa48", "mbl", "non_carbapenemase", "non_carbapenemase_carbapenem_s"]
SiteName = Literal[
    "bloodstream", "intra_abdominal", "urinary_complicated", "cystitis", "pneumonia",
    "skin_soft_tissue", "bone_joint", "cns", "other",
]
SeverityName = Literal["septic_shock", "severe", "non_severe"]
TierName = Literal["preferred", "alternative", "last_resort"]


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Item(_Data):
    """Anything a hospital's board reviews: it has an id, sources and a review state."""

    id: str
    citations: tuple[str, ...] = Field(min_length=1)
    review_status: ReviewStatus = "submitted"
    updated: str | None = None


class Reference(_Data):
    id: str
    title: str
    authors: str
    source: str
    year: int
    doi: str | None = None
    url: str | None = None


class Agent(Item):
    name: str
    drug_class: str
    newer_agent: bool
    synonyms: tuple[str, ...] = ()
    routes: tuple[str, ...]
    expected_active_against: tuple[str, ...] = ()
    anaerobic_cover: bool = False
    nephrotoxic: bool = False
    pregnancy: Literal["avoid", "caution", "last_resort"] | None = Field(
        default=None,
        description="avoid: never in pregnancy; last_resort: only when no safer active option remains, ranked last.",
    )
    allergy_groups: tuple[str, ...] = ()
    never_for_cre: bool = False
    contains: tuple[str, ...] = Field(default=(), description="Agents inside this product (an allergy to one applies to it).")


class Applies(_Data):
    """Conditions under which a row or statement applies; an empty field means 'any'."""

    profiles: tuple[str, ...] = ()
    groups: tuple[Group, ...] = ()
    sites: tuple[SiteName, ...] = ()
    severities: tuple[SeverityName, ...] = ()
    severe: bool | None = None
    agents_any: tuple[str, ...] = ()
    source_control: tuple[str, ...] = ()
    renal_replacement: tuple[str, ...] = ()
    pregnant: bool | None = None
    basis: tuple[Literal["reported", "inferred", "empiric"], ...] = ()
    organism_genera: tuple[str, ...] = ()


class Component(_Data):
    agent: str
    route: str = "IV"
    role: Literal["active", "anaerobic", "partner"] = Field(
        default="active",
        description="'anaerobic': added for anaerobes, not judged against the isolate; 'partner': activity comes from the pair.",
    )
    variant: str = Field(default="default", description="Dose variant in dosing.yaml, e.g. cystitis, with_ceftazidime_avibactam.")


class RegimenRow(Item):
    tier: TierName
    order: int = Field(ge=1, description="Rank inside the tier; ties are broken by the patient filters.")
    applies: Applies
    components: tuple[Component, ...] = Field(min_length=1)
    activity_surrogate: str | None = Field(
        default=None,
        description="A product whose result stands for the pair's activity (aztreonam-avibactam for CZA + aztreonam).",
    )
    requires_tested: tuple[str, ...] = Field(
        default=(), description="Components that need a susceptible result before they are offered."
    )
    condition: str | None = Field(default=None, description="Named microbiological condition the engine evaluates.")
    only_without_preferred: bool = Field(default=False, description="Offered only when no preferred option remains.")
    rationale: str
    cautions: tuple[str, ...] = ()


class AvoidRule(Item):
    agents: tuple[str, ...] = Field(min_length=1)
    scope: Literal["any", "monotherapy"] = "any"
    applies: Applies = Applies()
    reason: str


CODE_FIRED_STATEMENTS = frozenset({
    "pitfall-no-added-combination", "warning-recent-ceftazidime-avibactam", "step3-id-consult",
    "step3-no-combination-possible", "step3-nephrotoxicity", "step3-increment-missing",
    "allergy-mild-not-contraindication", "site-male-cystitis-is-cuti", "pregnancy-aminoglycosides",
    "warning-kpc-variant-meropenem-restored",
})
"""Statements the engine fires on conditions computed in code, never through their `applies`."""

REQUIRED_STATEMENTS = CODE_FIRED_STATEMENTS | {"disclaimer", "pregnancy-tetracyclines"}
"""Statement ids the engine names, so every knowledge base must hold them."""


class Statement(Item):
    kind: Literal["warning", "monitoring", "icu_note", "site_note", "pitfall", "disclaimer", "missing_data", "topic_note"] = Field(
        description="'topic_note': answered on request (follow-up questions), never fired into a plan.")
    applies: Applies = Applies()
    text: dict[Audience, str] = Field(description="clinician text is required; others fall back to it.")
    topic: str | None = None


class CombinationRules(Item):
    """Step 3: what a polymyxin-based combination may be built from."""

    backbones: dict[str, tuple[str, ...]] = Field(description="urinary / systemic -> polymyxins in order of preference")
    companions: tuple[str, ...]
    companion_excluded_sites: dict[str, tuple[SiteName, ...]] = {}
    meropenem_max_mic_mg_l: dict[str, float] = Field(description="profile -> highest meropenem MIC for a combination")
    older_single_agents: dict[str, tuple[str, ...]] = Field(
        description="site -> older agents that may be given alone for non-severe infection, in order"
    )
    single_agent_sites: tuple[SiteName, ...] = Field(
        default=(), description="Sites whose regimen rows hold every suggested option as a single agent: no pair is built."
    )
