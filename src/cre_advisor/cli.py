"""The `cre-advisor` command line: one Typer app; each feature registers its commands.

Commands live in `cre_advisor.commands.<feature>` modules with a `register(app)` function so
that features stay apart; this file only assembles them.
"""

from __future__ import annotations

import typer

from cre_advisor.commands import ask, cases, cds, dose, interpret, knowledge, recommend, review, serve, users

app = typer.Typer(
    name="cre-advisor",
    help="Treatment advice for carbapenem-resistant Enterobacterales infections in the ICU.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for feature in (recommend, dose, interpret, knowledge, serve, cases, cds, users, review, ask):
    feature.register(app)
