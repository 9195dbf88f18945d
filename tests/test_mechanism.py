"""classify_mechanism: SPEC section 2, each rule with a case where it fires and one where it must not.

Sources: idsa-2024 (reported genes decide; any MBL -> MBL; KPC + OXA-48-like -> OXA-48-like;
phenotype patterns; ertapenem-only resistance with meropenem and imipenem MIC <= 1 ->
carbapenemase unlikely; US distribution KPC ~86%, NDM 9%, OXA-48-like 4%); EUCAST
carbapenemase screening cut-off meropenem MIC > 0.125 mg/L.
"""

from __future__ import annotations

from typing import Any

import pytest

from cre_advisor.case import Context, Isolate
from cre_advisor.knowledge.loader import Knowledge, default_knowledge
from cre_advisor.microbiology import MechanismFinding, classify_mechanism, read_susceptibility

S = {"interpretation": "S"}
R = {"interpretation": "R"}
CZA, MEV, IMR = "ceftazidime-avibactam", "meropenem-vaborbactam", "imipenem-cilastatin-relebactam"


@pytest.fixture(scope="module")
def knowledge() -> Knowledge:
    return default_knowledge()


def _classify(
    knowledge: Knowledge,
    *,
    organism: str = "Klebsiella pneumoniae",
    genes: list[str] | None = None,
    test: str | None = None,
    results: dict[str, Any] | None = None,
    context: dict[str, Any] | None = None,
    recent_cza: bool = False,
) -> MechanismFinding:
    isolate = Isolate(organism=organism, carbapenemase=genes, carbapenemase_test=test, susceptibility=results or {})
    reading = read_susceptibility(isolate, "bloodstream", knowledge)
    return classify_mechanism(
        isolate, reading, Context(**(context or {})), recent_cza=recent_cza, knowledge=knowledge
    )


# ---- reported genes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("genes", "class_", "group"),
    [
        (["KPC"], "serine_carbapenemase", "kpc"),
        (["OXA-48"], "serine_carbapenemase", "oxa48"),
        (["OXA-181"], "serine_carbapenemase", "oxa48"),
        (["KPC", "OXA-48-like"], "serine_carbapenemase", "oxa48"),
        (["NDM"], "metallo_beta_lactamase", "mbl"),
        (["VIM"], "metallo_beta_lactamase", "mbl"),
        (["IMP"], "metallo_beta_lactamase", "mbl"),
        (["KPC", "NDM"], "metallo_beta_lactamase", "mbl"),
        (["NDM", "OXA-48-like"], "metallo_beta_lactamase", "mbl"),
        (["GES"], "serine_carbapenemase", "kpc"),
    ],
)
def test_reported_genes_decide(knowledge: Knowledge, genes: list[str], class_: str, group: str) -> None:
    found = _classify(knowledge, genes=genes, test="xpert_carba_r")
    assert (found.class_, found.group, found.basis) == (class_, group, "reported")
    assert "Xpert Carba-R" in found.explanation


def test_kpc_with_oxa48_explains_the_inhibitors(knowledge: Knowledge) -> None:
    found = _classify(knowledge, genes=["KPC", "OXA-48-like"])
    assert "vaborbactam and relebactam do not inhibit OXA-48-like" in found.explanation
    assert "idsa-2024:Q3.6" in found.citations


def test_mbl_with_oxa48_rules_out_aztreonam_with_mev_or_imr(knowledge: Knowledge) -> None:
    assert any("aztreonam" in w for w in _classify(knowledge, genes=["NDM", "OXA-48-like"]).warnings)
    assert not any("aztreonam" in w for w in _classify(knowledge, genes=["NDM", "KPC"]).warnings)


def test_ges_asks_for_testing_of_the_newer_agents(knowledge: Knowledge) -> None:
    found = _classify(knowledge, genes=["GES"])
    assert any("tested susceptible" in w for w in found.warnings)
    assert found.missing_data
    assert not _classify(knowledge, genes=["KPC"]).warnings


def test_reported_genes_beat_the_phenotype(knowledge: Knowledge) -> None:
    found = _classify(knowledge, genes=["KPC"], results={CZA: R, MEV: R, IMR: R})
    assert (found.group, found.basis) == ("kpc", "reported")


# ---- tested negative -----------------------------------------------------------------------


