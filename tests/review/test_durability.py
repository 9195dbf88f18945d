"""A server killed with SIGKILL while approvals stream in keeps every action it acknowledged.

`cre-advisor serve` runs in its own process on the default embedded store (SQLite in WAL mode in the
data directory). Four client threads post start-review + approve pairs; once enough are
acknowledged the server is killed mid-stream, restarted on the same data directory, and every
acknowledged action must be there: the item's state and the audit entry.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from review_helpers import CHEAP_HASHER, PASSWORD

from cre_advisor.knowledge.loader import default_knowledge
from cre_advisor.review.accounts import Accounts
from cre_advisor.review.content import content_items
from cre_advisor.review.store import ReviewStore
from cre_advisor.settings import DATABASE_FILE, Settings
from cre_advisor.store.database import Database

KILL_AFTER = 30  # acknowledged actions before the kill
CLIENTS = 4


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """`cre-advisor serve` in its own process on a free loopback port."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        env = {key: value for key, value in os.environ.items() if key != "CRE_ADVISOR_DATABASE_URL"}
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "cre-advisor"), "serve", "--host", "127.0.0.1",
             "--port", str(self.port), "--data-dir", str(self.data_dir)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.process.stderr.read().decode()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/review/policy", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError("server did not answer within 60 s")

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def server(tmp_path) -> Iterator[Server]:
    running = Server(tmp_path)
    yield running
    running.stop()


def test_acknowledged_actions_survive_sigkill(server: Server, tmp_path: Path) -> None:
    database = Database(Settings.resolve(data_dir=tmp_path, database_url=None).database_url)
    database.migrate()
    tokens = {}
    with ReviewStore(database.engine).writing() as session:
        for name in ("rita", "otto"):  # two reviewers: one approval alone does not approve
            Accounts(CHEAP_HASHER).add_user(session, name, "reviewer", PASSWORD)
            tokens[name] = {"Authorization": f"Bearer {Accounts.issue_token(session, name, 'durability')}"}
    headers = tokens["rita"]
    database.dispose()
    items = sorted(content_items(default_knowledge()).values(), key=lambda item: item.id)

    server.start()
    acknowledged: list[tuple[str, str]] = []
    unexpected: list[str] = []
    lock = threading.Lock()
    enough = threading.Event()

    def reviewer(share: list) -> None:
        with httpx.Client(base_url=server.url, headers=headers, timeout=10) as client:
            for item in share:
                for who, action in (("rita", "start_review"), ("rita", "approve"), ("otto", "approve")):
                    try:
                        response = client.post(f"/v1/review/items/{item.id}/actions",
                                               json={"action": action, "hash": item.hash}, headers=tokens[who])
                    except httpx.TransportError:
                        return  # the server is gone
                    if response.status_code != 200:
                        unexpected.append(f"{item.id} {action}: {response.status_code} {response.text}")
                        return
                    with lock:
                        acknowledged.append((item.id, f"{who} {action}"))
                        if len(acknowledged) >= KILL_AFTER:
                            enough.set()

    threads = [threading.Thread(target=reviewer, args=(items[n::CLIENTS],)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    assert enough.wait(timeout=60), "the server acknowledged too few actions"
    server.kill()  # while the other clients still have requests in flight
    for thread in threads:
        thread.join(timeout=30)
    assert unexpected == []
    with lock:
        survivors = list(acknowledged)
    assert len(survivors) >= KILL_AFTER
    assert len(survivors) < 3 * len(items), "the kill came after the stream ended"

    with sqlite3.connect(tmp_path / DATABASE_FILE) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    server.start()
    with httpx.Client(base_url=server.url, headers=headers, timeout=10) as client:
        for item_id, step in survivors:
            detail = client.get(f"/v1/review/items/{item_id}").json()
            applied = {(e["actor"], e["action"], e["outcome"]) for e in detail["history"]}
            who, action = step.split()
            assert (who, action, "applied") in applied, (item_id, step)
            expected = {"rita start_review": {"under_review", "approved"},
                        "rita approve": {"under_review", "approved"}, "otto approve": {"approved"}}[step]
            assert detail["item"]["status"] in expected, (item_id, step, detail["item"]["status"])
