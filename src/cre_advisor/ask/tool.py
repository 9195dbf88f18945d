"""Passages about the tool itself, built from its own data: what the review states mean, which
knowledge version answers, and where a dose shown comes from.

Clinicians ask "what does submitted mean?" or "where does this dose come from?" beside a plan;
those answers are facts about this tool, not clinical content, so they are read from the same
places the pages use (the review banner's wording, release.yaml, the dose tables' own citations)
and carry no review status of their own.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from cre_advisor.ask.passages import Line, Passage
from cre_advisor.knowledge.loader import Knowledge
from cre_advisor.recommendation import Review
from cre_advisor.render.view import long_date, review_banner

# The board's item states, in review order, with the state a plan reports for each.
ITEM_STATES = {
    "submitted": "pending_review", "under_review": "under_review",
    "changes_requested": "changes_requested", "approved": "approved",
}


def tool_passages(knowledge: Knowledge, dose_tables: Iterable[Passage]) -> list[Passage]:
    return [_review_states(knowledge), _version(knowledge), _dose_source(knowledge, list(dose_tables))]


def _passage(id_: str, title: str, lines: list[Line], index_words: str) -> Passage:
    def body(audience: str) -> list[Line]:
        return lines

    return Passage(
        id=id_, kind="tool", title=title, subject=index_words, body=body, citations=(), review_status=None, updated=None, agents=(),
        applies=None, index_text=" ".join([title, index_words, *(line.text for line in lines)]), patient_wording=True,
    )


def _review_states(knowledge: Knowledge) -> Passage:
    lines = []
    for item_state, plan_state in ITEM_STATES.items():
        banner = review_banner(Review(status=plan_state, last_updated=knowledge.released))  # type: ignore[arg-type]
        lines.append(Line(f"{item_state.replace('_', ' ').capitalize()} ({banner.label.lower()}): {banner.explanation}"))
    lines.append(Line("Every item in an answer or plan shows its own review status; a plan or answer as a whole takes "
                      "the least-reviewed status among the items it uses. In strict review mode only approved items are shown."))
    return _passage("tool:review-status", "This tool: what the review statuses mean", lines,
                    "review status state submitted under review approved changes requested pending advisory board")


def _version(knowledge: Knowledge) -> Passage:
    shipped = Counter(item.review_status for item in knowledge.items.values())
    states = ", ".join(f"{count} {state.replace('_', ' ')}" for state, count in sorted(shipped.items()))
    lines = [Line(f"Knowledge version {knowledge.version}, released {long_date(knowledge.released)}: "
                  f"{len(knowledge.items)} content items as shipped ({states}), "
                  "before your advisory board's own review states are applied."),
             Line("Every answer and plan prints the knowledge version it used and the date of its newest item.")]
    return _passage("tool:knowledge-version", "This tool: knowledge version", lines,
                    "knowledge version release released date updated current")


def _dose_source(knowledge: Knowledge, dose_tables: list[Passage]) -> Passage:
    cited = dict.fromkeys(c.split(":")[0] for table in dose_tables for line in table.body("clinician") for c in line.citations)
    lines = [Line(f"Each dose shown is a row of the agent's adult dose table in this tool's knowledge base "
                  f"({len(dose_tables)} tables): the row for the patient's creatinine clearance or renal replacement, "
                  "and the body weight where the dose is per kg. Nothing is extrapolated beyond the rows; where no row "
                  "fits, the plan says the dose must be individualised."),
             # The sources go in the line's citations, not its text: written out, some 40 titles (with their
             # strengths, "40 mg/ml") drowned this passage's own words in the index and put doses in the patient view.
             Line("Every row names its source beside it (a drug label section or a guideline table), listed under Sources "
                  "with the plan; the sources the dose tables draw on are cited on this line.",
                  tuple(ref for ref in cited if ref in knowledge.references))]
    return _passage("tool:dose-source", "This tool: where a dose comes from", lines,
                    "dose doses source come from table label guideline evidence calculated worked out")
