"""FHIR R4 reading, shared by every door that receives an EHR's record.

`reader` turns parsed resources into a Case (or says what is missing); `codes` holds the code
maps it reads them with (codes.yaml plus a hospital's local codes). The CDS Hooks door uses
both; a stewardship-audit reader of FHIR Bulk NDJSON can call `case_from_resources` on the
resources of one patient.

    from cre_advisor.fhir import case_from_resources
    found = case_from_resources([patient_json, observation_json, ...], today=date.today())
    if found.case is not None: ...          # a complete Case for the engine
    else: found.missing_data, found.needs    # what the record lacks
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from cre_advisor.fhir.codes import CodeMaps, shipped_code_maps
from cre_advisor.fhir.reader import FhirCase, FhirInputError, FhirRecord, case_from_fhir, read_resources

__all__ = ["FhirCase", "FhirInputError", "case_from_resources"]


def case_from_resources(resources: Iterable[dict[str, Any]] | dict[str, Any], today: date,
                        codes: CodeMaps | None = None) -> FhirCase:
    """A Case from FHIR R4 JSON: a Bundle, one resource, or a list of either (e.g. NDJSON lines).

    Patient, Observation, Condition, AllergyIntolerance, MedicationRequest and DiagnosticReport
    are read; other resource types are parsed (so invalid FHIR still raises FhirInputError)
    and ignored. `codes` defaults to the shipped code maps; pass a hospital's
    `shipped_code_maps().with_local(...)` to read its local codes too.
    """
    items = [resources] if isinstance(resources, dict) else list(resources)
    parsed = [r for item in items for r in read_resources(item)]
    return case_from_fhir(FhirRecord.from_resources(parsed), codes or shipped_code_maps(), today)
