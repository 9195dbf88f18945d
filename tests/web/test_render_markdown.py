"""The four audience renderers over one hand-built Recommendation.

Expectations come from the Recommendation written out below (and arithmetic done by hand),
not from running the renderers.
"""

from __future__ import annotations

import re

import pytest

from cre_advisor import render
from cre_advisor.recommendation import Recommendation

REC = Recommendation.model_validate({
    "knowledge_version": "test-1",
    "mechanism": {"class": "serine_carbapenemase", "enzymes": ["KPC"], "basis": "reported",
                  "explanation": "KPC reported by the laboratory", "group": "kpc"},
    "renal": {"crcl_ml_min": 38.7, "method": "cockcroft_gault", "weight_basis": "adjusted", "weight_kg": 62.9},
    "risk": {"increment_cpe_score": 14, "category": "high"},
    "options": [
        {"rank": 1, "tier": "preferred", "id": "opt-cza",
         "regimen": [{"agent": "ceftazidime-avibactam", "route": "IV", "dose": "1.25 g q8h over 2 h", "dose_mg": 1250,
                      "interval_h": 8, "infusion_h": 2, "loading_dose_mg": None, "adjusted_for": "CrCl 31-50 mL/min",
                      "citations": ["label-test:2.2", "idsa-2024:Table 1"], "notes": ["Hang after dialysis"]}],
         "rationale": "Rationale one.", "citations": ["idsa-2024:Q3.4"], "cautions": ["Caution one."]},
        {"rank": 2, "tier": "alternative", "id": "opt-combo",
         "regimen": [
             {"agent": "colistin", "route": "IV", "dose": "loading 300 mg CBA, then 150 mg CBA q12h", "dose_mg": 150,
              "interval_h": 12, "infusion_h": 0.5, "loading_dose_mg": 300, "adjusted_for": "CrCl 30-40 mL/min",
              "citations": ["escmid-2022"]},
             {"agent": "amikacin", "route": "IV", "dose": "15 mg/kg x 70 kg = 1050 mg once", "dose_mg": 1050,
              "interval_h": None, "infusion_h": 0.5, "loading_dose_mg": None, "adjusted_for": "actual weight",
              "citations": ["escmid-2022"]},
         ],
         "rationale": "Rationale two.", "citations": ["escmid-2022"], "cautions": []},
    ],
    "avoid": [{"agents": ["tigecycline", "eravacycline"], "reason": "Low serum levels.", "citations": ["idsa-2024:Q3.8"]}],
    "warnings": ["Warning one."],
    "monitoring": ["Monitor one."],
    "missing_data": ["Missing one."],
    "trace": [
        {"step": "identify_mechanism", "finding": "KPC, reported", "citations": ["idsa-2024:Q3.4"]},
        {"step": "assess_renal_function", "finding": "CrCl 38.7 mL/min", "citations": ["not-a-reference"]},
    ],
    "review": {"status": "pending_review", "last_updated": "2026-11-24"},
    "disclaimer": "Disclaimer text.",
})

DOSE_PATTERN = re.compile(r"\d\s*(mg|g|mL|MU|IU)\b|q\d+h|every \d|per 24 h|mg/kg|mL/min", re.IGNORECASE)


@pytest.mark.parametrize("audience", list(render.AUDIENCES))
def test_every_audience_keeps_review_status_citations_and_disclaimer(audience: str) -> None:
    text = render.markdown(REC, audience)
    assert "Review status: Pending review by your advisory board" in text
    assert "Content last updated 24 November 2026" in text
    assert "## Sources" in text
    assert "1. Tamma PD" in text  # idsa-2024 is cited first (the mechanism), so it is number 1
    assert re.search(r"\[1(: [^\]]+)?\]", text), "numbered citation markers in the text"


def test_audiences_are_the_four_of_the_spec() -> None:
    assert list(render.AUDIENCES) == ["clinician", "pharmacist", "nurse", "patient"]


def test_unknown_audience_names_the_allowed_ones() -> None:
    with pytest.raises(ValueError, match="allowed: clinician, pharmacist, nurse, patient"):
        render.markdown(REC, "surgeon")


