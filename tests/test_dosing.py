"""dose_for: both sides of every band boundary, dialysis, CRRT, weight, liver, variants.

Expected doses are typed from the labels, IDSA 2024 Table 1, Nation 2017 and the SmPCs as
cited in dosing.yaml (see DOSING.md); weights and colistin amounts are worked by hand.
"""

from __future__ import annotations

from collections import defaultdict
from types import SimpleNamespace
from typing import Any

import pytest

from cre_advisor.dosing import FIRST_DOSE_ONLY, INDIVIDUALISE, DoseResult, dose_for
from cre_advisor.knowledge.dosing_tables import load_dosing_tables
from cre_advisor.knowledge.loader import KNOWLEDGE_DIR
from cre_advisor.patient import RenalAssessment, assess_renal_values

# Only the dose tables (and the memo store dose_for keeps its per-agent plans in): these tests must
# not depend on the rest of the knowledge base.
KNOWLEDGE: Any = SimpleNamespace(
    dosing=load_dosing_tables(KNOWLEDGE_DIR, {"review_status": "submitted"}), memos=defaultdict(dict)
)

# male, 175 cm, 70 kg: IBW 70.46 kg, not obese (actual weight is used for mg/kg doses)
BODY = {"sex": "male", "height_cm": 175, "weight_kg": 70}


def at(crcl: float, **body: Any) -> RenalAssessment:
    return assess_renal_values(measured_crcl_ml_min=crcl, **{**BODY, **body})


def on(mode: str, effluent: float | None = None, **body: Any) -> RenalAssessment:
    return assess_renal_values(renal_replacement=mode, crrt_effluent_l_h=effluent, **{**BODY, **body})


def dose(agent: str, renal: RenalAssessment, **kw: Any) -> DoseResult:
    return dose_for(agent, renal=renal, knowledge=KNOWLEDGE, **kw)


