"""Resilience of the blocking client against the reference server, through the fault proxy
(API.md §8; protocol.md §7): cuts with calls in flight, a write just after a drop, a server
restart, a black hole, a slow link, a corrupted byte, refused reconnects, calls waiting for a
reconnect, short token and session durations, refresh tokens."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from surreal_proto import ClientState
from surreal_sync import (
    OutcomeUnknownError,
    ReconnectFailedError,
    RecordID,
    SessionExpiredError,
    Surreal,
    SurrealError,
    SurrealTimeoutError,
    TokenExpiredError,
)
from tests._server import ReferenceServer
from tests.conftest import DbInfo
from tests.faults import helpers as h
from tests.faults.proxy import Proxy

pytestmark = pytest.mark.integration


def through(proxy: Proxy, info: DbInfo, **options: Any) -> Surreal:
    """A root client on the test's database, over ws through the proxy."""
    return Surreal(f"ws://127.0.0.1:{proxy.port}", **{**h.root_options(info), **options})


def outcome_of(call: Any, *args: Any) -> Any:
    try:
        return call(*args)
    except SurrealError as exc:
        return exc


@pytest.mark.parametrize("how", h.CUTS)
def test_cut_with_reads_and_writes_in_flight(surreal_db: DbInfo, proxy: Proxy,
                                             how: str) -> None:
    with through(proxy, surreal_db) as db:
        db.query("DEFINE TABLE r SCHEMALESS; DEFINE TABLE w SCHEMALESS")
        db.insert("r", [{"id": i, "n": i} for i in range(h.IN_FLIGHT)])
        proxy.delay(30, "down")  # requests reach the server; their replies are held
        with ThreadPoolExecutor(2 * h.IN_FLIGHT) as pool:
            reads, writes = [], []
            for i in range(h.IN_FLIGHT):  # interleaved: a cut mid-way splits both kinds
                reads.append(pool.submit(outcome_of, db.select, RecordID("r", i)))
                writes.append(pool.submit(outcome_of, db.create, "w", {"tag": i}))
            deadline = time.monotonic() + 10
            while h.write_count(surreal_db) < h.IN_FLIGHT and time.monotonic() < deadline:
                time.sleep(0.05)
            h.cut_held_replies(proxy, how)
            outcome = h.CutOutcome([f.result(15) for f in reads], [f.result(15) for f in writes])
        h.check_cut_outcome(surreal_db, outcome, how)
        assert proxy.accepted == 2
        assert db.query("RETURN 1") == [1]


def test_a_write_soon_after_a_drop_goes_to_the_new_connection(surreal_db: DbInfo,
                                                              proxy: Proxy) -> None:
    with through(proxy, surreal_db) as db:
        db.query("DEFINE TABLE w SCHEMALESS")
        proxy.cut()
        time.sleep(0.05)  # the reset has arrived
        assert db.create(RecordID("w", 1), {"n": 1}) == {"id": RecordID("w", 1), "n": 1}
        assert proxy.accepted == 2


