"""Microbiology: what the laboratory sent, read as the engine needs it.

Three jobs, each a thin reader over data files: an MIC string to a number with its
comparator; an MIC to S/I/R through the breakpoint table the isolate names (rows in
knowledge/breakpoints/); expected resistance that overrides a reported S
(knowledge/expected_resistance.yaml); and the carbapenemase class from the reported genes
or, failing that, from the phenotype. Nothing here chooses a drug or a dose.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from cre_advisor.case import Context, Enzyme, Isolate
from cre_advisor.knowledge.breakpoint_tables import BreakpointRow, BreakpointTable, Scheme
from cre_advisor.knowledge.expected_resistance import load_expected_resistance
from cre_advisor.knowledge.loader import Knowledge, Organism, default_knowledge

_MIC = re.compile(r"^\s*(<=|>=|<|>|=|≤|≥)?\s*(\d+(?:\.\d+)?|\.\d+)\s*(?:/\s*\d+(?:\.\d+)?)?\s*(?:mg/l)?\s*$", re.I)

Category = Literal["S", "I", "R"]


@dataclass(frozen=True)
class Mic:
    value: float
    comparator: str = "="


def parse_mic(text: str | float) -> Mic:
    """Read an MIC as laboratories write it ("<=0.25", ">32", "0.5/4"); raise ValueError otherwise.

    For a combination written "0.5/4" the first number is the MIC: breakpoints of
    combinations are stated for the first agent at a fixed partner concentration.
    """
    if isinstance(text, bool):
        raise ValueError("an MIC is a number of mg/L, not true/false")
    if isinstance(text, (int, float)):
        if not text > 0:
            raise ValueError(f"cannot read MIC {text}: an MIC is a positive number of mg/L")
        return Mic(float(text))
    match = _MIC.match(text)
    if match is None or float(match.group(2)) <= 0:
        raise ValueError(f"cannot read MIC '{text}': use a number of mg/L, optionally with <=, <, >, >=")
    comparator = {"≤": "<=", "≥": ">=", None: "="}.get(match.group(1), match.group(1))
    return Mic(float(match.group(2)), comparator)


def format_mic(mic: Mic) -> str:
    value = f"{mic.value:g}"
    return value if mic.comparator == "=" else f"{mic.comparator}{value}"


# ---- one agent's result ---------------------------------------------------------------------


class AgentResult(BaseModel):
    """One agent for this isolate: the category the engine may act on, and where it came from."""

    model_config = ConfigDict(frozen=True)

    agent: str
    category: Category | None = Field(description="None: no result, or no breakpoint for this MIC.")
    mic_mg_l: float | None = None
    comparator: str | None = Field(default=None, description="'=', '<=', '<', '>', '>=' with mic_mg_l.")
    source: Literal["reported", "interpreted", "intrinsic"]
    table: str | None = Field(default=None, description="Breakpoint table that interpreted the MIC, e.g. 'EUCAST-2026 (v16.1)'.")
    scheme: Scheme | None = Field(default=None, description="Whose letters: EUCAST 'I' is active, CLSI 'I' is not.")
    breakpoint_s: float | None = None
    breakpoint_r: float | None = None
    note: str | None = None
    citations: tuple[str, ...] = ()

    @property
    def mic(self) -> Mic | None:
        return None if self.mic_mg_l is None else Mic(self.mic_mg_l, self.comparator or "=")

    @property
    def active(self) -> bool | None:
        """Whether the agent counts as active in vitro; None when the result cannot say."""
        if self.category == "S":
            return True
        if self.category == "R":
            return False
        if self.category == "I":
            return {"EUCAST": True, "CLSI": False}.get(self.scheme or "")
        return None

    @property
    def high_exposure(self) -> bool:
        """EUCAST 'I' (susceptible, increased exposure): only the high-exposure dose is active."""
        return self.category == "I" and self.scheme == "EUCAST"


def mic_at_most(result: AgentResult | None, limit: float) -> bool | None:
    """Whether the MIC is surely <= limit (True), surely above it (False), or unknown (None)."""
    mic = None if result is None else result.mic
    if mic is None:
        return None
    low, high = _mic_bounds(mic)
    if high is not None and high <= limit:
        return True
    if low > limit or (low == limit and mic.comparator == ">"):
        return False
    return None


def _mic_bounds(mic: Mic) -> tuple[float, float | None]:
    """Interval the true MIC lies in: (low, high), high None when unbounded; strictness aside."""
    if mic.comparator in ("<=", "<"):
        return 0.0, mic.value
    if mic.comparator in (">", ">="):
        return mic.value, None
    return mic.value, mic.value


def categorise(mic: Mic, row: BreakpointRow) -> Category | None:
    """S if MIC <= S breakpoint, R if MIC > R breakpoint, I between; None when a comparator hides it."""
    assert row.s_le is not None and row.r_gt is not None
    value, comparator = mic.value, mic.comparator
    if comparator == "=":
        return "S" if value <= row.s_le else ("R" if value > row.r_gt else "I")
    if comparator in ("<=", "<"):
        if value <= row.s_le:
            return "S"
        return None
    # ">" v: the MIC is above v; ">=" v: at least v
    if value > row.r_gt or (comparator == ">" and value >= row.r_gt):
        return "R"
    return None


# ---- the whole antibiogram ------------------------------------------------------------------


class SusceptibilityReading(BaseModel):
    """Every agent's result for this isolate, after interpretation and expected resistance."""

    results: dict[str, AgentResult] = Field(default_factory=dict)
    trace: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    missing_data: list[str] = Field(default_factory=list)
    citations: list[str] = Field(default_factory=list)

    def get(self, agent: str) -> AgentResult | None:
        return self.results.get(agent)

    def _cite(self, *citations: str) -> None:
        for citation in citations:
            if citation not in self.citations:
                self.citations.append(citation)