# (agent, variant, CrCl, dose_mg, interval_h, loading_dose_mg); None dose = not recommended
BANDS = [
    # ceftazidime-avibactam (Avycaz label; IDSA 3-h infusion at > 50)
    ("ceftazidime-avibactam", "default", 51, 2500, 8, None),
    ("ceftazidime-avibactam", "default", 50, 1250, 8, None),
    ("ceftazidime-avibactam", "default", 31, 1250, 8, None),
    ("ceftazidime-avibactam", "default", 30, 940, 12, None),
    ("ceftazidime-avibactam", "default", 16, 940, 12, None),
    ("ceftazidime-avibactam", "default", 15, 940, 24, None),
    ("ceftazidime-avibactam", "default", 6, 940, 24, None),
    ("ceftazidime-avibactam", "default", 5, 940, 48, None),
    ("ceftazidime-avibactam", "default", 0, 940, 48, None),
    # meropenem-vaborbactam (Vabomere label, eGFR bands)
    ("meropenem-vaborbactam", "default", 50, 4000, 8, None),
    ("meropenem-vaborbactam", "default", 49, 2000, 8, None),
    ("meropenem-vaborbactam", "default", 30, 2000, 8, None),
    ("meropenem-vaborbactam", "default", 29, 2000, 12, None),
    ("meropenem-vaborbactam", "default", 15, 2000, 12, None),
    ("meropenem-vaborbactam", "default", 14, 1000, 12, None),
    # imipenem-cilastatin-relebactam (Recarbrio label)
    ("imipenem-cilastatin-relebactam", "default", 90, 1250, 6, None),
    ("imipenem-cilastatin-relebactam", "default", 89, 1000, 6, None),
    ("imipenem-cilastatin-relebactam", "default", 60, 1000, 6, None),
    ("imipenem-cilastatin-relebactam", "default", 59, 750, 6, None),
    ("imipenem-cilastatin-relebactam", "default", 30, 750, 6, None),
    ("imipenem-cilastatin-relebactam", "default", 29, 500, 6, None),
    ("imipenem-cilastatin-relebactam", "default", 15, 500, 6, None),
    ("imipenem-cilastatin-relebactam", "default", 14, None, None, None),
    # cefiderocol (Fetroja label)
    ("cefiderocol", "default", 120, 2000, 6, None),
    ("cefiderocol", "default", 119, 2000, 8, None),
    ("cefiderocol", "default", 60, 2000, 8, None),
    ("cefiderocol", "default", 59, 1500, 8, None),
    ("cefiderocol", "default", 30, 1500, 8, None),
    ("cefiderocol", "default", 29, 1000, 8, None),
    ("cefiderocol", "default", 15, 1000, 8, None),
    ("cefiderocol", "default", 14, 750, 12, None),
    # aztreonam-avibactam (Emblaveo SmPC / FDA label)
    ("aztreonam-avibactam", "default", 51, 2000, 6, 2670),
    ("aztreonam-avibactam", "default", 50, 1000, 6, 2670),
    ("aztreonam-avibactam", "default", 31, 1000, 6, 2670),
    ("aztreonam-avibactam", "default", 30, 900, 8, 1800),
    ("aztreonam-avibactam", "default", 16, 900, 8, 1800),
    ("aztreonam-avibactam", "default", 15, 900, 12, 1330),
    # aztreonam (Azactam label: first dose, then half at 10-30, a quarter below 10)
    ("aztreonam", "default", 31, 2000, 8, None),
    ("aztreonam", "default", 30, 1000, 8, 2000),
    ("aztreonam", "default", 10, 1000, 8, 2000),
    ("aztreonam", "default", 9, 500, 8, 2000),
    ("aztreonam", "with_ceftazidime_avibactam", 31, 2000, 8, None),
    ("aztreonam", "with_ceftazidime_avibactam", 30, 1000, 8, 2000),
    ("aztreonam", "with_ceftazidime_avibactam", 10, 1000, 8, 2000),
    ("aztreonam", "with_ceftazidime_avibactam", 9, 500, 8, 2000),
    # meropenem (IDSA Table 1; cystitis 1 g with the Merrem renal rule)
    ("meropenem", "default", 51, 2000, 8, None),
    ("meropenem", "cystitis", 51, 1000, 8, None),
    ("meropenem", "cystitis", 50, 1000, 12, None),
    ("meropenem", "cystitis", 26, 1000, 12, None),
    ("meropenem", "cystitis", 25, 500, 12, None),
    ("meropenem", "cystitis", 10, 500, 12, None),
    ("meropenem", "cystitis", 9, 500, 24, None),
    # imipenem-cilastatin (IDSA 500 mg q6h; Primaxin renal table)
    ("imipenem-cilastatin", "default", 90, 500, 6, None),
    ("imipenem-cilastatin", "default", 89, 400, 6, None),
    ("imipenem-cilastatin", "default", 60, 400, 6, None),
    ("imipenem-cilastatin", "default", 59, 300, 6, None),
    ("imipenem-cilastatin", "default", 30, 300, 6, None),
    ("imipenem-cilastatin", "default", 29, 200, 6, None),
    ("imipenem-cilastatin", "default", 15, 200, 6, None),
    ("imipenem-cilastatin", "default", 14, None, None, None),
    # plazomicin (Zemdri label), 70 kg actual weight: 15 mg/kg = 1050 mg, 10 mg/kg = 700 mg
    ("plazomicin", "default", 60, 1050, 24, None),
    ("plazomicin", "default", 59, 700, 24, None),
    ("plazomicin", "default", 30, 700, 24, None),
    ("plazomicin", "default", 29, 700, 48, None),
    ("plazomicin", "default", 15, 700, 48, None),
    ("plazomicin", "default", 14, None, None, None),
    # minocycline (IDSA 200 mg q12h); below 80 the label's 200 mg/day cap is read only second-hand [S]:
    # the 200 mg first dose, then the pharmacist (RRT-DOSING: no [S] figure ships as a dose)
    ("minocycline", "default", 80, 200, 12, None),
    ("minocycline", "default", 79, 200, None, None),
    # fosfomycin oral (EU SmPC: not below 10 mL/min)
    ("fosfomycin", "cystitis", 10, 3000, None, None),
    ("fosfomycin", "cystitis", 9, None, None, None),
    ("fosfomycin", "default", 81, 8000, 8, None),
    # nitrofurantoin (Macrobid label: contraindicated below 60)
    ("nitrofurantoin", "default", 60, 100, 12, None),
    ("nitrofurantoin", "default", 59, None, None, None),
    # trimethoprim-sulfamethoxazole: cystitis 160 mg TMP q12h, half at 15-30, not below 15
    ("trimethoprim-sulfamethoxazole", "cystitis", 31, 160, 12, None),
    ("trimethoprim-sulfamethoxazole", "cystitis", 30, 80, 12, None),
    ("trimethoprim-sulfamethoxazole", "cystitis", 15, 80, 12, None),
    ("trimethoprim-sulfamethoxazole", "cystitis", 14, None, None, None),
    # 70 kg: 10 mg/kg/day = 700 mg/day = 233 mg q8h; half = 350 mg/day = 117 mg q8h
    ("trimethoprim-sulfamethoxazole", "default", 31, 233, 8, None),
    ("trimethoprim-sulfamethoxazole", "default", 30, 117, 8, None),
    ("trimethoprim-sulfamethoxazole", "default", 15, 117, 8, None),
    ("trimethoprim-sulfamethoxazole", "default", 14, None, None, None),
    # ciprofloxacin (IDSA Table 1) above 50 mL/min
    ("ciprofloxacin", "default", 51, 400, 8, None),
    ("ciprofloxacin", "cystitis", 51, 400, 12, None),
    ("ciprofloxacin", "oral", 51, 750, 12, None),
    ("ciprofloxacin", "oral_cystitis", 51, 500, 12, None),
    # levofloxacin 750 mg regimen (Levaquin label)
    ("levofloxacin", "default", 50, 750, 24, None),
    ("levofloxacin", "default", 49, 750, 48, None),
    ("levofloxacin", "default", 20, 750, 48, None),
]


