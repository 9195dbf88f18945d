"""`cre-advisor serve`: options, a refused database, and a real start on embedded defaults."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from typer.testing import CliRunner

from cre_advisor.cli import app


def test_serve_lists_its_options() -> None:
    result = CliRunner().invoke(app, ["serve", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for option in ("--host", "--port", "--database", "--data-dir", "--strict-review"):
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
