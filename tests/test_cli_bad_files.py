"""The command line never shows a traceback: unreadable case and breakpoint files exit 2 with one line."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cre_advisor.cli import app

CASE = {"patient": {"age_years": 67, "sex": "female", "weight_kg": 72, "serum_creatinine_mg_dl": 1.4},
        "infection": {"site": "bloodstream", "severity": "severe"},
        "isolate": {"organism": "Klebsiella pneumoniae", "susceptibility": {}}}


def _case_text() -> str:
    return json.dumps(CASE)


CASE_FILES: dict[str, tuple[Callable[[Path], None], str]] = {
    "latin-1": (lambda p: p.write_bytes(_case_text().replace("Klebsiella", "Klébsiella").encode("latin-1")),
                "is not UTF-8 text (byte 0xe9"),
    "utf-16": (lambda p: p.write_text(_case_text(), encoding="utf-16"), "is UTF-16 text; save it as UTF-8"),
    "binary": (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), "is a binary file"),
    "deep": (lambda p: p.write_text("[" * 100_000 + "]" * 100_000), "nests arrays or objects too deeply"),
    "long-integer": (lambda p: p.write_text(_case_text().replace('"age_years": 67', '"age_years": ' + "9" * 5000)),
                     "holds a number with thousands of digits"),
    "huge": (lambda p: p.write_text(" " * 6_000_000 + _case_text()), "is larger than 5 MB"),
    "not-json": (lambda p: p.write_text("{'patient': 1}"), "is not valid JSON"),
    "missing": (lambda p: None, "cannot read"),
}


def _one_line_exit_2(result, expected: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert expected in " ".join(result.output.split())


@pytest.mark.parametrize("command", [["recommend"], ["recommend", "--json"]])
@pytest.mark.parametrize("kind", sorted(CASE_FILES))
def test_unreadable_case_files_exit_2_with_one_line(tmp_path: Path, kind: str, command: list[str]) -> None:
    make, expected = CASE_FILES[kind]
    path = tmp_path / "case.json"
    make(path)
    result = CliRunner().invoke(app, [*command, str(path)])
    _one_line_exit_2(result, expected)
    message = [line for line in result.output.splitlines() if line.strip()]
    assert len(message) == 1, result.output


def test_standard_input_is_checked_the_same_way() -> None:
    result = CliRunner().invoke(app, ["recommend", "-"], input=b"\xff\xfe{\x00}\x00")
    _one_line_exit_2(result, "is UTF-16 text")


BREAKPOINT_FILES: dict[str, tuple[Callable[[Path], None], str]] = {
    "deep": (lambda p: p.write_text("a: " + "[" * 100_000 + "]" * 100_000), "nests too deeply to be a table"),
    "50-MB": (lambda p: p.write_bytes(b"#" * 50_000_000), "larger than 5 MB"),
    "utf-16": (lambda p: p.write_text("id: lab\n", encoding="utf-16"), "breakpoint table"),
    "binary": (lambda p: p.write_bytes(b"\x00\x01\x02\xff\xfe\x00"), "breakpoint table"),
    "not-a-table": (lambda p: p.write_text("rows: 5\n"), "breakpoint table"),
}


@pytest.mark.parametrize("kind", sorted(BREAKPOINT_FILES))
def test_unreadable_breakpoint_files_exit_2_naming_the_option(tmp_path: Path, kind: str) -> None:
    make, expected = BREAKPOINT_FILES[kind]
    path = tmp_path / "table.yaml"
    make(path)
    result = CliRunner().invoke(app, ["interpret", "meropenem", "16", "--organism", "Klebsiella pneumoniae",
                                      "--breakpoints", str(path)], env={"COLUMNS": "400"})
    _one_line_exit_2(result, expected)
    assert "--breakpoints" in result.output
