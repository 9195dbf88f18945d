"""FHIR R4 -> Case: each field read from the resources an EHR sends, and what stays missing."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from cds_helpers import LAB
from cre_advisor.fhir.codes import LocalCode, LocalCodes, agent_from_name, shipped_code_maps
from cre_advisor.fhir.reader import FhirRecord, case_from_fhir, draft_order, parse_resource

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
TODAY = date(2026, 11, 24)
CODES = shipped_code_maps().with_local(
    LocalCodes(susceptibility_mic=(LocalCode(system=LAB, code="CZA-MIC", agent="CZA"),))
)


def obs(oid: str, code: dict[str, Any], **value: Any) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": oid, "status": "final", "code": code,
            "effectiveDateTime": value.pop("when", "2026-11-23T08:00:00Z"), **value}


def loinc(code: str) -> dict[str, Any]:
    return {"coding": [{"system": LOINC, "code": code}]}


def organism(snomed: str = "56415008", name: str = "Klebsiella pneumoniae") -> dict[str, Any]:
    return obs("org", loinc("600-7"), valueCodeableConcept={"coding": [{"system": SNOMED, "code": snomed}], "text": name})


def mic(oid: str, code: dict[str, Any], value: float, comparator: str | None = None, unit: str = "mg/L",
        interpretation: str | None = None) -> dict[str, Any]:
    quantity = {"value": value, "unit": unit, **({"comparator": comparator} if comparator else {})}
    extra = {"interpretation": [{"coding": [{"code": interpretation}]}]} if interpretation else {}
    return obs(oid, code, valueQuantity=quantity, **extra)


def gene(code: str, answer: str) -> dict[str, Any]:
    return obs(f"g{code}", loinc(code), valueCodeableConcept={"text": answer})


def condition(system: str, code: str, status: str = "active") -> dict[str, Any]:
    return {"resourceType": "Condition", "id": f"c{code}", "subject": {"reference": "Patient/p"},
            "clinicalStatus": {"coding": [{"code": status}]}, "code": {"coding": [{"system": system, "code": code}]}}


BASE_RECORD = [
    {"resourceType": "Patient", "id": "p", "gender": "male", "birthDate": "1960-01-15"},
    obs("w", loinc("29463-7"), valueQuantity={"value": 80, "unit": "kg", "code": "kg"}),
    condition(SNOMED, "431193003"),
    condition(ICD10, "R65.21"),
]


def read(*resources: dict[str, Any], base: list[dict[str, Any]] | None = None) -> Any:
    parsed = [parse_resource(r) for r in [*(BASE_RECORD if base is None else base), *resources]]
    return case_from_fhir(FhirRecord.from_resources(parsed), CODES, TODAY)


def test_mic_keeps_its_comparator_and_the_lab_interpretation() -> None:
    found = read(organism(), gene("49617-4", "Detected"),
                 mic("m", loinc("6652-2"), 16, ">=", interpretation="R"),
                 mic("c", {"coding": [{"system": LAB, "code": "CZA-MIC"}]}, 0.25, "<=", unit="ug/mL"))
    results = found.case.isolate.susceptibility
    assert results["meropenem"].mic_mg_l == ">=16" and results["meropenem"].interpretation.value == "R"
    assert results["ceftazidime-avibactam"].mic_mg_l == "<=0.25" and results["ceftazidime-avibactam"].interpretation is None


def test_non_susceptible_reads_as_resistant_and_sdd_leaves_the_mic_to_decide() -> None:
    found = read(organism(), gene("49617-4", "Detected"),
                 mic("m", loinc("6652-2"), 4, interpretation="NS"),
                 mic("f", loinc("6644-9"), 4, interpretation="SDD"))
    results = found.case.isolate.susceptibility
    assert results["meropenem"].interpretation.value == "R"
    assert results["cefepime"].interpretation is None and results["cefepime"].mic_mg_l == 4
    assert any("NS" in n for n in found.notes) and any("SDD" in n for n in found.notes)


def test_a_disk_zone_is_not_read_as_an_mic() -> None:
    found = read(organism(), gene("49617-4", "Detected"), mic("m", loinc("18943-1"), 12, unit="mm"))
    assert "meropenem" not in found.case.isolate.susceptibility
    assert any("'mm'" in n for n in found.notes)


def test_genes_detected_not_detected_and_not_tested() -> None:
    detected = read(organism(), gene("73982-1", "Detected"), gene("49617-4", "Not detected"))
    assert [e.value for e in detected.case.isolate.carbapenemase] == ["NDM"]
    negative = read(organism(), gene("49617-4", "Not detected"), mic("m", loinc("6652-2"), 8, interpretation="R"))
    assert negative.case.isolate.carbapenemase == ()  # tested, none found
    untested = read(organism(), mic("m", loinc("6652-2"), 8, interpretation="R"))
    assert untested.case.isolate.carbapenemase is None
    assert any("carbapenemase genes" in m for m in untested.missing_data)


def test_creatinine_is_read_with_its_unit_and_the_newest_wins() -> None:
    found = read(organism(), gene("49617-4", "Detected"),
                 obs("cr-old", loinc("2160-0"), valueQuantity={"value": 0.8, "unit": "mg/dL"}, when="2026-11-01T00:00:00Z"),
                 obs("cr-new", loinc("14682-9"), valueQuantity={"value": 150, "unit": "umol/L"}, when="2026-11-24T00:00:00Z"))
    assert found.case.patient.serum_creatinine_umol_l == 150 and found.case.patient.serum_creatinine_mg_dl is None
    odd = read(organism(), gene("49617-4", "Detected"), obs("cr", loinc("14682-9"), valueQuantity={"value": 0.15, "unit": "mmol/L"}))
    assert odd.case.patient.serum_creatinine_umol_l is None
    assert any("mmol/L" in m for m in odd.missing_data)


def test_patient_fields_and_what_is_missing() -> None:
    found = read(organism(), gene("49617-4", "Detected"))
    patient = found.case.patient
    assert patient.age_years == 66 and patient.sex.value == "male" and patient.weight_kg == 80
    assert any(m.startswith("patient height") for m in found.missing_data)
    assert any(m.startswith("serum creatinine") for m in found.missing_data)


@pytest.mark.parametrize(("allergy", "expected"), [
    ({"code": {"text": "Ceftazidime"}, "reaction": [{"manifestation": [{"text": "Anaphylaxis"}]}]}, ("ceftazidime", "anaphylaxis")),
    ({"code": {"coding": [{"system": RXNORM, "code": "2191"}]}, "criticality": "low",
      "reaction": [{"manifestation": [{"text": "rash"}]}]}, ("ceftazidime", "mild")),
    ({"code": {"text": "Penicillin"}, "reaction": [{"manifestation": [{"text": "Stevens-Johnson syndrome"}]}]},
     ("penicillins", "severe_cutaneous")),
    ({"code": {"text": "Gentamicin"}, "type": "intolerance"}, ("gentamicin", "intolerance")),
    ({"code": {"text": "Meropenem"}, "criticality": "high"}, ("meropenem", "anaphylaxis")),
])
def test_allergies_become_agent_and_reaction(allergy: dict[str, Any], expected: tuple[str, str]) -> None:
    resource = {"resourceType": "AllergyIntolerance", "id": "a", "patient": {"reference": "Patient/p"}, **allergy}
    found = read(organism(), gene("49617-4", "Detected"), resource)
    [read_allergy] = found.case.patient.allergies
    assert (read_allergy.agent, read_allergy.reaction.value) == expected


def test_non_antibiotic_allergy_is_left_out_with_a_note() -> None:
    resource = {"resourceType": "AllergyIntolerance", "id": "a", "patient": {"reference": "Patient/p"}, "code": {"text": "Peanut"},
                "criticality": "low"}
    found = read(organism(), gene("49617-4", "Detected"), resource)
    assert found.case.patient.allergies == () and any("Peanut" in n for n in found.notes)


def test_site_and_severity_come_from_active_conditions_only() -> None:
    base = [BASE_RECORD[0], condition(SNOMED, "233604007"), condition(ICD10, "R65.20"), condition(ICD10, "R65.21", status="resolved")]
    found = read(organism(), gene("49617-4", "Detected"), base=base)
    assert found.case.infection.site.value == "pneumonia" and found.case.infection.severity.value == "severe"
    unknown = read(organism(), gene("49617-4", "Detected"), base=[BASE_RECORD[0]])
    assert unknown.case is None and unknown.needs == ["infection.site", "infection.severity"] and unknown.is_cre


def test_out_of_scope_organism_and_susceptible_isolate_are_not_cre() -> None:
    pseudomonas = read(organism("52499004", "Pseudomonas aeruginosa"), mic("m", loinc("6652-2"), 16, interpretation="R"))
    assert not pseudomonas.is_cre and pseudomonas.organism == "Pseudomonas aeruginosa"
    susceptible = read(organism("112283007", "Escherichia coli"), mic("m", loinc("6652-2"), 0.25, "<=", interpretation="S"))
    assert not susceptible.is_cre and susceptible.case is None


def test_imipenem_alone_does_not_make_a_proteus_cre() -> None:
    found = read(organism("73457008", "Proteus mirabilis"), mic("i", loinc("279-0"), 8, interpretation="R"),
                 mic("m", loinc("6652-2"), 0.125, interpretation="S"))
    assert not found.is_cre


def test_a_child_is_refused_with_the_reason() -> None:
    child = [{"resourceType": "Patient", "id": "p", "birthDate": "2015-05-01"}, *BASE_RECORD[1:]]
    found = read(organism(), gene("49617-4", "Detected"), base=child)
    assert found.case is None and "age_years" in found.refusal


def med(concept: dict[str, Any], dosage: dict[str, Any] | None = None) -> Any:
    resource = {"resourceType": "MedicationRequest", "id": "d", "status": "draft", "intent": "order",
                "subject": {"reference": "Patient/p"}, "medicationCodeableConcept": concept}
    if dosage:
        resource["dosageInstruction"] = [dosage]
    return draft_order(parse_resource(resource), CODES)


def test_draft_orders_by_rxnorm_code_and_by_name() -> None:
    assert med({"coding": [{"system": RXNORM, "code": "384455"}]}).agent == "tigecycline"
    assert med({"text": "avibactam 0.5 G / ceftazidime 2 G Injection"}).agent == "ceftazidime-avibactam"
    assert med({"text": "imipenem 500 MG / cilastatin 500 MG / relebactam 250 MG Injection"}).agent == "imipenem-cilastatin-relebactam"
    assert med({"text": "Imipenem 500 mg IV"}).agent == "imipenem-cilastatin"
    assert med({"text": "Fetroja 1 g vial"}).agent == "cefiderocol"
    assert med({"coding": [{"system": RXNORM, "code": "161", "display": "acetaminophen"}]}).agent is None


def test_draft_order_dose_and_interval_in_plan_units() -> None:
    order = med({"text": "Meropenem"}, {
        "timing": {"repeat": {"frequency": 3, "period": 1, "periodUnit": "d", "duration": 180, "durationUnit": "min"}},
        "doseAndRate": [{"doseQuantity": {"value": 2, "unit": "g", "code": "g"}}], "route": {"text": "IV"},
    })
    assert (order.dose_mg, order.interval_h, order.infusion_h, order.route) == (2000, 8, 3, "IV")


def test_unknown_agent_in_local_codes_names_the_field() -> None:
    with pytest.raises(ValueError, match=r"local_codes.medications\[0\].agent: unknown agent 'aspirin'"):
        shipped_code_maps().with_local(LocalCodes(medications=(LocalCode(system="x", code="1", agent="aspirin"),)))


def test_name_matching_prefers_the_combination() -> None:
    assert agent_from_name("Aztreonam / avibactam") == "aztreonam-avibactam"
    assert agent_from_name("sulfamethoxazole 800 MG / trimethoprim 160 MG Oral Tablet") == "trimethoprim-sulfamethoxazole"
    assert agent_from_name("Vitamin D") is None