def test_server_restart_restores_the_session(restartable_server: ReferenceServer) -> None:
    info = h.fresh_db(restartable_server)
    h.define(info, f"{h.EDITOR_USER_SQL}; DEFINE TABLE a SCHEMALESS; DEFINE TABLE b SCHEMALESS",
             restartable_server)
    states: list[ClientState] = []
    prepared: list[int] = []

    def prepare(client: Surreal) -> None:
        prepared.append(1)
        client.let("prepared", len(prepared))

    with Surreal(restartable_server.ws_url, reconnect=h.PATIENT_POLICY, timeout=20,
                 prepare=prepare,
                 on_state_change=lambda old, new: states.append(new)) as db:
        db.signin(h.editor_credentials(info))
        db.use(info.namespace, info.database)
        db.let("marker", "kept")
        subs = [db.subscribe_live(db.live(table), timeout=20) for table in ("a", "b")]
        other = db.new_session()
        other.signin(h.editor_credentials(info))
        other.let("marker", "other")
        for table, sub in zip(("a", "b"), subs, strict=True):
            db.create(RecordID(table, 1))
            assert next(sub).record == RecordID(table, 1)

        restartable_server.restart()

        assert db.query("RETURN [$marker, $session.ns, $session.db, $prepared]") == [
            ["kept", info.namespace, info.database, 2]]
        assert other.query("RETURN $marker") == ["other"]
        assert ClientState.RECONNECTING in states
        for table, sub in zip(("a", "b"), subs, strict=True):
            db.create(RecordID(table, 2))  # anonymous sessions may not: auth came back
            marker = next(sub)
            assert marker.action == "RECONNECTED"
            note = next(sub)
            assert (note.action, note.record) == ("CREATE", RecordID(table, 2))
            assert sub.reconnects == 1
        assert db.query("SELECT VALUE id FROM a ORDER BY id") == [[RecordID("a", 1),
                                                                   RecordID("a", 2)]]


def test_black_hole_is_detected_by_keepalive(surreal_db: DbInfo, proxy: Proxy) -> None:
    seen: list[tuple[float, ClientState]] = []
    with through(proxy, surreal_db, keepalive_interval=h.KEEPALIVE_INTERVAL,
                 keepalive_timeout=h.KEEPALIVE_TIMEOUT,
                 on_state_change=lambda old, new: seen.append((time.monotonic(), new))) as db:
        db.query("DEFINE TABLE w SCHEMALESS")
        db.create(RecordID("w", "before"))
        proxy.stall()
        stalled = time.monotonic()
        with ThreadPoolExecutor(2) as pool:
            read = pool.submit(outcome_of, db.select, RecordID("w", "before"))
            write = pool.submit(outcome_of, db.create, "w", {"tag": 1})
            results = read.result(10), write.result(10)
        detected = next(t for t, state in seen if state is ClientState.RECONNECTING)
        assert detected - stalled < h.DETECTION_BOUND
        assert results[0] == {"id": RecordID("w", "before")}  # read: re-sent
        assert isinstance(results[1], OutcomeUnknownError)  # write: never re-sent
        assert proxy.accepted == 2
        assert db.query("RETURN 1") == [1]


def test_slow_link_is_not_mistaken_for_a_dead_one(surreal_db: DbInfo, proxy: Proxy) -> None:
    states: list[ClientState] = []
    with through(proxy, surreal_db, keepalive_interval=h.KEEPALIVE_INTERVAL,
                 keepalive_timeout=h.SLOW_LINK_TIMEOUT,
                 on_state_change=lambda old, new: states.append(new)) as db:
        db.query("RETURN 0")
        proxy.delay(h.SLOW_LINK_DELAY)
        for i in range(2):
            assert db.query("RETURN $i", {"i": i}) == [i]
        time.sleep(h.SLOW_LINK_IDLE)  # keepalive pings go out and come back late
        assert db.query("RETURN 2") == [2]
    assert ClientState.RECONNECTING not in states
    assert proxy.accepted == 1


@pytest.mark.parametrize("case", ["header-read", "header-write", "payload"])
def test_corrupted_byte_then_recovery(surreal_db: DbInfo, proxy: Proxy,
                                         case: str) -> None:
    # (A short deadline for the payload case, which ends at it.)
    timeout = h.CORRUPT_TIMEOUT if case == "payload" else 10.0
    with through(proxy, surreal_db, timeout=timeout) as db:
        db.query("DEFINE TABLE w SCHEMALESS")
        db.create(RecordID("w", 0), {"n": 0})
        if case == "payload":
            # Invalid UTF-8 in the reply: that message is skipped (a ProtocolViolation), the
            # link stays; the call it answered ends at its deadline.
            proxy.corrupt_next(offset=h.FIRST_KEY_OFFSET, mask=0xFF)
            with pytest.raises(SurrealTimeoutError):
                db.select(RecordID("w", 0))
        else:
            # Reserved bits in the header of the next frame: the client drops the link,
            # reconnects, sends the read again; the write's outcome is unknown.
            proxy.corrupt_next(offset=0, mask=0x70)
            if case == "header-read":
                assert db.select(RecordID("w", 0)) == {"id": RecordID("w", 0), "n": 0}
            else:
                with pytest.raises(OutcomeUnknownError):
                    db.create(RecordID("w", 1), {"n": 1})
        assert db.select(RecordID("w", 0)) == {"id": RecordID("w", 0), "n": 0}
        assert proxy.accepted == (1 if case == "payload" else 2)


