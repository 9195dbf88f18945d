"""FHIR R4 resources -> Case: the reader of an EHR's record (CDS Hooks door, audit readers).

Resources are parsed with the `fhir.resources.R4B` models (R4 and R4B share these resources;
the package's default R5 models reject R4 MedicationRequests), then read with the code maps
of `cre_advisor.fhir.codes`. What the record does not say stays unsaid: it becomes a
`missing_data` line, and the infection site and severity, which FHIR rarely states plainly,
are taken only from Condition codes, else listed in `needs` for the card to ask. Nothing here
chooses a drug or a dose; the engine does.
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.allergyintolerance import AllergyIntolerance
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.quantity import Quantity
from pydantic import ValidationError

from cre_advisor.case import Allergy, Case, Isolate
from cre_advisor.fhir.codes import CodeMaps, agent_from_name, key
from cre_advisor.input_words import problems
from cre_advisor.knowledge.loader import OutOfScopeOrganism, default_knowledge
from cre_advisor.microbiology import read_susceptibility, resistant_carbapenems

MB_CATEGORY = "MB"  # HL7 v2 table 0074 diagnostic service section: microbiology
_UNUSABLE_STATUS = {"entered-in-error", "cancelled", "registered"}
_MASS_MG = {"mg": 1.0, "g": 1000.0, "ug": 0.001, "mcg": 0.001}
_TIME_H = {"h": 1.0, "min": 1 / 60, "d": 24.0, "s": 1 / 3600}
_WORDS = re.compile(r"[a-z]+")
_SEVERITY_RANK = {"non_severe": 0, "severe": 1, "septic_shock": 2}


class FhirInputError(ValueError):
    """A resource the EHR sent is not valid FHIR R4; the message names the resource and field."""


# ---- parsing --------------------------------------------------------------------------------


def parse_resource(data: Any) -> Any:
    """One R4 resource as its R4B model; raises FhirInputError naming what is wrong."""
    if not isinstance(data, dict) or not isinstance(data.get("resourceType"), str):
        raise FhirInputError("expected a FHIR resource: a JSON object with a 'resourceType'")
    kind = data["resourceType"]
    try:
        model = get_fhir_model_class(kind)
    except KeyError as error:
        raise FhirInputError(f"unknown resourceType '{kind}'") from error
    try:
        return model.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        loc, name = list(first["loc"]), f"{kind}/{data.get('id', '?')}"
        if kind == "Bundle" and loc[:1] == ["entry"] and len(loc) > 2 and loc[2] == "resource":
            entry = (data.get("entry") or [])[loc[1]].get("resource") or {}
            name, loc = f"{entry.get('resourceType', '?')}/{entry.get('id', '?')} (Bundle entry {loc[1]})", loc[3:]
        raise FhirInputError(f"{name}: {'.'.join(str(p) for p in loc)}: {first['msg']}") from error


class _ParsedCache:
    """Validated resources by their exact JSON text, least recently used dropped first.

    An EHR sends the same resources again and again (patient-view, then order-select, then
    order-sign for one patient, each with the same prefetch), and validating FHIR is most of a
    hook call's work. A resource whose JSON is byte-for-byte the same as one already validated
    is not validated again. The models are shared, so nothing may modify them (the reader
    only reads). Kept in process memory only, bounded by `size`.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def parse(self, data: Any) -> Any:
        try:
            text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        except (TypeError, ValueError):  # not JSON data: let validation say what is wrong
            return parse_resource(data)
        with self._lock:
            found = self._items.get(text)
            if found is not None:
                self._items.move_to_end(text)
                return found
        parsed = parse_resource(data)
        with self._lock:
            self._items[text] = parsed
            if len(self._items) > self.size:
                self._items.popitem(last=False)
        return parsed


_PARSED = _ParsedCache(size=4096)


