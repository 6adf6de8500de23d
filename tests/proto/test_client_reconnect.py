"""ClientEngine reconnect (WebSocket): backoff, replay of the session, live queries re-keyed
with a visible gap, in-flight calls retried or failed with OutcomeUnknownError, and giving up
with ReconnectFailedError (API.md §8, protocol.md §2.9, §8.3, §9)."""

from __future__ import annotations

from uuid import UUID

import pytest

from surreal_proto import (
    ConnectionClosedError,
    HandshakeError,
    LocalProtocolError,
    OutcomeUnknownError,
    ReconnectFailedError,
    SurrealConnectionError,
    SurrealTimeoutError,
)
from surreal_proto import _calls as c
from surreal_proto._client_events import (
    AuthenticationLost,
    ClientState,
    ReconnectPolicy,
    ReconnectScheduled,
    SessionRestoreFailed,
    StateChanged,
)
from surreal_proto._subscriptions import RECONNECTED
from tests.proto.auth_helpers import PASSWORD, make_jwt
from tests.proto.client_helpers import INVALID_AUTH, NOT_FOUND, NOW, Harness, ok

ROOT = {"username": "root", "password": PASSWORD}
L1 = UUID("aaaaaaaa-0000-4000-8000-000000000001")
L1B = UUID("aaaaaaaa-0000-4000-8000-0000000000b1")
L2 = UUID("aaaaaaaa-0000-4000-8000-000000000002")
S1 = UUID("11111111-1111-4111-8111-111111111111")
T1 = UUID("bbbbbbbb-0000-7000-8000-000000000001")
POLICY = ReconnectPolicy(attempts=3, initial_delay=1.0, max_delay=4.0, multiplier=2.0,
                         jitter=0.5)


def jwt(exp: float = NOW + 3600) -> str:
    return make_jwt({"exp": exp})


def reconnecting(**options: object) -> Harness:
    options.setdefault("reconnect", POLICY)
    options.setdefault("keepalive_interval", None)
    return Harness(**options)  # type: ignore[arg-type]


def redial(h: Harness) -> int:
    """Wait out the backoff; the engine opens (and the fake server accepts) a new link."""
    before = len(h.opened)
    deadline = h.engine.next_deadline()
    assert deadline is not None
    h.run_timers(deadline)
    assert len(h.opened) == before + 1
    return h.link


def test_reconnect_replays_the_session_and_retries_safe_calls() -> None:
    h = reconnecting(namespace="app", database="main")
    h.start(c.signin(ROOT))
    first = h.link
    h.answer("use", {"namespace": "app", "database": "main"})
    h.answer("signin", jwt())
    h.start(c.let("x", 5))
    h.answer("let")
    live = h.start(c.live("person"))
    h.answer("live", L1)
    sub = h.engine.subscribe_live(h.result(live), now=h.now)
    read = h.start(c.select("person"))
    write = h.start(c.create("person", {"a": 1}))
    assert h.methods() == ["select", "create"]
    h.eof()
    # The write may or may not have run: never re-sent.
    assert isinstance(h.error(write), OutcomeUnknownError)
    assert not h.done(read)
    assert h.state() is ClientState.RECONNECTING
    (scheduled,) = h.of_type(ReconnectScheduled)
    assert scheduled.attempt == 1
    assert scheduled.delay == 1.0
    assert isinstance(scheduled.error, ConnectionClosedError)
    assert sub.end_reason is None
    second = redial(h)
    assert second != first
    # The replay: auth (the token is still valid), use, let, then the live query restarted.
    assert h.methods() == ["authenticate"]
    h.answer("authenticate")
    assert h.request("use")["params"] == ["app", "main"]
    h.answer("use", {"namespace": "app", "database": "main"})
    assert h.request("let")["params"] == ["x", 5]
    h.answer("let")
    assert h.methods() == ["live"]
    assert not h.done(read)  # in-flight reads wait for the replay
    h.answer("live", L1B)
    assert h.state() is ClientState.OPEN
    h.answer("select", [])
    assert h.result(read) == []
    # The same subscription goes on, with a visible gap; the old id still works.
    assert [n.action for n in sub.take()] == [RECONNECTED]
    assert sub.reconnects == 1
    assert sub.current_live_id == L1B
    assert sub.ids == [L1, L1B]
    h.notify(L1B, "CREATE")
    assert sub.take()[0].query_id == L1  # the id the user holds
    assert h.engine.subscribe_live(L1, now=h.now) is sub
    kill = h.start(c.kill(L1))
    assert h.request("kill")["params"] == [L1B]
    h.answer("kill")
    assert h.result(kill) is None
    assert sub.ended
    assert [e.new for e in h.of_type(StateChanged)][-2:] == [ClientState.RECONNECTING,
                                                             ClientState.OPEN]


