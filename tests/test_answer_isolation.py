"""Answers may share parts built once per knowledge base (avoid entries, fixed-dose items), so no
answer may hold a mutable object that another answer holds too: a caller changing its answer must
never change someone else's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from cre_advisor import recommend

ROOT = Path(__file__).parent.parent
CASES = [json.loads(path.read_text()) for path in sorted((ROOT / "examples").glob("*.json"))] + [
    doc["case"] for doc in (yaml.safe_load(p.read_text()) for p in sorted((ROOT / "tests" / "cases").glob("*.yaml")))
    if "raises_field" not in (doc.get("expect") or {})
]


def mutable_parts(value: Any, found: dict[int, Any]) -> dict[int, Any]:
    """Every list, dict and set inside an answer, by identity (models walked field by field)."""
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            mutable_parts(getattr(value, name), found)
    elif isinstance(value, (list, dict, set)):
        found[id(value)] = value
        for item in value.values() if isinstance(value, dict) else value:
            mutable_parts(item, found)
    elif isinstance(value, tuple):
        for item in value:
            mutable_parts(item, found)
    return found


def test_the_walk_finds_a_shared_list() -> None:
    """The check below can fail: two models holding one list are caught."""

    class Box(BaseModel):
        items: list[str]

    shared: list[str] = ["x"]
    one, two = Box.model_construct(items=shared), Box.model_construct(items=shared)
    assert mutable_parts(one, {}).keys() & mutable_parts(two, {}).keys()


def test_two_answers_share_no_mutable_part() -> None:
    answers = [recommend(case) for case in CASES] + [recommend(case) for case in CASES]  # each case twice
    seen: dict[int, int] = {}
    for number, answer in enumerate(answers):
        for part in mutable_parts(answer, {}):
            assert seen.setdefault(part, number) == number, f"answers {seen[part]} and {number} share a mutable part"


def test_shared_parts_cannot_be_changed_in_place() -> None:
    answer = recommend(CASES[0])
    item = answer.options[0].regimen[0]
    assert isinstance(item.citations, tuple) and isinstance(item.notes, tuple)
    assert all(isinstance(entry.agents, tuple) and isinstance(entry.citations, tuple) for entry in answer.avoid)
