"""Server settings: where the data lives, which database holds it, and the policies an operator sets.

Resolution order for each value: an explicit argument (a command-line option), then the
environment (CRE_ADVISOR_DATA_DIR, CRE_ADVISOR_DATABASE_URL, CRE_ADVISOR_APPROVALS_REQUIRED,
CRE_ADVISOR_RETENTION_DAYS, CRE_ADVISOR_MAX_BODY_BYTES, CRE_ADVISOR_BENCH_ROUTES, ...), then the
embedded default (`./data` and an SQLite file inside it, two approvers, 30 days, 8 MiB bodies).
Nothing here touches the disk except `ensure_data_dir`, which whoever starts the server calls.
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
APPROVALS_ENV = "CRE_ADVISOR_APPROVALS_REQUIRED"
RETENTION_ENV = "CRE_ADVISOR_RETENTION_DAYS"
DATABASE_FILE = "cre-advisor.db"

MIN_APPROVALS = 2  # the editorial policy promises two people, always; a board may ask for more
DEFAULT_RETENTION_DAYS = 30  # saved cases are links for a ward round, not a record of care
MAX_RETENTION_DAYS = 3650


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    strict_review: bool = False  # answers use board-approved knowledge items only
    bench_routes: bool = False  # mounts POST /v1/_bench/parse for bench/http.py
    max_body_bytes: int = MAX_BODY_BYTES  # larger request bodies get 413 on every route
    approvals_required: int = MIN_APPROVALS  # distinct reviewers who must approve one version
    retention_days: int = DEFAULT_RETENTION_DAYS  # saved cases older than this are purged

    @classmethod
    def resolve(
        cls, *, data_dir: str | Path | None = None, database_url: str | None = None, strict_review: bool | None = None,
        approvals_required: int | None = None, retention_days: int | None = None,
    ) -> Settings:
        """Settings from arguments, then environment, then the embedded defaults.

        Raises ValueError naming the setting when a value is out of range.
        """
        directory = Path(data_dir or os.environ.get(DATA_DIR_ENV) or "data").expanduser().resolve()
        url = database_url or os.environ.get(DATABASE_URL_ENV) or sqlite_url(directory / DATABASE_FILE)
        strict = _flag(STRICT_REVIEW_ENV) if strict_review is None else strict_review
        approvals = _integer(APPROVALS_ENV, approvals_required, MIN_APPROVALS, MIN_APPROVALS, 20)
        retention = _integer(RETENTION_ENV, retention_days, DEFAULT_RETENTION_DAYS, 1, MAX_RETENTION_DAYS)
        max_body = _integer(MAX_BODY_BYTES_ENV, None, MAX_BODY_BYTES, 1024, 2**31)
        return cls(data_dir=directory, database_url=url, strict_review=strict, bench_routes=_flag(BENCH_ROUTES_ENV),
                   max_body_bytes=max_body, approvals_required=approvals, retention_days=retention)

    def ensure_data_dir(self) -> None:
        """Create the data directory readable by this account only (it holds patient data)."""
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)


def _flag(name: str) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if value in ("", "0", "false", "no"):
        return False
    if value in ("1", "true", "yes"):
        return True
    raise ValueError(f"{name}={value!r}: use 1/true/yes or 0/false/no")


def _integer(name: str, given: int | None, default: int, low: int, high: int) -> int:
    """`given`, else the environment variable `name`, else `default`; checked against [low, high]."""
    raw = os.environ.get(name, "").strip() if given is None else str(given)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r}: use a whole number from {low} to {high}") from None
    if not low <= value <= high:
        raise ValueError(f"{name}={value}: use a whole number from {low} to {high}")
    return value


def sqlite_url(path: Path) -> str:
    return f"sqlite+pysqlite:///{path}"