def read_resources(value: Any) -> list[Any]:
    """The validated resources of a prefetch value or context field: a Bundle's entries, or itself.

    A Bundle's own fields and each entry's resource are validated apart (entries through the
    cache); an invalid entry is named as in `parse_resource`, with its place in the Bundle.
    """
    if not isinstance(value, dict) or value.get("resourceType") != "Bundle":
        return [_PARSED.parse(value)]
    entries = value.get("entry")
    if entries is not None and not isinstance(entries, list):
        raise FhirInputError(f"Bundle/{value.get('id', '?')}: entry: Input should be a valid list")
    shell = [{k: v for k, v in e.items() if k != "resource"} if isinstance(e, dict) else e for e in entries or ()]
    _PARSED.parse({**value, "entry": shell} if entries is not None else value)
    out = []
    for index, entry in enumerate(entries or ()):
        resource = entry.get("resource")
        if resource is None:
            continue
        try:
            out.append(_PARSED.parse(resource))
        except FhirInputError as error:
            raise FhirInputError(f"{error} (Bundle entry {index})") from error
    return out


def _by_reference(resources: Iterable[Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for resource in resources:
        if resource.id:
            found[f"{resource.get_resource_type()}/{resource.id}"] = resource
    return found


@dataclass
class FhirRecord:
    """The parsed resources of one hook call, by type; later duplicates of an id are dropped."""

    patient: Patient | None = None
    observations: list[Observation] = field(default_factory=list)
    reports: list[DiagnosticReport] = field(default_factory=list)
    conditions: list[Condition] = field(default_factory=list)
    allergies: list[AllergyIntolerance] = field(default_factory=list)
    medications: list[MedicationRequest] = field(default_factory=list)

    @classmethod
    def from_resources(cls, resources: Iterable[Any]) -> FhirRecord:
        record = cls()
        seen: set[str] = set()
        lists = {
            "Observation": record.observations, "DiagnosticReport": record.reports, "Condition": record.conditions,
            "AllergyIntolerance": record.allergies, "MedicationRequest": record.medications,
        }
        for resource in resources:
            kind = resource.get_resource_type()
            ident = f"{kind}/{resource.id}" if resource.id else None
            if ident is not None and ident in seen:
                continue
            if ident is not None:
                seen.add(ident)
            if kind == "Patient":
                record.patient = record.patient or resource
            elif kind in lists:
                lists[kind].append(resource)
        return record


# ---- small readers ----------------------------------------------------------------------------


def codings(concept: CodeableConcept | None) -> list[tuple[str, str]]:
    """(system|code key, display) of every coding; the concept text comes last with no code."""
    if concept is None:
        return []
    out = [(key(c.system, c.code), c.display or "") for c in concept.coding or ()]
    if concept.text:
        out.append(("", concept.text))
    return out


def lookup(concept: CodeableConcept | None, table: dict[str, str]) -> str | None:
    for code_key, _ in codings(concept):
        if code_key in table:
            return table[code_key]
    return None


def concept_text(concept: CodeableConcept | None) -> str:
    if concept is None:
        return ""
    if concept.text:
        return concept.text
    return next((c.display for c in concept.coding or () if c.display), "")


def _when(observation: Observation) -> datetime | date | str:
    for value in (observation.effectiveDateTime, observation.effectiveInstant, observation.issued):
        if value is not None:
            return value
    if observation.effectivePeriod is not None and observation.effectivePeriod.start is not None:
        return observation.effectivePeriod.start
    return ""


def _sort_key(value: datetime | date | str) -> str:
    return value.isoformat() if isinstance(value, (date, datetime)) else str(value)


def _usable(observation: Observation) -> bool:
    return observation.status not in _UNUSABLE_STATUS


def _newest(observations: Iterable[Observation]) -> list[Observation]:
    return sorted((o for o in observations if _usable(o)), key=lambda o: _sort_key(_when(o)), reverse=True)


def _unit(quantity: Quantity) -> str:
    return (quantity.code or quantity.unit or "").strip()


def age_years(birth_date: date | str, today: date) -> float:
    """Whole years on `today`; a partial birth date (year, or year-month) counts from its start."""
    if isinstance(birth_date, str):
        parts = [int(p) for p in birth_date.split("-")]
        birth_date = date(parts[0], parts[1] if len(parts) > 1 else 1, 1)
    years = today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))
    return float(years)


