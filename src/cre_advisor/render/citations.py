"""Numbered citations: "ref-id:locator" strings become [n: locator] markers and a reference list.

Numbers follow the order in which a rendered answer first cites each source, so the list at
the end reads top to bottom like the text. Only references actually cited are listed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from cre_advisor.knowledge.schema import Reference


@dataclass(frozen=True)
class Marker:
    number: int
    ref_id: str
    locator: str | None = None

    @property
    def label(self) -> str:
        return f"{self.number}: {self.locator}" if self.locator else str(self.number)


@dataclass(frozen=True)
class NumberedReference:
    number: int
    ref_id: str
    reference: Reference | None
    locators: tuple[str, ...]

    @property
    def citation(self) -> str:
        """Authors. Title. Source and year. (The link is separate so HTML can make it a link.)"""
        ref = self.reference
        if ref is None:
            return f"{self.ref_id} (not found in this knowledge base's reference list)."
        source = ref.source if str(ref.year) in ref.source else f"{ref.source}, {ref.year}"
        return " ".join([f"{ref.authors.rstrip('.')}.", f"{ref.title.rstrip('.')}.", f"{source.rstrip('.')}."])

    @property
    def text(self) -> str:
        return f"{self.citation} {self.link}" if self.link else self.citation

    @property
    def link(self) -> str | None:
        ref = self.reference
        if ref is None:
            return None
        return ref.url or (f"https://doi.org/{ref.doi}" if ref.doi else None)


@dataclass
class CitationIndex:
    """Hands out numbers by first use; one index per rendered answer."""

    references: dict[str, Reference]
    _numbers: dict[str, int] = field(default_factory=dict)
    _locators: dict[str, list[str]] = field(default_factory=dict)

    def mark(self, citations: Iterable[str]) -> tuple[Marker, ...]:
        markers: list[Marker] = []
        for citation in citations:
            ref_id, _, locator = citation.partition(":")
            ref_id, locator = ref_id.strip(), locator.strip() or None
            number = self._numbers.setdefault(ref_id, len(self._numbers) + 1)
            seen = self._locators.setdefault(ref_id, [])
            if locator and locator not in seen:
                seen.append(locator)
            marker = Marker(number, ref_id, locator)
            if marker not in markers:
                markers.append(marker)
        located = {m.ref_id for m in markers if m.locator}
        return tuple(m for m in markers if m.locator or m.ref_id not in located)

    def listing(self) -> list[NumberedReference]:
        return [
            NumberedReference(number, ref_id, self.references.get(ref_id), tuple(self._locators[ref_id]))
            for ref_id, number in self._numbers.items()
        ]


def marker_text(markers: Iterable[Marker]) -> str:
    """The inline form used in Markdown and plain text: "[1: Q3.1; 2]"."""
    labels = [m.label for m in markers]
    return f"[{'; '.join(labels)}]" if labels else ""