def test_calls_made_while_reconnecting_wait_within_their_deadline() -> None:
    h = reconnecting()
    h.start(c.ping())
    h.answer("ping")
    h.eof()
    short = h.start(c.ping(), timeout=0.5)
    later = h.start(c.ping(), timeout=None)
    assert len(h.opened) == 1  # no new link before the backoff
    h.run_timers(h.now + 0.5)
    assert isinstance(h.error(short), SurrealTimeoutError)
    redial(h)
    h.answer("ping")
    assert h.result(later) is None


def test_backoff_grows_with_jitter_and_then_gives_up() -> None:
    h = reconnecting(rng=lambda: 1.0, auto_accept=False)
    h.start(c.ping())
    h.accept()
    waiting = h.start(c.select("a"), timeout=None)
    h.eof()
    redial(h)
    h.fail_link(ConnectionRefusedError())
    redial(h)
    h.feed(h.ws[h.link].reject(503, b"unavailable"))
    redial(h)
    h.fail_link(ConnectionRefusedError())
    delays = [e.delay for e in h.of_type(ReconnectScheduled)]
    assert delays == [1.5, 3.0, 6.0]  # 1, 2, 4 seconds, times the jitter factor 1.5
    errors = [type(e.error) for e in h.of_type(ReconnectScheduled)]
    assert errors == [ConnectionClosedError, SurrealConnectionError, HandshakeError]
    error = h.error(waiting)
    assert isinstance(error, ReconnectFailedError)
    assert "3 attempts" in str(error)
    assert isinstance(error.__cause__, SurrealConnectionError)
    assert h.state() is ClientState.IDLE
    assert h.engine.next_deadline() is None


def test_policy_validation_and_delays() -> None:
    assert ReconnectPolicy(jitter=0).delay(10, lambda: 0.9) == 10.0
    assert ReconnectPolicy(initial_delay=1, jitter=0.5).delay(0, lambda: 0.0) == 0.5
    for bad in ({"attempts": 0}, {"initial_delay": -1}, {"multiplier": 0.5}, {"jitter": 2}):
        with pytest.raises(LocalProtocolError):
            ReconnectPolicy(**bad)
    forever = reconnecting(reconnect=ReconnectPolicy(attempts=None, initial_delay=0.0))
    forever.start(c.ping())
    forever.eof()
    for _ in range(3):
        redial(forever)
        forever.eof()
    assert forever.state() is ClientState.RECONNECTING


def test_default_reconnect_is_on() -> None:
    h = Harness(keepalive_interval=None)
    h.start(c.ping())
    h.eof()
    assert h.state() is ClientState.RECONNECTING


def test_link_lost_during_replay_tries_again() -> None:
    h = reconnecting(namespace="n", database="d")
    h.start(c.ping())
    h.answer("use", {"namespace": "n", "database": "d"})
    h.answer("ping")
    h.eof()
    redial(h)
    assert h.methods() == ["use"]
    h.eof()  # dropped again before the replay finished
    assert h.state() is ClientState.RECONNECTING
    redial(h)
    h.answer("use", {"namespace": "n", "database": "d"})
    assert h.state() is ClientState.OPEN


def test_replay_step_failures_are_reported_and_the_rest_goes_on() -> None:
    h = reconnecting(session_id_factory=lambda: S1, has_prepare=True)
    h.start(c.ping())
    h.engine.prepare_done(h.prepares[0].ticket, now=h.now)
    h.flush()
    h.answer("ping")
    session, _ = h.engine.new_session(now=h.now)
    h.flush()
    h.answer("attach")
    h.start(c.let("x", 1))
    h.answer("let")
    h.eof()
    redial(h)
    h.refuse("attach", NOT_FOUND)
    h.refuse("let", NOT_FOUND)
    h.engine.prepare_failed(h.prepares[1].ticket, RuntimeError("prepare broke"), now=h.now)
    h.flush()
    assert h.state() is ClientState.OPEN
    steps = [e.step for e in h.of_type(SessionRestoreFailed)]
    assert steps == ["attach", "let", "prepare"]
    with pytest.raises(ConnectionClosedError):
        h.start(c.ping(), session=session)