@pytest.mark.parametrize(("agent", "variant", "crcl", "mg", "interval", "loading"), BANDS)
def test_band_boundaries(agent: str, variant: str, crcl: float, mg: float | None, interval: float | None,
                         loading: float | None) -> None:
    result = dose(agent, at(crcl), variant=variant)
    assert result.dose_mg == mg
    assert result.interval_h == interval
    assert result.loading_dose_mg == loading
    assert result.not_recommended is (mg is None)
    assert result.citations


# bands whose maintenance dose the sources leave to the pharmacist: the first dose, then a reason.
# (agent, variant, CrCl, first dose mg): the normal-function dose (IDSA Table 1), or fosfomycin's
# SmPC first dose (doubled, at most 8 g)
INDIVIDUALISED = [
    ("meropenem", "default", 50, 2000),
    ("fosfomycin", "default", 80, 8000),
    ("ciprofloxacin", "default", 50, 400),
    ("ciprofloxacin", "oral", 50, 750),
    ("levofloxacin", "default", 19, 750),
]


def test_colistin_at_crcl_90_follows_nation_2017_table() -> None:
    """Nation 2017 Table 2: 360 mg CBA/day at CrCl >= 90, split every 12 h."""
    result = dose("colistin", at(95))
    assert result.dose_mg == 180
    assert result.interval_h == 12


@pytest.mark.parametrize(("agent", "variant", "crcl", "first"), INDIVIDUALISED)
def test_unsourced_bands_give_the_first_dose_then_individualise(agent: str, variant: str, crcl: float,
                                                                  first: float) -> None:
    result = dose(agent, at(crcl), variant=variant)
    assert result.individualise and (result.dose_mg, result.interval_h) == (first, None)
    assert result.dose.startswith("first dose") and f"{INDIVIDUALISE} the maintenance dose: " in result.dose
    assert any(INDIVIDUALISE in note for note in result.notes)


def test_clearance_is_rounded_to_whole_ml_min_before_banding() -> None:
    assert dose("ceftazidime-avibactam", at(50.4)).dose_mg == 1250
    assert dose("ceftazidime-avibactam", at(50.6)).dose_mg == 2500


