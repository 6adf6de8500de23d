"""Sessions and transactions over WebSocket (API.md §5 ``new_session``,
``begin_transaction``; 3.x)."""

from __future__ import annotations

import uuid

import pytest

from surreal_asyncio import (
    LocalProtocolError,
    NotAllowedError,
    QueryError,
    RecordID,
    Session,
    ThrownError,
    Transaction,
)
from tests.asyncio.helpers import Target, aio

pytestmark = pytest.mark.integration


@aio
async def test_sessions_are_isolated(ws: Target) -> None:
    async with ws.client() as db:
        await ws.ready(db)
        await db.let("who", "default")
        one = await db.new_session()
        assert isinstance(one, Session)
        async with db.new_session() as two:
            await ws.ready(one)
            await ws.ready(two)
            await one.let("who", "one")
            await two.let("who", "two")
            await two.use(ws.namespace, "other_db")
            assert await one.query("RETURN $who") == ["one"]
            assert await two.query("RETURN $who") == ["two"]
            assert await db.query("RETURN $who") == ["default"]
            assert await two.query("RETURN $session.db") == ["other_db"]
            assert await db.query("RETURN $session.db") == [ws.database]
            [id_one] = await one.query("RETURN $session.id")
            [id_two] = await two.query("RETURN $session.id")
            assert id_one != id_two
            assert (one.session_id, two.session_id) == (id_one, id_two)
        await one.close_session()
        await one.close_session()  # idempotent
        with pytest.raises(LocalProtocolError):
            await one.query("RETURN 1")
        with pytest.raises(LocalProtocolError):
            await two.query("RETURN 1")
        assert await db.query("RETURN $who") == ["default"]


@aio
async def test_a_new_session_starts_anonymous(ws: Target) -> None:
    async with ws.client() as db:
        await ws.ready(db)
        session = await db.new_session()
        with pytest.raises(NotAllowedError):
            await session.query("INFO FOR ROOT")
        await session.close_session()


async def visible(target: Target, record: RecordID) -> bool:
    async with target.client() as other:
        await target.ready(other)
        return await other.select(record) is not None


@aio
async def test_transaction_commits_on_success(ws: Target) -> None:
    async with ws.client() as db:
        await ws.ready(db)
        await db.query("DEFINE TABLE person")
        lazy = db.begin_transaction()
        with pytest.raises(LocalProtocolError):
            _ = lazy.transaction_id  # not begun: it begins when awaited or first used
        with pytest.raises(LocalProtocolError):
            _ = db.new_session().session_id
        async with db.begin_transaction() as txn:
            assert isinstance(txn, Transaction)
            assert isinstance(txn.transaction_id, uuid.UUID)
            created = await txn.create(RecordID("person", 1), {"name": "One"})
            assert created == {"id": RecordID("person", 1), "name": "One"}
            assert await txn.query("RETURN 1") == [1]
            assert not await visible(ws, RecordID("person", 1))
        assert await visible(ws, RecordID("person", 1))


@aio
async def test_transaction_cancel_and_exception_discard_writes(ws: Target) -> None:
    async with ws.client() as db:
        await ws.ready(db)
        await db.query("DEFINE TABLE person")
        txn = await db.begin_transaction()
        await txn.create(RecordID("person", "cancelled"), {})
        await txn.cancel()
        with pytest.raises(LocalProtocolError):
            await txn.create(RecordID("person", "later"), {})
        async def failing_block() -> None:
            async with db.begin_transaction() as txn:
                await txn.create(RecordID("person", "raised"), {})
                raise ZeroDivisionError

        with pytest.raises(ZeroDivisionError):
            await failing_block()
        explicit = await db.begin_transaction()
        await explicit.insert("person", [{"id": "committed"}])
        await explicit.commit()
        assert await db.select("person") == [{"id": RecordID("person", "committed")}]
        assert not await visible(ws, RecordID("person", "cancelled"))
        assert not await visible(ws, RecordID("person", "raised"))


@aio
async def test_transaction_statement_errors_are_typed(ws: Target) -> None:
    async with ws.client() as db:
        await ws.ready(db)
        async with db.begin_transaction() as txn:
            with pytest.raises(QueryError) as caught:
                await txn.query("THROW 'x'")
            assert isinstance(caught.value.__cause__, ThrownError)


@aio
async def test_transaction_in_a_session(ws: Target) -> None:
    async with ws.client() as db:
        await ws.ready(db)
        await db.query("DEFINE TABLE person")
        async with db.new_session() as session:
            await ws.ready(session)
            async with session.begin_transaction() as txn:
                await txn.create(RecordID("person", "s"), {})
                assert not await visible(ws, RecordID("person", "s"))
        assert await visible(ws, RecordID("person", "s"))


@aio
async def test_sessions_on_the_embedded_engine(request: pytest.FixtureRequest) -> None:
    from tests.asyncio.conftest import make_target

    target = make_target("mem", None)
    async with target.client() as db:
        await target.ready(db)
        await db.let("who", "default")
        # The embedded engine's own session may do anything; an attached one starts
        # anonymous, so it signs in as a user the default session defines.
        await db.query("DEFINE USER tester ON ROOT PASSWORD 'pw' ROLES OWNER")
        async with db.new_session() as session:
            await session.signin({"username": "tester", "password": "pw"})
            await session.use(target.namespace, target.database)
            await session.let("who", "session")
            assert await session.query("RETURN $who") == ["session"]
        assert await db.query("RETURN $who") == ["default"]
