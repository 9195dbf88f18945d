"""`cre-advisor cases ...`: the saved cases a server keeps, purged after the retention period.

`serve` purges every hour by itself; `cases purge` does it now (from cron, or after lowering
the retention), `cases delete ID` removes one case at once, e.g. when a patient asks.
"""

from __future__ import annotations

import re
from typing import Annotated

import typer
from rich.console import Console

from cre_advisor.commands.common import fail
from cre_advisor.commands.review import DatabaseOption, DataDirOption, open_database
from cre_advisor.settings import RETENTION_ENV
from cre_advisor.store.saved_cases import ID_PATTERN, delete_case, purge_expired

cases_app = typer.Typer(help="Saved cases: purge those past the retention period, delete one by id.",
                        no_args_is_help=True)


@cases_app.command("purge")
def purge(
    retention_days: Annotated[
        int | None, typer.Option(help=f"Keep cases this many days (env {RETENTION_ENV}; default 30).")
    ] = None,
    data_dir: DataDirOption = None,
    database: DatabaseOption = None,
) -> None:
    """Delete every saved case older than the retention period."""
    opened, settings = open_database(data_dir, database, retention_days=retention_days)
    removed = purge_expired(opened, settings.retention_days)
    Console(highlight=False).print(f"removed {removed} saved case(s) older than {settings.retention_days} day(s)")


@cases_app.command("delete")
def delete(
    case_id: Annotated[str, typer.Argument(metavar="ID", help="The id at the end of the case's link.")],
    data_dir: DataDirOption = None,
    database: DatabaseOption = None,
) -> None:
    """Delete one saved case now; its link stops working."""
    if not re.match(ID_PATTERN, case_id):
        fail("ID: a saved case's id is the 32 letters, digits, '-' or '_' at the end of its link")
    opened, _ = open_database(data_dir, database)
    with opened.session() as session:
        if not delete_case(session, case_id):
            fail(f"no saved case with id {case_id}")
    Console(highlight=False).print("deleted")


def register(app: typer.Typer) -> None:
    app.add_typer(cases_app, name="cases")
