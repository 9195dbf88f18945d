"""Follow-up questions in bedside shorthand (issue 20): the held-out set, stems and ward words,
word boundaries, drugs the knowledge base does not hold, and questions about the tool itself.

tests/ask_heldout.yaml was written before the vocabulary and ranking were tuned for it; its
expected items were chosen by reading the knowledge items, not by running the retriever.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cre_advisor.ask import answer
from cre_advisor.ask.evaluation import QuestionSet, Scores, score
from cre_advisor.ask.index import default_index
from cre_advisor.ask.vocabulary import default_vocabulary
from cre_advisor.knowledge.loader import default_knowledge

HELD_OUT = QuestionSet.load(Path(__file__).with_name("ask_heldout.yaml"))
INDEX = default_index()


@pytest.fixture(scope="module")
def scores() -> Scores:
    return score(HELD_OUT)


def test_held_out_set_is_large_enough_and_names_real_items() -> None:
    assert len(HELD_OUT.covered) + len(HELD_OUT.not_covered) >= 60
    known = {passage.id for passage in INDEX.passages}
    unknown = sorted({item for row in HELD_OUT.covered for item in row.expect} - known)
    assert not unknown, f"ask_heldout.yaml expects items the knowledge base does not have: {unknown}"


def test_held_out_recall_at_3_meets_the_bar(scores: Scores) -> None:
    assert scores.recall_at_3 >= 0.95, f"recall@3 {scores.recall_at_3:.3f}; misses: {scores.misses}"


def test_held_out_not_covered_decisions_are_all_right(scores: Scores) -> None:
    assert scores.wrongly_not_covered == []
    assert scores.wrongly_covered == []
    assert scores.unnamed == []


def test_held_out_answers_for_the_case_on_screen(scores: Scores) -> None:
    assert scores.patient_lines_wrong == []


@pytest.mark.parametrize(("text", "agent"), [
    ("mero", "meropenem"), ("gent", "gentamicin"), ("amik", "amikacin"), ("tobra", "tobramycin"),
    ("plaz", "plazomicin"), ("pip-tazo", "piperacillin-tazobactam"), ("piptaz", "piperacillin-tazobactam"),
    ("FDC", "cefiderocol"), ("PMB", "polymyxin-b"), ("poly B", "polymyxin-b"), ("ATM-AVI", "aztreonam-avibactam"),
    ("atm/avi", "aztreonam-avibactam"), ("mero-vabor", "meropenem-vaborbactam"), ("imi-rel", "imipenem-cilastatin-relebactam"),
    ("tige", "tigecycline"), ("fosfo", "fosfomycin"), ("cotrim", "trimethoprim-sulfamethoxazole"), ("ceftaz", "ceftazidime"),
])
def test_stems_and_ward_shorthand_name_the_agent(text: str, agent: str) -> None:
    assert INDEX.read(f"{text} dose").agents == (agent,)


def test_mero_vabor_is_one_agent_not_meropenem_and_another() -> None:
    assert INDEX.read("mero-vabor vs CZA").agents == ("meropenem-vaborbactam", "ceftazidime-avibactam")


def test_every_shorthand_key_is_an_agent_of_the_knowledge_base() -> None:
    assert set(default_vocabulary().agent_shorthand) <= set(default_knowledge().agents)


# Asked whether CZA may follow a reaction to a penicillin, the note on penicillin allergy and CZA
# (cross-reactivity follows side chains; specialist advice on a challenge) answers first, the general
# mild-reaction item beside it; after cefepime, a note about penicillins and CZA is beside the point.
@pytest.mark.parametrize(("question", "first"), [
    ("hives with pip-tazo, can she have CZA?", "topic-penicillin-anaphylaxis-ceftazidime-avibactam"),
    ("HIVES after cefepime", "allergy-mild-not-contraindication"),
])
def test_hives_is_an_allergy_word_not_hiv(question: str, first: str) -> None:
    reading = INDEX.read(question)
    assert reading.outside == ()
    assert "allergy reaction" in {f.term.label for f in reading.found}
    top = [item.id for item in answer(question).items[:3]]
    assert top[0] == first
    assert "allergy-mild-not-contraindication" in top


def test_hiv_itself_is_still_out_of_scope() -> None:
    assert answer("CZA with HIV treatment").covered is False


def test_plural_endings_still_match_abbreviations() -> None:
    assert {"pneumonia", "urinary_complicated", "cystitis"} <= INDEX.read("UTIs and VAPs").sites


@pytest.mark.parametrize(("question", "drug"), [
    ("vanc dose on CRRT", "vancomycin"), ("vanco level HD", "vancomycin"), ("dapto for bacteremia", "daptomycin"),
    ("temocillin for OXA-48 UTI", "temocillin"), ("vanc + pip-tazo AKI", "vancomycin"),
])
def test_a_drug_the_base_does_not_hold_is_not_covered_and_named(question: str, drug: str) -> None:
    result = answer(question)
    assert result.covered is False
    assert drug in (result.not_covered_reason or "")
    assert result.items == []


@pytest.mark.parametrize(("question", "item"), [
    ("what does 'submitted' mean?", "tool:review-status"), ("under review vs approved", "tool:review-status"),
    ("which knowledge version is this", "tool:knowledge-version"), ("where does the dose come from?", "tool:dose-source"),
])
def test_questions_about_the_tool_are_answered_from_its_own_data(question: str, item: str) -> None:
    result = answer(question)
    assert result.covered is True
    assert result.items[0].id == item
    assert result.items[0].kind == "tool" and result.items[0].review_status is None


def test_the_version_answer_states_the_loaded_knowledge_version() -> None:
    kn = default_knowledge()
    text = " ".join(line.text for line in answer("knowledge version?").items[0].lines)
    assert kn.version in text
    assert f"{len(kn.items)} content items" in text


def test_the_dose_source_answer_cites_the_dose_tables_sources() -> None:
    lines = answer("where do the doses come from").items[0].lines
    cited = {c for line in lines for c in line.citations}
    assert {"nation-2017", "label-ceftazidime-avibactam"} <= cited


def test_ward_words_alone_do_not_make_a_question_covered() -> None:
    assert answer("klebs neg sens").covered is False


@pytest.mark.parametrize("name", ["ask_shorthand_round2.yaml", "ask_shorthand_round3.yaml"])
def test_later_shorthand_rounds_stay_answered(name: str) -> None:
    """Regression sets: their gaps were fixed after a first run, so they are held to the same bar."""
    result = score(QuestionSet.load(Path(__file__).with_name(name)))
    assert result.recall_at_3 >= 0.95, result.misses
    assert result.wrongly_covered == [] and result.unnamed == []
    assert len(result.wrongly_not_covered) <= 1, result.wrongly_not_covered  # "ami" (lower case) is left unread


def test_approved_by_a_regulator_is_not_a_question_about_review_status() -> None:
    assert all(item.kind != "tool" for item in answer("Is CZA FDA approved for pneumonia?").items)


@pytest.mark.parametrize(("question", "item"), [
    ("Why is polymyxin B not used for urinary infection?", "avoid-polymyxin-b-cystitis"),
    ("Which weight for Cockcroft-Gault in obesity?", "renal-crcl-body-weight"),
    ("rapid carbapenemase tests", "testing-rapid-carbapenemase"),
])
def test_the_item_on_the_questions_subject_ranks_first(question: str, item: str) -> None:
    """Issue 20 item 4: these ranked below items that share only a drug name or a weight rule."""
    assert answer(question).items[0].id == item