def quantity_mg(quantity: Quantity | None) -> float | None:
    """A dose quantity in mg, or None when it is not a mass."""
    if quantity is None or quantity.value is None:
        return None
    factor = _MASS_MG.get(_unit(quantity).lower())
    return None if factor is None else float(quantity.value) * factor


def _hours(value: Any, unit: str | None) -> float | None:
    factor = _TIME_H.get((unit or "").lower())
    return None if value is None or factor is None else float(value) * factor


# ---- draft orders ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DraftOrder:
    """An antibiotic order the clinician is writing, as the door compares it with the plan."""

    resource_id: str
    agent: str | None
    name: str
    dose_mg: float | None
    interval_h: float | None
    infusion_h: float | None
    route: str | None


def medication_agent(request: MedicationRequest, codes: CodeMaps) -> tuple[str | None, str]:
    """The agent a MedicationRequest orders (by code, then by name) and the name it uses."""
    concept = request.medicationCodeableConcept
    if concept is None and request.medicationReference is not None:
        reference = (request.medicationReference.reference or "").lstrip("#")
        for contained in request.contained or ():
            if contained.get_resource_type() == "Medication" and contained.id == reference:
                concept = contained.code
    name = concept_text(concept) or (request.medicationReference.display if request.medicationReference else "") or ""
    agent = lookup(concept, codes.medications)
    if agent is None:
        for _, text in codings(concept):
            agent = agent_from_name(text) if text else None
            if agent:
                break
    return agent, name


def draft_order(request: MedicationRequest, codes: CodeMaps) -> DraftOrder:
    agent, name = medication_agent(request, codes)
    dose_mg = interval_h = infusion_h = None
    route = None
    if request.dosageInstruction:
        dosage = request.dosageInstruction[0]
        for dose_rate in dosage.doseAndRate or ():
            dose_mg = dose_mg or quantity_mg(dose_rate.doseQuantity)
        repeat = dosage.timing.repeat if dosage.timing is not None else None
        if repeat is not None:
            period = _hours(repeat.period, repeat.periodUnit)
            if period is not None:
                interval_h = period / float(repeat.frequency or 1)
            infusion_h = _hours(repeat.duration, repeat.durationUnit)
        route = concept_text(dosage.route) or None
    return DraftOrder(
        resource_id=f"MedicationRequest/{request.id}", agent=agent, name=name or agent or "medication",
        dose_mg=dose_mg, interval_h=interval_h, infusion_h=infusion_h, route=route,
    )


def draft_orders(resources: Iterable[Any], codes: CodeMaps, selections: Iterable[str] | None = None) -> list[DraftOrder]:
    """The MedicationRequests among the draft orders (only the selected ones when given)."""
    chosen = set(selections) if selections is not None else None
    orders = []
    for resource in resources:
        if resource.get_resource_type() != "MedicationRequest":
            continue
        order = draft_order(resource, codes)
        if chosen is None or order.resource_id in chosen:
            orders.append(order)
    return orders


# ---- microbiology -------------------------------------------------------------------------------


@dataclass
class IsolateReading:
    """One isolate as the laboratory reported it, before it becomes a Case isolate."""

    organism: str
    organism_in_scope: bool
    susceptibility: dict[str, dict[str, Any]] = field(default_factory=dict)
    genes_detected: set[str] = field(default_factory=set)
    genes_tested: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def isolate(self) -> Isolate:
        carbapenemase = sorted(self.genes_detected) if self.genes_tested else None
        return Isolate(organism=self.organism, carbapenemase=carbapenemase, susceptibility=self.susceptibility)


