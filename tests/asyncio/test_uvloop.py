"""The client under uvloop, when it is installed (optional; skipped otherwise)."""

from __future__ import annotations

import asyncio

import pytest

from tests.asyncio.helpers import Target, run
from tests.asyncio.test_concurrency import mixed_call

pytestmark = pytest.mark.integration
uvloop = pytest.importorskip("uvloop")


def test_under_uvloop(ws: Target) -> None:
    async def main() -> None:
        assert type(asyncio.get_running_loop()).__module__.startswith("uvloop")
        async with ws.client() as db:
            await ws.ready(db)
            await db.query("DEFINE TABLE item")
            await asyncio.gather(*(mixed_call(db, i) for i in range(500)))
            slow = asyncio.create_task(db.query("SLEEP 2s"))
            await asyncio.sleep(0.05)
            slow.cancel()
            with pytest.raises(asyncio.CancelledError):
                await slow
            async with db.begin_transaction() as txn:
                await txn.query("RETURN 1")
            assert await db.query("RETURN 1") == [1]

    run(main, loop_factory=uvloop.new_event_loop)
