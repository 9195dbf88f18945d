"""What a follow-up answer holds: the items' own words, sources, review status, the audience's
wording, and, with a case, this patient's dose and plan.

Expected doses come from the label bands in DOSING.md / SPEC section 12 worked by hand for the
example patient (67-year-old woman, 72 kg, 165 cm, creatinine 1.4 mg/dL: IBW 56.9 kg, adjusted
weight 62.9 kg, Cockcroft-Gault CrCl 38.7 mL/min).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from cre_advisor.ask import answer
from cre_advisor.ask.compose import FOR_CARE_TEAM
from cre_advisor.ask.passages import NO_DOSES_FOR_PATIENTS
from cre_advisor.ask.index import index_for
from cre_advisor.knowledge.loader import default_knowledge

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "kpc-bacteremia.json"
KN = default_knowledge()


@pytest.fixture
def kpc_case() -> dict[str, Any]:
    return json.loads(EXAMPLE.read_text())


@pytest.fixture
def oxa48_case(kpc_case: dict[str, Any]) -> dict[str, Any]:
    case = copy.deepcopy(kpc_case)
    case["isolate"]["carbapenemase"] = ["OXA-48-like"]
    case["isolate"]["susceptibility"] = {
        "ceftazidime-avibactam": {"interpretation": "S"},
        "meropenem-vaborbactam": {"interpretation": "S"},  # reported S, still not to be used (Q3.6)
        "meropenem": {"mic_mg_l": 16},
    }
    return case


# ---- the items' own words, sources and review status --------------------------------------------


def test_statement_is_quoted_in_its_own_words_with_its_citations() -> None:
    result = answer("Do I need repeat blood cultures?")
    item = next(i for i in result.items if i.id == "site-bloodstream-cultures")
    statement = KN.statements["site-bloodstream-cultures"]
    assert [line.text for line in item.lines] == [statement.text["clinician"]]
    assert item.lines[0].citations == list(statement.citations)
    assert item.review_status == "submitted"  # shipped content is pending the board's review


def test_nurse_reads_the_nurse_wording() -> None:
    result = answer("Do I need repeat blood cultures?", audience="nurse")
    item = next(i for i in result.items if i.id == "site-bloodstream-cultures")
    assert item.lines[0].text == KN.statements["site-bloodstream-cultures"].text["nurse"]


def test_avoid_rule_and_regimen_rows_quote_reason_and_rationale() -> None:
    result = answer("Why not meropenem-vaborbactam for OXA-48?")
    top = result.items[0]
    assert top.id == "avoid-oxa48-vaborbactam-relebactam"
    rule = next(r for r in KN.avoid_rules if r.id == top.id)
    assert top.lines[0].text == rule.reason.strip()
    assert top.lines[0].citations == ["idsa-2024:Q3.6"]


@pytest.mark.parametrize("question", [
    "Can I use tigecycline for her VAP?", "What dose of CZA on CRRT?", "How long should I treat CRE bacteraemia?",
    "Is once-daily plazomicin an option for pyelo?", "colistin plus amikacin together: kidney toxicity?",
])
def test_every_answer_line_is_an_items_own_text_and_every_item_is_cited(question: str) -> None:
    """No generated medical text: statement, regimen and avoid lines are the knowledge base's strings."""
    own = {s.id: set(s.text.values()) for s in KN.statements.values()}
    own |= {r.id: {r.rationale.strip()} for r in KN.regimens}
    own |= {r.id: {r.reason.strip()} for r in KN.avoid_rules}
    result = answer(question)
    assert result.covered and len(result.items) == 3
    for item in result.items:
        assert any(line.citations for line in item.lines), item.id
        if item.id in own:
            assert item.lines[0].text in own[item.id]


def test_review_states_from_the_board_are_shown_and_strict_mode_leaves_unapproved_out() -> None:
    approved = {"site-bloodstream-cultures": "approved"}
    result = answer("Do I need repeat blood cultures?", review_states=approved)
    statuses = {i.id: i.review_status for i in result.items}
    assert statuses["site-bloodstream-cultures"] == "approved"
    assert result.review.status == "pending_review"  # other shown items are still only submitted

    strict = answer("Do I need repeat blood cultures?", review_states=approved, strict=True)
    assert [i.id for i in strict.items if i.review_status is not None] == ["site-bloodstream-cultures"]
    assert strict.left_out_unapproved and "site-bloodstream-cultures" not in strict.left_out_unapproved
    assert strict.review.status == "approved"


# ---- audiences -------------------------------------------------------------------------------------


def test_patient_view_shows_no_doses_and_only_patient_wording() -> None:
    result = answer("What dose of CZA on CRRT?", audience="patient")
    texts = [line.text for item in result.items for line in item.lines]
    assert NO_DOSES_FOR_PATIENTS in texts
    assert not any(" mg" in text or "q8h" in text for text in texts)
    for item in result.items:
        statement = KN.statements.get(item.id)
        if statement is not None and "patient" not in statement.text:
            assert item.lines[0].text == FOR_CARE_TEAM
    assert result.disclaimer == KN.statements["disclaimer"].text["patient"]


