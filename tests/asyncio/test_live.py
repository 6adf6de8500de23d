"""Live queries over WebSocket (API.md §5 ``live``/``subscribe_live``/``kill``, §8)."""

from __future__ import annotations

import asyncio
from uuid import UUID

import pytest

from surreal_asyncio import LiveNotification, LiveSubscription, RecordID, SurrealTimeoutError
from tests.asyncio.helpers import Target, aio

pytestmark = pytest.mark.integration


async def take(sub: LiveSubscription, count: int) -> list[LiveNotification]:
    notes = []
    async for note in sub:
        notes.append(note)
        if len(notes) == count:
            break
    return notes


@aio
async def test_create_update_delete_notifications(ws: Target) -> None:
    async with ws.client() as db:
        await ws.ready(db)
        await db.query("DEFINE TABLE person")
        live_id = await db.live("person")
        assert isinstance(live_id, UUID)
        sub = db.subscribe_live(live_id)
        assert sub.live_id == live_id
        ada = RecordID("person", "ada")
        await db.create(ada, {"name": "Ada"})
        await db.merge(ada, {"age": 36})
        await db.delete(ada)
        # The engine does not order the notifications of consecutive writes (server.mjs).
        notes = {n.action: n for n in await take(sub, 3)}
        assert sorted(notes) == ["CREATE", "DELETE", "UPDATE"]
        assert all(n.query_id == live_id and n.record == ada for n in notes.values())
        assert notes["CREATE"].result == {"id": ada, "name": "Ada"}
        assert notes["UPDATE"].result == {"id": ada, "name": "Ada", "age": 36}
        assert sub.dropped == 0
        assert sub.reconnects == 0


@aio
async def test_diff_mode_and_the_official_await_spelling(ws: Target) -> None:
    async with ws.client() as db:
        await ws.ready(db)
        await db.query("DEFINE TABLE person")
        live_id = await db.live("person", diff=True)
        sub = await db.subscribe_live(live_id)  # the official SDK awaits it
        await db.create(RecordID("person", 1), {"name": "One"})
        await db.merge(RecordID("person", 1), {"name": "Uno"})
        notes = {n.action: n for n in await take(sub, 2)}
        assert sorted(notes) == ["CREATE", "UPDATE"]
        update = notes["UPDATE"].result
        assert isinstance(update, list)  # JSON-Patch operations
        assert any(op.get("path") == "/name" for op in update)


@aio
async def test_kill_ends_the_iterator(ws: Target) -> None:
    async with ws.client() as db:
        await ws.ready(db)
        await db.query("DEFINE TABLE person")
        live_id = await db.live("person")
        sub = db.subscribe_live(live_id)
        consumer = asyncio.create_task(take(sub, 1000))
        await db.create("person", {"n": 1})
        await asyncio.sleep(0.05)
        assert sub.end_reason is None
        await db.kill(live_id)
        notes = await consumer
        assert [n.action for n in notes] == ["CREATE"]
        assert sub.end_reason == "kill"


@aio
async def test_live_select_from_query(ws: Target) -> None:
    async with ws.client() as db:
        await ws.ready(db)
        await db.query("DEFINE TABLE person")
        [live_id] = await db.query("LIVE SELECT * FROM person")
        sub = db.subscribe_live(live_id)
        await db.create("person", {"n": 1})
        [note] = await take(sub, 1)
        assert note.action == "CREATE"
        await db.kill(live_id)


@aio
async def test_two_connections_do_not_see_each_others_notifications(ws: Target) -> None:
    async with ws.client() as a, ws.client() as b:
        await ws.ready(a)
        await ws.ready(b)
        await a.query("DEFINE TABLE person")
        mine = await a.live("person")
        theirs = await b.live("person")
        # b listens for a's live query id too: the server routes a's notifications to a.
        stolen = b.subscribe_live(mine, timeout=0.3)
        await a.create("person", {"n": 1})
        [note_a] = await take(a.subscribe_live(mine), 1)
        [note_b] = await take(b.subscribe_live(theirs), 1)
        assert note_a.query_id == mine
        assert note_b.query_id == theirs
        with pytest.raises(SurrealTimeoutError):
            await stolen.__anext__()


@aio
async def test_slow_consumer_drops_oldest_and_never_stalls_calls(ws: Target) -> None:
    async with ws.client(live_queue_size=5) as db:
        await ws.ready(db)
        await db.query("DEFINE TABLE person")
        live_id = await db.live("person")
        sub = db.subscribe_live(live_id)
        for i in range(20):
            await db.create(RecordID("person", i), {"n": i})
        assert await db.query("RETURN 'still fast'") == ["still fast"]
        while sub.dropped < 15:  # all 20 arrived: 5 kept, the 15 oldest dropped
            await asyncio.sleep(0.01)
        notes = await take(sub, 5)
        assert sub.dropped == 15
        # The newest five were kept (the server may emit neighbours slightly out of order).
        assert len({n.record for n in notes}) == 5
        assert all(n.record.id >= 10 for n in notes)


@aio
async def test_session_live_queries(ws: Target) -> None:
    async with ws.client() as db:
        await ws.ready(db)
        await db.query("DEFINE TABLE person")
        async with db.new_session() as session:
            await ws.ready(session)
            live_id = await session.live("person")
            sub = session.subscribe_live(live_id)
            await db.create("person", {"n": 1})
            [note] = await take(sub, 1)
            assert note.action == "CREATE"
        # detaching the session ends its live queries
        assert [n async for n in sub] == []
