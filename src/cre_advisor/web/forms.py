"""The case form: HTML field names <-> the Case JSON, and validation errors back onto fields.

Field names follow the Case paths ("patient.age_years") except where the form asks in a
friendlier shape: creatinine with a unit switch, allergy rows, the carbapenemase status, the
susceptibility grid ("sus.<agent>.mic" / ".sir") and the unavailable-agent ticks. Defaults
only preset choices that change no dose (site, severity, profile, tables); age, weight and
creatinine stay empty until the user gives them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from cre_advisor.case import Case, Enzyme, Profile, RenalReplacement, Severity
from cre_advisor.input_words import CHOICE_NAMES, capital, problem
from cre_advisor.knowledge.loader import default_knowledge

ALLERGY_ROWS = 3
CREATININE_UNITS = {"mg_dl": "mg/dL", "umol_l": "µmol/L"}
CARBAPENEMASE_STATUS = {
    "not_tested": "Not tested yet",
    "none_found": "Tested: none found",
    "detected": "Detected (tick below)",
}
INCREMENT_MODES = {"none": "Not available", "parts": "From its parts", "score": "Score already known"}

DEFAULTS: dict[str, Any] = {
    "infection.severity": Severity.severe.value,
    "patient.renal_replacement": RenalReplacement.none.value,
    "creatinine_unit": "mg_dl",
    "carbapenemase.status": "not_tested",
    "isolate.breakpoints": "EUCAST-2026",
    "context.guideline_profile": Profile.idsa_2024.value,
    "increment.mode": "none",
    "infection.increment_cpe.source": "other",
}

LABELS: dict[str, str] = {
    "patient.age_years": "Age (years)",
    "patient.sex": "Sex",
    "patient.weight_kg": "Weight (kg)",
    "patient.height_cm": "Height (cm)",
    "creatinine_value": "Serum creatinine",
    "creatinine_unit": "Creatinine unit",
    "patient.creatinine_clearance_ml_min": "Measured creatinine clearance (mL/min)",
    "patient.creatinine_unstable": "Creatinine rising or falling (acute kidney injury)",
    "patient.crcl_weight_basis": "Weight for Cockcroft-Gault",
    "patient.renal_replacement": "Renal replacement",
    "patient.crrt_effluent_l_h": "CRRT effluent rate (L/h)",
    "patient.child_pugh_class": "Child-Pugh class",
    "patient.pregnant": "Pregnant",
    "patient.recent_ceftazidime_avibactam": "Recent ceftazidime-avibactam, or a known resistant isolate",
    "infection.site": "Site of infection",
    "infection.ventilator_associated": "Ventilator-associated",
    "infection.severity": "Severity",
    "infection.source_control": "Source control",
    "increment.mode": "INCREMENT-CPE score",
    "infection.increment_cpe.severe_sepsis_or_shock": "Severe sepsis or septic shock",
    "infection.increment_cpe.pitt_score": "Pitt bacteraemia score (0-14)",
    "infection.increment_cpe.charlson_index": "Charlson comorbidity index",
    "infection.increment_cpe.source": "Source of the bacteraemia",
    "infection.increment_cpe.inappropriate_early_therapy": "No active therapy in the first days",
    "infection.increment_cpe_score": "INCREMENT-CPE score (0-17)",
    "isolate.organism": "Organism",
    "carbapenemase.status": "Carbapenemase result",
    "carbapenemase.enzyme": "Carbapenemases detected",
    "isolate.carbapenemase_test": "Carbapenemase test used",
    "isolate.breakpoints": "Breakpoint table for raw MICs",
    "context.guideline_profile": "Guideline profile",
    "unavailable": "Agents not available now",
    "local": "Local carbapenemase mix (% of CRE)",
    "patient": "Patient",
    "infection": "Infection",
    "isolate": "Isolate",
    "context": "Context",
}



def _named(choice: str, blank: str | None = None) -> dict[str, str]:
    """A select's options in the shared clinical words, with an optional empty first option."""
    options = {code: capital(name) for code, name in CHOICE_NAMES[choice].items()}
    return {"": blank, **options} if blank is not None else options


