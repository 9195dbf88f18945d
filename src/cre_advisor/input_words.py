"""Clinical words for input and its errors: the one mapping every door uses.

The web form, the REST API, the command line and the CDS Hooks reader all validate input with
the same models (`cre_advisor.case`); this module turns what those models refuse into a
sentence a night-shift clinician can act on ("Effluent rate applies only to CRRT") and names
the field the way the ward does ("CRRT effluent rate"), not as a JSON path. The JSON path is
still given to programs (`Problem.path`), and for a choice the accepted codes are listed, so
an API client can correct its request.

This module imports nothing from the project: the models import their sentences from here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

# ---- field names, as a clinician calls them (lower case inside a sentence) ---------------------
# Looked up by the field's dotted path, then by shorter tails of it, so that "agent" inside an
# allergy ("allergies.agent") is the allergen while a top-level "agent" is the agent to dose.
FIELD_NAMES: dict[str, str] = {
    "patient": "patient", "infection": "infection", "isolate": "isolate", "context": "context",
    "age_years": "age", "sex": "sex", "weight_kg": "weight", "height_cm": "height",
    "serum_creatinine_mg_dl": "serum creatinine", "serum_creatinine_umol_l": "serum creatinine",
    "creatinine_clearance_ml_min": "measured creatinine clearance", "crcl_ml_min": "creatinine clearance",
    "creatinine_unstable": "creatinine rising or falling", "crcl_weight_basis": "weight for Cockcroft-Gault",
    "renal_replacement": "renal replacement", "crrt_effluent_l_h": "CRRT effluent rate",
    "child_pugh_class": "Child-Pugh class", "pregnant": "pregnancy", "allergies": "allergies",
    "allergies.agent": "allergen", "allergies.reaction": "allergic reaction",
    "recent_ceftazidime_avibactam": "recent ceftazidime-avibactam",
    "site": "site of infection", "ventilator_associated": "ventilator-associated", "severity": "severity",
    "source_control": "source control", "increment_cpe": "INCREMENT-CPE score",
    "increment_cpe_score": "INCREMENT-CPE score", "severe_sepsis_or_shock": "severe sepsis or septic shock",
    "pitt_score": "Pitt bacteraemia score", "charlson_index": "Charlson comorbidity index",
    "increment_cpe.source": "source of the bacteraemia",
    "inappropriate_early_therapy": "no active therapy in the first days",
    "organism": "organism", "carbapenemase": "carbapenemase result", "carbapenemase_test": "carbapenemase test",
    "susceptibility": "susceptibility results", "mic_mg_l": "MIC", "interpretation": "S/I/R category",
    "breakpoints": "breakpoint table", "unavailable_agents": "agents not available",
    "guideline_profile": "guideline profile", "local_carbapenemase_distribution": "local carbapenemase mix",
    "agent": "agent", "variant": "dose variant", "route": "route", "mic": "MIC",
}

# ---- readable names of the choices (the codes stay the contract) ------------------------------
CHOICE_NAMES: dict[str, dict[str, str]] = {
    "sex": {"female": "female", "male": "male"},
    "renal_replacement": {"none": "none", "intermittent_hemodialysis": "intermittent haemodialysis", "crrt": "CRRT"},
    "crcl_weight_basis": {"actual": "actual weight", "ideal": "ideal weight", "adjusted": "adjusted weight"},
    "child_pugh_class": {"A": "A", "B": "B", "C": "C"},
    "allergies.reaction": {
        "anaphylaxis": "anaphylaxis", "severe_cutaneous": "severe skin reaction (SJS/TEN, DRESS)",
        "mild": "mild", "intolerance": "intolerance",
    },
    "site": {
        "bloodstream": "bloodstream", "intra_abdominal": "intra-abdominal",
        "urinary_complicated": "complicated urinary tract or pyelonephritis", "cystitis": "cystitis",
        "pneumonia": "pneumonia", "skin_soft_tissue": "skin and soft tissue", "bone_joint": "bone and joint",
        "cns": "central nervous system", "other": "other",
    },
    "severity": {"septic_shock": "septic shock", "severe": "severe", "non_severe": "not severe"},
    "source_control": {
        "achieved": "achieved", "pending": "pending", "not_needed": "not needed", "not_possible": "not possible",
    },
    "increment_cpe.source": {"urinary": "urinary", "biliary": "biliary", "other": "other"},
    "carbapenemase": {e: e for e in ("KPC", "OXA-48-like", "NDM", "VIM", "IMP", "GES")},
    "carbapenemase_test": {
        "xpert_carba_r": "Xpert Carba-R", "ng_test_carba_5": "NG-Test CARBA 5", "other_pcr": "other PCR",
        "phenotypic": "phenotypic test", "whole_genome": "whole-genome sequencing",
    },
    "interpretation": {"S": "S", "I": "I", "R": "R"},
    "guideline_profile": {"idsa-2024": "IDSA 2024", "escmid-2022": "ESCMID 2022"},
    "route": {"IV": "intravenous", "PO": "oral"},
}

# ---- checks across fields: one sentence each, used by every door ------------------------------
CREATININE_TWICE = "Give serum creatinine once, in one unit (mg/dL or µmol/L)."
CLEARANCE_AND_CREATININE = "Give a creatinine clearance or a serum creatinine, not both."
EFFLUENT_ONLY_CRRT = "Effluent rate applies only to CRRT: choose CRRT as renal replacement, or leave the rate empty."
PREGNANT_MALE = "Pregnancy contradicts sex 'male'."
INCREMENT_TWICE = "Give the INCREMENT-CPE score once: from its parts or as the score, not both."
VENTILATOR_NOT_PNEUMONIA = "Ventilator-associated applies only to pneumonia."
SUSCEPTIBILITY_EMPTY = "Give an MIC, an S/I/R category, or both."
ENTER_ORGANISM = "Enter the organism."
SHARE_RANGE = "Each share must lie between 0 and 1 (0-100% of CRE)."


def shares_too_large(total: float) -> str:
    """The local carbapenemase mix adds up to more than all CRE."""
    return f"The shares add up to {total * 100:.0f}% ({total:g}); together they can be at most 100% (1)."


def capital(text: str) -> str:
    return text[:1].upper() + text[1:]


# ---- validation errors in clinical words ------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One refused input: where (the JSON path), which field (in words), and what to do."""

    path: tuple[str | int, ...]
    field: str
    message: str
    codes: tuple[str, ...] = ()

    @property
    def dotted(self) -> str:
        return ".".join(str(p) for p in self.path) or "case"

    @property
    def line(self) -> str:
        """For the command line, the API and the CDS card: field in words, its path, the message."""
        accepted = f" (accepted values: {', '.join(self.codes)})" if self.codes else ""
        return f"{capital(self.field)} ({self.dotted}): {self.message}{accepted}"


