"""`cre-advisor ask`: exit codes, --json, --case and --audience."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cre_advisor.ask import Answer
from cre_advisor.cli import app

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "kpc-bacteremia.json"
runner = CliRunner()


def test_json_answer_parses_and_cites() -> None:
    result = runner.invoke(app, ["ask", "Can I use tigecycline for her VAP?", "--json"])
    assert result.exit_code == 0, result.output
    parsed = Answer.model_validate_json(result.stdout)
    assert parsed.covered
    assert "avoid-tetracycline-monotherapy-pneumonia" in [item.id for item in parsed.items]
    assert all(item.review_status == "submitted" for item in parsed.items if item.kind != "reference")


def test_not_covered_is_an_answer_with_exit_0() -> None:
    result = runner.invoke(app, ["ask", "Should ICU staff get the influenza vaccine?", "--json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["covered"] is False and data["not_covered_reason"]


def test_readable_answer_shows_sources_review_and_disclaimer() -> None:
    result = runner.invoke(app, ["ask", "Why not meropenem-vaborbactam for OXA-48?"], terminal_width=200)
    assert result.exit_code == 0
    assert "Avoid Meropenem-vaborbactam" in result.stdout
    assert "pending review" in result.stdout.lower()
    assert "10.1093/cid/ciae403" in result.stdout  # IDSA 2024 in the numbered sources
    assert "Decision support, not a decision" in result.stdout


def test_readable_not_covered_names_reason_and_nearest_topics() -> None:
    result = runner.invoke(app, ["ask", "paediatric dose of Avycaz"], terminal_width=200)
    assert result.exit_code == 0
    assert "Not covered" in result.stdout and "adult guidance only" in result.stdout
    assert "Nearest covered topics" in result.stdout


def test_case_file_gives_this_patients_dose() -> None:
    result = runner.invoke(app, ["ask", "What dose of CZA?", "--case", str(EXAMPLE), "--json", "--audience", "pharmacist"])
    assert result.exit_code == 0, result.output
    lines = [line["text"] for line in json.loads(result.stdout)["for_this_patient"]]
    assert any(text.startswith("Ceftazidime-avibactam") and "1.25 g" in text for text in lines)  # CrCl 38.7: 31-50 band


def test_case_from_standard_input() -> None:
    result = runner.invoke(app, ["ask", "What dose of CZA?", "--case", "-", "--json"], input=EXAMPLE.read_text())
    assert result.exit_code == 0
    assert json.loads(result.stdout)["for_this_patient"]


def test_empty_question_exits_2_naming_it() -> None:
    result = runner.invoke(app, ["ask", "  "])
    assert result.exit_code == 2
    assert "question" in result.stderr


def test_unknown_audience_exits_2_listing_the_choices() -> None:
    result = runner.invoke(app, ["ask", "CZA dose", "--audience", "doctor"])
    assert result.exit_code == 2
    assert "--audience" in result.stderr and "pharmacist" in result.stderr


def test_missing_or_invalid_case_exits_2(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["ask", "CZA dose", "--case", str(tmp_path / "none.json")])
    assert missing.exit_code == 2 and "cannot read" in missing.stderr
    bad = tmp_path / "bad.json"
    case = json.loads(EXAMPLE.read_text())
    case["patient"]["age_years"] = 12
    bad.write_text(json.dumps(case))
    invalid = runner.invoke(app, ["ask", "CZA dose", "--case", str(bad)])
    assert invalid.exit_code == 2 and "patient.age_years" in invalid.stderr
