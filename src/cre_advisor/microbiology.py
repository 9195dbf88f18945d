"""Microbiology: what the laboratory sent, read as the engine needs it.

Four jobs, each a thin reader over data files: an MIC string to a number with its
comparator; an MIC to S/I/R through the breakpoint table the isolate names (rows in
knowledge/breakpoints/); expected resistance that overrides a reported S
(knowledge/expected_resistance.yaml); and the carbapenemase class from the reported genes
or, failing that, from the phenotype. Nothing here chooses a drug or a dose.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache, cached_property, lru_cache
from pathlib import Path
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from cre_advisor.case import Context, Enzyme, Interpretation, Isolate
from cre_advisor.knowledge.breakpoint_tables import BreakpointRow, BreakpointTable, Scheme
from cre_advisor.knowledge.microbiology_data import (
    ExpectedResistance,
    MechanismData,
    load_expected_resistance,
    load_mechanism_data,
)
from cre_advisor.knowledge.loader import Knowledge, Organism, default_knowledge
from cre_advisor.lru import LruDict
from cre_advisor.mic_values import Mic, format_mic, parse_mic

Category = Literal["S", "I", "R"]


# ---- one agent's result ---------------------------------------------------------------------


# Whose "I" counts as active: EUCAST's (susceptible, increased exposure), not CLSI's (intermediate).
_I_IS_ACTIVE: dict[str, bool] = {"EUCAST": True, "CLSI": False, "FDA": False}


class AgentResult(BaseModel):
    """One agent for this isolate: the category the engine may act on, and where it came from."""

    model_config = ConfigDict(frozen=True)

    agent: str
    category: Category | None = Field(description="None: no result, or no breakpoint for this MIC.")
    mic_mg_l: float | None = None
    comparator: str | None = Field(default=None, description="'=', '<=', '<', '>', '>=' with mic_mg_l.")
    source: Literal["reported", "interpreted", "intrinsic"]
    table: str | None = Field(default=None, description="Table that read the MIC, e.g. 'EUCAST-2026 (v16.1)'.")
    scheme: Scheme | None = Field(default=None, description="Whose letters: EUCAST 'I' is active, CLSI 'I' is not.")
    breakpoint_s: float | None = None
    breakpoint_r: float | None = None
    note: str | None = None
    citations: tuple[str, ...] = ()

    @property
    def mic(self) -> Mic | None:
        return None if self.mic_mg_l is None else Mic(self.mic_mg_l, self.comparator or "=")

    @cached_property  # results are shared between readings (see `_entry_memo`) and read many times
    def active(self) -> bool | None:
        """Whether the agent counts as active in vitro; None when the result cannot say."""
        if self.category == "S":
            return True
        if self.category == "R":
            return False
        if self.category == "I":
            return _I_IS_ACTIVE.get(self.scheme or "")
        return None

    @cached_property
    def high_exposure(self) -> bool:
        """EUCAST 'I' (susceptible, increased exposure): only the high-exposure dose is active."""
        return self.category == "I" and self.scheme == "EUCAST"


def mic_at_most(result: AgentResult | None, limit: float) -> bool | None:
    """Whether the MIC is surely <= limit (True), surely above it (False), or unknown (None)."""
    if result is None or result.mic_mg_l is None:
        return None
    comparator = result.comparator or "="
    low, high = _mic_bounds(result.mic_mg_l, comparator)
    if high is not None and high <= limit:
        return True
    if low > limit or (low == limit and comparator == ">"):
        return False
    return None


def _mic_bounds(value: float, comparator: str) -> tuple[float, float | None]:
    """Interval the true MIC lies in: (low, high), high None when unbounded; strictness aside."""
    if comparator in ("<=", "<"):
        return 0.0, value
    if comparator in (">", ">="):
        return value, None
    return value, value


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


@dataclass(slots=True)
class SusceptibilityReading:
    """Every agent's result for this isolate, after interpretation and expected resistance (the engine's
    working state, built on every case: a plain dataclass, as it needs no validation)."""

    results: dict[str, AgentResult] = field(default_factory=dict)
    trace: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    missing_data: list[str] = field(default_factory=list)
    citations: list[str] = field(default_factory=list)
    _cited: set[str] = field(default_factory=set, repr=False)  # the same sources, for a constant-time "seen?"

    def get(self, agent: str) -> AgentResult | None:
        return self.results.get(agent)

    def _cite(self, *citations: str) -> None:
        for citation in citations:
            if citation not in self._cited:
                self._cited.add(citation)
                self.citations.append(citation)


def organism_names(organism: Organism) -> tuple[str, str, str]:
    """The names breakpoint rows and expected-resistance rules may use for this organism."""
    return organism.name, organism.genus, organism.family


@dataclass(frozen=True)
class MicInterpretation:
    """An MIC read against one table: the category (None when no breakpoint) and why."""

    category: Category | None
    row: BreakpointRow | None
    table: BreakpointTable
    note: str

    @property
    def citations(self) -> tuple[str, ...]:
        return self.row.citations if self.row is not None else ()

    def as_result(self, agent: str, mic: Mic) -> AgentResult:
        row = self.row
        return AgentResult(
            agent=agent, category=self.category, mic_mg_l=mic.value, comparator=mic.comparator,
            source="interpreted", table=self.table.label, scheme=self.table.scheme,
            breakpoint_s=None if row is None else row.s_le, breakpoint_r=None if row is None else row.r_gt,
            note=self.note, citations=self.citations,
        )


_INTERPRETED: dict[tuple[int, str, Mic, str, str | None], MicInterpretation] = {}
_INTERPRETED_MAX = 8192


def interpret_mic(
    table: BreakpointTable, agent: str, mic: Mic, organism: Organism, site: str | None
) -> MicInterpretation:
    """Read one MIC against the row this organism and site select, saying which row and why.

    Memoised: the inputs come from a small set (doubling dilutions, a few dozen agents and
    organisms), and each answer keeps its table alive, so the table's id cannot be reused.
    """
    key = (id(table), agent, mic, organism.name, site)
    found = _INTERPRETED.get(key)
    if found is None:
        if len(_INTERPRETED) >= _INTERPRETED_MAX:
            _INTERPRETED.clear()
        found = _INTERPRETED[key] = _interpret_mic(table, agent, mic, organism, site)
    return found


def _interpret_mic(
    table: BreakpointTable, agent: str, mic: Mic, organism: Organism, site: str | None
) -> MicInterpretation:
    row = table.select(agent, organism_names(organism), site)
    if row is None:
        scopes = "; ".join(table.scope_of(r) for r in table.rows_for(agent))
        reason = (
            f"no {table.id} breakpoint for {agent} in {organism.name}"
            + (f" at site '{site}'" if site else "")
            + (f" (the table covers: {scopes})" if scopes else " (agent not in the table)")
        )
        return MicInterpretation(None, None, table, reason)
    if row.no_breakpoint is not None:
        reason = f"no breakpoint for {agent} ({table.scope_of(row)}): {row.no_breakpoint}"
        return MicInterpretation(None, row, table, reason)
    assert row.s_le is not None and row.r_gt is not None
    category = categorise(mic, row)
    limits = f"S <= {row.s_le:g}, R > {row.r_gt:g} mg/L"
    if category is None:
        note = (
            f"MIC {format_mic(mic)} mg/L cannot be placed against {limits} ({table.scope_of(row)}); "
            "ask the laboratory for an on-scale MIC"
        )
    else:
        bracket = "; bracketed breakpoint" if row.bracketed else ""
        note = f"MIC {format_mic(mic)} mg/L -> {category} by {table.label}, {table.scope_of(row)}: {limits}{bracket}"
    return MicInterpretation(category, row, table, note)


_Untested = tuple[str, AgentResult, str, tuple[str, ...]]  # agent, its R, trace line, citations


@dataclass(frozen=True)
class _ExpectedProfile:
    """Expected resistance for one organism, worked out once: the rules by agent (in rule order),
    and each agent an expected-resistant rule turns R when the laboratory did not test it."""

    rules: dict[str, tuple[ExpectedResistance, ...]]
    untested: tuple[_Untested, ...]


@lru_cache(maxsize=256)
def _expected_profile(organism: Organism, knowledge: Knowledge) -> _ExpectedProfile:
    """Cached: organisms and knowledge bases are few, and every reading walks these agents."""
    rules: dict[str, tuple[ExpectedResistance, ...]] = {}
    for rule in load_expected_resistance(knowledge.directory).for_organism(organism_names(organism)):
        for agent in rule.agents:
            rules[agent] = (*rules.get(agent, ()), rule)
    untested: list[_Untested] = []
    for agent, agent_rules in rules.items():
        result, _ = _apply_rules(None, agent, organism, agent_rules)  # no result: no warnings either
        if result is not None:
            untested.append((agent, result, f"{agent}: R, {result.note}", _citations(agent_rules)))
    return _ExpectedProfile(rules, tuple(untested))


def _citations(rules: tuple[ExpectedResistance, ...]) -> tuple[str, ...]:
    return tuple(c for rule in rules for c in rule.citations)


def expected_resistance(organism: Organism, agent: str, knowledge: Knowledge) -> tuple[ExpectedResistance, ...]:
    """The expected-resistance rules that name this organism and agent (a cached table lookup)."""
    return _expected_profile(organism, knowledge).rules.get(agent, ())


def apply_expected_resistance(
    result: AgentResult | None, agent: str, organism: Organism, knowledge: Knowledge
) -> tuple[AgentResult | None, list[str]]:
    """The result after expected resistance, and the warnings that explain any change.

    An expected-resistant agent becomes R (source "intrinsic") even without a result; reduced
    activity only adds a warning to a result that exists.
    """
    return _apply_rules(result, agent, organism, expected_resistance(organism, agent, knowledge))


def _apply_rules(
    result: AgentResult | None, agent: str, organism: Organism, rules: tuple[ExpectedResistance, ...]
) -> tuple[AgentResult | None, list[str]]:
    warnings: list[str] = []
    for rule in rules:
        if rule.kind == "reduced_activity":
            if result is not None:
                warnings.append(f"{agent} in {organism.name}: {rule.note}")
            continue
        if result is not None and result.category in ("S", "I"):
            warnings.append(
                f"{agent}: {result.category} for {organism.name}, which is {rule.note}; treated as resistant - "
                "ask the laboratory to check the identification and the result"
            )
        mic = None if result is None else (result.mic_mg_l, result.comparator)
        result = _intrinsic(agent, organism.name, rule.note, rule.citations, mic)
    return result, warnings


@lru_cache(maxsize=4096)
def _intrinsic(
    agent: str, organism: str, note: str, citations: tuple[str, ...], mic: tuple[float | None, str | None] | None
) -> AgentResult:
    """R by nature, keeping any MIC the laboratory sent (cached: AgentResult is frozen, its inputs few)."""
    mic_fields = {} if mic is None else {"mic_mg_l": mic[0], "comparator": mic[1]}
    return AgentResult(
        agent=agent, category="R", source="intrinsic", note=f"{organism}: {note}", citations=citations, **mic_fields
    )


@dataclass(frozen=True)
class _EntryReading:
    """One antibiogram entry read: its result and the lines it adds to the reading."""

    result: AgentResult
    citations: tuple[str, ...] = ()
    trace: str | None = None
    warning: str | None = None
    missing: str | None = None


# Bounded (sizes from bench/memory.py): 128 (table, organism, site) readings in use, 256 entries each.
_ENTRIES: LruDict[tuple[Any, ...], tuple[tuple[BreakpointTable | None, BreakpointTable | None], LruDict[tuple[Any, ...], _EntryReading]]] = LruDict(128)
_ENTRIES_PER_READING = 256


def read_susceptibility(isolate: Isolate, site: str, knowledge: Knowledge) -> SusceptibilityReading:
    """Every agent's category for this isolate at this site, with the trace of how it was read.

    A reported S/I/R is taken as the laboratory's word; an MIC without a letter is interpreted
    with the table named in `isolate.breakpoints`. Expected resistance then overrides both.
    """
    organism = knowledge.organism(isolate.organism)
    tables = knowledge.breakpoint_tables
    table_id = tables.resolve(isolate.breakpoints)
    table = tables.tables.get(table_id)
    scheme = tables.schemes[table_id]
    reading = SusceptibilityReading()
    results, trace, warnings, missing_data = reading.results, reading.trace, reading.warnings, reading.missing_data
    if table is not None and table.fixture:
        warnings.append(f"breakpoint table {table.label} is a test fixture, not for patient care")

    fallback = tables.fallback_for(table_id)
    memo = _entry_memo(table, table_id, scheme, organism.name, site, fallback)
    for agent, entry in isolate.susceptibility.items():
        mic_text, letter = entry.mic_mg_l, entry.interpretation
        key = (agent, type(mic_text), mic_text, letter)
        read = memo.get(key)
        if read is None:
            read = memo[key] = _interpret_entry(agent, mic_text, letter, table, table_id, scheme, organism, site,
                                                fallback)
        if read.citations:
            reading._cite(*read.citations)
        if read.trace is not None:
            trace.append(read.trace)
        if read.warning is not None:
            warnings.append(read.warning)
        if read.missing is not None:
            missing_data.append(read.missing)
        results[agent] = read.result

    _apply_expected_resistance(reading, organism, knowledge)
    return reading


def _entry_memo(
    table: BreakpointTable | None, table_id: str, scheme: Scheme, organism: str, site: str,
    fallback: BreakpointTable | None = None,
) -> LruDict[tuple[Any, ...], _EntryReading]:
    """Readings of single entries for one table, organism and site, by (agent, MIC, S/I/R).

    Memoised: every input comes from a small set and each answer is frozen, so readings may
    share it. The memo keeps its table alive, so the table's id in the key cannot be reused.
    """
    key = (id(table), table_id, scheme, organism, site, id(fallback))
    found = _ENTRIES.get(key)
    if found is None:
        found = _ENTRIES[key] = ((table, fallback), LruDict(_ENTRIES_PER_READING))
    return found[1]


def _interpret_entry(
    agent: str, mic_text: str | float | None, letter: Interpretation | None, table: BreakpointTable | None,
    table_id: str, scheme: Scheme, organism: Organism, site: str, fallback: BreakpointTable | None = None,
) -> _EntryReading:
    mic = None if mic_text is None else parse_mic(mic_text)
    interpreted = None if mic is None or table is None else interpret_mic(table, agent, mic, organism, site)
    if letter is None and mic is not None and interpreted is not None and interpreted.category is None \
            and fallback is not None and fallback.rows_for(agent):
        return _fallback_entry(agent, mic, table_id, fallback, organism, site, interpreted.note)
    citations = () if interpreted is None else interpreted.citations
    if letter is not None:
        result = _reported(agent, letter.value, mic, scheme, interpreted)
        return _EntryReading(
            result, citations, trace=f"{agent}: {result.category} as reported by the laboratory",
            warning=f"{agent}: {result.note}; the reported category is used" if result.note else None,
        )
    if interpreted is None:
        assert mic is not None  # an entry holds an MIC, an interpretation, or both
        result = AgentResult(
            agent=agent, category=None, mic_mg_l=mic.value, comparator=mic.comparator, source="interpreted",
            scheme=scheme, note=f"{table_id} is not loaded: raw MICs cannot be interpreted",
        )
        return _EntryReading(
            result, missing=f"{agent}: the laboratory's S/I/R, or its {table_id} table (set CRE_ADVISOR_BREAKPOINTS)",
        )
    assert mic is not None
    result = interpreted.as_result(agent, mic)
    row = interpreted.row
    return _EntryReading(
        result, citations, trace=f"{agent}: {interpreted.note}",
        missing=f"{agent}: {interpreted.note}" if result.category is None else None,
        warning=f"{agent}: {' '.join(row.notes)}" if result.category is not None and row is not None and row.bracketed
        else None,
    )


def _fallback_entry(
    agent: str, mic: Mic, table_id: str, fallback: BreakpointTable, organism: Organism, site: str, why: str
) -> _EntryReading:
    """An MIC the case's table has no breakpoint for, read with the fallback table and labelled as such, so the
    result is neither dropped nor mistaken for the case table's own category."""
    read = interpret_mic(fallback, agent, mic, organism, site)
    result = read.as_result(agent, mic)
    label = f"{fallback.title} ({fallback.label}), a fallback: {why}"
    if result.category is None:
        return _EntryReading(result, read.citations, trace=f"{agent}: {read.note}",
                             missing=f"{agent}: the laboratory's S/I/R ({why}; {read.note})")
    return _EntryReading(
        result, read.citations, trace=f"{agent}: {read.note} [{label}]",
        warning=f"{agent}: {table_id} has no breakpoint, so the MIC was read with the {fallback.title}: "
                f"{result.category}. Confirm the category with the laboratory.",
    )


