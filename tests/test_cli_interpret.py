"""`cre-advisor interpret`: one MIC to S/I/R with the row used; exit 2 naming the bad option.

Expected categories typed from EUCAST v16.1 Enterobacterales (meropenem S <= 2, R > 8; in
meningitis S <= 2, R > 2) and EUCAST Expected Resistant Phenotypes v1.2 (colistin in Serratia).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from cre_advisor.commands import interpret

FIXTURE = Path(__file__).parent / "fixtures" / "lab_breakpoints_fixture.yaml"


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    """A Typer app with only this command, registered the way cli.py registers features."""
    application = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    interpret.register(application)

    @application.callback()
    def _root() -> None:  # keeps `interpret` a subcommand, as in the real app
        """cre-advisor"""

    return application


def _run(app: typer.Typer, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["interpret", *args])
    return result.exit_code, result.output


def test_text_output_names_category_and_row(app: typer.Typer) -> None:
    code, out = _run(app, "meropenem", "4", "--organism", "Klebsiella pneumoniae", "--site", "bloodstream")
    assert code == 0
    assert ": I (susceptible, increased exposure" in out
    assert "EUCAST-2026 (v16.1)" in out
    assert "indications other than meningitis: S <= 2, R > 8 mg/L" in out


def test_json_output_has_the_contract_fields(app: typer.Typer) -> None:
    code, out = _run(app, "MEM", "4", "--organism", "K. pneumoniae", "--site", "cns", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["interpretation"] == "R"
    assert (data["breakpoint_s"], data["breakpoint_r"]) == (2, 2)
    assert data["table"] == "EUCAST-2026 (v16.1)"
    assert data["agent"] == "meropenem" and data["row"] == "Enterobacterales; meningitis"
    assert data["note"]


def test_comparator_strings_are_accepted(app: typer.Typer) -> None:
    code, out = _run(app, "meropenem", "<=0.25", "--organism", "E. coli", "--json")
    assert code == 0 and json.loads(out)["interpretation"] == "S"


def test_no_breakpoint_gives_null_and_the_reason(app: typer.Typer) -> None:
    code, out = _run(app, "amikacin", "4", "--organism", "E. coli", "--site", "bloodstream", "--json")
    data = json.loads(out)
    assert code == 0
    assert data["interpretation"] is None and data["breakpoint_s"] is None
    assert "urinary tract only" in data["note"]


def test_expected_resistance_overrides_the_table(app: typer.Typer) -> None:
    code, out = _run(app, "colistin", "0.5", "--organism", "Serratia marcescens", "--json")
    data = json.loads(out)
    assert code == 0
    assert (data["interpretation"], data["source"]) == ("R", "intrinsic")
    assert "eucast-expected-resistant-phenotypes:Table 1" in data["citations"]


def test_a_laboratory_table_file_can_be_given(app: typer.Typer) -> None:
    code, out = _run(app, "meropenem", "6", "--organism", "E. coli", "--breakpoints", str(FIXTURE), "--json")
    data = json.loads(out)
    assert code == 0
    assert data["interpretation"] == "I" and data["meaning"].startswith("intermediate")
    assert any("test fixture" in w for w in data["warnings"])


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["vancomycinx", "4", "--organism", "E. coli"], "AGENT"),
        (["meropenem", "four", "--organism", "E. coli"], "MIC"),
        (["meropenem", "4", "--organism", "Pseudomonas aeruginosa"], "--organism"),
        (["meropenem", "4", "--organism", "Unknownia"], "--organism"),
        (["meropenem", "4", "--organism", "E. coli", "--site", "lung"], "--site"),
        (["meropenem", "4", "--organism", "E. coli", "--breakpoints", "EUCAST-1999"], "--breakpoints"),
        (["meropenem", "4", "--organism", "E. coli", "--breakpoints", "CLSI-2025"], "--breakpoints"),
        (["meropenem", "4"], "--organism"),
    ],
)
def test_bad_input_exits_2_naming_the_option(
    app: typer.Typer, monkeypatch: pytest.MonkeyPatch, args: list[str], named: str
) -> None:
    monkeypatch.delenv("CRE_ADVISOR_BREAKPOINTS", raising=False)
    code, out = _run(app, *args)
    assert code == 2
    assert named in out