def organism_names(organism: Organism) -> tuple[str, str, str]:
    """The names breakpoint rows and expected-resistance rules may use for this organism."""
    return organism.name, organism.genus, organism.family


@dataclass(frozen=True)
class Interpretation:
    """An MIC read against one table: the category (None when no breakpoint) and why."""

    category: Category | None
    row: BreakpointRow | None
    table: BreakpointTable
    note: str

    @property
    def citations(self) -> tuple[str, ...]:
        return self.row.citations if self.row is not None else ()


def interpret_mic(
    table: BreakpointTable, agent: str, mic: Mic, organism: Organism, site: str | None
) -> Interpretation:
    """Read one MIC against the row this organism and site select, saying which row and why."""
    row = table.select(agent, organism_names(organism), site)
    if row is None:
        scopes = "; ".join(r.scope_text for r in table.rows_for(agent))
        reason = (
            f"no {table.id} breakpoint for {agent} in {organism.name}"
            + (f" at site '{site}'" if site else "")
            + (f" (the table covers: {scopes})" if scopes else " (agent not in the table)")
        )
        return Interpretation(None, None, table, reason)
    if row.no_breakpoint is not None:
        return Interpretation(None, row, table, f"no breakpoint for {agent} ({row.scope_text}): {row.no_breakpoint}")
    category = categorise(mic, row)
    limits = f"S <= {row.s_le:g}, R > {row.r_gt:g} mg/L"
    bracket = "; bracketed breakpoint: see the note before relying on it" if row.bracketed else ""
    if category is None:
        note = (
            f"MIC {format_mic(mic)} mg/L cannot be placed against {limits} ({row.scope_text}); "
            "ask the laboratory for an on-scale MIC"
        )
    else:
        note = f"MIC {format_mic(mic)} mg/L -> {category} by {table.label}, {row.scope_text}: {limits}{bracket}"
    return Interpretation(category, row, table, note)


