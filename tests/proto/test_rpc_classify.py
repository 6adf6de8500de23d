"""Message classification (``protocol.md`` §2.6) and the transport-independent RPC layer."""

from __future__ import annotations

from typing import Any, get_args
from uuid import UUID

import cbor2
import pytest

import surreal_proto
from surreal_proto._errors import (
    ConnectionClosedError,
    HandshakeError,
    RemoteProtocolError,
    SurrealTimeoutError,
    ValidationError,
)
from surreal_proto._events import (
    AnyEvent,
    ErrorReceived,
    LiveNotificationReceived,
    LiveQueryEnded,
    PendingRequest,
    ProtocolViolation,
    RequestFailed,
    RequestOutcome,
    RequestTimedOut,
    ResponseReceived,
)
from surreal_proto._rpc import DEFAULT_TIMEOUT, RpcLayer
from surreal_proto._version import ServerVersion

from .helpers import FEED, NONE, ClientServerPair

LIVE = UUID("018e3e5c-0000-7000-8000-00000000000a")
OTHER = UUID("018e3e5c-0000-7000-8000-00000000000b")


# ---------------------------------------------------------------------------- over WebSocket


@FEED
@pytest.mark.parametrize(("payload", "text"), [
    (b"\xff\xff", "undecodable"),
    (cbor2.dumps([1, 2]), "is a list, not a map"),
    (cbor2.dumps({"id": 99, "result": 1}), "unknown request id 99"),
    (cbor2.dumps({"id": [1], "result": 1}), "unknown request id [1]"),
    (cbor2.dumps({"id": True, "result": 1}), "unknown request id True"),
    (cbor2.dumps({"id": None, "result": 1}), "unknown request id NULL"),
    (cbor2.dumps({"error": {"code": -32700, "message": "Parse error"}}),
     "error for no request: Parse error"),
    (cbor2.dumps({"result": {"id": "nope", "action": "CREATE"}}), "malformed id or action"),
    (cbor2.dumps({"result": {"id": LIVE, "action": 5}}), "malformed id or action"),
], ids=["garbage", "list", "unknown-id", "list-id", "bool-id", "null-id", "idless-error",
        "note-bad-id", "note-bad-action"])
def test_bad_messages_are_violations_and_reading_goes_on(bytewise: bool, payload: bytes,
                                                         text: str) -> None:
    pair = ClientServerPair(bytewise=bytewise)
    pair.open()
    request_id = pair.call("ping")
    events = pair.deliver(pair.server.raw(payload) + pair.server.reply(request_id, "ok"))
    violation, reply = events
    assert isinstance(violation, ProtocolViolation)
    assert text in str(violation.error)
    assert isinstance(reply, ResponseReceived)
    assert reply.result == "ok"


@FEED
def test_idless_error_keeps_the_server_error_as_cause(bytewise: bool) -> None:
    pair = ClientServerPair(bytewise=bytewise)
    pair.open()
    (violation,) = pair.deliver(pair.server.message({"error": {
        "code": -32700, "kind": "Validation", "message": "Parse error",
        "details": {"kind": "Parse"}, "cause": NONE}}))
    assert isinstance(violation, ProtocolViolation)
    assert isinstance(violation.error.__cause__, ValidationError)


@FEED
def test_idless_plain_result_is_ignored(bytewise: bool) -> None:
    pair = ClientServerPair(bytewise=bytewise)
    pair.open()
    # a reply to an id-less ping (§2.5), and a result map that is not a notification
    data = pair.server.message({"result": NONE})
    data += pair.server.message({"result": {"id": LIVE}})
    assert pair.deliver(data) == []


@FEED
def test_reply_with_neither_result_nor_error(bytewise: bool) -> None:
    pair = ClientServerPair(bytewise=bytewise)
    pair.open()
    request_id = pair.call("ping")
    (failed,) = pair.deliver(pair.server.message({"id": request_id}))
    assert isinstance(failed, RequestFailed)
    assert isinstance(failed.error, RemoteProtocolError)
    assert pair.client.pending_count == 0


# ---------------------------------------------------------------------------- the layer itself


class Layer:
    """An RpcLayer with its events collected."""

    def __init__(self, **options: Any) -> None:
        self.events: list[AnyEvent] = []
        self.rpc = RpcLayer(self.events.append, **options)

    def take(self) -> list[AnyEvent]:
        events = self.events[:]
        self.events.clear()
        return events


def test_http_style_replies_by_request_id() -> None:
    layer = Layer()
    request_id, payload = layer.rpc.start_request("select", ["t"], now=0.0)
    assert cbor2.loads(payload) == {"id": 1, "method": "select", "params": ["t"]}
    # HTTP replies echo no id (§3.1); the transport says which request it answers
    layer.rpc.receive_message(cbor2.dumps({"result": [1]}), 0.0, request_id=request_id)
    assert layer.take() == [ResponseReceived(request_id=1, method="select", result=[1])]


