"""Live queries over WebSocket against the reference server: notifications, DIFF mode,
isolation between connections, ``kill`` and ``close`` ending the iterators, the bound."""

from __future__ import annotations

import pytest
import trio

from surreal_trio import LiveNotification, LiveSubscription, RecordID, SurrealTimeoutError
from tests.conftest import DbInfo
from tests.trio.helpers import guard, target_for

pytestmark = [pytest.mark.trio, pytest.mark.integration]

ALICE = RecordID("person", "alice")


async def next_note(subscription: LiveSubscription) -> LiveNotification:
    with trio.fail_after(5):
        return await subscription.__anext__()


@guard()
async def test_create_update_delete_notifications(surreal_db: DbInfo) -> None:
    target = target_for("ws", surreal_db)
    async with target.client() as db:
        await db.query("DEFINE TABLE person SCHEMALESS")
        live_id = await db.live("person")
        subscription = await db.subscribe_live(live_id)
        assert subscription.live_id == live_id
        # (The engine does not order notifications of consecutive writes: wait for each.)
        notes = []
        for write in (db.create(ALICE, {"name": "Alice"}), db.merge(ALICE, {"age": 3}),
                      db.delete(ALICE)):
            await write
            notes.append(await next_note(subscription))
        assert [n.action for n in notes] == ["CREATE", "UPDATE", "DELETE"]
        assert all(n.query_id == live_id and n.record == ALICE for n in notes)
        assert notes[1].result == {"id": ALICE, "name": "Alice", "age": 3}
        assert (subscription.dropped, subscription.reconnects) == (0, 0)
        assert subscription.end_reason is None
        await db.kill(live_id)
        with pytest.raises(StopAsyncIteration):
            await next_note(subscription)
        assert subscription.end_reason == "kill"


@guard()
async def test_diff_mode(surreal_db: DbInfo) -> None:
    target = target_for("ws", surreal_db)
    async with target.client() as db:
        await db.query("DEFINE TABLE person SCHEMALESS")
        subscription = await db.subscribe_live(await db.live("person", diff=True))
        await db.create(ALICE, {"name": "Alice"})
        await next_note(subscription)
        await db.merge(ALICE, {"age": 3})
        update = await next_note(subscription)
        assert update.action == "UPDATE"
        assert {"op": "add", "path": "/age", "value": 3} in update.result


@guard()
async def test_connections_do_not_see_each_others_notifications(surreal_db: DbInfo) -> None:
    target = target_for("ws", surreal_db)
    async with target.client() as one, target.client() as two:
        await one.query("DEFINE TABLE person SCHEMALESS")
        first = await one.subscribe_live(await one.live("person"))
        second = await two.subscribe_live(await two.live("person"))
        await one.create(ALICE, {"name": "Alice"})
        # Both live queries watch the table, each on its own connection: each gets its own
        # notification, routed by its own live id.
        note_one, note_two = await next_note(first), await next_note(second)
        assert note_one.query_id == first.live_id
        assert note_two.query_id == second.live_id
        await two.kill(second.live_id)
        await one.create(RecordID("person", "bob"), {"name": "Bob"})
        assert (await next_note(first)).record == RecordID("person", "bob")
        assert [n async for n in second] == []


@guard()
async def test_per_item_timeout_and_close_ends_iterators(surreal_db: DbInfo) -> None:
    target = target_for("ws", surreal_db)
    db = target.client()
    await db.query("DEFINE TABLE person SCHEMALESS")
    subscription = await db.subscribe_live(await db.live("person"), timeout=0.2)
    with pytest.raises(SurrealTimeoutError):
        await subscription.__anext__()
    ended: list[str] = []

    async def consume() -> None:
        async for _ in subscription:
            pass  # pragma: no cover
        ended.append("ended")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(consume)
        await trio.sleep(0.05)
        await db.close()
    assert ended == ["ended"]


@guard()
async def test_queue_is_bounded(surreal_db: DbInfo) -> None:
    target = target_for("ws", surreal_db)
    async with target.client(live_queue_size=3) as db:
        await db.query("DEFINE TABLE person SCHEMALESS")
        subscription = await db.subscribe_live(await db.live("person"))
        for i in range(6):
            await db.create(RecordID("person", i), {"n": i})
        with trio.fail_after(5):
            while subscription.dropped < 3:  # all six arrived (delivery is asynchronous)
                await trio.sleep(0.02)
        notes = [await next_note(subscription) for _ in range(3)]
        # The three newest were kept (the engine may deliver them in any order).
        assert subscription.dropped == 3
        assert len({n.record for n in notes}) == 3


@guard()
async def test_live_query_in_a_session(surreal_db: DbInfo) -> None:
    target = target_for("ws", surreal_db)
    async with target.client() as db:
        await db.query("DEFINE TABLE person SCHEMALESS")
        session = await db.new_session()
        await session.signin(target.options["auth"])
        await session.use(target.namespace, target.database)
        subscription = await session.subscribe_live(await session.live("person"))
        await db.create(ALICE, {"name": "Alice"})
        assert (await next_note(subscription)).record == ALICE
        await session.close_session()
        assert [n async for n in subscription] == []
