"""Follow-up answers in the context of the case on screen (issue 17 item 6, issue 20 item 6).

The example patient (examples/kpc-bacteremia.json) has a KPC bacteraemia; her plan's first
choice is meropenem-vaborbactam and she is not on renal replacement.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings

from cre_advisor.ask import answer
from cre_advisor.ask.compose import FOR_CARE_TEAM
from cre_advisor.engine import recommend
from cre_advisor.knowledge.loader import default_knowledge, load_knowledge
from strategies import cases

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "kpc-bacteremia.json"
KN = default_knowledge()
TOPIC_NOTES = [s for s in KN.statements.values() if s.kind == "topic_note"]


@pytest.fixture
def case() -> dict[str, Any]:
    return json.loads(EXAMPLE.read_text())


def patient_text(result: Any) -> str:
    return " ".join(line.text for line in result.for_this_patient)


def test_going_on_dialysis_answers_for_her_first_choice_on_dialysis(case: dict[str, Any]) -> None:
    result = answer("What if she goes on dialysis?", case=case)
    text = patient_text(result)
    assert "Meropenem-vaborbactam IV on intermittent haemodialysis" in text
    assert "Cefiderocol" not in text and "Imipenem" not in text  # not the other options' tables
    assert result.items[0].id == "dosing:meropenem-vaborbactam"
    assert "goes" not in result.not_in_knowledge_base


def test_starting_crrt_answers_for_her_first_choice_on_crrt(case: dict[str, Any]) -> None:
    text = patient_text(answer("if we start CVVHDF?", case=case))
    assert "Meropenem-vaborbactam IV on CRRT" in text


def test_an_interval_question_about_one_agent_gives_that_agents_dose(case: dict[str, Any]) -> None:
    result = answer("gent q24 or q48?", case=case)
    text = patient_text(result)
    assert "Gentamicin" in text and "Meropenem-vaborbactam" not in text
    assert result.items[0].id == "dosing:gentamicin"


def test_a_dose_question_naming_no_agent_gives_the_first_choice_only(case: dict[str, Any]) -> None:
    text = patient_text(answer("what dose for her?", case=case))
    assert "Meropenem-vaborbactam IV for this patient (option 1): 2 g" in text  # eGFR 30-49 band by hand
    assert "Ceftazidime-avibactam" not in text


def test_a_renal_mode_she_is_already_on_adds_no_what_if(case: dict[str, Any]) -> None:
    on_hd = copy.deepcopy(case)
    on_hd["patient"]["renal_replacement"] = "intermittent_hemodialysis"
    assert "if started" not in patient_text(answer("dose on dialysis?", case=on_hd))


def _knowledge_with(tmp_path: Path, statement: dict[str, Any]) -> Any:
    """The shipped knowledge base plus one statement (test fixture text, not clinical content)."""
    directory = tmp_path / "knowledge"
    shutil.copytree(KN.directory, directory)
    path = directory / "statements.yaml"
    data = yaml.safe_load(path.read_text())
    data["statements"].append(statement)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_knowledge(directory)


def test_a_duration_item_for_this_site_is_given_for_this_patient(case: dict[str, Any], tmp_path: Path) -> None:
    fixture = {"id": "duration-fixture-bloodstream", "kind": "topic_note", "topic": "duration",
               "applies": {"sites": ["bloodstream"]}, "text": {"clinician": "FIXTURE: 7 to 14 days for this site."},
               "citations": ["idsa-2024"]}
    kn = _knowledge_with(tmp_path, fixture)
    assert "7 to 14 days" in patient_text(answer("How long should I treat?", case=case, knowledge=kn))
    elsewhere = copy.deepcopy(case)
    elsewhere["infection"]["site"] = "pneumonia"
    assert "7 to 14 days" not in patient_text(answer("How long should I treat?", case=elsewhere, knowledge=kn))


def test_a_duration_question_does_not_list_the_options(case: dict[str, Any]) -> None:
    """Answered with days by site first, then the general rule with the oral step-down; not the plan's options."""
    result = answer("How long should I treat?", case=case)
    top = [item.id for item in result.items[:3]]
    assert top[0] == "topic-duration-by-site"
    assert "7 days" in result.items[0].lines[0].text
    assert "icu-duration" in top
    assert not any(line.text.startswith("Option ") for line in result.for_this_patient)


def test_patient_view_puts_items_with_patient_wording_first(case: dict[str, Any]) -> None:
    result = answer("what about dialysis?", case=case, audience="patient")
    worded = [item.lines[0].text != FOR_CARE_TEAM for item in result.items]
    assert worded == sorted(worded, reverse=True)  # every worded item before any unworded one


def test_patient_view_says_plainly_when_there_is_no_patient_wording() -> None:
    result = answer("A negative carbapenemase panel: what does it exclude?", audience="patient")
    texts = [item.lines[0].text for item in result.items]
    assert FOR_CARE_TEAM in texts
    assert "written for patients" in FOR_CARE_TEAM


def test_topic_notes_exist_and_cite_sources() -> None:
    assert {s.id for s in TOPIC_NOTES} >= {"testing-rapid-carbapenemase", "renal-crcl-body-weight"}
    assert all(s.citations for s in TOPIC_NOTES)


@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(generated=cases())
def test_topic_notes_never_fire_into_a_plan(generated: dict[str, Any]) -> None:
    """They answer follow-up questions only: no plan text ever carries one."""
    plan = recommend(generated).model_dump_json()
    for note in TOPIC_NOTES:
        assert note.text["clinician"] not in plan