CHOICES: dict[str, dict[str, str]] = {
    "patient.sex": _named("sex", "Not given"),
    "creatinine_unit": CREATININE_UNITS,
    "patient.crcl_weight_basis": _named("crcl_weight_basis", "Documented default"),
    "patient.renal_replacement": _named("renal_replacement"),
    "patient.child_pugh_class": _named("child_pugh_class", "No cirrhosis / not known"),
    "infection.site": _named("site", "Choose a site"),
    "infection.severity": _named("severity"),
    "infection.source_control": _named("source_control", "Not stated"),
    "increment.mode": INCREMENT_MODES,
    "infection.increment_cpe.source": _named("increment_cpe.source"),
    "carbapenemase.status": CARBAPENEMASE_STATUS,
    "carbapenemase.enzyme": _named("carbapenemase"),
    "isolate.carbapenemase_test": _named("carbapenemase_test", "Not stated"),
    "context.guideline_profile": _named("guideline_profile"),
    "allergy.reaction": _named("allergies.reaction", "—"),
    "sus.sir": _named("interpretation", "—"),
}

CHECKBOXES = (
    "patient.creatinine_unstable", "patient.pregnant", "patient.recent_ceftazidime_avibactam",
    "infection.ventilator_associated", "infection.increment_cpe.severe_sepsis_or_shock",
    "infection.increment_cpe.inappropriate_early_therapy",
)
MULTI = ("carbapenemase.enzyme", "unavailable")


def breakpoint_choices() -> dict[str, str]:
    """Every table name this server knows (a CLSI table is usable once a laboratory loads it)."""
    tables = default_knowledge().breakpoint_tables
    return {name: name for name in sorted(set(tables.aliases.values()))}


@dataclass
class FormState:
    """What the form shows: values by field name (lists for multi-choice) and errors by field."""

    values: dict[str, Any] = field(default_factory=lambda: dict(DEFAULTS))
    errors: dict[str, str] = field(default_factory=dict)

    def value(self, name: str) -> str:
        found = self.values.get(name, "")
        return "" if found is None else str(found)

    def checked(self, name: str, option: str = "on") -> bool:
        found = self.values.get(name)
        return option in found if isinstance(found, list) else found == option


class FormErrors(Exception):
    """The form could not become a Case; `state.errors` says where and why."""

    def __init__(self, state: FormState) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in state.errors.items()))
        self.state = state


def read_form(form: Mapping[str, Any], getlist: Any) -> FormState:
    """The submitted values as a FormState (no validation yet)."""
    values: dict[str, Any] = {}
    for name in form:
        values[name] = list(getlist(name)) if name in MULTI else str(form[name]).strip()
    for name in MULTI:
        values.setdefault(name, [])
    return FormState(values=values)


def _number(state: FormState, name: str, errors: dict[str, str], whole: bool = False) -> float | int | None:
    """The form's text as a number, the one place where text becomes a number (the Case takes numbers only)."""
    raw = state.value(name).replace(",", ".")
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        errors[name] = f"Enter a number ('{state.value(name)}' is not one)."
        return None
    if not math.isfinite(value):
        errors[name] = "Enter a finite number."
        return None
    if whole:
        if not value.is_integer():
            errors[name] = f"Enter a whole number ({state.value(name)} is not one)."
            return None
        return int(value)
    return value


def _plain_number(text: str) -> float | str:
    """'16' -> 16.0; a lab string such as '<=0.25' stays text for the Case to read."""
    try:
        value = float(text)
    except ValueError:
        return text
    return value if math.isfinite(value) else text


def _optional(state: FormState, name: str) -> str | None:
    return state.value(name) or None