def _reported(
    agent: str, category: Category, mic: Mic | None, scheme: Scheme, interpreted: MicInterpretation | None
) -> AgentResult:
    """The laboratory's letter, with its MIC and a note when the table reads the MIC otherwise."""
    note = None
    if interpreted is not None and interpreted.category not in (None, category):
        note = f"laboratory reported {category}, but {interpreted.note}"
    row = None if interpreted is None else interpreted.row
    return AgentResult(
        agent=agent, category=category, source="reported", scheme=scheme, note=note,
        mic_mg_l=None if mic is None else mic.value, comparator=None if mic is None else mic.comparator,
        table=None if interpreted is None else interpreted.table.label,
        breakpoint_s=None if row is None else row.s_le, breakpoint_r=None if row is None else row.r_gt,
        citations=() if interpreted is None else interpreted.citations,
    )


def _apply_expected_resistance(reading: SusceptibilityReading, organism: Organism, knowledge: Knowledge) -> None:
    """Every tested agent, then every other agent the organism is expected to resist, through the rules.

    Only agents with a rule for this organism can change, so only those are walked; an untested
    agent's outcome depends on the organism alone and comes from the profile.
    """
    profile = _expected_profile(organism, knowledge)
    if not profile.rules:
        return
    results = reading.results
    tested = [a for a in results if a in profile.rules]
    for agent in tested:
        rules = profile.rules[agent]
        before = results[agent]
        after, warnings = _apply_rules(before, agent, organism, rules)
        if after is not None and after is not before:
            _replace(reading, agent, after, f"{agent}: R, {after.note}")
        reading.warnings.extend(warnings)
        if warnings or after is not before:
            reading._cite(*_citations(rules))
    for agent, after, trace, citations in profile.untested:
        if agent not in results:
            _replace(reading, agent, after, trace)
            reading._cite(*citations)