def _organism(observation: Observation, codes: CodeMaps) -> tuple[str, bool] | None:
    """(organism name, in scope) when the observation names an organism."""
    concept = observation.valueCodeableConcept
    if concept is None:
        return None
    knowledge = default_knowledge()
    candidates = [codes.organisms[k] for k, _ in codings(concept) if k in codes.organisms]
    candidates += [text for _, text in codings(concept) if text]
    for name in candidates:
        try:
            return knowledge.organism(name).name, True
        except OutOfScopeOrganism as error:
            if "not an Enterobacterales species" in str(error):
                return name, False
    return None


def _susceptibility_agent(observation: Observation, codes: CodeMaps) -> tuple[str, bool] | None:
    """(agent, code says MIC) for a susceptibility result, by code then by a named test."""
    agent = lookup(observation.code, codes.mic)
    if agent is not None:
        return agent, True
    agent = lookup(observation.code, codes.susceptibility)
    if agent is not None:
        return agent, False
    text = " ".join(t for _, t in codings(observation.code)).lower()
    if "susc" in text or "mic" in text.split() or "minimum inhibitory" in text:
        agent = agent_from_name(text)
        if agent is not None:
            return agent, "mic" in text.split() or "minimum inhibitory" in text
    return None


_CATEGORY_WORDS = (("increased exposure", "I"), ("non-susceptible", "R"), ("not susceptible", "R"),
                   ("resistant", "R"), ("intermediate", "I"), ("susceptible", "S"), ("sensitive", "S"))


def _uncoded_words(concepts: Iterable[CodeableConcept | None]) -> list[str]:
    """The text of concepts: their text, displays, and codes that carry no system."""
    words = []
    for concept in concepts:
        if concept is None:
            continue
        words.extend(c.display or "" for c in concept.coding or ())
        words.extend(c.code or "" for c in concept.coding or () if not c.system)
        words.append(concept.text or "")
    return [w.strip() for w in words if w and w.strip()]


def _category_from_text(words: list[str], codes: CodeMaps) -> str | None:
    """S/I/R from words, only when every word that names a category names the same one."""
    found = set()
    for word in words:
        lowered = word.lower()
        if word.upper() in codes.interpretation_letters:
            found.add(codes.interpretation_letters[word.upper()])
            continue
        for phrase, letter in _CATEGORY_WORDS:
            if phrase in lowered:
                found.add(letter)
                break
    return found.pop() if len(found) == 1 else None


def _coded(concepts: Iterable[CodeableConcept | None], table: dict[str, str]) -> tuple[str, str] | None:
    """(value, 'system|code') of the first coding a table knows, by system and code only."""
    for concept in concepts:
        for coding in (concept.coding if concept is not None else None) or ():
            found = table.get(key(coding.system, coding.code))
            if found is not None:
                return found, key(coding.system, coding.code)
    return None


def _interpretation(observation: Observation, agent: str, codes: CodeMaps, notes: list[str]) -> str | None:
    """S/I/R of a susceptibility result: interpretation codes, then a coded value, then words.

    A result that carries an interpretation the reader cannot place is said in the notes and
    not used; it is never guessed from a partial match.
    """
    concepts = [*(observation.interpretation or ()), observation.valueCodeableConcept]
    coded = _coded(concepts, codes.interpretations)
    if coded is not None:
        if coded[1].endswith("|NS"):
            notes.append(f"{agent}: reported non-susceptible (NS), read as R")
        return coded[0]
    default = codes.systems["interpretation"]
    if any(key(c.system or default, c.code) in codes.unusable_interpretations for x in concepts if x for c in x.coding or ()):
        notes.append(f"{agent}: interpretation SDD has no S/I/R equivalent; the MIC decides")
        return None
    words = _uncoded_words(concepts)
    letter = _category_from_text(words, codes)
    if letter is not None:
        notes.append(f"{agent}: interpretation read from uncoded text '{', '.join(words)}' as {letter}")
    elif any(x is not None for x in concepts):
        shown = ", ".join(words) or ", ".join(
            f"{c.system or 'no system'} {c.code}" for x in concepts if x for c in x.coding or ()
        )
        notes.append(f"{agent}: result '{shown}' could not be read as S, I or R; not used")
    return letter


