"""HTTP benchmark: POST /v1/recommendations against the same server's parse-only endpoint.

Starts `cre-advisor`'s app on uvicorn (one worker, access log off) in a subprocess on a free
loopback port, then, from a second process, drives each endpoint with N concurrent keep-alive
clients for a fixed time and prints throughput and p50/p99 latency side by side, with the
ratio to the bare endpoint. The bare endpoint (`POST /v1/_bench/parse`, mounted only when
CRE_ADVISOR_BENCH_ROUTES=1) validates the same Case body and answers a constant: the
difference is the engine plus serialising the Recommendation.

    python bench/http.py [--seconds 10] [--clients 50]

Targets (issue 5): recommendations throughput >= 70% of bare; p99 < 25 ms at 50 clients.
Traffic goes to 127.0.0.1 only, and every loop stops at its deadline.
"""

from __future__ import annotations

import sys  # noqa: I001 - must run first: this file is named like the standard library's `http`
import os

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

CASES = [
    {  # KPC bacteraemia, CrCl about 40 mL/min
        "patient": {"age_years": 67, "sex": "female", "weight_kg": 72, "height_cm": 165, "serum_creatinine_mg_dl": 1.4},
        "infection": {"site": "bloodstream", "severity": "septic_shock", "source_control": "pending",
                      "increment_cpe": {"severe_sepsis_or_shock": True, "pitt_score": 6, "charlson_index": 3,
                                        "source": "other", "inappropriate_early_therapy": True}},
        "isolate": {"organism": "Klebsiella pneumoniae", "carbapenemase": ["KPC"],
                    "susceptibility": {"ceftazidime-avibactam": {"mic_mg_l": 2}, "meropenem": {"mic_mg_l": 16},
                                       "meropenem-vaborbactam": {"interpretation": "S"}}},
    },
    {  # NDM pneumonia on CRRT
        "patient": {"age_years": 58, "sex": "male", "weight_kg": 90, "height_cm": 180, "renal_replacement": "crrt",
                    "crrt_effluent_l_h": 2.5},
        "infection": {"site": "pneumonia", "ventilator_associated": True, "severity": "septic_shock"},
        "isolate": {"organism": "Escherichia coli", "carbapenemase": ["NDM"],
                    "susceptibility": {"cefiderocol": {"mic_mg_l": 1}, "aztreonam-avibactam": {"interpretation": "S"}}},
    },
    {  # OXA-48-like complicated UTI, normal renal function
        "patient": {"age_years": 45, "sex": "female", "weight_kg": 60, "height_cm": 160, "serum_creatinine_umol_l": 70},
        "infection": {"site": "urinary_complicated", "severity": "severe", "source_control": "not_needed"},
        "isolate": {"organism": "Enterobacter cloacae complex", "carbapenemase": ["OXA-48-like"],
                    "susceptibility": {"ceftazidime-avibactam": {"interpretation": "S"}}},
    },
]

ENDPOINTS = (("bare parse", "/v1/_bench/parse"), ("recommendations", "/v1/recommendations"))


# ---- client side (runs in its own process) ------------------------------------------------
def _request(path: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _one_client(port: int, requests: list[bytes], start: int, deadline: float, latencies: list[float]) -> int:
    """Send requests back to back on one keep-alive connection until the deadline; return errors."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    errors, i = 0, start
    try:
        while time.perf_counter() < deadline:
            payload = requests[i % len(requests)]
            i += 1
            began = time.perf_counter()
            writer.write(payload)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - began)
            if head[9:12] != b"200":
                errors += 1
    finally:
        writer.close()
    return errors


async def _drive(port: int, path: str, clients: int, seconds: float, warmup: float) -> dict[str, float]:
    requests = [_request(path, json.dumps(c).encode()) for c in CASES]
    await asyncio.gather(*(_one_client(port, requests, n, time.perf_counter() + warmup, []) for n in range(clients)))
    latencies: list[float] = []
    began = time.perf_counter()
    errors = await asyncio.gather(
        *(_one_client(port, requests, n, began + seconds, latencies) for n in range(clients))
    )
    elapsed = time.perf_counter() - began
    ordered = sorted(latencies)
    return {
        "requests": len(ordered),
        "errors": sum(errors),
        "throughput": len(ordered) / elapsed,
        "p50_ms": statistics.median(ordered) * 1000,
        "p99_ms": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000,
    }


def client_main(port: int, path: str, clients: int, seconds: float, warmup: float) -> None:
    try:  # the faster event loop leaves more of the machine to the server under test
        import uvloop

        result = uvloop.run(_drive(port, path, clients, seconds, warmup))
    except ImportError:
        result = asyncio.run(_drive(port, path, clients, seconds, warmup))
    print(json.dumps(result))


# ---- orchestration ------------------------------------------------------------------------
def _free_port() -> int:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured time per endpoint")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured time per endpoint first")
    parser.add_argument("--clients", type=int, default=50, help="concurrent keep-alive connections")
    parser.add_argument("--client", nargs=2, metavar=("PORT", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        client_main(int(args.client[0]), args.client[1], args.clients, args.seconds, args.warmup)
        return

    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="cre-bench-") as data_dir:
        env = {**os.environ, "CRE_ADVISOR_BENCH_ROUTES": "1", "CRE_ADVISOR_DATA_DIR": data_dir}
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "cre_advisor.web.app:create_app", "--factory", "--host", "127.0.0.1",
             "--port", str(port), "--workers", "1", "--no-access-log", "--log-level", "warning"],
            env=env,
        )
        try:
            _wait_ready(port, server)
            results = {}
            for label, path in ENDPOINTS:
                out = subprocess.run(
                    [sys.executable, str(Path(__file__).resolve()), "--client", str(port), path,
                     "--clients", str(args.clients), "--seconds", str(args.seconds), "--warmup", str(args.warmup)],
                    check=True, capture_output=True, text=True,
                )
                results[label] = json.loads(out.stdout)
        finally:
            server.terminate()
            server.wait(timeout=10)

    bare, real = results["bare parse"], results["recommendations"]
    print(f"HTTP benchmark: {args.clients} concurrent clients, {args.seconds:g} s per endpoint, one uvicorn worker")
    print(f"{'endpoint':<18}{'requests':>10}{'errors':>8}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}")
    for label, r in results.items():
        print(f"{label:<18}{r['requests']:>10}{r['errors']:>8}{r['throughput']:>10.0f}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}")
    ratio = real["throughput"] / bare["throughput"]
    print(f"throughput ratio recommendations/bare: {ratio:.2f} (target >= 0.70: {'met' if ratio >= 0.70 else 'NOT met'})")
    print(f"recommendations p99: {real['p99_ms']:.2f} ms (target < 25 ms: {'met' if real['p99_ms'] < 25 else 'NOT met'})")


if __name__ == "__main__":
    main()