@pytest.mark.parametrize("how", ["close", "unlisten"])
def test_refused_reconnects_fail_every_waiting_call(surreal_db: DbInfo, proxy: Proxy,
                                                    how: Any) -> None:
    with through(proxy, surreal_db, reconnect=h.SHORT_POLICY) as db:
        db.query("DEFINE TABLE r SCHEMALESS")
        db.create(RecordID("r", 1))
        sub = db.subscribe_live(db.live("r"), timeout=10)
        proxy.refuse(how)
        proxy.delay(30, "down")
        with ThreadPoolExecutor(10) as pool:
            in_flight = [pool.submit(outcome_of, db.select, RecordID("r", 1)) for _ in range(5)]
            time.sleep(0.3)
            proxy.cut()
            proxy.delay(0)
            wait_for_state(db, ClientState.RECONNECTING)
            waiting = [pool.submit(outcome_of, db.query, "RETURN 1") for _ in range(5)]
            outcomes = [f.result(10) for f in in_flight + waiting]
        assert all(isinstance(o, ReconnectFailedError) for o in outcomes), outcomes
        assert db.state is ClientState.IDLE
        assert list(sub) == []  # the live iterator ends (it does not hang)
        assert sub.end_reason == "closed"  # and says why
        proxy.accept_again()
        assert db.select(RecordID("r", 1)) == {"id": RecordID("r", 1)}


def test_calls_wait_for_a_reconnect_within_their_deadline(surreal_db: DbInfo,
                                                          proxy: Proxy) -> None:
    with through(proxy, surreal_db, timeout=h.WAIT_TIMEOUT, reconnect=h.EAGER_POLICY) as db:
        db.query("RETURN 0")
        proxy.refuse("unlisten")
        proxy.cut()
        # Nobody reads an idle blocking client's link: the next call finds the drop. (A read:
        # the driver looks at an idle link only after half a second of quiet, so a write
        # made this soon goes out on the dead link and fails with OutcomeUnknownError.)
        with pytest.raises(SurrealTimeoutError):
            db.ping()  # the server stays out of reach past its deadline
        assert db.state is ClientState.RECONNECTING
        with ThreadPoolExecutor(1) as pool:
            waiting = pool.submit(db.query, "RETURN 2")
            time.sleep(0.3)
            proxy.accept_again()
            assert waiting.result(5) == [2]  # it waited for the reconnect


def wait_for_state(db: Surreal, state: ClientState) -> None:
    """Wait until the client is in ``state`` (calls made now wait for the reconnect)."""
    deadline = time.monotonic() + 5
    while db.state is not state:
        assert time.monotonic() < deadline, db.state
        time.sleep(0.005)


def steady(db: Surreal, seconds: float) -> int:
    """Make a call every STEADY_PAUSE for ``seconds``; return how many (each must work)."""
    calls = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        assert db.query("RETURN $session.db") != []
        calls += 1
        time.sleep(h.STEADY_PAUSE)
    return calls


def expires(db: Surreal, error: type[SurrealError]) -> SurrealError:
    """Make steady calls until one fails; it must fail with ``error``."""
    end = time.monotonic() + 5
    while time.monotonic() < end:
        try:
            db.query("RETURN 1")
        except error as exc:
            return exc
        time.sleep(h.STEADY_PAUSE)
    raise AssertionError("the session never expired")


