"""The asyncio client: many tasks on one connection, per-call deadlines and cancellation,
and (on a WebSocket server) a live query and a session of its own.

Run: ``python examples/asyncio_basics.py [URL]`` (default ``mem://``, the in-process engine
of the ``embedded`` extra). For a server, pass its URL (``ws://localhost:8000``) and set
``SURREAL_USER``/``SURREAL_PASS`` (default ``root``/``root``).
"""

from __future__ import annotations

import asyncio
import os
import sys

from surreal_asyncio import AsyncSurreal, RecordID, SurrealTimeoutError


async def main(url: str) -> None:
    auth = None
    if not url.startswith(("mem://", "memory", "surrealkv", "file://")):
        auth = {"username": os.environ.get("SURREAL_USER", "root"),
                "password": os.environ.get("SURREAL_PASS", "root")}
    async with AsyncSurreal(url, namespace="examples", database="asyncio_basics",
                            auth=auth, timeout=10) as db:
        await db.query("REMOVE TABLE IF EXISTS sensor; DEFINE TABLE sensor SCHEMALESS")

        # A hundred tasks share the connection; their requests are in flight together.
        created = await asyncio.gather(
            *(db.create(RecordID("sensor", i), {"value": i * 1.5}) for i in range(100)))
        [total] = await db.query("RETURN math::sum(SELECT VALUE value FROM sensor)")
        print("created:", len(created), "sensors, total", total)

        # A deadline abandons the request; the connection stays usable.
        try:
            async with asyncio.timeout(0.05):
                await db.query("SLEEP 2s")
        except TimeoutError:
            print("slow query: cancelled after 50 ms")
        try:
            await asyncio.wait_for(db.query("SLEEP 2s"), 0.05)
        except (TimeoutError, SurrealTimeoutError):
            print("wait_for: cancelled too")
        print("still usable:", await db.select(RecordID("sensor", 3)))

        if url.startswith(("ws://", "wss://")):
            # Live queries: notifications arrive while other calls go on.
            live_id = await db.live("sensor")
            changes = db.subscribe_live(live_id)
            await db.merge(RecordID("sensor", 1), {"value": 99.0})
            await db.delete(RecordID("sensor", 2))
            seen = []
            async for change in changes:
                seen.append(f"{change.action} {change.record}")
                if len(seen) == 2:
                    break
            print("live:", ", ".join(sorted(seen)))  # two records: no order between them
            await db.kill(live_id)

            # A session has its own auth, namespace, database and variables.
            async with db.new_session() as session:
                if auth is not None:
                    await session.signin(auth)
                await session.use("examples", "other")
                await session.let("who", "session")
                print("session sees:", (await session.query("RETURN $who"))[0])
            print("client sees:", (await db.query("RETURN $who"))[0])


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1
                     else os.environ.get("SURREAL_URL", "mem://")))
