"""Breakpoint tables as data: which tables exist, their rows, and which row fits a case.

The shipped table is EUCAST (knowledge/breakpoints/eucast-*.yaml). CLSI M100 is copyrighted
and not shipped: a laboratory loads its own table in the same file format from the paths in
CRE_ADVISOR_BREAKPOINTS (or `--breakpoints PATH` on the command line). Until it does, the
name `CLSI-2025` is known but has no rows, so a CLSI case can only use reported S/I/R.
This module picks rows; turning an MIC into a category is `cre_advisor.microbiology`'s job.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from cre_advisor.knowledge.yaml_files import load_yaml

ENV_EXTRA_TABLES = "CRE_ADVISOR_BREAKPOINTS"

SiteScope = Literal["meningitis", "urinary_origin", "uncomplicated_uti"]
Scheme = Literal["EUCAST", "CLSI", "FDA"]

# The breakpoint scopes a case's infection site falls under. EUCAST words its site-specific
# rows as "meningitis", "infections originating from the urinary tract" and "uncomplicated
# UTI"; a case's `cns` site is read as meningitis (the only CNS scope the tables have).
SITE_SCOPES: dict[str, frozenset[str]] = {
    "cns": frozenset({"meningitis"}),
    "cystitis": frozenset({"urinary_origin", "uncomplicated_uti"}),
    "urinary_complicated": frozenset({"urinary_origin"}),
}

# When a site falls under two scopes the narrower one wins: uncomplicated UTI before urinary origin.
_SCOPE_RANK: dict[str, int] = {"meningitis": 0, "uncomplicated_uti": 0, "urinary_origin": 1}

# Names a table may be known by before any file defines it (the case contract names them).
_KNOWN_UNLOADED: dict[str, Scheme] = {"CLSI-2025": "CLSI"}


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BreakpointRow(_Data):
    """One line of a table: an agent for some organisms at some sites, S <= and R > in mg/L.

    `organisms` and `exclude_organisms` name species, genera or families (or
    "Enterobacterales" for all). `sites` empty means every indication not covered by a
    site-specific row of the same agent. A row without numbers carries `no_breakpoint`:
    the table's reason why there is none (for example "insufficient evidence").
    """

    agent: str
    organisms: tuple[str, ...] = ("Enterobacterales",)
    exclude_organisms: tuple[str, ...] = ()
    sites: tuple[SiteScope, ...] = ()
    s_le: float | None = Field(default=None, gt=0)
    r_gt: float | None = Field(default=None, gt=0)
    bracketed: bool = False
    no_breakpoint: str | None = None
    notes: tuple[str, ...] = ()
    citations: tuple[str, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _numbers_or_reason(self) -> BreakpointRow:
        if self.no_breakpoint is None:
            if self.s_le is None or self.r_gt is None:
                raise ValueError(f"{self.agent}: give s_le and r_gt, or no_breakpoint with the reason")
            if self.r_gt < self.s_le:
                raise ValueError(f"{self.agent}: r_gt ({self.r_gt}) is below s_le ({self.s_le})")
        elif self.s_le is not None or self.r_gt is not None:
            raise ValueError(f"{self.agent}: a row with no_breakpoint carries no s_le/r_gt")
        return self

    def covers(self, names: Iterable[str]) -> bool:
        """Whether an organism known by these names (species, genus, family) is in scope."""
        keys = {n.lower() for n in names} | {"enterobacterales"}
        return bool(keys & {o.lower() for o in self.organisms}) and not (
            keys & {o.lower() for o in self.exclude_organisms}
        )

    def scope_text(self, other_sites: Iterable[str] = ()) -> str:
        """Who and where the row applies, e.g. 'Enterobacterales; indications other than meningitis'."""
        organisms = ", ".join(self.organisms)
        if self.exclude_organisms:
            organisms += f" except {', '.join(self.exclude_organisms)}"
        others = sorted({s.replace("_", " ") for s in other_sites})
        if self.sites:
            sites = ", ".join(s.replace("_", " ") for s in self.sites)
        else:
            sites = f"indications other than {' or '.join(others)}" if others else "all indications"
        return f"{organisms}; {sites}"


class BreakpointTable(_Data):
    id: str
    aliases: tuple[str, ...] = ()
    title: str
    version: str
    scheme: Scheme = Field(description="Whose categories: EUCAST 'I' is susceptible, increased exposure.")
    source: str = Field(description="Where the numbers come from, for the trace.")
    fixture: bool = Field(default=False, description="Made-up numbers for tests; never for patients.")
    fallback: bool = Field(
        default=False, description="Read only where the case's own table has no breakpoint for an agent, and labelled so."
    )
    rows: tuple[BreakpointRow, ...]

    @property
    def label(self) -> str:
        return f"{self.id} (v{self.version})"

    @cached_property
    def rows_by_agent(self) -> dict[str, tuple[BreakpointRow, ...]]:
        """Each agent's rows in table order, built once: every lookup is by agent."""
        by_agent: dict[str, tuple[BreakpointRow, ...]] = {}
        for row in self.rows:
            by_agent[row.agent] = (*by_agent.get(row.agent, ()), row)
        return by_agent

    def rows_for(self, agent: str) -> tuple[BreakpointRow, ...]:
        return self.rows_by_agent.get(agent, ())

    def scope_of(self, row: BreakpointRow) -> str:
        """The row's scope in words; a general row names the sites that have their own rows."""
        siblings = (s for r in self.rows_for(row.agent) if r.sites and not row.sites for s in r.sites)
        return row.scope_text(siblings)

    def select(self, agent: str, organism_names: Iterable[str], site: str | None) -> BreakpointRow | None:
        """The row for this agent, organism and site: a site-specific row wins over a general one.

        Returns None when the table has no row at all for this organism at this site (the
        caller reports "no breakpoint"); a row with `no_breakpoint` carries the table's reason.
        """
        names = tuple(organism_names)
        scopes = SITE_SCOPES.get(site or "", frozenset())
        candidates = [r for r in self.rows_for(agent) if r.covers(names)]
        specific = [r for r in candidates if scopes & set(r.sites)]
        if specific:
            best = min(_SCOPE_RANK[s] for r in specific for s in scopes & set(r.sites))
            chosen = [r for r in specific if any(_SCOPE_RANK[s] == best for s in scopes & set(r.sites))]
        else:
            chosen = [r for r in candidates if not r.sites]
        if len(chosen) > 1:
            raise ValueError(
                f"{self.id}: {len(chosen)} rows fit {agent} for {names[0]} at site '{site}'; fix the table"
            )
        return chosen[0] if chosen else None