def _replace(reading: SusceptibilityReading, agent: str, result: AgentResult, trace: str) -> None:
    """Put an expected-resistant R in place; what was said about reading the agent no longer matters."""
    prefix = f"{agent}:"
    for notes in (reading.missing_data, reading.warnings):
        if notes:
            notes[:] = [n for n in notes if not n.startswith(prefix)]
    reading.results[agent] = result
    reading.trace.append(trace)


# ---- carbapenemase class ------------------------------------------------------------------


MechanismClass = Literal["serine_carbapenemase", "metallo_beta_lactamase", "non_carbapenemase", "unknown"]
Group = Literal["kpc", "oxa48", "mbl", "non_carbapenemase", "non_carbapenemase_carbapenem_s"]

_MBL = frozenset((Enzyme.NDM, Enzyme.VIM, Enzyme.IMP))
_Q_MECHANISM = "idsa-2024:CRE general approach"
_Q_ERTAPENEM_ONLY = "idsa-2024:Q3.3"
_Q_KPC = "idsa-2024:Q3.4"
_Q_MBL = "idsa-2024:Q3.5"
_Q_OXA48 = "idsa-2024:Q3.6"
_Q_CZA_RESISTANCE = "idsa-2024:Q3.7"
_PHENOTYPE_LIMITS = (
    "a phenotype that suggests no carbapenemase does not exclude enzymes that rapid panels miss (GES, IMI, SME); "
    "a carbapenemase test settles it"
)
_ORDER_TEST = (
    "carbapenemase test (PCR such as Xpert Carba-R, or lateral flow such as NG-Test CARBA 5) "
    "to settle the mechanism"
)
_GROUP_OF: dict[Enzyme, Group] = {
    Enzyme.KPC: "kpc", Enzyme.OXA48: "oxa48", Enzyme.GES: "kpc",
    Enzyme.NDM: "mbl", Enzyme.VIM: "mbl", Enzyme.IMP: "mbl",
}
_NOT_COVERED: dict[Group, str] = {
    "kpc": "it does not cover metallo-beta-lactamases (NDM, VIM, IMP), against which ceftazidime-avibactam, "
    "meropenem-vaborbactam and imipenem-relebactam are inactive, nor OXA-48-like enzymes, which vaborbactam and "
    "relebactam do not inhibit",
    "oxa48": "it does not cover metallo-beta-lactamases (NDM, VIM, IMP), against which ceftazidime-avibactam is "
    "inactive",
    "mbl": "if the isolate turns out to carry a serine carbapenemase only, the KPC or OXA-48-like regimen table "
    "applies",
}


