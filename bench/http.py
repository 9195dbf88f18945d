"""HTTP benchmark: POST /v1/recommendations against the same server's parse-only endpoint.

Starts `cre-advisor`'s app on uvicorn (one worker, access log off) in a subprocess on a free
loopback port, then, from a second process, drives each endpoint with N concurrent keep-alive
clients for a fixed time and prints throughput and p50/p99 latency side by side, with the
ratio to the bare endpoint. The bare endpoint (`POST /v1/_bench/parse`, mounted only when
CRE_ADVISOR_BENCH_ROUTES=1) validates the same Case body and answers a constant: the
difference is the engine plus serialising the Recommendation.

    python bench/http.py [--seconds 10] [--clients 50]

Targets: recommendations throughput >= 70% of bare on varied cases; p99 < 25 ms at 50 clients.
Traffic goes to 127.0.0.1 only, and every loop stops at its deadline.
"""

from __future__ import annotations

import sys  # noqa: I001 - must run first: this file is named like the standard library's `http`
import os

_HERE = os.path.dirname(os.path.abspath(__file__))
# The standard library's `http` must win over this file; bench/ stays last on the path for `loadgen`.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE] + [_HERE]

import argparse
import asyncio
import json
import tempfile
from collections.abc import Iterator
from itertools import cycle, islice

import loadgen
from varied import varied_cases

# Thousands of distinct valid cases from the seeded generator: a server sees new patients, so a few
# repeated cases would measure the engine's memos rather than the engine.
CASES = varied_cases(2000)

ENDPOINTS = (("bare parse", "/v1/_bench/parse"), ("recommendations", "/v1/recommendations"))


# ---- client side (runs in its own process) ------------------------------------------------
async def _drive(port: int, path: str, clients: int, seconds: float, warmup: float) -> dict[str, float]:
    requests = [loadgen.request(path, json.dumps(c).encode()) for c in CASES]

    def feeds() -> list[Iterator[bytes]]:
        """Client n starts at case n and cycles through the cases without end."""
        return [islice(cycle(requests), n, None) for n in range(clients)]

    return await loadgen.measure(port, feeds(), warmup, seconds)


def client_main(port: int, path: str, clients: int, seconds: float, warmup: float) -> None:
    try:  # the faster event loop leaves more of the machine to the server under test
        import uvloop

        result = uvloop.run(_drive(port, path, clients, seconds, warmup))
    except ImportError:
        result = asyncio.run(_drive(port, path, clients, seconds, warmup))
    print(json.dumps(result))


# ---- orchestration ------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    loadgen.add_load_options(parser, clients=50)
    parser.add_argument("--client", nargs=2, metavar=("PORT", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        client_main(int(args.client[0]), args.client[1], args.clients, args.seconds, args.warmup)
        return

    port = loadgen.free_port()
    with tempfile.TemporaryDirectory(prefix="cre-bench-") as data_dir, loadgen.serving(port, data_dir, workers=args.workers):
        results = {label: loadgen.run_client(__file__, [str(port), path], args) for label, path in ENDPOINTS}

    print(f"HTTP benchmark: {args.clients} concurrent clients, {args.seconds:g} s per endpoint, {args.workers} uvicorn worker(s)")
    loadgen.print_table(results)
    bare, real = results["bare parse"], results["recommendations"]
    ratio = real["throughput"] / bare["throughput"]
    print(f"throughput ratio recommendations/bare: {ratio:.2f} (target >= 0.70: {'met' if ratio >= 0.70 else 'NOT met'})")
    print(f"recommendations p99: {real['p99_ms']:.2f} ms (target < 25 ms: {'met' if real['p99_ms'] < 25 else 'NOT met'})")
    print(_cost_split(bare["throughput"], real["throughput"]))


def _cost_split(bare_per_s: float, real_per_s: float) -> str:
    """Where the difference goes: the one-worker server spends 1/throughput per request; set beside it the
    engine and the JSON dump of the same cases timed alone in this process (after the load has stopped)."""
    import statistics
    import timeit

    from cre_advisor import recommend
    from cre_advisor.case import Case

    cases = [Case.model_validate(c) for c in CASES[:100]]  # a sample: the split is a guide, not the result
    engine = statistics.median(min(timeit.repeat(lambda c=c: recommend(c), number=20, repeat=3)) / 20 for c in cases)
    answers = [recommend(c) for c in cases]
    dump = statistics.median(min(timeit.repeat(a.model_dump_json, number=20, repeat=3)) / 20 for a in answers)
    bare_us, real_us = 1e6 / bare_per_s, 1e6 / real_per_s
    return (f"server time per request: bare {bare_us:.0f} us, recommendations {real_us:.0f} us (difference "
            f"{real_us - bare_us:.0f} us); alone in this process: recommend() from a validated Case "
            f"{engine * 1e6:.0f} us, model_dump_json {dump * 1e6:.0f} us. A ratio of 0.70 allows "
            f"{bare_us / 0.70 - bare_us:.0f} us over bare.")


if __name__ == "__main__":
    main()