def test_patient_view_of_a_case_dose_question_has_no_dose(kpc_case: dict[str, Any]) -> None:
    result = answer("How much ceftazidime-avibactam will she get?", case=kpc_case, audience="patient")
    assert [line.text for line in result.for_this_patient][0] == NO_DOSES_FOR_PATIENTS
    assert not any("1.25 g" in line.text for line in result.for_this_patient)


# ---- with a case ------------------------------------------------------------------------------------


def test_dose_question_answers_with_this_patients_band(kpc_case: dict[str, Any]) -> None:
    result = answer("What dose of CZA?", case=kpc_case)
    lines = [line.text for line in result.for_this_patient]
    assert any("CrCl 38.7" in text for text in lines)
    cza = next(text for text in lines if text.startswith("Ceftazidime-avibactam"))
    assert "1.25 g" in cza and "q8h" in cza  # label band CrCl 31-50 mL/min
    assert "31-50" in cza


def test_dose_question_about_a_renal_replacement_mode_the_patient_is_not_on(kpc_case: dict[str, Any]) -> None:
    hd = [line.text for line in answer("MEV dose if she goes on haemodialysis?", case=kpc_case).for_this_patient]
    assert any("not on intermittent haemodialysis" in text for text in hd)
    on_hd = next(text for text in hd if text.startswith("Meropenem-vaborbactam IV on intermittent haemodialysis"))
    assert "1 g" in on_hd and "q12h" in on_hd  # label: 1 g q12h after the session
    crrt = [line.text for line in answer("What dose of CZA on CRRT?", case=kpc_case).for_this_patient]
    on_crrt = next(text for text in crrt if text.startswith("Ceftazidime-avibactam IV on CRRT"))
    assert "pharmacist to individualise" in on_crrt  # no label CRRT dose (DOSING.md)


def test_dose_of_an_agent_outside_the_plan_uses_the_case_and_says_it_is_avoided(kpc_case: dict[str, Any]) -> None:
    result = answer("tigecycline dose for her?", case=kpc_case)
    lines = [line.text for line in result.for_this_patient]
    dose = next(text for text in lines if text.startswith("Tigecycline IV for this patient"))
    assert "200 mg" in dose and "100 mg" in dose and "q12h" in dose  # high dose: 200 mg once, then 100 mg q12h
    assert any("Tigecycline is to be avoided" in text for text in lines)  # bloodstream infection


def test_dose_of_an_agent_without_a_dose_table(kpc_case: dict[str, Any]) -> None:
    result = answer("ertapenem dose for her?", case=kpc_case)
    lines = [line.text for line in result.for_this_patient]
    assert any("no dose table" in text and "pharmacist to individualise" in text for text in lines)
    assert any("Ertapenem is to be avoided" in text for text in lines)


def test_mechanism_question_uses_the_cases_avoid_list(oxa48_case: dict[str, Any]) -> None:
    result = answer("Why not Vabomere?", case=oxa48_case)
    line = next(line for line in result.for_this_patient if "Meropenem-vaborbactam" in line.text)
    assert "to be avoided" in line.text and "OXA-48-like" in line.text
    assert "idsa-2024:Q3.6" in line.citations


def test_choice_question_lists_this_patients_options(kpc_case: dict[str, Any]) -> None:
    result = answer("What should we use for her bloodstream infection?", case=kpc_case)
    lines = [line.text for line in result.for_this_patient]
    assert lines[0].startswith("Resistance mechanism for this case")
    assert lines[1].startswith("Option 1 (Preferred): Meropenem-vaborbactam")  # IDSA 2024 leans to MEV for KPC


# ---- reading the question -----------------------------------------------------------------------------


def test_typos_and_abbreviations_are_reported() -> None:
    result = answer("tigecyclin dose with CZA")
    assert "tigecyclin -> tigecycline" in result.corrections
    assert "CZA = Ceftazidime-avibactam" in result.understood


def test_words_the_knowledge_base_lacks_are_named() -> None:
    result = answer("Is ceftazidime-avibactam expensive?")
    assert result.covered
    assert result.not_in_knowledge_base == ["expensive"]


def test_not_covered_gives_reason_and_nearest_topics() -> None:
    result = answer("Best treatment for Pseudomonas aeruginosa pneumonia?")
    assert not result.covered
    assert "Pseudomonas aeruginosa" in (result.not_covered_reason or "")
    assert result.nearest_topics
    nothing = answer("What is the weather tomorrow?")
    assert not nothing.covered and nothing.nearest_topics  # the statement topics it does cover


def test_child_by_age_is_not_covered() -> None:
    assert not answer("cefiderocol dose for a 12 year old").covered
    assert answer("cefiderocol dose for a 67 year old").covered


@pytest.mark.parametrize(("question", "audience", "message"), [
    ("   ", "clinician", "question"),
    ("x" * 501, "clinician", "question"),
    ("CZA dose", "doctor", "audience"),
])
def test_bad_input_raises_naming_the_field(question: str, audience: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        answer(question, audience=audience)


def test_index_is_built_once_per_knowledge_base() -> None:
    assert index_for(KN) is index_for(KN)
