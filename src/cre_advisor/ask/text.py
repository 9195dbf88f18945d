"""How text is read for retrieval: phrases become knowledge-base terms, words become stems.

The same reading is applied to knowledge items when the index is built and to each question,
so an abbreviation, a brand name or a clinical synonym finds the items written with the
knowledge base's own word ("CZA" and "Avycaz" find "ceftazidime-avibactam", "VAP" finds
"pneumonia"). Misspelt words are mapped to the nearest word the index knows. Nothing here
decides what an answer says.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import Stemmer
from bm25s.stopwords import STOPWORDS_EN

from cre_advisor.ask.vocabulary import Vocabulary
from cre_advisor.knowledge.loader import Knowledge, OutOfScopeOrganism
from cre_advisor.knowledge.yaml_files import load_knowledge_yaml

_SEPARATORS = re.compile(r"[\s./-]+")
_FLEXIBLE_SEPARATOR = r"[\s./-]*"
_TOKEN = re.compile(r"[a-z0-9_]+")
_WORD = re.compile(r"[A-Za-z]+(?:'[a-z]+)?")
_PARENTHESES = re.compile(r"\s*\(([^)]*)\)")
_AGE = re.compile(r"\b(\d{1,2})\s*(?:-|\s)?\s*(?:years?|yrs?|y)\s*(?:-|\s)?\s*old\b|\b(\d{1,2})\s*(?:yo|y/o)\b", re.I)


def agent_token(agent_id: str) -> str:
    """The one index token that stands for an agent, whatever name the text used."""
    return "drug_" + agent_id.replace("-", "_")


@dataclass(frozen=True)
class Term:
    """A recognised phrase: what kind of thing it names and the words it adds for the index."""

    kind: str
    label: str
    adds: tuple[str, ...] = ()
    agents: tuple[str, ...] = ()
    reason: str | None = None
    sites: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    renal_replacement: str | None = None


@dataclass(frozen=True)
class Found:
    start: int
    end: int
    text: str
    term: Term


class Lexicon:
    """Every phrase the reader recognises, matched longest first in one left-to-right scan."""

    def __init__(self, knowledge: Knowledge, vocabulary: Vocabulary) -> None:
        self._loose: dict[str, Term] = {}
        self._exact: dict[str, Term] = {}
        self._loose_patterns: set[str] = set()
        self._exact_patterns: set[str] = set()
        self._add_agents(knowledge, vocabulary)
        for expansion in vocabulary.expansions:
            term = Term(expansion.kind, expansion.adds, tuple(expansion.adds.split()),
                        sites=expansion.sites, groups=expansion.groups,
                        renal_replacement=expansion.renal_replacement.value if expansion.renal_replacement else None)
            for phrase in expansion.terms:
                self._add(phrase, term, exact=False)
            for phrase in expansion.exact:
                self._add(phrase, term, exact=True)
        self._add_organisms(knowledge)
        for other in vocabulary.other_agents:
            term = Term("outside", other.name, reason=f"{other.name}: not an agent in this knowledge base.")
            for phrase in (other.name, *other.terms):
                self._add(phrase, term, exact=False)
        for outside in vocabulary.outside:
            term = Term("outside", outside.terms[0], reason=outside.reason)
            for phrase in outside.terms:
                self._add(phrase, term, exact=False)
        phrases = sorted(
            [(p, True) for p in self._exact_patterns] + [(p, False) for p in self._loose_patterns],
            key=lambda item: (-len(item[0]), item[0]),
        )
        alternatives = [re.escape(p) if exact else f"(?i:{_flexible(p)}{_plural(p)})" for p, exact in phrases]
        self._pattern = re.compile(r"(?<![A-Za-z0-9])(?:" + "|".join(alternatives) + r")(?![A-Za-z0-9])")

    def _add_agents(self, knowledge: Knowledge, vocabulary: Vocabulary) -> None:
        """Each agent by id, name, synonym and ward shorthand; each drug class name as all its agents."""
        exact_abbreviations = set(vocabulary.exact_abbreviations)
        unknown = sorted(set(vocabulary.agent_shorthand) - set(knowledge.agents))
        if unknown:
            raise ValueError(f"vocabulary.yaml agent_shorthand: no agent with id {', '.join(unknown)}")
        for agent in knowledge.agents.values():
            term = Term("agent", agent.name, (agent_token(agent.id), *agent.id.split("-")), (agent.id,))
            names = [*_agent_names(agent.id, agent.name, agent.synonyms), *vocabulary.agent_shorthand.get(agent.id, ())]
            for name in dict.fromkeys(names):
                self._add(name, term, exact=name in exact_abbreviations)
        for drug_class, phrases in vocabulary.drug_classes.items():
            members = tuple(a.id for a in knowledge.agents.values() if a.drug_class == drug_class)
            if not members:
                raise ValueError(f"vocabulary.yaml drug_classes: no agent has drug_class '{drug_class}'")
            adds = tuple(word for a in members for word in (agent_token(a), *a.split("-")))
            term = Term("agent", drug_class + "s", adds, members)
            for phrase in phrases:
                self._add(phrase, term, exact=False)

    def _add_organisms(self, knowledge: Knowledge) -> None:
        """Enterobacterales by name (adding the genus); other organisms as out of scope, with the refusal."""
        organisms = _organism_names(knowledge)
        for name in organisms["enterobacterales"]:
            genus = knowledge.organism(name).genus
            self._add(name, Term("organism", genus, (genus.lower(),)), exact=False)
        for name in organisms["out_of_scope"]:
            try:
                knowledge.organism(name)
            except OutOfScopeOrganism as refusal:
                self._add(name, Term("outside", name, reason=str(refusal)), exact=False)

    def _add(self, phrase: str, term: Term, *, exact: bool) -> None:
        table, key = (self._exact, phrase) if exact else (self._loose, _loose_key(phrase))
        known = table.get(key)
        if known is not None and known != term:
            raise ValueError(f"'{phrase}' would mean both {known.label} and {term.label}")
        table[key] = term
        (self._exact_patterns if exact else self._loose_patterns).add(phrase)

    def scan(self, text: str) -> list[Found]:
        found = []
        for match in self._pattern.finditer(text):
            term = self._exact.get(match.group()) or self._loose_term(_loose_key(match.group()))
            if term is not None:
                found.append(Found(match.start(), match.end(), match.group(), term))
        return found

    def _loose_term(self, key: str) -> Term | None:
        """The term for a key, also when the text added a plural ending ("infusions", "IAIs")."""
        for candidate in (key, key.removesuffix("s"), key.removesuffix("es")):
            if candidate in self._loose:
                return self._loose[candidate]
        return None

    def expand(self, text: str) -> str:
        """The text with each recognised phrase followed by the words it stands for.

        An agent's name is replaced by its words, not followed by them: a stem's own letters would
        otherwise match unrelated words ("imi-rel" is not the IMI enzyme).
        """
        parts, last = [], 0
        for found in self.scan(text):
            kept = text[last:found.start] if found.term.kind == "agent" else text[last:found.end]
            parts += [kept, " ", " ".join(found.term.adds), " "]
            last = found.end
        parts.append(text[last:])
        return "".join(parts)

    @property
    def words(self) -> set[str]:
        """Lower-case words of every phrase: spelling targets besides the indexed text."""
        phrases = [*self._loose_patterns, *self._exact_patterns]
        return {w.lower() for phrase in phrases for w in _WORD.findall(phrase)}


def _organism_names(knowledge: Knowledge) -> dict[str, list[str]]:
    """Names and synonyms from organisms.yaml, in scope and out of it (the loader keeps them private)."""
    with (knowledge.directory / "organisms.yaml").open(encoding="utf-8") as handle:
        data = load_knowledge_yaml(handle)
    return {
        group: [name for row in data[group] for name in (row["name"], *row.get("synonyms", ()))]
        for group in ("enterobacterales", "out_of_scope")
    }


def _agent_names(agent_id: str, name: str, synonyms: Iterable[str]) -> list[str]:
    """An agent's id, its name with and without a bracketed alias, and its synonyms."""
    names = [agent_id, name, *synonyms]
    bracketed = _PARENTHESES.search(name)
    if bracketed:
        names += [_PARENTHESES.sub("", name), bracketed.group(1)]
    return list(dict.fromkeys(names))


