"""The audit on Apache Spark: the same `audit_lines` over a DataFrame of input lines (`mapInArrow`).

Spark reads the episodes file from any path it reads (local, HDFS, S3; gzip too) and writes
the rows, in the local engine's columns, as a Parquet directory; the summary and page are then
computed from that Parquet by the same code as the local engine's. Entry point for spark-submit:

    spark-submit --master yarn src/cre_advisor/audit/spark_job.py INPUT OUT --report-dir LOCAL_DIR
    python -m cre_advisor.audit.spark_job INPUT OUT            # local[*], report beside the Parquet

`cre-advisor` must be installed on every executor (the function runs there).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from cre_advisor.audit.output import BadLineLog, finish
from cre_advisor.audit.report import READ_COLUMNS
from cre_advisor.audit.table import SCHEMA, BadLine, audit_lines

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

ERROR = "error"
ROWS_PER_BATCH = 5000
OUT_SCHEMA = pa.schema([pa.field(f.name, f.type) for f in SCHEMA] + [pa.field(ERROR, pa.string())])
"""The rows with an error column, every column nullable: a bad line fills only line, id and error."""


def spark_schema() -> str:
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(OUT_SCHEMA).simpleString().removeprefix("struct<").removesuffix(">")


def _audit_partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Runs on the executors: judged rows with a null error, then the bad lines with theirs."""
    for batch in batches:
        data = batch.to_pydict()
        rows, bad = audit_lines(zip(data["line"], data["text"], strict=True))
        yield pa.RecordBatch.from_arrays([*rows.columns, pa.nulls(rows.num_rows, pa.string())], schema=OUT_SCHEMA)
        if bad:
            columns: dict[str, list[object]] = {name: [None] * len(bad) for name in SCHEMA.names}
            columns["line"] = [b.line for b in bad]
            columns["episode_id"] = [b.episode_id for b in bad]
            columns[ERROR] = [b.error for b in bad]
            yield pa.RecordBatch.from_pydict(columns, schema=OUT_SCHEMA)


def audited(spark: SparkSession, input_path: str) -> DataFrame:
    """One row per non-blank input line: an episode's row, or a bad line's (error set)."""
    from pyspark.sql import functions as F

    numbered = spark.sparkContext.textFile(input_path).zipWithIndex().map(lambda pair: (pair[1] + 1, pair[0]))
    lines = spark.createDataFrame(numbered, "line long, text string").filter(F.trim("text") != "")
    return lines.mapInArrow(_audit_partition, spark_schema())


def run_spark(spark: SparkSession, input_path: str, parquet_out: str, bad: BadLineLog) -> int:
    """Audit into a Parquet directory; returns the number of episodes written."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    frame = audited(spark, input_path).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        good = frame.filter(F.col(ERROR).isNull()).drop(ERROR)
        good.write.mode("overwrite").parquet(parquet_out)
        errors = frame.filter(F.col(ERROR).isNotNull()).select("line", "episode_id", ERROR).orderBy("line")
        bad.add(BadLine(r["line"], r["episode_id"], r[ERROR]) for r in errors.toLocalIterator())
        return good.count()
    finally:
        frame.unpersist()


def parquet_batches(spark: SparkSession, parquet_out: str) -> Iterator[pa.RecordBatch]:
    """The written rows back from the Parquet, a bounded number at a time, for the summary."""
    chunk: list[dict[str, object]] = []
    fields = pa.schema([SCHEMA.field(name) for name in READ_COLUMNS])
    for row in spark.read.parquet(parquet_out).select(*READ_COLUMNS).toLocalIterator():
        chunk.append(row.asDict())
        if len(chunk) >= ROWS_PER_BATCH:
            yield pa.RecordBatch.from_pylist(chunk, schema=fields)
            chunk = []
    if chunk:
        yield pa.RecordBatch.from_pylist(chunk, schema=fields)


def local_session(master: str = "local[*]") -> SparkSession:
    """A Spark session on this machine whose Python workers use this interpreter."""
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    return (
        SparkSession.builder.master(master).appName("cre-advisor-audit")
        .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4").config("spark.log.level", "ERROR")
        .getOrCreate()
    )


def audit_with_spark(spark: SparkSession, input_path: str, parquet_out: str, report_dir: Path,
                     bad: BadLineLog) -> dict[str, object]:
    """The whole Spark audit: Parquet, then bad lines, summary.json and report.html in `report_dir`."""
    run_spark(spark, input_path, parquet_out, bad)
    return finish(report_dir, parquet_batches(spark, parquet_out), bad)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="cre_advisor.audit.spark_job", description=__doc__.split("\n")[0])
    parser.add_argument("input", help="episodes JSON Lines (.jsonl or .jsonl.gz), any path Spark reads")
    parser.add_argument("out", help="where to write the episodes Parquet directory, any path Spark writes")
    parser.add_argument("--report-dir", help="local directory for summary.json, report.html, bad_lines.jsonl "
                        "(default: OUT itself when OUT is a local path)")
    parser.add_argument("--master", default="local[*]", help="Spark master when not run by spark-submit")
    args = parser.parse_args(argv)
    if args.report_dir is None and "://" in args.out:
        parser.error("--report-dir is needed when OUT is not a local path")
    report_dir = Path(args.report_dir or args.out)
    report_dir.mkdir(parents=True, exist_ok=True)
    parquet_out = args.out if args.report_dir else str(Path(args.out) / "episodes.parquet")
    from pyspark.sql import SparkSession

    # spark-submit starts the JVM first and tells Python its gateway port; then its --master rules
    submitted = "PYSPARK_GATEWAY_PORT" in os.environ
    spark = SparkSession.builder.appName("cre-advisor-audit").getOrCreate() if submitted else local_session(args.master)
    summary = audit_with_spark(spark, args.input, parquet_out, report_dir, BadLineLog(report_dir))
    print(f"{summary['episodes']} episodes, {summary['bad_lines']} bad lines; report in {report_dir}")


if __name__ == "__main__":
    main()
