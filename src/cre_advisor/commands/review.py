"""`cre-advisor review ...`: the board's state of the content and the audit trail, from a shell.

`review status` counts items by state for the knowledge base this installation ships (an
approval of an older version does not count); `review show ITEM` gives one item's state and who
approved its version when; `review export` writes the audit trail as CSV. The number of
distinct approvers comes from the same setting as the server's (CRE_ADVISOR_APPROVALS_REQUIRED).
The database is the server's: `--database URL`, or the SQLite file in `--data-dir`.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from cre_advisor.commands.common import fail
from cre_advisor.knowledge.loader import default_knowledge
from cre_advisor.review.content import content_items
from cre_advisor.review.store import ReviewStore, UnknownItem
from cre_advisor.review.workflow import Status
from cre_advisor.settings import Settings
from cre_advisor.store.database import Database

DatabaseOption = Annotated[
    str | None,
    typer.Option("--database", help="Database URL, e.g. postgresql+psycopg://user@host/db (default: SQLite in the data dir)."),
]
DataDirOption = Annotated[str | None, typer.Option("--data-dir", help="The server's data directory (default: ./data).")]

review_app = typer.Typer(help="Editorial review: state of the content and the audit trail.", no_args_is_help=True)


def open_database(data_dir: str | None, database: str | None, **overrides: int | None) -> tuple[Database, Settings]:
    """The server's database with every migration applied, and the settings it was found by.

    `overrides` are Settings.resolve's policy arguments (e.g. retention_days); a bad value fails with exit 2.
    """
    try:
        settings = Settings.resolve(data_dir=data_dir, database_url=database, **overrides)  # type: ignore[arg-type]
    except ValueError as error:
        fail(str(error))
    opened = Database(settings.database_url)
    opened.migrate()
    return opened, settings


def open_review_store(data_dir: str | None, database: str | None) -> ReviewStore:
    """The review store of the server's database, with every migration applied."""
    opened, settings = open_database(data_dir, database)
    return ReviewStore(opened.engine, settings.approvals_required)


@review_app.command("show")
def show(
    item_id: Annotated[str, typer.Argument(metavar="ITEM", help="A content item's id, as the review queue lists it.")],
    data_dir: DataDirOption = None,
    database: DatabaseOption = None,
) -> None:
    """One item's review state, and who approved its current version and when."""
    store = open_review_store(data_dir, database)
    store.sync(content_items(default_knowledge()))
    try:
        view = store.item(item_id)
    except UnknownItem as error:
        fail(str(error))
    console = Console(highlight=False)
    console.print(f"{view.item_id}: {view.status.value} (content {view.hash[:12]})")
    for approval in view.approvals:
        console.print(f"  approved by {approval.approver} at {approval.at:%Y-%m-%d %H:%M} UTC")
    console.print(f"  {len(view.approvals)} of {view.approvals_required} distinct approvals for this version")


@review_app.command("status")
def status(data_dir: DataDirOption = None, database: DatabaseOption = None) -> None:
    """How many content items are in each review state."""
    store = open_review_store(data_dir, database)
    states = store.review_states(content_items(default_knowledge()))
    counts = Counter(states.values())
    console = Console(highlight=False)
    for state in Status:
        console.print(f"{state.value:<18} {counts.get(state, 0):>5}")
    console.print(f"{'total':<18} {len(states):>5}")


@review_app.command("export")
def export(
    output: Annotated[str, typer.Option("--output", "-o", help="CSV file to write, or '-' for standard output.")] = "-",
    data_dir: DataDirOption = None,
    database: DatabaseOption = None,
) -> None:
    """Write the whole audit trail as CSV (who, when, action, from, to, hash, outcome, comment)."""
    text = open_review_store(data_dir, database).export_csv()
    if output == "-":
        sys.stdout.write(text)
    else:
        Path(output).write_text(text, encoding="utf-8")


def register(app: typer.Typer) -> None:
    app.add_typer(review_app, name="review")