@dataclass(frozen=True)
class BreakpointTables:
    """Every table the process knows, by id; names the contract allows resolve even when unloaded."""

    tables: dict[str, BreakpointTable] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    schemes: dict[str, Scheme] = field(default_factory=dict)

    def resolve(self, name: str) -> str:
        found = self.aliases.get(name.strip().upper())
        if found is None:
            known = ", ".join(sorted(set(self.aliases.values())))
            raise ValueError(f"unknown breakpoint table '{name}'; known: {known}")
        return found

    def table(self, name: str) -> BreakpointTable | None:
        """The loaded table for a name, or None when the name is known but no file supplied it."""
        return self.tables.get(self.resolve(name))

    def scheme(self, name: str) -> Scheme:
        return self.schemes[self.resolve(name)]

    def fallback_for(self, table_id: str) -> BreakpointTable | None:
        """The table that answers where `table_id` has no breakpoint (FDA-recognised criteria), if one is loaded."""
        return next((t for t in self.tables.values() if t.fallback and t.id != table_id), None)

    def with_table(self, table: BreakpointTable) -> BreakpointTables:
        """A copy with one more table (a lab file given on the command line)."""
        tables = {**self.tables, table.id: table}
        aliases = {**self.aliases, **{a.upper(): table.id for a in (table.id, *table.aliases)}}
        return BreakpointTables(tables, aliases, {**self.schemes, table.id: table.scheme})


MAX_TABLE_BYTES = 5_000_000


def read_breakpoint_table(path: str | Path) -> BreakpointTable:
    """Read and validate one table file; errors name the file."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_TABLE_BYTES:
            raise ValueError(f"larger than {MAX_TABLE_BYTES // 1_000_000} MB; a laboratory table is a few kilobytes")
        with path.open(encoding="utf-8") as handle:
            data = load_yaml(handle)
        return BreakpointTable.model_validate(data)
    except RecursionError:
        raise ValueError(f"breakpoint table {path}: nests too deeply to be a table") from None
    except (OSError, yaml.YAMLError, ValueError) as error:
        raise ValueError(f"breakpoint table {path}: {' '.join(str(error).split())}") from error  # one line


def extra_table_paths() -> tuple[Path, ...]:
    """Lab-supplied table files named in CRE_ADVISOR_BREAKPOINTS (os.pathsep-separated)."""
    value = os.environ.get(ENV_EXTRA_TABLES, "")
    return tuple(Path(p) for p in value.split(os.pathsep) if p.strip())


def load_breakpoint_tables(directory: Path, item_defaults: dict[str, Any] | None = None) -> BreakpointTables:
    """The shipped tables in `directory/breakpoints`, then any lab tables from the environment."""
    tables = BreakpointTables(
        aliases={name.upper(): name for name in _KNOWN_UNLOADED}, schemes=dict(_KNOWN_UNLOADED)
    )
    shipped = sorted((directory / "breakpoints").glob("*.yaml"))
    for path in (*shipped, *extra_table_paths()):
        tables = tables.with_table(read_breakpoint_table(path))
    return tables
