"""Paired verdict tests: an episode that earns each verdict and a near miss that must not.

The expected verdicts follow the precedence in cre_advisor.audit.verdict and the guideline facts in audit_helpers; none is
read back from the code under test.
"""

from __future__ import annotations

from typing import Any

import pytest

from audit_helpers import KPC_BSI, NDM_BSI, changed, rx
from cre_advisor.audit.episodes import Prescription
from cre_advisor.audit.verdict import VERDICTS, Judgement, judge, reason_key
from cre_advisor.cds.orders import DOSE_TOLERANCE as CDS_DOSE_TOLERANCE
from cre_advisor.audit.verdict import DOSE_TOLERANCE
from cre_advisor.knowledge.loader import default_knowledge

NDM_NO_CZA_RESULT = changed(NDM_BSI, "isolate.susceptibility.ceftazidime-avibactam", None)
KPC_NO_CZA_RESULT = changed(KPC_BSI, "isolate.susceptibility.ceftazidime-avibactam", None)


def audit(case: dict[str, Any], *prescribed: dict[str, Any]) -> Judgement:
    return judge(case, [Prescription(**p) for p in prescribed], default_knowledge())


PAIRS = [
    # (verdict, episode that earns it, near miss, the near miss's verdict)
    ("not_assessable",
     (changed(KPC_BSI, "patient.age_years", 17), rx("meropenem-vaborbactam", 4000, 8)),
     (changed(KPC_BSI, "patient.age_years", 18), rx("meropenem-vaborbactam", 4000, 8)), "concordant"),
    ("never_for_cre",
     (KPC_BSI, rx("ertapenem", 1000, 24)),
     (KPC_BSI, rx("meropenem", 2000, 8)), "resistant_agent"),
    ("resistant_agent",
     (KPC_BSI, rx("amikacin")),
     (KPC_BSI, rx("tigecycline", 100, 12)), "other_discordant"),
    ("no_active_agent",
     (NDM_NO_CZA_RESULT, rx("ceftazidime-avibactam", 2500, 8)),
     (KPC_NO_CZA_RESULT, rx("ceftazidime-avibactam", 2500, 8)), "concordant"),
    ("unneeded_combination",
     (KPC_BSI, rx("ceftazidime-avibactam", 2500, 8), rx("tigecycline", 100, 12)),
     (KPC_NO_CZA_RESULT, rx("ceftazidime-avibactam", 2500, 8), rx("tigecycline", 100, 12)), "other_discordant"),
    ("dose_high",
     (KPC_BSI, rx("meropenem-vaborbactam", 6000, 8)),
     (KPC_BSI, rx("meropenem-vaborbactam", 4300, 8)), "concordant"),
    ("dose_low",
     (KPC_BSI, rx("meropenem-vaborbactam", 2000, 8)),
     (KPC_BSI, rx("meropenem-vaborbactam", 3700, 8)), "concordant"),
    ("concordant",
     (KPC_BSI, rx("MEV", 4000, 8)),
     (KPC_BSI, rx("cefiderocol", 2000, 8)), "concordant_alternative"),
    ("concordant_alternative",
     (KPC_BSI, rx("Fetroja", 2000, 8)),
     (KPC_BSI, rx("cefiderocol", 2000, 8), rx("metronidazole", 500, 8)), "other_discordant"),
    ("other_discordant",
     (KPC_BSI, rx("tigecycline", 100, 12)),
     (KPC_BSI, rx("meropenem-vaborbactam", 4000, 8)), "concordant"),
]


def test_every_verdict_has_a_pair() -> None:
    assert sorted(verdict for verdict, *_ in PAIRS) == sorted(VERDICTS)


@pytest.mark.parametrize(("verdict", "earns", "near", "near_verdict"), PAIRS, ids=[p[0] for p in PAIRS])
def test_verdict_and_near_miss(verdict: str, earns: tuple, near: tuple, near_verdict: str) -> None:
    found = audit(*earns)
    assert found.verdict == verdict, found.reasons
    if verdict not in ("concordant", "concordant_alternative"):  # the deciding finding is among the reasons
        kind = "not_offered" if verdict == "other_discordant" else verdict
        assert any(reason_key(r).startswith(f"{kind}:") for r in found.reasons), found.reasons
    missed = audit(*near)
    assert missed.verdict == near_verdict, missed.reasons
    assert missed.verdict != verdict


def test_never_list_outranks_resistance_and_all_findings_are_kept() -> None:
    found = audit(KPC_BSI, rx("ertapenem", 1000, 24))
    assert found.verdict == "never_for_cre"
    kinds = {reason_key(r) for r in found.reasons}
    assert {"never_for_cre: ertapenem", "resistant_agent: ertapenem", "no_active_agent: ertapenem"} <= kinds


