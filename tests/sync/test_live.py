"""Live queries over WebSocket: notifications, diff mode, isolation, kill, timeouts.

The reference server does not order the notifications of consecutive writes (not even to
one record), so those are compared as sets; a sequence is checked by waiting for each
notification before the next write.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from surreal_sync import LiveNotification, RecordID, Surreal, SurrealTimeoutError
from tests.conftest import DbInfo
from tests.sync.conftest import Factory

pytestmark = pytest.mark.integration


@pytest.fixture
def ws(connect: Factory) -> Surreal:
    db = connect("ws")
    db.query("DEFINE TABLE person SCHEMALESS; DEFINE TABLE animal SCHEMALESS")
    return db


def take(sub: object, count: int) -> list[LiveNotification]:
    return [next(sub) for _ in range(count)]  # type: ignore[call-overload]


def test_create_update_delete(ws: Surreal) -> None:
    live_id = ws.live("person")
    sub = ws.subscribe_live(live_id, timeout=5)
    assert sub.live_id == live_id
    # One write at a time: the server orders a notification after the previous one only
    # when the previous write's notification went out first.
    notes = []
    for write in (lambda: ws.create(RecordID("person", 1), {"name": "Ada"}),
                  lambda: ws.merge(RecordID("person", 1), {"born": 1815}),
                  lambda: ws.delete(RecordID("person", 1))):
        write()
        notes.append(next(sub))
    assert [n.action for n in notes] == ["CREATE", "UPDATE", "DELETE"]
    assert {n.query_id for n in notes} == {live_id}
    assert all(n.record == RecordID("person", 1) for n in notes)
    assert notes[0].result == {"id": RecordID("person", 1), "name": "Ada"}
    assert notes[1].result["born"] == 1815
    assert notes[2].result["name"] == "Ada"  # DELETE carries the record before it


def test_consecutive_writes_all_arrive(ws: Surreal) -> None:
    sub = ws.subscribe_live(ws.live("person"), timeout=5)
    for i in range(5):
        ws.create(RecordID("person", i), {"v": 0})
    for i in range(5):
        ws.update(RecordID("person", i), {"v": 1})
    for i in range(5):
        ws.delete(RecordID("person", i))
    # Consecutive writes: the server does not order their notifications; compare as sets.
    seen = Counter((n.record, n.action) for n in take(sub, 15))
    assert seen == Counter((RecordID("person", i), action) for i in range(5)
                           for action in ("CREATE", "UPDATE", "DELETE"))
    with pytest.raises(SurrealTimeoutError):  # and nothing else
        next(ws.subscribe_live(sub.live_id, timeout=0.2))


def test_diff_mode(ws: Surreal) -> None:
    sub = ws.subscribe_live(ws.live("person", diff=True), timeout=5)
    ws.create(RecordID("person", 1), {"name": "Ada"})
    created = next(sub)
    ws.merge(RecordID("person", 1), {"born": 1815})
    updated = next(sub)
    assert (created.action, updated.action) == ("CREATE", "UPDATE")
    assert isinstance(updated.result, list)  # JSON-Patch operations
    assert {"op": "add", "path": "/born", "value": 1815} in updated.result


def test_connections_do_not_see_each_others_notifications(connect: Factory,
                                                          ws: Surreal) -> None:
    other = connect("ws")
    mine = ws.subscribe_live(ws.live("person"), timeout=0.5)
    theirs = other.subscribe_live(other.live("animal"), timeout=0.5)
    other.create(RecordID("person", 1))
    ws.create(RecordID("animal", 1))
    assert next(mine).record == RecordID("person", 1)
    assert next(theirs).record == RecordID("animal", 1)
    with pytest.raises(SurrealTimeoutError):
        next(mine)
    with pytest.raises(SurrealTimeoutError):
        next(theirs)


def test_kill_ends_a_waiting_iterator(ws: Surreal) -> None:
    live_id = ws.live("person")
    sub = ws.subscribe_live(live_id)
    seen: list[list[LiveNotification]] = []
    reader = threading.Thread(target=lambda: seen.append(list(sub)))
    reader.start()
    ws.create(RecordID("person", 1))
    time.sleep(0.2)
    assert [sub.end_reason] == [None]  # (a list: mypy would keep the narrowing)
    ws.kill(live_id)
    reader.join(3)
    assert not reader.is_alive()
    assert sub.end_reason == "kill"
    assert [n.action for n in seen[0]] == ["CREATE"]
    ws.create(RecordID("person", 2))  # nothing more arrives, and nothing breaks
    assert ws.query("RETURN 1") == [1]


def test_timeout_leaves_the_iterator_usable(ws: Surreal) -> None:
    sub = ws.subscribe_live(ws.live("person"), timeout=0.2)
    started = time.monotonic()
    with pytest.raises(SurrealTimeoutError):
        next(sub)
    assert time.monotonic() - started < 1.0
    ws.create(RecordID("person", 1))
    assert next(sub).action == "CREATE"


def test_live_select_through_query(ws: Surreal, connect: Factory) -> None:
    [live_id] = ws.query("LIVE SELECT * FROM person")
    sub = ws.subscribe_live(live_id, timeout=5)
    connect("ws").create(RecordID("person", 1))
    assert next(sub).action == "CREATE"
    ws.kill(live_id)
    assert list(sub) == []


def test_a_session_live_query_ends_with_the_session(ws: Surreal, surreal_db: DbInfo) -> None:
    session = ws.new_session()
    session.signin({"username": surreal_db.server.user,
                    "password": surreal_db.server.password})
    session.use(surreal_db.namespace, surreal_db.database)
    sub = session.subscribe_live(session.live("person"), timeout=5)
    ws.create(RecordID("person", 1))  # written from the default session
    assert next(sub).record == RecordID("person", 1)
    session.close_session()
    assert list(sub) == []
