"""How the shape of a question, and the case in context, shift passage scores before ranking.

BM25 scores which words match; these weights add what the question's shape says a clinician
wants: a dose question about an agent wants its dose table, a question naming an agent wants
that agent's tables rather than another's (and its profile when it names nothing else), reference titles answer only questions about sources, regimen
rows of the guideline profile not in use step back, and so do items made only for another
mechanism or site than the question names (or, failing that, the case's). The weights were set on tests/questions.yaml (bench/ask.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cre_advisor.ask.index import Reading
from cre_advisor.ask.passages import Passage
from cre_advisor.case import Profile
from cre_advisor.knowledge.schema import Applies

DOSE_TABLE_WHEN_ASKED = 2.0
DOSE_TABLE_OTHERWISE = 0.7
ABOUT_ANOTHER_AGENT = 0.5
PROFILE_WHEN_ONLY_NAMED = 2.0
REFERENCE_UNLESS_ASKED = 0.3
OTHER_PROFILE = 0.6
NOT_FOR_FOCUS = 0.6
PROFILE_TERMS = {"escmid": Profile.escmid_2022.value, "idsa": Profile.idsa_2024.value}
SINGLE_SUBJECT_KINDS = ("dose_table", "agent")


@dataclass(frozen=True)
class Focus:
    """What the case in context narrows answers to (nothing without a case)."""

    profile: str = Profile.idsa_2024.value
    groups: frozenset[str] = frozenset()
    sites: frozenset[str] = frozenset()

    def narrowed_by(self, reading: Reading) -> Focus:
        """The question's own site and mechanism win over the case's."""
        return Focus(profile_asked(reading, self), reading.groups or self.groups, reading.sites or self.sites)


def profile_asked(reading: Reading, focus: Focus) -> str:
    """The guideline profile the question names, else the case's (IDSA 2024 by default)."""
    for found in reading.found:
        if found.term.kind == "profile":
            for word in found.term.adds:
                if word in PROFILE_TERMS:
                    return PROFILE_TERMS[word]
    return focus.profile


def weigh(reading: Reading, focus: Focus) -> Callable[[Passage], float]:
    """The score multiplier for each passage, given this question and case."""
    named = set(reading.agents)
    asks_source = "source" in reading.kinds
    focus = focus.narrowed_by(reading)

    def weight(passage: Passage) -> float:
        factor = 1.0
        about_named = bool(named & set(passage.agents))
        if passage.kind == "dose_table":
            factor *= DOSE_TABLE_WHEN_ASKED if reading.asks_dose and about_named else DOSE_TABLE_OTHERWISE
        if named and passage.kind in SINGLE_SUBJECT_KINDS and not about_named:
            factor *= ABOUT_ANOTHER_AGENT
        if passage.kind == "agent" and about_named and reading.names_only_agents:
            factor *= PROFILE_WHEN_ONLY_NAMED
        if passage.kind == "reference" and not asks_source:
            factor *= REFERENCE_UNLESS_ASKED
        if passage.applies is not None:
            if passage.applies.profiles and focus.profile not in passage.applies.profiles:
                factor *= OTHER_PROFILE
            factor *= _focus_fit(passage.applies, focus)
        return factor

    return weight


def _focus_fit(applies: Applies, focus: Focus) -> float:
    """Back for an item made only for other mechanisms or sites than those in focus."""
    checks = [(set(applies.groups), focus.groups), (set(applies.sites), focus.sites)]
    if any(made_for and wanted and not made_for & wanted for made_for, wanted in checks):
        return NOT_FOR_FOCUS
    return 1.0
