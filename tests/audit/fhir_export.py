"""A small FHIR Bulk Data export written by hand: NDJSON files, one per resource type.

Codes are real and come from the sources named in src/cre_advisor/fhir/codes.yaml: LOINC for
the culture (600-7 Bacteria identified in Blood by Culture), body weight (29463-7), height
(8302-2), creatinine (2160-0 mg/dL, 14682-9 umol/L), MICs (6652-2 meropenem, 44-8 aztreonam) and
carbapenemase genes (49617-4 KPC, 73982-1 NDM); SNOMED CT for organisms (56415008 Klebsiella
pneumoniae, 112283007 Escherichia coli) and sites (431193003 bloodstream infection, 233604007
pneumonia); ICD-10-CM R65.21 / R65.20 for septic shock / severe sepsis; RxNorm 1603837
(ceftazidime-avibactam dose group), 2265706 (cefiderocol product), 29561 (meropenem).

Three patients: a KPC K. pneumoniae bacteraemia with septic shock treated with
ceftazidime-avibactam 2.5 g q8h (plus a meropenem order a week later, outside the window); an
NDM E. coli pneumonia with severe sepsis treated with cefiderocol 2 g q8h; and an E. coli
bacteraemia susceptible to meropenem (not CRE: no episode); and a KPC K. pneumoniae culture with no
Condition, so no site or severity (an episode that cannot be assessed). Plus two bad lines.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cre_advisor.fhir.codes import shipped_code_maps

SYSTEMS = shipped_code_maps().systems
LOINC, SNOMED, RXNORM, ICD10, UCUM, INTERP = (
    SYSTEMS[name] for name in ("loinc", "snomed", "rxnorm", "icd10cm", "ucum", "interpretation"))
V2_0074 = "http://terminology.hl7.org/CodeSystem/v2-0074"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"


def _subject(pid: str) -> dict[str, str]:
    return {"reference": f"Patient/{pid}"}


def quantity(oid: str, pid: str, code: str, value: float, unit: str, when: str) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": oid, "status": "final", "subject": _subject(pid),
            "code": {"coding": [{"system": LOINC, "code": code}]}, "effectiveDateTime": when,
            "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit}}


def body(pid: str, creatinine: tuple[str, float, str], when: str) -> list[dict[str, Any]]:
    """Weight 80 kg, height 178 cm, and one creatinine (LOINC code, value, unit)."""
    code, value, unit = creatinine
    return [quantity(f"w-{pid}", pid, "29463-7", 80, "kg", when), quantity(f"h-{pid}", pid, "8302-2", 178, "cm", when),
            quantity(f"cr-{pid}", pid, code, value, unit, when)]


def organism(oid: str, pid: str, snomed: str, name: str, when: str) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": oid, "status": "final", "subject": _subject(pid),
            "code": {"coding": [{"system": LOINC, "code": "600-7", "display": "Bacteria identified in Blood by Culture"}]},
            "effectiveDateTime": when,
            "valueCodeableConcept": {"coding": [{"system": SNOMED, "code": snomed, "display": name}], "text": name}}


def mic(oid: str, pid: str, loinc: str, value: float, letter: str, when: str) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": oid, "status": "final", "subject": _subject(pid),
            "code": {"coding": [{"system": LOINC, "code": loinc}]}, "effectiveDateTime": when,
            "valueQuantity": {"value": value, "unit": "mg/L", "system": UCUM, "code": "mg/L"},
            "interpretation": [{"coding": [{"system": INTERP, "code": letter}]}]}


def mic_by_name(oid: str, pid: str, text: str, value: float, letter: str, when: str) -> dict[str, Any]:
    """A result the laboratory codes locally: the reader matches it by the agent's name."""
    found = mic(oid, pid, "x", value, letter, when)
    found["code"] = {"text": text}
    return found


def gene(oid: str, pid: str, loinc: str, detected: bool, when: str) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": oid, "status": "final", "subject": _subject(pid),
            "code": {"coding": [{"system": LOINC, "code": loinc}]}, "effectiveDateTime": when,
            "valueCodeableConcept": {"text": "Detected" if detected else "Not detected"}}


def report(rid: str, pid: str, results: list[str], when: str, encounter: str | None = None) -> dict[str, Any]:
    found = {"resourceType": "DiagnosticReport", "id": rid, "status": "final", "subject": _subject(pid),
             "category": [{"coding": [{"system": V2_0074, "code": "MB"}]}],
             "code": {"coding": [{"system": LOINC, "code": "600-7"}]}, "effectiveDateTime": when,
             "result": [{"reference": f"Observation/{r}"} for r in results]}
    if encounter:
        found["encounter"] = {"reference": f"Encounter/{encounter}"}
    return found


def condition(cid: str, pid: str, system: str, code: str, display: str) -> dict[str, Any]:
    return {"resourceType": "Condition", "id": cid, "subject": _subject(pid),
            "clinicalStatus": {"coding": [{"system": CLINICAL, "code": "active"}]},
            "code": {"coding": [{"system": system, "code": code, "display": display}]}}


def order(mid: str, pid: str, rxnorm: str, display: str, dose_mg: float, every_h: float, authored: str) -> dict[str, Any]:
    return {"resourceType": "MedicationRequest", "id": mid, "status": "active", "intent": "order",
            "subject": _subject(pid), "authoredOn": authored,
            "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": rxnorm, "display": display}]},
            "dosageInstruction": [{"timing": {"repeat": {"frequency": 1, "period": every_h, "periodUnit": "h"}},
                                   "route": {"text": "IV"},
                                   "doseAndRate": [{"doseQuantity": {"value": dose_mg, "unit": "mg", "system": UCUM,
                                                                     "code": "mg"}}]}]}


