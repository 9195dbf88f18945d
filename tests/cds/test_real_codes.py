"""Real hospital FHIR: coded values without display text, hasMember panels, and site codes.

Every resource here is built from public code systems (LOINC, SNOMED CT, ICD-10-CM, HL7 v3
ObservationInterpretation), with `display` left out as FHIR allows: meaning is system + code.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from cds_helpers import FHIR
from cre_advisor.fhir import case_from_resources
from cre_advisor.fhir.codes import shipped_code_maps

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
V3 = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
TODAY = date(2026, 11, 24)
SIGN = "/cds-services/cre-advisor-order-sign"
VIEW = "/cds-services/cre-advisor-patient-view"
AUTH = {"access_token": "fhir-token", "token_type": "Bearer", "expires_in": 300, "scope": "user/*.read", "subject": "cre-advisor"}


def coding(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def observation(oid: str, code: str, **value: Any) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": oid, "status": "final", "code": coding(LOINC, code),
            "subject": {"reference": "Patient/p"}, "effectiveDateTime": "2026-11-23T08:00:00Z", **value}


def ecoli() -> dict[str, Any]:
    return observation("org", "600-7", valueCodeableConcept=coding(SNOMED, "112283007"))


def gene(code: str, system: str, answer: str, oid: str | None = None) -> dict[str, Any]:
    return observation(oid or f"g{code}", code, valueCodeableConcept=coding(system, answer))


def mic(oid: str, code: str, value: float, letter: str | None = None) -> dict[str, Any]:
    extra = {"interpretation": [coding(V3, letter)]} if letter else {}
    return observation(oid, code, valueQuantity={"value": value, "unit": "mg/L", "system": "http://unitsofmeasure.org",
                                                 "code": "mg/L"}, **extra)


def condition(system: str, code: str) -> dict[str, Any]:
    return {"resourceType": "Condition", "id": f"c-{code}", "subject": {"reference": "Patient/p"},
            "clinicalStatus": coding("http://terminology.hl7.org/CodeSystem/condition-clinical", "active"),
            "code": coding(system, code)}


PATIENT = [
    {"resourceType": "Patient", "id": "p", "gender": "male", "birthDate": "1961-03-02"},
    observation("w", "29463-7", valueQuantity={"value": 80, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"}),
    observation("cr", "2160-0", valueQuantity={"value": 1.0, "unit": "mg/dL", "system": "http://unitsofmeasure.org", "code": "mg/dL"}),
    condition(ICD10, "R65.21"),
]


def read(*resources: dict[str, Any], site: tuple[str, str] | None = (SNOMED, "5758002")) -> Any:
    record = [*PATIENT, *([condition(*site)] if site else []), *resources]
    return case_from_resources({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in record]},
                               TODAY)


# ---- 1. coded values read by system and code -------------------------------------------------


@pytest.mark.parametrize(("system", "answer", "detected"), [
    (SNOMED, "260373001", True), (SNOMED, "10828004", True), (LOINC, "LA11882-0", True), (LOINC, "LA6576-8", True),
    (SNOMED, "260415000", False), (SNOMED, "260385009", False), (LOINC, "LA11883-8", False), (LOINC, "LA6577-6", False),
])
def test_gene_result_without_display_is_read_by_its_code(system: str, answer: str, detected: bool) -> None:
    found = read(ecoli(), gene("73982-1", system, answer), mic("m", "6652-2", 16))
    assert found.case is not None
    enzymes = [e.value for e in found.case.isolate.carbapenemase or ()]
    assert enzymes == (["NDM"] if detected else [])
    assert not any("could not be read" in m for m in found.missing_data)


def test_interpretation_code_without_display_or_value_is_read() -> None:
    found = read(ecoli(), gene("73982-1", SNOMED, "260373001"),
                 observation("r", "18943-1", interpretation=[coding(V3, "R")]),
                 observation("s", "18860-7", valueCodeableConcept=coding(SNOMED, "131196009")))
    results = found.case.isolate.susceptibility
    assert results["meropenem"].interpretation.value == "R"
    assert results["amikacin"].interpretation.value == "S"


def test_interpretation_letter_from_another_code_system_is_not_read_as_sir() -> None:
    """'R' in some local system is not HL7's R; with no words to go by it is reported, not used."""
    local = {"coding": [{"system": "http://lab.example.org/flags", "code": "R"}]}
    found = read(ecoli(), gene("73982-1", SNOMED, "260373001"), observation("r", "18943-1", interpretation=[local]))
    assert "meropenem" not in found.case.isolate.susceptibility
    assert any("meropenem" in n and "could not be read" in n for n in found.notes)


