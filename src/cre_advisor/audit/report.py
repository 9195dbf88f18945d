"""The audit's counts (summary.json) and its page (report.html), computed from the episodes Parquet.

Both engines end here with the Parquet they wrote, so their summaries are the same function of
the same rows. Counts are kept per cell (a verdict overall, in a ward, in a month; a reason);
each cell also keeps the episode ids of its lowest input lines, up to a limit, so every count on
the page links to the episodes behind it whatever order the rows were written in.
"""

from __future__ import annotations

import hashlib
import heapq
import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from cre_advisor.audit.verdict import CONCORDANT, VERDICTS, reason_key

LIST_LIMIT = 200
"""Episode ids listed per count on the page; episodes.parquet holds them all."""
READ_COLUMNS = ["line", "episode_id", "ward", "date", "verdict", "reasons", "knowledge_version"]
COLOURS = {
    "not_assessable": "#9e9e9e", "never_for_cre": "#7b1fa2", "resistant_agent": "#c62828",
    "no_active_agent": "#e65100", "unneeded_combination": "#f9a825", "dose_high": "#6d4c41",
    "dose_low": "#8d6e63", "concordant": "#2e7d32", "concordant_alternative": "#66bb6a",
    "other_discordant": "#1565c0",
}


def cell_id(*parts: str) -> str:
    """A stable HTML id for one count (ward and reason texts are free text)."""
    return "c" + hashlib.sha1("|".join(parts).encode()).hexdigest()[:12]


@dataclass
class Summary:
    limit: int = LIST_LIMIT
    episodes: int = 0
    verdicts: Counter[str] = field(default_factory=Counter)
    by_ward: defaultdict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    by_month: defaultdict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    reasons: Counter[str] = field(default_factory=Counter)
    versions: set[str] = field(default_factory=set)
    samples: defaultdict[str, list[tuple[int, str]]] = field(default_factory=lambda: defaultdict(list))
    """cell id -> max-heap (negated line) of the episodes with the lowest lines"""

    def add(self, line: int, episode_id: str, ward: str, month: str, verdict: str, reasons: list[str]) -> None:
        self.episodes += 1
        self.verdicts[verdict] += 1
        self.by_ward[ward][verdict] += 1
        self.by_month[month][verdict] += 1
        cells = [cell_id("verdict", verdict), cell_id("ward", ward, verdict), cell_id("month", month, verdict)]
        if verdict not in CONCORDANT:
            for key in dict.fromkeys(reason_key(r) for r in reasons):
                self.reasons[key] += 1
                cells.append(cell_id("reason", key))
        for cell in cells:
            heap = self.samples[cell]
            if len(heap) < self.limit:
                heapq.heappush(heap, (-line, episode_id))
            elif -heap[0][0] > line:
                heapq.heapreplace(heap, (-line, episode_id))

    def episode_ids(self, cell: str) -> list[str]:
        return [episode for _, episode in sorted(self.samples.get(cell, ()), reverse=True)]

    def as_json(self, bad_lines: int) -> dict[str, Any]:
        return {
            "episodes": self.episodes,
            "bad_lines": bad_lines,
            "knowledge_versions": sorted(self.versions),
            "verdicts": {v: self.verdicts[v] for v in VERDICTS},
            "by_ward": {w: {v: c[v] for v in VERDICTS if c[v]} for w, c in sorted(self.by_ward.items())},
            "by_month": {m: {v: c[v] for v in VERDICTS if c[v]} for m, c in sorted(self.by_month.items())},
            "top_discordance_reasons": [{"reason": r, "episodes": n} for r, n in self.top_reasons()],
        }

    def top_reasons(self, count: int = 15) -> list[tuple[str, int]]:
        return sorted(self.reasons.items(), key=lambda item: (-item[1], item[0]))[:count]


def summarise(batches: Iterable[pa.RecordBatch], limit: int = LIST_LIMIT) -> Summary:
    """Counts and linked samples over the rows, one batch in memory at a time."""
    summary = Summary(limit=limit)
    for batch in batches:
        data = batch.select(READ_COLUMNS).to_pydict()
        summary.versions.update(data["knowledge_version"])
        for line, episode, ward, day, verdict, reasons in zip(
            data["line"], data["episode_id"], data["ward"], data["date"], data["verdict"], data["reasons"], strict=True
        ):
            summary.add(line, episode, ward, day.strftime("%Y-%m"), verdict, reasons)
    return summary


