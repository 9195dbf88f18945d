"""Reading questions: phrases to knowledge-base terms, spelling, ages, and the scope checks."""

from __future__ import annotations

import pytest

from cre_advisor.ask.index import default_index
from cre_advisor.ask.text import agent_token, edit_distance, minor_age

INDEX = default_index()


@pytest.mark.parametrize(("a", "b", "distance"), [
    ("meropenem", "meropenem", 0),
    ("meropenam", "meropenem", 1),      # one substitution
    ("pnuemonia", "pneumonia", 1),      # two neighbours swapped
    ("colistn", "colistin", 1),         # one letter missing
    ("pyelonefritis", "pyelonephritis", 2),
])
def test_edit_distance_by_hand(a: str, b: str, distance: int) -> None:
    assert edit_distance(a, b, 2) == distance


def test_edit_distance_stops_past_the_limit() -> None:
    assert edit_distance("kitten", "sitting", 1) == 2  # true distance 3: reported as limit + 1


@pytest.mark.parametrize(("text", "agent"), [
    ("CZA", "ceftazidime-avibactam"), ("Avycaz", "ceftazidime-avibactam"), ("caz/avi", "ceftazidime-avibactam"),
    ("MEV", "meropenem-vaborbactam"), ("Vabomere", "meropenem-vaborbactam"),
    ("IMR", "imipenem-cilastatin-relebactam"), ("Recarbrio", "imipenem-cilastatin-relebactam"),
    ("FDC", "cefiderocol"), ("Fetroja", "cefiderocol"), ("TMP-SMX", "trimethoprim-sulfamethoxazole"),
    ("CMS", "colistin"), ("colistimethate", "colistin"), ("Emblaveo", "aztreonam-avibactam"),
])
def test_abbreviations_and_brands_name_the_agent(text: str, agent: str) -> None:
    reading = INDEX.read(f"dose of {text}")
    assert reading.agents == (agent,)
    assert agent_token(agent) in reading.tokens


def test_short_abbreviations_that_are_words_match_only_in_capitals() -> None:
    assert INDEX.read("is there an option over 30 min").agents == ()
    assert INDEX.read("AN for cystitis").agents == ("amikacin",)


@pytest.mark.parametrize(("text", "site"), [
    ("VAP", "pneumonia"), ("bacteremia", "bloodstream"), ("BSI", "bloodstream"), ("pyelo", "urinary_complicated"),
    ("bladder infection", "cystitis"), ("peritonitis", "intra_abdominal"), ("meningitis", "cns"),
])
def test_clinical_synonyms_name_the_site(text: str, site: str) -> None:
    assert site in INDEX.read(f"CZA for {text}").sites


@pytest.mark.parametrize(("text", "added"), [("CVVHDF", "crrt"), ("HD", "haemodialysi"), ("IHD", "haemodialysi")])
def test_renal_replacement_synonyms(text: str, added: str) -> None:
    assert added in INDEX.read(f"CZA dose on {text}").tokens


def test_a_class_name_stands_for_its_agents() -> None:
    assert set(INDEX.read("aminoglycosides for cystitis").agents) == {"amikacin", "gentamicin", "tobramycin", "plazomicin"}


def test_child_pugh_is_not_a_child() -> None:
    assert INDEX.read("tigecycline in Child-Pugh C").outside == ()
    assert INDEX.read("tigecycline for a child").outside


def test_misspelt_agent_is_corrected_and_recognised() -> None:
    reading = INDEX.read("Avycas in haemodialisis")
    assert dict(reading.corrections) == {"Avycas": "avycaz", "haemodialisis": "haemodialysis"}
    assert reading.agents == ("ceftazidime-avibactam",)


@pytest.mark.parametrize(("text", "age"), [
    ("a 6-year-old", 6), ("12 yo boy", 12), ("a 17 year old", 17), ("a 67-year-old woman", None), ("18 years old", None),
])
def test_minor_age(text: str, age: int | None) -> None:
    assert minor_age(text, 18) == age
