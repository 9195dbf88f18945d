"""Markdown layout of a View: what the command line prints and what can be pasted in a note."""

from __future__ import annotations

from cre_advisor.render.citations import marker_text
from cre_advisor.render.view import Cited, View


def _cited(item: Cited) -> str:
    markers = marker_text(item.markers)
    return f"{item.text} {markers}" if markers else item.text


def to_markdown(view: View) -> str:
    review = view.review
    out = [
        f"# {view.heading}",
        "",
        f"*For: {view.audience_label}.* {view.lead}",
        "",
        f"> **Review status: {review.label}.** {review.explanation} "
        f"Content last updated {review.last_updated}; knowledge version {view.knowledge_version}.",
        "",
    ]
    if view.summary:
        out += ["## Summary", ""] + [f"- {_cited(line)}" for line in view.summary] + [""]
    out += [f"## {view.options_title}", ""]
    if not view.options:
        out += [view.no_options_text, ""]
    for option in view.options:
        out += [f"### {option.rank}. {option.title} ({option.tier_label})", ""]
        out += [f"- {_cited(line)}" for line in option.lines]
        if option.rationale is not None:
            out += ["", _cited(option.rationale)]
        if option.cautions:
            out += ["", "Cautions:"] + [f"- {c}" for c in option.cautions]
        out.append("")
    for section in view.sections:
        out += [f"## {section.title}", ""]
        out += [f"- {_cited(item)}" for item in section.items] or [section.empty_text]
        out.append("")
    if view.trace:
        out += ["## Step by step", ""]
        out += [f"{i}. **{step.step}**: {_cited(step.finding)}" for i, step in enumerate(view.trace, 1)] + [""]
    out += ["## Sources", ""]
    for ref in view.references:
        cited_at = f" (cited at: {', '.join(ref.locators)})" if ref.locators else ""
        out.append(f"{ref.number}. {ref.text}{cited_at}")
    out += ["", "---", "", view.disclaimer, ""]
    return "\n".join(out)