def test_negative_panel_with_low_carbapenem_mics(knowledge: Knowledge) -> None:
    results = {"meropenem": {"mic_mg_l": 0.5}, "imipenem-cilastatin": {"mic_mg_l": 1}, "ertapenem": {"mic_mg_l": 2}}
    found = _classify(knowledge, genes=[], test="ng_test_carba_5", results=results)
    assert (found.class_, found.group, found.basis) == ("non_carbapenemase", "non_carbapenemase_carbapenem_s", "reported")
    assert any("GES, IMI, SME" in w and "NG-Test CARBA 5" in w for w in found.warnings)


def test_negative_panel_with_meropenem_mic_2_is_not_carbapenem_susceptible(knowledge: Knowledge) -> None:
    # MIC 2 is EUCAST S, but SPEC/IDSA "meropenem-susceptible" for CRE means MIC <= 1
    results = {"meropenem": {"mic_mg_l": 2}, "imipenem-cilastatin": {"mic_mg_l": 1}, "ertapenem": R}
    found = _classify(knowledge, genes=[], results=results)
    assert (found.class_, found.group) == ("non_carbapenemase", "non_carbapenemase")


def test_negative_panel_with_ertapenem_susceptible_is_not_the_ertapenem_only_group(knowledge: Knowledge) -> None:
    results = {"meropenem": {"mic_mg_l": 0.5}, "imipenem-cilastatin": {"mic_mg_l": 0.5}, "ertapenem": S}
    assert _classify(knowledge, genes=[], results=results).group == "non_carbapenemase"


def test_negative_panel_with_missing_imipenem_asks_for_it(knowledge: Knowledge) -> None:
    results = {"meropenem": {"mic_mg_l": 0.5}, "ertapenem": R}
    found = _classify(knowledge, genes=[], results=results)
    assert found.group == "non_carbapenemase"
    assert any("imipenem-cilastatin" in m for m in found.missing_data)


def test_whole_genome_negative_has_no_panel_caveat(knowledge: Knowledge) -> None:
    found = _classify(knowledge, genes=[], test="whole_genome")
    assert not any("GES" in w for w in found.warnings)


# ---- phenotype inference (not tested) --------------------------------------------------------


def test_all_three_resistant_suggests_mbl(knowledge: Knowledge) -> None:
    found = _classify(knowledge, results={CZA: R, MEV: R, IMR: R})
    assert (found.class_, found.group, found.basis) == ("metallo_beta_lactamase", "mbl", "inferred")
    assert "inferred" in found.explanation
    assert any("carbapenemase test" in m for m in found.missing_data)


def test_mbl_pattern_does_not_fire_when_imr_is_susceptible(knowledge: Knowledge) -> None:
    found = _classify(knowledge, results={CZA: R, MEV: R, IMR: S})
    assert found.group != "mbl"
    assert found.basis == "empiric"


def test_cza_s_mev_imr_r_suggests_oxa48(knowledge: Knowledge) -> None:
    found = _classify(knowledge, results={CZA: S, MEV: R, IMR: R})
    assert (found.class_, found.group, found.basis) == ("serine_carbapenemase", "oxa48", "inferred")


def test_oxa48_pattern_does_not_fire_when_mev_is_susceptible(knowledge: Knowledge) -> None:
    assert _classify(knowledge, results={CZA: S, MEV: S, IMR: R}).group != "oxa48"


def test_all_three_susceptible_suggests_kpc_or_non_carbapenemase(knowledge: Knowledge) -> None:
    found = _classify(knowledge, results={CZA: S, MEV: S, IMR: S})
    assert (found.class_, found.group, found.basis) == ("unknown", "kpc", "inferred")
    assert any("GES, IMI, SME" in w for w in found.warnings)


def test_kpc_likely_pattern_needs_all_three_results(knowledge: Knowledge) -> None:
    assert _classify(knowledge, results={CZA: S, MEV: S}).basis == "empiric"


def test_ertapenem_only_resistance_makes_a_carbapenemase_unlikely(knowledge: Knowledge) -> None:
    results = {"ertapenem": {"mic_mg_l": 2}, "meropenem": {"mic_mg_l": 0.25}, "imipenem-cilastatin": {"mic_mg_l": 0.5}}
    found = _classify(knowledge, results=results)
    assert (found.group, found.basis) == ("non_carbapenemase_carbapenem_s", "inferred")
    assert "under 3%" in found.explanation
    assert any("GES, IMI, SME" in w for w in found.warnings)
    assert "idsa-2024:Q3.3" in found.citations


