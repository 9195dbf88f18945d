"""`cre-advisor dose AGENT`: one agent's dose for a creatinine clearance or for patient values.

Input is checked against the same limits as the case model (`Patient`) so that the command
line refuses what the JSON input refuses, naming the option. An agent that must not be given
at this renal function is an answer, not an error: exit 0 with the reason in the notes.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any

import typer
from pydantic import TypeAdapter, ValidationError
from rich.console import Console
from rich.table import Table

from cre_advisor.case import PLAUSIBLE, RenalReplacement, Sex, Site
from cre_advisor.commands.common import fail
from cre_advisor.dosing import DoseResult, dose_for
from cre_advisor.input_words import CLEARANCE_AND_CREATININE, CREATININE_TWICE, EFFLUENT_ONLY_CRRT, problem
from cre_advisor.knowledge.loader import default_knowledge
from cre_advisor.patient import RenalAssessment, assess_renal_values


class ChildPugh(StrEnum):
    A = "A"
    B = "B"
    C = "C"


class WeightBasis(StrEnum):
    actual = "actual"
    ideal = "ideal"
    adjusted = "adjusted"


class Route(StrEnum):
    IV = "IV"
    PO = "PO"


_ADAPTERS = {field: TypeAdapter(limits.number()) for field, limits in PLAUSIBLE.items()}


def _checked(value: float | None, field: str, option: str) -> float | None:
    """A value held to the limits of the Patient field it fills; a bad one exits 2 naming the option.

    The same plausibility limits and words as the JSON, the API and the web form (`case.PLAUSIBLE`);
    the option parser lets "nan" and "inf" through, this does not.
    """
    if value is None:
        return None
    try:
        _ADAPTERS[field].validate_python(value)
    except ValidationError as exc:
        fail(f"{option}: {problem({**exc.errors()[0], 'loc': (field,)}).message}")
    return value


def dose_command(
    agent: Annotated[str, typer.Argument(help="Agent name, abbreviation or brand, e.g. CZA, cefiderocol, Zemdri.")],
    crcl: Annotated[float | None, typer.Option(
        "--crcl", help="Creatinine clearance in mL/min (measured or already calculated); with --rrt "
                       "intermittent_hemodialysis, the residual clearance some labels band by.")] = None,
    age: Annotated[float | None, typer.Option("--age", help="Age in years (adults only).")] = None,
    sex: Annotated[Sex | None, typer.Option("--sex", help="female or male.")] = None,
    weight_kg: Annotated[float | None, typer.Option("--weight-kg", help="Actual body weight in kg.")] = None,
    height_cm: Annotated[float | None, typer.Option("--height-cm", help="Height in cm (for ideal body weight).")] = None,
    scr_mg_dl: Annotated[float | None, typer.Option("--scr-mg-dl", help="Serum creatinine in mg/dL.")] = None,
    scr_umol_l: Annotated[float | None, typer.Option("--scr-umol-l", help="Serum creatinine in umol/L.")] = None,
    weight_basis: Annotated[
        WeightBasis | None, typer.Option("--weight-basis", help="Override the weight Cockcroft-Gault uses.")
    ] = None,
    unstable: Annotated[bool, typer.Option("--unstable", help="Creatinine is changing (AKI): estimates unreliable.")] = False,
    rrt: Annotated[RenalReplacement, typer.Option("--rrt", help="Renal replacement therapy.")] = RenalReplacement.none,
    effluent_l_h: Annotated[float | None, typer.Option("--effluent-l-h", help="CRRT effluent rate in L/h.")] = None,
    site: Annotated[Site | None, typer.Option("--site", help="Infection site (cystitis picks the cystitis dose).")] = None,
    child_pugh: Annotated[ChildPugh | None, typer.Option("--child-pugh", help="Child-Pugh class.")] = None,
    variant: Annotated[
        str, typer.Option("--variant", help="Dose variant: default, cystitis, with_ceftazidime_avibactam, high_exposure, ...")
    ] = "default",
    route: Annotated[Route | None, typer.Option("--route", help="IV or PO, where the agent has both.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """The dose of one agent for a creatinine clearance (--crcl) or for patient values."""
    knowledge = default_knowledge()
    agent_id = knowledge.agent_id(agent)
    if agent_id is None:
        fail(f"AGENT: unknown agent '{agent}'; known: {', '.join(knowledge.agents)}")
    if agent_id not in knowledge.dosing.agents:
        fail(f"AGENT: no dose table for '{agent_id}'; dosed agents: {', '.join(knowledge.dosing.agents)}")
    if crcl is not None and (scr_mg_dl is not None or scr_umol_l is not None):
        fail(f"--crcl: {CLEARANCE_AND_CREATININE} (--crcl or --scr-mg-dl/--scr-umol-l)")
    if scr_mg_dl is not None and scr_umol_l is not None:
        fail(f"--scr-mg-dl/--scr-umol-l: {CREATININE_TWICE}")
    if effluent_l_h is not None and rrt is not RenalReplacement.crrt:
        fail(f"--effluent-l-h: {EFFLUENT_ONLY_CRRT} (--rrt crrt)")

    renal = assess_renal_values(
        age_years=_checked(age, "age_years", "--age"),
        sex=sex,
        weight_kg=_checked(weight_kg, "weight_kg", "--weight-kg"),
        height_cm=_checked(height_cm, "height_cm", "--height-cm"),
        serum_creatinine_mg_dl=_checked(scr_mg_dl, "serum_creatinine_mg_dl", "--scr-mg-dl"),
        serum_creatinine_umol_l=_checked(scr_umol_l, "serum_creatinine_umol_l", "--scr-umol-l"),
        measured_crcl_ml_min=_checked(crcl, "creatinine_clearance_ml_min", "--crcl"),
        creatinine_unstable=unstable,
        weight_basis=weight_basis.value if weight_basis else None,
        renal_replacement=rrt,
        crrt_effluent_l_h=_checked(effluent_l_h, "crrt_effluent_l_h", "--effluent-l-h"),
    )
    residual = crcl if rrt is RenalReplacement.intermittent_hemodialysis else None
    try:
        result = dose_for(
            agent_id, renal=renal, site=site.value if site else None, variant=variant, knowledge=knowledge,
            child_pugh=child_pugh.value if child_pugh else None, route=route.value if route else None,
            creatinine_unstable=unstable, residual_crcl_ml_min=residual,
        )
    except ValueError as exc:
        fail(f"{'--route' if 'route' in str(exc) else '--variant'}: {exc}")

    if as_json:
        typer.echo(json.dumps(_json(result, renal), indent=2, ensure_ascii=False))
        return
    _print(result, renal, knowledge.agents[agent_id].name)


def _json(result: DoseResult, renal: RenalAssessment) -> dict[str, Any]:
    return {**result.model_dump(mode="json"), "renal": renal.model_dump(mode="json")}


def _print(result: DoseResult, renal: RenalAssessment, name: str) -> None:
    console = Console(highlight=False)
    style = "bold red" if result.not_recommended else "bold yellow" if result.individualise else "bold green"
    console.print(f"[bold]{name}[/] ({result.route}, {result.variant} dose)")
    console.print(f"[{style}]{result.dose}[/]", soft_wrap=True)
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="dim", no_wrap=True)
    table.add_column(overflow="fold")
    table.add_row("band", result.band)
    if result.evidence:
        table.add_row("evidence", result.evidence)
    table.add_row("adjusted for", result.adjusted_for)
    table.add_row("renal", renal.summary)
    for label, items in (("by band", result.dose_options), ("flags", renal.flags), ("missing", renal.missing),
                         ("notes", result.notes),
                         ("monitoring", result.monitoring)):
        if items:
            table.add_row(label, "\n".join(f"- {item}" for item in items))
    table.add_row("sources", ", ".join(result.citations))
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("dose")(dose_command)
