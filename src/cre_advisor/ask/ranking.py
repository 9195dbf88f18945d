"""How the shape of a question, and the case in context, shift passage scores before ranking.

BM25 scores which words match; these weights add what the question's shape says a clinician
wants: a dose question about an agent wants its dose table, a question naming an agent wants
that agent's tables, and statements naming agents, rather than another's (and its profile when it
names nothing else), reference titles answer only questions about sources, regimen
rows of the guideline profile not in use step back, and so do items made only for another
mechanism or site than the question names (or, failing that, the case's). An item whose title
names the question's subject (allergy, duration, blood cultures, rapid tests, review status...)
rises above items that share only a drug name with it: "hives with pip-tazo" is an allergy
question first. The weights were set on tests/questions.yaml (bench/ask.py); the held-out set
tests/ask_heldout.yaml was written before the subject weights and scores them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from cre_advisor.ask.index import Reading
from cre_advisor.ask.passages import Passage
from cre_advisor.ask.text import Term
from cre_advisor.case import Profile
from cre_advisor.knowledge.schema import Applies

# 2.5 on the first dose tables; 3.0 once renal-replacement rows had doubled their length (BM25 scores a
# long text lower: "cipro dosage" had put its dose table third, behind the profile and a regimen row).
DOSE_TABLE_WHEN_ASKED = 3.0
DOSE_TABLE_OTHERWISE = 0.7
ABOUT_ANOTHER_AGENT = 0.5
PROFILE_WHEN_ONLY_NAMED = 2.0
REFERENCE_UNLESS_ASKED = 0.3
OTHER_PROFILE = 0.6
NOT_FOR_FOCUS = 0.6
PROFILE_TERMS = {"escmid": Profile.escmid_2022.value, "idsa": Profile.idsa_2024.value}
SINGLE_SUBJECT_KINDS = ("dose_table", "agent")
# How much an item rises when its title names a subject of the question, by the kind of phrase:
# a topic (allergy, duration) or a question about the tool says more than a site or mechanism.
# Sites, mechanisms and choice words are left out: most regimen titles name them, so they single
# nothing out. An item about an agent the question names that says nothing of the question's
# topic (an agent profile never does) shares only a drug name with it and steps back. Regimen rows
# are exempt: a two-drug row is what a combination question asks about, though its text may not say so.
# A particular kind of dose (loading dose, dose interval) is a subject too; the plain word "dose" is
# not, as every dose table names it.
SUBJECT_MATCH = {"topic": 1.8, "tool": 2.5, "renal": 1.3, "dose": 1.8}
SUBJECT_KINDS = frozenset(SUBJECT_MATCH)
PLAIN_DOSE = "dose"
TOPIC_KINDS = frozenset({"topic", "tool"})
SHARES_ONLY_AGENT = 0.5
ONLY_AGENT_KINDS = ("agent", "avoid_rule")
# "Best abx for KPC bacteraemia?" asks what to give: rules about what not to give step back unless
# the question names an agent or asks why not.
AVOID_WHEN_CHOOSING = 0.6


@dataclass(frozen=True)
class Focus:
    """What the case in context narrows answers to (nothing without a case)."""

    profile: str = Profile.idsa_2024.value
    groups: frozenset[str] = frozenset()
    sites: frozenset[str] = frozenset()
    agents: frozenset[str] = frozenset()  # the plan's first choice, for a dose question naming no agent

    def narrowed_by(self, reading: Reading) -> Focus:
        """The question's own site, mechanism and agents win over the case's."""
        agents = frozenset() if reading.agents else self.agents
        return Focus(profile_asked(reading, self), reading.groups or self.groups, reading.sites or self.sites, agents)


def profile_asked(reading: Reading, focus: Focus) -> str:
    """The guideline profile the question names, else the case's (IDSA 2024 by default)."""
    for found in reading.found:
        if found.term.kind == "profile":
            for word in found.term.adds:
                if word in PROFILE_TERMS:
                    return PROFILE_TERMS[word]
    return focus.profile


def weigh(
    reading: Reading, focus: Focus, subjects: Mapping[str, frozenset[Term]], mentions: Mapping[str, frozenset[Term]]
) -> Callable[[Passage], float]:
    """The score multiplier for each passage, given this question, the case, the terms each passage is
    about (`subjects`) and the terms its text mentions anywhere (`mentions`)."""
    focus = focus.narrowed_by(reading)
    named = set(reading.agents) or set(focus.agents)
    asks_dose = reading.asks_dose or bool(focus.agents)
    asked = frozenset(t for t in reading.subject_terms(SUBJECT_KINDS) if t.label != PLAIN_DOSE)
    topics = reading.subject_terms(TOPIC_KINDS)
    choosing = reading.asks_choice and not reading.agents and "avoid" not in {f.term.label for f in reading.found}
    asks_source = "source" in reading.kinds

    def weight(passage: Passage) -> float:
        factor = 1.0
        about_named = bool(named & set(passage.agents))
        if passage.kind == "dose_table":
            factor *= DOSE_TABLE_WHEN_ASKED if asks_dose and about_named else DOSE_TABLE_OTHERWISE
        if named and (passage.kind in SINGLE_SUBJECT_KINDS and not about_named
                      or passage.kind == "statement" and _speaks_only_of_others(mentions.get(passage.id, frozenset()), named)):
            factor *= ABOUT_ANOTHER_AGENT
        if passage.kind == "agent" and about_named and reading.names_only_agents:
            factor *= PROFILE_WHEN_ONLY_NAMED
        if passage.kind == "avoid_rule" and choosing:
            factor *= AVOID_WHEN_CHOOSING
        if passage.kind == "reference" and not asks_source:
            factor *= REFERENCE_UNLESS_ASKED
        subject = subjects.get(passage.id, frozenset())
        for term in asked & subject:
            factor *= SUBJECT_MATCH[term.kind]
        if topics and about_named and passage.kind in ONLY_AGENT_KINDS and not topics & mentions.get(passage.id, frozenset()):
            factor *= SHARES_ONLY_AGENT
        if passage.applies is not None:
            if passage.applies.profiles and focus.profile not in passage.applies.profiles:
                factor *= OTHER_PROFILE
            factor *= _focus_fit(passage.applies, focus)
        return factor

    return weight


def _speaks_only_of_others(mentioned: frozenset[Term], named: set[str]) -> bool:
    """A statement that names agents, none of them the question's ("HIVES after cefepime" is not
    answered first by a note on penicillin allergy and ceftazidime-avibactam); one that names no
    agent speaks of every agent and stays."""
    agents = {agent for term in mentioned for agent in term.agents}
    return bool(agents) and not agents & named


def _focus_fit(applies: Applies, focus: Focus) -> float:
    """Back for an item made only for other mechanisms or sites than those in focus."""
    checks = [(set(applies.groups), focus.groups), (set(applies.sites), focus.sites)]
    if any(made_for and wanted and not made_for & wanted for made_for, wanted in checks):
        return NOT_FOR_FOCUS
    return 1.0