def _read_result(observation: Observation, agent: str, is_mic: bool, codes: CodeMaps, notes: list[str]) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    quantity = observation.valueQuantity
    if quantity is not None and quantity.value is not None:
        unit = _unit(quantity).lower()
        if unit in ("mg/l", "ug/ml", "µg/ml", "mcg/ml") or (is_mic and unit == ""):
            value = f"{float(quantity.value):g}"
            entry["mic_mg_l"] = f"{quantity.comparator}{value}" if quantity.comparator else float(quantity.value)
        else:
            notes.append(f"{agent}: result unit '{_unit(quantity)}' is not an MIC in mg/L; value not used")
    elif observation.valueString:
        entry["mic_mg_l"] = observation.valueString
    letter = _interpretation(observation, agent, codes, notes)
    if letter is not None:
        entry["interpretation"] = letter
    return entry


_NEGATIVE = {"negative", "neg", "nd", "absent"}
_POSITIVE = {"detected", "positive", "pos", "det", "present"}


@dataclass(frozen=True)
class GeneResult:
    """One carbapenemase gene result; `detected` is None when it could not be read."""

    enzyme: str
    detected: bool | None
    why: str = ""


def _gene(observation: Observation, codes: CodeMaps) -> GeneResult | None:
    """The gene result, read by system and code first; words only when no coding is known."""
    enzyme = lookup(observation.code, codes.genes)
    if enzyme is None:
        return None
    if observation.valueBoolean is not None:
        return GeneResult(enzyme, observation.valueBoolean)
    concepts = [observation.valueCodeableConcept, *(observation.interpretation or ())]
    coded = _coded(concepts, codes.qualitative)
    if coded is not None:
        value, code_key = coded
        if value == "indeterminate":
            system, _, code = code_key.partition("|")
            return GeneResult(enzyme, None, f"reported {codes.display(system, code)}")
        return GeneResult(enzyme, value == "detected")
    words = _uncoded_words(concepts) + ([observation.valueString] if observation.valueString else [])
    text = " ".join(words).lower()
    found = set(_WORDS.findall(text))
    if "not detected" in text or found & _NEGATIVE:
        return GeneResult(enzyme, False)
    if found & _POSITIVE:
        return GeneResult(enzyme, True)
    shown = ", ".join(words) or ", ".join(
        f"{c.system or 'no system'} {c.code}" for x in concepts if x for c in x.coding or ()
    ) or "no value"
    return GeneResult(enzyme, None, f"value '{shown}' is not a known detected / not detected code")


def reference_key(reference: str | None) -> str:
    """'Type/id' of a literal reference, relative or absolute ('.../r4/Observation/1/_history/2')."""
    parts = [p for p in (reference or "").split("/") if p]
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    return "/".join(parts[-2:]) if len(parts) >= 2 else ""


def _members(observation: Observation, index: dict[str, Any], unresolved: set[str], seen: set[str]) -> Iterator[Observation]:
    """The observation and its `hasMember` panel, depth first; references not found are kept."""
    yield observation
    for member in observation.hasMember or ():
        ref = reference_key(member.reference)
        if not ref or ref in seen:
            continue
        seen.add(ref)
        child = index.get(ref)
        if child is None:
            unresolved.add(ref)
        elif child.get_resource_type() == "Observation":
            yield from _members(child, index, unresolved, seen)