def read_susceptibility(isolate: Isolate, site: str, knowledge: Knowledge) -> SusceptibilityReading:
    """Every agent's category for this isolate at this site, with the trace of how it was read.

    A reported S/I/R is taken as the laboratory's word; an MIC without a letter is interpreted
    with the table named in `isolate.breakpoints`. Expected resistance then overrides.
    """
    organism = knowledge.organism(isolate.organism)
    tables = knowledge.breakpoint_tables
    table_id = tables.resolve(isolate.breakpoints)
    table = tables.table(table_id)
    scheme = tables.scheme(table_id)
    reading = SusceptibilityReading()
    if table is not None and table.fixture:
        reading.warnings.append(f"breakpoint table {table.label} is a test fixture, not for patient care")

    for agent, entry in isolate.susceptibility.items():
        mic = None if entry.mic_mg_l is None else parse_mic(entry.mic_mg_l)
        mic_fields = {} if mic is None else {"mic_mg_l": mic.value, "comparator": mic.comparator}
        interpreted = None
        if mic is not None and table is not None:
            interpreted = interpret_mic(table, agent, mic, organism, site)
            reading._cite(*interpreted.citations)
        row_fields = {}
        if interpreted is not None and interpreted.row is not None:
            row_fields = {"breakpoint_s": interpreted.row.s_le, "breakpoint_r": interpreted.row.r_gt}

        if entry.interpretation is not None:
            category = entry.interpretation.value
            note = None
            if interpreted is not None and interpreted.category not in (None, category):
                note = f"reported {category}, but {interpreted.note}"
                reading.warnings.append(f"{agent}: laboratory reported {category}; {interpreted.note}; the reported category is used")
            reading.results[agent] = AgentResult(
                agent=agent, category=category, source="reported", scheme=scheme, note=note, **mic_fields,
                **row_fields, table=None if interpreted is None else table.label if table else None,
                citations=() if interpreted is None else interpreted.citations,
            )
            reading.trace.append(f"{agent}: {category} as reported by the laboratory")
            continue

        assert mic is not None  # an entry has an MIC, an interpretation, or both
        if table is None:
            reading.results[agent] = AgentResult(
                agent=agent, category=None, source="interpreted", scheme=scheme, **mic_fields,
                note=f"{table_id} is not loaded; supply the laboratory's table to interpret raw MICs",
            )
            reading.missing_data.append(
                f"{agent}: S/I/R from the laboratory, or its {table_id} table (set CRE_ADVISOR_BREAKPOINTS)"
            )
            continue
        assert interpreted is not None
        reading.results[agent] = AgentResult(
            agent=agent, category=interpreted.category, source="interpreted", table=table.label,
            scheme=scheme, note=interpreted.note, citations=interpreted.citations, **mic_fields, **row_fields,
        )
        reading.trace.append(f"{agent}: {interpreted.note}")
        if interpreted.category is None:
            reading.missing_data.append(f"{agent}: {interpreted.note}")
        elif interpreted.row is not None and interpreted.row.bracketed:
            reading.warnings.append(f"{agent}: {_bracket_warning(interpreted.row)}")

    _apply_expected_resistance(reading, organism, knowledge)
    return reading


def _bracket_warning(row: BreakpointRow) -> str:
    notes = " ".join(row.notes)
    return f"the breakpoint used is bracketed in the table ({row.scope_text}). {notes}".strip()


def _apply_expected_resistance(reading: SusceptibilityReading, organism: Organism, knowledge: Knowledge) -> None:
    """Expected resistance makes the agent R whatever was reported; reduced activity only warns."""
    table = load_expected_resistance(knowledge.directory)
    for rule in table.for_organism(organism_names(organism)):
        reading._cite(*rule.citations)
        for agent in rule.agents:
            before = reading.results.get(agent)
            if rule.kind == "reduced_activity":
                if before is not None:
                    reading.warnings.append(f"{agent} in {organism.name}: {rule.note}")
                continue
            if before is not None and before.category in ("S", "I"):
                reading.warnings.append(
                    f"{agent}: reported {before.category} for {organism.name}, which is expected to be "
                    f"resistant ({rule.note}); treated as resistant - ask the laboratory to check identification and result"
                )
            mic_fields = {} if before is None else {"mic_mg_l": before.mic_mg_l, "comparator": before.comparator}
            reading.results[agent] = AgentResult(
                agent=agent, category="R", source="intrinsic", note=rule.note, citations=rule.citations, **mic_fields
            )
            reading.trace.append(f"{agent}: R, expected resistant phenotype of {organism.name}")


