"""API.md §2: the seed's asyncio examples, verbatim but for the URL (the fixture's server)."""

from __future__ import annotations

import pytest

from surreal_asyncio import AsyncSurreal
from surreal_proto import ClientState
from tests.asyncio.helpers import aio
from tests.conftest import ServerInfo

pytestmark = pytest.mark.integration


def state_of(db: AsyncSurreal) -> ClientState:
    return db.state


async def seed_examples(url: str, secure_url: str) -> None:
    db = AsyncSurreal(url)
    await db.use("namespace", "database")
    await db.close()
    async with AsyncSurreal(secure_url) as db:
        await db.use("namespace", "database")


@pytest.mark.parametrize("kind", ["ws", "http"])
@aio
async def test_seed_examples(surreal_server: ServerInfo, kind: str) -> None:
    url = surreal_server.ws_url if kind == "ws" else surreal_server.http_url
    await seed_examples(url, url)


def test_seed_examples_over_tls(surreal_tls_server: ServerInfo) -> None:
    # The seed's second example is a wss:// URL: the same code with a trusted CA.
    import ssl

    from tests.asyncio.helpers import run

    server = surreal_tls_server
    context = server.ssl_context()
    assert isinstance(context, ssl.SSLContext)

    async def main() -> None:
        for url in (server.ws_url, server.http_url):
            async with AsyncSurreal(url, ssl=context) as db:
                await db.use("namespace", "database")
                assert db.namespace == "namespace"
            assert db.state is ClientState.CLOSED

    run(main)


@aio
async def test_construction_does_no_io() -> None:
    db = AsyncSurreal("ws://127.0.0.1:9")  # nothing listens there; nothing is tried
    assert state_of(db) is ClientState.IDLE
    assert db.url == "ws://127.0.0.1:9"
    assert db.server_version is None
    await db.close()
    assert state_of(db) is ClientState.CLOSED
