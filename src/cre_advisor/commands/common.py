"""What every command shares: reading a case, and turning bad input into exit status 2."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console

err = Console(stderr=True, highlight=False)
MAX_CASE_BYTES = 5_000_000  # a case is a few kilobytes; a larger file is a mistake, read no further


def fail(message: str) -> NoReturn:
    """Print one clear line to standard error and exit with status 2 (invalid input)."""
    err.print(f"[bold red]error:[/] {message}", soft_wrap=True)
    raise typer.Exit(code=2)


def read_json(path: str) -> Any:
    """A JSON document from a file, or from standard input when the path is '-'.

    Every way a file can be unreadable ends in `fail` with one line: too large, not UTF-8
    (UTF-16 and binary files named as such), not JSON, nested too deeply, or a number too long.
    """
    try:
        raw = sys.stdin.buffer.read(MAX_CASE_BYTES + 1) if path == "-" else _read_bytes(Path(path))
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror or exc}")
    if len(raw) > MAX_CASE_BYTES:
        fail(f"{path} is larger than {MAX_CASE_BYTES // 1_000_000} MB; a case file is a few kilobytes of JSON")
    text = decode_text(raw, path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"{path} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")
    except RecursionError:
        fail(f"{path} nests arrays or objects too deeply to be a case")
    except ValueError:  # Python refuses to convert integers of more than 4300 digits
        fail(f"{path} holds a number with thousands of digits; no case field takes one")


def _read_bytes(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(MAX_CASE_BYTES + 1)


def decode_text(raw: bytes, path: str) -> str:
    """UTF-8 text (a byte-order mark is allowed); otherwise `fail` saying what the file seems to be."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        fail(f"{path} is UTF-16 text; save it as UTF-8")
    if b"\x00" in raw:
        fail(f"{path} is a binary file, not JSON text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        fail(f"{path} is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); save it as UTF-8")
