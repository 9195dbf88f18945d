"""Whether the knowledge base covers a question: a plain "not covered", with the reason, beats a
confident answer to a question it cannot answer.

A question is not covered when it names something the knowledge base leaves out on purpose
(children, other organisms, interactions...), names a drug or a condition it does not hold,
names no clinical term it holds (an agent, organism, site, mechanism or treatment topic), is
mostly about words it does not know, or matches no item closely enough. Words it does not know
in a covered question are reported with the answer, so a partial match is visible.
"""

from __future__ import annotations

from dataclasses import dataclass

from cre_advisor.ask.index import Hit, Reading
from cre_advisor.ask.vocabulary import Vocabulary

TERM_WEIGHT = 2  # a recognised clinical term outweighs two words the knowledge base does not know
NOT_A_TOPIC = ("outside", "word")  # refusals, and ward shorthand for ordinary words ("klebs", "neg")


@dataclass(frozen=True)
class Verdict:
    covered: bool
    reason: str | None = None


def judge(reading: Reading, hits: list[Hit], vocabulary: Vocabulary) -> Verdict:
    if reading.outside:
        return Verdict(False, reading.outside[0])
    drugs = [w for w in reading.unknown if w.endswith(vocabulary.drug_suffixes) or w.startswith(vocabulary.drug_prefixes)]
    if drugs:
        return Verdict(False, f"{', '.join(drugs)}: not an agent in this knowledge base.")
    conditions = [w for w in reading.unknown if w.endswith(vocabulary.condition_suffixes)]
    if conditions:
        return Verdict(False, f"{', '.join(conditions)}: not a condition this knowledge base covers.")
    terms = [f for f in reading.found if f.term.kind not in NOT_A_TOPIC]
    if not terms:
        return Verdict(False, "The question names no agent, organism, site or other topic this knowledge base covers.")
    if len(reading.unknown) > TERM_WEIGHT * len(terms) + len(reading.known_words):
        return Verdict(False, f"Most of the question ({', '.join(reading.unknown)}) is outside this knowledge base.")
    if not hits or hits[0].score < vocabulary.min_score:
        return Verdict(False, "No item in the knowledge base matches this question closely enough.")
    return Verdict(True)
