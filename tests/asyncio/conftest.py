"""Fixtures of the surreal_asyncio tests: ``target`` runs a test over ws, http and mem://."""

from __future__ import annotations

import pytest

from tests.asyncio.helpers import Target
from tests.conftest import DbInfo


def make_target(kind: str, db: DbInfo | None) -> Target:
    if kind == "mem":
        return Target("mem", "mem://", "test", "test")
    assert db is not None
    server = db.server
    url = server.ws_url if kind == "ws" else server.http_url  # http and httpx
    return Target(kind, url, db.namespace, db.database, server.user, server.password)


@pytest.fixture(params=["ws", "http", "httpx", "mem"])
def target(request: pytest.FixtureRequest) -> Target:
    """The same test over a WebSocket, HTTP (built-in, and on an httpx.AsyncClient), and the
    in-process engine."""
    kind = request.param
    return make_target(kind, None if kind == "mem" else request.getfixturevalue("surreal_db"))


@pytest.fixture(params=["ws", "http", "httpx"])
def server_target(request: pytest.FixtureRequest) -> Target:
    """The server transports only."""
    return make_target(request.param, request.getfixturevalue("surreal_db"))


@pytest.fixture
def ws(surreal_db: DbInfo) -> Target:
    """The WebSocket target."""
    return make_target("ws", surreal_db)
