"""Loads the knowledge base from its YAML files into one read-only object with lookup indexes.

Loading happens once per process (`default_knowledge`); the engine then only reads dicts.
The loader validates shapes; cross-references (citations, agents) are checked by `lint.py`.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, get_args

from cre_advisor.knowledge.schema import (
    Agent,
    AvoidRule,
    CombinationRules,
    Item,
    Reference,
    RegimenRow,
    SiteName,
    Statement,
)
from cre_advisor.knowledge.yaml_files import load_knowledge_yaml
from cre_advisor.lru import LruDict

KNOWLEDGE_DIR = Path(__file__).parent
# Entries per memo: bench/memory.py (110,000 of its varied cases measured) fills the largest (the engine's rule
# matches) to about 1,600 distinct fact combinations; 4,096 keeps every one of them with room to spare.
MEMO_SIZE = 4096
_WORD = re.compile(r"[^a-z0-9]+")


@lru_cache(maxsize=8192)
def _key(name: str) -> str:
    """Matching key for names typed by people: case, spaces, slashes and hyphens do not matter."""
    return _WORD.sub("", name.lower())


class OutOfScopeOrganism(ValueError):
    """The organism is not an Enterobacterales species this tool covers."""


@dataclass(frozen=True)
class Organism:
    name: str
    genus: str
    family: str


def _read(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return load_knowledge_yaml(handle)


def _with_defaults(rows: list[dict[str, Any]], defaults: dict[str, Any]) -> list[dict[str, Any]]:
    return [{**defaults, **row} for row in rows]


class Knowledge:
    """The whole knowledge base, validated, with indexes the engine uses on its hot path."""

    def __init__(self, directory: Path = KNOWLEDGE_DIR) -> None:
        self.directory = directory
        release = _read(directory / "release.yaml")
        self.version: str = str(release["version"])
        self.released: str = str(release["date"])
        item_defaults = {"review_status": release.get("review_status", "submitted"), "updated": self.released}

        refs = _read(directory / "references.yaml")
        self.references: dict[str, Reference] = {r["id"]: Reference.model_validate(r) for r in refs["references"]}

        agents = _read(directory / "agents.yaml")
        self.allergy_classes: tuple[str, ...] = tuple(agents["allergy_classes"])
        self._allergen_synonyms: dict[str, str] = {
            _key(name): cls for cls, names in agents.get("allergen_synonyms", {}).items() for name in names
        }
        self.agents: dict[str, Agent] = {
            agent_id: Agent.model_validate({**item_defaults, "id": agent_id, **row})
            for agent_id, row in agents["agents"].items()
        }
        self._agent_keys: dict[str, str] = {}
        for agent in self.agents.values():
            for name in (agent.id, agent.name, *agent.synonyms):
                self._agent_keys.setdefault(_key(name), agent.id)

        regimens = _read(directory / "regimens.yaml")
        self.regimens: tuple[RegimenRow, ...] = tuple(
            RegimenRow.model_validate(r) for r in _with_defaults(regimens["regimens"], item_defaults)
        )
        self.avoid_rules: tuple[AvoidRule, ...] = tuple(
            AvoidRule.model_validate(r) for r in _with_defaults(regimens["avoid"], item_defaults)
        )
        self.regimens_by_id: dict[str, RegimenRow] = {row.id: row for row in self.regimens}
        self.regimens_by_site: dict[str, tuple[RegimenRow, ...]] = {
            site: tuple(r for r in self.regimens if not r.applies.sites or site in r.applies.sites)
            for site in get_args(SiteName)
        }
        """Rows that can apply at each site: the engine's first cut, so it tests few conditions."""
        self.combination = CombinationRules.model_validate({**item_defaults, **regimens["combination"]})
        self.site_rules: dict[str, Any] = regimens["site_rules"]

        statements = _read(directory / "statements.yaml")
        self.statements: dict[str, Statement] = {
            s["id"]: Statement.model_validate(s) for s in _with_defaults(statements["statements"], item_defaults)
        }

        organisms = _read(directory / "organisms.yaml")
        self._organisms: dict[str, Organism] = {}
        for row in organisms["enterobacterales"]:
            organism = Organism(row["name"], row["genus"], row["family"])
            for name in (row["name"], *row.get("synonyms", ())):
                self._organisms[_key(name)] = organism
        self._out_of_scope: dict[str, str] = {
            _key(name): row["name"]
            for row in organisms["out_of_scope"]
            for name in (row["name"], *row.get("synonyms", ()))
        }
        self.organism_names: tuple[str, ...] = tuple(row["name"] for row in organisms["enterobacterales"])

        from cre_advisor.knowledge.breakpoint_tables import load_breakpoint_tables
        from cre_advisor.knowledge.dosing_tables import load_dosing_tables

        self.dosing = load_dosing_tables(directory, item_defaults)
        self.breakpoint_tables = load_breakpoint_tables(directory, item_defaults)
        self.items: dict[str, Item] = {
            **self.agents,
            **{row.id: row for row in self.regimens},
            **{rule.id: rule for rule in self.avoid_rules},
            **self.statements,
            self.combination.id: self.combination,
            **{table.id: table for table in self.dosing.agents.values()},
        }
        """Every reviewable item by id: what the board approves and the engine reports on."""
        self.review_index: dict[str, tuple[str, str]] = {
            item_id: (item.review_status, item.updated or self.released) for item_id, item in self.items.items()
        }
        """id -> (shipped review status, last-updated date), for the answer's review block."""
        states = set(self.review_index.values())
        self.uniform_review: tuple[str, str] | None = states.pop() if len(states) == 1 else None
        """The one (status, date) every item shares, as in a fresh release; None once they differ."""
        self.memos: defaultdict[str, LruDict[Any, Any]] = defaultdict(lambda: LruDict(MEMO_SIZE))
        """Memos of what follows from this knowledge alone (the engine's rule matches, allergy extents, dose plans,
        fixed-dose items), by name: kept here so they live and go with the knowledge they came from. Each is
        an LRU of MEMO_SIZE entries, so a server answering new patients for months stays flat in memory."""

    # ---- lookups -------------------------------------------------------------------------
    def agent_id(self, name: str) -> str | None:
        """Contract identifier for a name, abbreviation or brand, or None when unknown."""
        if name in self.agents:  # already a contract identifier: the common case, no normalising needed
            return name
        return self._agent_keys.get(_key(name))

    def allergen_class(self, name: str) -> str | None:
        """The allergy class another name stands for ("PCN", "penicillin G" -> penicillins), or None."""
        return self._allergen_synonyms.get(_key(name))

    def organism(self, name: str) -> Organism:
        key = _key(name)
        found = self._organisms.get(key)
        if found is not None:
            return found
        outside = self._out_of_scope.get(key)
        if outside is not None:
            raise OutOfScopeOrganism(
                f"{outside} is not an Enterobacterales species; this version covers carbapenem-resistant "
                "Enterobacterales only"
            )
        raise OutOfScopeOrganism(
            f"organism '{name}' is not a recognised Enterobacterales species; "
            f"known: {', '.join(sorted({o.name for o in self._organisms.values()}))}"
        )

    def breakpoint_table_id(self, name: str) -> str:
        """Canonical id of a breakpoint table by name or alias; raises ValueError naming the choices."""
        return self.breakpoint_tables.resolve(name)


@cache
def default_knowledge() -> Knowledge:
    """The knowledge base the process uses: the shipped one, or CRE_ADVISOR_KNOWLEDGE_DIR."""
    directory = os.environ.get("CRE_ADVISOR_KNOWLEDGE_DIR")
    return Knowledge(Path(directory) if directory else KNOWLEDGE_DIR)


def load_knowledge(directory: str | Path | None = None) -> Knowledge:
    """Load a knowledge base from a directory (the shipped one by default)."""
    return default_knowledge() if directory is None else Knowledge(Path(directory))