def test_fail_request() -> None:
    layer = Layer()
    session = UUID(int=2)
    request_id, _ = layer.rpc.start_request("query", ["x"], now=0.0)
    answered = layer.rpc.register_request("signin", [{}], session=session, now=0.0)
    error = HandshakeError("HTTP 404 is not a SurrealDB answer", status=404)
    refused = ValidationError("the engine refused the request")
    layer.rpc.fail_request(request_id, error)
    layer.rpc.fail_request(request_id, error)  # already finished: ignored
    layer.rpc.fail_request(answered, refused)  # a ServerError is the server's answer
    assert layer.take() == [
        RequestFailed(request_id=request_id, method="query", error=error),
        ErrorReceived(request_id=answered, method="signin", error=refused, session=session),
    ]
    assert layer.rpc.pending_count == 0


def test_register_request_builds_no_envelope() -> None:
    layer = Layer(default_timeout=5.0)
    request_id = layer.rpc.register_request("/health", now=1.0)
    assert layer.rpc.get_pending(request_id) == PendingRequest(
        request_id=request_id, method="/health", params=(), sent=False)
    assert layer.rpc.get_pending(99) is None
    assert layer.rpc.next_deadline() == 6.0
    layer.rpc.mark_sent(request_id)
    layer.rpc.handle_timeout(6.0)
    assert layer.take() == [RequestTimedOut(request_id=request_id, method="/health")]


def test_resolve_request_has_the_effects_of_a_reply() -> None:
    layer = Layer()
    session = UUID(int=8)
    request_id = layer.rpc.register_request("version", session=session, now=0.0)
    layer.rpc.resolve_request(request_id, "surrealdb-3.2.4")
    layer.rpc.resolve_request(request_id, "surrealdb-9.9.9")  # already finished: ignored
    assert layer.take() == [ResponseReceived(request_id=request_id, method="version",
                                             result="surrealdb-3.2.4", session=session)]
    assert layer.rpc.server_version == (3, 2, 4)
    assert layer.rpc.pending_count == 0


@pytest.mark.parametrize("body", [b"\xff\xff", cbor2.dumps([1]), cbor2.dumps({"id": 1})],
                         ids=["garbage", "list", "neither"])
def test_unreadable_reply_with_its_request_id_fails_that_request(body: bytes) -> None:
    layer = Layer()
    request_id, _ = layer.rpc.start_request("ping", now=0.0)
    other, _ = layer.rpc.start_request("ping", now=0.0)
    layer.rpc.receive_message(body, 0.0, request_id=request_id)
    (failed,) = layer.take()
    assert isinstance(failed, RequestFailed)
    assert failed.request_id == request_id
    assert isinstance(failed.error, RemoteProtocolError)
    assert [p.request_id for p in layer.rpc.pending_requests()] == [other]


def test_unreadable_late_or_unknown_reply_with_a_request_id() -> None:
    layer = Layer()
    request_id, _ = layer.rpc.start_request("ping", now=0.0)
    layer.rpc.abandon(request_id)
    layer.rpc.receive_message(b"\xff", 0.0, request_id=request_id)  # late: dropped
    assert layer.take() == []
    layer.rpc.receive_message(b"\xff", 0.0, request_id=77)  # never used: a violation
    (violation,) = layer.take()
    assert isinstance(violation, ProtocolViolation)
    assert "unknown request id 77" in str(violation.error)


def test_connection_lost_reports_everything_pending() -> None:
    layer = Layer(default_timeout=5.0)
    session = UUID(int=3)
    layer.rpc.start_request("create", ["t", {"a": 1}], session=session, now=0.0)
    layer.rpc.start_request("ping", now=0.0, sent=False)
    cause = RemoteProtocolError("boom")
    unanswered = layer.rpc.connection_lost("gone", code=1002, reason="bad", cause=cause)
    assert unanswered == (
        PendingRequest(request_id=1, method="create", params=("t", {"a": 1}), session=session),
        PendingRequest(request_id=2, method="ping", params=(), sent=False),
    )
    events = layer.take()
    assert [type(e) for e in events] == [RequestFailed, RequestFailed]
    errors = [e.error for e in events]  # type: ignore[union-attr]
    assert errors[0] is not errors[1]  # each waiter gets its own exception
    assert all(isinstance(e, ConnectionClosedError) and e.code == 1002 and e.__cause__ is cause
               for e in errors)
    assert layer.rpc.next_deadline() is None
    assert layer.rpc.connection_lost("again") == ()