def test_ceftazidime_avibactam_crcl_20_is_not_the_full_dose() -> None:
    result = dose("ceftazidime-avibactam", at(20))
    assert (result.dose_mg, result.interval_h, result.band) == (940, 12, "CrCl 16-30 mL/min")
    assert result.adjusted_for == "CrCl 16-30 mL/min"


def test_extended_infusion_times() -> None:
    assert dose("ceftazidime-avibactam", at(90)).infusion_h == 3
    assert dose("meropenem", at(90)).infusion_h == 3
    assert dose("cefiderocol", at(90)).infusion_h == 3
    assert dose("aztreonam", at(90), variant="with_ceftazidime_avibactam").infusion_h == 3


# ---- agents without renal adjustment -------------------------------------------------------
@pytest.mark.parametrize("renal", [at(100), at(5), on("intermittent_hemodialysis"), on("crrt", 2.0)])
def test_renal_independent_agents(renal: RenalAssessment) -> None:
    tige = dose("tigecycline", renal)
    assert (tige.loading_dose_mg, tige.dose_mg, tige.interval_h) == (200, 100, 12)  # IDSA high dose, not 100/50
    assert dose("eravacycline", renal).dose_mg == 70  # 1 mg/kg x 70 kg
    assert dose("metronidazole", renal).dose_mg == 500
    pmb = dose("polymyxin-b", renal)
    # consensus: loading 2-2.5 mg/kg, maintenance 1.25-1.5 mg/kg q12h, actual weight 70 kg
    assert (pmb.loading_dose_mg, pmb.dose_mg, pmb.dose_mg_max, pmb.interval_h) == (140, 87.5, 105, 12)
    assert "175 mg" in pmb.dose


@pytest.mark.parametrize(("agent", "first", "cystitis"), [("gentamicin", 490, 350), ("tobramycin", 490, 350),
                                                         ("amikacin", 1050, 1050)])
def test_aminoglycosides_one_dose_then_levels(agent: str, first: float, cystitis: float) -> None:
    # IDSA: gentamicin/tobramycin 7 mg/kg once (cystitis 5 mg/kg), amikacin 15 mg/kg; 70 kg
    result = dose(agent, at(40))
    assert (result.dose_mg, result.interval_h) == (first, None)
    assert any("levels" in note for note in result.notes)
    assert dose(agent, at(40), site="cystitis").dose_mg == cystitis


# ---- dialysis and CRRT ------------------------------------------------------------------------
HD = [
    ("meropenem-vaborbactam", 1000, 12, None),
    ("imipenem-cilastatin-relebactam", 500, 6, None),
    ("cefiderocol", 750, 12, None),
    ("aztreonam-avibactam", 900, 12, 1330),
    ("aztreonam", 500, 8, 2000),
    ("imipenem-cilastatin", 200, 6, None),
    ("fosfomycin", 2000, 48, None),
]


@pytest.mark.parametrize(("agent", "mg", "interval", "loading"), HD)
def test_intermittent_haemodialysis_rows(agent: str, mg: float, interval: float, loading: float | None) -> None:
    result = dose(agent, on("intermittent_hemodialysis"))
    assert (result.dose_mg, result.interval_h, result.loading_dose_mg) == (mg, interval, loading)
    assert result.band.startswith("intermittent haemodialysis")


@pytest.mark.parametrize("agent", ["plazomicin", "nitrofurantoin", "trimethoprim-sulfamethoxazole"])
def test_not_given_on_haemodialysis(agent: str) -> None:
    result = dose(agent, on("intermittent_hemodialysis"))
    assert result.not_recommended and result.dose_mg is None and result.notes


@pytest.mark.parametrize(
    ("effluent", "mg", "interval"),
    [(1.0, 1500, 12), (2.0, 1500, 12), (2.1, 2000, 12), (3.0, 2000, 12), (3.1, 1500, 8), (4.0, 1500, 8),
     (4.1, 2000, 8), (6.0, 2000, 8)],
)
def test_cefiderocol_crrt_effluent_table(effluent: float, mg: float, interval: float) -> None:
    result = dose("cefiderocol", on("crrt", effluent))
    assert (result.dose_mg, result.interval_h) == (mg, interval)


