"""The CRE algorithm: a case in, a ranked, dosed, cited Recommendation out.

Each named step adds one trace entry saying what it found and on what source. The steps read
the knowledge base and the microbiology, patient and dosing modules; they never import a door
(web, CLI, FHIR) and never invent clinical content: every option, dose and warning comes from
a cited knowledge item.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from cre_advisor.case import Case, Reaction, RenalReplacement, Severity, Sex, Site
from cre_advisor.dosing import DoseResult, FixedDoseResult, dose_for
from cre_advisor.knowledge.loader import Knowledge, default_knowledge
from cre_advisor.knowledge.schema import CODE_FIRED_STATEMENTS, Applies, Component, RegimenRow, Statement
from cre_advisor.microbiology import (
    AgentResult,
    MechanismFinding,
    SusceptibilityReading,
    classify_mechanism,
    imipenem_exception_applies,
    mic_at_most,
    read_susceptibility,
    resistant_carbapenems,
)
from cre_advisor.patient import RenalAssessment, assess_renal_function
from cre_advisor.recommendation import Avoid, Recommendation, RegimenItem
from cre_advisor.risk import IncrementCpe, increment_cpe

class NotCre(ValueError):
    """The isolate falls outside the CRE definition: refused, like any out-of-scope request."""


TIER_RANK = {"preferred": 0, "alternative": 1, "last_resort": 2}
SEVERE_REACTIONS = (Reaction.anaphylaxis, Reaction.severe_cutaneous)
SINGLE_AGENT_LIMITED = frozenset({"polymyxin", "aminoglycoside", "tetracycline"})
REVIEW_ORDER = {"changes_requested": 0, "submitted": 1, "under_review": 2, "approved": 3}
REVIEW_OUTPUT = {
    "changes_requested": "changes_requested", "submitted": "pending_review",
    "under_review": "under_review", "approved": "approved",
}
EXPECTATION_BY_GROUP = {
    "kpc": ("KPC",), "oxa48": ("OXA-48-like",), "mbl": ("NDM", "VIM", "IMP"),
    "non_carbapenemase": ("non-carbapenemase",), "non_carbapenemase_carbapenem_s": ("non-carbapenemase",),
}

# Full validation without `model_validate`'s own Python layer, which costs as much as a small model.
_validate_case = Case.__pydantic_validator__.validate_python
_validate_recommendation = Recommendation.__pydantic_validator__.validate_python

Fields = dict[str, Any]
"""Plain data in the shape of one output model (TraceEntry, Option). The steps build these and
`_assemble` validates the whole Recommendation once: one validation of the nested answer costs less
than constructing each frozen model on the way. Parts that depend on knowledge alone (avoid rules,
fixed doses) are built as models once and reused, which validation then takes as they are."""


@dataclass(slots=True)
class _Candidate:
    """An option being assembled: where it came from and what it holds so far."""

    row_id: str
    tier: str
    order: int
    components: tuple[Component, ...]
    rationale: str
    citations: tuple[str, ...]
    cautions: tuple[str, ...]
    agents: tuple[str, ...]
    treating: tuple[str, ...]
    """the agents that treat the isolate (all but the anaerobic add-on)"""

    @classmethod
    def of(cls, row_id: str, tier: str, order: int, components: tuple[Component, ...], rationale: str,
           citations: tuple[str, ...], cautions: tuple[str, ...] = ()) -> _Candidate:
        return cls(row_id, tier, order, components, rationale, citations, cautions, *_agents(components))

    def add_anaerobic(self, agent: str) -> None:
        self.components += (Component(agent=agent, role="anaerobic"),)
        self.agents += (agent,)

    @property
    def label(self) -> str:
        return " + ".join(self.agents)


@dataclass(frozen=True, slots=True)
class _RowPlan:
    """A regimen row that applies to one combination of case facts, with what every case reads from
    it worked out once (see `_matches`)."""

    row: RegimenRow
    agents: tuple[str, ...]
    treating: tuple[str, ...]
    rationale: str
    forbidden: str | None
    """why an avoid rule of these facts rules the regimen out (alone or in any regimen), or None"""
    label: str

    def candidate(self) -> _Candidate:
        """A fresh candidate: the later steps may extend it."""
        row = self.row
        return _Candidate(row.id, row.tier, row.order, row.components, self.rationale, row.citations,
                          row.cautions, self.agents, self.treating)


@dataclass(slots=True)
class _Run:
    """Everything one call of `recommend` accumulates. A field without a default is set by the step that
    works it out (reading, mechanism, renal function, severity) before any later step reads it."""

    case: Case
    kn: Knowledge
    review_states: Mapping[str, str]
    strict: bool
    trace: list[Fields] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    monitoring: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    avoid: list[Avoid] = field(default_factory=list)
    used: set[str] = field(default_factory=set)
    left_out: list[str] = field(default_factory=list)
    excluded: dict[str, str] = field(default_factory=dict)
    pregnancy_left_out: list[str] = field(default_factory=list)
    cautions: dict[str, list[str]] = field(default_factory=dict)
    activity: dict[tuple[str, bool], str | None] = field(default_factory=dict)
    matched: _Matched | None = None
    reading: SusceptibilityReading = field(init=False)
    mechanism: MechanismFinding = field(init=False)
    facts: dict[str, object] = field(init=False)
    renal: RenalAssessment = field(init=False)
    renal_summary: str = field(init=False)
    risk: IncrementCpe = field(init=False)
    severe: bool = field(init=False)
    site: str = field(init=False)
    profile: str = field(init=False)

    def __post_init__(self) -> None:
        # read on every step: plain strings, as an enum's `.value` is a slow property
        self.site = self.case.infection.site.value
        self.profile = self.case.context.guideline_profile.value

    def step(self, name: str, finding: str, citations: list[str] | tuple[str, ...]) -> None:
        """One trace entry; `citations` must hold each source once (callers pass sets made sorted lists,
        or lists kept unique as they grew)."""
        self.trace.append({"step": name, "finding": finding, "citations": citations})

    def add(self, target: list[str], text: str) -> None:
        if text not in target:
            target.append(text)

    def status(self, item_id: str, default: str) -> str:
        return self.review_states.get(item_id, default)

    def allowed(self, item_id: str, default: str) -> bool:
        """In strict mode only approved items may shape the answer."""
        if not self.strict or self.status(item_id, default) == "approved":
            return True
        self.add(self.left_out, item_id)
        return False


def recommend(
    case: Case | Mapping[str, Any],
    *,
    knowledge: Knowledge | None = None,
    review_states: Mapping[str, str] | None = None,
    strict: bool = False,
) -> Recommendation:
    """Ranked, dosed, cited treatment options for one CRE case.

    `review_states` maps knowledge item ids to their board review state (from the review
    store); `strict` leaves out every item the board has not approved and says which.
    """
    case = case if isinstance(case, Case) else _validate_case(case)
    run = _Run(case, knowledge or default_knowledge(), review_states or {}, strict)
    classify_site(run)
    read_results(run)
    check_scope(run)
    identify_mechanism(run)
    assess_renal(run)
    assess_severity(run)
    plans = select_candidates(run)
    candidates = apply_filters(run, plans)
    candidates = build_combination(run, candidates)
    options = dose_and_rank(run, candidates)
    compile_safety(run, options)
    return _assemble(run, options)


# ---- steps ------------------------------------------------------------------------------


def classify_site(run: _Run) -> None:
    """Any urinary infection in an adult man is complicated (IDSA 2024): his "cystitis" is read with the
    complicated-UTI tables, and the answer says so, as single-dose and bladder-only agents do not suffice."""
    if run.site != Site.cystitis:
        return
    if run.case.patient.sex is None:
        run.add(run.missing, "Sex: a urinary tract infection in a man is complicated, and would be treated as such.")
    if run.case.patient.sex is not Sex.male:
        return
    run.site = Site.urinary_complicated.value
    statement = run.kn.statements["site-male-cystitis-is-cuti"]
    _say(run, statement, run.warnings)
    run.step("classify_site", "Cystitis in a man: treated as complicated urinary tract infection.", statement.citations)


def check_scope(run: _Run) -> None:
    """Adults with an Enterobacterales isolate that is carbapenem-resistant (SPEC section 0)."""
    case = run.case
    organism = run.kn.organism(case.isolate.organism)
    if imipenem_exception_applies(run.reading, organism, case.isolate.carbapenemase):
        raise NotCre(
            f"isolate.susceptibility: this {organism.name} is not carbapenem-resistant Enterobacterales. Proteus, "
            "Morganella and Providencia have naturally raised imipenem MICs, so IDSA 2024 counts them as CRE only when "
            "a carbapenem other than imipenem tests resistant or a carbapenemase is found; here meropenem/ertapenem "
            "test susceptible and no carbapenemase is reported. Treat it as a non-CRE isolate by its susceptibility "
            "results and local guidance; this tool covers CRE only."
        )
    resistant = resistant_carbapenems(run.reading, organism)
    if case.isolate.carbapenemase:
        basis = f"carbapenemase reported ({', '.join(case.isolate.carbapenemase)})"
    elif resistant:
        basis = f"not susceptible to {', '.join(resistant)}"
    else:
        basis = "carbapenem resistance taken as stated by the requester"
        imipenem = run.reading.get("imipenem-cilastatin")
        if organism.family == "Morganellaceae" and imipenem is not None and imipenem.active is not True:
            run.add(run.missing, f"Meropenem or ertapenem result: imipenem alone does not make {organism.name} "
                    "carbapenem-resistant (IDSA 2024 CRE definition); if both test susceptible and no carbapenemase "
                    "is found, the isolate is not CRE and this plan does not apply.")
    run.step("check_scope", f"Adult, {organism.name} ({organism.family}); CRE: {basis}.", ["idsa-2024"])


def read_results(run: _Run) -> None:
    isolate = run.case.isolate
    run.reading = read_susceptibility(isolate, run.site, run.kn)
    reading = run.reading
    if not isolate.susceptibility:
        run.add(run.missing, "Susceptibility results, at least for ceftazidime-avibactam, meropenem-vaborbactam, "
                "imipenem-relebactam, cefiderocol and the carbapenems: they decide which option is active.")
    for text in reading.warnings:
        run.add(run.warnings, text)
    for text in reading.missing_data:
        run.add(run.missing, text)
    summary = "; ".join(reading.trace) if reading.trace else "no susceptibility results given"
    run.step("read_susceptibility", f"Breakpoints {isolate.breakpoints}. {summary}", reading.citations)


def identify_mechanism(run: _Run) -> None:
    found = classify_mechanism(
        run.case.isolate, run.reading, run.case.context,
        recent_cza=run.case.patient.recent_ceftazidime_avibactam, knowledge=run.kn,
    )
    run.mechanism = found
    run.facts = _facts(run)
    for text in found.warnings:
        run.add(run.warnings, text)
    for text in found.missing_data:
        run.add(run.missing, text)
    run.step("identify_mechanism", found.trace or found.explanation, list(dict.fromkeys(found.citations)))


def assess_renal(run: _Run) -> None:
    run.renal = assess_renal_function(run.case.patient)
    for text in run.renal.missing:
        run.add(run.missing, text)
    for text in run.renal.flags:
        run.add(run.warnings, text)
    run.renal_summary = run.renal.summary  # a property that builds the text on each read
    run.step("assess_renal_function", run.renal_summary, ["idsa-2024"])


def assess_severity(run: _Run) -> None:
    """Severe = septic shock, 'severe', or INCREMENT-CPE >= 8 (SPEC section 4)."""
    infection = run.case.infection
    run.risk = increment_cpe(infection)
    run.severe = infection.severity is not Severity.non_severe or run.risk.category == "high"
    score = "not given" if run.risk.score is None else f"{run.risk.score} ({run.risk.category} risk)"
    run.step(
        "assess_severity",
        f"Severity {infection.severity.value}; INCREMENT-CPE {score}; "
        f"{'severe' if run.severe else 'not severe'} for the choice of combination therapy.",
        ["increment-cpe-2016", "increment-2017"] if run.risk.score is not None else ["escmid-2022"],
    )


def select_candidates(run: _Run) -> list[_RowPlan]:
    """Regimen rows of this profile for this mechanism group, site and severity."""
    matched = _matches(run)
    plans = list(matched.plans.values())
    if run.strict:
        plans = [plan for plan in plans if run.allowed(plan.row.id, plan.row.review_status)]
    run.step(
        "select_candidates",
        f"Profile {run.profile}, table '{run.mechanism.group}', site "
        f"{run.site}: {len(plans)} candidate regimens "
        f"({', '.join(plan.label for plan in plans) or 'none'}).",
        matched.row_citations,
    )
    return plans


def apply_filters(run: _Run, plans: list[_RowPlan]) -> list[_Candidate]:
    """Drop what is inactive, unavailable, contraindicated or ruled out for this site or mechanism."""
    kept: list[_Candidate] = []
    dropped: list[str] = []
    for plan in plans:
        reason = _row_problem(run, plan)
        if reason is None and plan.row.only_without_preferred and any(k.tier == "preferred" for k in kept):
            reason = "only offered when no preferred option remains"
        if reason is not None:
            dropped.append(f"{plan.label}: {reason}")
            continue
        kept.append(plan.candidate())
    _add_anaerobic_cover(run, kept)
    run.step(
        "apply_filters",
        f"{len(kept)} of {len(plans)} regimens remain." + (f" Removed: {'; '.join(dropped)}." if dropped else ""),
        ["idsa-2024"],
    )
    return kept


def build_combination(run: _Run, candidates: list[_Candidate]) -> list[_Candidate]:
    """Step 3 (SPEC section 4): older agents when no newer agent or active carbapenem remains."""
    if any(_has_reliable_agent(run, c) for c in candidates):
        return candidates
    cfg = run.kn.combination
    urinary = run.site in run.kn.site_rules["urinary_sites"]
    if run.site in cfg.single_agent_sites or (urinary and candidates):
        # IDSA 2024 Q3.1-Q3.2 list single agents for the bladder and kidney and Q3.10 suggests no combination:
        # an older-agent pair is built only when no single active agent fits the site.
        run.step("build_combination", f"No older-agent combination for {run.site.replace('_', ' ')}: "
                 + ("a single active agent fits the site." if candidates
                    else "the guidance suggests single agents only, and none is active, available or tolerated."),
                 ["idsa-2024:Q3.1", "idsa-2024:Q3.2", "idsa-2024:Q3.10"])
        return candidates
    if not run.allowed(cfg.id, cfg.review_status):
        return candidates
    escmid = run.profile == "escmid-2022"
    tier = "alternative" if escmid else "last_resort"
    backbones = [a for a in cfg.backbones["urinary" if urinary else "systemic"] if _older_active(run, a)]
    companions = [
        a for a in cfg.companions
        if run.site not in cfg.companion_excluded_sites.get(a, ()) and _older_active(run, a)
    ]
    built: list[_Candidate] = []
    if run.severe or not cfg.older_single_agents.get(run.site):
        built = _pairs(run, backbones, companions, tier)
        if run.severe and not built and not candidates:
            statement = run.kn.statements["step3-no-combination-possible"]
            _say(run, statement, run.warnings)
    else:
        singles = [a for a in cfg.older_single_agents[run.site] if _older_active(run, a)]
        for order, agent in enumerate(singles[:2], start=1):
            built.append(_Candidate.of(
                cfg.id, tier, 20 + order, (Component(agent=agent),),
                f"No newer agent is active, available or tolerated and the infection is not severe: one "
                f"active older agent chosen for the {run.site.replace('_', ' ')} source.",
                cfg.citations,
            ))
    existing = {frozenset(c.agents) for c in candidates}
    built = [b for b in built if frozenset(b.agents) not in existing]
    if built:
        _say(run, run.kn.statements["step3-id-consult"], run.warnings)
        if run.site == Site.bloodstream and run.risk is not None and run.risk.score is None:
            _say(run, run.kn.statements["step3-increment-missing"], run.missing)
        _add_anaerobic_cover(run, built)
    run.used.add(cfg.id)
    run.step(
        "build_combination",
        "No newer agent active, available or tolerated. "
        + (f"Older-agent regimens: {'; '.join(b.label for b in built)}." if built
           else "No older-agent regimen meets the rules for this case."),
        list(dict.fromkeys(cfg.citations)),
    )
    return candidates + built


def dose_and_rank(run: _Run, candidates: list[_Candidate]) -> list[Fields]:
    """Rank by tier and guideline order (patient factors break ties), then dose every component."""
    candidates = _pregnancy_last(run, _enforce_single_agent_rule(run, candidates))
    recent_cza = run.case.patient.recent_ceftazidime_avibactam

    def key(c: _Candidate) -> tuple[int, int, int]:
        demoted = int(recent_cza and "ceftazidime-avibactam" in c.agents)
        return TIER_RANK[c.tier], demoted, c.order

    ordered = sorted(candidates, key=key)
    peers: dict[tuple[str, int], list[_Candidate]] = {}
    for cand in ordered:
        peers.setdefault((cand.tier, cand.order), []).append(cand)
    options: list[Fields] = []
    notes: list[str] = []
    for cand in ordered:
        items, problem = _dose_components(run, cand)
        if problem is not None:
            notes.append(f"{cand.label}: {problem}")
            run.add(run.warnings, f"{cand.label} left out: {problem}.")
            continue
        rationale = cand.rationale + _tie_note(cand, peers[cand.tier, cand.order], recent_cza)
        citations = list(dict.fromkeys([*cand.citations, *(c for item in items for c in item.citations)]))
        agent_cautions = (text for agent in cand.agents for text in run.cautions.get(agent, ()))
        cautions = list(dict.fromkeys([*cand.cautions, *agent_cautions]))
        options.append({
            "rank": len(options) + 1, "tier": cand.tier, "regimen": items, "rationale": rationale,
            "citations": citations, "cautions": cautions, "id": cand.row_id,
        })
        run.used.add(cand.row_id)
    run.step(
        "dose_regimens",
        f"{len(options)} options dosed for {run.renal_summary}." + (f" Not dosable: {'; '.join(notes)}." if notes else ""),
        sorted({c for o in options for item in o["regimen"] for c in item.citations}),
    )
    return options


def compile_safety(run: _Run, options: list[Fields]) -> None:
    """What to avoid, warnings, monitoring and ICU notes for the options actually offered."""
    regimens = [[item.agent for item in o["regimen"]] for o in options]
    offered = {agent for agents in regimens for agent in agents}
    matched = _matches(run)
    run.used.update(matched.avoid_ids)
    found: list[Avoid] = []  # this case's entries, after the rules' (whose citations are known already)
    rules = _without_offered(matched.avoid_entries, offered)
    named = {agent for entry in rules for agent in entry.agents} | offered  # each agent in one place only
    resistant, intrinsic = _resistant_agents(run.reading)
    for section, agents in _by_breakpoint_section(run, [a for a in resistant if a not in named]).items():
        found.append(Avoid(
            agents=agents, reason=f"The isolate tests resistant (or not susceptible) to these ({_section_name(section)}).",
            citations=[section],
        ))
    intrinsic = [a for a in intrinsic if a not in named]
    if intrinsic:
        found.append(Avoid(
            agents=intrinsic,
            reason=f"{run.case.isolate.organism} is intrinsically resistant to these (expected resistant "
                   "phenotype), whatever a laboratory result says.",
            citations=["eucast-expected-resistant-phenotypes"],
        ))
    for agents, reason, citations in _patient_exclusions(run):
        kept = [a for a in agents if a not in offered]
        if kept:
            found.append(Avoid(agents=kept, reason=reason, citations=citations))
    run.avoid += (*rules, *found)

    agents_info = run.kn.agents
    if regimens and len(regimens[0]) == 1 and agents_info[regimens[0][0]].newer_agent:
        result = run.reading.get(regimens[0][0])
        if result is not None and result.active:
            _say(run, run.kn.statements["pitfall-no-added-combination"], run.warnings)
    if run.case.patient.recent_ceftazidime_avibactam:
        _say(run, run.kn.statements["warning-recent-ceftazidime-avibactam"], run.warnings)
    if _kpc_variant_pattern(run):
        _say(run, run.kn.statements["warning-kpc-variant-meropenem-restored"], run.warnings)
    if any(_polymyxin_with_aminoglycoside(run.kn, agents) for agents in regimens):
        _say(run, run.kn.statements["step3-nephrotoxicity"], run.warnings)
    if any(a.reaction not in SEVERE_REACTIONS and _allergy_hits(run, a.agent) & offered
           for a in run.case.patient.allergies):
        _say(run, run.kn.statements["allergy-mild-not-contraindication"], run.warnings)
    if run.case.infection.source_control is None:
        run.add(run.missing, "Source control status (achieved, pending, not needed, not possible): "
                "drainage, device removal or surgery decides whether any regimen can work.")
    for agents in regimens:
        for agent in agents:
            for text in _dose_monitoring(run, agent):
                run.add(run.monitoring, text)

    for statement, agents_any, monitoring in matched.statements:
        if not agents_any or not offered.isdisjoint(agents_any):
            _say(run, statement, run.monitoring if monitoring else run.warnings)
    cited = matched.avoid_citations.union(c for a in found for c in a.citations)
    run.step(
        "compile_safety",
        f"{len(run.avoid)} avoid entries, {len(run.warnings)} warnings, {len(run.monitoring)} monitoring items.",
        sorted(cited),
    )


# ---- helpers ----------------------------------------------------------------------------


def _without_offered(entries: tuple[Avoid, ...], offered: set[str]) -> list[Avoid]:
    """The avoid rules without the agents an option gives: a plan never tells the reader not to give what it
    offers. A rule against an agent alone ("not alone for MBL") loses that agent when an option gives it inside
    a combination; such pairs are regimen rows whose rationale and cautions say why the pair is active."""
    kept = []
    for entry in entries:
        if offered.isdisjoint(entry.agents):
            kept.append(entry)
            continue
        agents = tuple(a for a in entry.agents if a not in offered)
        if agents:
            kept.append(Avoid(agents=agents, reason=entry.reason, citations=entry.citations))
    return kept


def _by_breakpoint_section(run: _Run, agents: list[str]) -> dict[str, list[str]]:
    """Resistant agents grouped by the breakpoint-table section of their class, which each group then cites."""
    tables = run.kn.breakpoint_tables
    table = tables.table(run.case.isolate.breakpoints) or tables.table("EUCAST-2026")
    groups: dict[str, list[str]] = {}
    for agent in agents:
        result = run.reading.get(agent)
        cites = list(result.citations) if result is not None else []
        if not cites and table is not None:
            cites = [c for row in table.rows_for(agent)[:1] for c in row.citations]
        groups.setdefault(cites[0] if cites else "eucast-bp-16.1:Enterobacterales", []).append(agent)
    return groups


def _section_name(citation: str) -> str:
    ref, _, locator = citation.partition(":")
    return f"breakpoint section {locator}, {ref}" if locator else f"breakpoints {ref}"


def _kpc_variant_pattern(run: _Run) -> bool:
    """KPC reported, ceftazidime-avibactam resistant, meropenem susceptible: a KPC variant (IDSA 2024 Q3.7)."""
    cza, meropenem = run.reading.get("ceftazidime-avibactam"), run.reading.get("meropenem")
    return ("KPC" in (run.case.isolate.carbapenemase or ()) and cza is not None and cza.active is False
            and meropenem is not None and meropenem.category == "S")


def _polymyxin_with_aminoglycoside(kn: Knowledge, agents: list[str]) -> bool:
    """The pairing whose nephrotoxicity adds up, which the warning names (other pairs do not fire it)."""
    classes = {kn.agents[a].drug_class for a in agents}
    return {"polymyxin", "aminoglycoside"} <= classes


def _resistant_agents(reading: SusceptibilityReading) -> tuple[list[str], list[str]]:
    """Agents the isolate tests resistant to, and those it resists intrinsically, in one pass."""
    resistant, intrinsic = [], []
    for result in reading.results.values():
        if result.source == "intrinsic":
            intrinsic.append(result.agent)
        elif result.active is False:
            resistant.append(result.agent)
    return resistant, intrinsic


def _say(run: _Run, statement: Statement, target: list[str]) -> None:
    if not run.strict or run.allowed(statement.id, statement.review_status):
        run.used.add(statement.id)
        run.add(target, statement.text["clinician"])


def _facts(run: _Run) -> dict[str, object]:
    """The case values `Applies` conditions test, computed once per run."""
    case, mech = run.case, run.mechanism
    infection = case.infection
    return {
        "profiles": run.profile,
        "groups": mech.group,
        "sites": run.site,
        "severities": infection.severity.value,
        "source_control": infection.source_control.value if infection.source_control else None,
        "renal_replacement": case.patient.renal_replacement.value,
        "basis": mech.basis,
        "organism_genera": run.kn.organism(case.isolate.organism).genus,
    }


def _applies(run: _Run, applies: Applies) -> bool:
    """Whether a row's or statement's conditions hold for this case (empty field = any)."""
    facts = run.facts
    for name, allowed in _condition_table(run.kn)[id(applies)]:
        if facts[name] not in allowed:
            return False
    if applies.severe is not None and applies.severe != run.severe:
        return False
    if applies.pregnant is not None and applies.pregnant != run.case.patient.pregnant:
        return False
    return True


_MATCHED_FIELDS = ("profiles", "groups", "sites", "severities", "source_control", "renal_replacement", "basis",
                   "organism_genera")


def _condition_table(kn: Knowledge) -> dict[int, tuple[tuple[str, frozenset[object]], ...]]:
    """id of each item's `Applies` (alive as long as the knowledge base) -> the fields that restrict anything, as
    sets: worked out once per knowledge base for every row, avoid rule and statement, since a new combination of
    case facts tests them all."""
    memo = kn.memos["engine.conditions"]
    table = memo.get(None)
    if table is None:
        items = (*kn.regimens, *kn.avoid_rules, *kn.statements.values())
        table = memo[None] = {
            id(item.applies): tuple((name, frozenset(allowed)) for name in _MATCHED_FIELDS
                                    if (allowed := getattr(item.applies, name)))
            for item in items
        }
    return table


@dataclass(frozen=True)
class _Matched:
    """Knowledge items whose conditions hold for one combination of case facts."""

    plans: dict[str, _RowPlan]
    """regimen row id -> plan, in the knowledge base's row order"""
    row_citations: tuple[str, ...]
    """every citation of those rows, sorted, for the trace"""
    avoid_ids: tuple[str, ...]
    avoid_entries: tuple[Avoid, ...]
    """the avoid rules in the answer's shape, built once here rather than for every case"""
    avoid_citations: frozenset[str]
    statements: tuple[tuple[Statement, tuple[str, ...], bool], ...]
    """statements to say, with the agents one of which must be offered (none: always) and whether it
    goes under monitoring (else warnings)"""


