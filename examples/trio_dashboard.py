"""A live dashboard on trio: one task subscribes to a live query and redraws the readings on
every change while a writer task makes changes; both run on one connection, and the script
ends by itself once the writer is done.

Run: ``python examples/trio_dashboard.py [URL]`` against a server (live queries need a
WebSocket: default ``ws://127.0.0.1:8000``), with ``SURREAL_USER``/``SURREAL_PASS``
(default ``root``/``root``).
"""

from __future__ import annotations

import os
import sys
from uuid import UUID

import trio

from surreal_trio import AsyncSurreal, RecordID, open_surreal

SENSORS = ("cpu", "disk", "mem")
ROUNDS = 3


async def writer(db: AsyncSurreal) -> None:
    """Add the sensors, post a few rounds of readings, then retire one sensor."""
    for name in SENSORS:
        await db.create(RecordID("reading", name), {"value": 0.0})
    for round_ in range(1, ROUNDS + 1):
        async with trio.open_nursery() as nursery:  # the round's updates go out together
            for i, name in enumerate(SENSORS):
                nursery.start_soon(db.merge, RecordID("reading", name),
                                   {"value": round(0.1 * round_ + 0.01 * i, 2)})
        await trio.sleep(0.01)
    await db.delete(RecordID("reading", SENSORS[-1]))


async def dashboard(db: AsyncSurreal, live_id: UUID, expected: int) -> None:
    """Keep the latest value of each sensor; print one line per change."""
    values: dict[str, float] = {}
    seen = 0
    async for change in await db.subscribe_live(live_id):
        name = change.record.id
        if change.action == "DELETE":
            values.pop(name, None)
        else:
            values[name] = change.result["value"]
        board = "  ".join(f"{key}={values[key]:.2f}" for key in sorted(values))
        print(f"{change.action:<6} {change.record!s:<12} | {board}")
        seen += 1
        if seen == expected:
            return


async def main(url: str) -> None:
    auth = {"username": os.environ.get("SURREAL_USER", "root"),
            "password": os.environ.get("SURREAL_PASS", "root")}
    async with open_surreal(url, namespace="examples", database="dashboard",
                            auth=auth) as db:
        await db.query("REMOVE TABLE IF EXISTS reading; DEFINE TABLE reading SCHEMALESS")
        live_id = await db.live("reading")
        expected = len(SENSORS) * (ROUNDS + 1) + 1  # creates, updates, one delete
        with trio.fail_after(10):  # a dashboard that hears nothing should not hang
            async with trio.open_nursery() as nursery:
                nursery.start_soon(dashboard, db, live_id, expected)
                nursery.start_soon(writer, db)
        await db.kill(live_id)
        print(f"done: {expected} changes seen")


if __name__ == "__main__":
    trio.run(main, sys.argv[1] if len(sys.argv) > 1
             else os.environ.get("SURREAL_URL", "ws://127.0.0.1:8000"))