def test_cefiderocol_crrt_without_effluent_lists_every_band() -> None:
    # Fetroja PI Table 2: <= 2 L/h 1.5 g q12h, 2.1-3 2 g q12h, 3.1-4 1.5 g q8h, >= 4.1 2 g q8h
    result = dose("cefiderocol", on("crrt"))
    assert not result.individualise and (result.dose_mg, result.interval_h) == (2000, None)
    assert [o.split(": ")[1] for o in result.dose_options] == ["1.5 g q12h", "2 g q12h", "1.5 g q8h", "2 g q8h"]
    assert any("effluent" in note for note in result.notes)


@pytest.mark.parametrize(("agent", "first", "ceiling"), [("ceftazidime-avibactam", 2500, "2.5 g q8h"),
                                                         ("meropenem-vaborbactam", 4000, "4 g q8h"),
                                                         ("imipenem-cilastatin-relebactam", 1250, "1.25 g q6h")])
def test_crrt_without_label_guidance_gives_first_dose_and_ceiling(agent: str, first: float, ceiling: str) -> None:
    result = dose(agent, on("crrt", 2.0))
    assert result.individualise and (result.dose_mg, result.interval_h) == (first, None)
    assert any(ceiling in note for note in result.notes)
    assert "crass-2019" in result.citations


# ---- colistin (Nation 2017) ---------------------------------------------------------------------
def test_colistin_loading_on_ideal_weight_and_maintenance_by_equation() -> None:
    # loading 2 x 2.0 x IBW 70.46 = 282 mg CBA; CrCl 40: 2 x 10^(0.0048 x 40 + 1.825) = 208 mg/day
    result = dose("colistin", at(40))
    assert result.loading_dose_mg == 282
    assert (result.dose_mg, result.interval_h) == (104, 12)
    assert result.weight_basis == "ideal"
    assert "million IU" in result.dose


def test_colistin_loading_capped_at_300_mg_cba() -> None:
    # 185 cm male: IBW 79.52 kg; 2 x 2.0 x 79.52 = 318 mg -> capped at 300 mg CBA (9 MU)
    assert dose("colistin", at(40, height_cm=185, weight_kg=90)).loading_dose_mg == 300


def test_colistin_just_below_90_uses_equation() -> None:
    # CrCl 89: 2 x 10^(0.4272 + 1.825) = 357.5 mg/day -> 178.7 mg q12h
    assert dose("colistin", at(89)).dose_mg == 179


def test_colistin_haemodialysis_and_crrt() -> None:
    hd = dose("colistin", on("intermittent_hemodialysis"))
    assert (hd.dose_mg, hd.interval_h) == (65, 12)  # 130 mg CBA/day baseline
    assert "39 mg" in hd.dose and "52 mg" in hd.dose  # +30% / +40% supplements, shown with the dose
    assert "after the session" in hd.dose
    crrt = dose("colistin", on("crrt", 2.0))
    assert (crrt.dose_mg, crrt.interval_h) == (221, 12)  # 130 x (1 + 0.1 x 24) = 442 mg/day


def test_colistin_without_height_gets_the_fixed_eu_loading_dose() -> None:
    # EU SmPC 4.2: 9 MIU (300 mg CBA) for the critically ill; Nation's dose needs ideal body weight
    result = dose("colistin", at(40, height_cm=None))
    assert result.loading_dose_mg == 300
    assert any("height" in note and "Nation" in note for note in result.notes)
    assert "smpc-colistimethate:4.2" in result.citations


# ---- renal function unknown --------------------------------------------------------------------
def test_unknown_clearance_gives_first_dose_only() -> None:
    renal = assess_renal_values(age_years=60, **BODY)  # no creatinine
    result = dose("ceftazidime-avibactam", renal)
    assert (result.dose_mg, result.interval_h, result.band) == (2500, None, "renal function unknown")
    assert FIRST_DOSE_ONLY in result.notes and FIRST_DOSE_ONLY in result.dose


