"""read_susceptibility: reported letters, MICs read with the isolate's table, and expected resistance.

Expected resistance per EUCAST Expected Resistant Phenotypes v1.2 Table 1 (polymyxins:
Serratia marcescens, Proteus, Morganella, Providencia; tetracyclines: Proteus, Morganella,
Providencia; nitrofurantoin) and the EUCAST v16.1 notes (tigecycline insufficient in Serratia,
Proteus, Morganella, Providencia; low imipenem activity in Morganellaceae).
"""

from __future__ import annotations

from typing import Any

import pytest

from cre_advisor.case import Isolate
from cre_advisor.knowledge.loader import Knowledge, default_knowledge
from cre_advisor.microbiology import SusceptibilityReading, read_susceptibility


@pytest.fixture(scope="module")
def knowledge() -> Knowledge:
    return default_knowledge()


def _read(knowledge: Knowledge, organism: str, site: str = "bloodstream", **results: Any) -> SusceptibilityReading:
    isolate = Isolate(organism=organism, susceptibility={k.replace("_", "-"): v for k, v in results.items()})
    return read_susceptibility(isolate, site, knowledge)


def test_mic_only_is_interpreted_with_the_table_and_version(knowledge: Knowledge) -> None:
    reading = _read(knowledge, "Klebsiella pneumoniae", meropenem={"mic_mg_l": 4})
    result = reading.results["meropenem"]
    assert (result.category, result.source, result.active, result.high_exposure) == ("I", "interpreted", True, True)
    assert result.table == "EUCAST-2026 (v16.1)"
    assert (result.breakpoint_s, result.breakpoint_r) == (2, 8)
    assert "EUCAST-2026 (v16.1)" in reading.trace[0]
    assert "eucast-bp-16.1:Enterobacterales/Carbapenems" in reading.citations


def test_site_reaches_the_table(knowledge: Knowledge) -> None:
    reading = _read(knowledge, "Klebsiella pneumoniae", site="cns", meropenem={"mic_mg_l": 4})
    assert reading.results["meropenem"].category == "R"


def test_reported_letter_is_used_and_a_disagreeing_mic_is_flagged(knowledge: Knowledge) -> None:
    reading = _read(knowledge, "Klebsiella pneumoniae", meropenem={"mic_mg_l": 16, "interpretation": "S"})
    result = reading.results["meropenem"]
    assert (result.category, result.source, result.mic_mg_l) == ("S", "reported", 16)
    assert any("meropenem" in w and "reported S" in w for w in reading.warnings)


def test_reported_letter_agreeing_with_the_mic_raises_no_warning(knowledge: Knowledge) -> None:
    reading = _read(knowledge, "Klebsiella pneumoniae", meropenem={"mic_mg_l": 16, "interpretation": "R"})
    assert reading.results["meropenem"].category == "R"
    assert reading.warnings == []


def test_mic_hidden_by_a_comparator_asks_for_an_on_scale_mic(knowledge: Knowledge) -> None:
    reading = _read(knowledge, "Klebsiella pneumoniae", meropenem={"mic_mg_l": ">4"})
    assert reading.results["meropenem"].category is None
    assert any("on-scale MIC" in m for m in reading.missing_data)


def test_no_breakpoint_is_reported_as_missing_data(knowledge: Knowledge) -> None:
    reading = _read(knowledge, "Klebsiella pneumoniae", amikacin={"mic_mg_l": 4})
    assert reading.results["amikacin"].category is None
    assert any("urinary tract only" in m for m in reading.missing_data)


@pytest.mark.parametrize(
    ("organism", "agent"),
    [
        ("Serratia marcescens", "colistin"),
        ("Proteus mirabilis", "colistin"),
        ("Morganella morganii", "polymyxin-b"),
        ("Providencia stuartii", "colistin"),
        ("Proteus vulgaris", "tigecycline"),
        ("Morganella morganii", "tigecycline"),
        ("Providencia rettgeri", "minocycline"),
        ("Serratia marcescens", "nitrofurantoin"),
    ],
)
def test_intrinsic_resistance_overrides_a_reported_s(knowledge: Knowledge, organism: str, agent: str) -> None:
    reading = _read(knowledge, organism, **{agent: {"interpretation": "S"}})
    result = reading.results[agent]
    assert (result.category, result.source, result.active) == ("R", "intrinsic", False)
    assert any(agent in w and ("expected resistant" in w or "insufficient" in w) for w in reading.warnings)


def test_intrinsic_resistance_overrides_an_interpreted_s(knowledge: Knowledge) -> None:
    reading = _read(knowledge, "Serratia marcescens", colistin={"mic_mg_l": 0.5})  # S by the bracketed 2/2 row
    assert reading.results["colistin"].category == "R"
    assert reading.results["colistin"].source == "intrinsic"


def test_untested_intrinsic_agents_are_listed_as_resistant(knowledge: Knowledge) -> None:
    reading = _read(knowledge, "Proteus mirabilis")
    for agent in ("colistin", "polymyxin-b", "tigecycline", "minocycline", "nitrofurantoin"):
        assert reading.results[agent].category == "R", agent
    assert "eucast-expected-resistant-phenotypes:Table 1" in reading.citations
    assert reading.warnings == []  # nothing reported S, so nothing to correct


def test_intrinsic_resistance_does_not_touch_other_organisms(knowledge: Knowledge) -> None:
    reading = _read(knowledge, "Klebsiella pneumoniae", colistin={"interpretation": "S"})
    assert reading.results["colistin"].category == "S"
    assert set(reading.results) == {"colistin"}


def test_tigecycline_in_serratia_keeps_the_result_with_a_warning(knowledge: Knowledge) -> None:
    reading = _read(knowledge, "Serratia marcescens", tigecycline={"interpretation": "S"})
    assert reading.results["tigecycline"].category == "S"
    assert any("tigecycline" in w and "Serratia" in w for w in reading.warnings)


def test_imipenem_in_morganellaceae_warns_of_low_activity(knowledge: Knowledge) -> None:
    reading = _read(knowledge, "Morganella morganii", imipenem_cilastatin={"interpretation": "R"})
    assert reading.results["imipenem-cilastatin"].category == "R"
    assert any("does not make them carbapenem-resistant" in w for w in reading.warnings)
    clean = _read(knowledge, "Klebsiella pneumoniae", imipenem_cilastatin={"interpretation": "R"})
    assert clean.warnings == []


def test_bracketed_colistin_carries_its_caveat(knowledge: Knowledge) -> None:
    reading = _read(knowledge, "Klebsiella pneumoniae", colistin={"mic_mg_l": 1})
    assert reading.results["colistin"].category == "S"
    assert any("another active agent" in w for w in reading.warnings)
