"""`cre-advisor dose AGENT`: answers, JSON shape and exit codes (0 answer, 2 bad input)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from cre_advisor.commands import dose

app = typer.Typer(pretty_exceptions_enable=False)


@app.callback()
def _root() -> None:
    """A group, so that the command is invoked as `dose` as in cre-advisor."""


dose.register(app)
runner = CliRunner()


def run(*args: str) -> Any:
    return runner.invoke(app, ["dose", *args])


def run_json(*args: str) -> dict[str, Any]:
    result = run(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_json_has_the_contract_keys() -> None:
    data = run_json("CZA", "--crcl", "20")
    for key in ("agent", "dose", "dose_mg", "interval_h", "infusion_h", "loading_dose_mg", "route", "band",
                "weight_basis", "citations", "notes"):
        assert key in data
    assert (data["agent"], data["dose_mg"], data["interval_h"]) == ("ceftazidime-avibactam", 940, 12)
    assert data["renal"]["method"] == "measured"


def test_synonyms_and_brands_resolve() -> None:
    assert run_json("Zavicefta", "--crcl", "60")["agent"] == "ceftazidime-avibactam"
    assert run_json("Fetroja", "--crcl", "130")["dose_mg"] == 2000


def test_patient_values_in_mg_dl_and_umol_l() -> None:
    # (140 - 60) x 72 / (72 x 1.0) = 80 mL/min in both units: cefiderocol 2 g q8h
    for flag, value in (("--scr-mg-dl", "1.0"), ("--scr-umol-l", "88.4")):
        data = run_json("cefiderocol", "--age", "60", "--sex", "male", "--weight-kg", "72", flag, value)
        assert (data["renal"]["crcl_ml_min"], data["dose_mg"], data["interval_h"]) == (80, 2000, 8)


def test_weight_based_agent_with_crcl_and_weight() -> None:
    data = run_json("plazomicin", "--crcl", "70", "--weight-kg", "70")
    assert (data["dose_mg"], data["weight_basis"], data["weight_kg"]) == (1050, "actual", 70)
    assert "15 mg/kg x 70 kg = 1050 mg" in data["dose"]


def test_crrt_effluent() -> None:
    data = run_json("cefiderocol", "--rrt", "crrt", "--effluent-l-h", "3.5")
    assert (data["dose_mg"], data["interval_h"], data["band"]) == (1500, 8, "CRRT effluent 3.1-4 L/h")


def test_site_child_pugh_variant_route() -> None:
    assert run_json("meropenem", "--crcl", "90", "--site", "cystitis")["dose_mg"] == 1000
    assert run_json("metronidazole", "--crcl", "90", "--child-pugh", "C")["dose_mg"] == 250
    assert run_json("aztreonam", "--crcl", "20", "--variant", "with_ceftazidime_avibactam")["loading_dose_mg"] == 2000
    assert run_json("ciprofloxacin", "--crcl", "90", "--route", "PO")["dose_mg"] == 750


def test_not_recommended_is_an_answer_with_exit_0() -> None:
    data = run_json("plazomicin", "--rrt", "intermittent_hemodialysis", "--weight-kg", "70")
    assert data["dose_mg"] is None and data["not_recommended"] is True
    assert any("insufficient information" in note for note in data["notes"])


def test_unknown_clearance_gives_first_dose_only() -> None:
    data = run_json("ceftazidime-avibactam", "--age", "60", "--weight-kg", "70")
    assert (data["dose_mg"], data["interval_h"], data["band"]) == (2500, None, "renal function unknown")


def test_readable_output() -> None:
    result = run("CZA", "--crcl", "20")
    assert result.exit_code == 0
    assert "Ceftazidime-avibactam" in result.stdout and "q12h" in result.stdout and "CrCl 16-30" in result.stdout


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("nonsense-drug", "--crcl", "50"), "AGENT"),
        (("ertapenem", "--crcl", "50"), "AGENT"),
        (("CZA", "--age", "12", "--sex", "male"), "--age"),
        (("CZA", "--crcl", "-5"), "--crcl"),
        (("CZA", "--crcl", "50", "--scr-mg-dl", "1.0"), "--crcl"),
        (("CZA", "--scr-mg-dl", "1.0", "--scr-umol-l", "88"), "--scr-mg-dl"),
        (("CZA", "--crcl", "50", "--effluent-l-h", "2"), "--effluent-l-h"),
        (("CZA", "--crcl", "50", "--variant", "bogus"), "--variant"),
        (("CZA", "--crcl", "50", "--route", "PO"), "--route"),
        (("CZA", "--crcl", "50", "--sex", "x"), "--sex"),
        (("CZA", "--crcl", "50", "--child-pugh", "D"), "--child-pugh"),
        (("CZA", "--crcl", "50", "--rrt", "dialysis"), "--rrt"),
    ],
)
def test_bad_input_exits_2_naming_the_option(args: tuple[str, ...], named: str) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert named in result.output


@pytest.mark.parametrize(("residual", "interval"), [("5", 48), ("6", 24)])
def test_haemodialysis_with_residual_clearance_takes_the_label_band(residual: str, interval: float) -> None:
    # Avycaz label: on HD, CrCl 6-15 -> 0.94 g q24h, <= 5 -> 0.94 g q48h, after the session
    data = run_json("CZA", "--rrt", "intermittent_hemodialysis", "--crcl", residual)
    assert (data["dose_mg"], data["interval_h"]) == (940, interval)
    assert data["evidence"] == "label or guideline [P]"


def test_crrt_without_effluent_prints_every_band() -> None:
    result = run("cefiderocol", "--rrt", "crrt")
    assert result.exit_code == 0, result.output
    assert "by band" in result.output and "effluent >= 4.1 L/h: 2 g q8h" in result.output


@pytest.mark.parametrize(("flags", "mg"), [(("--unstable",), 2500), ((), 940)])
def test_unstable_creatinine_flag_gives_the_full_early_dose(flags: tuple[str, ...], mg: float) -> None:
    assert run_json("CZA", "--crcl", "20", *flags)["dose_mg"] == mg  # Crass 2019: full dose for 48 h