@dataclass(slots=True)
class MechanismFinding:
    """The carbapenemase class the engine treats, how sure it is, and what would settle it.

    Working state, built on every case from values this module chose (the answer's `Mechanism`
    model validates what reaches the output), so a plain dataclass."""

    class_: MechanismClass
    basis: Literal["reported", "inferred", "empiric"]
    group: Group
    """the regimen table to use"""
    explanation: str
    trace: str
    enzymes: list[str] = field(default_factory=list)
    missing_data: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    citations: list[str] = field(default_factory=list)


def _finding(
    class_: MechanismClass, basis: Literal["reported", "inferred", "empiric"], group: Group, explanation: str,
    trace: str, *, enzymes: Iterable[str] = (), missing_data: Iterable[str] = (), warnings: Iterable[str] = (),
    citations: Iterable[str] = (),
) -> MechanismFinding:
    """A finding whose lists are fresh ones the caller may extend."""
    return MechanismFinding(class_, basis, group, explanation, trace, list(enzymes), list(missing_data),
                            list(warnings), list(citations))


def _category(reading: SusceptibilityReading, agent: str) -> Category | None:
    result = reading.results.get(agent)
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
    knowledge = knowledge or default_knowledge()
    organism = knowledge.organism(isolate.organism)
    data = load_mechanism_data(knowledge.directory)
    if isolate.carbapenemase:
        finding = _from_genes(isolate, data)
    elif isolate.carbapenemase is not None:
        finding = _tested_negative(isolate, reading, organism, data)
    else:
        finding = _from_phenotype(reading, organism, data) or _empiric(
            reading, context, data, _us_shares(knowledge.directory)
        )
    extra = _imipenem_only_warning(reading, organism)
    if extra:
        finding.warnings.append(extra)
        finding.citations.append("eucast-bp-16.1:Enterobacterales/Carbapenems")
    if recent_cza:
        finding.warnings.append(
            "recent ceftazidime-avibactam exposure or a known ceftazidime-avibactam-resistant CRE: prefer a "
            "different newer agent and repeat susceptibility testing of the newer agents"
        )
        finding.citations.append(_Q_CZA_RESISTANCE)
    return finding


