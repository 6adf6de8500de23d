"""Many tasks on one connection (every reply reaches its caller), and cancellation and
deadlines that abandon a request and leave the connection usable (API.md §8)."""

from __future__ import annotations

from typing import Any

import pytest
import trio

from surreal_trio import AsyncSurreal, RecordID, SurrealTimeoutError
from tests.conftest import DbInfo
from tests.trio.helpers import Target, guard, target_for

pytestmark = [pytest.mark.trio, pytest.mark.integration]


async def mixed_call(db: AsyncSurreal, i: int) -> tuple[Any, Any]:
    """One of four kinds of call; returns (got, expected)."""
    kind = i % 4
    if kind == 0:
        return await db.query("RETURN $i", {"i": i}), [i]
    if kind == 1:
        created = await db.create(RecordID("item", i), {"n": i})
        return created, {"id": RecordID("item", i), "n": i}
    if kind == 2:
        return await db.run("math::abs", [-i]), i
    return await db.query("RETURN [$a, $b]", {"a": i, "b": str(i)}), [[i, str(i)]]


@guard(40)
async def test_a_nursery_of_concurrent_calls(target: Target) -> None:
    count = 200 if target.http else 2_000  # (one call per HTTP exchange: slower)
    results: dict[int, tuple[Any, Any]] = {}

    async def one(db: AsyncSurreal, i: int) -> None:
        results[i] = await mixed_call(db, i)

    async with target.client() as db:
        # (Defined first: concurrent first writes to a new table conflict on the server.)
        await db.query("DEFINE TABLE item SCHEMALESS")
        async with trio.open_nursery() as nursery:
            for i in range(count):
                nursery.start_soon(one, db, i)
        assert len(results) == count
        for i, (got, expected) in results.items():
            assert got == expected, i
        assert db._driver._waiters == {}
        assert len(await db.select("item")) == count // 4


@guard()
async def test_cancellation_abandons_cleanly(target: Target) -> None:
    async with target.client() as db:
        with trio.move_on_after(0.1) as scope:
            await db.query("SLEEP 300ms")
        assert scope.cancelled_caught
        assert db._driver._waiters == {}

        # Cancel a batch of slow calls at once while fast ones complete.
        fast: list[Any] = []

        async def slow() -> None:
            with trio.move_on_after(0.05):
                # (The embedded engine runs SLEEPs one at a time and cannot interrupt them.)
                await db.query("SLEEP 200ms")

        async def quick(i: int) -> None:
            fast.append(await db.query("RETURN $i", {"i": i}))

        async with trio.open_nursery() as nursery:
            for i in range(20):
                if i % 4 == 0:
                    nursery.start_soon(slow)
                nursery.start_soon(quick, i)
        assert sorted(r[0] for r in fast) == list(range(20))
        assert await db.query("RETURN 'still usable'") == ["still usable"]
        assert db._driver._waiters == {}


@guard()
async def test_cancelling_busy_http_pool_connections(surreal_db: DbInfo) -> None:
    """Four slow calls fill the built-in HTTP pool (four connections), four quick ones queue
    behind them; cancelling the slow ones must leave the quick ones unharmed."""
    results: list[Any] = []

    async def slow() -> None:
        with trio.move_on_after(0.2):
            await db.query("SLEEP 500ms")

    async def quick(i: int) -> None:
        results.append(await db.query("RETURN $i", {"i": i}))

    async with target_for("http", surreal_db).client() as db:
        async with trio.open_nursery() as nursery:
            for _ in range(4):
                nursery.start_soon(slow)
            await trio.sleep(0.05)
            for i in range(4):
                nursery.start_soon(quick, i)
        assert sorted(results) == [[0], [1], [2], [3]]


@guard()
async def test_call_deadline(target: Target) -> None:
    async with target.client(timeout=0.3) as db:
        with pytest.raises(SurrealTimeoutError) as info:
            await db.query("SLEEP 1s")  # (the embedded engine finishes it before closing)
        assert isinstance(info.value, TimeoutError)
        assert await db.query("RETURN 1") == [1]
