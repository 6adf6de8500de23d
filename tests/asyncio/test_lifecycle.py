"""API.md §4 and §8: connect, close, dropped connections, reconnect, setup callables, and
the background task's failures."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest

from surreal_asyncio import (
    AsyncSurreal,
    ConnectionClosedError,
    LiveNotification,
    LocalProtocolError,
    ReconnectPolicy,
    SurrealConnectionError,
    SurrealError,
)
from surreal_proto import ClientState
from tests.asyncio.helpers import Proxy, Target, aio, open_fds

pytestmark = pytest.mark.integration


async def drain(sub: Any) -> list[LiveNotification]:
    return [note async for note in sub]


@aio
async def test_close_ends_calls_and_live_iterators_and_leaves_nothing(ws: Target) -> None:
    before = open_fds()
    db = await ws.open()
    other = await ws.open()  # a second client shares nothing with the first
    await db.query("DEFINE TABLE person")
    live_id = await db.live("person")
    iterators = [asyncio.create_task(drain(db.subscribe_live(live_id))) for _ in range(3)]
    calls = [asyncio.create_task(db.query("SLEEP 3s")) for _ in range(20)]
    await asyncio.sleep(0.1)
    started = time.monotonic()
    await db.close()
    assert time.monotonic() - started < 2.0
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert all(isinstance(r, ConnectionClosedError) for r in results), results
    assert await asyncio.gather(*iterators) == [[], [], []]
    assert db.state is ClientState.CLOSED
    assert not db._driver._tasks
    assert not db._driver._links
    await db.close()  # idempotent
    assert await other.query("RETURN 1") == [1]
    await other.close()
    assert open_fds() == before
    # connect() after close() opens a fresh connection
    await ws.ready(db)
    assert await db.query("RETURN 2") == [2]
    await db.close()
    assert open_fds() == before


@aio
async def test_reentering_async_with_keeps_the_session(ws: Target) -> None:
    db = await ws.open()
    [session] = await db.query("RETURN $session.id")
    async with db:  # entering an open client: no reconnect, same session, still root
        assert await db.query("RETURN $session.id") == [session]
        assert db.namespace == ws.namespace
        assert await db.query("INFO FOR DB") != []
    assert db.state is ClientState.CLOSED


@aio
async def test_dropped_connection_fails_every_waiting_call_at_once(ws: Target) -> None:
    proxy = Proxy("127.0.0.1", int(ws.url.rsplit(":", 1)[1]))
    port = await proxy.start()
    db = await ws.ready(AsyncSurreal(f"ws://127.0.0.1:{port}", reconnect=False))
    try:
        waiting = [asyncio.create_task(db.query("SLEEP 3s")) for _ in range(10)]
        waiting += [asyncio.create_task(db.query("SLEEP 3s; RETURN 1")) for _ in range(10)]
        await asyncio.sleep(0.1)
        started = time.monotonic()
        proxy.cut()
        results = await asyncio.gather(*waiting, return_exceptions=True)
        assert time.monotonic() - started < 1.0
        assert all(isinstance(r, ConnectionClosedError) for r in results), [
            (type(r).__name__, str(r)) for r in results]
        assert db.state is ClientState.IDLE
        # The next call connects afresh (anonymous again: the session died with the link).
        await ws.ready(db)
        assert await db.query("RETURN 1") == [1]
        assert proxy.accepted == 2
    finally:
        await db.close()
        await proxy.close()


@aio
async def test_reconnect_restores_the_session(ws: Target) -> None:
    proxy = Proxy("127.0.0.1", int(ws.url.rsplit(":", 1)[1]))
    port = await proxy.start()
    states: list[ClientState] = []
    db = AsyncSurreal(f"ws://127.0.0.1:{port}",
                      reconnect=ReconnectPolicy(initial_delay=0.05, jitter=0),
                      on_state_change=lambda old, new: states.append(new))
    try:
        await ws.ready(db)
        await db.let("kept", 7)
        await db.query("DEFINE TABLE person")
        live_id = await db.live("person")
        sub = db.subscribe_live(live_id)
        proxy.cut()
        while ClientState.RECONNECTING not in states:
            await asyncio.sleep(0.01)
        # A call made while reconnecting waits for the restored session.
        assert await db.query("RETURN $kept") == [7]
        assert ClientState.RECONNECTING in states
        assert db.state is ClientState.OPEN
        await db.create("person", {"name": "after"})
        notes = []
        async for note in sub:
            notes.append(note)
            if note.action == "CREATE":
                break
        assert [n.action for n in notes] == ["RECONNECTED", "CREATE"]
        assert sub.reconnects == 1
    finally:
        await db.close()
        await proxy.close()


@aio
async def test_connection_refused_is_typed_and_prompt() -> None:
    db = AsyncSurreal("ws://127.0.0.1:9", reconnect=False)
    started = time.monotonic()
    with pytest.raises(SurrealConnectionError) as caught:
        await db.query("RETURN 1")
    assert time.monotonic() - started < 2.0
    assert isinstance(caught.value.__cause__, OSError)
    await db.close()


@aio
async def test_prepare_and_credentials_provider(ws: Target) -> None:
    asked: list[int] = []
    prepared: list[str] = []

    async def credentials() -> dict[str, str]:
        asked.append(1)
        await asyncio.sleep(0)
        assert ws.user is not None
        assert ws.password is not None
        return {"username": ws.user, "password": ws.password}

    async def prepare(db: AsyncSurreal) -> None:
        await db.let("prepared", "yes")  # goes out during setup, before queued calls
        prepared.append(db.namespace or "")

    async with AsyncSurreal(ws.url, namespace=ws.namespace, database=ws.database,
                            auth=credentials, prepare=prepare) as db:
        assert await db.query("RETURN $prepared") == ["yes"]
        assert await db.query("INFO FOR DB") != []  # signed in through the provider
    assert asked == [1]
    assert prepared == [ws.namespace]


@aio
async def test_a_failing_prepare_fails_the_waiting_calls(ws: Target) -> None:
    def prepare(db: AsyncSurreal) -> None:
        raise RuntimeError("no")

    db = AsyncSurreal(ws.url, prepare=prepare)
    with pytest.raises(SurrealError) as caught:
        await db.query("RETURN 1")
    assert isinstance(caught.value.__cause__ or caught.value, Exception)
    assert db.state is ClientState.IDLE
    await db.close()


@aio
async def test_a_failing_state_callback_is_logged_not_fatal(
        ws: Target, caplog: pytest.LogCaptureFixture) -> None:
    def callback(old: ClientState, new: ClientState) -> None:
        raise ValueError("callback bug")

    with caplog.at_level(logging.ERROR, logger="surreal_asyncio"):
        async with ws.client(on_state_change=callback) as db:
            await ws.ready(db)
            assert await db.query("RETURN 1") == [1]
    assert any("on_state_change" in r.getMessage() for r in caplog.records)


@aio
async def test_an_unexpected_background_failure_is_never_swallowed(
        ws: Target, caplog: pytest.LogCaptureFixture) -> None:
    db = await ws.open()
    engine = db._driver.engine
    original = engine.receive_data

    def broken(link_id: int, data: bytes, *, now: float) -> None:
        raise RuntimeError("engine bug")

    try:
        waiting = asyncio.create_task(db.query("SLEEP 100ms; RETURN 1"))
        await asyncio.sleep(0.02)
        engine.receive_data = broken  # type: ignore[method-assign]
        with (caplog.at_level(logging.ERROR, logger="surreal_asyncio"),
              pytest.raises(ConnectionClosedError) as caught):
            await waiting
        assert isinstance(caught.value.__cause__, RuntimeError)
        assert any(r.exc_info and "engine bug" in str(r.exc_info[1]) for r in caplog.records)
        engine.receive_data = original  # type: ignore[method-assign]
        await ws.ready(db)  # the client connects afresh
        assert await db.query("RETURN 1") == [1]
    finally:
        await db.close()


@aio
async def test_a_silent_server_never_hangs_a_call() -> None:
    accepted: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)  # accept the TCP connection, never answer the upgrade

    before = open_fds()
    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        db = AsyncSurreal(f"ws://127.0.0.1:{port}", connect_timeout=0.2, reconnect=False)
        started = time.monotonic()
        with pytest.raises(SurrealError) as caught:
            await db.query("RETURN 1")
        assert time.monotonic() - started < 1.0
        assert isinstance(caught.value, TimeoutError | SurrealConnectionError)
        assert await db.health() is False  # health() answers instead of raising
        # close() while the handshake is still under way
        pending = asyncio.create_task(db.query("RETURN 1"))
        await asyncio.sleep(0.05)
        await db.close()
        with pytest.raises(ConnectionClosedError):
            await pending
    finally:
        for writer in accepted:
            writer.close()
            await writer.wait_closed()
        server.close()
        await server.wait_closed()
    assert open_fds() == before


@aio
async def test_headers_and_keepalive(server_target: Target) -> None:
    target = server_target
    with pytest.raises(LocalProtocolError):
        AsyncSurreal(target.url, headers={"Bad\nName": "x"})
    async with target.client(headers={"X-Client": "surreal-asyncio-tests"},
                             keepalive_interval=0.05, keepalive_timeout=1.0) as db:
        await target.ready(db)
        await asyncio.sleep(0.3)  # several keepalive rounds on the timer, nothing else
        assert await db.query("RETURN 1") == [1]
        assert db.state is ClientState.OPEN


@aio
async def test_close_waits_for_an_abandoned_in_process_call() -> None:
    # The engine runs an abandoned call to its end on its own threads; closing before it ends
    # would leave engine work pending when the loop closes (a panic in the engine at exit).
    db = AsyncSurreal("mem://", namespace="test", database="test")
    await db.connect()
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await db.query("SLEEP 400ms")
    assert await db.query("RETURN 1") == [1]  # the client goes on meanwhile
    await db.close()
    # close() returned only once the engine finished the SLEEP (a lower bound: never flaky).
    assert time.monotonic() - started >= 0.4
    assert db.state is ClientState.CLOSED
