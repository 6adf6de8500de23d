"""Attached sessions and transactions (3.x, WebSocket) on the reference server."""

from __future__ import annotations

import pytest

from surreal_sync import RecordID, Surreal, SurrealError
from tests.conftest import DbInfo
from tests.sync.conftest import Factory

pytestmark = pytest.mark.integration


@pytest.fixture
def ws(connect: Factory) -> Surreal:
    db = connect("ws")
    db.query("DEFINE TABLE account SCHEMALESS")
    return db


@pytest.fixture
def observer(connect: Factory) -> Surreal:
    """Another connection, to look at what is visible to everyone."""
    return connect("ws")


def balance(db: Surreal) -> list[int]:
    return sorted(r["balance"] for r in db.select("account"))


def test_sessions_are_isolated(ws: Surreal, surreal_db: DbInfo) -> None:
    root = {"username": surreal_db.server.user, "password": surreal_db.server.password}
    first, second = ws.new_session(), ws.new_session()
    with pytest.raises(SurrealError):  # a new session is anonymous
        first.query("RETURN 1")
    for session, database in ((first, "one"), (second, "two")):
        session.signin(root)
        session.use(surreal_db.namespace, database)
    first.let("x", 1)
    second.let("x", 2)
    assert first.query("RETURN [$x, $session.db]") == [[1, "one"]]
    assert second.query("RETURN [$x, $session.db]") == [[2, "two"]]
    assert ws.query("RETURN [$x, $session.db]") == [[None, surreal_db.database]]
    first.invalidate()  # only that session loses its auth
    with pytest.raises(SurrealError):
        first.query("INFO FOR ROOT")
    assert second.query("RETURN 1") == [1]
    assert ws.query("RETURN 1") == [1]
    second.close_session()
    with pytest.raises(SurrealError):
        second.query("RETURN 1")
    first.signin(root)
    assert first.query("RETURN $session.db") == ["one"]


def test_commit_makes_writes_visible(ws: Surreal, observer: Surreal) -> None:
    txn = ws.begin_transaction()
    txn.create(RecordID("account", 1), {"balance": 10})
    txn.query("CREATE account:2 SET balance = 20")
    assert balance(observer) == []  # not before commit
    assert sorted(r["balance"] for r in txn.select("account")) == [10, 20]
    txn.commit()
    assert balance(observer) == [10, 20]
    with pytest.raises(SurrealError):  # a finished transaction takes nothing more
        txn.create(RecordID("account", 3), {"balance": 30})


def test_cancel_discards_writes(ws: Surreal, observer: Surreal) -> None:
    txn = ws.begin_transaction()
    txn.create(RecordID("account", 1), {"balance": 10})
    txn.cancel()
    assert balance(observer) == []
    assert balance(ws) == []


def test_with_block_commits_or_cancels(ws: Surreal, observer: Surreal) -> None:
    with ws.begin_transaction() as txn:
        txn.create(RecordID("account", 1), {"balance": 10})
        assert balance(observer) == []
    assert balance(observer) == [10]
    def fail_inside() -> None:
        with ws.begin_transaction() as txn:
            txn.update(RecordID("account", 1), {"balance": 99})
            txn.create(RecordID("account", 2), {"balance": 20})
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        fail_inside()
    assert balance(observer) == [10]


def test_transaction_in_a_session(ws: Surreal, observer: Surreal, surreal_db: DbInfo) -> None:
    session = ws.new_session()
    session.signin({"username": surreal_db.server.user,
                    "password": surreal_db.server.password})
    session.use(surreal_db.namespace, surreal_db.database)
    with session.begin_transaction() as txn:
        txn.insert("account", [{"id": 1, "balance": 1}, {"id": 2, "balance": 2}])
        assert balance(observer) == []
    assert balance(observer) == [1, 2]
