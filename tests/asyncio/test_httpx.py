"""``http_client=httpx.AsyncClient(...)`` (API.md §3): the user's HTTP client carries every
``http(s)`` call, any number at once; it stays the user's (``close()`` leaves it open)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from surreal_asyncio import (
    AsyncSurreal,
    ConnectionClosedError,
    LocalProtocolError,
    SurrealConnectionError,
    TLSError,
    UnsupportedFeatureError,
)
from tests.asyncio.helpers import Target, aio
from tests.asyncio.test_concurrency import mixed_call
from tests.conftest import DbInfo, ServerInfo

pytestmark = pytest.mark.integration


def httpx_target(db: DbInfo) -> Target:
    server = db.server
    return Target("httpx", server.http_url, db.namespace, db.database, server.user,
                  server.password)


@aio
async def test_many_calls_cancellation_and_close(surreal_db: DbInfo) -> None:
    target = httpx_target(surreal_db)
    async with httpx.AsyncClient() as http:
        db = await target.ready(AsyncSurreal(target.url, http_client=http))
        await db.query("DEFINE TABLE item")
        await asyncio.gather(*(mixed_call(db, i) for i in range(200)))
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.1):
                await db.query("SLEEP 1s")
        assert not db._driver._waiters
        assert await db.query("RETURN 1") == [1]
        await db.close()
        assert not http.is_closed  # the client is the user's
        assert not db._driver._tasks
        await target.ready(db)  # and the AsyncSurreal opens again on it
        assert await db.health() is True
        await db.close()


@aio
async def test_close_with_exchanges_in_flight(surreal_db: DbInfo) -> None:
    target = httpx_target(surreal_db)
    async with httpx.AsyncClient() as http:
        db = await target.ready(AsyncSurreal(target.url, http_client=http))
        calls = [asyncio.create_task(db.query("SLEEP 2s")) for _ in range(10)]
        await asyncio.sleep(0.1)
        started = asyncio.get_running_loop().time()
        await db.close()
        assert asyncio.get_running_loop().time() - started < 1.0
        results = await asyncio.gather(*calls, return_exceptions=True)
        assert all(isinstance(r, ConnectionClosedError) for r in results), results
        assert not db._driver._tasks
        assert (await http.get(target.url + "/health")).status_code == 200


@aio
async def test_transport_failures_are_typed() -> None:
    async with httpx.AsyncClient() as http:
        db = AsyncSurreal("http://127.0.0.1:9", http_client=http)
        with pytest.raises(SurrealConnectionError) as caught:
            await db.connect()
        assert isinstance(caught.value.__cause__, httpx.ConnectError)
        assert await db.health() is False
        await db.close()


@aio
async def test_max_message_size_bounds_the_body(surreal_db: DbInfo) -> None:
    target = httpx_target(surreal_db)
    async with httpx.AsyncClient() as http:
        db = AsyncSurreal(target.url, http_client=http, max_message_size=4096)
        await target.ready(db)
        with pytest.raises(ConnectionClosedError, match="max_message_size"):
            await db.query("RETURN string::repeat('x', 10000)")
        assert await db.query("RETURN 'small'") == ["small"]
        await db.close()


def test_wrong_clients_and_urls_are_refused() -> None:
    with httpx.Client() as sync_client, pytest.raises(LocalProtocolError, match="AsyncClient"):
        AsyncSurreal("http://127.0.0.1:9", http_client=sync_client)
    with pytest.raises(UnsupportedFeatureError):
        AsyncSurreal("ws://127.0.0.1:9", http_client=httpx.AsyncClient())


@aio
async def test_https_through_httpx(surreal_tls_server: ServerInfo) -> None:
    server = surreal_tls_server
    context = server.ssl_context()
    assert context is not None
    auth = {"username": server.user, "password": server.password}
    async with (httpx.AsyncClient(verify=context) as http,
                AsyncSurreal(server.http_url, http_client=http, auth=auth) as db):
        assert await db.query("RETURN 1") == [1]
    async with httpx.AsyncClient() as http:  # the system CAs do not trust the test CA
        db = AsyncSurreal(server.http_url, http_client=http, auth=auth)
        with pytest.raises(TLSError):
            await db.connect()
        await db.close()