def _from_genes(isolate: Isolate, data: MechanismData) -> MechanismFinding:
    panel = data.panels.get(isolate.carbapenemase_test.value) if isolate.carbapenemase_test else None
    fields = _gene_finding(tuple(isolate.carbapenemase or ()), panel.name if panel else None)
    return _finding(**fields)


@lru_cache(maxsize=256)
def _gene_finding(enzymes: tuple[Enzyme, ...], panel: str | None) -> dict[str, Any]:
    """The finding's fields for these reported enzymes and panel (cached: both come from small sets)."""
    names = tuple(e.value for e in enzymes)
    how = f"reported ({panel})" if panel else "reported"
    if not _MBL.isdisjoint(enzymes):
        others = [e.value for e in enzymes if e not in _MBL]
        explanation = f"metallo-beta-lactamase producer ({', '.join(names)}), {how}"
        warnings: tuple[str, ...] = ()
        if others:
            explanation += f"; co-produces {', '.join(others)}: treated as an MBL producer"
            if Enzyme.OXA48 in enzymes:
                warnings = (
                    "OXA-48-like enzyme present with the MBL: aztreonam with meropenem-vaborbactam or "
                    "imipenem-relebactam is not an option (neither inhibitor covers OXA-48-like enzymes)",
                )
        return dict(
            class_="metallo_beta_lactamase", enzymes=names, basis="reported", group="mbl", explanation=explanation,
            trace=f"mechanism: {explanation}; regimen table: MBL", warnings=warnings, citations=(_Q_MBL,),
        )
    if Enzyme.OXA48 in enzymes:
        explanation = f"OXA-48-like carbapenemase ({', '.join(names)}), {how}"
        if Enzyme.KPC in enzymes:
            explanation += (
                "; KPC with OXA-48-like is treated as OXA-48-like because vaborbactam and relebactam do not "
                "inhibit OXA-48-like enzymes"
            )
        return dict(
            class_="serine_carbapenemase", enzymes=names, basis="reported", group="oxa48", explanation=explanation,
            trace=f"mechanism: {explanation}; regimen table: OXA-48-like", citations=(_Q_OXA48,),
        )
    if Enzyme.KPC in enzymes:
        explanation = f"KPC carbapenemase ({', '.join(names)}), {how}"
        return dict(
            class_="serine_carbapenemase", enzymes=names, basis="reported", group="kpc", explanation=explanation,
            trace=f"mechanism: {explanation}; regimen table: KPC", citations=(_Q_KPC,),
        )
    explanation = f"GES-type serine carbapenemase, {how}: treated with the KPC regimen table"
    return dict(
        class_="serine_carbapenemase", enzymes=names, basis="reported", group="kpc", explanation=explanation,
        trace=f"mechanism: {explanation}",
        warnings=(
            "GES-type carbapenemase: activity of ceftazidime-avibactam, meropenem-vaborbactam and "
            "imipenem-relebactam is not predictable from the enzyme; use only agents tested susceptible",
        ),
        missing_data=("susceptibility to ceftazidime-avibactam, meropenem-vaborbactam and imipenem-relebactam",),
        citations=(_Q_KPC,),
    )