def test_aztreonam_pair_for_mbl_is_judged_as_a_pair() -> None:
    """Each of the pair tests resistant alone; together they are a preferred IDSA option for NDM."""
    pair = (rx("ceftazidime-avibactam", 2500, 8), rx("aztreonam", 2000, 8))
    assert audit(NDM_BSI, *pair).verdict == "concordant"
    surrogate_r = changed(NDM_BSI, "isolate.susceptibility.aztreonam-avibactam", {"interpretation": "R"})
    found = audit(surrogate_r, *pair)
    assert found.verdict == "resistant_agent"
    assert any("aztreonam-avibactam" in r for r in found.reasons)


def test_aztreonam_outside_mbl_is_judged_alone() -> None:
    kpc = changed(KPC_BSI, "isolate.susceptibility.aztreonam", {"interpretation": "R"})
    found = audit(kpc, rx("ceftazidime-avibactam", 2500, 8), rx("aztreonam", 2000, 8))
    assert found.verdict == "resistant_agent"
    assert "resistant_agent: aztreonam" in {reason_key(r) for r in found.reasons}


def test_dose_unknown_is_not_judged_and_says_so() -> None:
    found = audit(KPC_BSI, rx("meropenem-vaborbactam"))
    assert found.verdict == "concordant"
    assert any(r.startswith("dose_not_judged: meropenem-vaborbactam") for r in found.reasons)


def test_renal_function_unknown_is_not_judged_and_says_so() -> None:
    no_renal = changed(KPC_BSI, "patient.creatinine_clearance_ml_min", None)
    found = audit(no_renal, rx("meropenem-vaborbactam", 20_000, 8))
    assert found.verdict == "concordant"
    assert any("renal function unknown" in r for r in found.reasons)


def test_renal_dose_judged_for_this_kidney() -> None:
    """CrCl 40: the Vabomere label gives 2 g q8h (eGFR 30-49); 4 g q8h is then too high."""
    reduced = changed(KPC_BSI, "patient.creatinine_clearance_ml_min", 40)
    assert audit(reduced, rx("meropenem-vaborbactam", 4000, 8)).verdict == "dose_high"
    assert audit(reduced, rx("meropenem-vaborbactam", 2000, 8)).verdict == "concordant"


@pytest.mark.parametrize(("prescribed", "why"), [
    ((), "no prescription"),
    ((rx("unobtainium", 1, 1),), "unknown prescribed agent"),
])
def test_not_assessable_reasons(prescribed: tuple, why: str) -> None:
    found = audit(KPC_BSI, *prescribed)
    assert found.verdict == "not_assessable"
    assert found.reasons == (f"not_assessable: {why}",) or why in found.reasons[0]


def test_out_of_scope_organism_is_not_assessable() -> None:
    found = audit(changed(KPC_BSI, "isolate.organism", "Pseudomonas aeruginosa"), rx("meropenem-vaborbactam", 4000, 8))
    assert found.verdict == "not_assessable"
    assert "Enterobacterales" in found.reasons[0]


def test_agent_names_are_normalised() -> None:
    assert audit(KPC_BSI, rx("Vabomere", 4000, 8)).verdict == audit(KPC_BSI, rx("MEV", 4000, 8)).verdict == "concordant"


def test_discordant_says_why_not_offered() -> None:
    found = audit(KPC_BSI, rx("tigecycline", 100, 12))
    keys = {reason_key(r) for r in found.reasons}
    assert "not_offered: tigecycline" in keys
    assert "avoid: tigecycline" in keys


def test_dose_tolerance_is_the_cds_doors() -> None:
    assert DOSE_TOLERANCE == CDS_DOSE_TOLERANCE == 0.10


def test_an_engine_failure_is_that_episodes_not_assessable(monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from cre_advisor.audit import table

    def broken(*args: object, **kwargs: object) -> Judgement:
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(table, "judge", broken)
    line = json.dumps({"episode_id": "X1", "ward": "W", "date": "2026-01-01", "case": KPC_BSI,
                       "prescribed": [rx("MEV", 4000, 8)]})
    rows, bad = table.audit_lines([(1, line)])
    assert bad == []
    assert rows.column("verdict").to_pylist() == ["not_assessable"]
    assert rows.column("reasons").to_pylist() == [["not_assessable: engine error (ZeroDivisionError: boom)"]]


def test_discordant_names_the_engines_reason_for_dropping_the_regimen() -> None:
    unavailable = changed(KPC_BSI, "context.unavailable_agents", ["meropenem-vaborbactam"])
    found = audit(unavailable, rx("meropenem-vaborbactam", 4000, 8))
    assert found.verdict == "other_discordant"
    assert any(r.startswith("not_offered: meropenem-vaborbactam (not available at this hospital now;") for r in found.reasons)
