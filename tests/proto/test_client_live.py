"""ClientEngine live queries (routing, bounded queues, kill), sessions and transactions
(API.md §5, §8; protocol.md §8, §9)."""

from __future__ import annotations

from uuid import UUID

import pytest

from surreal_proto import (
    EncodingError,
    LocalProtocolError,
    NotFoundError,
    RecordID,
    Table,
    UnsupportedFeatureError,
)
from surreal_proto import _calls as c
from surreal_proto._client_events import NotificationsQueued, SubscriptionEnded
from surreal_proto._subscriptions import LiveNotification, Subscription
from tests.proto.client_helpers import NOT_FOUND, Harness, ok
from tests.proto.helpers import NONE

L1 = UUID("aaaaaaaa-0000-4000-8000-000000000001")
L2 = UUID("aaaaaaaa-0000-4000-8000-000000000002")
S1 = UUID("11111111-1111-4111-8111-111111111111")
T1 = UUID("bbbbbbbb-0000-7000-8000-000000000001")


def live(h: Harness, live_id: UUID = L1, **options: object) -> Subscription:
    call = h.start(c.live("person"), **options)
    h.answer("live", live_id)
    assert h.result(call) == live_id
    return h.engine.subscribe_live(live_id, now=h.now)


def test_notifications_reach_the_subscription() -> None:
    h = Harness()
    sub = live(h)
    assert h.engine.subscription(sub.sub_id) is sub
    assert h.engine.subscribe_live(str(L1), now=h.now) is sub  # same object
    h.notify(L1, "CREATE", {"id": 1}, {"id": 1, "a": 1})
    h.notify(L1, "UPDATE", {"id": 1}, {"id": 1, "a": 2})
    assert h.of_type(NotificationsQueued) == [NotificationsQueued(sub_id=sub.sub_id)]
    assert len(sub) == 2
    first, second = sub.take()
    assert first == LiveNotification(L1, "CREATE", {"id": 1}, {"id": 1, "a": 1})
    assert second.action == "UPDATE"
    h.notify(L1, "DELETE")
    assert len(h.of_type(NotificationsQueued)) == 2  # edge-triggered: empty -> non-empty
    assert sub.take(0) == []
    assert sub.take(5)[0].action == "DELETE"
    assert not sub.finished
    assert "dropped=0" in repr(sub)


def test_bounded_queue_drops_the_oldest() -> None:
    h = Harness(live_queue_size=3)
    sub = live(h)
    for n in range(5):
        h.notify(L1, "CREATE", NONE, {"n": n})
    assert sub.dropped == 2
    assert [note.result["n"] for note in sub.take()] == [2, 3, 4]
    # A slow consumer never stalls replies to other calls.
    call = h.start(c.ping())
    h.answer("ping")
    assert h.result(call) is None


def test_kill_ends_the_subscription() -> None:
    h = Harness()
    sub = live(h)
    h.notify(L1, "CREATE")
    call = h.start(c.kill(L1))
    h.answer("kill")
    assert h.result(call) is None
    assert sub.ended
    assert sub.end_reason == "kill"
    assert len(sub) == 1  # not finished: one notification still to read
    assert h.of_type(SubscriptionEnded) == [SubscriptionEnded(sub_id=sub.sub_id, reason="kill")]
    assert h.engine.subscription(sub.sub_id) is None
    sub.take()
    assert sub.finished
    assert h.engine.subscribe_live(L1, now=h.now) is sub  # an ended id stays ended
    h.notify(L1, "CREATE")  # late notifications are dropped
    assert len(sub) == 0


def test_killed_notification_ends_the_subscription() -> None:
    h = Harness()
    sub = live(h)
    h.notify(L1, "KILLED")
    assert sub.ended
    assert sub.end_reason == "killed"


def test_live_select_through_query() -> None:
    h = Harness()
    call = h.start(c.query("LIVE SELECT * FROM person"))
    h.answer("query", [ok(L1, "live")])
    assert h.result(call) == [L1]
    sub = h.engine.subscribe_live(L1, now=h.now)
    h.notify(L1, "CREATE")
    assert len(sub) == 1
    # KILL through query ends it too (the tracker reports it).
    kill = h.start(c.query(f'KILL u"{L1}"'))
    h.answer("query", [ok(NONE, "kill")])
    assert h.result(kill) == [None]
    assert sub.ended
    h.notify(L1, "CREATE")  # the connection still routes it: dropped, nothing breaks
    assert len(sub) == 1


def test_2x_live_select_is_registered_for_routing() -> None:
    h = Harness(auto_version="surrealdb-2.1.0")
    h.start(c.query("LIVE SELECT * FROM person"))
    h.answer("query", [ok(L1)])  # 2.x: no "type" field
    sub = h.engine.subscribe_live(L1, now=h.now)
    h.notify(L1, "CREATE")
    assert len(sub) == 1


def test_subscribe_to_an_unknown_id_registers_it() -> None:
    h = Harness()
    h.start(c.ping())
    h.notify(L2, "CREATE")  # arrives before anyone knows the id: held by the connection
    sub = h.engine.subscribe_live(L2, now=h.now)
    assert [n.action for n in sub.take()] == ["CREATE"]
    before_connect = Harness()
    early = before_connect.engine.subscribe_live(L1, now=before_connect.now)
    assert early.live_id == L1
    with pytest.raises(EncodingError):
        h.engine.subscribe_live("not-a-uuid", now=h.now)