def _carbapenems_low(
    reading: SusceptibilityReading, organism: Organism, data: MechanismData
) -> tuple[bool | None, str]:
    """Whether meropenem and imipenem MICs are <= 1 mg/L with ertapenem not susceptible.

    Imipenem is left out for Morganellaceae: its MICs are raised there by nature.
    """
    agents = ["meropenem"] if _is_morganellaceae(organism) else ["meropenem", "imipenem-cilastatin"]
    limit = data.carbapenem_susceptible_for_cre.mic_le
    assert limit is not None
    lows = [mic_at_most(reading.get(a), limit) for a in agents]
    ertapenem = _category(reading, "ertapenem")
    ertapenem_ns = None if ertapenem is None else ertapenem != "S"
    verdicts = [*lows, ertapenem_ns]
    if any(v is False for v in verdicts):
        return False, ""
    if any(v is None for v in verdicts):
        return None, ", ".join(a for a, v in zip([*agents, "ertapenem"], verdicts) if v is None)
    return True, ""


def _tested_negative(
    isolate: Isolate, reading: SusceptibilityReading, organism: Organism, data: MechanismData
) -> MechanismFinding:
    panel = data.panels.get(isolate.carbapenemase_test.value) if isolate.carbapenemase_test else None
    name = panel.name if panel else "carbapenemase test"
    if panel is not None and panel.complete:
        caveat = None
    else:
        looked_for = f" (looks for {', '.join(panel.targets)})" if panel and panel.targets else ""
        caveat = (
            f"a negative {name}{looked_for} does not exclude carbapenemases outside its panel (GES, IMI, SME "
            "and other rare enzymes); if the phenotype suggests a carbapenemase, ask for further testing"
        )
    low, missing = _carbapenems_low(reading, organism, data)
    missing_data: list[str] = []
    if low:
        group: Group = "non_carbapenemase_carbapenem_s"
        carbapenems = "meropenem" if _is_morganellaceae(organism) else "meropenem and imipenem"
        detail = f"{carbapenems} MIC <= 1 mg/L with ertapenem not susceptible"
    else:
        group = "non_carbapenemase"
        detail = "no carbapenem with MIC <= 1 mg/L" if low is False else "carbapenem MICs incomplete"
        if low is None:
            missing_data.append(
                f"MIC of {missing} (meropenem and imipenem MIC <= 1 mg/L would allow extended-infusion meropenem)"
            )
    explanation = f"no carbapenemase found by {name}; {detail}"
    return _finding(
        "non_carbapenemase", "reported", group, explanation, f"mechanism: {explanation}; regimen table: {group}",
        missing_data=missing_data, warnings=(caveat,) if caveat else (), citations=(_Q_ERTAPENEM_ONLY,),
    )