def read_isolates(record: FhirRecord, codes: CodeMaps) -> list[IsolateReading]:
    """Isolates, newest first: one per microbiology report, or one from unreported results.

    A report's results and their `hasMember` panels are followed; a result a report links but
    the record does not hold is named in the isolate's `missing`, never taken as "not tested".
    """
    index = _by_reference([*record.observations, *record.reports])
    groups: list[tuple[str, list[Observation], set[str]]] = []
    grouped: set[int] = set()
    for report in record.reports:
        if not any(c.code == MB_CATEGORY for concept in report.category or () for c in concept.coding or ()):
            continue
        unresolved: set[str] = set()
        seen: set[str] = set()
        members = []
        for ref in report.result or ():
            found = index.get(reference_key(ref.reference))
            if found is None:
                unresolved.add(reference_key(ref.reference) or str(ref.reference))
            elif reference_key(ref.reference) not in seen:
                seen.add(reference_key(ref.reference))
                members.extend(_members(found, index, unresolved, seen))
        grouped.update(id(m) for m in members)
        when = report.effectiveDateTime or report.issued or ""
        groups.append((_sort_key(when), members, unresolved))
    loose = [o for o in record.observations if id(o) not in grouped]
    loose_organisms = [o for o in loose if _organism(o, codes)]
    if loose_organisms or not groups:
        unresolved = set()
        for observation in loose:  # a loose panel's members are loose too; only absent ones matter
            for _ in _members(observation, index, unresolved, set()):
                pass
        groups.append((_sort_key(max((_when(o) for o in loose), key=_sort_key, default="")), loose, unresolved))

    isolates = []
    gene_results = [g for o in _newest(record.observations) if (g := _gene(o, codes)) is not None]
    readable = {g.enzyme for g in gene_results if g.detected is not None}
    for _, members, unresolved in sorted(groups, key=lambda g: g[0], reverse=True):
        members = [m for m in members if _usable(m)]
        organism = next((found for m in members if (found := _organism(m, codes))), None)
        if organism is None:
            continue
        reading = IsolateReading(organism=organism[0], organism_in_scope=organism[1])
        if unresolved:
            reading.missing.append(
                f"laboratory results linked from the report but not available ({', '.join(sorted(unresolved))}): "
                "susceptibilities in them are unknown, not absent"
            )
        for observation in _newest(members):
            found = _susceptibility_agent(observation, codes)
            if found is None or found[0] in reading.susceptibility:
                continue
            entry = _read_result(observation, found[0], found[1], codes, reading.notes)
            if entry:
                reading.susceptibility[found[0]] = entry
        for gene in gene_results:
            if gene.detected is None:
                if gene.enzyme not in readable:
                    reading.missing.append(f"{gene.enzyme} gene result could not be read ({gene.why}); not used: "
                                           "confirm it with the laboratory")
                continue
            reading.genes_tested.add(gene.enzyme)
            if gene.detected:
                reading.genes_detected.add(gene.enzyme)
        isolates.append(reading)
    return isolates


def is_carbapenem_resistant(isolate: Isolate, site: str | None) -> bool:
    """CRE for this door: a carbapenemase reported, or a carbapenem read as R.

    Imipenem alone does not count for Morganellaceae (Proteus, Morganella, Providencia), which
    are intrinsically less susceptible to it (clinical SPEC section 0).
    """
    if isolate.carbapenemase:
        return True
    knowledge = default_knowledge()
    reading = read_susceptibility(isolate, site or "other", knowledge)
    return bool(resistant_carbapenems(reading, knowledge.organism(isolate.organism)))


# ---- the case ---------------------------------------------------------------------------------


@dataclass
class FhirCase:
    """What the record says: the Case when it is complete, else what is missing and why."""

    case: Case | None
    isolate: Isolate | None
    is_cre: bool
    organism: str | None
    missing_data: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    needs: list[str] = field(default_factory=list)
    refusal: str | None = None


