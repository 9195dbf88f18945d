"""Content items of the shipped knowledge base: stable ids, and hashes that move with content only."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
import yaml

from cre_advisor.knowledge.loader import KNOWLEDGE_DIR, Knowledge, default_knowledge
from cre_advisor.review.content import content_items, make_item


def test_every_item_the_engine_reports_on_is_reviewable_under_its_own_id() -> None:
    knowledge = default_knowledge()
    items = content_items(knowledge)
    assert set(knowledge.items) <= set(items)
    for item_id, item in knowledge.items.items():
        assert items[item_id].updated == (item.updated or knowledge.released)
    kinds = {item.kind for item in items.values()}
    assert {"agent", "dosing", "regimen", "avoid", "combination", "statement", "reference", "breakpoints"} <= kinds
    assert {f"reference:{ref}" for ref in knowledge.references} <= set(items)
    assert {f"breakpoints:{table}" for table in knowledge.breakpoint_tables.tables} <= set(items)


def test_the_hash_is_sha256_of_sorted_compact_utf8_json() -> None:
    item = make_item("x", "statement", {"b": 1, "a": "é", "c": [1.5, None]}, "2026-11-24")
    expected = hashlib.sha256('{"a":"é","b":1,"c":[1.5,null]}'.encode()).hexdigest()
    assert item.hash == expected
    assert make_item("x", "statement", {"c": [1.5, None], "a": "é", "b": 1}, "2026-11-24").hash == expected


def test_bookkeeping_is_not_content() -> None:
    payload = {"id": "x", "text": "same"}
    plain = make_item("x", "statement", payload, "2026-11-24")
    stamped = make_item("x", "statement", {**payload, "review_status": "approved", "updated": "2027-01-01"}, "2027-01-01")
    assert plain.hash == stamped.hash
    assert "review_status" not in stamped.payload and "updated" not in stamped.payload


@pytest.fixture
def release(tmp_path) -> Path:
    """A copy of the shipped knowledge base that a test edits like a new release would."""
    directory = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE_DIR, directory, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return directory


def edit(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def changed_ids(before: dict, after: dict) -> set[str]:
    assert before.keys() == after.keys()
    return {item_id for item_id in before if before[item_id].hash != after[item_id].hash}


def test_a_release_that_edits_one_statement_and_one_dose_changes_exactly_those_hashes(release: Path) -> None:
    shipped = content_items(default_knowledge())
    statement_id = "icu-source-control-pending"

    def reword(data) -> None:
        row = next(s for s in data["statements"] if s["id"] == statement_id)
        row["text"]["clinician"] += " Reassess daily."

    def redose(data) -> None:
        data["agents"]["ceftazidime-avibactam"]["variants"]["default"]["bands"][1]["dose_mg"] = 1000

    edit(release / "statements.yaml", reword)
    edit(release / "dosing.yaml", redose)
    assert changed_ids(shipped, content_items(Knowledge(release))) == {statement_id, "dosing:ceftazidime-avibactam"}


def test_a_new_release_date_alone_changes_no_hash(release: Path) -> None:
    shipped = content_items(default_knowledge())
    edit(release / "release.yaml", lambda data: data.update(date="2027-06-30", version="2027.6.0"))
    edit(release / "statements.yaml", lambda data: data["statements"][0].update(updated="2027-06-01"))
    after = content_items(Knowledge(release))
    assert changed_ids(shipped, after) == set()
    assert after["icu-source-control-pending"].updated == "2027-06-01"


def test_two_items_with_one_id_are_refused(release: Path) -> None:
    def clash(data) -> None:
        data["statements"][0]["id"] = "meropenem"  # an agent's id

    edit(release / "statements.yaml", clash)
    with pytest.raises(ValueError, match=r"'meropenem' is used twice \(agent and statement\)"):
        content_items(Knowledge(release))