def _from_phenotype(
    reading: SusceptibilityReading, organism: Organism, data: MechanismData
) -> MechanismFinding | None:
    """SPEC section 2 patterns, in order; None when none applies."""
    cza = _category(reading, "ceftazidime-avibactam")
    mev = _category(reading, "meropenem-vaborbactam")
    imr = _category(reading, "imipenem-cilastatin-relebactam")
    morganellaceae = _is_morganellaceae(organism)
    # relebactam does not restore imipenem in Morganellaceae, whose imipenem MICs are raised by nature
    imr_r = True if morganellaceae else imr == "R"
    imr_s = True if morganellaceae else imr == "S"
    used = "ceftazidime-avibactam, meropenem-vaborbactam" + ("" if morganellaceae else " and imipenem-relebactam")
    screen = data.carbapenemase_screening
    assert screen.agent is not None and screen.mic_gt is not None
    above_screen = mic_at_most(reading.get(screen.agent), screen.mic_gt) is False
    missing = [f"{_ORDER_TEST}; {screen.text}" if above_screen else _ORDER_TEST]
    screen_cite = list(screen.citations) if above_screen else []

    def inferred(
        class_: MechanismClass, group: Group, explanation: str, cite: str, warnings: tuple[str, ...] = ()
    ) -> MechanismFinding:
        text = f"inferred from the phenotype, not tested: {explanation}"
        return _finding(
            class_, "inferred", group, text, f"mechanism: {text}; regimen table: {group}", missing_data=missing,
            warnings=warnings, citations=(_Q_MECHANISM, cite, *screen_cite),
        )

    if cza == "R" and mev == "R" and imr_r:
        return inferred(
            "metallo_beta_lactamase", "mbl", f"resistant to {used}: metallo-beta-lactamase suspected", _Q_MBL
        )
    if cza == "S" and mev == "R" and imr_r:
        return inferred(
            "serine_carbapenemase", "oxa48",
            "ceftazidime-avibactam susceptible but meropenem-vaborbactam"
            + ("" if morganellaceae else " and imipenem-relebactam")
            + " resistant: OXA-48-like carbapenemase suspected",
            _Q_OXA48,
        )
    low, _ = _carbapenems_low(reading, organism, data)
    if low:
        return inferred(
            "non_carbapenemase", "non_carbapenemase_carbapenem_s",
            "ertapenem not susceptible with meropenem" + ("" if morganellaceae else " and imipenem")
            + " MIC <= 1 mg/L: carbapenemase unlikely (under 3% in US data)",
            _Q_ERTAPENEM_ONLY,
            warnings=(
                _PHENOTYPE_LIMITS,
                "OXA-48-like producers can have low meropenem MICs; where OXA-48-like enzymes are common the US "
                "figure does not apply",
            ),
        )
    if cza == "S" and mev == "S" and imr_s:
        return inferred(
            "unknown", "kpc", f"susceptible to {used}: KPC or a non-carbapenemase mechanism likely", _Q_KPC,
            warnings=(_PHENOTYPE_LIMITS,),
        )
    return None


@cache
def _us_shares(directory: Path) -> dict[Enzyme, float]:
    """The US shares of mechanism.yaml by enzyme; cached like the file they come from."""
    return {Enzyme(e): v for e, v in load_mechanism_data(directory).us_distribution.shares.items()}