def test_unknown_clearance_first_dose_is_the_loading_dose() -> None:
    renal = assess_renal_values(age_years=60, **BODY)
    result = dose("aztreonam-avibactam", renal)
    assert (result.dose_mg, result.loading_dose_mg, result.interval_h) == (2670, None, None)
    colistin = dose("colistin", renal)
    assert (colistin.dose_mg, colistin.individualise) == (282, False)


# ---- weight for mg/kg doses -----------------------------------------------------------------------
def test_plazomicin_adjusted_weight_when_25_percent_above_ideal() -> None:
    # IBW 70.46; 100 kg > 1.25 x IBW (88.08): adjusted 70.46 + 0.4 x 29.54 = 82.3 kg (shown to 0.1 kg);
    # 15 mg/kg x 82.3 kg = 1234.5 -> 1235 mg, the arithmetic the reader sees
    result = dose("plazomicin", at(90, weight_kg=100))
    assert (result.weight_basis, result.weight_kg, result.dose_mg) == ("adjusted", 82.3, 1235)
    assert "15 mg/kg x 82.3 kg = 1235 mg" in result.dose
    # 85 kg is below 88.08: actual weight, 15 x 85 = 1275 mg
    assert dose("plazomicin", at(90, weight_kg=85)).dose_mg == 1275


def test_aminoglycoside_adjusted_weight_above_120_percent() -> None:
    # 85 kg > 1.2 x 70.46 (84.56): adjusted 76.28 kg; gentamicin 7 mg/kg = 534 mg
    assert dose("gentamicin", at(90, weight_kg=85)).dose_mg == 534
    # underweight 50 kg: actual weight, 7 x 50 = 350 mg
    assert dose("gentamicin", at(90, weight_kg=50)).dose_mg == 350


def test_missing_height_uses_actual_weight_with_a_note() -> None:
    result = dose("gentamicin", at(90, weight_kg=120, height_cm=None))
    assert (result.weight_basis, result.dose_mg) == ("actual", 840)
    assert any("height" in note for note in result.notes)


def test_missing_weight_gives_no_number() -> None:
    result = dose("plazomicin", assess_renal_values(measured_crcl_ml_min=90))
    assert result.dose_mg is None and "weight needed" in result.dose


# ---- liver -----------------------------------------------------------------------------------------
def test_child_pugh_c_changes() -> None:
    tige = dose("tigecycline", at(90), child_pugh="C")  # label: 100 mg, then 25 mg q12h in Child-Pugh C
    assert (tige.loading_dose_mg, tige.dose_mg, tige.interval_h) == (100, 25, 12)
    assert any("Child-Pugh C" in note and "high dose" in note for note in tige.notes)
    assert dose("eravacycline", at(90), child_pugh="C").interval_h == 24
    assert dose("metronidazole", at(90), child_pugh="C").dose_mg == 250
    assert dose("metronidazole", at(90), child_pugh="B").dose_mg == 500


# ---- variants, routes, errors -------------------------------------------------------------------------
def test_cystitis_site_selects_cystitis_variant() -> None:
    result = dose("meropenem", at(90), site="cystitis")
    assert (result.variant, result.dose_mg, result.infusion_h) == ("cystitis", 1000, 0.5)


def test_high_exposure_without_separate_dose_says_so() -> None:
    result = dose("cefiderocol", at(90), variant="high_exposure")
    assert result.dose_mg == 2000
    assert any("high-exposure" in note for note in result.notes)


def test_oral_route_picks_oral_variant() -> None:
    assert dose("ciprofloxacin", at(90), route="PO").dose_mg == 750
    assert dose("ciprofloxacin", at(90), route="PO", site="cystitis").dose_mg == 500
    assert dose("levofloxacin", at(90), route="PO").route == "PO"


def test_route_the_agent_is_not_given_by_raises() -> None:
    with pytest.raises(ValueError, match="route 'PO'"):
        dose("ceftazidime-avibactam", at(90), route="PO")


def test_unknown_agent_and_variant_raise_naming_them() -> None:
    with pytest.raises(ValueError, match="'penicillin-x'"):
        dose("penicillin-x", at(90))
    with pytest.raises(ValueError, match="'bogus'"):
        dose("cefiderocol", at(90), variant="bogus")
