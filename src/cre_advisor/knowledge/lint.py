"""Cross-checks of the knowledge base that the per-file schemas cannot make.

Every citation must name a reference; every agent named anywhere must exist and have a dose
table; every reference must be cited somewhere (no orphans); every statement the engine
fires by id must exist. Returns a readable list instead of raising at the first problem.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from cre_advisor.knowledge.loader import Knowledge, load_knowledge
from cre_advisor.knowledge.schema import REQUIRED_STATEMENTS
from cre_advisor.knowledge.microbiology_data import microbiology_citations


@dataclass
class LintReport:
    version: str = "?"
    items: int = 0
    citations: int = 0
    references: int = 0
    problems: list[str] = field(default_factory=list)
    knowledge: Knowledge | None = None


def _nested_citations(data: object) -> list[str]:
    """Citations at any depth of a dumped dose table (bands, dialysis rows, CRRT rows, weights)."""
    if isinstance(data, dict):
        found = list(data.get("citations") or ())
        for key, value in data.items():
            if key != "citations":
                found += _nested_citations(value)
        return found
    if isinstance(data, (list, tuple)):
        return [c for value in data for c in _nested_citations(value)]
    return []


def check_knowledge(directory: str | Path | None = None) -> LintReport:
    """Every cross-check; `report.knowledge` is the loaded base for further checks (None if it failed)."""
    report = LintReport()
    try:
        kn = load_knowledge(directory) if directory else Knowledge()
    except (ValidationError, ValueError, KeyError, OSError) as exc:
        report.problems.append(f"the knowledge base does not load: {exc}")
        return report
    report.knowledge = kn
    report.version, report.items, report.references = kn.version, len(kn.items), len(kn.references)
    cited: set[str] = set()

    def cite(owner: str, citations: tuple[str, ...] | list[str]) -> None:
        for citation in citations:
            report.citations += 1
            ref = citation.split(":", 1)[0]
            cited.add(ref)
            if ref not in kn.references:
                report.problems.append(f"{owner}: citation '{citation}' names no reference in references.yaml")

    def agent(owner: str, name: str) -> None:
        if name not in kn.agents:
            report.problems.append(f"{owner}: unknown agent '{name}'")

    for item_id, item in kn.items.items():
        cite(item_id, item.citations)
    for row in kn.regimens:
        for comp in row.components:
            agent(row.id, comp.agent)
            table = kn.dosing.agents.get(comp.agent)
            if table is not None and comp.variant not in table.variants:
                report.problems.append(f"{row.id}: dose variant '{comp.variant}' missing for {comp.agent}")
        for name in (*row.requires_tested, *((row.activity_surrogate,) if row.activity_surrogate else ())):
            agent(row.id, name)
    for rule in kn.avoid_rules:
        for name in rule.agents:
            agent(rule.id, name)
    combo = kn.combination
    for name in (*combo.companions, *(a for agents in combo.backbones.values() for a in agents),
                 *(a for agents in combo.older_single_agents.values() for a in agents)):
        agent(combo.id, name)
    for statement in kn.statements.values():
        for name in statement.applies.agents_any:
            agent(statement.id, name)
        if "clinician" not in statement.text:
            report.problems.append(f"{statement.id}: no clinician text")
    for info in kn.agents.values():
        for name in info.contains:
            agent(info.id, name)
        if not info.never_for_cre and info.id not in kn.dosing.agents:
            report.problems.append(f"{info.id}: no dose table in dosing.yaml")
    for table_agent, table in kn.dosing.agents.items():
        agent(table.id, table_agent)
        cite(table.id, _nested_citations(table.model_dump(include={"variants"})))
    cite("dosing.yaml principles", _nested_citations(kn.dosing.principles.model_dump()))
    for owner, citations, agents in microbiology_citations(kn):
        cite(owner, citations)
        for name in agents:
            agent(owner, name)
    for statement_id in sorted(REQUIRED_STATEMENTS):
        if statement_id not in kn.statements:
            report.problems.append(f"statement '{statement_id}' is fired by the engine but missing")
    for ref in kn.references:
        if ref not in cited:
            report.problems.append(f"reference '{ref}' is cited nowhere (orphan)")
    report.problems = list(dict.fromkeys(report.problems))
    return report
