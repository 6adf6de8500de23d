"""Lifecycle (API.md §4): lazy connect, one connection for concurrent first calls, close()
ending everything and leaving nothing behind, re-entering ``async with``, reconnecting after
close, errors that are never exception groups, options that cannot work."""

from __future__ import annotations

import socket
import threading
from typing import Any

import pytest
import trio

from surreal_proto import OpenLink
from surreal_trio import (
    AsyncSurreal,
    ClientState,
    ConnectionClosedError,
    InvalidAuthError,
    RecordID,
    SurrealConnectionError,
    UnsupportedEngineError,
    UnsupportedFeatureError,
    _links,
)
from tests.conftest import DbInfo, ServerInfo
from tests.trio.helpers import Target, guard, open_fds, target_for

pytestmark = [pytest.mark.trio, pytest.mark.integration]


def busy_threads() -> set[str]:
    """Python threads other than trio's idle cached workers."""
    return {t.name for t in threading.enumerate() if not t.name.startswith("Trio thread")}


def counting_opener(db: AsyncSurreal) -> list[OpenLink]:
    opened: list[OpenLink] = []

    async def opener(event: OpenLink, context: Any) -> trio.abc.Stream:
        opened.append(event)
        return await _links.open_stream(event, context)

    db._driver._stream_opener = opener
    return opened


@guard()
async def test_close_ends_calls_and_iterators_and_leaves_nothing(target: Target) -> None:
    if target.kind == "mem":  # the embedded engine's runtime starts once per process
        async with target.client() as warm_up:
            await warm_up.ping()
    await trio.sleep(0.1)
    tasks, fds = trio.lowlevel.current_statistics().tasks_living, open_fds()
    threads = busy_threads()
    db = target.client()
    await db.query("DEFINE TABLE person SCHEMALESS")
    outcomes: list[str] = []

    async def slow_call() -> None:
        try:
            await db.query("SLEEP 200ms")
        except ConnectionClosedError:
            outcomes.append("closed")

    async def consume(subscription: Any) -> None:
        async for _ in subscription:
            pass  # pragma: no cover
        outcomes.append("iterator ended")

    async with trio.open_nursery() as nursery:
        for _ in range(3):
            nursery.start_soon(slow_call)
        if target.kind == "ws":
            nursery.start_soon(consume, await db.subscribe_live(await db.live("person")))
        await trio.sleep(0.05)
        start = trio.current_time()
        await db.close()
        assert trio.current_time() - start < 2.0
    expected = ["closed"] * 3 + (["iterator ended"] if target.kind == "ws" else [])
    assert sorted(outcomes) == sorted(expected)
    assert db.state is ClientState.CLOSED
    assert db._driver._links == {}
    assert db._driver._waiters == {}
    await db.close()  # idempotent
    assert trio.lowlevel.current_statistics().tasks_living == tasks
    assert open_fds() == fds
    assert busy_threads() == threads


@guard()
async def test_concurrent_first_calls_open_one_connection(surreal_db: DbInfo) -> None:
    db = target_for("ws", surreal_db).client()
    opened = counting_opener(db)
    async with trio.open_nursery() as nursery:
        for i in range(20):
            nursery.start_soon(db.query, "RETURN $i", {"i": i})
    assert len(opened) == 1
    await db.close()


@guard()
async def test_reentering_keeps_the_session(surreal_db: DbInfo) -> None:
    target = target_for("ws", surreal_db)
    db = AsyncSurreal(target.url)
    opened = counting_opener(db)
    await db.signin(target.options["auth"])
    await db.use(target.namespace, target.database)
    await db.let("kept", 1)
    async with db:
        assert await db.query("RETURN $kept") == [1]  # same session: auth, ns/db, variables
        async with db:  # nested: no new nursery, no reconnect
            assert await db.query("RETURN $session.db") == [target.database]
    assert len(opened) == 1
    assert db.state is ClientState.CLOSED


@guard()
async def test_connect_after_close_opens_a_fresh_connection(target: Target) -> None:
    db = target.client()
    await db.connect()
    await db.create(RecordID("person", 1), {"n": 1})
    await db.close()
    await db.connect()  # the constructor's auth and ns/db are applied again
    assert db.state is ClientState.OPEN
    if target.kind != "mem":  # (a new in-memory engine starts empty)
        assert await db.select(RecordID("person", 1)) == {"id": RecordID("person", 1), "n": 1}
    assert await db.query("RETURN $session.db") == [target.database]
    await db.close()


@guard()
async def test_state_changes_are_reported(surreal_db: DbInfo) -> None:
    changes: list[tuple[ClientState, ClientState]] = []
    target = target_for("ws", surreal_db)
    async with target.client(on_state_change=lambda old, new: changes.append((old, new))):
        pass
    assert [new for _, new in changes] == [ClientState.CONNECTING, ClientState.SETTING_UP,
                                           ClientState.OPEN, ClientState.CLOSING,
                                           ClientState.CLOSED]


@guard()
async def test_errors_are_never_groups(surreal_server: ServerInfo) -> None:
    with pytest.raises(InvalidAuthError):
        async with AsyncSurreal(surreal_server.ws_url,
                                auth={"username": "root", "password": "wrong"}):
            pass  # pragma: no cover
    async def block_fails() -> None:
        async with AsyncSurreal(surreal_server.ws_url) as db:
            await db.ping()
            raise KeyError("the block's own error")

    with pytest.raises(KeyError):
        await block_fails()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens there
    with pytest.raises(SurrealConnectionError, match="refused"):
        async with AsyncSurreal(f"ws://127.0.0.1:{port}", reconnect=False):
            pass  # pragma: no cover


@guard()
async def test_options_that_cannot_work(surreal_server: ServerInfo) -> None:
    with pytest.raises(UnsupportedEngineError):
        AsyncSurreal("ftp://example.com")
    with pytest.raises(UnsupportedFeatureError, match="http_client"):
        AsyncSurreal(surreal_server.ws_url, http_client=object())


@guard()
async def test_cancelled_block_closes_promptly(target: Target) -> None:
    await trio.sleep(0.1)
    tasks = trio.lowlevel.current_statistics().tasks_living
    client = target.client()
    with trio.move_on_after(0.3) as scope:
        async with client as db:
            await db.ping()
            await trio.sleep_forever()
    assert scope.cancelled_caught
    assert client.state is ClientState.CLOSED
    assert client._driver._links == {}
    assert trio.lowlevel.current_statistics().tasks_living == tasks
    async with client as db:  # and it is usable again
        assert await db.query("RETURN 1") == [1]
