"""The seed's examples (API.md §2), verbatim except for the URL and the root credentials,
over ``ws`` and ``http``; and ``open_surreal``, the trio-style spelling."""

from __future__ import annotations

import pytest

from surreal_trio import AsyncSurreal, ClientState, open_surreal
from tests.conftest import ServerInfo
from tests.trio.helpers import guard

pytestmark = [pytest.mark.trio, pytest.mark.integration]


def state(db: AsyncSurreal) -> ClientState:
    return db.state  # (read through a call: no type narrowing across awaits)


def url_of(server: ServerInfo, kind: str) -> str:
    return server.ws_url if kind == "ws" else server.http_url


@pytest.mark.parametrize("kind", ["ws", "http"])
@guard()
async def test_seed_examples(surreal_server: ServerInfo, kind: str) -> None:
    url = url_of(surreal_server, kind)
    root = {"username": surreal_server.user, "password": surreal_server.password}

    db = AsyncSurreal(url)          # no I/O yet: connects lazily or on connect()
    await db.use("namespace", "database")
    await db.signin(root)
    await db.close()

    async with AsyncSurreal(url) as db:
        await db.use(namespace="surrealdb", database="docs")

    db = AsyncSurreal(url)
    await db.use("namespace", "database")
    await db.close()
    async with AsyncSurreal(url) as db:
        await db.use("namespace", "database")

    assert state(db) is ClientState.CLOSED


@pytest.mark.parametrize("kind", ["ws", "http"])
@guard()
async def test_open_surreal(surreal_server: ServerInfo, kind: str) -> None:
    root = {"username": surreal_server.user, "password": surreal_server.password}
    async with open_surreal(url_of(surreal_server, kind), namespace="surrealdb",
                            database="docs", auth=root) as db:
        assert await db.query("RETURN $session.ns") == ["surrealdb"]
        assert db.state is ClientState.OPEN
    assert state(db) is ClientState.CLOSED
