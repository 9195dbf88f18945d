"""Fixtures for the web doors: an app on a throw-away SQLite file, a client, and test cases."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cre_advisor.web.app import create_app
from web_helpers import KPC_BLOODSTREAM, make_settings

@pytest.fixture
def kpc_case() -> dict[str, Any]:
    return copy.deepcopy(KPC_BLOODSTREAM)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    return create_app(make_settings(tmp_path_factory.mktemp("web")))


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client