# ---- carbapenemase class ------------------------------------------------------------------


MechanismClass = Literal["serine_carbapenemase", "metallo_beta_lactamase", "non_carbapenemase", "unknown"]
Group = Literal["kpc", "oxa48", "mbl", "non_carbapenemase", "non_carbapenemase_carbapenem_s"]

_MBL = (Enzyme.NDM, Enzyme.VIM, Enzyme.IMP)
_Q_MECHANISM = "idsa-2024:CRE general approach"
_Q_ERTAPENEM_ONLY = "idsa-2024:Q3.3"
_Q_KPC = "idsa-2024:Q3.4"
_Q_MBL = "idsa-2024:Q3.5"
_Q_OXA48 = "idsa-2024:Q3.6"
_Q_CZA_RESISTANCE = "idsa-2024:Q3.7"
_EUCAST_SCREEN = "eucast-resistance-mechanisms-2017:carbapenemase screening cut-off"
_MEROPENEM_SCREEN_MG_L = 0.125  # EUCAST screening cut-off: above it, look for a carbapenemase
_CARBAPENEM_S_MG_L = 1.0  # idsa-2024 Q3.3: "meropenem-susceptible" for CRE means MIC <= 1 mg/L

# What each rapid test looks for; a negative result excludes only these.
_PANELS: dict[str, tuple[str, ...]] = {
    "xpert_carba_r": ("KPC", "NDM", "VIM", "OXA-48", "IMP"),
    "ng_test_carba_5": ("KPC", "OXA-48-like", "VIM", "IMP", "NDM"),
}
_TEST_NAMES = {
    "xpert_carba_r": "Xpert Carba-R (PCR)",
    "ng_test_carba_5": "NG-Test CARBA 5 (lateral flow)",
    "other_pcr": "PCR",
    "phenotypic": "phenotypic carbapenemase test",
    "whole_genome": "whole-genome sequencing",
}
_ORDER_TEST = (
    "carbapenemase test (PCR such as Xpert Carba-R, or lateral flow such as NG-Test CARBA 5) "
    "to settle the mechanism"
)
# idsa-2024: US carbapenemase-producing CRE, approximate shares (VIM/IMP under 1-2%)
_US_DISTRIBUTION: dict[Enzyme, float] = {Enzyme.KPC: 0.86, Enzyme.NDM: 0.09, Enzyme.OXA48: 0.04, Enzyme.VIM: 0.01}
_GROUP_OF: dict[Enzyme, Group] = {
    Enzyme.KPC: "kpc", Enzyme.OXA48: "oxa48", Enzyme.NDM: "mbl", Enzyme.VIM: "mbl", Enzyme.IMP: "mbl", Enzyme.GES: "kpc",
}
_NOT_COVERED: dict[Group, str] = {
    "kpc": "metallo-beta-lactamases (NDM, VIM, IMP), against which ceftazidime-avibactam, meropenem-vaborbactam "
    "and imipenem-relebactam are inactive, and OXA-48-like enzymes, which vaborbactam and relebactam do not inhibit",
    "oxa48": "metallo-beta-lactamases (NDM, VIM, IMP), against which ceftazidime-avibactam is inactive",
    "mbl": "the possibility that the isolate carries a serine carbapenemase only, for which the KPC and "
    "OXA-48-like tables hold better-studied options",
}


class MechanismFinding(BaseModel):
    """The carbapenemase class the engine treats, how sure it is, and what would settle it."""

    model_config = ConfigDict(populate_by_name=True)

    class_: MechanismClass = Field(alias="class")
    enzymes: list[str] = Field(default_factory=list)
    basis: Literal["reported", "inferred", "empiric"]
    explanation: str
    group: Group = Field(description="The regimen table to use.")
    trace: str
    missing_data: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    citations: list[str] = Field(default_factory=list)