def _patient_fields(record: FhirRecord, codes: CodeMaps, today: date, missing: list[str], notes: list[str]) -> dict[str, Any]:
    patient: dict[str, Any] = {}
    if record.patient is None or record.patient.birthDate is None:
        missing.append("patient age: no Patient resource with a birthDate")
    else:
        patient["age_years"] = age_years(record.patient.birthDate, today)
        if isinstance(record.patient.birthDate, str):
            notes.append("birth date is partial: age counted from the start of the year or month given")
    if record.patient is not None and record.patient.gender in ("female", "male"):
        patient["sex"] = record.patient.gender

    def newest(codes_wanted: frozenset[str]) -> Observation | None:
        matches = [o for o in record.observations if any(k in codes_wanted for k, _ in codings(o.code))]
        return next((o for o in _newest(matches) if o.valueQuantity is not None), None)

    for field_name, wanted, units in (
        ("weight_kg", codes.weight, {"kg": 1.0, "g": 0.001, "[lb_av]": 0.45359237, "lb": 0.45359237}),
        ("height_cm", codes.height, {"cm": 1.0, "m": 100.0, "[in_i]": 2.54, "in": 2.54}),
    ):
        observation = newest(wanted)
        if observation is None:
            missing.append(f"patient {field_name.split('_')[0]}: no recent observation (LOINC {', '.join(sorted(k.split('|')[1] for k in wanted))})")
            continue
        factor = units.get(_unit(observation.valueQuantity))
        if factor is None:
            missing.append(f"patient {field_name.split('_')[0]}: unit '{_unit(observation.valueQuantity)}' not understood")
        else:
            patient[field_name] = round(float(observation.valueQuantity.value) * factor, 1)

    creatinine = newest(codes.creatinine_mg_dl | codes.creatinine_umol_l)
    if creatinine is None:
        missing.append("serum creatinine: no recent result (LOINC 2160-0 mg/dL or 14682-9 umol/L)")
    else:
        unit = _unit(creatinine.valueQuantity).lower().replace("µ", "u")
        value = float(creatinine.valueQuantity.value)
        if unit == "mg/dl":
            patient["serum_creatinine_mg_dl"] = value
        elif unit == "umol/l":
            patient["serum_creatinine_umol_l"] = value
        else:
            missing.append(f"serum creatinine: unit '{_unit(creatinine.valueQuantity)}' not understood (mg/dL or umol/L)")
    patient["allergies"] = _allergies(record, codes, notes)
    return patient


def _allergies(record: FhirRecord, codes: CodeMaps, notes: list[str]) -> list[dict[str, str]]:
    """Allergies to agents or classes the knowledge base knows, with the worst reaction recorded.

    Anaphylaxis and severe skin reactions come from the manifestation text. A high-criticality
    allergy without a readable manifestation is treated as anaphylaxis (the cautious reading),
    and the card says so.
    """
    out = []
    for allergy in record.allergies:
        status = concept_text(allergy.clinicalStatus).lower() or next(
            (c.code for c in (allergy.clinicalStatus.coding if allergy.clinicalStatus else ()) or ()), "active"
        )
        if status in ("inactive", "resolved") or concept_text(allergy.verificationStatus).lower() in ("refuted", "entered-in-error"):
            continue
        agent = lookup(allergy.code, codes.medications)
        name = concept_text(allergy.code)
        allergen = agent or name
        if not allergen:
            continue
        manifestations = " ".join(
            concept_text(m).lower() for reaction in allergy.reaction or () for m in reaction.manifestation or ()
        )
        if any(w in manifestations for w in ("anaphyla", "angioedema")):
            reaction = "anaphylaxis"
        elif any(w in manifestations for w in ("stevens", "epidermal necrolysis", "dress", "eosinophilia")):
            reaction = "severe_cutaneous"
        elif allergy.type == "intolerance":
            reaction = "intolerance"
        elif allergy.criticality == "high" or any(r.severity == "severe" for r in allergy.reaction or ()):
            reaction = "anaphylaxis"
            notes.append(f"allergy to {allergen}: high criticality without a named reaction, treated as anaphylaxis")
        elif manifestations or allergy.criticality == "low":
            reaction = "mild"
        else:
            reaction = "anaphylaxis"
            notes.append(f"allergy to {allergen}: reaction not recorded, treated as anaphylaxis until clarified")
        try:
            out.append(Allergy(agent=allergen, reaction=reaction).model_dump(mode="json"))
        except ValidationError:
            notes.append(f"allergy to '{name}' is not an antibiotic or class the advisor knows; not used")
    return out


