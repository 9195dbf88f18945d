"""A dose for every ICU patient: dialysis, CRRT, first doses, unstable creatinine (issue 12).

The property runs the engine over thousands of generated ICU cases and checks every regimen item
against the rows of dosing.yaml read here as plain YAML (not through the code under test): a
positive dose, an evidence class, and amounts and intervals that one of the item's cited rows
gives. The paired tests type their expected values from the label cells quoted in the comments.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, note, settings
from strategies import icu_cases

from cre_advisor import recommend
from cre_advisor.dosing import EVIDENCE_LABELS, INDIVIDUALISE, DoseResult, dose_for
from cre_advisor.knowledge.loader import KNOWLEDGE_DIR, default_knowledge
from cre_advisor.patient import RenalAssessment, assess_renal_values
from cre_advisor.render import markdown

RAW = yaml.safe_load((KNOWLEDGE_DIR / "dosing.yaml").read_text(encoding="utf-8"))
BODY = {"sex": "male", "height_cm": 175, "weight_kg": 70}  # IBW 70.46 kg
HD, CRRT = "intermittent_hemodialysis", "crrt"


def _rows(agent: str) -> Iterator[dict[str, Any]]:
    """Every dose row of an agent in the raw YAML: bands, dialysis rows, CRRT rows, of every variant."""
    for variant in RAW["agents"][agent]["variants"].values():
        yield from variant["bands"]
        yield from variant.get("hemodialysis_by_residual_crcl", ())
        yield from variant.get("crrt", ())
        if variant.get("hemodialysis"):
            yield variant["hemodialysis"]


def _fixed_amounts(agent: str, row: dict[str, Any]) -> set[float]:
    amounts = {row.get(k) for k in ("dose_mg", "loading_dose_mg", "first_dose_mg")}
    if row.get("daily_dose_mg"):
        amounts.add(row["daily_dose_mg"] * row["interval_h"] / 24)
    return {a for a in amounts if a}


def _weight_based(row: dict[str, Any]) -> bool:
    return any(row.get(k) for k in ("dose_mg_per_kg", "daily_dose_mg_per_kg", "loading_dose_mg_per_kg",
                                    "daily_dose_by_formula"))


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=0.01, abs_tol=0.5)


def check_item_against_source(item: dict[str, Any], weight_kg: float) -> None:
    """The item's dose and interval are what one of its cited rows (or the agent's first-dose rows) gives."""
    agent = item["agent"]
    assert item["dose_mg"] is not None and item["dose_mg"] > 0, f"{agent}: no number in {item['dose']!r}"
    assert item["evidence"] in EVIDENCE_LABELS.values(), f"{agent}: evidence {item['evidence']!r}"
    cited = set(item["citations"])
    rows = list(_rows(agent))
    own = [r for r in rows if set(r["citations"]) <= cited]
    assert own, f"{agent}: no row of dosing.yaml is among the item's citations {sorted(cited)}"
    first_dose_only = item["interval_h"] is None
    # A first dose may come from the normal-function row of any band; a maintenance dose from a cited row.
    candidates = rows if first_dose_only else own
    variants = RAW["agents"][agent]["variants"].values()
    amounts = {a for r in candidates for a in _fixed_amounts(agent, r)}
    for variant in variants:
        change = variant.get("child_pugh_c") or {}
        amounts |= {a for a in (change.get("dose_mg"), change.get("loading_dose_mg")) if a}
        if change.get("dose_factor"):
            amounts |= {a * change["dose_factor"] for r in candidates for a in _fixed_amounts(agent, r)}
        fixed = (variant.get("loading_formula") or {}).get("without_weight")
        if fixed:
            amounts.add(fixed["dose_mg"])
    dose = item["dose_mg"]
    if not any(_close(dose, a) for a in amounts):
        weighted = [r for r in candidates if _weight_based(r)]
        assert weighted, f"{agent}: {dose} mg is in none of its source rows ({sorted(amounts)})"
        # mg/kg and formula doses: a plausible body weight (30-400 kg) or Nation 2017's daily range
        assert 0 < dose <= 30 * max(weight_kg, 1) + 500, f"{agent}: {dose} mg implausible for {weight_kg} kg"
    if item["interval_h"] is not None:
        intervals = {r.get("interval_h") for r in own} | {
            (v.get("child_pugh_c") or {}).get("interval_h") for v in variants}
        assert item["interval_h"] in intervals, f"{agent}: interval {item['interval_h']} h not in its rows"


@settings(max_examples=2000, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=icu_cases())
def test_every_icu_regimen_item_has_a_sourced_number(case: dict[str, Any]) -> None:
    note(f"case: {json.dumps(case)}")
    rec = recommend(case).model_dump(mode="json", by_alias=True)
    for option in rec["options"]:
        for item in option["regimen"]:
            check_item_against_source(item, case["patient"]["weight_kg"])
            if item["agent"] == "colistin":  # a plan never omits the colistin loading dose
                assert item["loading_dose_mg"] or item["dose"].startswith("loading dose"), item["dose"]


def test_the_property_can_fail() -> None:
    item = {"agent": "cefiderocol", "dose": "x", "dose_mg": 1750, "interval_h": 8, "evidence": EVIDENCE_LABELS["P"],
            "citations": ["label-cefiderocol:2.2", "aic-cefiderocol-2023:Table 3"]}
    with pytest.raises(AssertionError, match="none of its source rows"):
        check_item_against_source(item, 70)
    with pytest.raises(AssertionError, match="no number"):
        check_item_against_source({**item, "dose_mg": None}, 70)
    with pytest.raises(AssertionError, match="interval"):
        check_item_against_source({**item, "dose_mg": 2000, "interval_h": 10}, 70)


# ---- paired label cells -----------------------------------------------------------------------
def _dose(agent: str, renal: RenalAssessment, **kw: Any) -> DoseResult:
    return dose_for(agent, renal=renal, knowledge=default_knowledge(), **kw)


def _on(mode: str, effluent: float | None = None, **body: Any) -> RenalAssessment:
    return assess_renal_values(renal_replacement=mode, crrt_effluent_l_h=effluent, **{**BODY, **body})


def _at(crcl: float, **body: Any) -> RenalAssessment:
    return assess_renal_values(measured_crcl_ml_min=crcl, **{**BODY, **body})


@pytest.mark.parametrize(("residual", "interval"), [(0, 48), (5, 48), (6, 24), (15, 24)])
def test_cza_on_haemodialysis_takes_the_label_band_of_the_residual_clearance(residual: float, interval: float) -> None:
    # Avycaz PI section 2 / CMR 2020 Table 9: ESRD on HD, CrCl 6-15: 0.94 g q24h; <= 5: 0.94 g q48h, after HD
    result = _dose("ceftazidime-avibactam", _on(HD), residual_crcl_ml_min=residual)
    assert (result.dose_mg, result.interval_h, result.infusion_h) == (940, interval, 2)
    assert "after the session on dialysis days" in result.dose
    assert result.evidence == EVIDENCE_LABELS["P"]


def test_cza_on_haemodialysis_without_residual_clearance_lists_both_bands() -> None:
    result = _dose("ceftazidime-avibactam", _on(HD))
    assert (result.dose_mg, result.interval_h) == (940, None)
    assert [o.split(": ")[1] for o in result.dose_options] == ["940 mg q24h", "940 mg q48h"]
    assert any("residual creatinine clearance" in n for n in result.notes)


def test_cza_residual_clearance_above_the_dialysis_rows_takes_its_ordinary_band() -> None:
    # CrCl 16-30: 0.94 g q12h (label)
    assert (_dose("ceftazidime-avibactam", _on(HD), residual_crcl_ml_min=16).interval_h) == 12


@pytest.mark.parametrize(("height", "loading", "source"), [(175, 282, "nation-2017:Table 2"),
                                                            (None, 300, "smpc-colistimethate:4.2")])
def test_colistin_loading_with_and_without_height(height: float | None, loading: float, source: str) -> None:
    # with height: Nation 2017, 2 mg/L x 2.0 x IBW 70.46 kg = 282 mg CBA; without: EU SmPC fixed 9 MIU = 300 mg CBA
    for renal in (_at(40, height_cm=height), _on(HD, height_cm=height), _on(CRRT, 2.0, height_cm=height)):
        result = _dose("colistin", renal)
        assert result.loading_dose_mg == loading
        assert source in result.citations
        assert any("9 million IU" in n for n in result.notes) is (height is None)


def test_colistin_first_dose_with_unknown_clearance_and_no_height_is_the_fixed_loading_dose() -> None:
    result = _dose("colistin", assess_renal_values(age_years=60, sex="male", weight_kg=70))
    assert (result.dose_mg, result.interval_h) == (300, None)


def test_colistin_dialysis_day_supplement_and_timing_are_in_the_dose() -> None:
    # Nation 2017 Table 2: 130 mg CBA/day; +30% (3-h) or +40% (4-h) with the next regular dose after the session
    result = _dose("colistin", _on(HD))
    assert (result.dose_mg, result.interval_h) == (65, 12)
    assert "39 mg CBA" in result.dose and "52 mg CBA" in result.dose and "after the session ends" in result.dose


@pytest.mark.parametrize("variant", ["default", "with_ceftazidime_avibactam"])
def test_aztreonam_post_dialysis_supplement_on_haemodialysis_only(variant: str) -> None:
    # Azactam label: CrCl < 10 / HD: 2 g first, then 500 mg (a quarter); serious infections: + 1/8 (250 mg) after each HD
    hd = _dose("aztreonam", _on(HD), variant=variant)
    assert (hd.loading_dose_mg, hd.dose_mg, hd.interval_h) == (2000, 500, 8)
    assert "250 mg (one-eighth of the first dose) after each session" in hd.dose
    off = _dose("aztreonam", _at(5), variant=variant)
    assert (off.loading_dose_mg, off.dose_mg, off.interval_h) == (2000, 500, 8)
    assert "after each session" not in off.dose


@pytest.mark.parametrize(("effluent", "mg", "interval"), [(2.0, 1500, 12), (2.1, 2000, 12), (3.0, 2000, 12),
                                                          (3.1, 1500, 8), (4.0, 1500, 8), (4.1, 2000, 8)])
def test_cefiderocol_crrt_band_with_a_rate_is_one_dose(effluent: float, mg: float, interval: float) -> None:
    # Fetroja PI Table 2 by effluent rate
    result = _dose("cefiderocol", _on(CRRT, effluent))
    assert (result.dose_mg, result.interval_h) == (mg, interval)
    assert result.dose_options == ()


def test_cefiderocol_crrt_without_a_rate_gives_four_bands_and_asks() -> None:
    result = _dose("cefiderocol", _on(CRRT))
    assert (result.dose_mg, result.interval_h) == (2000, None)
    assert len(result.dose_options) == 4 and "effluent <= 2 L/h: 1.5 g q12h" in result.dose
    assert any("effluent rate (L/h): enter it" in n for n in result.notes)


# ---- first 48 h with unstable creatinine (Crass 2019) ---------------------------------------------
@pytest.mark.parametrize(("unstable", "mg", "interval"), [(True, 2500, 8), (False, 940, 12)])
def test_unstable_creatinine_gives_the_full_dose_for_48_h(unstable: bool, mg: float, interval: float) -> None:
    result = _dose("ceftazidime-avibactam", _at(20), creatinine_unstable=unstable)
    assert (result.dose_mg, result.interval_h) == (mg, interval)
    assert ("crass-2019" in result.citations) is unstable
    if unstable:
        assert any("first 48 h" in n and "940 mg q12h" in n for n in result.notes)


def test_unstable_creatinine_never_overrides_a_band_the_label_rules_out() -> None:
    # Recarbrio: not below CrCl 15 without haemodialysis
    assert _dose("imipenem-cilastatin-relebactam", _at(10), creatinine_unstable=True).not_recommended


@pytest.mark.parametrize("agent", ["colistin", "amikacin", "plazomicin"])
def test_unstable_creatinine_leaves_narrow_index_agents_to_their_rules(agent: str) -> None:
    assert "crass-2019" not in _dose(agent, _at(40), creatinine_unstable=True).citations


# ---- first dose never withheld; maintenance left to the pharmacist only with a reason ----------------
def test_no_regimen_item_state_lacks_a_first_dose() -> None:
    """Every agent and variant, at every band edge, on haemodialysis and CRRT: a number unless not given."""
    kn = default_knowledge()
    states = [_at(c) for c in (0, 5, 9, 10, 14, 15, 19, 20, 29, 30, 49, 50, 59, 60, 79, 80, 89, 90, 120, 150)]
    states += [_on(HD), _on(CRRT), *(_on(CRRT, e) for e in (1.0, 2.5, 3.5, 5.0))]
    for agent, table in kn.dosing.agents.items():
        for variant in table.variants:
            for renal in states:
                result = _dose(agent, renal, variant=variant)
                if result.not_recommended:
                    continue
                assert result.dose_mg and result.dose_mg > 0, (agent, variant, renal.summary, result.dose)
                if result.individualise:
                    assert f"{INDIVIDUALISE} the maintenance dose: " in result.dose or "Child-Pugh" in result.dose


def test_secondary_only_figures_are_never_a_maintenance_dose() -> None:
    # RRT-DOSING: an [S]-only row does not ship as a dose without pharmacist sign-off
    for agent, renal in (("ceftazidime-avibactam", _on(CRRT, 2.0)), ("minocycline", _at(40)),
                         ("aztreonam-avibactam", _on(CRRT))):
        result = _dose(agent, renal)
        assert result.evidence == EVIDENCE_LABELS["S"]
        assert result.individualise and result.interval_h is None


# ---- label details (item 7) --------------------------------------------------------------------
def test_tigecycline_child_pugh_c_shows_the_label_reduction_not_the_high_dose() -> None:
    result = _dose("tigecycline", _at(90), child_pugh="C")  # Tygacil: 100 mg, then 25 mg q12h
    assert (result.loading_dose_mg, result.dose_mg, result.interval_h) == (100, 25, 12)
    normal = _dose("tigecycline", _at(90), child_pugh="B")  # IDSA high dose: 200 mg, then 100 mg q12h
    assert (normal.loading_dose_mg, normal.dose_mg) == (200, 100)


@pytest.mark.parametrize(("renal", "shown"), [(_at(10), True), (_on(HD), True), (_at(60), False)])
def test_metronidazole_kidney_failure_line_only_when_it_applies(renal: RenalAssessment, shown: bool) -> None:
    result = _dose("metronidazole", renal)
    assert any("end-stage renal disease" in n for n in result.notes) is shown


def test_plazomicin_says_insufficient_information_not_a_recommendation_against() -> None:
    result = _dose("plazomicin", _on(CRRT, 2.0))
    assert result.not_recommended and any("insufficient information" in n for n in result.notes)


def test_eravacycline_hepatic_rule_is_marked_us_only() -> None:
    result = _dose("eravacycline", _at(90), child_pugh="C")
    assert result.interval_h == 24 and any("US label only" in n for n in result.notes)


def test_aztreonam_avibactam_and_the_cza_aztreonam_pair_monitor_liver_enzymes() -> None:
    assert any("Liver enzymes" in m for m in _dose("aztreonam-avibactam", _at(90)).monitoring)
    paired = _dose("aztreonam", _at(90), variant="with_ceftazidime_avibactam")
    assert any("liver enzymes" in n and "Q3.5" in n for n in paired.notes)
    assert not any("liver enzymes" in n for n in _dose("aztreonam", _at(90)).notes)


# ---- in the plan: web, CLI and JSON see the same dose text --------------------------------------
KPC_HD = {
    "patient": {"age_years": 60, "sex": "male", "weight_kg": 80, "renal_replacement": HD, "allergies": []},
    "infection": {"site": "bloodstream", "severity": "septic_shock", "source_control": "achieved"},
    "isolate": {"organism": "Klebsiella pneumoniae", "carbapenemase": ["KPC"],
                "susceptibility": {"meropenem": {"interpretation": "R"}, "ceftazidime-avibactam": {"interpretation": "S"},
                                   "meropenem-vaborbactam": {"interpretation": "S"},
                                   "imipenem-cilastatin-relebactam": {"interpretation": "S"}}},
}


def test_dialysis_timing_and_evidence_reach_the_plan() -> None:
    rec = recommend(KPC_HD)
    items = {item.agent: item for option in rec.options for item in option.regimen}
    cza = items["ceftazidime-avibactam"]
    assert "after the session on dialysis days" in cza.dose and len(cza.dose_options) == 2
    assert "after the session" in items["meropenem-vaborbactam"].dose
    for audience in ("clinician", "pharmacist", "nurse"):
        text = markdown(rec, audience)
        assert "after the session on dialysis days" in text
    assert "source: label or guideline [P]" in markdown(rec, "clinician")
    assert json.loads(rec.model_dump_json())["options"][0]["regimen"][0]["evidence"]


def test_normal_function_ceiling_is_in_the_plan_on_crrt() -> None:
    case = json.loads(json.dumps(KPC_HD))
    case["patient"]["renal_replacement"] = CRRT
    rec = recommend(case)
    cza = next(i for o in rec.options for i in o.regimen if i.agent == "ceftazidime-avibactam")
    assert cza.dose_mg == 2500 and any("is the ceiling" in n for n in cza.notes)
    assert "is the ceiling" in markdown(rec, "pharmacist")


@pytest.mark.parametrize(("agent", "per_kg", "guide"), [("amikacin", 15, "Fraser Health"), ("gentamicin", 7, "UCLA")])
def test_aminoglycoside_first_dose_on_dialysis_keeps_idsa_and_names_the_hospital_guides(agent: str, per_kg: float,
                                                                                       guide: str) -> None:
    hd = _dose(agent, _on(HD))  # IDSA Table 1 first dose, 70 kg; the hospital guides' redosing beside it
    assert (hd.dose_mg, hd.interval_h) == (per_kg * 70, None)
    assert any(guide in n for n in hd.notes) and "after the session" in hd.dose
    assert not any(guide in n for n in _dose(agent, _at(40)).notes)
