"""Markdown layout of an Answer: what `cre-advisor ask` prints.

Citations are numbered in the order the answer first uses them, with the reference list at the
end, as in the plan's own Markdown; every item shows its review status.
"""

from __future__ import annotations

from cre_advisor.ask.models import Answer, CitedLine
from cre_advisor.knowledge.loader import Knowledge, default_knowledge
from cre_advisor.render.citations import CitationIndex, marker_text
from cre_advisor.render.view import AUDIENCES, review_banner

KIND_LABELS = {
    "statement": "statement", "dose_table": "dose table", "regimen": "regimen row", "avoid_rule": "avoid rule",
    "agent": "agent", "combination": "last-resort rule", "reference": "reference title",
    "tool": "about this tool",
}
STATUS_LABELS = {
    "submitted": "submitted, pending review by your advisory board",
    "under_review": "under review by your advisory board",
    "changes_requested": "changes requested by your advisory board",
    "approved": "approved by your advisory board",
}
UNREVIEWED = {"reference": "a cited source, not reviewed content", "tool": "a fact about this tool, not clinical content"}
ONLY_FROM_KNOWLEDGE = ("Answers come only from this tool's cited knowledge base; it does not write new medical text, "
                       "so it says so when a question is outside what it holds.")


def to_markdown(answer: Answer, knowledge: Knowledge | None = None) -> str:
    cite = CitationIndex((knowledge or default_knowledge()).references)

    def cited(line: CitedLine) -> str:
        markers = marker_text(cite.mark(line.citations))
        return f"{line.text} {markers}" if markers else line.text

    out = [f"# {'Follow-up' if answer.covered else 'Not covered'}: {answer.question}", "",
           f"*For: {AUDIENCES[answer.audience]}.*", ""]
    if answer.corrections:
        out += [f"Read as: {'; '.join(answer.corrections)}.", ""]
    if answer.understood:
        out += [f"Understood: {'; '.join(answer.understood)}.", ""]
    if not answer.covered:
        out += [f"**Not covered.** {answer.not_covered_reason}", "", ONLY_FROM_KNOWLEDGE, ""]
        if answer.nearest_topics:
            out += ["## Nearest covered topics", ""] + [f"- {t.title} (`{t.id}`)" for t in answer.nearest_topics] + [""]
        return "\n".join(out + ["---", "", answer.disclaimer, ""])

    banner = review_banner(answer.review)
    out += [f"> **Review status: {banner.label}.** {banner.explanation} Content last updated {banner.last_updated}; "
            f"knowledge version {answer.knowledge_version}.", ""]
    if answer.for_this_patient:
        out += ["## For this patient", ""] + [f"- {cited(line)}" for line in answer.for_this_patient] + [""]
    out += ["## From the knowledge base", ""]
    if not answer.items:
        out += ["No approved item in the knowledge base answers this question.", ""]
    for item in answer.items:
        status = STATUS_LABELS[item.review_status] if item.review_status else UNREVIEWED[item.kind]
        out += [f"### {item.rank}. {item.title}", "", f"*{KIND_LABELS[item.kind]} `{item.id}`; review: {status}.*", ""]
        out += [f"- {cited(line)}" for line in item.lines] + [""]
    if answer.left_out_unapproved:
        out += [f"Strict review mode: left out because not yet approved by your board: "
                f"{', '.join(answer.left_out_unapproved)}.", ""]
    if answer.not_in_knowledge_base:
        out += [f"Not found in the knowledge base: {', '.join(answer.not_in_knowledge_base)}.", ""]
    out += ["## Sources", ""]
    for ref in cite.listing():
        cited_at = f" (cited at: {', '.join(ref.locators)})" if ref.locators else ""
        out.append(f"{ref.number}. {ref.text}{cited_at}")
    return "\n".join(out + ["", "---", "", answer.disclaimer, ""])