@pytest.mark.parametrize(("system", "answer"), [
    (SNOMED, "419984006"),  # inconclusive: a known code, but neither answer
    (SNOMED, "1234567"),    # a code the advisor does not know, with no words to fall back on
])
def test_unreadable_gene_result_is_said_on_the_record_not_guessed(system: str, answer: str) -> None:
    found = read(ecoli(), gene("73982-1", system, answer), mic("m", "6652-2", 16))
    assert found.case.isolate.carbapenemase is None  # not "no NDM", not "NDM"
    assert any("NDM gene result could not be read" in m for m in found.missing_data)


def test_ndm_without_display_gets_a_card_for_ceftazidime_avibactam(call: Any) -> None:
    """The issue's case: NDM 'Detected' as bare SNOMED; a CZA order must not pass silently."""
    record = [*PATIENT, condition(SNOMED, "5758002"), ecoli(), gene("73982-1", SNOMED, "260373001"), mic("m", "6652-2", 16)]
    draft = {"resourceType": "MedicationRequest", "id": "d1", "status": "draft", "intent": "order",
             "subject": {"reference": "Patient/p"},
             "medicationCodeableConcept": coding("http://www.nlm.nih.gov/research/umls/rxnorm", "1603837"),
             "dosageInstruction": [{"doseAndRate": [{"doseQuantity": {"value": 2500, "unit": "mg"}}],
                                    "timing": {"repeat": {"frequency": 1, "period": 8, "periodUnit": "h"}}}]}
    body = hook_body("order-sign", record, draftOrders={"resourceType": "Bundle", "type": "collection",
                                                         "entry": [{"resource": draft}]})
    response = call(SIGN, body)
    assert response.status_code == 200, response.text
    cards = response.json()["cards"]
    assert cards, "an NDM producer's ceftazidime-avibactam order got no card"
    assert any("NDM" in c["summary"] for c in cards)


