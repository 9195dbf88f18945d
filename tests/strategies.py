"""Hypothesis strategies for valid cases in the contract's JSON shape (DESIGN.md, Case).

Every case drawn here must be accepted by the engine: the invariant tests treat any exception
as a failure. Cases are dicts, not model instances, so the strategies exercise the same input
path as the doors (normalisation and validation included).

MICs given without an interpretation are drawn only where both EUCAST and CLSI agree on the
category (`CLEAR_MIC`), so that the tests can tell resistance without a breakpoint table.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

CZA, MEV, IMR, FDC = "ceftazidime-avibactam", "meropenem-vaborbactam", "imipenem-cilastatin-relebactam", "cefiderocol"
ATM, AZA, MEM, IPM, ETP = "aztreonam", "aztreonam-avibactam", "meropenem", "imipenem-cilastatin", "ertapenem"

AGENTS = (
    CZA, MEV, IMR, FDC, AZA, ATM, MEM, IPM, ETP, "colistin", "polymyxin-b", "amikacin", "gentamicin",
    "tobramycin", "plazomicin", "tigecycline", "eravacycline", "minocycline", "fosfomycin", "ciprofloxacin",
    "levofloxacin", "trimethoprim-sulfamethoxazole", "nitrofurantoin", "metronidazole", "ceftazidime",
    "cefepime", "ceftriaxone", "piperacillin-tazobactam", "ceftolozane-tazobactam",
)

# Metronidazole is there for anaerobes; laboratories do not report it for Enterobacterales.
TESTED_AGENTS = tuple(a for a in AGENTS if a != "metronidazole")

ORGANISMS = (
    "Klebsiella pneumoniae", "Escherichia coli", "Enterobacter cloacae complex", "Klebsiella oxytoca",
    "Klebsiella aerogenes", "Citrobacter freundii", "Serratia marcescens", "Proteus mirabilis",
    "Morganella morganii", "Providencia stuartii",
)

ENZYME_SETS: tuple[list[str] | None, ...] = (
    None, [], ["KPC"], ["OXA-48-like"], ["NDM"], ["VIM"], ["IMP"], ["GES"], ["KPC", "OXA-48-like"],
    ["KPC", "NDM"], ["NDM", "OXA-48-like"], ["KPC", "VIM"],
)

SITES = ("bloodstream", "intra_abdominal", "urinary_complicated", "cystitis", "pneumonia",
         "skin_soft_tissue", "bone_joint", "cns", "other")
SEVERITIES = ("septic_shock", "severe", "non_severe")
ALLERGY_CLASSES = ("beta-lactams", "penicillins", "cephalosporins", "carbapenems", "monobactams", "aminoglycosides",
                   "polymyxins", "tetracyclines", "fluoroquinolones", "sulfonamides")

# (highest MIC that is S in both EUCAST and CLSI, lowest MIC that is R in both), mg/L.
CLEAR_MIC: dict[str, tuple[float | None, float]] = {
    CZA: (2, 16), MEV: (2, 16), IMR: (0.5, 4), FDC: (1, 16), AZA: (1, 32), ATM: (1, 16),
    MEM: (1, 16), IPM: (1, 8), ETP: (0.25, 2), "colistin": (None, 4), "amikacin": (4, 16),
    "gentamicin": (1, 8), "tobramycin": (1, 8), "ciprofloxacin": (0.06, 4), "levofloxacin": (0.25, 4),
    "trimethoprim-sulfamethoxazole": (1, 8),
}
DILUTIONS = (0.06, 0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0)
MEASURED_CRCL = st.one_of(
    st.integers(0, 200),
    st.sampled_from([5, 6, 14, 15, 16, 29, 30, 31, 49, 50, 51, 59, 60, 89, 90, 119, 120, 129, 130]),
)


def mic_text(value: float, comparator: str) -> float | str:
    return value if comparator == "" else f"{comparator}{value:g}"


@st.composite
def result_for(draw: st.DrawFn, agent: str, category: str | None = None) -> dict[str, Any]:
    """One susceptibility entry: interpretation, interpretation + consistent MIC, or clear bare MIC."""
    category = category or draw(st.sampled_from("SIR"))
    s_max, r_min = CLEAR_MIC.get(agent, (None, None))
    form = draw(st.sampled_from(("interp", "both", "mic")))
    if agent == MEM and form != "interp":
        # meropenem MICs across the whole range: the MIC <= 1 and <= 8 rules turn on them
        mic = draw(st.sampled_from({"S": (0.125, 0.25, 0.5, 1.0, 2.0), "I": (4.0, 8.0), "R": (16.0, 32.0, 64.0)}[category]))
        if form == "both" or category == "I":
            return {"mic_mg_l": mic, "interpretation": category}
        return {"mic_mg_l": mic}
    if form == "interp" or r_min is None or category == "I" or (category == "S" and s_max is None):
        return {"interpretation": category}
    values = [d for d in DILUTIONS if (d <= s_max if category == "S" else d >= r_min)]
    mic = draw(st.sampled_from(values))
    comparator = draw(st.sampled_from(("", "", "", "<=" if category == "S" else ">")))
    entry: dict[str, Any] = {"mic_mg_l": mic_text(mic, comparator)}
    if form == "both":
        entry["interpretation"] = category
    return entry


def _pattern(draw: st.DrawFn, categories: dict[str, str]) -> dict[str, dict[str, Any]]:
    return {agent: draw(result_for(agent, cat)) for agent, cat in categories.items()}


PATTERNS: dict[str, dict[str, str]] = {
    "kpc": {MEM: "R", ETP: "R", CZA: "S", MEV: "S", IMR: "S", FDC: "S", ATM: "R"},
    "oxa48": {MEM: "I", ETP: "R", CZA: "S", MEV: "R", IMR: "R", FDC: "S"},
    "mbl": {MEM: "R", ETP: "R", CZA: "R", MEV: "R", IMR: "R", FDC: "S", ATM: "R"},
    "no_newer": {MEM: "R", ETP: "R", CZA: "R", MEV: "R", IMR: "R", FDC: "R", AZA: "R", ATM: "R"},
    "carbapenem_s": {ETP: "R", MEM: "S", IPM: "S"},
    "empty": {},
}


OLDER_AGENTS = ("colistin", "polymyxin-b", "amikacin", "gentamicin", "tobramycin", "plazomicin", "tigecycline",
                "eravacycline", "minocycline", "fosfomycin", "ciprofloxacin", "levofloxacin",
                "trimethoprim-sulfamethoxazole", "nitrofurantoin", MEM)


@st.composite
def susceptibility(draw: st.DrawFn) -> dict[str, dict[str, Any]]:
    """A typical pattern for one mechanism (or none), then random results laid over it.

    The no-newer-agent pattern is drawn more often and comes with older agents, mostly
    susceptible, so that Step 3 (combinations, last resort) is exercised.
    """
    name = draw(st.sampled_from(sorted(PATTERNS) + ["no_newer", "no_newer"]))
    base = _pattern(draw, PATTERNS[name])
    if name == "no_newer":
        older = draw(st.lists(st.sampled_from(OLDER_AGENTS), min_size=1, max_size=5, unique=True))
        for agent in older:
            base[agent] = draw(result_for(agent, draw(st.sampled_from("SSSIR"))))
    extra = draw(st.dictionaries(st.sampled_from(TESTED_AGENTS), st.just(None), max_size=10))
    for agent in extra:
        base[agent] = draw(result_for(agent))
    if MEM in base and draw(st.booleans()):
        # a precise meropenem MIC next to the category
        base[MEM] = draw(result_for(MEM))
    return base


@st.composite
def isolates(draw: st.DrawFn) -> dict[str, Any]:
    isolate: dict[str, Any] = {"organism": draw(st.sampled_from(ORGANISMS))}
    enzymes = draw(st.sampled_from(ENZYME_SETS + ("absent",)))
    if enzymes != "absent":
        isolate["carbapenemase"] = enzymes
    isolate["susceptibility"] = draw(susceptibility())
    table = draw(st.sampled_from((None, "EUCAST-2026", "CLSI-2025")))
    if table:
        isolate["breakpoints"] = table
    return isolate


@st.composite
def patients(draw: st.DrawFn) -> dict[str, Any]:
    sex = draw(st.sampled_from(("male", "female")))
    age = draw(st.integers(18, 95))
    patient: dict[str, Any] = {
        "age_years": age,
        "sex": sex,
        "weight_kg": draw(st.integers(40, 180)) + draw(st.sampled_from((0, 0.5))),
    }
    if draw(st.integers(0, 3)):
        patient["height_cm"] = draw(st.integers(150, 200))
    renal = draw(st.sampled_from(("measured", "measured", "mg_dl", "mg_dl", "umol_l", "both", "hd", "crrt", "none")))
    if renal in ("measured", "both"):
        patient["creatinine_clearance_ml_min"] = draw(MEASURED_CRCL)
    if renal in ("mg_dl", "both") or (renal == "hd" and draw(st.booleans())):
        patient["serum_creatinine_mg_dl"] = draw(st.integers(4, 80)) / 10
    if renal == "umol_l":
        patient["serum_creatinine_umol_l"] = draw(st.integers(35, 700))
    if renal == "hd":
        patient["renal_replacement"] = "intermittent_hemodialysis"
    if renal == "crrt":
        patient["renal_replacement"] = "crrt"
        effluent = draw(st.sampled_from((None, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0)))
        if effluent is not None:
            patient["crrt_effluent_l_h"] = effluent
    if draw(st.integers(0, 9)) == 0:
        patient["creatinine_unstable"] = True
    if sex == "female" and age <= 50 and draw(st.integers(0, 3)) == 0:
        patient["pregnant"] = True
    if draw(st.integers(0, 4)) == 0:
        patient["child_pugh_class"] = draw(st.sampled_from(("A", "B", "C")))
    allergen = st.sampled_from(AGENTS + ALLERGY_CLASSES)
    reaction = st.sampled_from(("anaphylaxis", "severe_cutaneous", "mild", "intolerance"))
    patient["allergies"] = draw(st.lists(st.fixed_dictionaries({"agent": allergen, "reaction": reaction}), max_size=2))
    if draw(st.integers(0, 5)) == 0:
        patient["recent_ceftazidime_avibactam"] = True
    return patient


@st.composite
def infections(draw: st.DrawFn) -> dict[str, Any]:
    site = draw(st.sampled_from(SITES))
    infection: dict[str, Any] = {"site": site, "severity": draw(st.sampled_from(SEVERITIES))}
    if site == "pneumonia" and draw(st.booleans()):
        infection["ventilator_associated"] = True
    control = draw(st.sampled_from((None, "achieved", "pending", "not_needed", "not_possible")))
    if control:
        infection["source_control"] = control
    score = draw(st.sampled_from(("none", "number", "parts")))
    if score == "number":
        infection["increment_cpe_score"] = draw(st.integers(0, 17))
    elif score == "parts":
        infection["increment_cpe"] = {
            "severe_sepsis_or_shock": draw(st.booleans()),
            "pitt_score": draw(st.integers(0, 14)),
            "charlson_index": draw(st.integers(0, 12)),
            "source": draw(st.sampled_from(("urinary", "biliary", "other"))),
            "inappropriate_early_therapy": draw(st.booleans()),
        }
    return infection


@st.composite
def contexts(draw: st.DrawFn) -> dict[str, Any]:
    context: dict[str, Any] = {"unavailable_agents": draw(st.lists(st.sampled_from(AGENTS), max_size=4, unique=True))}
    profile = draw(st.sampled_from((None, "idsa-2024", "escmid-2022")))
    if profile:
        context["guideline_profile"] = profile
    return context


@st.composite
def any_cases(draw: st.DrawFn) -> dict[str, Any]:
    """A valid Case in its JSON shape, including isolates outside the CRE definition (see `not_cre`)."""
    return {"patient": draw(patients()), "infection": draw(infections()), "isolate": draw(isolates()),
            "context": draw(contexts())}


def cases() -> st.SearchStrategy[dict[str, Any]]:
    """A valid CRE case: one the engine answers (an isolate outside the CRE definition is refused)."""
    return any_cases().filter(lambda case: not not_cre(case))


RRT_MODES = ("intermittent_hemodialysis", "crrt")
EFFLUENT_RATES = (None, 1.0, 1.5, 2.0, 2.1, 2.5, 3.0, 3.1, 3.5, 4.0, 4.1, 5.0)


@st.composite
def icu_cases(draw: st.DrawFn) -> dict[str, Any]:
    """A valid case of a critically ill patient: severe infection or septic shock, renal replacement
    therapy in half of them (with and without an effluent rate or residual clearance), height often missing."""
    case = draw(cases())
    case["infection"]["severity"] = draw(st.sampled_from(("septic_shock", "severe")))
    patient = case["patient"]
    if draw(st.booleans()):
        patient.pop("height_cm", None)
    if draw(st.booleans()):
        for key in ("renal_replacement", "crrt_effluent_l_h", "creatinine_clearance_ml_min"):
            patient.pop(key, None)
        mode = draw(st.sampled_from(RRT_MODES))
        patient["renal_replacement"] = mode
        effluent = draw(st.sampled_from(EFFLUENT_RATES))
        if mode == "crrt" and effluent is not None:
            patient["crrt_effluent_l_h"] = effluent
        if mode == "intermittent_hemodialysis" and draw(st.booleans()):
            patient["creatinine_clearance_ml_min"] = draw(st.integers(0, 20))  # residual clearance
    return case


# ---------------------------------------------------------------- reading a case by hand (shared with bench/)
MORGANELLACEAE = ("Proteus", "Morganella", "Providencia")


def mic_value(entry: dict[str, Any]) -> float | None:
    mic = entry.get("mic_mg_l")
    if mic is None:
        return None
    if isinstance(mic, str):
        return float(mic.lstrip("<>=≤≥"))
    return float(mic)


def _reads_susceptible(isolate: dict[str, Any], agent: str) -> bool:
    entry = isolate["susceptibility"][agent]
    if entry.get("interpretation") is not None:
        return entry["interpretation"] == "S"
    mic, s_max = mic_value(entry), CLEAR_MIC[agent][0]
    return isolate.get("breakpoints") != "CLSI-2025" and mic is not None and s_max is not None and mic <= s_max


def not_cre(case: dict[str, Any]) -> bool:
    """IDSA 2024 CRE definition: a Proteus, Morganella or Providencia isolate needs resistance to a carbapenem
    other than imipenem (or a carbapenemase); with meropenem / ertapenem tested and all susceptible it is not CRE,
    and the engine refuses it."""
    isolate = case["isolate"]
    if not isolate["organism"].startswith(MORGANELLACEAE) or isolate.get("carbapenemase"):
        return False
    others = [a for a in (MEM, ETP) if a in isolate["susceptibility"]]
    return bool(others) and all(_reads_susceptible(isolate, a) for a in others)
