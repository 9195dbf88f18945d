"""`cre-advisor audit INPUT --out DIR`: every episode of a history judged against the advisor's plan.

The audit's modules (pyarrow, the FHIR reader, PySpark) are imported inside the command, so the
other commands start as fast as before.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from cre_advisor.commands.common import err, fail

if TYPE_CHECKING:
    from cre_advisor.audit.output import BadLineLog

ENGINES = ("local", "spark")
SHOWN_ON_TERMINAL = 10


def audit_command(
    input_path: Annotated[str, typer.Argument(
        metavar="INPUT",
        help="Episodes JSON Lines (.jsonl or .jsonl.gz), or a FHIR Bulk Data export directory (.ndjson files).")],
    out: Annotated[Path, typer.Option("--out", help="Directory for episodes.parquet, summary.json, report.html.")],
    engine: Annotated[str, typer.Option(help="local (worker processes on this machine) or spark.")] = "local",
    workers: Annotated[int, typer.Option(min=1, help="Worker processes for the local engine.")] = os.cpu_count() or 1,
    window_days: Annotated[int, typer.Option(
        min=0, help="FHIR input: antibiotic orders authored up to this many days after the culture belong to it.")] = 3,
    spark_master: Annotated[str, typer.Option(help="Spark master for --engine spark.")] = "local[*]",
) -> None:
    """Stewardship audit: one verdict per CRE episode, with counts, charts and the episodes behind them."""
    if engine not in ENGINES:
        fail(f"--engine must be one of {', '.join(ENGINES)} (got '{engine}')")
    source = Path(input_path)
    remote = "://" in input_path
    if remote and engine == "local":
        fail(f"the local engine reads files on this machine; use --engine spark for {input_path}")
    if not remote and not source.exists():
        fail(f"cannot read {input_path}: no such file or directory")
    out.mkdir(parents=True, exist_ok=True)

    from cre_advisor.audit.output import BadLineLog

    bad = BadLineLog(out)
    if source.is_dir():
        source = _episodes_from_fhir(source, out, bad, window_days)
    if engine == "spark":
        summary = _run_spark(input_path if remote else str(source), out, bad, spark_master)
    else:
        summary = _run_local(source, out, bad, workers)
    _print_summary(summary, bad.shown, out)


def _episodes_from_fhir(directory: Path, out: Path, bad: BadLineLog, window_days: int) -> Path:
    """The export's episodes, written as JSON Lines into the output directory (kept: it is the input audited)."""
    from cre_advisor.audit.fhir_bulk import episodes, read_export

    try:
        export = read_export(directory)
    except ValueError as error:
        fail(str(error))
    bad.add(export.bad)
    target = out / "episodes-from-fhir.jsonl"
    count = 0
    with target.open("w", encoding="utf-8") as handle:
        for episode in episodes(export, window_days):
            handle.write(json.dumps(episode) + "\n")
            count += 1
    err.print(f"FHIR export: {len(export.by_patient)} patients, {count} CRE episodes, "
              f"{export.cultures_not_cre} cultures not CRE, {len(export.bad)} bad lines")
    return target


def _run_local(source: Path, out: Path, bad: BadLineLog, workers: int) -> dict[str, Any]:
    import pyarrow.dataset as ds

    from cre_advisor.audit.local import run_local
    from cre_advisor.audit.output import finish
    from cre_advisor.audit.report import READ_COLUMNS

    columns = [TextColumn("auditing"), SpinnerColumn(), BarColumn(), MofNCompleteColumn(),
               TextColumn("lines"), TimeElapsedColumn()]
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("audit", total=None)
        stats = run_local(source, out, bad, workers=workers,
                          on_batch=lambda n: progress.advance(task, n))
    err.print(f"{stats.episodes} episodes and {stats.bad_lines} bad lines in {stats.seconds:.1f} s: "
              f"{stats.rate:,.0f} lines/s with {workers} worker{'s' if workers > 1 else ''}")
    dataset = ds.dataset(out / "episodes.parquet", format="parquet")
    return finish(out, dataset.to_batches(columns=READ_COLUMNS), bad)


def _run_spark(source: str, out: Path, bad: BadLineLog, master: str) -> dict[str, Any]:
    import time

    try:
        from cre_advisor.audit.spark_job import audit_with_spark, local_session
    except ImportError:
        fail("--engine spark needs PySpark: pip install 'cre-advisor[spark]' (and a Java runtime)")
    start = time.perf_counter()
    spark = local_session(master)
    try:
        summary = audit_with_spark(spark, source, str(out / "episodes.parquet"), out, bad)
    finally:
        spark.stop()
    seconds = time.perf_counter() - start
    lines = int(summary["episodes"]) + int(summary["bad_lines"])
    err.print(f"Spark ({master}): {lines} lines in {seconds:.1f} s: {lines / seconds:,.0f} lines/s (session start included)")
    return summary


def _print_summary(summary: dict[str, Any], bad: list[dict[str, object]], out: Path) -> None:
    console = Console(highlight=False)
    for entry in bad[:SHOWN_ON_TERMINAL]:
        err.print(f"bad line {entry['line']} (episode {entry['episode_id'] or '?'}): {entry['error']}", soft_wrap=True)
    if int(summary["bad_lines"]) > SHOWN_ON_TERMINAL:
        err.print(f"... {summary['bad_lines']} bad lines in all: see {out / 'bad_lines.jsonl'}")
    table = Table(title=f"{summary['episodes']} episodes")
    table.add_column("verdict")
    table.add_column("episodes", justify="right")
    for verdict, count in summary["verdicts"].items():
        table.add_row(verdict, str(count))
    console.print(table)
    console.print(f"Report: {out / 'report.html'}")


def register(app: typer.Typer) -> None:
    app.command("audit")(audit_command)