def field_path(error: Mapping[str, Any], drop: Sequence[str] = ("body",)) -> tuple[str | int, ...]:
    """The path of the field an error is about; a check across fields names its field in `ctx`."""
    path = tuple(p for p in error["loc"] if p not in drop)
    target = (error.get("ctx") or {}).get("field")
    return (*path, target) if target else path


def _lookup(path: Sequence[str | int], table: Mapping[str, Any]) -> Any:
    names = [p for p in path if isinstance(p, str)]
    for start in range(len(names)):
        found = table.get(".".join(names[start:]))
        if found is not None:
            return found
    return None


def field_name(path: Sequence[str | int]) -> str:
    """The field in words; a susceptibility entry also names its agent ("MIC of meropenem")."""
    strings = [p for p in path if isinstance(p, str)]
    name = _lookup(path, FIELD_NAMES) or (strings[-1].replace("_", " ") if strings else "case")
    if "susceptibility" in strings:
        index = strings.index("susceptibility")
        if index + 1 < len(strings):
            agent = strings[index + 1]
            return f"{name} of {agent}" if index + 2 < len(strings) else f"result for {agent}"
    return name


def choices(path: Sequence[str | int]) -> dict[str, str] | None:
    """Readable names of a choice field's codes, or None when the field is not a choice."""
    return _lookup(path, CHOICE_NAMES)


_NUMBER_TYPES = ("float_type", "float_parsing", "int_type", "int_parsing", "int_from_float", "finite_number")
_BOUNDS = {"greater_than": "more than {gt}", "greater_than_equal": "at least {ge}",
           "less_than": "less than {lt}", "less_than_equal": "at most {le}"}


def _message(error: Mapping[str, Any], path: Sequence[str | int], name: str) -> tuple[str, tuple[str, ...]]:
    kind, ctx, given = error["type"], error.get("ctx") or {}, error.get("input")
    options = choices(path)
    if kind == "missing" or (options is not None and given in ("", None)) or (given is None and kind in _NUMBER_TYPES):
        return (f"Choose the {name}." if options is not None else f"Enter the {name}."), ()
    if kind in ("enum", "literal_error") and options is not None:
        return f"Choose one of: {', '.join(options.values())}.", tuple(options)
    if kind in _NUMBER_TYPES:
        if isinstance(given, bool):
            return f"{str(given).lower()} is not a number: enter the {name} as a number.", ()
        whole = kind.startswith("int")
        if kind == "finite_number":
            return f"Enter the {name} as a finite number.", ()
        return f"Enter the {name} as a {'whole ' if whole else ''}number.", ()
    if kind in _BOUNDS:
        return f"The {name} must be {_BOUNDS[kind].format(**ctx)}.", ()
    if kind in ("bool_type", "bool_parsing"):
        return "Answer true or false.", ()
    if kind == "extra_forbidden":
        return "This is not a field of the case; check its spelling.", ()
    message = str(error["msg"]).removeprefix("Value error, ")
    return capital(message), ()


def problem(error: Mapping[str, Any], drop: Sequence[str] = ("body",)) -> Problem:
    """One pydantic error (as `ValidationError.errors()` gives it) in clinical words."""
    path = field_path(error, drop)
    name = field_name(path)
    message, codes = _message(error, path, name)
    return Problem(path=path, field=name, message=message, codes=codes)


def problems(errors: Sequence[Mapping[str, Any]], drop: Sequence[str] = ("body",)) -> list[Problem]:
    return [problem(error, drop) for error in errors]


def describe_validation_error(error: ValidationError) -> str:
    """One line for a refused input (command line, audit reports): each problem's field, path and what to do."""
    return "; ".join(found.line for found in problems(error.errors(), drop=()))