def _category(reading: SusceptibilityReading, agent: str) -> Category | None:
    result = reading.get(agent)
    return None if result is None else result.category


def _is_morganellaceae(organism: Organism) -> bool:
    return organism.family == "Morganellaceae"


def classify_mechanism(
    isolate: Isolate,
    reading: SusceptibilityReading,
    context: Context,
    *,
    recent_cza: bool = False,
    knowledge: Knowledge | None = None,
) -> MechanismFinding:
    """The mechanism from reported genes; else from the phenotype; else empiric from epidemiology."""
    organism = (knowledge or default_knowledge()).organism(isolate.organism)
    if isolate.carbapenemase:
        finding = _from_genes(isolate)
    elif isolate.carbapenemase is not None:
        finding = _tested_negative(isolate, reading, organism)
    else:
        finding = _from_phenotype(reading, organism) or _empiric(reading, context)
    extra = _imipenem_only_warning(reading, organism)
    if extra:
        finding.warnings.append(extra)
        finding.citations.append("eucast-expected-resistant-phenotypes")
    if recent_cza:
        finding.warnings.append(
            "recent ceftazidime-avibactam exposure or a known ceftazidime-avibactam-resistant CRE: prefer a "
            "different newer agent and repeat susceptibility testing of the newer agents"
        )
        finding.citations.append(_Q_CZA_RESISTANCE)
    return finding


def _from_genes(isolate: Isolate) -> MechanismFinding:
    enzymes = list(isolate.carbapenemase or ())
    names = [e.value for e in enzymes]
    test = _TEST_NAMES.get(isolate.carbapenemase_test.value) if isolate.carbapenemase_test else None
    how = f"reported ({test})" if test else "reported"
    warnings: list[str] = []
    if any(e in _MBL for e in enzymes):
        others = [e.value for e in enzymes if e not in _MBL]
        explanation = f"metallo-beta-lactamase producer ({', '.join(names)}), {how}"
        if others:
            explanation += f"; co-produces {', '.join(others)}: treated as an MBL producer"
            if Enzyme.OXA48 in enzymes:
                warnings.append(
                    "OXA-48-like enzyme present with the MBL: aztreonam with meropenem-vaborbactam or "
                    "imipenem-relebactam is not an option (neither inhibitor covers OXA-48-like enzymes)"
                )
        return MechanismFinding(
            class_="metallo_beta_lactamase", enzymes=names, basis="reported", group="mbl", explanation=explanation,
            trace=f"mechanism: {explanation}; regimen table: MBL", warnings=warnings, citations=[_Q_MBL],
        )
    if Enzyme.OXA48 in enzymes:
        explanation = f"OXA-48-like carbapenemase ({', '.join(names)}), {how}"
        if Enzyme.KPC in enzymes:
            explanation += (
                "; KPC with OXA-48-like is treated as OXA-48-like because vaborbactam and relebactam do not "
                "inhibit OXA-48-like enzymes"
            )
        return MechanismFinding(
            class_="serine_carbapenemase", enzymes=names, basis="reported", group="oxa48", explanation=explanation,
            trace=f"mechanism: {explanation}; regimen table: OXA-48-like", citations=[_Q_OXA48],
        )
    if Enzyme.KPC in enzymes:
        explanation = f"KPC carbapenemase ({', '.join(names)}), {how}"
        return MechanismFinding(
            class_="serine_carbapenemase", enzymes=names, basis="reported", group="kpc", explanation=explanation,
            trace=f"mechanism: {explanation}; regimen table: KPC", citations=[_Q_KPC],
        )
    explanation = f"GES-type serine carbapenemase, {how}: treated with the KPC regimen table"
    return MechanismFinding(
        class_="serine_carbapenemase", enzymes=names, basis="reported", group="kpc", explanation=explanation,
        trace=f"mechanism: {explanation}",
        warnings=[
            "GES-type carbapenemase: activity of ceftazidime-avibactam, meropenem-vaborbactam and "
            "imipenem-relebactam is not predictable from the enzyme; use only agents tested susceptible"
        ],
        missing_data=["susceptibility to ceftazidime-avibactam, meropenem-vaborbactam and imipenem-relebactam"],
        citations=[_Q_KPC],
    )


