"""CDS Hooks benchmark: order-sign round trips beside the server's bare parse endpoint.

Starts the app on uvicorn (one worker, access log off) on a free loopback port with a CDS
configuration that trusts one generated ES384 key, then drives three endpoints from a second
process with N concurrent keep-alive clients for a fixed time, and prints throughput and
p50/p99 latency side by side:

- bare parse: `POST /v1/_bench/parse` (validates a Case, answers a constant), as in bench/http.py;
- order-sign unsigned: the full hook (FHIR parsing, engine, cards, database writes) in the
  development mode that accepts unsigned loopback calls;
- order-sign signed: the same, each call with its own ES384 JWT (verification and replay check
  included). Tokens are signed before the clock starts, one per request.

    python bench/cds.py [--seconds 10] [--clients 20]

Traffic goes to 127.0.0.1 only; every loop stops at its deadline.
"""

from __future__ import annotations

import sys  # noqa: I001 - must run first: bench/http.py would shadow the standard library's `http`
import os

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse
import asyncio
import importlib.util
import json
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterable
from itertools import cycle
from pathlib import Path
from typing import Any

import jwt
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent / "tests" / "cds" / "fixtures"
ORDER_SIGN = "/cds-services/cre-advisor-order-sign"
BODIES = ("order-sign-tigecycline-bacteraemia", "order-sign-cza-overdose", "order-sign-cza-correct-dose",
          "order-sign-ndm-meropenem")
ISSUER = "https://ehr.bench.local"
LAB = "http://lab.example.org/codes"


def _http_bench() -> Any:
    """bench/http.py's server helpers (free port, readiness wait), loaded under another name."""
    spec = importlib.util.spec_from_file_location("bench_http", HERE / "http.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---- client side (its own process) ---------------------------------------------------------
def _request(path: str, body: bytes, token: str | None) -> bytes:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{auth}"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


async def _one_client(port: int, requests: Iterable[bytes], deadline: float, latencies: list[float]) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    errors = 0
    try:
        for payload in requests:
            if time.perf_counter() >= deadline:
                break
            began = time.perf_counter()
            writer.write(payload)
            head = await reader.readuntil(b"\r\n\r\n")
            length = next((int(v) for n, _, v in (line.partition(b":") for line in head.split(b"\r\n")[1:])
                           if n.strip().lower() == b"content-length"), 0)
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - began)
            errors += head[9:12] != b"200"
    finally:
        writer.close()
    return errors


def _bodies(kind: str) -> list[bytes]:
    if kind == "bare":
        case = {"patient": {"age_years": 68, "sex": "female", "weight_kg": 72, "height_cm": 165, "serum_creatinine_mg_dl": 1.6},
                "infection": {"site": "bloodstream", "severity": "septic_shock"},
                "isolate": {"organism": "Klebsiella pneumoniae", "carbapenemase": ["KPC"]}}
        return [json.dumps(case).encode()]
    return [(FIXTURES / f"{name}.json").read_bytes() for name in BODIES]


