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

Then, in this process, it splits one signed order-sign call into its stages (token check, JSON
body, FHIR validation of resources seen for the first time, the hook itself with resources
already validated, database write) and prints each stage's milliseconds and share of the
call: where a call's time goes. The HTTP runs repeat four bodies, so after warm-up the server
validates no resource again (as for an EHR that sends one patient's prefetch to order-select
and then order-sign); the first-sight line is what a call with all-new resources adds.

Traffic goes to 127.0.0.1 only; every loop stops at its deadline.
"""

from __future__ import annotations

import sys  # noqa: I001 - must run first: bench/http.py would shadow the standard library's `http`
import os

_HERE = os.path.dirname(os.path.abspath(__file__))
# The standard library's `http` must win over bench/http.py; bench/ stays last on the path for `loadgen`.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE] + [_HERE]

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from itertools import chain, cycle
from pathlib import Path
from typing import Any

import jwt
import loadgen
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


# ---- client side (its own process) ---------------------------------------------------------
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
            out.append(loadgen.request(path, bodies[i % len(bodies)], token))
        return out

    per_client = max(1, pool // clients) if kind == "signed" else len(bodies)
    feed = iter if kind == "signed" else cycle  # a signed request is used once (jti); others repeat

    async def drive() -> dict[str, Any]:
        warm = [requests(per_client // 4 or 1) for _ in range(clients)]
        batches = [requests(per_client) for _ in range(clients)]
        # each client warms up on its own requests, then goes on to its measured batch (a repeating feed stays on
        # its warm-up requests, which are the same as its batch)
        result = await loadgen.measure(port, [chain(feed(w), feed(b)) for w, b in zip(warm, batches)], warmup, seconds)
        return {**result, "pool_exhausted": kind == "signed" and result["requests"] >= clients * per_client}

    print(json.dumps(asyncio.run(drive())))


# ---- orchestration -------------------------------------------------------------------------
def _config(port: int, key: ec.EllipticCurvePrivateKey) -> dict[str, Any]:
    jwk = {**json.loads(ECAlgorithm.to_jwk(key.public_key())), "kid": "bench", "alg": "ES384", "use": "sig"}
    return {"public_base_url": f"http://127.0.0.1:{port}", "development_unsigned": True,
            "clients": [{"iss": ISSUER, "jwks": {"keys": [jwk]}}],
            "local_codes": {"susceptibility_mic": [{"system": LAB, "code": "CZA-MIC", "agent": "ceftazidime-avibactam"}]}}


# ---- where one call's time goes (in-process) ---------------------------------------------------
def stage_split(calls: int = 200) -> dict[str, float]:
    """Mean milliseconds per stage of a signed order-sign call, over the benchmark's bodies."""
    from datetime import date

    import httpx

    from cre_advisor.case import Case
    from cre_advisor.cds.advice import advise
    from cre_advisor.cds.services import SERVICES
    from cre_advisor.engine import recommend
    from cre_advisor.fhir.codes import shipped_code_maps
    from cre_advisor.fhir.reader import parse_resource
    from cre_advisor.security.client_tokens import ClientTokenVerifier, TrustedClient
    from cre_advisor.store.cds_feedback import record_cards
    from cre_advisor.store.database import Database
    from cre_advisor.store.saved_cases import save_case
    from cre_advisor.web.cds_hooks import HookRequest

    key = ec.generate_private_key(ec.SECP384R1())
    jwk = {**json.loads(ECAlgorithm.to_jwk(key.public_key())), "kid": "bench", "alg": "ES384"}
    verifier = ClientTokenVerifier((TrustedClient(iss=ISSUER, jwks={"keys": [jwk]}),), httpx.AsyncClient())
    audience = "http://127.0.0.1" + ORDER_SIGN
    raw = _bodies("signed")
    service, codes, today = SERVICES["cre-advisor-order-sign"], shipped_code_maps(), date(2026, 11, 24)
    totals = dict.fromkeys(("token", "JSON body", "FHIR validation (first sight)",
                            "hook (repeat resources)", "database"), 0.0)
    with tempfile.TemporaryDirectory(prefix="cre-bench-stages-") as data_dir:
        database = Database(f"sqlite+pysqlite:///{data_dir}/bench.db")
        database.migrate()
        loop = asyncio.new_event_loop()
        for i in range(calls):
            now = int(time.time())
            token = jwt.encode({"iss": ISSUER, "aud": audience, "iat": now, "exp": now + 600, "jti": str(uuid.uuid4())},
                               key, algorithm="ES384", headers={"kid": "bench", "typ": "JWT"})
            marks = [time.perf_counter()]
            loop.run_until_complete(verifier.verify(token, audience))
            marks.append(time.perf_counter())
            body = json.loads(raw[i % len(raw)])
            HookRequest.model_validate(body)
            marks.append(time.perf_counter())
            values = [*body["prefetch"].values(), body["context"]["draftOrders"]]
            for value in values:  # first sight of these resources: every one validated
                for entry in (value.get("entry") or []) if value and value.get("resourceType") == "Bundle" else [value]:
                    if entry:
                        parse_resource(entry.get("resource", entry))
            marks.append(time.perf_counter())
            cases: list[Case] = []
            produced = advise(service, body["context"], body["prefetch"], codes, base_url="http://127.0.0.1", today=today,
                              plan_link=lambda case: cases.append(case) or "http://127.0.0.1/cases/" + "a" * 32,
                              recommend=recommend)
            marks.append(time.perf_counter())
            with database.sessions() as session:
                for case in cases:
                    save_case(session, case, "bench")
                record_cards(session, service.id, str(uuid.uuid4()), produced, ISSUER)
                session.commit()
            marks.append(time.perf_counter())
            for name, (start, end) in zip(totals, zip(marks, marks[1:], strict=False), strict=True):
                totals[name] += (end - start) * 1000
        loop.close()
        database.dispose()
    return {name: total / calls for name, total in totals.items()}


