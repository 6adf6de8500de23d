"""``http_client=httpx.AsyncClient(...)`` over ``httpx.MockTransport`` (no network): calls
go through the user's client, ``max_message_size`` bounds a reply body, a failed exchange
fails its call only, a cancelled call cancels its exchange, and the client stays the user's.
(The same option against the reference server runs in every ``target`` test as ``httpx``.)"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import trio

from surreal_proto._codec import decode, encode
from surreal_trio import (
    AsyncSurreal,
    ConnectionClosedError,
    OutcomeUnknownError,
    SurrealConnectionError,
    UnsupportedFeatureError,
)

pytestmark = pytest.mark.trio


class FakeHttpServer:
    """Answers ``POST /rpc`` like SurrealDB; some queries misbehave on purpose."""

    def __init__(self) -> None:
        self.methods: list[str] = []
        self.release = trio.Event()

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        body = decode(await request.aread())
        method, params = body["method"], body.get("params", [])
        self.methods.append(method)
        result: Any = None
        if method == "version":
            result = "surrealdb-3.0.2"
        elif method == "query":
            sql = params[0]
            if sql == "BIG":
                result = [{"status": "OK", "time": "1µs", "result": "x" * 100_000}]
            elif sql == "DROP":
                raise httpx.ReadError("connection reset by peer")
            elif sql == "SLOW":
                await self.release.wait()
                result = []
            else:
                result = [{"status": "OK", "time": "1µs", "result": sql}]
        return httpx.Response(200, content=encode({"result": result}),
                              headers={"content-type": "application/cbor"})


@pytest.fixture
async def fake() -> FakeHttpServer:
    return FakeHttpServer()


async def test_calls_go_through_the_users_client(fake: FakeHttpServer) -> None:
    with trio.fail_after(10):
        async with httpx.AsyncClient(transport=httpx.MockTransport(fake)) as client:
            async with AsyncSurreal("http://db.test:8000", http_client=client,
                                    max_message_size=10_000) as db:
                assert await db.query("RETURN 1") == ["RETURN 1"]
                with pytest.raises(ConnectionClosedError, match="max_message_size") as info:
                    await db.query("BIG")
                assert info.value.code == 1009
                with pytest.raises((OutcomeUnknownError, SurrealConnectionError)) as failed:
                    await db.query("DROP")
                assert isinstance(failed.value.__cause__, httpx.ReadError)
                with trio.move_on_after(0.1):
                    await db.query("SLOW")
                assert db._driver._waiters == {}
                assert all(not link.exchanges for link in db._driver._links.values())
                results: list[Any] = []

                async def call(i: int) -> None:
                    results.append(await db.query(f"RETURN {i}"))

                async with trio.open_nursery() as nursery:
                    for i in range(50):
                        nursery.start_soon(call, i)
                assert len(results) == 50
            assert not client.is_closed  # the client is the user's


async def test_http_client_needs_an_http_url() -> None:
    with pytest.raises(UnsupportedFeatureError, match="http_client"):
        AsyncSurreal("ws://localhost:8000", http_client=object())