def _matches(run: _Run) -> _Matched:
    """Rows, avoid rules and statements that apply, memoised per knowledge base and fact combination
    (a finite set: profile x group x site x severity x ...), so each case tests no condition twice."""
    if run.matched is None:
        key = (*run.facts.values(), run.severe, run.case.patient.pregnant)
        memo: dict[tuple[object, ...], _Matched] = run.kn.memos["engine.matches"]
        found = memo.get(key)
        if found is None:
            found = memo[key] = _match(run)
        run.matched = found
    return run.matched


def _match(run: _Run) -> _Matched:
    """Test every condition once for this fact combination (the memo in `_matches` keeps the result)."""
    kn = run.kn
    avoid_rules = tuple(r for r in kn.avoid_rules if _applies(run, r.applies))
    forbidden: dict[str, str] = {}  # agent -> short reason, from rules that forbid it in any regimen
    forbidden_alone: dict[str, str] = {}  # the same, adding the rules that forbid it as a single agent
    for rule in avoid_rules:
        short = rule.reason.split(":")[0].strip().rstrip(".")
        for agent in rule.agents:
            forbidden_alone.setdefault(agent, short)
            if rule.scope == "any":
                forbidden.setdefault(agent, short)
    rows = [r for r in kn.regimens_by_site[run.site] if _applies(run, r.applies)]
    return _Matched(
        plans={row.id: _plan(row, forbidden, forbidden_alone) for row in rows},
        row_citations=tuple(sorted({c for row in rows for c in row.citations})),
        avoid_ids=tuple(rule.id for rule in avoid_rules),
        avoid_entries=tuple(
            Avoid(agents=rule.agents, reason=rule.reason.strip(), citations=rule.citations)
            for rule in avoid_rules
        ),
        avoid_citations=frozenset(c for rule in avoid_rules for c in rule.citations),
        statements=tuple(
            (st, st.applies.agents_any, st.kind in ("monitoring", "icu_note")) for st in kn.statements.values()
            if st.kind not in ("disclaimer", "missing_data", "topic_note") and st.id not in CODE_FIRED_STATEMENTS
            and _applies(run, st.applies)
        ),
    )