def print_stages(stages: dict[str, float]) -> None:
    """The stages as ms and share; the hook's FHIR validation happens once per distinct resource
    (the reader's cache), so a call whose resources are new costs the first-sight line too."""
    first = sum(stages.values())
    repeat = first - stages["FHIR validation (first sight)"]
    print(f"\nwhere one signed order-sign call goes (in-process, mean of the benchmark bodies): "
          f"{first:.2f} ms with new resources, {repeat:.2f} ms with resources seen before")
    for name, ms in stages.items():
        print(f"  {name:<31}{ms:>8.2f} ms {ms / first:>6.0%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    loadgen.add_load_options(parser, clients=20)
    parser.add_argument("--pool", type=int, default=8000, help="pre-signed requests per endpoint")
    parser.add_argument("--client", nargs=4, metavar=("PORT", "KIND", "KEY", "POOL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        port, kind, key_file, pool = args.client
        client_main(int(port), kind, args.clients, args.seconds, args.warmup, key_file, int(pool))
        return

    port = loadgen.free_port()
    key = ec.generate_private_key(ec.SECP384R1())
    with tempfile.TemporaryDirectory(prefix="cre-bench-cds-") as data_dir:
        key_file = Path(data_dir) / "ehr-key.pem"
        key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        config = Path(data_dir) / "cds-config.yaml"
        config.write_text(yaml.safe_dump(_config(port, key)), encoding="utf-8")
        with loadgen.serving(port, data_dir, {"CRE_ADVISOR_CDS_CONFIG": str(config)}, workers=args.workers):
            results = {label: loadgen.run_client(__file__, [str(port), kind, str(key_file), str(args.pool)], args)
                       for label, kind in (("bare parse", "bare"), ("order-sign unsigned", "unsigned"),
                                           ("order-sign signed", "signed"))}

    print(f"CDS Hooks benchmark: {args.clients} concurrent clients, {args.seconds:g} s per endpoint, {args.workers} uvicorn worker(s)")
    loadgen.print_table(results, {label: "  (request pool ran out: raise --pool)"
                                  for label, r in results.items() if r["pool_exhausted"]})
    bare, signed = results["bare parse"], results["order-sign signed"]
    print(f"throughput ratio order-sign signed/bare: {signed['throughput'] / bare['throughput']:.2f}; "
          f"signed/unsigned: {signed['throughput'] / results['order-sign unsigned']['throughput']:.2f}")
    print_stages(stage_split())


if __name__ == "__main__":
    main()
