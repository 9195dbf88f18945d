"""The CDS services this server offers, as its discovery endpoint lists them.

Prefetch templates use token searches with `system|code` and `_sort=-date` (the spec's example
`sort:desc=date` is not FHIR search syntax). LOINC codes come from codes.yaml so discovery and
the FHIR reader cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from cre_advisor.fhir.codes import shipped_code_maps

PATIENT = "{{context.patientId}}"


@dataclass(frozen=True)
class Service:
    id: str
    hook: str
    title: str
    description: str
    required: frozenset[str]
    context_fields: tuple[str, ...]

    def discovery(self) -> dict[str, Any]:
        return {
            "hook": self.hook, "id": self.id, "title": self.title, "description": self.description,
            "prefetch": prefetch_templates(),
            "usageRequirements": (
                "Needs the Patient and the microbiology reports, by prefetch or with fhirServer and "
                "fhirAuthorization; every call must carry a JWT signed by a configured client (ES384, RS384 or ES256)."
            ),
        }


def _codes(*names: str) -> str:
    maps = shipped_code_maps()
    wanted = set().union(*(getattr(maps, name) for name in names))
    return ",".join(sorted(wanted))


@cache
def prefetch_templates() -> dict[str, str]:
    """Prefetch key -> FHIR query template, shared by every service."""
    maps = shipped_code_maps()
    observation = f"Observation?patient={PATIENT}&code="
    genes = ",".join(sorted(maps.genes))
    return {
        "patient": f"Patient/{PATIENT}",
        "weight": f"{observation}{_codes('weight')}&_sort=-date&_count=1",
        "height": f"{observation}{_codes('height')}&_sort=-date&_count=1",
        "creatinine": f"{observation}{_codes('creatinine_mg_dl', 'creatinine_umol_l')}&_sort=-date&_count=1",
        "microbiology": f"DiagnosticReport?patient={PATIENT}&category=MB&_sort=-date&_include=DiagnosticReport:result",
        "carbapenemase-genes": f"{observation}{genes}&_sort=-date",
        "conditions": f"Condition?patient={PATIENT}&clinical-status=active",
        "allergies": f"AllergyIntolerance?patient={PATIENT}",
        "medications": f"MedicationRequest?patient={PATIENT}&status=active",
    }


REQUIRED = frozenset({"patient", "microbiology"})

SERVICES: dict[str, Service] = {
    service.id: service
    for service in (
        Service(
            id="cre-advisor-patient-view", hook="patient-view", title="CRE treatment plan",
            description="When the patient has a carbapenem-resistant Enterobacterales isolate: the mechanism, "
            "the ranked and renally dosed options, what to avoid and what result is missing.",
            required=REQUIRED, context_fields=("patientId",),
        ),
        Service(
            id="cre-advisor-order-select", hook="order-select", title="CRE plan check of a selected antibiotic",
            description="Checks a newly selected antibiotic against the CRE plan: agents the isolate resists or "
            "that do not fit the site, and the dose for this patient's renal function.",
            required=REQUIRED, context_fields=("patientId", "selections", "draftOrders"),
        ),
        Service(
            id="cre-advisor-order-sign", hook="order-sign", title="CRE plan check before signing",
            description="Before signing: flags antibiotics that must not be given for this isolate and site, "
            "orders outside the plan and mis-dosed orders, with one-click replacements.",
            required=REQUIRED, context_fields=("patientId", "draftOrders"),
        ),
    )
}
