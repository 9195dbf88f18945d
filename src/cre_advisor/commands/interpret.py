"""`cre-advisor interpret AGENT MIC --organism NAME`: one MIC to S/I/R with the row used.

A door only: it reads the options, asks `cre_advisor.microbiology` for the category (breakpoint
row, then expected resistance) and prints it. Bad input exits with status 2 naming the option.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from cre_advisor.case import Site
from cre_advisor.knowledge.breakpoint_tables import BreakpointTable, read_breakpoint_table
from cre_advisor.knowledge.loader import Knowledge, default_knowledge
from cre_advisor.microbiology import interpretation_report, parse_mic

def _table(name_or_path: str, knowledge: Knowledge) -> BreakpointTable:
    """A lab table file when the value is a path; otherwise a table the knowledge base knows."""
    if Path(name_or_path).is_file():
        try:
            return read_breakpoint_table(name_or_path)
        except ValueError as error:
            raise typer.BadParameter(str(error), param_hint="--breakpoints") from error
    try:
        table = knowledge.breakpoint_tables.table(name_or_path)
    except ValueError as error:
        raise typer.BadParameter(f"{error}, or the path of a table file", param_hint="--breakpoints") from error
    if table is None:
        raise typer.BadParameter(
            f"{name_or_path} is known but not loaded; give the laboratory's table file as --breakpoints PATH "
            "or in CRE_ADVISOR_BREAKPOINTS",
            param_hint="--breakpoints",
        )
    return table


def interpret_command(
    agent: Annotated[str, typer.Argument(help="Agent name, abbreviation or brand (e.g. meropenem, CZA).")],
    mic: Annotated[str, typer.Argument(help="MIC in mg/L as the laboratory wrote it: 4, <=0.25, >32, 0.5/4.")],
    organism: Annotated[str, typer.Option("--organism", help="Species, e.g. 'Klebsiella pneumoniae'.")],
    site: Annotated[
        Site | None, typer.Option("--site", case_sensitive=False, help="Infection site; picks site rows.")
    ] = None,
    breakpoints: Annotated[
        str, typer.Option("--breakpoints", help="Table name (EUCAST-2026) or path of a laboratory table file.")
    ] = "EUCAST-2026",
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON object.")] = False,
) -> None:
    """Interpret one MIC with the breakpoint row for this organism and site."""
    knowledge = default_knowledge()
    agent_id = knowledge.agent_id(agent)
    if agent_id is None:
        raise typer.BadParameter(f"unknown agent '{agent}'; known: {', '.join(knowledge.agents)}", param_hint="AGENT")
    try:
        parse_mic(mic)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="MIC") from error
    try:
        found = knowledge.organism(organism)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--organism") from error
    table = _table(breakpoints, knowledge)
    report = interpretation_report(table, agent_id, mic, found, None if site is None else site.value, knowledge)
    typer.echo(json.dumps(report, indent=2) if as_json else _text(report))


def _text(report: dict[str, Any]) -> str:
    where = f", site {report['site']}" if report["site"] else ""
    head = f"{report['agent']} MIC {report['mic']} mg/L in {report['organism']}{where}"
    category = report["interpretation"] or "no interpretation"
    lines = [f"{head}: {category} ({report['meaning']})"]
    if report["breakpoint_s"] is not None:
        bracket = " (bracketed)" if report["bracketed"] else ""
        lines.append(
            f"Row: {report['table']} {report['agent']}, {report['row']}: "
            f"S <= {report['breakpoint_s']:g}, R > {report['breakpoint_r']:g} mg/L{bracket}"
        )
    lines.append(f"Note: {report['note']}")
    if report["table_note"]:
        lines.append(f"Table note: {report['table_note']}")
    lines += [f"Warning: {w}" for w in report["warnings"]]
    if report["citations"]:
        lines.append(f"Sources: {', '.join(report['citations'])}")
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    app.command("interpret")(interpret_command)