def case_from_form(state: FormState) -> Case:
    """Build and validate the Case; raise FormErrors with every problem mapped to its field."""
    errors: dict[str, str] = {}
    num = lambda name: _number(state, name, errors)  # noqa: E731 - local shorthand
    whole = lambda name: _number(state, name, errors, whole=True)  # noqa: E731 - local shorthand

    patient: dict[str, Any] = {
        "age_years": num("patient.age_years"),
        "sex": _optional(state, "patient.sex"),
        "weight_kg": num("patient.weight_kg"),
        "height_cm": num("patient.height_cm"),
        "creatinine_clearance_ml_min": num("patient.creatinine_clearance_ml_min"),
        "creatinine_unstable": state.checked("patient.creatinine_unstable"),
        "crcl_weight_basis": _optional(state, "patient.crcl_weight_basis"),
        "renal_replacement": state.value("patient.renal_replacement") or RenalReplacement.none.value,
        "crrt_effluent_l_h": num("patient.crrt_effluent_l_h"),
        "child_pugh_class": _optional(state, "patient.child_pugh_class"),
        "pregnant": state.checked("patient.pregnant"),
        "recent_ceftazidime_avibactam": state.checked("patient.recent_ceftazidime_avibactam"),
    }
    creatinine = num("creatinine_value")
    if creatinine is not None:
        unit = state.value("creatinine_unit")
        if unit not in CREATININE_UNITS:
            errors["creatinine_unit"] = f"Choose one of: {', '.join(CREATININE_UNITS.values())}."
        patient["serum_creatinine_umol_l" if unit == "umol_l" else "serum_creatinine_mg_dl"] = creatinine
    allergy_rows: list[int] = []
    allergies = []
    for row in range(ALLERGY_ROWS):
        agent, reaction = state.value(f"allergy.{row}.agent"), state.value(f"allergy.{row}.reaction")
        if agent or reaction:
            allergies.append({"agent": agent, "reaction": reaction})
            allergy_rows.append(row)
    patient["allergies"] = allergies

    infection: dict[str, Any] = {
        "site": _optional(state, "infection.site"),
        "ventilator_associated": state.checked("infection.ventilator_associated"),
        "severity": _optional(state, "infection.severity"),
        "source_control": _optional(state, "infection.source_control"),
    }
    mode = state.value("increment.mode") or "none"
    if mode == "parts":
        infection["increment_cpe"] = {
            "severe_sepsis_or_shock": state.checked("infection.increment_cpe.severe_sepsis_or_shock"),
            "pitt_score": whole("infection.increment_cpe.pitt_score"),
            "charlson_index": whole("infection.increment_cpe.charlson_index"),
            "source": _optional(state, "infection.increment_cpe.source"),
            "inappropriate_early_therapy": state.checked("infection.increment_cpe.inappropriate_early_therapy"),
        }
    elif mode == "score":
        infection["increment_cpe_score"] = whole("infection.increment_cpe_score")
    elif mode != "none":
        errors["increment.mode"] = f"Choose one of: {', '.join(INCREMENT_MODES.values())}."

    status = state.value("carbapenemase.status") or "not_tested"
    enzymes = state.values.get("carbapenemase.enzyme") or []
    carbapenemase: list[str] | None
    if status == "not_tested":
        carbapenemase = None
        if enzymes:
            errors["carbapenemase.enzyme"] = "Carbapenemases are ticked but the result says 'not tested yet'."
    elif status == "none_found":
        carbapenemase = []
        if enzymes:
            errors["carbapenemase.enzyme"] = "Carbapenemases are ticked but the result says 'none found'."
    elif status == "detected":
        carbapenemase = list(enzymes)
        if not enzymes:
            errors["carbapenemase.enzyme"] = "Tick the carbapenemase(s) detected."
    else:
        carbapenemase = None
        errors["carbapenemase.status"] = f"Choose one of: {', '.join(CARBAPENEMASE_STATUS.values())}."

    susceptibility: dict[str, dict[str, Any]] = {}
    for agent in default_knowledge().agents:
        mic, sir = state.value(f"sus.{agent}.mic"), state.value(f"sus.{agent}.sir")
        entry: dict[str, Any] = {}
        if mic:
            entry["mic_mg_l"] = _plain_number(mic)
        if sir:
            entry["interpretation"] = sir
        if entry:
            susceptibility[agent] = entry

    local: dict[str, float] = {}
    for enzyme in Enzyme:
        share = num(f"local.{enzyme.value}")
        if share is not None:
            local[enzyme.value] = share / 100
    data = {
        "patient": patient,
        "infection": infection,
        "isolate": {
            "organism": state.value("isolate.organism"),
            "carbapenemase": carbapenemase,
            "carbapenemase_test": _optional(state, "isolate.carbapenemase_test"),
            "susceptibility": susceptibility,
            "breakpoints": state.value("isolate.breakpoints") or DEFAULTS["isolate.breakpoints"],
        },
        "context": {
            "unavailable_agents": list(state.values.get("unavailable") or []),
            "guideline_profile": state.value("context.guideline_profile") or DEFAULTS["context.guideline_profile"],
            "local_carbapenemase_distribution": local or None,
        },
    }
    try:
        case = Case.model_validate(data)
    except ValidationError as exc:
        for name, message in form_errors(exc, allergy_rows).items():
            errors.setdefault(name, message)  # the form's own reading of a field comes first
        raise FormErrors(FormState(state.values, errors)) from None
    if errors:
        raise FormErrors(FormState(state.values, errors))
    return case


