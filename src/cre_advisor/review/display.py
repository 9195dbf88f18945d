"""How the review pages show an item to a board: readable fields, word-level changes, a filtered queue.

The store keeps payloads as JSON; a board reads a dose or a sentence, not braces. Fields are the
flattened paths of `diff.flatten` with plain labels, and a changed sentence is shown word by
word (difflib), so a reviewer sees "q8h" became "q12h" without comparing two long strings.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cre_advisor.review.diff import flatten
from cre_advisor.review.store import ItemView

Op = str  # "same", "removed" or "added"


@dataclass(frozen=True)
class Field:
    label: str
    path: str
    value: str


def field_label(path: str) -> str:
    """'variants.default.bands[2].dose_mg' -> 'Variants › default › bands 3 › dose mg'."""
    parts = []
    for part in path.split("."):
        part = re.sub(r"\[(\d+)\]", lambda m: f" {int(m.group(1)) + 1}", part)
        parts.append(part.replace("_", " "))
    text = " › ".join(parts)
    return text[:1].upper() + text[1:]


def value_text(value: Any) -> str:
    """A leaf as a reader wants it: text as written, numbers plainly, empty lists as 'none'."""
    if value is None or value == [] or value == {}:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def readable_fields(payload: dict[str, Any] | None) -> list[Field]:
    if payload is None:
        return []
    return [Field(field_label(path), path, value_text(value)) for path, value in flatten(payload).items()]


_WORDS = re.compile(r"\s+|[^\s]+")


def word_diff(before: Any, after: Any) -> list[tuple[Op, str]]:
    """The two values' words, each marked the same, removed or added, in reading order."""
    old, new = _WORDS.findall(value_text(before)), _WORDS.findall(value_text(after))
    pieces: list[tuple[Op, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if tag == "equal":
            pieces.append(("same", "".join(old[i1:i2])))
            continue
        if i2 > i1:
            pieces.append(("removed", "".join(old[i1:i2])))
        if j2 > j1:
            pieces.append(("added", "".join(new[j1:j2])))
    return pieces


@dataclass(frozen=True)
class QueueFilter:
    """What the queue page was asked to show: a state, a kind, words to find, or a plan's items."""

    status: str = ""
    kind: str = ""
    q: str = ""
    items: tuple[str, ...] = ()

    @property
    def active(self) -> bool:
        return bool(self.status or self.kind or self.q or self.items)

    def apply(self, views: Iterable[ItemView], payloads: Mapping[str, Any]) -> list[ItemView]:
        """The views that pass every filter; words are looked for in the id, kind and content."""
        words = self.q.casefold().split()
        wanted = set(self.items)
        return [
            v for v in views
            if (not self.status or v.status.value == self.status)
            and (not self.kind or v.kind == self.kind)
            and (not wanted or v.item_id in wanted)
            and (not words or _contains(f"{v.item_id} {v.kind} {json.dumps(payloads.get(v.item_id), ensure_ascii=False)}", words))
        ]


def _contains(text: str, words: list[str]) -> bool:
    folded = text.casefold()
    return all(w in folded for w in words)


def parse_items(text: str, known: Sequence[str]) -> tuple[str, ...]:
    """A comma-separated list of item ids from a plan's link; unknown ids are dropped."""
    known_ids = set(known)
    return tuple(i for i in dict.fromkeys(p.strip() for p in text.split(",")) if i in known_ids)
