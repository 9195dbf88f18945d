"""Load generation shared by bench/http.py and bench/cds.py, so both measure the same way.

The server is the app on uvicorn (one worker, access log off) on a free loopback port; the
load comes from a second process (`<script> --client ...`) so that it does not share the
server's interpreter. Each client sends raw HTTP/1.1 on one keep-alive connection, back to
back, until its deadline: no client library sits inside the measured time. The same connections
serve the warm-up and the measurement, so opening 50 connections at once is not measured.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any


# ---- client side -----------------------------------------------------------------------------
def request(path: str, body: bytes, token: str | None = None) -> bytes:
    """A JSON POST to `path` on 127.0.0.1, with a bearer token if one is given."""
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{auth}"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


async def _one_client(port: int, requests: Iterable[bytes], start: float, deadline: float,
                      latencies: list[float]) -> int:
    """Send `requests` on one keep-alive connection until the deadline or until they run out, recording the
    latency of those sent from `start` on (the ones before warm the connection and the server); return errors."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    errors = 0
    try:
        for payload in requests:
            began = time.perf_counter()
            if began >= deadline:
                break
            writer.write(payload)
            head = await reader.readuntil(b"\r\n\r\n")
            length = next((int(v) for n, _, v in (line.partition(b":") for line in head.split(b"\r\n")[1:])
                           if n.strip().lower() == b"content-length"), 0)
            await reader.readexactly(length)
            if began >= start:
                latencies.append(time.perf_counter() - began)
                errors += head[9:12] != b"200"
    finally:
        writer.close()
    return errors


async def measure(port: int, feeds: Sequence[Iterable[bytes]], warmup: float, seconds: float) -> dict[str, Any]:
    """One client per feed, all at once: `warmup` seconds unrecorded, then `seconds` recorded on the same
    connections (so connecting is not measured). Requests, errors, throughput (per second), p50, p99 (ms)."""
    latencies: list[float] = []
    start = time.perf_counter() + warmup
    errors = await asyncio.gather(*(_one_client(port, feed, start, start + seconds, latencies) for feed in feeds))
    ordered = sorted(latencies)
    return {
        "requests": len(ordered),
        "errors": sum(errors),
        "throughput": len(ordered) / seconds,
        "p50_ms": statistics.median(ordered) * 1000,
        "p99_ms": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000,
    }


# ---- orchestration ---------------------------------------------------------------------------
def add_load_options(parser: argparse.ArgumentParser, clients: int) -> None:
    """The options `run_client` passes on to the client process."""
    parser.add_argument("--seconds", type=float, default=10.0, help="measured time per endpoint")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured time per endpoint first")
    parser.add_argument("--clients", type=int, default=clients, help="concurrent keep-alive connections")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes serving the app")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_ready(port: int, server: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"server exited with status {server.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("server did not become ready")


@contextmanager
def serving(port: int, data_dir: str, env: Mapping[str, str] | None = None, workers: int = 1) -> Iterator[None]:
    """The app with its benchmark route on 127.0.0.1:`port`, ready on entry and stopped on exit. With several
    workers the schema is migrated here first, as `cre-advisor serve --workers N` does, and each worker only
    opens the database."""
    environment = {**os.environ, "CRE_ADVISOR_BENCH_ROUTES": "1", "CRE_ADVISOR_DATA_DIR": data_dir, **(env or {})}
    target = ["cre_advisor.web.app:create_app"]
    if workers > 1:
        subprocess.run([sys.executable, "-c", "from cre_advisor.settings import Settings; from cre_advisor.store.database "
                        "import Database; s = Settings.resolve(); s.ensure_data_dir(); Database(s.database_url).migrate()"],
                       env=environment, check=True)
        target = ["cre_advisor.web.app:create_worker_app", "--timeout-worker-healthcheck", "60"]
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", *target, "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--workers", str(workers), "--no-access-log", "--log-level", "warning"], env=environment,
    )
    try:
        _wait_ready(port, server)
        yield
    finally:
        server.terminate()
        server.wait(timeout=20)


def run_client(script: str, client_args: Sequence[str], options: argparse.Namespace) -> dict[str, Any]:
    """Run `script --client <client_args>` with the load options and return the JSON it prints."""
    out = subprocess.run(
        [sys.executable, str(Path(script).resolve()), "--client", *client_args, "--clients", str(options.clients),
         "--seconds", str(options.seconds), "--warmup", str(options.warmup)],
        check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout)


def print_table(results: Mapping[str, Mapping[str, Any]], notes: Mapping[str, str] | None = None) -> None:
    """One row per endpoint: requests, errors, req/s, p50 and p99 in ms, then its note if any."""
    width = max(map(len, results)) + 3
    print(f"{'endpoint':<{width}}{'requests':>10}{'errors':>8}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}")
    for label, r in results.items():
        print(f"{label:<{width}}{r['requests']:>10}{r['errors']:>8}{r['throughput']:>10.0f}{r['p50_ms']:>9.2f}"
              f"{r['p99_ms']:>9.2f}{(notes or {}).get(label, '')}")
