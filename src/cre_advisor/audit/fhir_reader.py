"""The one place the audit imports the CDS door's FHIR reader from.

The audit turns a Bulk Data export into episodes with the very reader the CDS Hooks door uses,
so that a record means the same to both. If that reader moves, only these imports change.
"""

from __future__ import annotations

from cre_advisor.fhir.codes import CodeMaps, shipped_code_maps
from cre_advisor.fhir.reader import (
    MB_CATEGORY,
    FhirCase,
    FhirInputError,
    FhirRecord,
    case_from_fhir,
    draft_order,
    parse_resource,
)

__all__ = [
    "MB_CATEGORY", "CodeMaps", "FhirCase", "FhirInputError", "FhirRecord", "case_from_fhir", "draft_order",
    "parse_resource", "shipped_code_maps",
]