def _infection_fields(record: FhirRecord, codes: CodeMaps, notes: list[str]) -> dict[str, Any]:
    """Site and severity from active Condition codes (the worst severity named).

    One site named (by any number of Conditions) is used, and the card says which code gave it.
    Two different sites (pneumonia and a bacteremia code, say) are not ranked here: which one
    is the primary infection is a clinical call, so the site is left for the clinician.
    """
    infection: dict[str, Any] = {}
    sites: dict[str, list[str]] = {}
    for condition in record.conditions:
        status = next((c.code for c in (condition.clinicalStatus.coding if condition.clinicalStatus else ()) or ()), "active")
        if status not in ("active", "recurrence", "relapse"):
            continue
        for coding in (condition.code.coding if condition.code else None) or ():
            site = codes.site(coding.system, coding.code)
            if site is not None:
                sites.setdefault(site, []).append(f"{codes.display(coding.system, coding.code)} ({coding.code})")
                break
        severity = lookup(condition.code, codes.severities)
        if severity is not None and _SEVERITY_RANK[severity] > _SEVERITY_RANK.get(infection.get("severity", ""), -1):
            infection["severity"] = severity
    if len(sites) == 1:
        site, named = next(iter(sites.items()))
        infection["site"] = site
        notes.append(f"infection site {site.replace('_', ' ')} read from Condition {', '.join(dict.fromkeys(named))}")
    elif sites:
        found = "; ".join(f"{site.replace('_', ' ')}: {', '.join(dict.fromkeys(n))}" for site, n in sites.items())
        notes.append(f"the record's Conditions name more than one infection site ({found}); the primary site is asked")
    return infection


def case_from_fhir(record: FhirRecord, codes: CodeMaps, today: date) -> FhirCase:
    """The Case the record supports, or why it cannot be built yet."""
    missing: list[str] = []
    notes: list[str] = []
    isolates = read_isolates(record, codes)
    in_scope = [i for i in isolates if i.organism_in_scope]
    if not in_scope:
        organism = isolates[0].organism if isolates else None
        return FhirCase(case=None, isolate=None, is_cre=False, organism=organism)

    infection = _infection_fields(record, codes, notes)
    site = infection.get("site")
    chosen, chosen_isolate = in_scope[0], in_scope[0].isolate()
    for reading in in_scope:
        isolate = reading.isolate()
        if is_carbapenem_resistant(isolate, site):
            chosen, chosen_isolate = reading, isolate
            break
    else:
        return FhirCase(case=None, isolate=chosen_isolate, is_cre=False, organism=chosen.organism)

    notes.extend(chosen.notes)
    missing.extend(chosen.missing)
    if not chosen.genes_tested:
        missing.append("carbapenemase genes: no KPC/NDM/OXA-48/VIM/IMP result in the record")
    patient = _patient_fields(record, codes, today, missing, notes)
    needs = [f"infection.{name}" for name in ("site", "severity") if name not in infection]
    if "age_years" not in patient:
        needs.append("patient.age_years")
    partial = {"patient": patient, "infection": infection, "isolate": chosen_isolate.model_dump(mode="json", exclude_none=True)}
    found = FhirCase(
        case=None, isolate=chosen_isolate, is_cre=True, organism=chosen.organism, missing_data=missing, notes=notes,
        needs=needs,
    )
    if not needs:
        try:
            found.case = Case.model_validate(partial)
        except ValidationError as error:  # an implausible value is a "cannot read", never a dose
            found.refusal = problems(error.errors())[0].line.rstrip(".")  # the card ends the sentence
    return found