def test_mark_sent_and_is_pending() -> None:
    layer = Layer()
    request_id, _ = layer.rpc.start_request("ping", now=0.0, sent=False)
    assert layer.rpc.is_pending(request_id)
    assert not layer.rpc.pending_requests()[0].sent
    layer.rpc.mark_sent(request_id)
    layer.rpc.mark_sent(42)  # unknown: ignored
    assert layer.rpc.pending_requests()[0].sent
    layer.rpc.abandon(request_id)
    assert not layer.rpc.is_pending(request_id)


def test_dropped_ids_are_remembered_within_bounds() -> None:
    layer = Layer(dropped_memory=2)
    ids = [layer.rpc.start_request("ping", now=0.0)[0] for _ in range(3)]
    for request_id in ids:
        layer.rpc.abandon(request_id)
    # the oldest abandoned id was forgotten: its very late reply is a violation
    layer.rpc.receive_message(cbor2.dumps({"id": ids[0], "result": 1}), 0.0)
    layer.rpc.receive_message(cbor2.dumps({"id": ids[2], "result": 1}), 0.0)
    (violation,) = layer.take()
    assert isinstance(violation, ProtocolViolation)


def test_live_buffer_is_bounded_and_expires() -> None:
    layer = Layer(live_buffer_size=2, live_buffer_ttl=1.0, dropped_memory=1)

    def note(live_id: UUID, n: int) -> bytes:
        return cbor2.dumps({"result": {"id": live_id, "action": "CREATE", "result": n}})

    for n in range(3):
        layer.rpc.receive_message(note(LIVE, n), float(n) / 10)
    assert layer.rpc.next_deadline() == pytest.approx(1.1)  # the oldest (n=0) was dropped
    layer.rpc.register_live_query(LIVE, now=0.5)
    results = [e.result for e in layer.take()]  # type: ignore[union-attr]
    assert results == [1, 2]
    # expiry while other notifications wait
    layer.rpc.receive_message(note(OTHER, 7), 1.0)
    layer.rpc.receive_message(note(UUID(int=9), 8), 1.5)
    layer.rpc.handle_timeout(2.0)
    assert layer.rpc.next_deadline() == 2.5
    layer.rpc.handle_timeout(2.5)
    assert layer.rpc.next_deadline() is None
    assert layer.take() == []
    # ended ids are remembered within bounds too
    kill, _ = layer.rpc.start_request("kill", [LIVE], now=3.0)
    layer.rpc.receive_message(cbor2.dumps({"id": kill, "result": None}), 3.0)
    assert layer.take()[1] == LiveQueryEnded(live_id=LIVE, reason="kill")
    kill, _ = layer.rpc.start_request("kill", [OTHER], now=3.0)
    layer.rpc.receive_message(cbor2.dumps({"id": kill, "result": None}), 3.0)
    layer.take()
    layer.rpc.receive_message(note(LIVE, 1), 3.0)  # LIVE was forgotten: held again
    assert layer.rpc.next_deadline() == 4.0


def test_register_releases_only_its_own_notifications() -> None:
    layer = Layer()
    for live_id in (LIVE, OTHER, LIVE):
        layer.rpc.receive_message(cbor2.dumps({"result": {
            "id": live_id, "action": "UPDATE", "record": "r", "result": 1}}), 0.0)
    layer.rpc.register_live_query(OTHER, UUID(int=1), now=0.0)
    assert layer.take() == [LiveNotificationReceived(live_id=OTHER, action="UPDATE",
                                                     record="r", result=1)]
    assert layer.rpc.live_queries == {OTHER: UUID(int=1)}
    layer.rpc.register_live_query(UUID(int=5), now=0.0)  # nothing held for it
    assert layer.take() == []


def test_error_reply_carries_session_and_method() -> None:
    layer = Layer()
    session = UUID(int=4)
    request_id, _ = layer.rpc.start_request("use", ["a", "b"], session=session, now=0.0)
    layer.rpc.receive_message(cbor2.dumps({"error": {"code": -32603, "kind": "Validation",
                                                     "message": "Expected (ns, db)"},
                                           "id": request_id, "session": str(session)}), 0.0)
    (event,) = layer.take()
    assert isinstance(event, ErrorReceived)
    assert event.session == session
    assert event.method == "use"
    assert isinstance(event.error, ValidationError)


@pytest.mark.parametrize(("result", "version"), [
    ("surrealdb-3.2.4", ServerVersion(3, 2, 4)),
    ("surrealdb-3.1.0-alpha", ServerVersion(3, 1, 0, "alpha")),
    ("2.6.5", ServerVersion(2, 6, 5)),
    ("surrealdb", None),
    (None, None),
    (324, None),
])
def test_version_reply_sets_server_version(result: Any, version: ServerVersion | None) -> None:
    layer = Layer()
    request_id, _ = layer.rpc.start_request("version", now=0.0)
    layer.rpc.receive_message(cbor2.dumps({"id": request_id, "result": result}), 0.0)
    assert layer.rpc.server_version == version