def _agents(components: tuple[Component, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A regimen's agents, and those of them that treat the isolate (all but the anaerobic add-on)."""
    return tuple(c.agent for c in components), tuple(c.agent for c in components if c.role != "anaerobic")


def _plan(row: RegimenRow, forbidden: dict[str, str], forbidden_alone: dict[str, str]) -> _RowPlan:
    """A row's agents and the avoid rule that rules it out, if any: they depend only on the facts."""
    agents, treating = _agents(row.components)
    ruled_out = forbidden_alone if len(treating) == 1 else forbidden
    reason = next((ruled_out[a] for a in agents if a in ruled_out), None)
    return _RowPlan(row, agents, treating, row.rationale.strip(), reason, " + ".join(agents))


def _row_problem(run: _Run, plan: _RowPlan) -> str | None:
    """Why this regimen cannot be offered for this case, or None when it can."""
    row = plan.row
    if row.condition is not None and not _condition(run, row.condition):
        return f"condition '{row.condition}' not met"
    if row.activity_surrogate is not None:
        surrogate = run.reading.get(row.activity_surrogate)
        if surrogate is not None and surrogate.active is not True:
            return f"{row.activity_surrogate} (which stands for the pair) is not shown active"
    for comp in row.components:
        problem = _agent_problem(run, comp.agent)
        if problem is not None:
            return problem
        if comp.role != "active":
            continue
        problem = _activity_problem(run, comp.agent, required=comp.agent in row.requires_tested)
        if problem is not None:
            return problem
    return plan.forbidden


def _agent_problem(run: _Run, agent: str) -> str | None:
    """Patient and hospital reasons an agent cannot be given at all (cached per run)."""
    if agent in run.excluded:
        return run.excluded[agent] or None
    problem = None
    patient = run.case.patient
    info = run.kn.agents[agent]
    if info.never_for_cre:
        problem = "not active against CRE"
    elif agent in run.case.context.unavailable_agents:
        problem = "not available at this hospital now"
    elif patient.pregnant and info.pregnancy == "avoid":
        problem = "not for use in pregnancy"
    else:
        for allergy in patient.allergies:
            if agent in _allergy_hits(run, allergy.agent):
                if allergy.reaction in SEVERE_REACTIONS:
                    problem = f"{allergy.reaction.value.replace('_', ' ')} to {allergy.agent}"
                    break
                run.cautions.setdefault(agent, []).append(
                    f"Recorded {allergy.reaction.value} reaction to {allergy.agent}: not a contraindication; "
                    "give with monitoring."
                )
    run.excluded[agent] = problem or ""
    return problem


def _allergy_hits(run: _Run, allergen: str) -> frozenset[str]:
    """Agents an allergy to `allergen` (an agent or a class) extends to (memoised per knowledge base)."""
    memo: dict[str, frozenset[str]] = run.kn.memos["engine.allergy_extent"]
    if allergen not in memo:
        memo[allergen] = frozenset(_allergy_extent(run.kn, allergen))
    return memo[allergen]


def _allergy_extent(kn: Knowledge, allergen: str) -> set[str]:
    agents = kn.agents
    if allergen not in agents:
        return {a for a, info in agents.items() if allergen in info.allergy_groups}
    parts = {allergen, *agents[allergen].contains}
    side_chains = {g for p in parts for g in agents[p].allergy_groups if g.endswith("side-chain")}
    return {
        a for a, info in agents.items()
        if a in parts or parts & set(info.contains) or side_chains & set(info.allergy_groups)
    }


def _activity_problem(run: _Run, agent: str, *, required: bool) -> str | None:
    """An agent must be active in vitro, or expected to be for this mechanism (with a caution)."""
    key = (agent, required)
    if key not in run.activity:
        run.activity[key] = _judge_activity(run, agent, required)
    return run.activity[key]


def _judge_activity(run: _Run, agent: str, required: bool) -> str | None:
    result = run.reading.get(agent)
    if result is not None and result.active is True:
        tables = run.kn.breakpoint_tables
        fallback = tables.fallback_for(tables.resolve(run.case.isolate.breakpoints))
        if fallback is not None and result.table == fallback.label:
            run.cautions.setdefault(agent, []).append(
                f"{agent} counts as susceptible by the {fallback.title} (a labelled fallback: the case's table has "
                "no breakpoint for it); confirm the category with the laboratory."
            )
        if result.high_exposure:
            run.cautions.setdefault(agent, []).append(
                f"{agent} is 'susceptible, increased exposure' (EUCAST I): only the high-exposure dose is active."
            )
        return None
    if result is not None and result.active is False:
        return "isolate not susceptible" if result.source != "intrinsic" else "intrinsic resistance"
    if result is not None:
        return "its result cannot be interpreted (see missing data)"  # an MIC given but not placed: never assume
    expected = set(run.mechanism.enzymes) or set(EXPECTATION_BY_GROUP[run.mechanism.group])
    info = run.kn.agents[agent]
    if required or not expected or not expected <= set(info.expected_active_against):
        run.add(run.missing, f"{info.name} susceptibility (MIC): needed before it can be offered.")
        return "no susceptibility result"
    run.add(run.missing, f"{info.name} susceptibility (MIC), to confirm the expected activity.")
    run.cautions.setdefault(agent, []).append(
        f"No {info.name} result yet: activity is expected against {', '.join(sorted(expected))} but must be "
        "confirmed by testing."
    )
    return None


def _condition(run: _Run, name: str) -> bool:
    """Named microbiological conditions used by regimen rows."""
    if name == "meropenem_mic_le_1":
        return bool(mic_at_most(run.reading.get("meropenem"), 1))
    if name == "imipenem_mic_le_1":
        return bool(mic_at_most(run.reading.get("imipenem-cilastatin"), 1))
    if name == "no_oxa48":
        return run.mechanism.basis == "reported" and "OXA-48-like" not in run.mechanism.enzymes
    raise ValueError(f"unknown regimen condition '{name}'")


def _has_reliable_agent(run: _Run, cand: _Candidate) -> bool:
    """A newer agent or an active carbapenem: nothing older is then needed."""
    agents = run.kn.agents
    return any(agents[a].newer_agent or agents[a].drug_class == "carbapenem" for a in cand.treating)


def _older_active(run: _Run, agent: str) -> bool:
    """An older agent joins Step 3 only with a result showing it active (meropenem: MIC <= limit)."""
    if _agent_problem(run, agent) is not None:
        return False
    if agent == "meropenem":
        result = run.reading.get("meropenem")
        limit = _meropenem_limit(run)
        return bool(mic_at_most(result, limit)) and (result is None or result.active is not False)
    result: AgentResult | None = run.reading.get(agent)
    if result is None and agent == "polymyxin-b":
        colistin = run.reading.get("colistin")
        if colistin is not None and colistin.active:
            run.cautions.setdefault(agent, []).append(
                "Polymyxin B activity read from the colistin result: the two share resistance.")
            return True
    return result is not None and result.active is True


def _meropenem_limit(run: _Run) -> float:
    """Highest meropenem MIC at which it may join an older-agent combination under this profile."""
    return run.kn.combination.meropenem_max_mic_mg_l[run.profile]


def _pairs(run: _Run, backbones: list[str], companions: list[str], tier: str) -> list[_Candidate]:
    """Two-drug regimens: a polymyxin backbone with each active companion, else two companions.

    One companion per drug class, so a regimen never holds two aminoglycosides (their labels warn against
    concurrent use). Under IDSA 2024, which does not suggest polymyxins (Q3.9) and names tigecycline and
    eravacycline as alternatives outside blood and urine (Q3.8), a polymyxin-free pair with a tetracycline ranks
    first; ESCMID 2022 keeps the polymyxin backbone first."""
    cfg, agents = run.kn.combination, run.kn.agents
    distinct: list[str] = []
    for agent in companions:
        if all(agents[a].drug_class != agents[agent].drug_class for a in distinct):
            distinct.append(agent)
    polymyxin_pairs = [(backbones[0], c) for c in distinct[:3]] if backbones else []
    companion_pairs = [(a, b) for i, a in enumerate(distinct) for b in distinct[i + 1:]][:2]
    planned: list[tuple[tuple[str, str], str]]
    if run.profile == "idsa-2024":
        tetracycline_pairs = [p for p in companion_pairs if any(agents[a].drug_class == "tetracycline" for a in p)]
        planned = [(p, "alternative") for p in tetracycline_pairs] + [(p, tier) for p in polymyxin_pairs or companion_pairs
                                                                        if p not in tetracycline_pairs]
    else:
        planned = [(p, tier) for p in polymyxin_pairs or companion_pairs]
    tetracycline_pair = any(agents[a].drug_class == "tetracycline" for p in companion_pairs for a in p)
    built = []
    for order, ((first, second), pair_tier) in enumerate(planned, start=1):
        cautions: tuple[str, ...] = ()
        if second == "meropenem":
            limit = _meropenem_limit(run)
            cautions = (f"Meropenem only as high-dose 3-hour infusion, and only because its MIC is <= {limit:g} mg/L.",)
        built.append(_Candidate.of(
            cfg.id, pair_tier, 20 + order, (Component(agent=first), Component(agent=second)),
            _pair_rationale(run, first, second, tetracycline_pair), _pair_citations(run, first, second), cautions,
        ))
    return built


def _pair_rationale(run: _Run, first: str, second: str, tetracycline_pair: bool) -> str:
    """Why this pair, in words that name what it holds and the rule that asked for two drugs; where the two
    profiles rank it differently, the other profile's order is said too."""
    if run.severe:
        why = "Severe infection: ESCMID 2022 advises two drugs active in vitro"
    else:
        why = f"No older agent is suggested alone for {run.site.replace('_', ' ')} infection, so two active drugs are used"
    text = f"No newer agent is active, available or tolerated. {why}: {first} with {second}, chosen by susceptibility."
    kinds = {run.kn.agents[a].drug_class for a in (first, second)}
    if run.profile == "idsa-2024" and "polymyxin" in kinds:
        text += " IDSA 2024 does not suggest polymyxins outside cystitis: a last resort under this profile."
    elif run.profile == "idsa-2024" and "tetracycline" in kinds:
        text += (" IDSA 2024 names tigecycline and eravacycline as alternatives outside blood and urine and does not "
                 "suggest polymyxins, so this pair ranks before any polymyxin regimen; under ESCMID 2022 a "
                 "polymyxin-based pair would rank first.")
    elif "polymyxin" in kinds and tetracycline_pair:
        text += (" Under IDSA 2024, which does not suggest polymyxins, a tigecycline pair without a polymyxin would "
                 "rank first here.")
    return text


def _pair_citations(run: _Run, first: str, second: str) -> tuple[str, ...]:
    cited = run.kn.combination.citations
    if run.profile == "idsa-2024" and any(run.kn.agents[a].drug_class == "tetracycline" for a in (first, second)):
        return (*cited, "idsa-2024:Q3.8")
    return cited


def _add_anaerobic_cover(run: _Run, candidates: list[_Candidate]) -> None:
    rules = run.kn.site_rules
    if run.site not in rules["anaerobic_cover_sites"]:
        return
    companion = rules["anaerobic_companion"]
    if _agent_problem(run, companion) is not None:
        return
    for cand in candidates:
        if not any(run.kn.agents[a].anaerobic_cover for a in cand.agents):
            cand.add_anaerobic(companion)
            cand.rationale += f" Add {companion} for anaerobic cover."
            cand.citations += tuple(c for c in rules["anaerobic_citations"] if c not in cand.citations)


def _enforce_single_agent_rule(run: _Run, candidates: list[_Candidate]) -> list[_Candidate]:
    """Severe infection outside the urinary tract: never a polymyxin, aminoglycoside or tetracycline
    alone (SPEC section 6); in the urinary tract IDSA 2024 Q3.1-3.2 allow an aminoglycoside alone."""
    if not run.severe or run.site in run.kn.site_rules["urinary_sites"]:
        return candidates
    kept, alone = [], []
    for cand in candidates:
        treating = cand.treating
        if len(treating) == 1 and run.kn.agents[treating[0]].drug_class in SINGLE_AGENT_LIMITED:
            alone.append(treating[0])
            continue
        kept.append(cand)
    if alone:  # one warning for the one fact, naming every agent it removed
        run.add(run.warnings, f"Not given alone for severe infection: {', '.join(dict.fromkeys(alone))}.")
    return kept


def _pregnancy_last(run: _Run, candidates: list[_Candidate]) -> list[_Candidate]:
    """In pregnancy an agent whose label warns of fetal harm (the aminoglycosides) is offered only when no safer
    active option remains, then with the label warning; otherwise it is left out and the avoid list says why."""
    if not run.case.patient.pregnant:
        return candidates
    agents = run.kn.agents
    risky = [c for c in candidates if any(agents[a].pregnancy == "last_resort" for a in c.treating)]
    if not risky:
        return candidates
    statement = run.kn.statements["pregnancy-aminoglycosides"]
    run.used.add(statement.id)
    safer = [c for c in candidates if c not in risky]
    if safer:
        run.pregnancy_left_out.extend(dict.fromkeys(a for c in risky for a in c.treating if agents[a].pregnancy))
        return safer
    for cand in risky:
        cand.cautions += (statement.text["clinician"],)
        cand.citations += tuple(c for c in statement.citations if c not in cand.citations)
    return candidates


def _dose_components(run: _Run, cand: _Candidate) -> tuple[list[RegimenItem], str | None]:
    kn, renal, patient, results = run.kn, run.renal, run.case.patient, run.reading.results
    items = []
    for comp in cand.components:
        dosing = kn.dosing.agents.get(comp.agent)
        if dosing is None or (run.strict and not run.allowed(dosing.id, dosing.review_status)):
            return [], f"no approved dose table for {comp.agent}"
        variant = comp.variant
        result = results.get(comp.agent)
        if variant == "default" and result is not None and result.high_exposure and "high_exposure" in dosing.variants:
            variant = "high_exposure"
        dose = dose_for(comp.agent, renal=renal, patient=patient, site=run.site, variant=variant, route=comp.route,
                        knowledge=kn)
        if dose.not_recommended:
            return [], f"{comp.agent} is not recommended for {dose.band} ({'; '.join(dose.notes)})"
        run.used.add(dosing.id)
        items.append(_regimen_item(run.kn, dose, anaerobic=comp.role == "anaerobic"))
    if patient.renal_replacement is RenalReplacement.intermittent_hemodialysis:
        # The label's dialysis rows are by residual clearance (the renal step already asks for a CRRT rate).
        for item in items:
            if item.dose_options:
                run.add(run.missing, f"Residual creatinine clearance on haemodialysis (mL/min): it picks the "
                        f"{item.agent} dose among those listed.")
    return items, None


def _regimen_item(kn: Knowledge, dose: DoseResult, *, anaerobic: bool) -> RegimenItem:
    """The answer's item for a dose; the anaerobic add-on says why it is there. A fixed dose (one per table
    row, see `FixedDoseResult`) gets one item per knowledge base; the memo holds the dose, so its id is not reused."""
    if type(dose) is not FixedDoseResult:
        return _new_item(dose, anaerobic)
    memo: dict[tuple[int, bool], tuple[DoseResult, RegimenItem]] = kn.memos["engine.regimen_items"]
    key = (id(dose), anaerobic)
    kept = memo.get(key)
    if kept is None or kept[0] is not dose:
        kept = memo[key] = (dose, _new_item(dose, anaerobic))
    return kept[1]


def _new_item(dose: DoseResult, anaerobic: bool) -> RegimenItem:
    return RegimenItem(
        agent=dose.agent, route=dose.route, dose=dose.dose, dose_mg=dose.dose_mg, interval_h=dose.interval_h,
        infusion_h=dose.infusion_h, loading_dose_mg=dose.loading_dose_mg, adjusted_for=dose.adjusted_for,
        citations=dose.citations, notes=("for anaerobic cover", *dose.notes) if anaerobic else dose.notes,
        evidence=dose.evidence, dose_options=dose.dose_options,
    )


def _dose_monitoring(run: _Run, agent: str) -> tuple[str, ...]:
    dosing = run.kn.dosing.agents.get(agent)
    return () if dosing is None else dosing.monitoring


def _tie_note(cand: _Candidate, same_rank: list[_Candidate], recent_cza: bool) -> str:
    """Why this option sits where it does among options of the same tier and guideline order."""
    if recent_cza and "ceftazidime-avibactam" in cand.agents:
        return " Moved down: recent ceftazidime-avibactam exposure or a known resistant isolate (idsa-2024 Q3.7)."
    if len(same_rank) == 1:
        return ""
    names = ", ".join(p.label for p in same_rank if p is not cand)
    return f" Equal standing with {names}; choose by availability, allergy and renal function."


def _patient_exclusions(run: _Run) -> list[tuple[list[str], str, list[str]]]:
    """Avoid entries for allergy and pregnancy, naming the agents they rule out."""
    entries = []
    for allergy in run.case.patient.allergies:
        if allergy.reaction in SEVERE_REACTIONS:
            hits = sorted(_allergy_hits(run, allergy.agent))
            if hits:
                entries.append((hits, f"{allergy.reaction.value.replace('_', ' ').capitalize()} to {allergy.agent}: "
                                      "the same drug, products containing it and agents sharing its side chain "
                                      "(the agents listed here) are left out.", ["idsa-2024"]))
    if run.case.patient.pregnant:
        tetracyclines = sorted(a for a, i in run.kn.agents.items() if i.pregnancy == "avoid")
        statement = run.kn.statements["pregnancy-tetracyclines"]
        entries.append((tetracyclines, "Not for use in pregnancy.", list(statement.citations)))
        if run.pregnancy_left_out:
            statement = run.kn.statements["pregnancy-aminoglycosides"]
            entries.append((sorted(run.pregnancy_left_out), "Pregnancy: left out because safer active options remain "
                            "(fetal harm in the labels).", list(statement.citations)))
    return entries


def _assemble(run: _Run, options: list[Fields]) -> Recommendation:
    """The answer, validated in one go from the plain data the steps built."""
    mech, renal = run.mechanism, run.renal
    disclaimer = run.kn.statements["disclaimer"]
    run.used.add("disclaimer")
    run.used.update(item.agent for o in options for item in o["regimen"])
    if run.left_out:
        run.add(run.warnings, "Strict review mode: left out because not yet approved by your board: "
                + ", ".join(run.left_out) + ".")
    if not options:
        run.add(run.warnings, "No regimen in this knowledge base fits this case: consult infectious diseases.")
    return _validate_recommendation({
        "knowledge_version": run.kn.version,
        "mechanism": {"class": mech.class_, "enzymes": mech.enzymes, "basis": mech.basis,
                      "explanation": mech.explanation, "group": mech.group},
        "renal": {"crcl_ml_min": renal.crcl_ml_min, "method": renal.method, "weight_basis": renal.weight_basis,
                  "weight_kg": renal.weight_kg, "renal_replacement": renal.renal_replacement, "flags": renal.flags},
        "risk": {"increment_cpe_score": run.risk.score, "category": run.risk.category},
        "options": options, "avoid": run.avoid, "warnings": run.warnings, "monitoring": run.monitoring,
        "missing_data": run.missing, "trace": run.trace, "review": _review(run),
        "disclaimer": disclaimer.text["clinician"],
    })


def _agree(kn: Knowledge, overrides: Mapping[str, str], status: str) -> bool:
    """Whether the board's states leave every item in `status`.

    The review store hands every case the same read-only view until it reads the database again,
    so for such a view the answer is kept (for the last view seen); any other mapping may have
    changed since the last call and is checked afresh."""
    if not isinstance(overrides, MappingProxyType):
        return all(overrides.get(item_id, status) == status for item_id in kn.review_index)
    memo: dict[str, tuple[Mapping[str, str], bool]] = kn.memos["engine.overrides_agree"]
    last = memo.get("last")
    if last is None or last[0] is not overrides:
        last = memo["last"] = (overrides, all(overrides.get(item_id, status) == status for item_id in kn.review_index))
    return last[1]


def _review(run: _Run) -> Fields:
    """The least-reviewed item used, and the newest change date among them."""
    index, overrides = run.kn.review_index, run.review_states
    used = run.used & index.keys()
    uniform = run.kn.uniform_review
    if uniform is not None and (not overrides or _agree(run.kn, overrides, uniform[0])):
        status, date = uniform  # every item in one state with one date, as shipped or as the board left it
        return {"status": REVIEW_OUTPUT[status], "last_updated": date, "items_used": len(used)}
    worst, latest, count = "approved", "", 0
    for item_id in used:
        entry = index[item_id]
        status = overrides.get(item_id, entry[0])
        if REVIEW_ORDER[status] < REVIEW_ORDER[worst]:
            worst = status
        latest = max(latest, entry[1])
        count += 1
    if not count:
        worst, latest = "submitted", run.kn.released
    return {"status": REVIEW_OUTPUT[worst], "last_updated": latest, "items_used": count}
