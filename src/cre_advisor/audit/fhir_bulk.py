"""A FHIR Bulk Data export (`$export` NDJSON files) -> episodes in the JSON Lines format.

One episode per microbiology DiagnosticReport that the CDS door's reader finds to be a
carbapenem-resistant Enterobacterales culture; the case is what that reader builds from the
patient's record as of the culture's date, with only this culture's results; the prescriptions
are the antibiotic MedicationRequests authored from the culture's day to `window_days` after.
The ward is the location of the report's Encounter when the export holds it, else "unknown".

The resources are grouped by patient in memory (a Bulk export is written per resource type,
so one patient's resources are spread over every file); the episodes then go through the same
JSON Lines pipeline as any episodes file.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from cre_advisor.audit.episodes import open_text
from cre_advisor.audit.fhir_reader import (
    MB_CATEGORY,
    FhirInputError,
    FhirRecord,
    case_from_fhir,
    draft_order,
    parse_resource,
    shipped_code_maps,
)
from cre_advisor.audit.table import BadLine

UNUSED_ORDER_STATUS = frozenset({"cancelled", "entered-in-error", "draft"})


@dataclass
class Export:
    """An export's resources by patient id, its Encounters by reference, and its bad lines."""

    by_patient: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))
    encounters: dict[str, Any] = field(default_factory=dict)
    bad: list[BadLine] = field(default_factory=list)
    cultures_not_cre: int = 0


def read_export(directory: str | Path) -> Export:
    """Every `*.ndjson` / `*.ndjson.gz` file of the directory; a line that is not a valid R4
    resource, or names no patient, is a bad line (file and line in its message)."""
    export = Export()
    paths = sorted(p for p in Path(directory).iterdir() if p.name.endswith((".ndjson", ".ndjson.gz")))
    if not paths:
        raise ValueError(f"{directory}: no .ndjson files (a FHIR Bulk Data export directory holds one per type)")
    for path in paths:
        with open_text(path) as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    _add(export, path.name, number, line)
    return export


def _add(export: Export, name: str, number: int, line: str) -> None:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as error:
        export.bad.append(BadLine(number, None, f"{name} line {number}: not JSON: {error.msg}"))
        return
    rid = data.get("id") if isinstance(data, dict) else None
    try:
        resource = parse_resource(data)
    except FhirInputError as error:
        export.bad.append(BadLine(number, rid, f"{name} line {number}: {error}"))
        return
    kind = resource.get_resource_type()
    if kind == "Encounter":
        export.encounters[f"Encounter/{resource.id}"] = resource
        return
    if kind == "Patient":
        export.by_patient[resource.id].append(resource)
        return
    holder = getattr(resource, "subject", None) or getattr(resource, "patient", None)
    reference = (holder.reference or "") if holder is not None else ""
    if not reference.startswith("Patient/"):
        export.bad.append(BadLine(number, rid, f"{name} line {number}: {kind} names no Patient (subject or patient)"))
        return
    export.by_patient[reference.removeprefix("Patient/")].append(resource)


def episodes(export: Export, window_days: int = 3) -> Iterator[dict[str, Any]]:
    """Episodes of the export, patient by patient, culture by culture."""
    codes = shipped_code_maps()
    for patient_id, resources in export.by_patient.items():
        record = FhirRecord.from_resources(resources)
        members = {id(report): _member_ids(report, record) for report in record.reports}
        for report in record.reports:
            if not any(c.code == MB_CATEGORY for concept in report.category or () for c in concept.coding or ()):
                continue
            when = _day(report.effectiveDateTime or report.issued)
            if when is None:
                continue
            others = {i for rid, ids in members.items() if rid != id(report) for i in ids}
            culture = FhirRecord(
                patient=record.patient, reports=[report], conditions=record.conditions, allergies=record.allergies,
                observations=[o for o in record.observations if f"Observation/{o.id}" not in others],
            )
            found = case_from_fhir(culture, codes, when)
            if not found.is_cre:
                export.cultures_not_cre += 1
                continue
            yield {
                "episode_id": f"{patient_id}/{report.id}",
                "ward": _ward(report, export.encounters),
                "date": when.isoformat(),
                "case": found.case.model_dump(mode="json", exclude_none=True) if found.case is not None else {},
                "prescribed": _prescribed(record, codes, when, window_days),
                "unassessable": None if found.case is not None else (
                    found.refusal or f"the record does not give {', '.join(found.needs)}"),
            }


def _member_ids(report: Any, record: FhirRecord) -> set[str]:
    """The Observation references a report holds, with their members (panels)."""
    index = {f"Observation/{o.id}": o for o in record.observations}
    found: set[str] = set()
    pending = [ref.reference for ref in report.result or () if ref.reference]
    while pending:
        ref = pending.pop()
        if ref in found:
            continue
        found.add(ref)
        observation = index.get(ref)
        if observation is not None:
            pending.extend(m.reference for m in observation.hasMember or () if m.reference)
    return found


def _day(value: date | datetime | str | None) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return None


def _ward(report: Any, encounters: dict[str, Any]) -> str:
    encounter = encounters.get(report.encounter.reference if report.encounter else "")
    for location in (encounter.location or ()) if encounter is not None else ():
        if location.location is not None and location.location.display:
            return location.location.display
    return "unknown"


def _prescribed(record: FhirRecord, codes: Any, when: date, window_days: int) -> list[dict[str, Any]]:
    """Antibiotic orders (agents the advisor knows) authored from the culture's day to the window's end."""
    last = when + timedelta(days=window_days)
    out = []
    for request in record.medications:
        authored = _day(request.authoredOn)
        if request.status in UNUSED_ORDER_STATUS or authored is None or not when <= authored <= last:
            continue
        order = draft_order(request, codes)
        if order.agent is not None:
            out.append({"agent": order.agent, "dose_mg": order.dose_mg, "interval_h": order.interval_h,
                        "route": order.route})
    return out