@pytest.mark.slow
def test_short_token_and_session_durations(surreal_db: DbInfo) -> None:
    h.define(surreal_db, h.EXPIRING_USER_SQL)
    server, creds = surreal_db.server, h.expiring_credentials(surreal_db)
    results: dict[str, Any] = {}

    def run(name: str, scenario: Any) -> None:
        try:
            results[name] = scenario()
        except BaseException as exc:  # reported by the assertions below
            results[name] = exc

    def with_credentials(url: str, reactive: bool = False) -> Any:
        db = Surreal(url, auth=creds, timeout=10)
        if reactive:
            h.renew_only_on_expiry_errors(db)
        with db:
            return steady(db, h.STEADY_SECONDS)

    def token_only(url: str, error: type[SurrealError]) -> Any:
        with Surreal(server.ws_url) as signer:
            token = signer.signin(creds).access
        assert token is not None
        with Surreal(url, timeout=10) as db:
            db.authenticate(token)
            exc = expires(db, error)
        # The expired token never shows in the error's text.
        assert token not in str(exc)
        assert token not in repr(exc)
        return exc

    # Over ws the client renews ahead of the session's expiry (which it learns); over http
    # ahead of the token's exp. "-reactive": with that turned off, it re-authenticates on
    # SessionExpired (ws) or a 401 (http) and retries the call once. "-token": nothing to
    # renew with, the typed expiry error reaches the caller.
    scenarios = {
        "ws": lambda: with_credentials(server.ws_url),
        "http": lambda: with_credentials(server.http_url),
        "ws-reactive": lambda: with_credentials(server.ws_url, reactive=True),
        "http-reactive": lambda: with_credentials(server.http_url, reactive=True),
        "ws-token": lambda: token_only(server.ws_url, SessionExpiredError),
        "http-token": lambda: token_only(server.http_url, TokenExpiredError),
    }
    threads = [threading.Thread(target=run, args=item) for item in scenarios.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    minimum = h.STEADY_SECONDS / h.STEADY_PAUSE / 4
    for name in ("ws", "http", "ws-reactive", "http-reactive"):
        assert isinstance(results[name], int), results
        assert results[name] > minimum, results
    assert isinstance(results["ws-token"], SessionExpiredError), results
    assert isinstance(results["http-token"], TokenExpiredError), results
    assert "SESSION duration ran out" in str(results["ws-token"])
    assert "TOKEN duration ran out" in str(results["http-token"])
    assert all("To renew automatically" in str(results[name])
               for name in ("ws-token", "http-token")), results


def renewed_pairs(url: str, info: DbInfo) -> list[tuple[str | None, str | None]]:
    """Sign up through the refresh-token access method, then make steady calls for
    ``REFRESH_SECONDS`` (token 1 s, session 2 s); return each token pair the client held, in
    order. ``signup`` keeps no credentials: the client can renew only with ``refresh``."""
    with Surreal(url, timeout=10) as db:
        first = db.signup(h.refresh_signup(info))
        pairs = [(first.access, first.refresh)]
        end = time.monotonic() + h.REFRESH_SECONDS
        while time.monotonic() < end:
            assert db.query("RETURN $auth.name") != []
            tokens = db._driver.engine._tracker.tokens()
            if tokens.refresh != pairs[-1][1]:
                pairs.append((tokens.access, tokens.refresh))
            time.sleep(h.STEADY_PAUSE)
    return pairs


@pytest.mark.slow
def test_refresh_tokens_renew_and_are_single_use(surreal_db: DbInfo) -> None:
    h.define(surreal_db, h.REFRESH_ACCESS_SQL)
    server = surreal_db.server
    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(renewed_pairs, url, surreal_db)
                   for url in (server.ws_url, server.http_url)]
        for future in futures:
            h.check_refresh_pairs(surreal_db, future.result(30))
