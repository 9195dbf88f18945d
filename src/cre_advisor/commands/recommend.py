"""`cre-advisor recommend CASE.json`: the plan for one case, readable or as JSON."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markdown import Markdown

from cre_advisor import render
from cre_advisor.case import Case
from cre_advisor.commands.common import fail, read_json
from cre_advisor.engine import recommend
from cre_advisor.input_words import describe_validation_error


def recommend_command(
    case_file: Annotated[str, typer.Argument(metavar="CASE.json", help="Case JSON file, or - for standard input.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the Recommendation JSON.")] = False,
    audience: Annotated[
        str, typer.Option(help="clinician, pharmacist, nurse or patient: whose language the plan is written in.")
    ] = "clinician",
) -> None:
    """Ranked, dosed, cited treatment options for one case."""
    if audience not in render.AUDIENCES:
        fail(f"--audience must be one of {', '.join(render.AUDIENCES)} (got '{audience}')")
    data = read_json(case_file)
    try:
        case = Case.model_validate(data)
    except ValidationError as exc:
        fail(f"invalid case: {describe_validation_error(exc)}")
    try:
        result = recommend(case)
    except ValueError as exc:  # a case the models accept but the engine cannot use: still bad input
        fail(f"invalid case: {exc}")
    if as_json:
        typer.echo(json.dumps(result.model_dump(mode="json"), indent=2, ensure_ascii=False))
        return
    Console(highlight=False).print(Markdown(render.markdown(result, audience)))


def register(app: typer.Typer) -> None:
    app.command("recommend")(recommend_command)
