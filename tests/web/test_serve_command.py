"""`cre-advisor serve`: options, a refused database, and a real start on embedded defaults."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from cre_advisor.cli import app


def test_serve_lists_its_options() -> None:
    result = CliRunner().invoke(app, ["serve", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for option in ("--host", "--port", "--database", "--data-dir", "--strict-review", "--workers",
                   "--approvals-required", "--retention-days", "--trusted-proxy"):
        assert option in result.output


def test_serve_refuses_an_unusable_database_with_status_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["serve", "--data-dir", str(tmp_path), "--database", "nosuchdb://x"])
    assert result.exit_code == 2
    assert "cannot open the database" in result.output


def test_serve_starts_on_embedded_defaults(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRE_ADVISOR_")}
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "cre-advisor"), "serve", "--port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
                    health = json.load(response)
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        assert health["status"] == "ok"
        assert (tmp_path / "data" / "cre-advisor.db").exists()  # SQLite in ./data by default
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=15)
    assert f"open http://127.0.0.1:{port}/" in output


# ---- several workers, and two servers starting at once on one database ------------------------
EHR = "https://ehr.test"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_ready(server: subprocess.Popen, port: int, deadline: float) -> dict:
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                return json.load(response)
        except OSError:
            assert server.poll() is None, f"server exited: {server.communicate()[0][-3000:]}"
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.3)


@pytest.fixture
def ehr_key(tmp_path: Path) -> tuple[Any, Path]:
    """An EHR's signing key and a CDS configuration that trusts it (JSON is YAML)."""
    key = ec.generate_private_key(ec.SECP384R1())
    jwk = {**json.loads(ECAlgorithm.to_jwk(key.public_key())), "kid": "ec-1", "alg": "ES384", "use": "sig"}
    config = tmp_path / "cds.yaml"
    config.write_text(json.dumps({"clients": [{"iss": EHR, "jwks": {"keys": [jwk]}}]}), encoding="utf-8")
    return key, config


def _postgres_schema() -> str:
    """A fresh, empty schema on the test PostgreSQL server, as a URL whose connections use it."""
    base = os.environ.get("CRE_ADVISOR_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("CRE_ADVISOR_TEST_POSTGRES_URL is not set (run .ci/postgres.sh)")
    schema = f"serve_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    return make_url(base).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_two_servers_with_two_workers_start_at_once_and_refuse_a_replayed_jti(
    tmp_path: Path, ehr_key: tuple[Any, Path], backend: str
) -> None:
    key, config = ehr_key
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRE_ADVISOR_")}
    env["CRE_ADVISOR_CDS_CONFIG"] = str(config)
    database = ["--database", _postgres_schema()] if backend == "postgresql" else []
    ports = [_free_port(), _free_port()]
    servers = [
        subprocess.Popen(
            [str(Path(sys.executable).parent / "cre-advisor"), "serve", "--port", str(port), "--workers", "2",
             "--data-dir", str(tmp_path / "data"), *database],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        for port in ports
    ]
    try:
        deadline = time.monotonic() + 120
        for server, port in zip(servers, ports):
            assert _wait_until_ready(server, port, deadline)["status"] == "ok"

        # One signed call, sent 12 times at once to both workers of the first server: one is accepted.
        now = int(time.time())
        url = f"http://127.0.0.1:{ports[0]}/cds-services"
        token = jwt.encode({"iss": EHR, "aud": url, "iat": now, "exp": now + 300, "jti": "once-only"}, key,
                           algorithm="ES384", headers={"kid": "ec-1", "typ": "JWT"})

        def call(_: int) -> int:
            request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}", "Connection": "close"})
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    return response.status
            except urllib.error.HTTPError as error:
                return error.code

        with ThreadPoolExecutor(max_workers=12) as pool:
            statuses = sorted(pool.map(call, range(12)))
        assert statuses == [200] + [401] * 11
    finally:
        outputs = []
        for server in servers:
            server.terminate()
        for server in servers:
            outputs.append(server.communicate(timeout=30)[0])
    for output in outputs:
        assert "Traceback" not in output and "already exists" not in output, output[-3000:]