def _carbapenems_low(reading: SusceptibilityReading, organism: Organism) -> tuple[bool | None, str]:
    """Whether meropenem and imipenem MICs are <= 1 mg/L with ertapenem not susceptible.

    Imipenem is left out for Morganellaceae: its MICs are raised there by nature.
    """
    agents = ["meropenem"] if _is_morganellaceae(organism) else ["meropenem", "imipenem-cilastatin"]
    lows = [mic_at_most(reading.get(a), _CARBAPENEM_S_MG_L) for a in agents]
    ertapenem = _category(reading, "ertapenem")
    ertapenem_ns = None if ertapenem is None else ertapenem != "S"
    verdicts = [*lows, ertapenem_ns]
    if any(v is False for v in verdicts):
        return False, ""
    if any(v is None for v in verdicts):
        return None, ", ".join(a for a, v in zip([*agents, "ertapenem"], verdicts) if v is None)
    return True, ""


def _tested_negative(isolate: Isolate, reading: SusceptibilityReading, organism: Organism) -> MechanismFinding:
    test = isolate.carbapenemase_test.value if isolate.carbapenemase_test else None
    panel = _PANELS.get(test or "")
    name = _TEST_NAMES.get(test or "", "carbapenemase test")
    if test == "whole_genome":
        caveat = None
    else:
        looked_for = f" (looks for {', '.join(panel)})" if panel else ""
        caveat = (
            f"a negative {name}{looked_for} does not exclude carbapenemases outside its panel (GES, IMI, SME and "
            "other rare enzymes); if the phenotype suggests a carbapenemase, ask for further testing"
        )
    low, missing = _carbapenems_low(reading, organism)
    missing_data: list[str] = []
    if low:
        group: Group = "non_carbapenemase_carbapenem_s"
        detail = "meropenem" + ("" if _is_morganellaceae(organism) else " and imipenem") + " MIC <= 1 mg/L with ertapenem not susceptible"
    else:
        group = "non_carbapenemase"
        detail = "no carbapenem with MIC <= 1 mg/L" if low is False else "carbapenem MICs incomplete"
        if low is None:
            missing_data.append(f"MIC of {missing} (meropenem and imipenem MIC <= 1 mg/L would allow extended-infusion meropenem)")
    explanation = f"no carbapenemase found by {name}; {detail}"
    return MechanismFinding(
        class_="non_carbapenemase", enzymes=[], basis="reported", group=group, explanation=explanation,
        trace=f"mechanism: {explanation}; regimen table: {group}", missing_data=missing_data,
        warnings=[caveat] if caveat else [], citations=[_Q_ERTAPENEM_ONLY],
    )


