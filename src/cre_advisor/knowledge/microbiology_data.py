"""Schema and loaders of the microbiology data files other than the breakpoint tables.

expected_resistance.yaml: resistance an organism has by nature (EUCAST Expected Resistant
Phenotypes). An `expected_resistant` rule makes the agent R; `reduced_activity` only warns.
mechanism.yaml: the numbers the carbapenemase classification uses, with their sources.
`microbiology_citations` lists every citation and agent these files and the breakpoint tables
hold, so the knowledge check can resolve them. Nothing here interprets a result.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from cre_advisor.knowledge.yaml_files import load_knowledge_yaml


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExpectedResistance(_Data):
    organisms: tuple[str, ...] = Field(min_length=1, description="Species, genera or families.")
    agents: tuple[str, ...] = Field(min_length=1)
    kind: Literal["expected_resistant", "reduced_activity"] = "expected_resistant"
    note: str
    citations: tuple[str, ...] = Field(min_length=1)

    def covers(self, names: Iterable[str]) -> bool:
        return bool({n.lower() for n in names} & {o.lower() for o in self.organisms})


class ExpectedResistanceTable(_Data):
    version: str
    source: str
    rules: tuple[ExpectedResistance, ...]

    def for_organism(self, names: Iterable[str]) -> tuple[ExpectedResistance, ...]:
        names = tuple(names)
        return tuple(r for r in self.rules if r.covers(names))


class Threshold(_Data):
    agent: str | None = None
    mic_gt: float | None = None
    mic_le: float | None = None
    text: str
    citations: tuple[str, ...] = Field(min_length=1)


class Distribution(_Data):
    shares: dict[str, float]
    text: str
    citations: tuple[str, ...] = Field(min_length=1)


class Panel(_Data):
    name: str
    targets: tuple[str, ...] = ()
    complete: bool = Field(default=False, description="Looks for every known carbapenemase gene.")


class MechanismData(_Data):
    version: str
    carbapenemase_screening: Threshold
    carbapenem_susceptible_for_cre: Threshold
    us_distribution: Distribution
    panels: dict[str, Panel]


def _read(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return load_knowledge_yaml(handle)


@cache
def load_expected_resistance(directory: Path) -> ExpectedResistanceTable:
    return ExpectedResistanceTable.model_validate(_read(directory / "expected_resistance.yaml"))


@cache
def load_mechanism_data(directory: Path) -> MechanismData:
    return MechanismData.model_validate(_read(directory / "mechanism.yaml"))


def microbiology_citations(knowledge: Any) -> Iterator[tuple[str, tuple[str, ...], tuple[str, ...]]]:
    """(owner, citations, agents) for every shipped breakpoint row and microbiology data item."""
    for table in knowledge.breakpoint_tables.tables.values():
        if table.fixture:
            continue
        for row in table.rows:
            yield f"{table.id}:{row.agent}", row.citations, (row.agent,)
    for rule in load_expected_resistance(knowledge.directory).rules:
        yield f"expected_resistance:{'/'.join(rule.agents)}", rule.citations, rule.agents
    data = load_mechanism_data(knowledge.directory)
    for name in ("carbapenemase_screening", "carbapenem_susceptible_for_cre", "us_distribution"):
        item = getattr(data, name)
        yield f"mechanism:{name}", item.citations, ()