def test_auth_that_cannot_be_restored_is_reported() -> None:
    h = reconnecting()
    h.start(c.signup({"namespace": "n", "database": "d", "access": "user", "email": "e"}))
    h.answer("signup", jwt(NOW - 100))  # an expired token and nothing else to renew with
    h.eof()
    redial(h)
    assert h.of_type(AuthenticationLost) == [AuthenticationLost(session=None)]
    h.answer("use", {"namespace": "n", "database": "d"})  # signup selected them
    assert h.state() is ClientState.OPEN


def test_refused_reauth_during_replay_is_reported() -> None:
    h = reconnecting()
    h.start(c.signin(ROOT))
    h.answer("signin", jwt(NOW - 100))
    h.eof()
    redial(h)
    h.refuse("signin", INVALID_AUTH)
    assert h.of_type(AuthenticationLost) == [AuthenticationLost(session=None)]
    assert h.state() is ClientState.OPEN


def test_transactions_are_lost_with_the_link() -> None:
    h = reconnecting()
    begin = h.start(c.begin())
    h.answer("begin", T1)
    txn = h.result(begin)
    in_flight = h.start(c.update("a:1", {"x": 1}), txn=txn)
    h.eof()
    assert isinstance(h.error(in_flight), OutcomeUnknownError)
    assert "'update'" in str(h.error(in_flight))  # the user's method, not the rewrite
    redial(h)
    with pytest.raises(ConnectionClosedError):
        h.start(c.select("a"), txn=txn)


def test_live_queries_that_cannot_restart_end() -> None:
    h = reconnecting()
    multi = h.start(c.query("CREATE x; LIVE SELECT * FROM person"))
    h.answer("query", [ok([{}]), ok(L2, "live")])
    assert h.result(multi)[1] == L2
    lost = h.engine.subscribe_live(L2, now=h.now)
    unknown = h.engine.subscribe_live(L1, now=h.now)  # never known to the session
    restart = h.start(c.live("person"))
    h.answer("live", L1B)
    restarted = h.engine.subscribe_live(L1B, now=h.now)
    h.eof()
    assert unknown.end_reason == "lost"
    redial(h)
    assert lost.end_reason == "lost"
    h.refuse("live", NOT_FOUND)  # the restart failed
    assert restarted.end_reason == "lost"
    assert h.result(restart) == L1B
    assert [e.step for e in h.of_type(SessionRestoreFailed)] == ["restart_live"]


def test_2x_live_select_is_restarted_through_query() -> None:
    h = reconnecting(auto_version="surrealdb-2.1.0")
    h.start(c.query("LIVE SELECT * FROM person"))
    h.answer("query", [ok(L1)])
    sub = h.engine.subscribe_live(L1, now=h.now)
    h.eof()
    redial(h)
    req = h.request("query")
    assert req["params"] == ["LIVE SELECT * FROM person"]
    h.reply(req["id"], [ok(L1B)])
    h.notify(L1B, "CREATE")
    assert [n.action for n in sub.take()] == [RECONNECTED, "CREATE"]


def test_restart_without_an_id_ends_the_subscription() -> None:
    h = reconnecting()
    h.start(c.live("person"))
    h.answer("live", L1)
    sub = h.engine.subscribe_live(L1, now=h.now)
    h.eof()
    redial(h)
    h.answer("live", "not-a-uuid")
    assert sub.end_reason == "lost"


def test_prepare_call_cut_short_by_the_drop() -> None:
    h = reconnecting(has_prepare=True)
    h.start(c.ping())
    h.engine.prepare_done(h.prepares[0].ticket, now=h.now)
    h.flush()
    h.answer("ping")
    h.eof()
    redial(h)
    own = h.start(c.query("RETURN 1"), setup=True)
    assert h.methods() == ["query"]
    queued = h.start(c.ping())
    h.eof()
    assert isinstance(h.error(own), ConnectionClosedError)
    assert not h.done(queued)
    h.engine.prepare_done(h.prepares[1].ticket, now=h.now)  # too late: ignored
    redial(h)
    h.engine.prepare_done(h.prepares[2].ticket, now=h.now)
    h.flush()
    h.answer("ping")
    assert h.result(queued) is None