def _from_phenotype(reading: SusceptibilityReading, organism: Organism) -> MechanismFinding | None:
    """SPEC section 2 patterns, in order; None when none applies."""
    cza = _category(reading, "ceftazidime-avibactam")
    mev = _category(reading, "meropenem-vaborbactam")
    imr = _category(reading, "imipenem-cilastatin-relebactam")
    morganellaceae = _is_morganellaceae(organism)
    # relebactam does not restore imipenem in Morganellaceae, whose imipenem MICs are raised by nature
    imr_r = True if morganellaceae else imr == "R"
    imr_s = True if morganellaceae else imr == "S"
    used = "ceftazidime-avibactam, meropenem-vaborbactam" + ("" if morganellaceae else " and imipenem-relebactam")
    missing = [_ORDER_TEST]
    meropenem = reading.get("meropenem")
    if meropenem is not None and mic_at_most(meropenem, _MEROPENEM_SCREEN_MG_L) is False:
        missing = [
            f"{_ORDER_TEST}; the meropenem MIC is above the EUCAST carbapenemase screening cut-off "
            f"({_MEROPENEM_SCREEN_MG_L:g} mg/L)"
        ]

    screen_cite = [_EUCAST_SCREEN] if missing[0] != _ORDER_TEST else []

    def inferred(
        class_: MechanismClass, group: Group, explanation: str, cite: str, warnings: tuple[str, ...] = ()
    ) -> MechanismFinding:
        text = f"inferred from the phenotype, not tested: {explanation}"
        return MechanismFinding(
            class_=class_, enzymes=[], basis="inferred", group=group, explanation=text,
            trace=f"mechanism: {text}; regimen table: {group}", missing_data=list(missing),
            warnings=list(warnings), citations=[_Q_MECHANISM, cite, *screen_cite],
        )

    if cza == "R" and mev == "R" and imr_r:
        return inferred("metallo_beta_lactamase", "mbl", f"resistant to {used}: metallo-beta-lactamase suspected", _Q_MBL)
    if cza == "S" and mev == "R" and imr_r:
        return inferred(
            "serine_carbapenemase", "oxa48",
            "ceftazidime-avibactam susceptible but meropenem-vaborbactam"
            + ("" if morganellaceae else " and imipenem-relebactam") + " resistant: OXA-48-like carbapenemase suspected",
            _Q_OXA48,
        )
    low, _ = _carbapenems_low(reading, organism)
    if low:
        return inferred(
            "non_carbapenemase", "non_carbapenemase_carbapenem_s",
            "ertapenem not susceptible with meropenem" + ("" if morganellaceae else " and imipenem")
            + " MIC <= 1 mg/L: carbapenemase unlikely (under 3% in US data)",
            _Q_ERTAPENEM_ONLY,
            warnings=("OXA-48-like producers can have low meropenem MICs; where OXA-48-like enzymes are common the US figure does not apply",),
        )
    if cza == "S" and mev == "S" and imr_s:
        return inferred("unknown", "kpc", f"susceptible to {used}: KPC or a non-carbapenemase mechanism likely", _Q_KPC)
    return None


def _empiric(reading: SusceptibilityReading, context: Context) -> MechanismFinding:
    local = context.local_carbapenemase_distribution
    distribution = dict(local) if local else _US_DISTRIBUTION
    source = "the local carbapenemase distribution" if local else "the US distribution in IDSA 2024 (KPC about 86%, NDM 9%, OXA-48-like 4%, VIM/IMP under 1-2%)"
    enzyme = max(distribution, key=lambda e: distribution[e])
    group = _GROUP_OF[enzyme]
    why = "no carbapenemase result" + (" and the susceptibility results fit no phenotype pattern" if reading.results else " and no susceptibility results")
    explanation = f"empiric: {why}; the most common enzyme in {source} is {enzyme.value}"
    return MechanismFinding(
        class_="unknown", enzymes=[], basis="empiric", group=group, explanation=explanation,
        trace=f"mechanism: {explanation}; regimen table: {group}",
        missing_data=[_ORDER_TEST, "susceptibility results including ceftazidime-avibactam, meropenem-vaborbactam, imipenem-relebactam and cefiderocol"],
        warnings=[f"the choice is empiric (regimen table {group}); it does not cover {_NOT_COVERED[group]}"],
        citations=[_Q_MECHANISM],
    )


def _imipenem_only_warning(reading: SusceptibilityReading, organism: Organism) -> str | None:
    """Proteus, Morganella, Providencia: imipenem non-susceptibility alone does not make CRE."""
    if not _is_morganellaceae(organism):
        return None
    imipenem = _category(reading, "imipenem-cilastatin")
    others = [_category(reading, a) for a in ("meropenem", "ertapenem")]
    if imipenem in ("I", "R") and all(c in (None, "S") for c in others):
        return (
            f"{organism.name}: imipenem activity is reduced by nature in Proteus, Morganella and Providencia; "
            "imipenem non-susceptibility alone does not make this isolate carbapenem-resistant"
        )
    return None
