"""The Spark engine (local[2]) against the local engine on the same input: same rows, same counts.

One Spark session for the module (starting one costs 10-20 s); skipped where PySpark or a Java
runtime is missing.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from audit_helpers import MIXED_BAD, mixed_lines
from cre_advisor.audit.local import run_local
from cre_advisor.audit.output import BadLineLog, finish
from cre_advisor.audit.report import READ_COLUMNS
from cre_advisor.audit.table import SCHEMA

pytestmark = [
    pytest.mark.spark,
    pytest.mark.skipif(shutil.which("java") is None, reason="no Java runtime"),
]
pytest.importorskip("pyspark")


@pytest.fixture(scope="module")
def spark() -> Iterator[object]:
    from cre_advisor.audit.spark_job import local_session

    session = local_session("local[2]")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def both(spark: object, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from cre_advisor.audit.spark_job import audit_with_spark

    source = tmp_path_factory.mktemp("in") / "episodes.jsonl"
    source.write_text("\n".join(mixed_lines()) + "\n", encoding="utf-8")
    local, distributed = tmp_path_factory.mktemp("local"), tmp_path_factory.mktemp("spark")
    bad = BadLineLog(local)
    run_local(source, local, bad, workers=1)
    finish(local, ds.dataset(local / "episodes.parquet").to_batches(columns=READ_COLUMNS), bad)
    audit_with_spark(spark, str(source), str(distributed / "episodes.parquet"), distributed, BadLineLog(distributed))
    return local, distributed


def rows(out: Path) -> list[dict[str, object]]:
    return ds.dataset(out / "episodes.parquet", format="parquet").to_table().sort_by("line").to_pylist()


def test_same_rows_as_the_local_engine(both: tuple[Path, Path]) -> None:
    local, distributed = both
    assert len(rows(local)) == 11
    assert rows(distributed) == rows(local)


def test_same_parquet_columns_and_types(both: tuple[Path, Path]) -> None:
    schema = ds.dataset(both[1] / "episodes.parquet", format="parquet").schema
    assert schema.names == SCHEMA.names
    for name in SCHEMA.names:
        assert schema.field(name).type.equals(SCHEMA.field(name).type, check_metadata=False) or \
            str(schema.field(name).type) == str(SCHEMA.field(name).type), name


def test_same_summary_and_bad_lines(both: tuple[Path, Path]) -> None:
    local, distributed = both
    assert json.loads((distributed / "summary.json").read_text()) == json.loads((local / "summary.json").read_text())
    bad = [json.loads(line) for line in (distributed / "bad_lines.jsonl").read_text().splitlines()]
    assert {b["line"]: b["episode_id"] for b in bad} == MIXED_BAD
