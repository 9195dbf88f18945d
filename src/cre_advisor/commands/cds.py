"""`cre-advisor cds feedback-report`: how clinicians answered the CDS Hooks cards, per card type.

Acceptance is the share of answered cards whose suggestion was accepted (EHRs send nothing for
an ignored card). The database is the server's: `--database URL`, or the SQLite file in
`--data-dir`.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console

from cre_advisor.cds.config import card_settings
from cre_advisor.settings import Settings
from cre_advisor.store.cds_feedback import feedback_report
from cre_advisor.store.database import Database

cds_app = typer.Typer(help="CDS Hooks services: feedback from the EHR.", no_args_is_help=True)


@cds_app.command("feedback-report")
def report(
    data_dir: Annotated[str | None, typer.Option("--data-dir", help="The server's data directory (default: ./data).")] = None,
    database: Annotated[str | None, typer.Option("--database", help="Database URL (default: SQLite in the data dir).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Cards issued, accepted and overridden per card type, with the override reasons given."""
    settings = Settings.resolve(data_dir=data_dir, database_url=database)
    if database is None:
        settings.ensure_data_dir()
    opened = Database(settings.database_url)
    opened.migrate()
    names = {r["code"]: r["display"] for r in card_settings()["override_reasons"]}
    with opened.session() as session:
        rows = feedback_report(session, names)
    opened.dispose()
    if as_json:
        typer.echo(json.dumps([
            {"card_type": r.card_type, "cards": r.cards, "accepted": r.accepted, "overridden": r.overridden,
             "acceptance": r.acceptance, "override_reasons": dict(r.override_reasons.most_common())}
            for r in rows
        ], indent=2))
        return
    console = Console(highlight=False)
    if not rows:
        console.print("No CDS cards recorded yet.")
        return
    for r in rows:
        acceptance = f"{r.acceptance:.0%}" if r.acceptance is not None else "no feedback yet"
        console.print(f"[bold]{r.card_type}[/]: {r.cards} cards, {r.accepted} accepted, {r.overridden} overridden; "
                      f"acceptance {acceptance}", soft_wrap=True)
        for name, count in r.override_reasons.most_common():
            console.print(f"  override: {name} ({count})", soft_wrap=True)

def register(app: typer.Typer) -> None:
    app.add_typer(cds_app, name="cds")