def write_outputs(summary: Summary, bad: list[dict[str, Any]], bad_total: int, out_dir: Path) -> None:
    """summary.json and report.html into `out_dir`."""
    (out_dir / "summary.json").write_text(json.dumps(summary.as_json(bad_total), indent=2) + "\n", encoding="utf-8")
    (out_dir / "report.html").write_text(render_html(summary, bad, bad_total), encoding="utf-8")


def render_html(summary: Summary, bad: list[dict[str, Any]], bad_total: int) -> str:
    environment = Environment(loader=PackageLoader("cre_advisor.audit", "templates"), autoescape=select_autoescape())
    template = environment.get_template("report.html")
    wards = sorted(summary.by_ward.items())
    months = sorted(summary.by_month.items())
    cells = {
        cell: (title, summary.episode_ids(cell), total)
        for cell, title, total in _cells(summary, wards, months)
    }
    return template.render(
        summary=summary, verdicts=VERDICTS, colours=COLOURS, wards=wards, months=months,
        overall_chart=_stacked_chart([("all episodes", summary.verdicts)], "verdict"),
        ward_chart=_stacked_chart(wards, "ward"), month_chart=_stacked_chart(months, "month"),
        reasons_chart=_reasons_chart(summary.top_reasons()), top_reasons=summary.top_reasons(),
        cell_id=cell_id, cells=cells, bad=bad, bad_total=bad_total, limit=summary.limit,
    )


def _cells(summary: Summary, wards: list[tuple[str, Counter[str]]], months: list[tuple[str, Counter[str]]]):
    for verdict in VERDICTS:
        if summary.verdicts[verdict]:
            yield cell_id("verdict", verdict), f"{verdict}: all episodes", summary.verdicts[verdict]
    for kind, groups in (("ward", wards), ("month", months)):
        for name, counts in groups:
            for verdict in VERDICTS:
                if counts[verdict]:
                    yield cell_id(kind, name, verdict), f"{verdict}: {kind} {name}", counts[verdict]
    for key, count in summary.top_reasons():
        yield cell_id("reason", key), f"reason {key}", count


BAR_W, ROW_H, LABEL_W = 560, 22, 170


def _stacked_chart(rows: list[tuple[str, Counter[str]]], kind: str) -> Markup:
    """One horizontal bar per group, split by verdict; each segment links to its episodes."""
    height = ROW_H * len(rows) + 8
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{LABEL_W + BAR_W + 60}" height="{height}">']
    for row, (name, counts) in enumerate(rows):
        total = sum(counts.values())
        y = 4 + row * ROW_H
        parts.append(f'<text x="{LABEL_W - 6}" y="{y + 15}" text-anchor="end">{escape(name)}</text>')
        x = float(LABEL_W)
        for verdict in VERDICTS:
            count = counts[verdict]
            if not count:
                continue
            width = BAR_W * count / total
            cell = cell_id("verdict", verdict) if kind == "verdict" else cell_id(kind, name, verdict)
            parts.append(
                f'<a href="#{cell}"><rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="{ROW_H - 4}" '
                f'fill="{COLOURS[verdict]}"><title>{escape(verdict)}: {count}</title></rect></a>'
            )
            x += width
        parts.append(f'<text x="{LABEL_W + BAR_W + 4}" y="{y + 15}">{total}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _reasons_chart(reasons: list[tuple[str, int]]) -> Markup:
    """Bars for the most frequent reasons among discordant and unassessable episodes."""
    if not reasons:
        return Markup("")
    most = reasons[0][1]
    label_w = 330
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{label_w + BAR_W // 2 + 60}" '
             f'height="{ROW_H * len(reasons) + 8}">']
    for row, (key, count) in enumerate(reasons):
        y = 4 + row * ROW_H
        width = (BAR_W // 2) * count / most
        parts.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{escape(key[:50])}</text>')
        parts.append(f'<a href="#{cell_id("reason", key)}"><rect x="{label_w}" y="{y}" width="{width:.1f}" '
                     f'height="{ROW_H - 4}" fill="#455a64"><title>{escape(key)}: {count}</title></rect></a>')
        parts.append(f'<text x="{label_w + width + 4:.1f}" y="{y + 15}">{count}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
