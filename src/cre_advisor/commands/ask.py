"""`cre-advisor ask "QUESTION"`: a follow-up question answered from the knowledge base, with sources.

Exit status 0 for an answer, including "not covered" (the JSON says `covered: false`); 2 for
invalid input (empty question, unknown audience, unreadable or invalid case file).
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markdown import Markdown

from cre_advisor import render
from cre_advisor.ask import answer, to_markdown
from cre_advisor.case import Case
from cre_advisor.commands.common import fail, read_json
from cre_advisor.input_words import describe_validation_error


def ask_command(
    question: Annotated[str, typer.Argument(metavar="QUESTION", help="The question, in quotes.")],
    case_file: Annotated[
        str | None, typer.Option("--case", metavar="CASE.json", help="Answer for this case (JSON file, or - for standard input).")
    ] = None,
    audience: Annotated[
        str, typer.Option(help="clinician, pharmacist, nurse or patient: whose wording the answer uses.")
    ] = "clinician",
    as_json: Annotated[bool, typer.Option("--json", help="Print the Answer JSON.")] = False,
) -> None:
    """Answer a follow-up question from the knowledge base only, citing every source."""
    if audience not in render.AUDIENCES:
        fail(f"--audience must be one of {', '.join(render.AUDIENCES)} (got '{audience}')")
    case = None
    if case_file is not None:
        try:
            case = Case.model_validate(read_json(case_file))
        except ValidationError as exc:
            fail(f"invalid case in --case {case_file}: {describe_validation_error(exc)}")
    try:
        result = answer(question, case=case, audience=audience)
    except ValueError as exc:
        fail(str(exc))
    if as_json:
        typer.echo(json.dumps(result.model_dump(mode="json"), indent=2, ensure_ascii=False))
        return
    Console(highlight=False).print(Markdown(to_markdown(result)))


def register(app: typer.Typer) -> None:
    app.command("ask")(ask_command)