def client_main(port: int, kind: str, clients: int, seconds: float, warmup: float, key_file: str, pool: int) -> None:
    path = "/v1/_bench/parse" if kind == "bare" else ORDER_SIGN
    bodies = _bodies(kind)
    key = serialization.load_pem_private_key(Path(key_file).read_bytes(), password=None)

    def requests(count: int) -> list[bytes]:
        out = []
        for i in range(count):
            token = None
            if kind == "signed":
                now = int(time.time())
                token = jwt.encode({"iss": ISSUER, "aud": f"http://127.0.0.1:{port}{path}", "iat": now, "exp": now + 600,
                                    "jti": str(uuid.uuid4())}, key, algorithm="ES384", headers={"kid": "bench", "typ": "JWT"})
            out.append(_request(path, bodies[i % len(bodies)], token))
        return out

    per_client = max(1, pool // clients) if kind == "signed" else len(bodies)
    feed = iter if kind == "signed" else cycle  # a signed request is used once (jti); others repeat

    async def drive() -> dict[str, float]:
        warm = [requests(per_client // 4 or 1) for _ in range(clients)]
        await asyncio.gather(*(_one_client(port, feed(r), time.perf_counter() + warmup, []) for r in warm))
        batches = [requests(per_client) for _ in range(clients)]
        latencies: list[float] = []
        began = time.perf_counter()
        errors = await asyncio.gather(*(_one_client(port, feed(b), began + seconds, latencies) for b in batches))
        elapsed = time.perf_counter() - began
        ordered = sorted(latencies)
        return {"requests": len(ordered), "errors": sum(errors), "throughput": len(ordered) / elapsed,
                "p50_ms": statistics.median(ordered) * 1000,
                "p99_ms": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000,
                "pool_exhausted": kind == "signed" and len(ordered) >= clients * per_client}

    print(json.dumps(asyncio.run(drive())))


# ---- orchestration -------------------------------------------------------------------------
def _config(port: int, key: ec.EllipticCurvePrivateKey) -> dict[str, Any]:
    jwk = {**json.loads(ECAlgorithm.to_jwk(key.public_key())), "kid": "bench", "alg": "ES384", "use": "sig"}
    return {"public_base_url": f"http://127.0.0.1:{port}", "development_unsigned": True,
            "clients": [{"iss": ISSUER, "jwks": {"keys": [jwk]}}],
            "local_codes": {"susceptibility_mic": [{"system": LAB, "code": "CZA-MIC", "agent": "ceftazidime-avibactam"}]}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured time per endpoint")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured time per endpoint first")
    parser.add_argument("--clients", type=int, default=20, help="concurrent keep-alive connections")
    parser.add_argument("--pool", type=int, default=8000, help="pre-signed requests per endpoint")
    parser.add_argument("--client", nargs=4, metavar=("PORT", "KIND", "KEY", "POOL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        port, kind, key_file, pool = args.client
        client_main(int(port), kind, args.clients, args.seconds, args.warmup, key_file, int(pool))
        return

    helpers = _http_bench()
    port = helpers._free_port()
    key = ec.generate_private_key(ec.SECP384R1())
    with tempfile.TemporaryDirectory(prefix="cre-bench-cds-") as data_dir:
        key_file = Path(data_dir) / "ehr-key.pem"
        key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        config = Path(data_dir) / "cds-config.yaml"
        config.write_text(yaml.safe_dump(_config(port, key)), encoding="utf-8")
        env = {**os.environ, "CRE_ADVISOR_BENCH_ROUTES": "1", "CRE_ADVISOR_DATA_DIR": data_dir,
               "CRE_ADVISOR_CDS_CONFIG": str(config)}
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "cre_advisor.web.app:create_app", "--factory", "--host", "127.0.0.1",
             "--port", str(port), "--workers", "1", "--no-access-log", "--log-level", "warning"], env=env,
        )
        results = {}
        try:
            helpers._wait_ready(port, server)
            for label, kind in (("bare parse", "bare"), ("order-sign unsigned", "unsigned"), ("order-sign signed", "signed")):
                out = subprocess.run(
                    [sys.executable, str(Path(__file__).resolve()), "--client", str(port), kind, str(key_file), str(args.pool),
                     "--clients", str(args.clients), "--seconds", str(args.seconds), "--warmup", str(args.warmup)],
                    check=True, capture_output=True, text=True,
                )
                results[label] = json.loads(out.stdout)
        finally:
            server.terminate()
            server.wait(timeout=10)

    print(f"CDS Hooks benchmark: {args.clients} concurrent clients, {args.seconds:g} s per endpoint, one uvicorn worker")
    print(f"{'endpoint':<22}{'requests':>10}{'errors':>8}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}")
    for label, r in results.items():
        flag = "  (request pool ran out: raise --pool)" if r["pool_exhausted"] else ""
        print(f"{label:<22}{r['requests']:>10}{r['errors']:>8}{r['throughput']:>10.0f}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}{flag}")
    bare, signed = results["bare parse"], results["order-sign signed"]
    print(f"throughput ratio order-sign signed/bare: {signed['throughput'] / bare['throughput']:.2f}; "
          f"signed/unsigned: {signed['throughput'] / results['order-sign unsigned']['throughput']:.2f}")


if __name__ == "__main__":
    main()
