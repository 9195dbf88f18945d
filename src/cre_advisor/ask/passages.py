"""Knowledge items as passages an answer can quote: statements, dose tables, regimen rows,
avoid rules, agents, the Step 3 combination rules and reference titles.

A passage's lines are the item's own text (statements, rationales, reasons, cautions) or its
data fields laid out as they stand (bands, doses, sites, tiers); nothing is paraphrased or
added. `patient_wording` says whether the item has words meant for patients and families
(a statement's patient text; a dose table's "no doses shown" line). Each line keeps the citations of the field it came from. The index text is the same
content plus the field values as words, so a question can find an item by what it applies to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cre_advisor.knowledge.dosing_tables import AgentDosing
from cre_advisor.knowledge.loader import Knowledge
from cre_advisor.knowledge.schema import Agent, Applies, AvoidRule, CombinationRules, Item, Reference, RegimenRow, Statement
from cre_advisor.render.citations import CitationIndex, Marker
from cre_advisor.render.dose_table import dose_tables

GROUP_LABELS = {
    "kpc": "KPC (serine carbapenemase)",
    "oxa48": "OXA-48-like carbapenemase",
    "mbl": "metallo-beta-lactamase (NDM, VIM, IMP)",
    "non_carbapenemase": "no carbapenemase, no carbapenem active",
    "non_carbapenemase_carbapenem_s": "no carbapenemase, meropenem and imipenem MIC <= 1 mg/L",
}
SITE_LABELS = {
    "bloodstream": "bloodstream", "intra_abdominal": "intra-abdominal", "urinary_complicated":
    "complicated urinary tract infection or pyelonephritis", "cystitis": "uncomplicated cystitis", "pneumonia": "pneumonia",
    "skin_soft_tissue": "skin and soft tissue", "bone_joint": "bone and joint", "cns": "central nervous system",
    "other": "other sites",
}
PROFILE_LABELS = {"idsa-2024": "IDSA 2024", "escmid-2022": "ESCMID 2022"}
KIND_LABELS = {
    "warning": "warning", "monitoring": "monitoring", "icu_note": "ICU note", "site_note": "site note",
    "pitfall": "pitfall", "disclaimer": "disclaimer", "missing_data": "missing data", "topic_note": "topic note",
}
NO_DOSES_FOR_PATIENTS = "Doses are worked out by the care team and are not shown in this view."
ROUTE_WORDS = {"IV": "intravenous", "PO": "oral", "IM": "intramuscular"}
SPECIFIC_SITES = 4
EXTENDED_INFUSION_H = 2  # a row infused over this long or longer is an extended infusion
CONDITION_LABELS = {
    "meropenem_mic_le_1": "only when the meropenem MIC is <= 1 mg/L",
    "imipenem_mic_le_1": "only when the imipenem MIC is <= 1 mg/L",
    "no_oxa48": "only when no OXA-48-like enzyme is present",
}


@dataclass(frozen=True)
class Line:
    """One line of an answer with the citations of the field it came from."""

    text: str
    citations: tuple[str, ...] = ()


Body = Callable[[str], list[Line]]


@dataclass(frozen=True)
class Passage:
    """A quotable knowledge item: its own lines per audience, its sources and review state."""

    id: str
    kind: str
    title: str
    body: Body
    citations: tuple[str, ...]
    review_status: str | None
    updated: str | None
    agents: tuple[str, ...]
    applies: Applies | None
    index_text: str
    patient_wording: bool = False
    topic: str | None = None
    subject: str = ""  # what the item is about, for ranking: a statement's topic, else most titles


def build_passages(knowledge: Knowledge) -> list[Passage]:
    """Every knowledge item the index holds, in a stable order (`ask.tool` adds the passages about
    the tool itself, built from these)."""
    dose_tables = [_dose_table(knowledge, d) for d in knowledge.dosing.agents.values()]
    return [
        *(_statement(s) for s in knowledge.statements.values() if s.kind != "disclaimer"),
        *dose_tables,
        *(_regimen(knowledge, r) for r in knowledge.regimens),
        *(_avoid(knowledge, a) for a in knowledge.avoid_rules),
        *(_agent(a) for a in knowledge.agents.values()),
        _combination(knowledge, knowledge.combination),
        *(_reference(r) for r in knowledge.references.values()),
    ]


def _item_fields(item: Item) -> dict[str, object]:
    return {"citations": tuple(item.citations), "review_status": item.review_status, "updated": item.updated}


def _statement(statement: Statement) -> Passage:
    topic = statement.topic or statement.id.replace("-", " ")
    texts = statement.text

    def body(audience: str) -> list[Line]:
        return [Line(texts.get(audience) or texts["clinician"], tuple(statement.citations))]  # type: ignore[call-overload]

    return Passage(
        id=statement.id, kind="statement", title=f"{topic[0].upper()}{topic[1:]} ({KIND_LABELS[statement.kind]})",
        body=body, agents=statement.applies.agents_any, applies=statement.applies,
        index_text=" ".join([topic, KIND_LABELS[statement.kind], *texts.values(), _applies_words(statement.applies)]),
        patient_wording="patient" in texts, topic=topic, subject=topic,
        **_item_fields(statement),  # type: ignore[arg-type]
    )


def _dose_table(knowledge: Knowledge, dosing: AgentDosing) -> Passage:
    agent_id = dosing.id.removeprefix("dosing:")
    name = _agent_name(knowledge, agent_id)

    def body(audience: str) -> list[Line]:
        if audience == "patient":
            return [Line(NO_DOSES_FOR_PATIENTS)]
        lines = []
        cite = CitationIndex(knowledge.references)
        for table in dose_tables(dosing, cite):
            lines += [Line(f"{table.title}: {fact.text}", _citations(fact.markers)) for fact in table.facts]
            for row in table.rows:
                parts = [row.dose]
                if row.loading:
                    parts.insert(0, f"loading {row.loading}, then")
                if row.interval:
                    parts.append(f"every {row.interval}" if row.interval[0].isdigit() else row.interval)
                if row.infusion:
                    parts.append(f"over {row.infusion}")
                notes = f" ({'; '.join(row.notes)})" if row.notes else ""
                lines.append(Line(f"{table.title}, {row.band}: {' '.join(parts)}{notes}", _citations(row.markers)))
        lines += [Line(f"Monitoring: {text}", tuple(dosing.citations)) for text in dosing.monitoring]
        return lines

    modes = []
    for variant_name, variant in dosing.variants.items():
        modes.append(variant_name.replace("_", " "))
        if variant.hemodialysis is not None or variant.hemodialysis_by_residual_crcl:
            modes.append("intermittent haemodialysis dialysis")
        if variant.crrt:
            modes.append("CRRT continuous renal replacement effluent")
        if variant.loading_formula is not None or any(r.loading_dose_mg or r.loading_dose_mg_per_kg for r in variant.bands):
            modes.append("loading dose")
        if variant.weight is not None:
            modes.append("body weight mg/kg")
        if variant.child_pugh_c is not None:
            modes.append("Child-Pugh liver hepatic")
        if variant.renal_adjusted:
            modes.append("renal adjustment CrCl")
        if any(band.infusion_h and band.infusion_h >= EXTENDED_INFUSION_H for band in variant.bands):
            modes.append("extended infusion")
    clinician = " ".join(line.text for line in body("clinician"))
    return Passage(
        id=dosing.id, kind="dose_table", title=f"{name}: adult dose table", subject=f"dose {' '.join(modes)}",
        body=body, agents=(agent_id,), applies=None,
        index_text=f"{name} dose dosing {' '.join(modes)} {clinician}", patient_wording=True,
        **_item_fields(dosing),  # type: ignore[arg-type]
    )


def _regimen(knowledge: Knowledge, row: RegimenRow) -> Passage:
    agents = tuple(c.agent for c in row.components)
    names = " + ".join(_agent_name(knowledge, c.agent) + ("" if c.route == "IV" else f" ({c.route})") for c in row.components)
    tier = row.tier.replace("_", " ")
    title = f"{names}: {tier} for {_scope(row.applies)}"
    conditions = [
        CONDITION_LABELS.get(row.condition, row.condition.replace("_", " ")) if row.condition else "",
        "only when no preferred option can be used" if row.only_without_preferred else "",
        *(f"needs a susceptible {_agent_name(knowledge, a)} result" for a in row.requires_tested),
        "only for non-severe infection" if row.applies.severe is False else "",
        "only for severe infection" if row.applies.severe is True else "",
        *(f"only for {genus}" for genus in row.applies.organism_genera),
        *(f"{_agent_name(knowledge, c.agent)} is added for anaerobes" for c in row.components if c.role == "anaerobic"),
    ]
    conditions = [c for c in conditions if c]

    def body(audience: str) -> list[Line]:
        lines = [Line(row.rationale.strip(), tuple(row.citations))]
        if conditions:
            lines.append(Line("Conditions: " + "; ".join(conditions) + ".", tuple(row.citations)))
        lines += [Line(f"Caution: {caution}", tuple(row.citations)) for caution in row.cautions]
        return lines

    return Passage(
        id=row.id, kind="regimen", title=title, body=body, agents=agents, applies=row.applies,
        index_text=" ".join([names, tier, row.rationale, *row.cautions, *conditions, _applies_words(row.applies),
                             *(ROUTE_WORDS.get(c.route, c.route) for c in row.components)]),
        **_item_fields(row),  # type: ignore[arg-type]
    )


def _avoid(knowledge: Knowledge, rule: AvoidRule) -> Passage:
    names = ", ".join(_agent_name(knowledge, a) for a in rule.agents)
    alone = " alone" if rule.scope == "monotherapy" else ""
    scope = _scope(rule.applies)
    title = f"Avoid {names}{alone}" + ("" if scope == "any mechanism, any site" else f" ({scope})")

    def body(audience: str) -> list[Line]:
        return [Line(rule.reason.strip(), tuple(rule.citations))]

    return Passage(
        id=rule.id, kind="avoid_rule", title=title, subject=title, body=body, agents=rule.agents, applies=rule.applies,
        index_text=f"avoid {names} {alone} {rule.reason} {_applies_words(rule.applies)}",
        **_item_fields(rule),  # type: ignore[arg-type]
    )


def _agent(agent: Agent) -> Passage:
    facts = [
        f"Class: {agent.drug_class.replace('_', ' ')}",
        f"Routes: {', '.join(agent.routes)}",
        f"Also called: {', '.join(agent.synonyms)}" if agent.synonyms else "",
        f"Contains: {', '.join(agent.contains)}" if agent.contains else "",
        "May be offered before its own result against: " + ", ".join(agent.expected_active_against)
        if agent.expected_active_against else "",
        "Covers anaerobes" if agent.anaerobic_cover else "Does not cover anaerobes",
        f"Allergy groups: {', '.join(g.replace('-', ' ') for g in agent.allergy_groups)}" if agent.allergy_groups else "",
        "Nephrotoxic" if agent.nephrotoxic else "",
        f"Pregnancy: {agent.pregnancy}" if agent.pregnancy else "",
        "Not active against CRE: never offered" if agent.never_for_cre else "",
        "Newer agent" if agent.newer_agent else "",
    ]
    facts = [f for f in facts if f]

    def body(audience: str) -> list[Line]:
        return [Line(". ".join(facts) + ".", tuple(agent.citations))]

    return Passage(
        id=agent.id, kind="agent", title=f"{agent.name}: agent profile", subject=agent.name, body=body, agents=(agent.id,),
        applies=None,
        index_text=" ".join([agent.name, *(f for f in facts if not f.startswith("Also called"))]),
        **_item_fields(agent),  # type: ignore[arg-type]
    )


def _combination(knowledge: Knowledge, rules: CombinationRules) -> Passage:
    def names(agents: tuple[str, ...]) -> str:
        return ", ".join(_agent_name(knowledge, a) for a in agents)

    lines = [
        *(f"Polymyxin backbone ({where}): {names(agents)}" for where, agents in rules.backbones.items()),
        f"Companions: {names(rules.companions)}",
        *(f"{_agent_name(knowledge, a)} not as companion for: {', '.join(SITE_LABELS[s] for s in sites)}"
          for a, sites in rules.companion_excluded_sites.items()),
        *(f"Meropenem joins a combination ({profile}) only when its MIC is <= {limit:g} mg/L"
          for profile, limit in rules.meropenem_max_mic_mg_l.items()),
        *(f"Older single agent for non-severe infection ({', '.join(SITE_LABELS[s] for s in sites)}): {names(agents)}"
          for agents, sites in _by_value(rules.older_single_agents).items()),
    ]

    def body(audience: str) -> list[Line]:
        return [Line(line, tuple(rules.citations)) for line in lines]

    agents = tuple(dict.fromkeys(a for group in (*rules.backbones.values(), rules.companions) for a in group))
    title = "Last resort: polymyxin-based combination when no newer agent can be used"
    return Passage(
        id=rules.id, kind="combination", title=title, subject=title, body=body, agents=agents, applies=None,
        index_text=f"{title} combination last resort older agents severe " + " ".join(lines),
        **_item_fields(rules),  # type: ignore[arg-type]
    )


def _reference(ref: Reference) -> Passage:
    text = f"{ref.authors}. {ref.title}. {ref.source}."

    def body(audience: str) -> list[Line]:
        return [Line(text, (ref.id,))]

    return Passage(
        id=ref.id, kind="reference", title=ref.title, body=body, citations=(ref.id,), review_status=None,
        updated=None, agents=(), applies=None, index_text=f"{ref.id} {ref.title} {ref.source} reference guideline source",
    )


def _by_value(table: dict[str, tuple[str, ...]]) -> dict[tuple[str, ...], list[str]]:
    """Keys grouped by equal values, so identical lists are written once."""
    grouped: dict[tuple[str, ...], list[str]] = {}
    for key, value in table.items():
        grouped.setdefault(tuple(value), []).append(key)
    return grouped


def _scope(applies: Applies) -> str:
    groups = ", ".join(GROUP_LABELS.get(g, g) for g in applies.groups) or "any mechanism"
    sites = _site_scope(applies.sites)
    profiles = f" ({', '.join(PROFILE_LABELS.get(p, p) for p in applies.profiles)})" if applies.profiles else ""
    return f"{groups}, {sites}{profiles}"


def _site_scope(sites: tuple[str, ...]) -> str:
    if not sites:
        return "any site"
    missing = [s for s in SITE_LABELS if s not in sites]
    if missing and len(missing) <= 2:
        return "any site except " + " and ".join(SITE_LABELS[s] for s in missing)
    return ", ".join(SITE_LABELS.get(s, s) for s in sites)


def _applies_words(applies: Applies) -> str:
    """What an item applies to, as words the index can match (site, mechanism, renal mode...).

    Sites are written only when an item is specific to a few of them: a row for every site but
    the urinary tract says nothing particular about pneumonia, and naming the sites it excludes
    would make it match questions about them.
    """
    words: list[str] = []
    words += [GROUP_LABELS.get(g, g) for g in applies.groups]
    if len(applies.sites) <= SPECIFIC_SITES:
        words += [SITE_LABELS.get(s, s) for s in applies.sites]
    words += [PROFILE_LABELS.get(p, p) for p in applies.profiles]
    words += [s.replace("_", " ") for s in (*applies.severities, *applies.source_control, *applies.renal_replacement)]
    words += [b for b in applies.basis]
    if applies.pregnant:
        words.append("pregnancy")
    if applies.severe is not None:
        words.append("severe" if applies.severe else "non-severe")
    return " ".join(words)


def _agent_name(knowledge: Knowledge, agent_id: str) -> str:
    agent = knowledge.agents.get(agent_id)
    return agent.name if agent is not None else agent_id


def _citations(markers: tuple[Marker, ...]) -> tuple[str, ...]:
    return tuple(f"{m.ref_id}:{m.locator}" if m.locator else m.ref_id for m in markers)
