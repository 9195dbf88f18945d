"""The `cre-advisor` command line: one Typer app; each feature registers its commands.

Commands live in `cre_advisor.commands.<feature>` modules with a `register(app)` function so
that features stay apart; this file only names them. A feature module is imported only when its
command runs (or when the help lists them all): `recommend` should not pay for the database,
web and search libraries that `serve`, `review` or `ask` need, since a command line that takes a
second to print a plan is one clinicians stop using.
"""

from __future__ import annotations

import importlib
from functools import cache

import typer
from typer.core import TyperGroup

# each command is registered by the feature module of the same name in cre_advisor.commands
FEATURES = ("recommend", "dose", "interpret", "knowledge", "serve", "cds", "users", "review", "ask", "audit", "cases")


@cache
def _feature_command(name: str) -> typer.core.TyperCommand | TyperGroup:
    """Import the feature module behind `name` and return the click command it registers."""
    module = importlib.import_module(f"cre_advisor.commands.{name}")
    holder = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    module.register(holder)
    built = typer.main.get_command(holder)
    return getattr(built, "commands", {}).get(name, built)


class _FeatureGroup(TyperGroup):
    """The top-level group: lists every feature's command, loads one only when asked for it."""

    def list_commands(self, ctx: typer.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *FEATURES})

    def get_command(self, ctx: typer.Context, cmd_name: str) -> typer.core.TyperCommand | TyperGroup | None:
        if cmd_name in FEATURES:
            return _feature_command(cmd_name)
        return super().get_command(ctx, cmd_name)


app = typer.Typer(
    name="cre-advisor",
    cls=_FeatureGroup,
    help="Treatment advice for carbapenem-resistant Enterobacterales infections in the ICU.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _main() -> None:
    """Treatment advice for carbapenem-resistant Enterobacterales infections in the ICU."""