def test_reauth_waiters_survive_a_drop() -> None:
    h = reconnecting()
    h.start(c.signin(ROOT))
    h.answer("signin", jwt(NOW - 100))
    call = h.start(c.select("a"))
    h.refuse("select", {"code": -32000, "kind": "NotAllowed", "message": "expired",
                        "details": {"kind": "Auth", "details": {"kind": "SessionExpired"}}})
    assert h.methods() == ["signin"]
    h.eof()
    redial(h)
    h.answer("signin", jwt())  # the replay re-authenticates
    h.answer("select", ["a"])
    assert h.result(call) == ["a"]


def test_provider_asked_again_on_reconnect() -> None:
    h = reconnecting(auth_provider=True)
    h.start(c.ping())
    h.engine.provide_auth(h.providers[0].ticket, jwt(NOW - 100), now=h.now)
    h.flush()
    h.answer("authenticate")
    h.answer("ping")
    h.eof()
    redial(h)
    stale = h.providers[0].ticket
    h.engine.provide_auth(stale, "stale", now=h.now)  # an old ticket: ignored
    h.flush()
    assert len(h.providers) == 2
    h.eof()  # dropped while the provider runs: its answer is ignored later
    h.engine.provide_auth(h.providers[1].ticket, jwt(), now=h.now)
    h.flush()
    redial(h)
    h.engine.provide_auth(h.providers[2].ticket, jwt(), now=h.now)
    h.flush()
    h.answer("authenticate")
    assert h.state() is ClientState.OPEN


def test_close_while_reconnecting() -> None:
    h = reconnecting()
    h.start(c.ping())
    h.eof()
    waiting = h.start(c.ping())
    done = h.engine.close(now=h.now)
    h.flush()
    assert isinstance(h.error(waiting), ConnectionClosedError)
    assert h.result(done) is None
    assert h.state() is ClientState.CLOSED
    assert h.engine.next_deadline() is None


def test_unsent_calls_are_always_resent() -> None:
    h = reconnecting(auto_accept=False)
    h.start(c.ping())
    h.accept()
    h.eof()
    redial(h)
    queued = h.start(c.create("person"))  # queued while reconnecting: never sent yet
    h.eof()
    redial(h)
    h.accept()
    h.answer("create", {"id": 1})
    assert h.result(queued) == {"id": 1}


def test_gap_marker_queued_behind_unread_notifications() -> None:
    h = reconnecting()
    h.start(c.live("person"))
    h.answer("live", L1)
    sub = h.engine.subscribe_live(L1, now=h.now)
    h.notify(L1, "CREATE")
    h.eof()
    redial(h)
    h.answer("live", L1B)
    assert [n.action for n in sub.take()] == ["CREATE", RECONNECTED]


def test_lost_ids_are_remembered_boundedly(monkeypatch: pytest.MonkeyPatch) -> None:
    from surreal_proto import _client_setup

    monkeypatch.setattr(_client_setup, "_LOST_MEMORY", 1)
    h = reconnecting()
    txns = []
    for txn in (T1, UUID("bbbbbbbb-0000-7000-8000-000000000002")):
        begin = h.start(c.begin())
        h.answer("begin", txn)
        txns.append(h.result(begin))
    h.eof()
    redial(h)
    with pytest.raises(ConnectionClosedError):
        h.start(c.select("a"), txn=txns[1])
    call = h.start(c.select("a"), txn=txns[0])  # forgotten: sent, the server says no
    h.refuse("query", NOT_FOUND)
    assert h.done(call)


def test_aux_link_closed_when_the_websocket_drops_for_good() -> None:
    h = reconnecting(reconnect=False)
    h.start(c.ping())
    main = h.link
    export = h.start(c.export())
    aux = h.link
    h.eof(main)
    assert isinstance(h.error(export), ConnectionClosedError)
    assert aux in h.closed


def test_a_reply_beyond_max_message_size_fails_the_reads_instead_of_refetching_it() -> None:
    h = reconnecting(max_message_size=300)
    read = h.start(c.select("big"))
    other = h.start(c.select("small"))
    write = h.start(c.create("w", {"a": 1}))
    h.reply(h.request("select")["id"], ["x" * 1000])  # the link fails (1009)
    assert h.state() is ClientState.RECONNECTING
    for call in (read, other):
        error = h.error(call)
        assert isinstance(error, ConnectionClosedError)
        assert error.code == 1009
        assert "larger than max_message_size (300 bytes)" in str(error)
    assert isinstance(h.error(write), OutcomeUnknownError)
    redial(h)
    assert h.methods() == []  # nothing re-sent
    again = h.start(c.ping())
    h.answer("ping")
    assert h.result(again) is None