def hook_body(hook: str, record: list[dict[str, Any]], **context: Any) -> dict[str, Any]:
    """A hook call whose prefetch holds the record: the report and its results under microbiology."""
    micro = [r for r in record if r["resourceType"] in ("DiagnosticReport", "Observation") and r["id"] not in ("w", "cr")]
    return {
        "hook": hook, "hookInstance": "real-codes-1",
        "context": {"userId": "Practitioner/1", "patientId": "p", **context},
        "prefetch": {
            "patient": record[0],
            "microbiology": {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in micro]},
            "weight": {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": record[1]}]},
            "creatinine": {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": record[2]}]},
            "height": None, "carbapenemase-genes": None, "allergies": None, "medications": None,
            "conditions": {"resourceType": "Bundle", "type": "searchset",
                           "entry": [{"resource": r} for r in record if r["resourceType"] == "Condition"]},
        },
    }


# ---- 2. hasMember panels -----------------------------------------------------------------------


def report(*results: str) -> dict[str, Any]:
    return {"resourceType": "DiagnosticReport", "id": "mb", "status": "final",
            "category": [coding("http://terminology.hl7.org/CodeSystem/v2-0074", "MB")], "code": coding(LOINC, "600-7"),
            "subject": {"reference": "Patient/p"}, "effectiveDateTime": "2026-11-23T08:00:00Z",
            "result": [{"reference": r} for r in results]}


def panel(*members: str) -> dict[str, Any]:
    return observation("panel", "29576-6", hasMember=[{"reference": m} for m in members])


def test_susceptibilities_in_a_has_member_panel_are_read() -> None:
    found = read(report("Observation/org", "Observation/panel"), ecoli(), panel("Observation/m", "Observation/a"),
                 mic("m", "6652-2", 16), mic("a", "12-5", 4, "S"), gene("49617-4", SNOMED, "260373001"))
    results = found.case.isolate.susceptibility
    assert results["meropenem"].mic_mg_l == 16 and results["amikacin"].interpretation.value == "S"
    assert not any("not available" in m for m in found.missing_data)


def test_a_panel_member_the_record_lacks_is_named_as_unknown() -> None:
    found = read(report("Observation/org", "Observation/panel"), ecoli(), panel("Observation/m", "Observation/gone"),
                 mic("m", "6652-2", 16), gene("49617-4", SNOMED, "260373001"))
    assert any("Observation/gone" in m and "unknown, not absent" in m for m in found.missing_data)


def test_panel_members_the_prefetch_lacks_are_fetched_with_the_ehr_token(call: Any, fake_ehr: Any) -> None:
    record = [*PATIENT, condition(SNOMED, "5758002"), report("Observation/org", "Observation/panel"), ecoli(),
              panel("Observation/m2", f"{FHIR}/Observation/a2"), gene("49617-4", SNOMED, "260373001")]
    fake_ehr.resources.update({"Observation/m2": mic("m2", "6652-2", 16), "Observation/a2": mic("a2", "12-5", 4, "S")})
    body = hook_body("patient-view", record)
    body.update(fhirServer=FHIR, fhirAuthorization=AUTH)
    before = len(fake_ehr.requests)
    response = call(VIEW, body)
    assert response.status_code == 200, response.text
    [card] = response.json()["cards"]
    asked = {str(r.url) for r in fake_ehr.requests[before:]}
    assert {f"{FHIR}/Observation/m2", f"{FHIR}/Observation/a2"} <= asked
    assert all(r.headers["authorization"] == "Bearer fhir-token" for r in fake_ehr.requests[before:])
    assert "not available" not in card["detail"]


def test_links_to_another_server_are_not_followed(call: Any, fake_ehr: Any) -> None:
    record = [*PATIENT, condition(SNOMED, "5758002"), report("Observation/org", "Observation/panel"), ecoli(),
              panel("https://elsewhere.example/fhir/Observation/x"), gene("49617-4", SNOMED, "260373001")]
    body = hook_body("patient-view", record)
    body.update(fhirServer=FHIR, fhirAuthorization=AUTH)
    before = len(fake_ehr.requests)
    assert call(VIEW, body).status_code == 200
    assert not any("elsewhere" in str(r.url) for r in fake_ehr.requests[before:])


# ---- 3. infection-site codes ---------------------------------------------------------------------


@pytest.mark.parametrize(("system", "code", "site"), [
    (SNOMED, "5758002", "bloodstream"), (ICD10, "R78.81", "bloodstream"), (ICD10, "A41.59", "bloodstream"),
    (ICD10, "A41.51", "bloodstream"), (SNOMED, "429271009", "pneumonia"), (ICD10, "J15.0", "pneumonia"),
    (ICD10, "J15.61", "pneumonia"), (ICD10, "J95.851", "pneumonia"), (ICD10, "N10", "urinary_complicated"),
    (SNOMED, "36689008", "urinary_complicated"),
])
def test_site_code_gives_a_plan_site(system: str, code: str, site: str) -> None:
    found = read(ecoli(), gene("73982-1", SNOMED, "260373001"), site=(system, code))
    assert found.case is not None and found.case.infection.site.value == site
    assert any(code in n for n in found.notes)  # the card says which code the site came from


@pytest.mark.parametrize("code", ["A41", "A41.9", "N39.0", "J15.2"])
def test_codes_outside_the_value_sets_do_not_give_a_site(code: str) -> None:
    """A41.9 (sepsis, organism unspecified) and N39.0 (UTI, site not stated) leave the site asked."""
    found = read(ecoli(), gene("73982-1", SNOMED, "260373001"), site=(ICD10, code))
    assert found.case is None and "infection.site" in found.needs


def test_two_different_sites_are_asked_not_ranked() -> None:
    found = read(ecoli(), gene("73982-1", SNOMED, "260373001"), condition(ICD10, "J15.0"), site=(ICD10, "R78.81"))
    assert found.case is None and "infection.site" in found.needs
    assert any("more than one infection site" in n for n in found.notes)


def test_every_shipped_site_code_has_a_source_the_file_defines() -> None:
    import yaml

    from cre_advisor.fhir.codes import CODES_FILE

    data = yaml.safe_load(CODES_FILE.read_text(encoding="utf-8"))
    rows = [*data["conditions"]["sites"], *data["qualitative"], *data["interpretations"]["coded"]]
    assert rows and all(r["source"] in data["sources"] for r in rows)
    assert shipped_code_maps().site(ICD10, "A41.59") == "bloodstream"


# ---- the validated-resource cache ------------------------------------------------------------------


def test_a_resource_sent_again_changed_is_validated_again() -> None:
    """The cache is keyed by the resource's exact JSON: same id with a broken field is still refused."""
    from cre_advisor.fhir import FhirInputError

    good = mic("cache-1", "6652-2", 16)
    first = read(ecoli(), gene("73982-1", SNOMED, "260373001"), good)
    assert first.case.isolate.susceptibility["meropenem"].mic_mg_l == 16
    broken = {**good, "effectiveDateTime": "yesterday"}
    with pytest.raises(FhirInputError, match="Observation/cache-1"):
        read(ecoli(), gene("73982-1", SNOMED, "260373001"), broken)
    changed = mic("cache-1", "6652-2", 64)
    again = read(ecoli(), gene("73982-1", SNOMED, "260373001"), changed)
    assert again.case.isolate.susceptibility["meropenem"].mic_mg_l == 64


@pytest.mark.parametrize("reference", ["Observation/..", "Observation/../Patient/p", "Observation/a%2Fb", "Patient/p"])
def test_only_observation_ids_are_fetched_as_linked_results(reference: str) -> None:
    from cre_advisor.cds.prefetch import missing_links

    assert missing_links([panel(reference)], FHIR) == []
    assert missing_links([panel("Observation/m-1.2")], FHIR) == ["Observation/m-1.2"]
