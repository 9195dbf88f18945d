"""SPEC section 6 invariants (and the output contract) over generated valid cases.

Everything the checks need is derived here from the case and SPEC / DOSING.md, independently
of the engine: which agents the isolate is resistant to (reported R, or a bare MIC on the
resistant side of both EUCAST and CLSI), whether the infection is severe (severity, or
INCREMENT-CPE >= 8 computed from its parts), the Cockcroft-Gault clearance with the
documented weight rule, and the label dose band of the four newer beta-lactams.

Deliberate readings of SPEC, for the reviewer:
- Older-agent monotherapy is barred for severe infection outside the urinary tract (SPEC 6
  says "outside the urinary tract"; cystitis and complicated UTI are exempt).
- A resistant agent may appear only in the declared MBL pairs of SPEC 3: ceftazidime-avibactam
  + aztreonam (cautions must explain the pair), and aztreonam + meropenem-vaborbactam /
  imipenem-relebactam as an alternative when no OXA-48-like enzyme is reported; neither pair
  when aztreonam-avibactam itself tests resistant (it stands for aztreonam + a beta-lactamase
  inhibitor, and avibactam inhibits every serine enzyme vaborbactam or relebactam does).
  Aztreonam in these pairs needs no result of its own.
- Colistin and polymyxin B share one result: either's R makes both resistant; either's result
  counts as a result for both.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, note, settings

from strategies import (
    ATM, AZA, CLEAR_MIC, CZA, ETP, FDC, IMR, IPM, MEM, MEV, MORGANELLACEAE, any_cases, mic_value, not_cre,
)

NEVER = {"ceftriaxone", "ceftazidime", "cefepime", "piperacillin-tazobactam", ETP, "ceftolozane-tazobactam"}
NEWER_TESTED = {CZA, MEV, IMR, FDC}
NEWER = NEWER_TESTED | {AZA}
OLDER_MONO_BARRED = {"colistin", "polymyxin-b", "tigecycline", "eravacycline", "amikacin", "gentamicin", "tobramycin", "plazomicin"}
TETRACYCLINES = {"tigecycline", "eravacycline", "minocycline"}
URINARY = {"cystitis", "urinary_complicated"}
MBL_ENZYMES = {"NDM", "VIM", "IMP"}
SIDE_CHAIN = {"ceftazidime", CZA, ATM, AZA}
CLASS_MEMBERS = {
    "carbapenems": {MEM, IPM, ETP, MEV, IMR},
    "cephalosporins": {CZA, FDC, "ceftazidime", "cefepime", "ceftriaxone", "ceftolozane-tazobactam"},
    "monobactams": {ATM, AZA},
    "penicillins": {"piperacillin-tazobactam"},
    "aminoglycosides": {"amikacin", "gentamicin", "tobramycin", "plazomicin"},
    "polymyxins": {"colistin", "polymyxin-b"},
    "tetracyclines": TETRACYCLINES,
    "fluoroquinolones": {"ciprofloxacin", "levofloxacin"},
    "sulfonamides": {"trimethoprim-sulfamethoxazole"},
    "nitroimidazoles": {"metronidazole"},
}
CLASS_MEMBERS["beta-lactams"] = (CLASS_MEMBERS["carbapenems"] | CLASS_MEMBERS["cephalosporins"]
                                 | CLASS_MEMBERS["monobactams"] | CLASS_MEMBERS["penicillins"])
ANAEROBE_ONLY = {"metronidazole"}


# ---------------------------------------------------------------- reading the case by hand
def _polymyxin_view(susc: dict[str, Any]) -> dict[str, Any]:
    view = dict(susc)
    for a, b in (("colistin", "polymyxin-b"), ("polymyxin-b", "colistin")):
        if a in view and b not in view:
            view[b] = view[a]
    return view


def resistant_agents(case: dict[str, Any]) -> set[str]:
    """Agents the isolate is resistant to; metronidazole is given for anaerobes, not for the isolate."""
    out = set()
    for agent, entry in _polymyxin_view(case["isolate"]["susceptibility"]).items():
        if agent in ANAEROBE_ONLY:
            continue
        if entry.get("interpretation") == "R":
            out.add(agent)
        elif entry.get("interpretation") is None and agent in CLEAR_MIC:
            mic = mic_value(entry)
            if mic is not None and mic >= CLEAR_MIC[agent][1]:
                out.add(agent)
    return out


def susceptible(case: dict[str, Any], agent: str) -> bool:
    entry = case["isolate"]["susceptibility"].get(agent)
    if entry is None:
        return False
    if entry.get("interpretation") is not None:
        return entry["interpretation"] == "S"
    s_max = CLEAR_MIC.get(agent, (None, 0))[0]
    mic = mic_value(entry)
    return s_max is not None and mic is not None and mic <= s_max


def increment_score(infection: dict[str, Any]) -> int | None:
    if "increment_cpe_score" in infection:
        return infection["increment_cpe_score"]
    parts = infection.get("increment_cpe")
    if parts is None:
        return None
    return (5 * parts["severe_sepsis_or_shock"] + 4 * (parts["pitt_score"] >= 6) + 3 * (parts["charlson_index"] >= 2)
            + 3 * (parts["source"] == "other") + 2 * parts["inappropriate_early_therapy"])


def is_severe(case: dict[str, Any]) -> bool:
    infection = case["infection"]
    score = increment_score(infection)
    return infection["severity"] in ("septic_shock", "severe") or (score is not None and score >= 8)


def cockcroft_gault(patient: dict[str, Any]) -> tuple[float, str] | None:
    """CrCl (mL/min) and weight basis per DOSING.md, or None when it cannot be estimated."""
    if "serum_creatinine_mg_dl" in patient:
        scr = patient["serum_creatinine_mg_dl"]
    elif "serum_creatinine_umol_l" in patient:
        scr = patient["serum_creatinine_umol_l"] / 88.4
    else:
        return None
    weight, basis = patient["weight_kg"], "actual"
    if "height_cm" in patient:
        base = 50.0 if patient["sex"] == "male" else 45.5
        ibw = base + 0.9055 * (patient["height_cm"] - 152.4)
        if weight > 1.2 * ibw:
            weight, basis = ibw + 0.4 * (weight - ibw), "adjusted"
        elif weight >= ibw:
            weight, basis = ibw, "ideal"
    crcl = (140 - patient["age_years"]) * weight / (72 * scr)
    return (crcl * 0.85 if patient["sex"] == "female" else crcl), basis


# (lower bound inclusive, dose_mg, interval_h), highest band first; DOSING.md "Newer beta-lactams".
BANDS: dict[str, list[tuple[float, float | None, float | None]]] = {
    CZA: [(50.0001, 2500, 8), (31, 1250, 8), (16, 940, 12), (6, 940, 24), (-1, 940, 48)],
    MEV: [(50, 4000, 8), (30, 2000, 8), (15, 2000, 12), (-1, 1000, 12)],
    IMR: [(90, 1250, 6), (60, 1000, 6), (30, 750, 6), (15, 500, 6), (-1, None, None)],
    FDC: [(120, 2000, 6), (60, 2000, 8), (30, 1500, 8), (15, 1000, 8), (-1, 750, 12)],
}
EDGES = {CZA: (5.5, 15.5, 30.5, 50.0), MEV: (15, 30, 50), IMR: (15, 30, 60, 90), FDC: (15, 30, 60, 120)}
HD_DOSES = {CZA: {(940, 24), (940, 48)}, MEV: {(1000, 12)}, IMR: {(500, 6)}, FDC: {(750, 12)}}
# On haemodialysis the CZA band depends on the residual clearance (label: q24h at 6-15, q48h at <= 5):
# without one, the first dose (0.94 g, the same in both bands) and both bands are given.
HD_BY_RESIDUAL = {CZA}
# With creatinine unstable, full doses for the first 48 h (Crass 2019): the normal-function band.
NORMAL_CRCL = 90
CRCL_CEILING = 250.0  # mL/min: issue 12, an estimate above it is capped with a warning (set here, not read from the code)


def band_dose(agent: str, crcl: float) -> tuple[float | None, float | None]:
    for lower, dose, interval in BANDS[agent]:
        if crcl >= lower:
            return dose, interval
    raise AssertionError("unreachable")


def _same(got: tuple[float | None, float | None], want: tuple[float | None, float | None]) -> bool:
    """Dose and interval agree (1 % for the rounding of 0.94 g = 937.5 mg)."""
    return all(g is not None and w is not None and math.isclose(g, w, rel_tol=0.01) for g, w in zip(got, want))


def crrt_cefiderocol(effluent: float) -> tuple[float, float]:
    if effluent <= 2:
        return 1500, 12
    if effluent <= 3:
        return 2000, 12
    if effluent <= 4:
        return 1500, 8
    return 2000, 8


# ---------------------------------------------------------------- the invariants
class Violation(AssertionError):
    pass


def _agents(option: dict[str, Any]) -> set[str]:
    return {item["agent"] for item in option["regimen"]}


def check_contract(case: dict[str, Any], rec: dict[str, Any]) -> None:
    options = rec["options"]
    if [o["rank"] for o in options] != list(range(1, len(options) + 1)):
        raise Violation(f"ranks {[o['rank'] for o in options]} do not run 1..n")
    for o in options:
        if not o["citations"]:
            raise Violation(f"option #{o['rank']} cites no source")
        for item in o["regimen"]:
            if not item["dose"] or not item["dose"].strip():
                raise Violation(f"{item['agent']} in option #{o['rank']} has no dose text")


def check_never_agents(case: dict[str, Any], rec: dict[str, Any]) -> None:
    for o in rec["options"]:
        barred = _agents(o) & NEVER
        if barred:
            raise Violation(f"option #{o['rank']} offers {sorted(barred)} (SPEC 6: never for CRE)")


def _declared_pair(case: dict[str, Any], rec: dict[str, Any], option: dict[str, Any], resistant_in: set[str]) -> str | None:
    """Why a resistant agent is acceptable in this option, or None."""
    agents = _agents(option)
    enzymes = case["isolate"].get("carbapenemase")
    mbl_case = rec["mechanism"]["group"] == "mbl" and (enzymes is None or bool(set(enzymes) & MBL_ENZYMES))
    if not mbl_case:
        return None
    if {CZA, ATM} <= agents and resistant_in <= {CZA, ATM}:
        if AZA in resistant_agents(case):
            return None  # the pair's own surrogate tested resistant
        if not any("avibactam" in c.lower() for c in option["cautions"]):
            raise Violation(f"option #{option['rank']} uses the CZA + aztreonam pair with {sorted(resistant_in)} resistant but its cautions do not explain the pair")
        return "cza-aztreonam"
    if ATM in agents and agents & {MEV, IMR} and resistant_in <= {ATM, MEV, IMR}:
        if "OXA-48-like" in (enzymes or []) or option["tier"] != "alternative":
            return None
        if AZA in resistant_agents(case):
            return None  # avibactam inhibits all that vaborbactam/relebactam do: these pairs fail too
        return "aztreonam-mev-imr"
    return None


def check_no_resistant_agent(case: dict[str, Any], rec: dict[str, Any]) -> None:
    resistant = resistant_agents(case)
    for o in rec["options"]:
        resistant_in = _agents(o) & resistant
        if resistant_in and _declared_pair(case, rec, o, resistant_in) is None:
            raise Violation(f"option #{o['rank']} {sorted(_agents(o))} contains {sorted(resistant_in)}, reported resistant (SPEC 6)")


def check_untested_agents(case: dict[str, Any], rec: dict[str, Any]) -> None:
    """SPEC 3: an agent without a result only where the mechanism predicts activity, with a caution."""
    tested = set(_polymyxin_view(case["isolate"]["susceptibility"]))
    for o in rec["options"]:
        agents = _agents(o)
        for agent in agents - tested - ANAEROBE_ONLY:
            pair_partner = agent == ATM and bool(agents & {CZA, MEV, IMR})
            if agent not in NEWER and not pair_partner:
                raise Violation(f"option #{o['rank']} offers {agent} without a susceptibility result (older agents need one)")
            if not pair_partner and not any(w in c.lower() for c in o["cautions"] for w in ("test", "result", "susceptib")):
                raise Violation(f"option #{o['rank']} offers untested {agent} without a caution to test it")


def check_severe_monotherapy(case: dict[str, Any], rec: dict[str, Any]) -> None:
    if not is_severe(case) or case["infection"]["site"] in URINARY:
        return
    for o in rec["options"]:
        counted = _agents(o) - ANAEROBE_ONLY
        if len(counted) == 1 and counted <= OLDER_MONO_BARRED:
            raise Violation(f"option #{o['rank']} is {sorted(counted)} alone for severe infection (SPEC 6)")


def check_no_added_combination(case: dict[str, Any], rec: dict[str, Any]) -> None:
    allowed_extra = set(ANAEROBE_ONLY) | ({ATM} if rec["mechanism"]["group"] == "mbl" else set())
    for o in rec["options"]:
        agents = _agents(o)
        for newer in agents & NEWER_TESTED:
            if susceptible(case, newer):
                extra = agents - {newer} - allowed_extra
                if extra:
                    raise Violation(f"option #{o['rank']} adds {sorted(extra)} to {newer}, which tests susceptible (SPEC 6)")


def _carbapenem_s_situation(case: dict[str, Any], rec: dict[str, Any], agent: str) -> bool:
    susc = case["isolate"]["susceptibility"]
    enzymes = case["isolate"].get("carbapenemase")
    mem = mic_value(susc.get(MEM, {}))
    if rec["mechanism"]["group"] != "non_carbapenemase_carbapenem_s" or enzymes not in (None, []):
        return False
    if mem is None or mem > 1 or susc[MEM].get("interpretation") == "R":
        return False
    ipm = mic_value(susc.get(IPM, {}))
    intrinsic = case["isolate"]["organism"].startswith(MORGANELLACEAE)
    return agent == MEM or ipm is None or ipm <= 1 or intrinsic


def check_carbapenem_monotherapy(case: dict[str, Any], rec: dict[str, Any]) -> None:
    for o in rec["options"]:
        counted = _agents(o) - ANAEROBE_ONLY
        if len(counted) != 1 or not counted <= {MEM, IPM}:
            continue
        (agent,) = counted
        susc = case["isolate"]["susceptibility"].get(MEM, {})
        mem = mic_value(susc)
        cystitis_ok = (case["infection"]["site"] == "cystitis" and agent == MEM and susc.get("interpretation") != "R"
                       and (susc.get("interpretation") == "S" or (mem is not None and mem <= 2)))
        if not cystitis_ok and not _carbapenem_s_situation(case, rec, agent):
            raise Violation(f"option #{o['rank']} is {agent} monotherapy outside the meropenem-susceptible situations (SPEC 3, 6)")


def check_tetracycline_sites(case: dict[str, Any], rec: dict[str, Any]) -> None:
    site = case["infection"]["site"]
    for o in rec["options"]:
        agents = _agents(o)
        tet = agents & {"tigecycline", "eravacycline"}
        if tet and (site == "bloodstream" or site in URINARY):
            raise Violation(f"option #{o['rank']} gives {sorted(tet)} for {site} (SPEC 5, 6)")
        if tet and site == "pneumonia" and not (agents - tet - ANAEROBE_ONLY):
            raise Violation(f"option #{o['rank']} is {sorted(tet)} alone for pneumonia (SPEC 5, 6)")


def check_unavailable(case: dict[str, Any], rec: dict[str, Any]) -> None:
    unavailable = set(case["context"]["unavailable_agents"])
    for o in rec["options"]:
        if _agents(o) & unavailable:
            raise Violation(f"option #{o['rank']} offers unavailable {sorted(_agents(o) & unavailable)} (SPEC 6)")


def check_allergy(case: dict[str, Any], rec: dict[str, Any]) -> None:
    barred: dict[str, str] = {}
    for allergy in case["patient"]["allergies"]:
        if allergy["reaction"] not in ("anaphylaxis", "severe_cutaneous"):
            continue
        allergen = allergy["agent"]
        for agent in CLASS_MEMBERS.get(allergen, {allergen}):
            barred[agent] = allergen
        if allergen in SIDE_CHAIN:
            for agent in SIDE_CHAIN:
                barred.setdefault(agent, f"{allergen} (shared side chain)")
    for o in rec["options"]:
        hit = _agents(o) & set(barred)
        if hit:
            raise Violation(f"option #{o['rank']} offers {sorted(hit)} despite a severe reaction to {[barred[a] for a in sorted(hit)]} (SPEC 6, 8)")


def check_pregnancy(case: dict[str, Any], rec: dict[str, Any]) -> None:
    if not case["patient"].get("pregnant"):
        return
    for o in rec["options"]:
        if _agents(o) & TETRACYCLINES:
            raise Violation(f"option #{o['rank']} offers {sorted(_agents(o) & TETRACYCLINES)} in pregnancy (SPEC 6)")


def check_avoid_not_offered(case: dict[str, Any], rec: dict[str, Any]) -> None:
    """Issue 13 item 5: the plan never tells the reader not to give an agent one of its options gives."""
    offered = {a for o in rec["options"] for a in _agents(o)}
    for entry in rec["avoid"]:
        both = offered & set(entry["agents"])
        if both:
            raise Violation(f"{sorted(both)} offered and listed under avoid ({entry['reason'][:60]!r})")


def check_one_aminoglycoside(case: dict[str, Any], rec: dict[str, Any]) -> None:
    """Issue 13 item 1: aminoglycoside labels warn against giving two together."""
    for o in rec["options"]:
        held = _agents(o) & CLASS_MEMBERS["aminoglycosides"]
        if len(held) > 1:
            raise Violation(f"option #{o['rank']} holds two aminoglycosides {sorted(held)}")


def check_pregnancy_aminoglycosides(case: dict[str, Any], rec: dict[str, Any]) -> None:
    """Issue 13 item 9: in pregnancy an aminoglycoside only when no option without one is offered."""
    if not case["patient"].get("pregnant"):
        return
    with_ag = [o for o in rec["options"] if _agents(o) & CLASS_MEMBERS["aminoglycosides"]]
    if with_ag and len(with_ag) < len(rec["options"]):
        raise Violation(f"pregnancy: option #{with_ag[0]['rank']} holds an aminoglycoside beside safer options")


def check_renal_doses(case: dict[str, Any], rec: dict[str, Any]) -> None:
    """Dose and interval of CZA, MEV, IMR and cefiderocol match the DOSING.md band for this patient."""
    patient = case["patient"]
    mode = patient.get("renal_replacement", "none")
    crcl: float | None = None
    exact = True
    if mode == "none":
        if "creatinine_clearance_ml_min" in patient:
            crcl = float(patient["creatinine_clearance_ml_min"])
        else:
            estimate = cockcroft_gault(patient)
            if estimate is not None:
                crcl, basis = estimate
                exact = False
                if crcl > CRCL_CEILING:  # issue 12: never used above the ceiling, and the plan says so
                    if not any(f"above the {CRCL_CEILING:g} mL/min ceiling" in w for w in rec["warnings"]):
                        raise Violation(f"Cockcroft-Gault CrCl {crcl:.0f} capped without a warning in the plan")
                    crcl = CRCL_CEILING
                got = rec["renal"]["crcl_ml_min"]
                if got is None or abs(got - crcl) > max(0.5, 0.005 * crcl):
                    raise Violation(f"Cockcroft-Gault CrCl {got}, expected {crcl:.1f} (weight basis {basis})")
                if rec["renal"]["weight_basis"] != basis:
                    raise Violation(f"weight basis {rec['renal']['weight_basis']!r}, expected {basis!r}")
    for o in rec["options"]:
        for item in o["regimen"]:
            agent = item["agent"]
            if agent not in BANDS:
                continue
            got = (item["dose_mg"], item["interval_h"])
            if mode == "intermittent_hemodialysis":
                if agent in HD_BY_RESIDUAL and item["interval_h"] is None:
                    if item["dose_mg"] != 940 or len(item.get("dose_options", ())) != 2:
                        raise Violation(f"{agent} on haemodialysis without residual CrCl: {item['dose']!r}")
                    continue
                if not any(_same(got, want) for want in HD_DOSES[agent]):
                    raise Violation(f"{agent} on haemodialysis {got}, expected one of {sorted(HD_DOSES[agent])}")
            elif mode == "crrt":
                if agent == FDC and "crrt_effluent_l_h" in patient:
                    want = crrt_cefiderocol(patient["crrt_effluent_l_h"])
                    if not _same(got, want):
                        raise Violation(f"cefiderocol on CRRT {patient['crrt_effluent_l_h']} L/h {got}, expected {want}")
                elif item["dose_mg"] is not None and item["interval_h"]:
                    top_dose, top_interval = BANDS[agent][0][1:]
                    if item["dose_mg"] * 24 / item["interval_h"] > top_dose * 24 / top_interval + 1e-6:
                        raise Violation(f"{agent} on CRRT {got} exceeds the normal-function daily dose")
            elif crcl is not None:
                if not exact and min(abs(crcl - e) for e in EDGES[agent]) < 1.0:
                    continue  # an estimate this close to a band edge is left to the vignettes
                want = band_dose(agent, crcl)
                if patient.get("creatinine_unstable") and want != (None, None):
                    want = band_dose(agent, max(crcl, NORMAL_CRCL))
                if want == (None, None):
                    raise Violation(f"{agent} offered at CrCl {crcl:.1f} without dialysis (label: not recommended below 15)")
                if not _same(got, want):
                    raise Violation(f"{agent} at CrCl {crcl:.1f}: {got}, expected {want} (DOSING.md)")


CHECKS = (
    check_contract, check_never_agents, check_no_resistant_agent, check_untested_agents,
    check_severe_monotherapy, check_no_added_combination, check_carbapenem_monotherapy,
    check_tetracycline_sites, check_unavailable, check_allergy, check_pregnancy, check_renal_doses,
    check_avoid_not_offered, check_one_aminoglycoside, check_pregnancy_aminoglycosides,
)


@pytest.fixture(scope="module")
def recommend():
    from cre_advisor import recommend as engine_recommend

    return engine_recommend


@settings(max_examples=2000, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture])
@given(case=any_cases())
def test_spec6_invariants_hold(recommend, case: dict[str, Any]) -> None:
    note(f"case: {json.dumps(case)}")
    if not_cre(case):  # outside the CRE definition: refused with a message, like any out-of-scope request
        with pytest.raises(ValueError, match="not carbapenem-resistant"):
            recommend(case)
        return
    rec = recommend(case).model_dump(mode="json", by_alias=True)  # any other valid case never raises
    for check in CHECKS:
        check(case, rec)


# ---------------------------------------------------------------- the checks can fail
def _rec(*options: list[tuple[str, float | None, float | None]], group: str = "kpc", tier: str = "preferred",
         avoid: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "mechanism": {"group": group},
        "avoid": [{"agents": list(avoid), "reason": "tests resistant", "citations": ["x"]}] if avoid else [],
        "renal": {"crcl_ml_min": None, "weight_basis": None},
        "options": [
            {"rank": n, "tier": tier, "citations": ["idsa-2024"], "cautions": [],
             "regimen": [{"agent": a, "dose": "x", "dose_mg": d, "interval_h": i} for a, d, i in regimen]}
            for n, regimen in enumerate(options, start=1)
        ],
    }


def _case(**changes: Any) -> dict[str, Any]:
    case = {"patient": {"age_years": 60, "sex": "male", "weight_kg": 80, "creatinine_clearance_ml_min": 20, "allergies": []},
            "infection": {"site": "bloodstream", "severity": "septic_shock"},
            "isolate": {"organism": "Klebsiella pneumoniae", "carbapenemase": ["KPC"],
                        "susceptibility": {CZA: {"interpretation": "S"}, "colistin": {"mic_mg_l": 8}}},
            "context": {"unavailable_agents": []}}
    for key, value in changes.items():
        part, field = key.split("__")
        case[part][field] = value
    return case


@pytest.mark.parametrize(("check", "case", "rec"), [
    (check_renal_doses, _case(), _rec([(CZA, 2500, 8)])),
    (check_no_resistant_agent, _case(), _rec([("colistin", 150, 12), ("amikacin", 1200, 24)])),
    (check_severe_monotherapy, _case(), _rec([("amikacin", 1200, 24)])),
    (check_no_added_combination, _case(), _rec([(CZA, 940, 12), ("amikacin", 1200, 24)])),
    (check_never_agents, _case(), _rec([("ceftriaxone", 2000, 24)])),
    (check_tetracycline_sites, _case(), _rec([("tigecycline", 100, 12), ("colistin", 150, 12)])),
    (check_unavailable, _case(context__unavailable_agents=[CZA]), _rec([(CZA, 940, 12)])),
    (check_allergy, _case(patient__allergies=[{"agent": ATM, "reaction": "anaphylaxis"}]), _rec([(CZA, 940, 12)])),
    (check_carbapenem_monotherapy, _case(), _rec([(MEM, 2000, 8)])),
    (check_untested_agents, _case(), _rec([("amikacin", 1200, 24), ("colistin", 150, 12)])),
    (check_avoid_not_offered, _case(), _rec([(CZA, 940, 12), (ATM, 2000, 8)], avoid=(CZA, ATM))),
    (check_one_aminoglycoside, _case(), _rec([("amikacin", 1200, 24), ("plazomicin", 1200, 24)])),
    (check_pregnancy_aminoglycosides, _case(patient__pregnant=True, patient__sex="female"),
     _rec([(CZA, 2500, 8)], [("amikacin", 1200, 24)])),
], ids=lambda v: getattr(v, "__name__", ""))
def test_checks_catch_a_violation(check, case, rec) -> None:
    with pytest.raises(Violation):
        check(case, rec)


def test_not_cre_by_hand() -> None:
    """The species exception reads the case alone: Proteus with meropenem S and no carbapenemase is not CRE."""
    proteus = {MEM: {"interpretation": "S"}, IPM: {"mic_mg_l": 4}}
    assert not_cre(_case(isolate__organism="Proteus mirabilis", isolate__carbapenemase=None, isolate__susceptibility=proteus))
    assert not not_cre(_case(isolate__organism="Proteus mirabilis", isolate__susceptibility=proteus))  # KPC reported
    assert not not_cre(_case(isolate__organism="Klebsiella pneumoniae", isolate__carbapenemase=None,
                             isolate__susceptibility=proteus))


def test_cockcroft_gault_by_hand() -> None:
    """70 y male, 70 kg, 170 cm, SCr 2.5: IBW 65.9 kg (within 120 %), CrCl = 70 x 65.94 / 180 = 25.6."""
    crcl, basis = cockcroft_gault({"age_years": 70, "sex": "male", "weight_kg": 70, "height_cm": 170, "serum_creatinine_mg_dl": 2.5})
    assert basis == "ideal" and abs(crcl - 25.64) < 0.05
    assert band_dose(CZA, 25.64) == (940, 12) and band_dose(CZA, 50) == (1250, 8) and band_dose(CZA, 51) == (2500, 8)
