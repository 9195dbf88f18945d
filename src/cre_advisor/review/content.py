"""Content items: the units of the knowledge base an advisory board reviews, each with a hash.

Every agent, dose table, regimen row, avoid rule, statement, reference and data table becomes
one `ContentItem` with a stable id and a SHA-256 over its canonical JSON. The hash covers what
the item says, not its bookkeeping (`review_status`, `updated`), so a new release changes the
hash of exactly the items whose content changed. This module reads the knowledge base and
never writes anywhere.
"""

from __future__ import annotations

import hashlib
import json
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from cre_advisor.knowledge.loader import Knowledge
from cre_advisor.knowledge.yaml_files import load_knowledge_yaml

Kind = Literal[
    "agent", "dosing", "regimen", "avoid", "combination", "statement", "reference", "table", "breakpoints"
]
BOOKKEEPING = frozenset({"review_status", "updated"})
TABLE_FILES = ("organisms.yaml", "expected_resistance.yaml")


class ContentItem(BaseModel):
    """One reviewable unit: what it is, what it says and the hash a board approves."""

    model_config = ConfigDict(frozen=True)

    id: str
    kind: Kind
    hash: str
    payload: dict[str, Any]
    updated: str


def canonical_json(payload: Any) -> str:
    """The one text form a payload hashes as: sorted keys, no spaces, UTF-8 kept as is."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def content_hash(payload: Any) -> str:
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


def make_item(item_id: str, kind: Kind, payload: dict[str, Any], updated: str) -> ContentItem:
    content = {key: value for key, value in payload.items() if key not in BOOKKEEPING}
    # Round-trip through canonical JSON so the stored payload is exactly what was hashed.
    content = json.loads(canonical_json(content))
    return ContentItem(id=item_id, kind=kind, hash=content_hash(content), payload=content, updated=updated)


def _dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")


def _read_yaml(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        data = load_knowledge_yaml(handle)
    return data if isinstance(data, dict) else {"rows": data}


def _items(knowledge: Knowledge) -> Iterator[ContentItem]:
    released = knowledge.released
    for agent in knowledge.agents.values():
        yield make_item(agent.id, "agent", _dump(agent), agent.updated or released)
    for dosing in knowledge.dosing.agents.values():
        yield make_item(dosing.id, "dosing", _dump(dosing), dosing.updated or released)
    for row in knowledge.regimens:
        yield make_item(row.id, "regimen", _dump(row), row.updated or released)
    for rule in knowledge.avoid_rules:
        yield make_item(rule.id, "avoid", _dump(rule), rule.updated or released)
    combination = knowledge.combination
    yield make_item(combination.id, "combination", _dump(combination), combination.updated or released)
    for statement in knowledge.statements.values():
        yield make_item(statement.id, "statement", _dump(statement), statement.updated or released)
    for reference in knowledge.references.values():
        yield make_item(f"reference:{reference.id}", "reference", _dump(reference), released)
    yield make_item("table:site_rules", "table", dict(knowledge.site_rules), released)
    for name in TABLE_FILES:
        path = knowledge.directory / name
        if path.exists():
            yield make_item(f"table:{path.stem}", "table", _read_yaml(path), released)
    for table in knowledge.breakpoint_tables.tables.values():
        yield make_item(f"breakpoints:{table.id}", "breakpoints", _dump(table), released)


_cache: weakref.WeakKeyDictionary[Knowledge, dict[str, ContentItem]] = weakref.WeakKeyDictionary()


def content_items(knowledge: Knowledge) -> dict[str, ContentItem]:
    """Every reviewable item of `knowledge` by id; raises ValueError if two items share an id.

    Computed once per Knowledge object (the knowledge base is read-only after loading).
    """
    cached = _cache.get(knowledge)
    if cached is not None:
        return cached
    items: dict[str, ContentItem] = {}
    for item in _items(knowledge):
        if item.id in items:
            raise ValueError(
                f"content id '{item.id}' is used twice ({items[item.id].kind} and {item.kind}); "
                "every knowledge item needs its own id"
            )
        items[item.id] = item
    _cache[knowledge] = items
    return items
