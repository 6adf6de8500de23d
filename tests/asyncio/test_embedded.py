"""The in-process engine (``mem://``, ``surrealkv://``) on asyncio: a slow query leaves the
event loop and the other calls running, many calls at once, and ``close()`` waiting for
abandoned calls and closing the engine (its files free to open again)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from surreal_asyncio import AsyncSurreal, RecordID
from tests.asyncio.helpers import aio


@aio
async def test_a_slow_query_holds_up_neither_the_loop_nor_other_calls() -> None:
    async with AsyncSurreal("mem://", namespace="test", database="test") as db:
        slow = asyncio.create_task(db.query("SLEEP 500ms; RETURN 'slow'"))
        await asyncio.sleep(0.05)  # the slow query is running in the engine now
        assert await db.query("RETURN 'fast'") == ["fast"]
        assert not slow.done()
        assert await slow == [None, "slow"]


@aio
async def test_many_calls_then_close_frees_the_engine(tmp_path: Path) -> None:
    url = f"surrealkv://{tmp_path}/db"
    count = 200
    db = AsyncSurreal(url, namespace="test", database="test")
    await db.query("DEFINE TABLE item SCHEMALESS")  # (concurrent first writes would conflict)
    created: list[Any] = await asyncio.gather(
        *(db.create(RecordID("item", i), {"n": i}) for i in range(count)))
    assert created == [{"id": RecordID("item", i), "n": i} for i in range(count)]
    abandoned = asyncio.create_task(db.query("SLEEP 300ms"))
    await asyncio.sleep(0.05)
    abandoned.cancel()
    started = asyncio.get_running_loop().time()
    await db.close()
    # close() returned once the engine had ended the abandoned SLEEP (a lower bound).
    assert asyncio.get_running_loop().time() - started >= 0.2
    # surrealkv locks its files while open: they open again only if close() closed it.
    async with AsyncSurreal(url, namespace="test", database="test") as again:
        assert len(await again.select("item")) == count
