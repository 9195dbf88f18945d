"""`cre-advisor audit` end to end on the local engine: Parquet rows, bad lines, summary, page, FHIR Bulk."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from audit_helpers import MIXED_BAD, MIXED_VERDICTS, mixed_lines
from cre_advisor.cli import app
from fhir_export import resources, write_export

runner = CliRunner()
COLUMNS = {"episode_id", "ward", "date", "verdict", "reasons", "top_regimen", "knowledge_version"}


def run(*args: str) -> str:
    result = runner.invoke(app, ["audit", *args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def mixed_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("in") / "episodes.jsonl"
    path.write_text("\n".join(mixed_lines()) + "\n\n", encoding="utf-8")  # a trailing blank line is no episode
    return path


@pytest.fixture(scope="module", params=[1, 2], ids=["one-worker", "two-workers"])
def audited(request: pytest.FixtureRequest, mixed_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("out")
    run(str(mixed_file), "--out", str(out), "--workers", str(request.param))
    return out


def test_one_row_per_good_episode_with_its_verdict(audited: Path) -> None:
    table = pq.read_table(audited / "episodes.parquet")
    assert COLUMNS <= set(table.column_names)
    rows = {r["episode_id"]: r for r in table.to_pylist()}
    assert {k: r["verdict"] for k, r in rows.items()} == MIXED_VERDICTS
    assert rows["E01"]["top_regimen"] == "meropenem-vaborbactam"
    assert rows["E01"]["knowledge_version"]
    assert rows["E03"]["ward"] == "ICU-A" and str(rows["E03"]["date"]) == "2026-02-02"


def test_bad_lines_are_reported_with_line_and_id_and_skipped(audited: Path) -> None:
    bad = [json.loads(line) for line in (audited / "bad_lines.jsonl").read_text().splitlines()]
    assert {b["line"]: b["episode_id"] for b in bad} == MIXED_BAD
    assert all(b["error"] for b in bad)
    by_line = {b["line"]: b["error"] for b in bad}
    assert "date" in by_line[6] and "ward" in by_line[9]
    summary = json.loads((audited / "summary.json").read_text())
    assert summary["bad_lines"] == 4
    page = (audited / "report.html").read_text()
    assert "B2" in page and "B3" in page


def test_summary_counts(audited: Path) -> None:
    summary = json.loads((audited / "summary.json").read_text())
    assert summary["episodes"] == 11
    expected = {v: list(MIXED_VERDICTS.values()).count(v) for v in summary["verdicts"]}
    assert summary["verdicts"] == expected
    assert summary["by_month"]["2026-01"] == {"concordant": 1, "concordant_alternative": 1}
    assert sum(sum(c.values()) for c in summary["by_ward"].values()) == 11
    reasons = {r["reason"]: r["episodes"] for r in summary["top_discordance_reasons"]}
    assert reasons["never_for_cre: ertapenem"] == 1
    assert reasons["dose_high: meropenem-vaborbactam"] == 1


def test_report_is_self_contained_and_every_count_links_to_its_episodes(audited: Path) -> None:
    page = (audited / "report.html").read_text()
    assert not re.search(r"<(script|link|img)\b[^>]*(src|href)=", page)
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page
    assert page.count("<svg") == 4  # overall, ward, month, reasons
    anchors = set(re.findall(r'href="#(c[0-9a-f]+)"', page))
    targets = set(re.findall(r'id="(c[0-9a-f]+)"', page))
    assert anchors and anchors <= targets
    never = re.search(r'id="(c[0-9a-f]+)">\s*<h3>never_for_cre: all episodes \(1\)</h3>\s*<div class="ids">([^<]*)<', page)
    assert never is not None and never.group(2).strip() == "E04"


def test_gzip_input_gives_the_same_rows(mixed_file: Path, audited: Path, tmp_path: Path) -> None:
    packed = tmp_path / "episodes.jsonl.gz"
    packed.write_bytes(gzip.compress(mixed_file.read_bytes()))
    run(str(packed), "--out", str(tmp_path / "out"), "--workers", "1")
    assert pq.read_table(tmp_path / "out" / "episodes.parquet").to_pylist() == \
        pq.read_table(audited / "episodes.parquet").to_pylist()


def test_unknown_engine_and_missing_input_are_clear_errors(tmp_path: Path) -> None:
    result = runner.invoke(app, ["audit", str(tmp_path / "none.jsonl"), "--out", str(tmp_path)])
    assert result.exit_code == 2 and "cannot read" in result.output
    result = runner.invoke(app, ["audit", str(tmp_path), "--out", str(tmp_path), "--engine", "dask"])
    assert result.exit_code == 2 and "--engine" in result.output
    result = runner.invoke(app, ["audit", "s3://bucket/episodes.jsonl", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "--engine spark" in result.output


def test_fhir_bulk_export(tmp_path: Path) -> None:
    export = write_export(tmp_path / "export")
    out = tmp_path / "out"
    run(str(export), "--out", str(out), "--workers", "1")
    rows = {r["episode_id"]: r for r in pq.read_table(out / "episodes.parquet").to_pylist()}
    # the susceptible E. coli culture is no CRE episode
    assert set(rows) == {"kpc-1/mb-kpc", "ndm-1/mb-ndm", "nos-1/mb-nos"}
    kpc, ndm, nos = rows["kpc-1/mb-kpc"], rows["ndm-1/mb-ndm"], rows["nos-1/mb-nos"]
    assert (kpc["ward"], str(kpc["date"])) == ("ICU-North", "2026-05-02")
    # the meropenem order nine days later is outside the three-day window
    assert kpc["prescribed"] == "ceftazidime-avibactam"
    # CZA 2.5 g q8h at CrCl ~99 for KPC (IDSA Q3.4 preferred; label full dose above 50 mL/min)
    assert kpc["verdict"] == "concordant", kpc["reasons"]
    # cefiderocol 2 g q8h for an NDM producer tested susceptible (IDSA Q3.5 preferred)
    assert (ndm["ward"], ndm["prescribed"], ndm["verdict"]) == ("unknown", "cefiderocol", "concordant")
    assert nos["verdict"] == "not_assessable"
    assert "infection.site" in nos["reasons"][0]
    bad = [json.loads(line) for line in (out / "bad_lines.jsonl").read_text().splitlines()]
    first_bad = len(resources()["Observation"]) + 1  # the bad lines follow the good ones in Observation.ndjson
    assert [(b["line"], b["episode_id"]) for b in bad] == [(first_bad, None), (first_bad + 1, "orphan")]
    assert all(b["error"].startswith("Observation.ndjson line") for b in bad)


def test_spark_job_needs_a_report_dir_for_a_remote_out() -> None:
    from cre_advisor.audit.spark_job import main

    with pytest.raises(SystemExit) as exit_info:
        main(["in.jsonl", "s3://bucket/audit.parquet"])
    assert exit_info.value.code == 2