@pytest.mark.parametrize(
    "results",
    [
        {"ertapenem": R, "meropenem": {"mic_mg_l": 2}, "imipenem-cilastatin": {"mic_mg_l": 0.5}},  # MIC 2 > 1
        {"ertapenem": R, "meropenem": {"mic_mg_l": 0.5}, "imipenem-cilastatin": {"mic_mg_l": 4}},
        {"ertapenem": S, "meropenem": {"mic_mg_l": 0.5}, "imipenem-cilastatin": {"mic_mg_l": 0.5}},
        {"ertapenem": R, "meropenem": S, "imipenem-cilastatin": S},  # letters without MICs
    ],
)
def test_ertapenem_only_pattern_must_not_fire(knowledge: Knowledge, results: dict[str, Any]) -> None:
    assert _classify(knowledge, results=results).group != "non_carbapenemase_carbapenem_s"


def test_meropenem_above_the_screening_cut_off_asks_for_a_carbapenemase_test(knowledge: Knowledge) -> None:
    results = {"ertapenem": R, "meropenem": {"mic_mg_l": 0.25}, "imipenem-cilastatin": {"mic_mg_l": 0.5}}
    found = _classify(knowledge, results=results)
    assert any("0.125 mg/L" in m for m in found.missing_data)
    assert "eucast-resistance-mechanisms-2017:carbapenemase screening cut-off" in found.citations


def test_meropenem_at_the_screening_cut_off_does_not(knowledge: Knowledge) -> None:
    results = {"ertapenem": R, "meropenem": {"mic_mg_l": 0.125}, "imipenem-cilastatin": {"mic_mg_l": 0.5}}
    found = _classify(knowledge, results=results)
    assert not any("0.125 mg/L" in m for m in found.missing_data)


def test_morganellaceae_patterns_leave_imipenem_out(knowledge: Knowledge) -> None:
    # Proteus: imipenem-relebactam has no EUCAST breakpoint and imipenem activity is low by nature
    assert _classify(knowledge, organism="Proteus mirabilis", results={CZA: R, MEV: R, IMR: S}).group == "mbl"
    results = {"ertapenem": R, "meropenem": {"mic_mg_l": 0.5}, "imipenem-cilastatin": {"mic_mg_l": 4}}
    assert _classify(knowledge, organism="Proteus mirabilis", results=results).group == "non_carbapenemase_carbapenem_s"


def test_imipenem_alone_does_not_make_proteus_cre(knowledge: Knowledge) -> None:
    results = {"imipenem-cilastatin": R, "meropenem": S, "ertapenem": S}
    found = _classify(knowledge, organism="Proteus mirabilis", results=results)
    assert any("does not make this isolate carbapenem-resistant" in w for w in found.warnings)
    other = _classify(knowledge, organism="Klebsiella pneumoniae", results=results)
    assert not any("does not make" in w for w in other.warnings)


# ---- empiric -------------------------------------------------------------------------------


def test_empiric_uses_the_us_distribution(knowledge: Knowledge) -> None:
    found = _classify(knowledge)
    assert (found.class_, found.group, found.basis) == ("unknown", "kpc", "empiric")
    assert "86%" in found.explanation
    assert any("NDM, VIM, IMP" in w and "OXA-48-like" in w for w in found.warnings)
    assert any("carbapenemase test" in m for m in found.missing_data)


@pytest.mark.parametrize(
    ("distribution", "group"),
    [({"NDM": 0.6, "KPC": 0.3}, "mbl"), ({"OXA-48": 0.7, "KPC": 0.2}, "oxa48"), ({"KPC": 0.5, "VIM": 0.1}, "kpc")],
)
def test_empiric_uses_the_local_distribution(knowledge: Knowledge, distribution: dict[str, float], group: str) -> None:
    found = _classify(knowledge, context={"local_carbapenemase_distribution": distribution})
    assert (found.group, found.basis) == (group, "empiric")
    assert "local" in found.explanation


def test_recent_ceftazidime_avibactam_exposure_is_flagged(knowledge: Knowledge) -> None:
    found = _classify(knowledge, recent_cza=True)
    assert any("different newer agent" in w for w in found.warnings)
    assert "idsa-2024:Q3.7" in found.citations
    assert not any("different newer agent" in w for w in _classify(knowledge).warnings)
