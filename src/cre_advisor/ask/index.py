"""The retrieval index over knowledge items: bm25s, in memory, built once per process.

`AskIndex.read` turns a question into what the index can match (spelling corrected, phrases
expanded, stems) and notes what it could not place; `AskIndex.search` ranks passages.
Nothing is downloaded or fetched: the index is built from the loaded knowledge base.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from functools import cache

import bm25s
import numpy as np

from cre_advisor.ask.passages import Passage, build_passages
from cre_advisor.ask.tool import tool_passages
from cre_advisor.ask.text import Found, Lexicon, Speller, Term, Tokeniser, agent_token, minor_age
from cre_advisor.ask.vocabulary import Vocabulary, default_vocabulary
from cre_advisor.knowledge.loader import Knowledge, default_knowledge

_WORD = re.compile(r"[A-Za-z]+")


@dataclass(frozen=True)
class Reading:
    """A question as the index understood it."""

    question: str
    corrected: str
    corrections: tuple[tuple[str, str], ...]
    found: tuple[Found, ...]
    tokens: tuple[str, ...]
    known_words: tuple[str, ...]
    unknown: tuple[str, ...]
    outside: tuple[str, ...]
    asks_dose: bool
    asks_choice: bool

    @property
    def agents(self) -> tuple[str, ...]:
        """Agents the question names, in the order it names them (a class name counts as its members)."""
        return tuple(dict.fromkeys(a for f in self.found for a in f.term.agents))

    @property
    def sites(self) -> frozenset[str]:
        """Infection sites the question names, as case site names."""
        return frozenset(site for f in self.found for site in f.term.sites)

    @property
    def groups(self) -> frozenset[str]:
        """Mechanism groups the question names, as regimen group names."""
        return frozenset(group for f in self.found for group in f.term.groups)

    @property
    def renal_replacement(self) -> str | None:
        """The renal replacement mode the question names (a case's value), if any."""
        return next((f.term.renal_replacement for f in self.found if f.term.renal_replacement), None)

    @property
    def kinds(self) -> set[str]:
        return {f.term.kind for f in self.found}

    @property
    def known(self) -> tuple[str, ...]:
        """What the knowledge base knows of the question: recognised phrases, then known words."""
        return tuple(dict.fromkeys([f.text for f in self.found if f.term.kind != "outside"] + list(self.known_words)))

    def subject_terms(self, kinds: frozenset[str]) -> frozenset[Term]:
        """The recognised terms of these kinds: what the question is about besides agents."""
        return frozenset(f.term for f in self.found if f.term.kind in kinds)

    @property
    def names_only_agents(self) -> bool:
        """The question names one or more agents and nothing else the index knows ("What is Fetroja?")."""
        return bool(self.found) and all(f.term.kind == "agent" for f in self.found) and not self.known_words


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float


class AskIndex:
    """BM25 over every passage, with the question reader that matches the way passages were indexed."""

    def __init__(self, knowledge: Knowledge, vocabulary: Vocabulary) -> None:
        self.knowledge = knowledge
        self.vocabulary = vocabulary
        self.lexicon = Lexicon(knowledge, vocabulary)
        self.tokeniser = Tokeniser(vocabulary.filler)
        items = build_passages(knowledge)
        self.passages = [*items, *tool_passages(knowledge, (p for p in items if p.kind == "dose_table"))]
        self.subjects = {p.id: frozenset(f.term for f in self.lexicon.scan(p.subject)) for p in self.passages}
        self.mentions = {
            p.id: self.subjects[p.id] if p.kind == "agent" else frozenset(f.term for f in self.lexicon.scan(p.index_text))
            for p in self.passages
        }
        expanded = [self.lexicon.expand(p.index_text) for p in self.passages]
        self._bm25 = bm25s.BM25()
        self._bm25.index([self.tokeniser.tokens(text) for text in expanded], show_progress=False)
        self._stems = frozenset(t for t in self._bm25.vocab_dict if t)
        words = Counter(w.lower() for text in expanded for w in _WORD.findall(text))
        words.update(self.lexicon.words)
        self.speller = Speller(words)
        self._phrase_words = frozenset(self.lexicon.words)
        self._dose_words = frozenset(vocabulary.dose_words)
        self._choice_words = frozenset(vocabulary.choice_words)

    def knows(self, word: str) -> bool:
        """A word the index holds (by stem), or one of the reader's own phrases' words."""
        return self.tokeniser.stem(word) in self._stems or word in self.speller

    def read(self, question: str) -> Reading:
        corrected, corrections = self._correct(question)
        found = tuple(self.lexicon.scan(corrected))
        outside = [f.term.reason for f in found if f.term.kind == "outside" and f.term.reason]
        age = minor_age(corrected, self.vocabulary.adult_min_age)
        if age is not None:
            outside.insert(0, self.vocabulary.outside[0].reason)
        rest = corrected
        for f in reversed(found):
            rest = rest[:f.start] + " " + rest[f.end:]
        content = self.tokeniser.words(rest)
        unknown = [w for w in content if not self.knows(w)]
        tokens = [t for t in self.tokeniser.tokens(self.lexicon.expand(corrected)) if t in self._stems]
        words = {w.lower() for w in _WORD.findall(corrected)}
        return Reading(
            question=question,
            corrected=corrected,
            corrections=tuple(corrections),
            found=found,
            tokens=tuple(dict.fromkeys(tokens)),
            known_words=tuple(dict.fromkeys(w for w in content if self.knows(w))),
            unknown=tuple(dict.fromkeys(unknown)),
            outside=tuple(dict.fromkeys(outside)),
            asks_dose=bool(words & self._dose_words) or any(f.term.kind == "dose" for f in found),
            asks_choice=bool(words & self._choice_words) or any(f.term.kind in ("choice", "site", "mechanism") for f in found),
        )

    def _correct(self, question: str) -> tuple[str, list[tuple[str, str]]]:
        """The question with misspelt words replaced by the nearest word the index knows.

        A word whose stem the index holds is left alone unless it is one edit from a name the
        reader recognises ("tigecyclin" stems like "tigecycline" but must still become the agent).
        """
        corrections: list[tuple[str, str]] = []

        def fix(match: re.Match[str]) -> str:
            word = match.group()
            lower = word.lower()
            if len(lower) < 5 or lower in self.tokeniser.ignored or lower in self.speller:
                return word
            stem_known = self.tokeniser.stem(lower) in self._stems
            better = self.speller.correct(lower, self._phrase_words if stem_known else None)
            if better is None:
                return word
            corrections.append((word, better))
            return better

        return _WORD.sub(fix, question), corrections

    def about(self, reading: Reading, agents: Iterable[str]) -> Reading:
        """The reading as if it also named these agents ("what dose for her?" means her first choice's dose)."""
        added = tuple(t for t in map(agent_token, agents) if t in self._stems and t not in reading.tokens)
        return replace(reading, tokens=reading.tokens + added) if added else reading

    def search(self, reading: Reading, weight: Callable[[Passage], float] | None = None) -> list[Hit]:
        """Passages with a positive score, best first; `weight` scales each passage's score."""
        if not reading.tokens:
            return []
        scores = np.asarray(self._bm25.get_scores(list(reading.tokens)), dtype=float)
        if weight is not None:
            scores = scores * np.array([weight(p) for p in self.passages])
        order = np.argsort(-scores, kind="stable")
        return [Hit(self.passages[i], float(scores[i])) for i in order if scores[i] > 0]


@cache
def index_for(knowledge: Knowledge) -> AskIndex:
    """One index per knowledge base, built on first use and kept for the life of the process."""
    return AskIndex(knowledge, default_vocabulary())


def default_index() -> AskIndex:
    return index_for(default_knowledge())
