"""What every command shares: reading a case, and turning bad input into exit status 2."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console

from cre_advisor.input_words import problems

err = Console(stderr=True, highlight=False)


def fail(message: str) -> NoReturn:
    """Print one clear line to standard error and exit with status 2 (invalid input)."""
    err.print(f"[bold red]error:[/] {message}", soft_wrap=True)
    raise typer.Exit(code=2)


def describe_validation_error(error: ValidationError) -> str:
    """One part per problem, in the words the web form and the API use: the field, its path, what to do."""
    return "; ".join(found.line for found in problems(error.errors(), drop=()))


def read_json(path: str) -> Any:
    """A JSON document from a file, or from standard input when the path is '-'."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror}")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"{path} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")