def resources() -> dict[str, list[dict[str, Any]]]:
    kpc, ndm, ec, nos = "kpc-1", "ndm-1", "ec-1", "nos-1"
    return {
        "Patient": [
            {"resourceType": "Patient", "id": kpc, "gender": "male", "birthDate": "1965-03-02"},
            {"resourceType": "Patient", "id": ndm, "gender": "male", "birthDate": "1970-07-20"},
            {"resourceType": "Patient", "id": ec, "gender": "female", "birthDate": "1980-06-30"},
            {"resourceType": "Patient", "id": nos, "gender": "female", "birthDate": "1958-01-15"},
        ],
        "Encounter": [
            {"resourceType": "Encounter", "id": "enc-kpc", "status": "in-progress",
             "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
             "subject": _subject(kpc), "location": [{"location": {"display": "ICU-North"}}]},
        ],
        "Observation": [
            *body(kpc, ("2160-0", 0.9, "mg/dL"), "2026-05-02T05:00:00Z"),
            organism("org-kpc", kpc, "56415008", "Klebsiella pneumoniae", "2026-05-02T08:00:00Z"),
            mic("mem-kpc", kpc, "6652-2", 16, "R", "2026-05-03T08:00:00Z"),
            mic_by_name("cza-kpc", kpc, "Ceftazidime-avibactam [Susceptibility] by MIC", 1, "S", "2026-05-03T08:00:00Z"),
            gene("g-kpc", kpc, "49617-4", True, "2026-05-02T20:00:00Z"),
            *body(ndm, ("14682-9", 80, "umol/L"), "2026-06-10T05:00:00Z"),
            organism("org-ndm", ndm, "112283007", "Escherichia coli", "2026-06-11T08:00:00Z"),
            mic("mem-ndm", ndm, "6652-2", 32, "R", "2026-06-12T08:00:00Z"),
            mic("atm-ndm", ndm, "44-8", 64, "R", "2026-06-12T08:00:00Z"),
            mic_by_name("fdc-ndm", ndm, "Cefiderocol [Susceptibility] by MIC", 1, "S", "2026-06-12T08:00:00Z"),
            gene("g-ndm", ndm, "73982-1", True, "2026-06-11T20:00:00Z"),
            gene("g-ndm-kpc", ndm, "49617-4", False, "2026-06-11T20:00:00Z"),
            organism("org-ec", ec, "112283007", "Escherichia coli", "2026-07-01T08:00:00Z"),
            mic("mem-ec", ec, "6652-2", 0.25, "S", "2026-07-02T08:00:00Z"),
            organism("org-nos", nos, "56415008", "Klebsiella pneumoniae", "2026-08-01T08:00:00Z"),
            mic("mem-nos", nos, "6652-2", 16, "R", "2026-08-02T08:00:00Z"),
            gene("g-nos", nos, "49617-4", True, "2026-08-01T20:00:00Z"),
        ],
        "DiagnosticReport": [
            report("mb-kpc", kpc, ["org-kpc", "mem-kpc", "cza-kpc"], "2026-05-02T08:00:00Z", encounter="enc-kpc"),
            report("mb-ndm", ndm, ["org-ndm", "mem-ndm", "atm-ndm", "fdc-ndm"], "2026-06-11T08:00:00Z"),
            report("mb-ec", ec, ["org-ec", "mem-ec"], "2026-07-01T08:00:00Z"),
            report("mb-nos", nos, ["org-nos", "mem-nos"], "2026-08-01T08:00:00Z"),
        ],
        "Condition": [
            condition("c-kpc-1", kpc, SNOMED, "431193003", "Bloodstream infection"),
            condition("c-kpc-2", kpc, ICD10, "R65.21", "Severe sepsis with septic shock"),
            condition("c-ndm-1", ndm, SNOMED, "233604007", "Pneumonia"),
            condition("c-ndm-2", ndm, ICD10, "R65.20", "Severe sepsis without septic shock"),
            condition("c-ec-1", ec, SNOMED, "431193003", "Bloodstream infection"),
        ],
        "AllergyIntolerance": [],
        "MedicationRequest": [
            order("rx-kpc-1", kpc, "1603837", "avibactam / ceftazidime Injectable Product", 2500, 8, "2026-05-03"),
            order("rx-kpc-2", kpc, "29561", "meropenem", 2000, 8, "2026-05-12"),
            order("rx-ndm-1", ndm, "2265706", "cefiderocol", 2000, 8, "2026-06-12"),
            order("rx-nos-1", nos, "384455", "tigecycline", 100, 12, "2026-08-01"),
        ],
    }


BAD_LINES = {
    "Observation": ['{"resourceType": "Observation", "id": "broken"',
                    json.dumps({"resourceType": "Observation", "id": "orphan", "status": "final",
                                "code": {"coding": [{"system": LOINC, "code": "2160-0"}]}})],
}
"""Line 1 past the good ones is not JSON; the next is an Observation that names no patient."""


def write_export(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for kind, items in resources().items():
        lines = [json.dumps(item) for item in items] + BAD_LINES.get(kind, [])
        (directory / f"{kind}.ndjson").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return directory
