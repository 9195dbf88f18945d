"""Laboratory-supplied breakpoint tables: the loader, the setting, and CLSI's meaning of "I".

The table used is tests/fixtures/lab_breakpoints_fixture.yaml: made-up numbers labelled as a
fixture (meropenem S <= 3, R > 12; ceftazidime-avibactam S <= 5, R > 5). No CLSI M100 value
is shipped or tested.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cre_advisor.case import Isolate
from cre_advisor.knowledge.breakpoint_tables import ENV_EXTRA_TABLES, read_breakpoint_table
from cre_advisor.knowledge.loader import KNOWLEDGE_DIR, Knowledge
from cre_advisor.microbiology import read_susceptibility

FIXTURE = Path(__file__).parent / "fixtures" / "lab_breakpoints_fixture.yaml"


@pytest.fixture
def with_lab_table(monkeypatch: pytest.MonkeyPatch) -> Knowledge:
    monkeypatch.setenv(ENV_EXTRA_TABLES, str(FIXTURE))
    return Knowledge(KNOWLEDGE_DIR)


def test_fixture_file_loads_with_its_scheme_and_rows() -> None:
    table = read_breakpoint_table(FIXTURE)
    assert table.id == "CLSI-2025" and table.scheme == "CLSI" and table.fixture
    assert [r.agent for r in table.rows] == ["meropenem", "ceftazidime-avibactam", "tigecycline"]
    assert table.label == "CLSI-2025 (vfixture-1)"


def test_setting_adds_the_table_to_the_knowledge_base(with_lab_table: Knowledge) -> None:
    tables = with_lab_table.breakpoint_tables
    assert tables.table("CLSI-2025") is not None
    assert tables.resolve("lab-fixture") == "CLSI-2025"
    assert tables.table("EUCAST-2026") is not None  # the shipped table stays


def test_without_the_setting_clsi_is_known_but_not_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_EXTRA_TABLES, raising=False)
    tables = Knowledge(KNOWLEDGE_DIR).breakpoint_tables
    assert tables.resolve("CLSI-2025") == "CLSI-2025"
    assert tables.table("CLSI-2025") is None
    assert tables.scheme("CLSI-2025") == "CLSI"


@pytest.mark.parametrize(
    ("mic", "category", "active"),
    [(1, "S", True), (3, "S", True), (6, "I", False), (12, "I", False), (24, "R", False)],
)
def test_lab_table_interprets_raw_mics_and_its_i_is_not_active(
    with_lab_table: Knowledge, mic: float, category: str, active: bool
) -> None:
    isolate = Isolate(organism="Klebsiella pneumoniae", breakpoints="CLSI-2025", susceptibility={"meropenem": {"mic_mg_l": mic}})
    reading = read_susceptibility(isolate, "bloodstream", with_lab_table)
    result = reading.results["meropenem"]
    assert (result.category, result.active, result.high_exposure) == (category, active, False)
    assert result.table == "CLSI-2025 (vfixture-1)"
    assert any("test fixture" in w for w in reading.warnings)


def test_clsi_case_without_a_table_uses_only_reported_letters(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_EXTRA_TABLES, raising=False)
    knowledge = Knowledge(KNOWLEDGE_DIR)
    isolate = Isolate(
        organism="Klebsiella pneumoniae", breakpoints="CLSI-2025",
        susceptibility={"meropenem": {"mic_mg_l": 2}, "ceftazidime-avibactam": {"interpretation": "I"}},
    )
    reading = read_susceptibility(isolate, "bloodstream", knowledge)
    assert reading.results["meropenem"].category is None
    assert any("meropenem" in m and ENV_EXTRA_TABLES in m for m in reading.missing_data)
    cza = reading.results["ceftazidime-avibactam"]
    assert cza.category == "I" and cza.active is False  # CLSI intermediate


def test_a_missing_file_is_refused_by_name(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ValueError, match="nope.yaml"):
        read_breakpoint_table(missing)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("{agent: meropenem, s_le: 8, r_gt: 2, citations: [x]}", "r_gt .* is below s_le"),
        ("{agent: meropenem, s_le: 2, citations: [x]}", "give s_le and r_gt"),
        ("{agent: meropenem, s_le: 2, r_gt: 2, no_breakpoint: why, citations: [x]}", "carries no s_le"),
        ("{agent: meropenem, s_le: 2, r_gt: 2, citations: []}", "citations"),
        ("{agent: meropenem, s_le: 2, r_gt: 2, sites: [lung], citations: [x]}", "sites"),
        ("{agent: meropenem, s_le: 2, r_gt: 2, typo: 1, citations: [x]}", "typo"),
    ],
)
def test_bad_rows_are_refused(tmp_path: Path, row: str, message: str) -> None:
    path = tmp_path / "lab.yaml"
    path.write_text(f"id: LAB\ntitle: t\nversion: '1'\nscheme: CLSI\nsource: s\nrows: [{row}]\n", encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        read_breakpoint_table(path)


def test_a_bad_file_in_the_setting_stops_loading(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("id: LAB\nrows: [\n", encoding="utf-8")
    monkeypatch.setenv(ENV_EXTRA_TABLES, str(path))
    with pytest.raises(ValueError, match="broken.yaml"):
        Knowledge(KNOWLEDGE_DIR)
