"""The `recommend` and `knowledge check` commands: exit codes, JSON round trip, readable output."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cre_advisor import recommend
from cre_advisor.cli import app
from cre_advisor.recommendation import Recommendation

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "kpc-bacteremia.json"
runner = CliRunner()


def test_json_output_round_trips_into_recommendation() -> None:
    result = runner.invoke(app, ["recommend", str(EXAMPLE), "--json"])
    assert result.exit_code == 0, result.output
    parsed = Recommendation.model_validate_json(result.stdout)
    assert parsed.options, "the KPC example must produce options"
    assert json.loads(result.stdout) == recommend(json.loads(EXAMPLE.read_text())).model_dump(mode="json")


def test_json_uses_contract_key_class_for_mechanism() -> None:
    result = runner.invoke(app, ["recommend", str(EXAMPLE), "--json"])
    mechanism = json.loads(result.stdout)["mechanism"]
    assert mechanism["class"] == "serine_carbapenemase"
    assert "class_" not in mechanism


def test_standard_input_is_read_with_dash() -> None:
    result = runner.invoke(app, ["recommend", "-", "--json"], input=EXAMPLE.read_text())
    assert result.exit_code == 0
    assert json.loads(result.stdout)["mechanism"]["enzymes"] == ["KPC"]


def test_readable_plan_shows_ranked_dose_avoid_citations_and_disclaimer() -> None:
    result = runner.invoke(app, ["recommend", str(EXAMPLE)], terminal_width=200)
    assert result.exit_code == 0
    text = result.stdout
    assert "Meropenem-vaborbactam" in text
    assert "2 g" in text  # CrCl about 39 mL/min: the 30-49 band, not 4 g
    assert "Ceftriaxone" in text  # what to avoid
    assert "pending review" in text.lower()
    assert "10.1093/cid/ciae403" in text  # the numbered reference list names IDSA 2024


def test_invalid_case_exits_2_naming_the_field(tmp_path: Path) -> None:
    case = json.loads(EXAMPLE.read_text())
    case["patient"]["weight_kg"] = 0
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(case))
    result = runner.invoke(app, ["recommend", str(path)])
    assert result.exit_code == 2
    assert "patient.weight_kg" in result.output


def test_out_of_scope_organism_exits_2_naming_it(tmp_path: Path) -> None:
    case = json.loads(EXAMPLE.read_text())
    case["isolate"]["organism"] = "Pseudomonas aeruginosa"
    path = tmp_path / "pa.json"
    path.write_text(json.dumps(case))
    result = runner.invoke(app, ["recommend", str(path)])
    assert result.exit_code == 2
    assert "Pseudomonas aeruginosa" in result.output


def test_malformed_json_and_missing_file_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    assert runner.invoke(app, ["recommend", str(path)]).exit_code == 2
    assert runner.invoke(app, ["recommend", str(tmp_path / "absent.json")]).exit_code == 2


def test_unknown_audience_exits_2() -> None:
    result = runner.invoke(app, ["recommend", str(EXAMPLE), "--audience", "surgeon"])
    assert result.exit_code == 2
    assert "--audience" in result.output


def test_patient_audience_has_no_doses() -> None:
    result = runner.invoke(app, ["recommend", str(EXAMPLE), "--audience", "patient"], terminal_width=200)
    assert result.exit_code == 0
    assert " mg" not in result.stdout and " g q" not in result.stdout


def test_knowledge_check_passes_on_shipped_base() -> None:
    result = runner.invoke(app, ["knowledge", "check"])
    assert result.exit_code == 0, result.output


def test_knowledge_check_fails_on_broken_citation(tmp_path: Path) -> None:
    source = Path(__file__).resolve().parent.parent / "src" / "cre_advisor" / "knowledge"
    for path in source.rglob("*.yaml"):
        target = tmp_path / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(path.read_text())
    statements = tmp_path / "statements.yaml"
    statements.write_text(statements.read_text().replace('["idsa-2024", "escmid-2022"]', '["no-such-ref"]', 1))
    result = runner.invoke(app, ["knowledge", "check", "--directory", str(tmp_path)])
    assert result.exit_code == 1
    assert "no-such-ref" in result.output


def test_absurd_numeric_mic_is_refused_naming_the_field(tmp_path: Path) -> None:
    case = json.loads(EXAMPLE.read_text())
    case["isolate"]["susceptibility"]["meropenem"] = {"mic_mg_l": 10**400}
    path = tmp_path / "huge.json"
    path.write_text(json.dumps(case))
    result = runner.invoke(app, ["recommend", str(path)])
    assert result.exit_code == 2
    assert "isolate.susceptibility.meropenem" in result.output
