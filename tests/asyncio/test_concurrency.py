"""API.md §8: many tasks on one connection, cancellation, deadlines, and the event loop."""

from __future__ import annotations

import asyncio
import random
import threading

import pytest

from surreal_asyncio import (
    AsyncSurreal,
    LocalProtocolError,
    RecordID,
    SurrealTimeoutError,
)
from surreal_proto import ClientState
from tests.asyncio.helpers import Target, aio, run

pytestmark = pytest.mark.integration


async def mixed_call(db: AsyncSurreal, i: int) -> None:
    """One of several kinds of call, each checking that its own reply came back."""
    kind = i % 5
    if kind == 0:
        assert await db.query("RETURN $i * 2", {"i": i}) == [i * 2]
    elif kind == 1:
        record = await db.create(RecordID("item", i), {"n": i})
        assert record == {"id": RecordID("item", i), "n": i}
    elif kind == 2:
        assert await db.run("string::concat", ["n", str(i)]) == f"n{i}"
    elif kind == 3:
        await db.ping()
    else:
        assert await db.query("RETURN [$a, $b]", {"a": i, "b": str(i)}) == [[i, str(i)]]


@aio
async def test_gather_2000_mixed_calls(ws: Target) -> None:
    async with ws.client() as db:
        await ws.ready(db)
        await db.query("DEFINE TABLE item")  # concurrent implicit definitions would conflict
        await asyncio.gather(*(mixed_call(db, i) for i in range(2000)))
        assert len(await db.select("item")) == 400
        assert not db._driver._waiters


@aio
async def test_concurrent_first_calls_open_one_connection(ws: Target) -> None:
    states: list[tuple[ClientState, ClientState]] = []
    db = AsyncSurreal(ws.url, namespace=ws.namespace, database=ws.database,
                      auth={"username": ws.user, "password": ws.password},
                      on_state_change=lambda old, new: states.append((old, new)))
    try:
        ids = await asyncio.gather(*(db.query("RETURN $session.id") for _ in range(50)))
        assert len({tuple(i) for i in ids}) == 1  # one server session: one connection
        assert [s for s in states if s[1] is ClientState.CONNECTING] == [
            (ClientState.IDLE, ClientState.CONNECTING)]
        assert states[-1][1] is ClientState.OPEN
    finally:
        await db.close()


@aio
async def test_cancelling_100_tasks_mid_flight(ws: Target) -> None:
    async with ws.client() as db:
        await ws.ready(db)
        await db.query("DEFINE TABLE item")
        slow = [asyncio.create_task(db.query("SLEEP 2s; RETURN 'late'")) for _ in range(100)]
        fast = [asyncio.create_task(mixed_call(db, i)) for i in range(300)]
        await asyncio.sleep(0.1)  # the slow requests are on the wire, their replies pending
        for task in slow:
            task.cancel()
        await asyncio.gather(*fast)
        results = await asyncio.gather(*slow, return_exceptions=True)
        assert all(isinstance(r, asyncio.CancelledError) for r in results)
        assert not db._driver._waiters
        # The connection stays usable and nothing late is delivered to the wrong caller.
        assert await db.query("RETURN 'after'") == ["after"]


@aio
async def test_asyncio_timeout_abandons_the_call(ws: Target) -> None:
    async with ws.client() as db:
        await ws.ready(db)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.1):
                await db.query("SLEEP 300ms; RETURN 'late'")
        assert not db._driver._waiters
        await asyncio.sleep(0.4)  # the late reply arrives now and is dropped
        assert await db.query("RETURN 'next'") == ["next"]


@aio
async def test_timeout_option_is_a_deadline(ws: Target) -> None:
    async with ws.client(timeout=1.0) as db:
        await ws.ready(db)
        started = asyncio.get_running_loop().time()
        with pytest.raises(SurrealTimeoutError):
            await db.query("SLEEP 2500ms")
        assert asyncio.get_running_loop().time() - started < 2.0
        assert await db.query("RETURN 1") == [1]


@aio
async def test_many_tasks_over_http_and_mem(request: pytest.FixtureRequest) -> None:
    from tests.asyncio.conftest import make_target

    for target in (make_target("http", request.getfixturevalue("surreal_db")),
                   make_target("mem", None)):
        async with target.client() as db:
            await target.ready(db)
            await db.query("DEFINE TABLE item")
            calls = list(range(300))
            random.shuffle(calls)
            await asyncio.gather(*(mixed_call(db, i) for i in calls))
            assert len(await db.select("item")) == 60


def test_another_event_loop_is_a_clear_error(ws: Target) -> None:
    caught: list[BaseException] = []

    async def main() -> None:
        db = await ws.open()
        try:
            def elsewhere() -> None:
                try:
                    asyncio.run(db.ping())
                except BaseException as exc:
                    caught.append(exc)

            thread = threading.Thread(target=elsewhere)
            thread.start()
            await asyncio.to_thread(thread.join, 10)
            await db.ping()  # still fine in its own loop
        finally:
            await db.close()

    run(main)
    assert len(caught) == 1
    assert isinstance(caught[0], LocalProtocolError)
    assert "event loop" in str(caught[0])


def test_a_closed_client_moves_to_a_new_loop(ws: Target) -> None:
    db = ws.client()

    async def use() -> None:
        await ws.ready(db)
        assert await db.query("RETURN 1") == [1]
        await db.close()

    run(use)
    run(use)  # a client that holds nothing open may be used in another loop
