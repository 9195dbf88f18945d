"""`cre-advisor users ...`: accounts of the people who author and review content.

Passwords come from a hidden prompt (typed twice) or, for scripts, the first line of standard
input with `--password-stdin`; they never appear on the command line. API tokens are printed
once and stored only as a hash.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console

from cre_advisor.commands.common import fail
from cre_advisor.commands.review import DatabaseOption, DataDirOption, open_review_store
from cre_advisor.review.accounts import MAX_TOKEN_DAYS, TOKEN_DAYS, AccountError, Accounts
from cre_advisor.review.workflow import Role

users_app = typer.Typer(help="People who author and review content, and their API tokens.", no_args_is_help=True)
NameArgument = Annotated[str, typer.Argument(metavar="NAME", help="The user's sign-in name.")]


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@users_app.command("add")
def add(
    name: NameArgument,
    role: Annotated[Role, typer.Option("--role", help="What the user may do.", case_sensitive=False)],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from standard input.")] = False,
    data_dir: DataDirOption = None,
    database: DatabaseOption = None,
) -> None:
    """Create an account: author, reviewer or admin."""
    store = open_review_store(data_dir, database)
    password = _password(password_stdin)
    try:
        with store.writing() as session:
            Accounts().add_user(session, name, role.value, password)
    except AccountError as error:
        fail(str(error))
    Console(highlight=False).print(f"added {name} ({role.value})")


@users_app.command("list")
def list_users(data_dir: DataDirOption = None, database: DatabaseOption = None) -> None:
    """Every account with its role and whether it may sign in."""
    store = open_review_store(data_dir, database)
    console = Console(highlight=False)
    with store.reading() as session:
        for user in Accounts.users(session):
            console.print(f"{user.name:<30} {user.role:<9} {'active' if user.active else 'disabled'}")


@users_app.command("token")
def token(
    name: NameArgument,
    label: Annotated[str, typer.Option("--label", help="What the token is for, e.g. the script's name.")] = "script",
    days: Annotated[int, typer.Option("--days", help=f"Days until the token expires (1-{MAX_TOKEN_DAYS}).")] = TOKEN_DAYS,
    data_dir: DataDirOption = None,
    database: DatabaseOption = None,
) -> None:
    """Create an API token for scripts and print it once; send it as 'Authorization: Bearer <token>'."""
    store = open_review_store(data_dir, database)
    try:
        with store.writing() as session:
            issued = Accounts.issue_token(session, name, label, days=days)
    except AccountError as error:
        fail(str(error))
    sys.stdout.write(issued + "\n")


@users_app.command("revoke-tokens")
def revoke_tokens(name: NameArgument, data_dir: DataDirOption = None, database: DatabaseOption = None) -> None:
    """Revoke every API token of a user."""
    store = open_review_store(data_dir, database)
    try:
        with store.writing() as session:
            count = Accounts.revoke_tokens(session, name)
    except AccountError as error:
        fail(str(error))
    Console(highlight=False).print(f"revoked {count} token(s) of {name}")


def _set_active(name: str, active: bool, data_dir: str | None, database: str | None) -> None:
    store = open_review_store(data_dir, database)
    try:
        with store.writing() as session:
            Accounts.set_active(session, name, active)
    except AccountError as error:
        fail(str(error))
    Console(highlight=False).print(f"{name} is {'active' if active else 'disabled'}")


@users_app.command("disable")
def disable(name: NameArgument, data_dir: DataDirOption = None, database: DatabaseOption = None) -> None:
    """Stop a user from signing in or using tokens; their audit entries stay."""
    _set_active(name, False, data_dir, database)


@users_app.command("enable")
def enable(name: NameArgument, data_dir: DataDirOption = None, database: DatabaseOption = None) -> None:
    """Let a disabled user sign in again."""
    _set_active(name, True, data_dir, database)


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