def test_a_later_odd_version_reply_keeps_the_known_version() -> None:
    layer = Layer()
    for result in ("surrealdb-3.2.4", "latest"):
        request_id, _ = layer.rpc.start_request("version", now=0.0)
        layer.rpc.receive_message(cbor2.dumps({"id": request_id, "result": result}), 0.0)
    assert layer.rpc.server_version == (3, 2, 4)


def test_default_timeout_sentinel_repr() -> None:
    assert repr(DEFAULT_TIMEOUT) == "DEFAULT_TIMEOUT"


def test_ending_a_query_drops_its_held_notifications() -> None:
    layer = Layer()
    layer.rpc.receive_message(cbor2.dumps({"result": {"id": LIVE, "action": "CREATE"}}), 0.0)
    layer.rpc.receive_message(cbor2.dumps({"result": {"id": OTHER, "action": "CREATE"}}), 1.0)
    kill, _ = layer.rpc.start_request("kill", [LIVE], now=0.0)
    layer.rpc.receive_message(cbor2.dumps({"id": kill, "result": None}), 0.0)
    assert [type(e) for e in layer.take()] == [ResponseReceived]  # LIVE was never known
    assert layer.rpc.next_deadline() == 6.0  # only OTHER's notification is still held


def test_answered_requests_leave_stale_deadlines_behind() -> None:
    layer = Layer(default_timeout=1.0)
    request_id, _ = layer.rpc.start_request("ping", now=0.0)
    layer.rpc.receive_message(cbor2.dumps({"id": request_id, "result": 1}), 0.5)
    layer.take()
    layer.rpc.handle_timeout(2.0)  # the stale heap entry is skipped
    assert layer.take() == []
    assert layer.rpc.next_deadline() is None


def test_events_carry_params_for_the_session_tracker_but_never_show_them() -> None:
    layer = Layer()
    session = UUID(int=6)
    secret = {"user": "root", "pass": "hunter2"}
    ok, _ = layer.rpc.start_request("signin", [secret], session=session, now=0.0)
    bad, _ = layer.rpc.start_request("signin", [secret], now=0.0)
    assert "hunter2" not in repr(layer.rpc.pending_requests())
    layer.rpc.receive_message(cbor2.dumps({"id": ok, "result": "jwt"}), 0.0)  # no echo (2.x)
    layer.rpc.receive_message(cbor2.dumps({"id": bad, "error": {"code": -32000,
                                                                "message": "x"}}), 0.0)
    reply, error = layer.take()
    assert isinstance(reply, ResponseReceived)
    assert isinstance(error, ErrorReceived)
    assert reply.session == session  # the request's own session field
    assert list(reply.params) == [secret]
    assert list(error.params) == [secret]
    assert "hunter2" not in repr(reply) + repr(error)


def test_next_deadline_is_the_earliest_of_requests_and_held_notifications() -> None:
    layer = Layer(live_buffer_ttl=5.0)
    layer.rpc.start_request("ping", timeout=1.0, now=0.0)
    layer.rpc.receive_message(cbor2.dumps({"result": {"id": LIVE, "action": "CREATE"}}), 0.0)
    assert layer.rpc.next_deadline() == 1.0  # the request's, before the held notification's
    layer.rpc.start_request("ping", timeout=9.0, now=0.0)
    layer.rpc.handle_timeout(1.0)
    assert layer.rpc.next_deadline() == 5.0  # the notification's, before the request's


def test_a_timed_out_request_says_why_in_its_error() -> None:
    layer = Layer(default_timeout=2.5)
    request_id, _ = layer.rpc.start_request("query", ["SLEEP 1m"], now=0.0)
    layer.rpc.handle_timeout(2.5)
    (event,) = layer.take()
    assert event == RequestTimedOut(request_id=request_id, method="query")  # timeout: no ==
    assert isinstance(event, RequestTimedOut)
    assert event.timeout == 2.5
    error = event.error
    assert isinstance(error, SurrealTimeoutError)
    assert isinstance(error, TimeoutError)
    assert str(error) == ("the 'query' request did not complete within 2.5 s; it was abandoned"
                          " (a late reply is dropped; a write may still have run on the server)")
    assert event.error is not error  # a fresh error for each waiter
    unknown = RequestTimedOut(request_id=1, method="ping").error
    assert str(unknown).startswith("the 'ping' request did not complete in time;")


def test_request_outcome_is_the_union_of_the_four_outcomes() -> None:
    assert set(get_args(RequestOutcome)) == {ResponseReceived, ErrorReceived, RequestFailed,
                                             RequestTimedOut}
    assert surreal_proto.RequestOutcome is RequestOutcome
