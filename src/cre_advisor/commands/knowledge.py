"""`cre-advisor knowledge check`: validate the whole knowledge base before anyone trusts it."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from cre_advisor.knowledge.lint import check_knowledge
from cre_advisor.review.content import content_items

knowledge_app = typer.Typer(help="Inspect and validate the knowledge base.", no_args_is_help=True)


@knowledge_app.command("check")
def check(
    directory: Annotated[
        str | None, typer.Option(help="Knowledge directory to check (default: the shipped one).")
    ] = None,
) -> None:
    """Schema, citations, agent references and orphans; exits 1 with a list of problems."""
    console = Console(highlight=False)
    report = check_knowledge(directory)
    if report.knowledge is not None:
        try:
            content_items(report.knowledge)  # the review board tracks items by these ids: no duplicates
        except ValueError as exc:
            report.problems.append(str(exc))
    for problem in report.problems:
        console.print(f"[red]x[/] {problem}", soft_wrap=True)
    if report.problems:
        console.print(f"[bold red]{len(report.problems)} problem(s)[/] in {report.items} items.")
        raise typer.Exit(code=1)
    console.print(f"[green]ok[/]: {report.items} items, {report.citations} citations, "
                  f"{report.references} references; knowledge version {report.version}.")


def register(app: typer.Typer) -> None:
    app.add_typer(knowledge_app, name="knowledge")
