"""Sessions (isolated on one connection) and transactions (invisible to others until commit,
gone after cancel or an exception in the ``async with`` block) against the reference
server."""

from __future__ import annotations

import pytest
import trio

from surreal_trio import AsyncSurreal, AuthError, LocalProtocolError, RecordID
from tests.conftest import DbInfo
from tests.trio.helpers import Target, guard, target_for

pytestmark = [pytest.mark.trio, pytest.mark.integration]

ALICE = RecordID("person", "alice")


async def other_sees(target: Target, record: RecordID) -> object:
    async with target.client() as other:
        return await other.select(record)


@guard()
async def test_sessions_are_isolated(surreal_db: DbInfo) -> None:
    target = target_for("ws", surreal_db)
    async with target.client() as db:
        first, second = await db.new_session(), await db.new_session()
        assert first.session_id != second.session_id
        await first.signin(target.options["auth"])
        await first.use(target.namespace, "first_db")
        await first.let("who", "first")
        assert await first.query("RETURN [$session.db, $who]") == [["first_db", "first"]]
        # The second session starts anonymous, without namespace, database or variables.
        with pytest.raises(AuthError):
            await second.query("RETURN 1")
        await second.signin(target.options["auth"])
        await second.use(target.namespace, target.database)
        assert await second.query("RETURN [$session.db, $who]") == [[target.database, None]]
        assert await db.query("RETURN [$session.db, $who]") == [[target.database, None]]
        await first.query("DEFINE TABLE person SCHEMALESS")
        await db.query("DEFINE TABLE person SCHEMALESS")
        txn = await first.begin_transaction()
        async with txn:
            await txn.create(ALICE, {"in": "first_db"})
        assert (await first.select(ALICE))["in"] == "first_db"
        assert await db.select(ALICE) is None  # another database
        await first.close_session()
        with pytest.raises(LocalProtocolError, match="unknown session"):
            await first.ping()


@guard()
async def test_commit_makes_writes_visible(surreal_db: DbInfo) -> None:
    target = target_for("ws", surreal_db)
    async with target.client() as db:
        await db.query("DEFINE TABLE person SCHEMALESS")
        txn = await db.begin_transaction()
        async with txn:
            await txn.create(ALICE, {"name": "Alice"})
            await txn.query("CREATE person:bob SET name = 'Bob'")
            assert await other_sees(target, ALICE) is None
        assert await other_sees(target, ALICE) == {"id": ALICE, "name": "Alice"}
        assert len(await db.select("person")) == 2


@guard()
async def test_cancel_and_exceptions_discard_writes(surreal_db: DbInfo) -> None:
    target = target_for("ws", surreal_db)
    async with target.client() as db:
        await db.query("DEFINE TABLE person SCHEMALESS")
        txn = await db.begin_transaction()
        await txn.create(ALICE, {"name": "Alice"})
        await txn.cancel()
        assert await db.select(ALICE) is None

        class Boom(Exception):
            pass

        async def failing_block() -> None:
            async with await db.begin_transaction() as txn:
                await txn.create(ALICE, {"name": "Alice"})
                raise Boom

        with pytest.raises(Boom):
            await failing_block()
        assert await db.select(ALICE) is None

        with trio.move_on_after(0.2):  # a cancelled block cancels the transaction too
            async with await db.begin_transaction() as txn:
                await txn.create(ALICE, {"name": "Alice"})
                await trio.sleep_forever()
        assert await db.select(ALICE) is None
        assert await other_sees(target, ALICE) is None


@guard()
async def test_many_sessions_concurrently(surreal_db: DbInfo) -> None:
    target = target_for("ws", surreal_db)
    results: dict[int, object] = {}

    async def work(db: AsyncSurreal, i: int) -> None:
        session = await db.new_session()
        await session.signin(target.options["auth"])
        await session.let("i", i)
        results[i] = (await session.query("RETURN $i"))[0]
        await session.close_session()

    async with target.client() as db, trio.open_nursery() as nursery:
        for i in range(16):
            nursery.start_soon(work, db, i)
    assert results == {i: i for i in range(16)}


@guard()
async def test_async_with_detaches_the_session_at_the_end_of_the_block(
        surreal_db: DbInfo) -> None:
    target = target_for("ws", surreal_db)
    async with target.client() as db:
        async with await db.new_session() as session:
            await session.signin(target.options["auth"])
            assert await session.query("RETURN 1") == [1]
        with pytest.raises(LocalProtocolError, match="unknown session"):
            await session.ping()
        await session.close_session()  # already detached: nothing to do

        # A failing block detaches too, and its own exception is what propagates.
        failing = await db.new_session()

        async def fail_inside() -> None:
            async with failing:
                await failing.signin(target.options["auth"])
                raise ZeroDivisionError

        with pytest.raises(ZeroDivisionError):
            await fail_inside()
        with pytest.raises(LocalProtocolError, match="unknown session"):
            await failing.ping()

        # So does a cancelled one; the client stays usable.
        with trio.move_on_after(0.2) as scope:
            async with await db.new_session() as cancelled:
                await trio.sleep_forever()
        assert scope.cancelled_caught
        with pytest.raises(LocalProtocolError, match="unknown session"):
            await cancelled.ping()
        assert await db.query("RETURN 2") == [2]
