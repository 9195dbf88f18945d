"""Schema and loader of expected_resistance.yaml: resistance an organism has by nature.

EUCAST calls these expected resistant phenotypes: testing is unnecessary and a susceptible
result is most likely an error. A rule of kind `reduced_activity` is weaker (the agent works
less well, it is not declared resistant): it adds a warning and changes no category.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field


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


@cache
def load_expected_resistance(directory: Path) -> ExpectedResistanceTable:
    with (directory / "expected_resistance.yaml").open(encoding="utf-8") as handle:
        return ExpectedResistanceTable.model_validate(yaml.safe_load(handle))
