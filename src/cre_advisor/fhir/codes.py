"""Code maps for reading an EHR's FHIR data: codes.yaml, plus a hospital's own local codes.

The maps translate codes (LOINC, SNOMED CT, RxNorm, ICD-10-CM, a laboratory's local system)
into the words of the Case contract. They decide nothing clinical; `cre_advisor.fhir.reader` uses
them, and `medication_agent` falls back to names when a code is not known.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from cre_advisor.knowledge.loader import default_knowledge
from cre_advisor.knowledge.yaml_files import load_yaml

CODES_FILE = Path(__file__).with_name("codes.yaml")
_WORD = re.compile(r"[a-z0-9]+")


def key(system: str | None, code: str | None) -> str:
    """One lookup key for a coding: 'system|code'."""
    return f"{system or ''}|{code or ''}"


class LocalCode(BaseModel):
    """One local code a hospital maps to a contract word (agent, organism, enzyme)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    system: str = Field(min_length=1)
    code: str = Field(min_length=1)
    agent: str | None = None
    organism: str | None = None
    enzyme: str | None = None


class LocalCodes(BaseModel):
    """The `local_codes` section of the CDS configuration."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    susceptibility_mic: tuple[LocalCode, ...] = ()
    susceptibility: tuple[LocalCode, ...] = ()
    organisms: tuple[LocalCode, ...] = ()
    medications: tuple[LocalCode, ...] = ()
    genes: tuple[LocalCode, ...] = ()


@dataclass(frozen=True)
class CodeMaps:
    """Everything codes.yaml says, as 'system|code' -> contract word."""

    systems: dict[str, str]
    weight: frozenset[str]
    height: frozenset[str]
    creatinine_mg_dl: frozenset[str]
    creatinine_umol_l: frozenset[str]
    genes: dict[str, str]
    mic: dict[str, str]
    susceptibility: dict[str, str]
    interpretations: dict[str, str]
    unusable_interpretations: frozenset[str]
    organisms: dict[str, str]
    medications: dict[str, str]
    sites: dict[str, str]
    severities: dict[str, str]
    qualitative: dict[str, str] = field(default_factory=dict)
    interpretation_letters: dict[str, str] = field(default_factory=dict)
    site_descendants: tuple[tuple[str, str], ...] = ()
    displays: dict[str, str] = field(default_factory=dict)
    suggestion_codes: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    routes: dict[str, tuple[str, str]] = field(default_factory=dict)

    def site(self, system: str | None, code: str | None) -> str | None:
        """The site a Condition code names: the code itself, or an ICD-10-CM parent marked
        `descendants` (A41.59 is under A41.5). Codes are compared as the EHR wrote them."""
        found = self.sites.get(key(system, code))
        if found is not None or not code:
            return found
        for parent, site in self.site_descendants:
            parent_system, _, parent_code = parent.partition("|")
            if system == parent_system and code.startswith(parent_code) and code != parent_code:
                return site
        return None

    def display(self, system: str | None, code: str | None) -> str:
        """What a shipped code means (for the card's notes), else the bare code."""
        return self.displays.get(key(system, code)) or code or ""

    @property
    def loinc(self) -> str:
        return self.systems["loinc"]

    @property
    def rxnorm(self) -> str:
        return self.systems["rxnorm"]

    def with_local(self, local: LocalCodes) -> CodeMaps:
        """A copy that also knows the hospital's local codes; bad entries raise naming the field."""
        knowledge = default_knowledge()

        def agents(section: str, entries: tuple[LocalCode, ...]) -> dict[str, str]:
            out = {}
            for i, entry in enumerate(entries):
                agent = knowledge.agent_id(entry.agent or "")
                if agent is None:
                    raise ValueError(
                        f"local_codes.{section}[{i}].agent: unknown agent '{entry.agent}'; "
                        f"known: {', '.join(knowledge.agents)}"
                    )
                out[key(entry.system, entry.code)] = agent
            return out

        organisms = {}
        for i, entry in enumerate(local.organisms):
            try:
                organisms[key(entry.system, entry.code)] = knowledge.organism(entry.organism or "").name
            except ValueError as error:
                raise ValueError(f"local_codes.organisms[{i}].organism: {error}") from error
        genes = {}
        for i, entry in enumerate(local.genes):
            enzyme = _ENZYMES.get((entry.enzyme or "").upper())
            if enzyme is None:
                raise ValueError(
                    f"local_codes.genes[{i}].enzyme: unknown '{entry.enzyme}'; allowed: {', '.join(sorted(set(_ENZYMES.values())))}"
                )
            genes[key(entry.system, entry.code)] = enzyme
        return replace(
            self,
            mic={**self.mic, **agents("susceptibility_mic", local.susceptibility_mic)},
            susceptibility={**self.susceptibility, **agents("susceptibility", local.susceptibility)},
            organisms={**self.organisms, **organisms},
            medications={**self.medications, **agents("medications", local.medications)},
            genes={**self.genes, **genes},
        )


_ENZYMES = {"KPC": "KPC", "NDM": "NDM", "VIM": "VIM", "IMP": "IMP", "GES": "GES",
            "OXA-48": "OXA-48-like", "OXA-48-LIKE": "OXA-48-like"}


def _read(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        return load_yaml(handle)


@cache
def shipped_code_maps() -> CodeMaps:
    """The maps in codes.yaml (read once per process)."""
    data = _read(CODES_FILE)
    systems: dict[str, str] = data["systems"]
    loinc = systems["loinc"]
    observations = data["patient_observations"]

    def loincs(name: str) -> frozenset[str]:
        return frozenset(key(loinc, c) for c in observations[name])

    def coded(rows: list[dict[str, Any]], field_name: str) -> dict[str, str]:
        return {key(systems[r["system"]], r["code"]): r[field_name] for r in rows}

    interpretation = data["interpretations"]
    letters: dict[str, str] = dict(interpretation["codes"])
    by_system = {
        key(systems[name], code): letter for name in interpretation["systems"] for code, letter in letters.items()
    }
    unusable = {key(systems[name], code) for name in interpretation["systems"] for code in interpretation["unusable"]}
    sites = data["conditions"]["sites"]
    displayed = [*sites, *data["qualitative"], *interpretation["coded"]]

    medications = {key(systems["rxnorm"], m["code"]): m["agent"] for m in data["medications"]}
    # the RxNorm codes a suggested MedicationRequest carries, per (agent, route): see codes.yaml `routes`
    suggestion_codes: dict[tuple[str, str], tuple[str, ...]] = {}
    for m in data["medications"]:
        for route in data["routes"]["codes"]:
            wanted = ("ingredient", "precise_ingredient") + (("dose_group",) if route == "IV" else ())
            if m["kind"] in wanted:
                suggestion_codes.setdefault((m["agent"], route), ())
                suggestion_codes[(m["agent"], route)] += (m["code"],)
    return CodeMaps(
        systems=systems,
        weight=loincs("weight_kg"),
        height=loincs("height_cm"),
        creatinine_mg_dl=loincs("creatinine_mg_dl"),
        creatinine_umol_l=loincs("creatinine_umol_l"),
        genes={key(loinc, c): e for c, e in data["genes"]["codes"].items()},
        mic={key(loinc, c): a for c, a in data["susceptibility"]["mic"]["codes"].items()},
        susceptibility={key(loinc, c): a for c, a in data["susceptibility"]["any"]["codes"].items()},
        interpretations={**by_system, **coded(interpretation["coded"], "value")},
        unusable_interpretations=frozenset(unusable),
        organisms={key(systems["snomed"], c): o for c, o in data["organisms"]["codes"].items()},
        medications=medications,
        sites=coded(sites, "site"),
        severities=coded(data["conditions"]["severities"], "severity"),
        qualitative=coded(data["qualitative"], "value"),
        interpretation_letters=letters,
        site_descendants=tuple((key(systems[r["system"]], r["code"]), r["site"]) for r in sites if r.get("descendants")),
        displays={key(systems[r["system"]], r["code"]): r["display"] for r in displayed if r.get("display")},
        suggestion_codes=suggestion_codes,
        routes={route: (row["code"], row["display"]) for route, row in data["routes"]["codes"].items()},
    )


@cache
def _ingredient_sets() -> tuple[tuple[frozenset[str], str], ...]:
    """Each agent as the set of words of its identifier, most ingredients first."""
    sets = [(frozenset(agent.split("-")), agent) for agent in default_knowledge().agents]
    return tuple(sorted(sets, key=lambda item: -len(item[0])))


def agent_from_name(text: str) -> str | None:
    """The agent a drug name denotes: 'avibactam 0.5 G / ceftazidime 2 G Injection' -> CZA.

    Every word of an agent's identifier must appear; the agent with most ingredients wins, so
    'imipenem / cilastatin / relebactam' is not read as imipenem-cilastatin. Single-word
    synonyms and brand names (Avycaz, Fetroja) are accepted too.
    """
    words = set(_WORD.findall(text.lower()))
    for ingredients, agent in _ingredient_sets():
        if ingredients <= words:
            return agent
    knowledge = default_knowledge()
    for word in sorted(words):
        agent = knowledge.agent_id(word)
        if agent is not None:
            return agent
    return None