def _plural(phrase: str) -> str:
    """The plural ending a phrase may take: "-es" only after s, x, z, ch or sh ("hives" is not "HIV"+"es")."""
    return "(?:es)?" if re.search(r"(?:[sxz]|[cs]h)$", phrase, re.I) else "s?"


def _loose_key(phrase: str) -> str:
    return _SEPARATORS.sub("", phrase.lower())


def _flexible(phrase: str) -> str:
    return _FLEXIBLE_SEPARATOR.join(re.escape(part) for part in _SEPARATORS.split(phrase.strip()) if part)


def minor_age(text: str, adult_min_age: int) -> int | None:
    """An age written in the text ("6-year-old", "12 yo") below the adult age, else None."""
    for match in _AGE.finditer(text):
        age = int(match.group(1) or match.group(2))
        if age < adult_min_age:
            return age
    return None


class Tokeniser:
    """Lower-case word tokens without stop or filler words, stemmed (English Snowball)."""

    def __init__(self, ignored: Iterable[str]) -> None:
        self.ignored = frozenset(STOPWORDS_EN) | {w.lower() for w in ignored}
        self._stemmer = Stemmer.Stemmer("english")

    def words(self, text: str) -> list[str]:
        return [
            t for t in _TOKEN.findall(text.lower())
            if len(t) > 1 and not t.isdigit() and t not in self.ignored
        ]

    def stem(self, word: str) -> str:
        return self._stemmer.stemWord(word)

    def tokens(self, text: str) -> list[str]:
        """Stemmed words; agent tokens ("drug_...") are kept whole."""
        return [w if "_" in w else self._stemmer.stemWord(w) for w in self.words(text)]


class Speller:
    """Maps a misspelt word to the nearest known word (one edit up to 8 letters, two from 9)."""

    def __init__(self, counts: Counter[str]) -> None:
        self._counts = counts
        self._by_length: dict[int, list[str]] = {}
        for word in counts:
            if len(word) >= 4 and word.isalpha():
                self._by_length.setdefault(len(word), []).append(word)

    def __contains__(self, word: str) -> bool:
        return word in self._counts

    def correct(self, word: str, among: frozenset[str] | None = None) -> str | None:
        """The nearest known word (or nearest of `among`), None when none is close enough."""
        if len(word) < 5:
            return None
        limit = 1 if len(word) <= 8 else 2
        best: tuple[int, int, str] | None = None
        for length in range(len(word) - limit, len(word) + limit + 1):
            for candidate in self._by_length.get(length, ()):
                if candidate[0] != word[0] and candidate[:2] != word[1::-1] or among is not None and candidate not in among:
                    continue
                distance = edit_distance(word, candidate, limit)
                if distance <= limit:
                    rank = (distance, -self._counts[candidate], candidate)
                    best = rank if best is None or rank < best else best
        return best[2] if best else None


def edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (insert, delete, substitute, swap two neighbours).

    Returns limit + 1 as soon as the distance must exceed `limit`.
    """
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                value = min(value, previous2[j - 2] + 1)
            current[j] = value
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]
