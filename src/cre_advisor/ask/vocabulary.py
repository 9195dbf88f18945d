"""The question vocabulary (vocabulary.yaml beside this file): synonyms, scope limits, settings.

Only shapes are checked here; how the words are used is `cre_advisor.ask.text`'s business.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from cre_advisor.case import RenalReplacement
from cre_advisor.knowledge.schema import Group, SiteName
from cre_advisor.knowledge.yaml_files import load_knowledge_yaml

VOCABULARY_FILE = Path(__file__).with_name("vocabulary.yaml")

TermKind = Literal["site", "mechanism", "renal", "topic", "choice", "dose", "profile", "source", "tool", "word"]


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Expansion(_Data):
    """Phrases that mean what `adds` says in the knowledge base's words."""

    kind: TermKind
    terms: tuple[str, ...] = ()
    exact: tuple[str, ...] = ()
    adds: str
    sites: tuple[SiteName, ...] = ()
    groups: tuple[Group, ...] = ()
    renal_replacement: RenalReplacement | None = None


class Outside(_Data):
    """Topics the knowledge base does not cover, and the reason an answer gives."""

    reason: str
    terms: tuple[str, ...] = Field(min_length=1)


class OtherAgent(_Data):
    """A drug the knowledge base does not hold, with the stems and brands it is typed as."""

    name: str
    terms: tuple[str, ...] = ()


class Vocabulary(_Data):
    version: str
    expansions: tuple[Expansion, ...]
    agent_shorthand: dict[str, tuple[str, ...]] = Field(
        description="Knowledge-base agent id -> the stems, ward shorthand and extra brands typed for it.")
    exact_abbreviations: tuple[str, ...]
    other_agents: tuple[OtherAgent, ...]
    drug_classes: dict[str, tuple[str, ...]]
    drug_suffixes: tuple[str, ...]
    drug_prefixes: tuple[str, ...]
    condition_suffixes: tuple[str, ...]
    dose_words: tuple[str, ...]
    choice_words: tuple[str, ...]
    filler: tuple[str, ...]
    adult_min_age: int = Field(gt=0)
    outside: tuple[Outside, ...]
    min_score: float = Field(gt=0)
    answer_items: int = Field(ge=1, le=10)


@cache
def default_vocabulary() -> Vocabulary:
    with VOCABULARY_FILE.open(encoding="utf-8") as handle:
        return Vocabulary.model_validate(load_knowledge_yaml(handle))
