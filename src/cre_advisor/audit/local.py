"""The audit on one machine: batches of lines to worker processes, rows to one Parquet file.

Each worker loads the knowledge base once (the pool's initializer) and then judges batch after
batch. The reader stays at most a few batches ahead of the workers and the writer appends each
batch as it returns, so memory stays flat however long the input is.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from cre_advisor.audit.episodes import line_batches
from cre_advisor.audit.output import BadLineLog
from cre_advisor.audit.table import SCHEMA, BadLine, audit_lines
from cre_advisor.knowledge.loader import default_knowledge

BATCH_LINES = 1000
IN_FLIGHT_PER_WORKER = 2


@dataclass(frozen=True)
class RunStats:
    episodes: int
    bad_lines: int
    seconds: float

    @property
    def rate(self) -> float:
        return (self.episodes + self.bad_lines) / self.seconds if self.seconds > 0 else 0.0


def _load_knowledge() -> None:
    """Pool initializer: the knowledge base once per worker, before its first batch."""
    default_knowledge()


Result = tuple[pa.RecordBatch, list[BadLine]]


def _results(batches: Iterator[list[tuple[int, str]]], workers: int) -> Iterator[Result]:
    """Results in input order; one process does the work itself when `workers` is 1."""
    if workers <= 1:
        default_knowledge()
        yield from map(audit_lines, batches)
        return
    with ProcessPoolExecutor(max_workers=workers, initializer=_load_knowledge) as pool:
        pending: deque[Future[Result]] = deque()
        for batch in batches:
            pending.append(pool.submit(audit_lines, batch))
            if len(pending) >= workers * IN_FLIGHT_PER_WORKER:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def run_local(input_path: Path, out_dir: Path, bad: BadLineLog, *, workers: int,
              batch_lines: int = BATCH_LINES, on_batch: Callable[[int], None] | None = None) -> RunStats:
    """Audit an episodes file into `out_dir/episodes.parquet`; bad lines go to `bad`."""
    start = time.perf_counter()
    episodes = 0
    with pq.ParquetWriter(out_dir / "episodes.parquet", SCHEMA) as writer:
        for rows, bad_lines in _results(line_batches(input_path, batch_lines), workers):
            if rows.num_rows:
                writer.write_batch(rows)
            bad.add(bad_lines)
            episodes += rows.num_rows
            if on_batch is not None:
                on_batch(rows.num_rows + len(bad_lines))
    return RunStats(episodes, bad.count, time.perf_counter() - start)