def test_clinician_sees_doses_reasons_trace_and_numbering_by_first_use() -> None:
    text = render.markdown(REC, "clinician")
    # label-test is the second source cited (after idsa-2024 in the summary), so it is [2].
    assert "Ceftazidime-avibactam IV: 1.25 g q8h over 2 h (for CrCl 31-50 mL/min) [2: 2.2; 1: Table 1]" in text
    assert "Rationale one. [1: Q3.4]" in text
    assert "### 2. Colistin (colistimethate) + Amikacin (Alternative)" in text
    assert "Tigecycline, Eravacycline: Low serum levels. [1: Q3.8]" in text
    for line in ("Warning one.", "Monitor one.", "Missing one.", "Caution one.", "## Step by step", "Disclaimer text."):
        assert line in text
    assert "INCREMENT-CPE score 14 (high mortality risk)" in text
    assert "not-a-reference (not found in this knowledge base's reference list)" in text


def test_pharmacist_sees_the_arithmetic() -> None:
    text = render.markdown(REC, "pharmacist")
    assert "Per dose 1250 mg. 3750 mg per 24 h" in text  # 1250 mg every 8 h = 3 doses a day
    assert "Per dose 150 mg. 300 mg per 24 h. Loading dose 300 mg" in text  # 150 mg every 12 h
    assert "Per dose 1050 mg" in text and "1050 mg per 24 h" not in text  # a single dose has no daily total
    assert "Hang after dialysis" in text


def test_nurse_sees_administration_not_reasoning() -> None:
    text = render.markdown(REC, "nurse")
    assert "Give Ceftazidime-avibactam IV: 1.25 g q8h over 2 h. Each infusion runs over 2 h. Hang after dialysis" in text
    assert "Each infusion runs over 30 min" in text
    assert "Rationale one." not in text
    assert text.index("## What to watch for") < text.index("## Warnings")


def test_patient_version_has_plain_words_and_no_doses() -> None:
    text = render.markdown(REC, "patient")
    assert not DOSE_PATTERN.search(text), DOSE_PATTERN.search(text)
    for clinical in ("1.25 g", "Rationale one.", "Warning one.", "Caution one.", "CrCl", "INCREMENT"):
        assert clinical not in text
    assert "Ceftazidime-avibactam, given into a vein (a drip)" in text
    assert "First choice" in text and "Another option" in text
    assert "Tigecycline" in text  # what will not be used is still said, in plain words
    assert "Some test results or details are still missing" in text
    assert "Disclaimer text." not in text  # the clinical disclaimer is replaced by a plain one


def test_citation_markers_drop_a_bare_reference_already_cited_with_a_locator() -> None:
    from cre_advisor.knowledge.loader import default_knowledge
    from cre_advisor.render.citations import CitationIndex, marker_text

    index = CitationIndex(default_knowledge().references)
    assert marker_text(index.mark(["idsa-2024:Q3.4", "idsa-2024", "escmid-2022"])) == "[1: Q3.4; 2]"
    assert marker_text(index.mark(["escmid-2022", "escmid-2022"])) == "[2]"
    assert [(r.number, r.ref_id, r.locators) for r in index.listing()] == [(1, "idsa-2024", ("Q3.4",)), (2, "escmid-2022", ())]


def test_a_page_reports_its_least_reviewed_item_and_newest_date() -> None:
    from cre_advisor.knowledge.schema import Item
    from cre_advisor.render.dose_table import items_review

    agent = Item(id="a", citations=("x",), review_status="submitted", updated="2026-01-02")
    table = Item(id="dosing:a", citations=("x",), review_status="submitted", updated="2026-03-04")
    assert items_review([agent, table], "2025-12-31").model_dump() == {
        "status": "pending_review", "last_updated": "2026-03-04", "items_used": 2}
    approved = {"a": "approved", "dosing:a": "approved"}
    assert items_review([agent, table], "r", approved).status == "approved"
    assert items_review([agent, table], "r", {**approved, "dosing:a": "under_review"}).status == "under_review"
    assert items_review([agent, table], "r", {**approved, "a": "changes_requested"}).status == "changes_requested"