def test_close_ends_subscriptions() -> None:
    h = Harness()
    sub = live(h)
    h.engine.close(now=h.now)
    h.flush()
    assert sub.ended
    assert sub.end_reason == "closed"


def test_link_loss_without_reconnect_ends_subscriptions() -> None:
    h = Harness(reconnect=False)
    sub = live(h)
    h.eof()
    assert sub.end_reason == "closed"


def test_live_is_websocket_only() -> None:
    for url in ("http://localhost:8000", "mem://"):
        h = Harness(url)
        with pytest.raises(UnsupportedFeatureError):
            h.start(c.live("person"))
        with pytest.raises(UnsupportedFeatureError):
            h.engine.subscribe_live(L1, now=h.now)
        assert h.opened == []  # refused before anything was sent or opened


# --------------------------------------------------------------------------- sessions


def attached(h: Harness, sid: UUID = S1) -> UUID:
    session, call = h.engine.new_session(now=h.now)
    h.flush()
    assert session == sid
    h.answer("attach")
    assert h.result(call) is None
    return session


def test_session_scoped_calls() -> None:
    h = Harness(session_id_factory=lambda: S1)
    session = attached(h)
    call = h.start(c.use("n", "d"), session=session)
    req = h.request("use")
    assert req["session"] == session
    h.reply(req["id"], {"namespace": "n", "database": "d"}, session=session)
    assert h.result(call) is None
    sub = live(h, L2, session=session)
    h.feed(h.ws[h.link].notify(L2, "CREATE", session=session))
    assert len(sub) == 1
    detach = h.start(c.detach(), session=session)
    h.answer("detach")
    assert h.result(detach) is None
    assert sub.ended
    assert sub.end_reason in ("detach", "kill")
    with pytest.raises(LocalProtocolError):
        h.start(c.ping(), session=session)


def test_unknown_session() -> None:
    h = Harness()
    h.start(c.ping())
    with pytest.raises(LocalProtocolError):
        h.start(c.select("a"), session=S1)


def test_sessions_are_not_for_http() -> None:
    h = Harness("http://localhost:8000")
    with pytest.raises(UnsupportedFeatureError):
        h.engine.new_session(now=h.now)
    with pytest.raises(UnsupportedFeatureError):
        h.start(c.ping(), session=S1)


def test_sessions_work_on_the_embedded_engine_checks() -> None:
    h = Harness("mem://", auto_open=False)
    session, _ = h.engine.new_session(now=h.now)
    assert isinstance(session, UUID)


# --------------------------------------------------------------------------- transactions


def test_transaction_rewrites_data_methods() -> None:
    h = Harness()
    begin = h.start(c.begin())
    h.answer("begin", T1)
    txn = h.result(begin)
    assert txn == T1
    call = h.start(c.update(RecordID("person", 1), {"a": 1}), txn=txn)
    req = h.request("query")
    assert req["txn"] == T1
    assert req["params"][0] == "UPDATE ONLY $__target CONTENT $__data RETURN AFTER"
    h.answer("query", [ok({"a": 1})])
    assert h.result(call) == {"a": 1}
    failing = h.start(c.select("missing"), txn=txn)
    h.answer("query", [{"kind": "NotFound", "result": "no table", "status": "ERR",
                        "time": "1µs"}])
    assert isinstance(h.error(failing), NotFoundError)
    query = h.start(c.query("RETURN 1"), txn=txn)
    req = h.request("query")
    assert req["txn"] == T1
    assert req["params"] == ["RETURN 1"]
    h.answer("query", [ok(1)])
    assert h.result(query) == [1]
    commit = h.start(c.commit(txn))
    assert h.request("commit")["params"] == [T1]
    h.answer("commit")
    assert h.result(commit) is None
    with pytest.raises(LocalProtocolError):
        h.start(c.use("a", "b"), txn=txn)


def test_transactions_are_websocket_only() -> None:
    for url in ("http://localhost:8000", "mem://"):
        h = Harness(url)
        with pytest.raises(UnsupportedFeatureError):
            h.start(c.begin())
        with pytest.raises(UnsupportedFeatureError):
            h.start(c.select("a"), txn=T1)


def test_select_string_target_in_transaction_is_a_table() -> None:
    h = Harness()
    h.start(c.select("a; DELETE b"), txn=T1)
    req = h.request("query")
    assert req["params"][1] == {"__target": Table("a; DELETE b")}


def test_commit_failure_is_typed() -> None:
    h = Harness()
    commit = h.start(c.commit(T1))
    h.refuse("commit", NOT_FOUND)
    assert isinstance(h.error(commit), NotFoundError)


def test_ended_subscriptions_are_remembered_boundedly(monkeypatch: pytest.MonkeyPatch) -> None:
    from surreal_proto import _subscriptions

    monkeypatch.setattr(_subscriptions, "_ENDED_MEMORY", 1)
    h = Harness()
    first = live(h, L1)
    second = live(h, L2)
    for live_id in (L1, L2):
        h.start(c.kill(live_id))
        h.answer("kill")
    assert first.ended
    assert second.ended
    assert h.engine.subscribe_live(L2, now=h.now) is second
    assert h.engine.subscribe_live(L1, now=h.now) is not first  # forgotten: a new one