def _empiric(
    reading: SusceptibilityReading, context: Context, data: MechanismData, us_shares: dict[Enzyme, float]
) -> MechanismFinding:
    local = context.local_carbapenemase_distribution
    us = data.us_distribution
    distribution = {Enzyme(k): v for k, v in local.items()} if local else us_shares
    source = "the local carbapenemase distribution" if local else us.text
    enzyme = max(distribution, key=distribution.__getitem__)
    group = _GROUP_OF[enzyme]
    results = "the susceptibility results fit no phenotype pattern" if reading.results else "no susceptibility results"
    why = f"no carbapenemase result and {results}"
    explanation = f"empiric: {why}; the most common enzyme in {source} is {enzyme.value}"
    return _finding(
        "unknown", "empiric", group, explanation, f"mechanism: {explanation}; regimen table: {group}",
        missing_data=(
            _ORDER_TEST,
            "susceptibility results including ceftazidime-avibactam, meropenem-vaborbactam, imipenem-relebactam "
            "and cefiderocol",
        ),
        warnings=(f"the choice is empiric (regimen table {group}): {_NOT_COVERED[group]}",),
        citations=(_Q_MECHANISM,) if local else dict.fromkeys([_Q_MECHANISM, *us.citations]),
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


# ---- one MIC, as the interpret command and the REST endpoint report it ----------------------


_MEANING = {
    ("EUCAST", "S"): "susceptible, standard dosing regimen",
    ("EUCAST", "I"): "susceptible, increased exposure: only the high-exposure dose is adequate",
    ("EUCAST", "R"): "resistant",
    ("CLSI", "S"): "susceptible",
    ("CLSI", "I"): "intermediate: not a reliable choice",
    ("CLSI", "R"): "resistant",
}


def meaning(result: AgentResult) -> str:
    """The category in words, by whose letters it is (EUCAST 'I' is not CLSI 'I')."""
    if result.category is None:
        return "no breakpoint"
    if result.source == "intrinsic":
        return "resistant (expected resistant phenotype)"
    return _MEANING.get((result.scheme or "", result.category), result.category)


def interpretation_report(
    table: BreakpointTable, agent: str, mic_text: str, organism: Organism, site: str | None, knowledge: Knowledge
) -> dict[str, Any]:
    """One MIC read with the row for this organism and site, then expected resistance: the JSON
    both `cre-advisor interpret --json` and `POST /v1/interpret` answer with."""
    mic = parse_mic(mic_text)
    interpretation = interpret_mic(table, agent, mic, organism, site)
    result, warnings = apply_expected_resistance(interpretation.as_result(agent, mic), agent, organism, knowledge)
    assert result is not None  # an interpreted MIC always yields a result
    if table.fixture:
        warnings.insert(0, f"{table.label} is a test fixture, not for patient care")
    row = interpretation.row
    return {
        "agent": agent,
        "mic": mic_text.strip(),
        "organism": organism.name,
        "site": site,
        "interpretation": result.category,
        "meaning": meaning(result),
        "source": result.source,
        "breakpoint_s": None if row is None else row.s_le,
        "breakpoint_r": None if row is None else row.r_gt,
        "bracketed": bool(row is not None and row.bracketed),
        "table": table.label,
        "row": None if row is None else table.scope_of(row),
        "note": result.note if result.source == "intrinsic" else interpretation.note,
        "table_note": None if row is None else (" ".join(row.notes) or None),
        "citations": list(dict.fromkeys([*interpretation.citations, *result.citations])),
        "warnings": warnings,
    }


CARBAPENEMS = ("meropenem", "imipenem-cilastatin", "ertapenem")


def resistant_carbapenems(reading: SusceptibilityReading, organism: Organism) -> list[str]:
    """Carbapenems this isolate is read resistant to: what makes it CRE without a carbapenemase.

    Imipenem alone does not count for Morganellaceae (Proteus, Morganella, Providencia), whose
    imipenem activity is reduced by nature (SPEC section 0).
    """
    return [
        agent for agent in CARBAPENEMS
        if not (_is_morganellaceae(organism) and agent == "imipenem-cilastatin")
        and (result := reading.get(agent)) is not None and result.category == "R"
    ]


def imipenem_exception_applies(reading: SusceptibilityReading, organism: Organism, carbapenemase: object) -> bool:
    """A Proteus, Morganella or Providencia isolate that is not CRE (IDSA 2024 CRE definition).

    These genera have intrinsically raised imipenem MICs, so the definition needs resistance to a
    carbapenem other than imipenem. True when no carbapenemase is reported, meropenem or ertapenem was
    tested, and every such result is susceptible: whatever imipenem shows, the isolate is not CRE.
    """
    if not _is_morganellaceae(organism) or carbapenemase:
        return False
    others = [reading.get(agent) for agent in CARBAPENEMS if agent != "imipenem-cilastatin"]
    tested = [result for result in others if result is not None]
    return bool(tested) and all(result.category == "S" for result in tested)

