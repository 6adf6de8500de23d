"""Requests and replies over an open WebSocket: envelopes, matching, deadlines, live queries."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any
from uuid import UUID

import cbor2
import pytest

from surreal_proto._errors import (
    EncodingError,
    LocalProtocolError,
    NotFoundError,
    SessionExpiredError,
    TokenExpiredError,
)
from surreal_proto._events import (
    ErrorReceived,
    LiveNotificationReceived,
    LiveQueryEnded,
    PendingRequest,
    ProtocolViolation,
    RequestTimedOut,
    ResponseReceived,
)
from surreal_proto._recordid import RecordID, StringRecordID, Table
from surreal_proto._rpc import DEFAULT_TIMEOUT
from surreal_proto._ws import WebSocketConnection

from .helpers import FEED, NONE, ClientServerPair

pytestmark = FEED

SESSION = UUID("5b4b5a36-1c39-4ff1-a0a3-000000000001")
OTHER_SESSION = UUID("5b4b5a36-1c39-4ff1-a0a3-000000000002")
TXN = UUID("018e3e5c-0000-7000-8000-000000000000")
LIVE = UUID("018e3e5c-0000-7000-8000-00000000000a")
LIVE2 = UUID("018e3e5c-0000-7000-8000-00000000000b")


def opened(bytewise: bool, **options: Any) -> ClientServerPair:
    options.setdefault("keepalive_interval", None)
    pair = ClientServerPair(bytewise=bytewise, **options)
    pair.open()
    return pair


def test_envelope_bytes_match_the_spec_vector(bytewise: bool) -> None:
    pair = opened(bytewise)
    pair.client.use("ns", "db", now=0.0)
    data = pair.client.data_to_send()
    # client frames are masked: unmask through the fake server, then compare the payload
    pair.server.receive(data)
    assert cbor2.dumps(pair.server.requests[0]) == bytes.fromhex(
        "a3 626964 01 666d6574686f64 63757365 66706172616d73 82 626e73 626462")  # §11


def test_session_and_txn_fields(bytewise: bool) -> None:
    pair = opened(bytewise)
    pair.client.query("SELECT 1", {"x": 1}, session=SESSION, txn=TXN, now=0.0)
    pair.flush()
    assert pair.server.requests == [{"id": 1, "method": "query",
                                     "params": ["SELECT 1", {"x": 1}],
                                     "session": SESSION, "txn": TXN}]


def test_reply_resolves_the_request(bytewise: bool) -> None:
    pair = opened(bytewise)
    request_id = pair.call("select", "person")
    assert pair.client.pending_count == 1
    events = pair.deliver(pair.server.reply(request_id, [{"name": "x"}], session=SESSION))
    assert events == [ResponseReceived(request_id=request_id, method="select",
                                       result=[{"name": "x"}], session=SESSION)]
    assert pair.client.pending_count == 0


def test_out_of_order_replies(bytewise: bool) -> None:
    pair = opened(bytewise)
    ids = [pair.call("ping") for _ in range(3)]
    data = b"".join(pair.server.reply(i, i * 10) for i in reversed(ids))
    events = pair.deliver(data)
    assert [(e.request_id, e.result) for e in events  # type: ignore[union-attr]
            ] == [(3, 30), (2, 20), (1, 10)]


def test_error_replies_are_typed(bytewise: bool) -> None:
    pair = opened(bytewise)
    first, second, third = pair.call("let", "a", 1), pair.call("info"), pair.call("use", "x", 1)
    data = pair.server.error(first, {
        "code": -32000, "kind": "NotAllowed", "message": "The session has expired",
        "details": {"kind": "Auth", "details": {"kind": "SessionExpired"}}, "cause": NONE})
    data += pair.server.error(second, {
        "code": -32000, "message": "There was a problem with the database: The token has expired"})
    data += pair.server.error(third, {"code": -32000, "kind": "NotFound",
                                      "message": "Session not found"}, session=SESSION)
    events = pair.deliver(data)
    assert all(isinstance(e, ErrorReceived) for e in events)
    errors = [e.error for e in events]  # type: ignore[union-attr]
    assert isinstance(errors[0], SessionExpiredError)
    assert isinstance(errors[1], TokenExpiredError)
    assert isinstance(errors[2], NotFoundError)
    assert events[2].session == SESSION  # type: ignore[union-attr]
    assert events[0].method == "let"  # type: ignore[union-attr]


def test_text_and_fragmented_messages(bytewise: bool) -> None:
    pair = opened(bytewise)
    first = pair.call("ping")
    # §2.3: text frames are accepted. A CBOR map never is valid UTF-8 (its head byte is
    # 0xa0-0xbf), so a text frame can only be a protocol violation, never a fatal one.
    data = pair.server.text_frame("1")
    data += pair.server.fragmented(cbor2.dumps({"id": first, "result": "x" * 300}), 4)
    violation, reply = pair.deliver(data)
    assert isinstance(violation, ProtocolViolation)
    assert "not a map" in str(violation.error)
    assert isinstance(reply, ResponseReceived)
    assert reply.result == "x" * 300


def test_server_ping_is_answered(bytewise: bool) -> None:
    pair = opened(bytewise)
    assert pair.deliver(pair.server.ping(b"hb-1")) == []
    pongs = [e for e in pair.server.control if type(e).__name__ == "Pong"]
    assert [p.payload for p in pongs] == [b"hb-1"]  # type: ignore[attr-defined]


def test_abandoned_request_drops_its_late_reply(bytewise: bool) -> None:
    pair = opened(bytewise)
    request_id = pair.call("query", "SLEEP 10s")
    pair.client.abandon(request_id)
    pair.client.abandon(request_id)  # idempotent
    pair.client.abandon(12345)  # unknown: ignored
    assert pair.client.pending_count == 0
    assert pair.deliver(pair.server.reply(request_id, [])) == []
    # a second reply with that id is no longer expected: a protocol violation
    events = pair.deliver(pair.server.reply(request_id, []))
    assert type(events[0]).__name__ == "ProtocolViolation"


def test_request_deadlines(bytewise: bool) -> None:
    pair = opened(bytewise, default_timeout=5.0, keepalive_interval=None)
    assert pair.client.next_deadline() is None
    a = pair.call("ping", now=1.0)  # default: 5 s
    b = pair.call("ping", now=1.0, timeout=2.0)
    c = pair.call("ping", now=1.0, timeout=None)  # never
    d = pair.call("ping", now=1.0, timeout=DEFAULT_TIMEOUT)
    assert pair.client.next_deadline() == 3.0
    pair.client.handle_timeout(2.9)
    assert pair.client.events() == []
    pair.client.handle_timeout(3.0)
    assert pair.client.events() == [RequestTimedOut(request_id=b, method="ping")]
    assert pair.client.next_deadline() == 6.0
    # replies to a (answered before its deadline) and b (late: dropped)
    events = pair.deliver(pair.server.reply(a, 1) + pair.server.reply(b, 2))
    assert [e.request_id for e in events] == [a]  # type: ignore[union-attr]
    assert pair.client.next_deadline() == 6.0  # d's deadline; a's stale entry is skipped
    pair.client.handle_timeout(100.0)
    assert pair.client.events() == [RequestTimedOut(request_id=d, method="ping")]
    assert pair.client.next_deadline() is None
    assert [p.request_id for p in pair.client.pending_requests()] == [c]


def test_version_sets_server_version(bytewise: bool) -> None:
    pair = opened(bytewise)
    assert pair.client.server_version is None
    request_id = pair.client.version(now=0.0)
    pair.flush()
    pair.deliver(pair.server.reply(request_id, "surrealdb-3.2.4"))
    assert pair.client.server_version == (3, 2, 4)


def test_live_query_lifecycle(bytewise: bool) -> None:
    pair = opened(bytewise)
    request_id = pair.call("live", "person")
    events = pair.deliver(pair.server.reply(request_id, LIVE))
    assert events == [ResponseReceived(request_id=request_id, method="live", result=LIVE)]
    assert pair.client.live_queries == {LIVE: None}
    record = cbor2.CBORTag(8, ["person", "c"])
    events = pair.deliver(pair.server.notify(LIVE, "UPDATE", record, {"age": 4}))
    assert events == [LiveNotificationReceived(live_id=LIVE, action="UPDATE",
                                               record=RecordID("person", "c"),
                                               result={"age": 4})]
    kill = pair.call("kill", LIVE)
    events = pair.deliver(pair.server.reply(kill, NONE))
    assert [type(e) for e in events] == [ResponseReceived, LiveQueryEnded]
    assert events[1] == LiveQueryEnded(live_id=LIVE, reason="kill")
    assert pair.client.live_queries == {}
    # notifications still in flight, and the KILLED that may follow, are dropped silently
    data = pair.server.notify(LIVE, "CREATE") + pair.server.notify(LIVE, "KILLED")
    assert pair.deliver(data) == []


def test_notifications_racing_ahead_of_the_live_reply(bytewise: bool) -> None:
    pair = opened(bytewise)
    request_id = pair.call("live", "person", session=SESSION)
    early = pair.server.notify(LIVE, "CREATE", result={"n": 1}, session=SESSION)
    early += pair.server.notify(LIVE2, "CREATE", result={"n": 0})  # someone else's
    early += pair.server.notify(LIVE, "UPDATE", result={"n": 2}, session=SESSION)
    assert pair.deliver(early, now=10.0) == []
    assert pair.client.next_deadline() == 15.0  # held for 5 s
    events = pair.deliver(pair.server.reply(request_id, LIVE, session=SESSION), now=11.0)
    assert [type(e) for e in events] == [ResponseReceived, LiveNotificationReceived,
                                         LiveNotificationReceived]
    assert [e.result for e in events[1:]] == [{"n": 1}, {"n": 2}]  # type: ignore[union-attr]
    assert all(e.session == SESSION for e in events)  # type: ignore[union-attr]
    assert pair.client.live_queries == {LIVE: SESSION}
    # LIVE2 never became known: dropped when its time is up
    pair.client.handle_timeout(15.0)
    assert pair.client.events() == []
    assert pair.client.next_deadline() is None


def test_killed_notification_ends_the_query(bytewise: bool) -> None:
    pair = opened(bytewise)
    request_id = pair.call("live", "person")
    pair.deliver(pair.server.reply(request_id, str(LIVE)))  # a UUID string works too
    events = pair.deliver(pair.server.notify(LIVE, "KILLED"))
    assert events == [LiveQueryEnded(live_id=LIVE, reason="killed")]


def test_live_select_through_query(bytewise: bool) -> None:
    pair = opened(bytewise)
    request_id = pair.call("query", "LIVE SELECT * FROM a; LIVE SELECT * FROM b; RETURN 1")
    results = [
        {"result": LIVE, "status": "OK", "time": "1µs", "type": "live"},
        {"result": "failed", "status": "ERR", "time": "1µs", "type": "live"},
        {"result": LIVE2, "status": "OK", "time": "1µs", "type": NONE},
        "not a statement",
        {"result": "nope", "status": "OK", "time": "1µs", "type": "live"},
    ]
    pair.deliver(pair.server.reply(request_id, results))
    assert pair.client.live_queries == {LIVE: None}


def test_query_with_odd_results_registers_nothing(bytewise: bool) -> None:
    pair = opened(bytewise)
    for result in ("text", 5, NONE):
        request_id = pair.call("query", "x")
        pair.deliver(pair.server.reply(request_id, result))
    request_id = pair.call("live", "person")
    pair.deliver(pair.server.reply(request_id, "not a uuid"))
    assert pair.client.live_queries == {}


def test_kill_of_an_unknown_or_odd_id(bytewise: bool) -> None:
    pair = opened(bytewise)
    unknown = pair.call("kill", str(LIVE2))
    odd = pair.call("kill", "xyz")
    empty = pair.call("kill")
    events = pair.deliver(pair.server.reply(unknown, NONE) + pair.server.reply(odd, NONE)
                          + pair.server.reply(empty, NONE))
    assert [type(e) for e in events] == [ResponseReceived] * 3
    # the killed id is remembered: its notifications are dropped, not held
    assert pair.deliver(pair.server.notify(LIVE2, "CREATE")) == []
    assert pair.client.next_deadline() is None


def test_reset_and_detach_end_their_sessions_live_queries(bytewise: bool) -> None:
    pair = opened(bytewise)
    ids = [pair.call("live", "a"), pair.call("live", "b", session=SESSION),
           pair.call("live", "c", session=OTHER_SESSION)]
    lives = [LIVE, LIVE2, UUID(int=7)]
    pair.deliver(b"".join(pair.server.reply(i, lv) for i, lv in zip(ids, lives, strict=True)))
    detach_default = pair.call("detach")  # no session: ends nothing
    events = pair.deliver(pair.server.reply(detach_default, NONE))
    assert [type(e) for e in events] == [ResponseReceived]
    detach = pair.call("detach", session=SESSION)
    events = pair.deliver(pair.server.reply(detach, NONE, session=SESSION))
    assert events[1:] == [LiveQueryEnded(live_id=LIVE2, reason="detach")]
    reset = pair.call("reset")
    events = pair.deliver(pair.server.reply(reset, NONE))
    assert events[1:] == [LiveQueryEnded(live_id=LIVE, reason="reset")]
    assert pair.client.live_queries == {UUID(int=7): OTHER_SESSION}


def test_register_live_query_by_hand(bytewise: bool) -> None:
    pair = opened(bytewise)
    assert pair.deliver(pair.server.notify(LIVE, "CREATE"), now=1.0) == []
    pair.client.register_live_query(LIVE, now=2.0)
    events = pair.client.events()
    assert [type(e) for e in events] == [LiveNotificationReceived]


def test_string_ids(bytewise: bool) -> None:
    counter = itertools.count(1)
    pair = opened(bytewise, id_factory=lambda: f"r{next(counter)}")
    request_id = pair.call("ping")
    assert request_id == "r1"
    assert pair.server.requests[0]["id"] == "r1"
    events = pair.deliver(pair.server.reply("r1", NONE))
    assert isinstance(events[0], ResponseReceived)


@pytest.mark.parametrize(("ids", "message"), [
    ([True], "must be int or str"),
    ([1.5], "must be int or str"),
    ([1, "2"], "keep request ids one type"),
    ([1, 1], "repeated"),
])
def test_bad_ids_from_the_factory(bytewise: bool, ids: list[Any], message: str) -> None:
    source = iter(ids)
    pair = opened(bytewise, id_factory=lambda: next(source))
    with pytest.raises(LocalProtocolError, match=message):  # noqa: PT012
        for _ in ids:
            pair.call("ping")
    assert pair.client.pending_count == len(ids) - 1


def test_abandoned_id_cannot_be_reused(bytewise: bool) -> None:
    source = iter([1, 1])
    pair = opened(bytewise, id_factory=lambda: next(source))
    pair.client.abandon(pair.call("ping"))
    with pytest.raises(LocalProtocolError, match="repeated"):
        pair.call("ping")


def test_unencodable_params_change_nothing(bytewise: bool) -> None:
    pair = opened(bytewise)
    with pytest.raises(EncodingError):
        pair.call("create", "t", object())
    with pytest.raises(EncodingError):
        pair.client.select(5, now=0.0)  # type: ignore[arg-type]
    assert pair.client.pending_count == 0
    assert pair.client.data_to_send() == b""
    assert pair.call("ping") == 2


T = Table("t")
EDGE = {"id": "e:1", "in": "a:1", "out": "b:1"}
OP = {"op": "add", "path": "/a", "value": 1}
VERBS: list[tuple[Callable[..., Any], str, list[Any], dict[str, Any]]] = [
    (lambda c, **o: c.ping(**o), "ping", [], {}),
    (lambda c, **o: c.version(**o), "version", [], {}),
    (lambda c, **o: c.info(**o), "info", [], {}),
    (lambda c, **o: c.use("ns", None, **o), "use", ["ns", None], {}),
    (lambda c, **o: c.signin({"username": "root", "password": "pw"}, **o), "signin",
     [{"user": "root", "pass": "pw"}], {}),
    (lambda c, **o: c.signup({"namespace": "n", "database": "d", "access": "a",
                              "variables": {"email": "e"}}, **o), "signup",
     [{"NS": "n", "DB": "d", "AC": "a", "email": "e"}], {}),
    (lambda c, **o: c.authenticate("jwt", **o), "authenticate", ["jwt"], {}),
    (lambda c, **o: c.invalidate(**o), "invalidate", [], {}),
    (lambda c, **o: c.reset(**o), "reset", [], {}),
    (lambda c, **o: c.refresh({"access": "a", "refresh": "r"}, **o), "refresh",
     [{"access": "a", "refresh": "r"}], {}),
    (lambda c, **o: c.revoke({"access": "a", "refresh": "r"}, **o), "revoke",
     [{"access": "a", "refresh": "r"}], {}),
    (lambda c, **o: c.let("x", 1, **o), "let", ["x", 1], {}),
    (lambda c, **o: c.unset("x", **o), "unset", ["x"], {}),
    (lambda c, **o: c.query("RETURN 1", **o), "query", ["RETURN 1"], {}),
    (lambda c, **o: c.query("RETURN $a", {"a": 1}, **o), "query", ["RETURN $a", {"a": 1}], {}),
    (lambda c, **o: c.select("t", **o), "select", [T], {}),
    (lambda c, **o: c.select("t:1", **o), "select", [StringRecordID("t:1")], {}),
    (lambda c, **o: c.create("t", **o), "create", [T], {}),
    (lambda c, **o: c.create("t", {"a": 1}, **o), "create", [T, {"a": 1}], {}),
    (lambda c, **o: c.insert("t", [{}], **o), "insert", [T, [{}]], {}),
    (lambda c, **o: c.insert_relation(None, EDGE, **o), "insert_relation", [None, EDGE], {}),
    (lambda c, **o: c.update("t", **o), "update", [T], {}),
    (lambda c, **o: c.upsert("t", {"a": 1}, **o), "upsert", [T, {"a": 1}], {}),
    (lambda c, **o: c.merge("t", {"a": 1}, **o), "merge", [T, {"a": 1}], {}),
    (lambda c, **o: c.patch("t", [OP], **o), "patch", [T, [OP]], {}),
    (lambda c, **o: c.patch("t", [], diff=True, **o), "patch", [T, [], True], {}),
    (lambda c, **o: c.delete("t", **o), "delete", [T], {}),
    (lambda c, **o: c.relate("a", "e", "b", **o), "relate",
     [Table("a"), Table("e"), Table("b")], {}),
    (lambda c, **o: c.relate("a", "e", "b", {"w": 1}, **o), "relate",
     [Table("a"), Table("e"), Table("b"), {"w": 1}], {}),
    (lambda c, **o: c.run("fn::f", **o), "run", ["fn::f"], {}),
    (lambda c, **o: c.run("ml::m", version="1.0.0", **o), "run", ["ml::m", "1.0.0"], {}),
    (lambda c, **o: c.run("fn::f", (1, 2), **o), "run", ["fn::f", None, [1, 2]], {}),
    (lambda c, **o: c.live("t", **o), "live", [T], {}),
    (lambda c, **o: c.live("t", diff=True, **o), "live", [T, True], {}),
    (lambda c, **o: c.kill(str(LIVE), **o), "kill", [LIVE], {}),
    (lambda c, **o: c.attach(SESSION, **o), "attach", [], {"session": SESSION}),
    (lambda c, **o: c.detach(SESSION, **o), "detach", [], {"session": SESSION}),
    (lambda c, **o: c.sessions(**o), "sessions", [], {}),
    (lambda c, **o: c.begin(session=SESSION, **o), "begin", [], {"session": SESSION}),
    (lambda c, **o: c.commit(TXN, **o), "commit", [TXN], {}),
    (lambda c, **o: c.cancel(str(TXN), **o), "cancel", [TXN], {}),
]


@pytest.mark.parametrize(("verb", "method", "params", "extra"), VERBS,
                         ids=[f"{v[1]}-{i}" for i, v in enumerate(VERBS)])
def test_verbs(bytewise: bool, verb: Callable[..., Any], method: str, params: list[Any],
               extra: dict[str, Any]) -> None:
    pair = opened(bytewise)
    request_id = verb(pair.client, now=0.0, timeout=3.0)
    pair.flush()
    assert pair.server.requests == [{"id": request_id, "method": method, "params": params,
                                     **extra}]
    assert pair.client.pending_requests() == [PendingRequest(
        request_id=request_id, method=method, params=tuple(params),
        session=extra.get("session"))]
    assert pair.client.next_deadline() == 3.0


def test_the_connection_is_a_websocket_connection(bytewise: bool) -> None:
    assert isinstance(opened(bytewise).client, WebSocketConnection)