def form_errors(exc: ValidationError, allergy_rows: Sequence[int] = ()) -> dict[str, str]:
    """Each Case validation error in clinical words (`input_words`), on the form field it belongs to."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        found = problem(error, drop=())
        errors.setdefault(field_for(found.path, allergy_rows), found.message)
    return errors


def field_for(loc: Sequence[str | int], allergy_rows: Sequence[int] = ()) -> str:
    """The form field a Case validation error belongs to (`loc` as `input_words.field_path` gives it)."""
    path = [str(p) for p in loc]
    if path[:2] == ["patient", "serum_creatinine_mg_dl"] or path[:2] == ["patient", "serum_creatinine_umol_l"]:
        return "creatinine_value"
    if path[:2] == ["patient", "allergies"] and len(path) > 2:
        index = int(path[2])
        row = allergy_rows[index] if index < len(allergy_rows) else index
        return f"allergy.{row}.{path[3] if len(path) > 3 else 'agent'}"
    if path[:2] == ["isolate", "susceptibility"] and len(path) > 2:
        return f"sus.{path[2]}.{'sir' if path[3:4] == ['interpretation'] else 'mic'}"
    if path[:2] == ["isolate", "carbapenemase"]:
        return "carbapenemase.enzyme"
    if path[:2] == ["context", "unavailable_agents"]:
        return "unavailable"
    if path[:2] == ["context", "local_carbapenemase_distribution"]:
        return "local"
    if path[:2] == ["infection", "increment_cpe"] and len(path) == 2:
        return "increment.mode"
    return ".".join(path[:3])


def state_from_case(case: Case) -> FormState:
    """The form filled in from a case (to edit a saved or just-computed case)."""
    data = case.model_dump(mode="json")
    values: dict[str, Any] = dict(DEFAULTS)
    patient, infection, isolate, context = data["patient"], data["infection"], data["isolate"], data["context"]
    for key in ("age_years", "sex", "weight_kg", "height_cm", "creatinine_clearance_ml_min", "crcl_weight_basis",
                "renal_replacement", "crrt_effluent_l_h", "child_pugh_class"):
        values[f"patient.{key}"] = _text(patient.get(key))
    for key in ("creatinine_unstable", "pregnant", "recent_ceftazidime_avibactam"):
        values[f"patient.{key}"] = "on" if patient.get(key) else ""
    if patient.get("serum_creatinine_umol_l") is not None:
        values["creatinine_value"], values["creatinine_unit"] = _text(patient["serum_creatinine_umol_l"]), "umol_l"
    elif patient.get("serum_creatinine_mg_dl") is not None:
        values["creatinine_value"], values["creatinine_unit"] = _text(patient["serum_creatinine_mg_dl"]), "mg_dl"
    for row, allergy in enumerate(patient.get("allergies") or ()):
        values[f"allergy.{row}.agent"], values[f"allergy.{row}.reaction"] = allergy["agent"], allergy["reaction"]
    for key in ("site", "severity", "source_control", "increment_cpe_score"):
        values[f"infection.{key}"] = _text(infection.get(key))
    values["infection.ventilator_associated"] = "on" if infection.get("ventilator_associated") else ""
    if infection.get("increment_cpe"):
        values["increment.mode"] = "parts"
        for key, value in infection["increment_cpe"].items():
            values[f"infection.increment_cpe.{key}"] = ("on" if value else "") if isinstance(value, bool) else _text(value)
    elif infection.get("increment_cpe_score") is not None:
        values["increment.mode"] = "score"
    values["isolate.organism"] = isolate["organism"]
    enzymes = isolate.get("carbapenemase")
    values["carbapenemase.status"] = "not_tested" if enzymes is None else ("detected" if enzymes else "none_found")
    values["carbapenemase.enzyme"] = list(enzymes or [])
    values["isolate.carbapenemase_test"] = _text(isolate.get("carbapenemase_test"))
    values["isolate.breakpoints"] = isolate["breakpoints"]
    for agent, result in (isolate.get("susceptibility") or {}).items():
        values[f"sus.{agent}.mic"] = _text(result.get("mic_mg_l"))
        values[f"sus.{agent}.sir"] = _text(result.get("interpretation"))
    values["unavailable"] = list(context.get("unavailable_agents") or [])
    values["context.guideline_profile"] = context["guideline_profile"]
    for enzyme, share in (context.get("local_carbapenemase_distribution") or {}).items():
        values[f"local.{enzyme}"] = _text(round(share * 100, 4))
    return FormState(values=values)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
