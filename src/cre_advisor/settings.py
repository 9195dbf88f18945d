"""Server settings: where the data lives and which database holds it.

Resolution order for each value: an explicit argument (a command-line option), then the
environment (CRE_ADVISOR_DATA_DIR, CRE_ADVISOR_DATABASE_URL, CRE_ADVISOR_BENCH_ROUTES,
CRE_ADVISOR_MAX_BODY_BYTES), then
the embedded default (`./data` and an SQLite file inside it). Nothing here touches the disk;
`ensure_data_dir` is called by whoever starts the server.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DATA_DIR_ENV = "CRE_ADVISOR_DATA_DIR"
DATABASE_URL_ENV = "CRE_ADVISOR_DATABASE_URL"
BENCH_ROUTES_ENV = "CRE_ADVISOR_BENCH_ROUTES"
STRICT_REVIEW_ENV = "CRE_ADVISOR_STRICT_REVIEW"
MAX_BODY_BYTES_ENV = "CRE_ADVISOR_MAX_BODY_BYTES"
MAX_BODY_BYTES = 8 * 1024 * 1024  # a CDS prefetch of a long ICU stay fits; a flood does not
DATABASE_FILE = "cre-advisor.db"


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    strict_review: bool = False  # answers use board-approved knowledge items only
    bench_routes: bool = False  # mounts POST /v1/_bench/parse for bench/http.py
    max_body_bytes: int = MAX_BODY_BYTES  # larger request bodies get 413 on every route

    @classmethod
    def resolve(
        cls, *, data_dir: str | Path | None = None, database_url: str | None = None, strict_review: bool | None = None
    ) -> Settings:
        """Settings from arguments, then environment, then the embedded defaults."""
        directory = Path(data_dir or os.environ.get(DATA_DIR_ENV) or "data").expanduser().resolve()
        url = database_url or os.environ.get(DATABASE_URL_ENV) or sqlite_url(directory / DATABASE_FILE)
        strict = _flag(STRICT_REVIEW_ENV) if strict_review is None else strict_review
        return cls(data_dir=directory, database_url=url, strict_review=strict, bench_routes=_flag(BENCH_ROUTES_ENV),
                   max_body_bytes=_size(MAX_BODY_BYTES_ENV, MAX_BODY_BYTES))

    def ensure_data_dir(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)


def _flag(name: str) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if value in ("", "0", "false", "no"):
        return False
    if value in ("1", "true", "yes"):
        return True
    raise ValueError(f"{name}={value!r}: use 1/true/yes or 0/false/no")


def _size(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < 1024:
        raise ValueError(f"{name}={value!r}: give a whole number of bytes, at least 1024")
    return int(value)


def sqlite_url(path: Path) -> str:
    return f"sqlite+pysqlite:///{path}"
