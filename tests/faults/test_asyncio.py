"""Resilience of the asyncio client against the reference server, through the fault proxy
(API.md §8; protocol.md §7): the scenarios of ``test_sync.py``, with tasks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import Any

import pytest

from surreal_asyncio import (
    AsyncSurreal,
    OutcomeUnknownError,
    ReconnectFailedError,
    RecordID,
    SessionExpiredError,
    SurrealError,
    SurrealTimeoutError,
    TokenExpiredError,
)
from surreal_proto import ClientState
from tests._server import ReferenceServer
from tests.asyncio.helpers import aio
from tests.conftest import DbInfo
from tests.faults import helpers as h
from tests.faults.proxy import Proxy

pytestmark = pytest.mark.integration


def through(proxy: Proxy, info: DbInfo, **options: Any) -> AsyncSurreal:
    """A root client on the test's database, over ws through the proxy."""
    return AsyncSurreal(f"ws://127.0.0.1:{proxy.port}", **{**h.root_options(info), **options})


async def outcome_of(call: Awaitable[Any]) -> Any:
    try:
        return await call
    except SurrealError as exc:
        return exc


async def wait_for_state(db: AsyncSurreal, state: ClientState) -> None:
    """Wait until the client is in ``state`` (calls made now wait for the reconnect)."""
    async with asyncio.timeout(5):
        while db.state is not state:
            await asyncio.sleep(0.005)


@pytest.mark.parametrize("how", h.CUTS)
@aio
async def test_cut_with_reads_and_writes_in_flight(surreal_db: DbInfo, proxy: Proxy,
                                                   how: str) -> None:
    async with through(proxy, surreal_db) as db:
        await db.query("DEFINE TABLE r SCHEMALESS; DEFINE TABLE w SCHEMALESS")
        await db.insert("r", [{"id": i, "n": i} for i in range(h.IN_FLIGHT)])
        proxy.delay(30, "down")  # requests reach the server; their replies are held
        reads, writes = [], []
        for i in range(h.IN_FLIGHT):  # interleaved: a cut mid-way splits both kinds
            reads.append(asyncio.create_task(outcome_of(db.select(RecordID("r", i)))))
            writes.append(asyncio.create_task(outcome_of(db.create("w", {"tag": i}))))
        async with asyncio.timeout(10):
            while await asyncio.to_thread(h.write_count, surreal_db) < h.IN_FLIGHT:
                await asyncio.sleep(0.05)
        h.cut_held_replies(proxy, how)
        async with asyncio.timeout(15):
            outcome = h.CutOutcome(await asyncio.gather(*reads), await asyncio.gather(*writes))
        await asyncio.to_thread(h.check_cut_outcome, surreal_db, outcome, how)
        assert proxy.accepted == 2
        assert await db.query("RETURN 1") == [1]


@aio
async def test_a_write_soon_after_a_drop_goes_to_the_new_connection(surreal_db: DbInfo,
                                                                    proxy: Proxy) -> None:
    async with through(proxy, surreal_db) as db:
        await db.query("DEFINE TABLE w SCHEMALESS")
        proxy.cut()
        await asyncio.sleep(0.05)  # the reset has arrived
        assert await db.create(RecordID("w", 1), {"n": 1}) == {"id": RecordID("w", 1), "n": 1}
        assert proxy.accepted == 2


@aio
async def test_server_restart_restores_the_session(restartable_server: ReferenceServer) -> None:
    info = h.fresh_db(restartable_server)
    h.define(info, f"{h.EDITOR_USER_SQL}; DEFINE TABLE a SCHEMALESS; DEFINE TABLE b SCHEMALESS",
             restartable_server)
    states: list[ClientState] = []
    prepared: list[int] = []

    async def prepare(client: AsyncSurreal) -> None:
        prepared.append(1)
        await client.let("prepared", len(prepared))

    async with AsyncSurreal(restartable_server.ws_url, reconnect=h.PATIENT_POLICY, timeout=20,
                            prepare=prepare,
                            on_state_change=lambda old, new: states.append(new)) as db:
        await db.signin(h.editor_credentials(info))
        await db.use(info.namespace, info.database)
        await db.let("marker", "kept")
        subs = [db.subscribe_live(await db.live(table), timeout=20) for table in ("a", "b")]
        other = db.new_session()
        await other.signin(h.editor_credentials(info))
        await other.let("marker", "other")
        for table, sub in zip(("a", "b"), subs, strict=True):
            await db.create(RecordID(table, 1))
            assert (await anext(sub)).record == RecordID(table, 1)

        await asyncio.to_thread(restartable_server.restart)

        assert await db.query("RETURN [$marker, $session.ns, $session.db, $prepared]") == [
            ["kept", info.namespace, info.database, 2]]
        assert await other.query("RETURN $marker") == ["other"]
        assert ClientState.RECONNECTING in states
        for table, sub in zip(("a", "b"), subs, strict=True):
            await db.create(RecordID(table, 2))  # anonymous sessions may not: auth came back
            marker = await anext(sub)
            assert marker.action == "RECONNECTED"
            note = await anext(sub)
            assert (note.action, note.record) == ("CREATE", RecordID(table, 2))
            assert sub.reconnects == 1
        assert await db.query("SELECT VALUE id FROM a ORDER BY id") == [
            [RecordID("a", 1), RecordID("a", 2)]]


@aio
async def test_black_hole_is_detected_by_keepalive(surreal_db: DbInfo, proxy: Proxy) -> None:
    seen: list[tuple[float, ClientState]] = []
    async with through(proxy, surreal_db, keepalive_interval=h.KEEPALIVE_INTERVAL,
                       keepalive_timeout=h.KEEPALIVE_TIMEOUT,
                       on_state_change=lambda old, new: seen.append((time.monotonic(), new)),
                       ) as db:
        await db.query("DEFINE TABLE w SCHEMALESS")
        await db.create(RecordID("w", "before"))
        proxy.stall()
        stalled = time.monotonic()
        async with asyncio.timeout(10):
            read, write = await asyncio.gather(
                outcome_of(db.select(RecordID("w", "before"))),
                outcome_of(db.create("w", {"tag": 1})))
        detected = next(t for t, state in seen if state is ClientState.RECONNECTING)
        assert detected - stalled < h.DETECTION_BOUND
        assert read == {"id": RecordID("w", "before")}  # read: re-sent
        assert isinstance(write, OutcomeUnknownError)  # write: never re-sent
        assert proxy.accepted == 2
        assert await db.query("RETURN 1") == [1]


@aio
async def test_slow_link_is_not_mistaken_for_a_dead_one(surreal_db: DbInfo, proxy: Proxy) -> None:
    states: list[ClientState] = []
    async with through(proxy, surreal_db, keepalive_interval=h.KEEPALIVE_INTERVAL,
                       keepalive_timeout=h.SLOW_LINK_TIMEOUT,
                       on_state_change=lambda old, new: states.append(new)) as db:
        await db.query("RETURN 0")
        proxy.delay(h.SLOW_LINK_DELAY)
        for i in range(2):
            assert await db.query("RETURN $i", {"i": i}) == [i]
        await asyncio.sleep(h.SLOW_LINK_IDLE)  # keepalive pings go out and come back late
        assert await db.query("RETURN 2") == [2]
    assert ClientState.RECONNECTING not in states
    assert proxy.accepted == 1


@pytest.mark.parametrize("case", ["header-read", "header-write", "payload"])
@aio
async def test_corrupted_byte_then_recovery(surreal_db: DbInfo, proxy: Proxy,
                                           case: str) -> None:
    # (A short deadline for the payload case, which ends at it.)
    timeout = h.CORRUPT_TIMEOUT if case == "payload" else 10.0
    async with through(proxy, surreal_db, timeout=timeout) as db:
        await db.query("DEFINE TABLE w SCHEMALESS")
        await db.create(RecordID("w", 0), {"n": 0})
        if case == "payload":
            # Invalid UTF-8 in the reply: that message is skipped (a ProtocolViolation), the
            # link stays; the call it answered ends at its deadline.
            proxy.corrupt_next(offset=h.FIRST_KEY_OFFSET, mask=0xFF)
            with pytest.raises(SurrealTimeoutError):
                await db.select(RecordID("w", 0))
        else:
            # Reserved bits in the header of the next frame: the client drops the link,
            # reconnects, sends the read again; the write's outcome is unknown.
            proxy.corrupt_next(offset=0, mask=0x70)
            if case == "header-read":
                assert await db.select(RecordID("w", 0)) == {"id": RecordID("w", 0), "n": 0}
            else:
                with pytest.raises(OutcomeUnknownError):
                    await db.create(RecordID("w", 1), {"n": 1})
        assert await db.select(RecordID("w", 0)) == {"id": RecordID("w", 0), "n": 0}
        assert proxy.accepted == (1 if case == "payload" else 2)


@pytest.mark.parametrize("how", ["close", "unlisten"])
@aio
async def test_refused_reconnects_fail_every_waiting_call(surreal_db: DbInfo, proxy: Proxy,
                                                          how: Any) -> None:
    async with through(proxy, surreal_db, reconnect=h.SHORT_POLICY) as db:
        await db.query("DEFINE TABLE r SCHEMALESS")
        await db.create(RecordID("r", 1))
        sub = db.subscribe_live(await db.live("r"), timeout=10)
        proxy.refuse(how)
        proxy.delay(30, "down")
        in_flight = [asyncio.create_task(outcome_of(db.select(RecordID("r", 1))))
                     for _ in range(5)]
        await asyncio.sleep(0.3)
        proxy.cut()
        proxy.delay(0)
        await wait_for_state(db, ClientState.RECONNECTING)
        waiting = [asyncio.create_task(outcome_of(db.query("RETURN 1"))) for _ in range(5)]
        async with asyncio.timeout(10):
            outcomes = await asyncio.gather(*in_flight, *waiting)
        assert all(isinstance(o, ReconnectFailedError) for o in outcomes), outcomes
        assert db.state is ClientState.IDLE
        assert [note async for note in sub] == []  # the live iterator ends (no hang)
        assert sub.end_reason == "closed"  # and says why
        proxy.accept_again()
        assert await db.select(RecordID("r", 1)) == {"id": RecordID("r", 1)}


@aio
async def test_calls_wait_for_a_reconnect_within_their_deadline(surreal_db: DbInfo,
                                                                proxy: Proxy) -> None:
    async with through(proxy, surreal_db, timeout=h.WAIT_TIMEOUT,
                       reconnect=h.EAGER_POLICY) as db:
        await db.query("RETURN 0")
        proxy.refuse("unlisten")
        proxy.cut()
        await wait_for_state(db, ClientState.RECONNECTING)
        with pytest.raises(SurrealTimeoutError):
            await db.query("RETURN 1")  # the server stays out of reach past its deadline
        assert db.state is ClientState.RECONNECTING
        waiting = asyncio.create_task(db.query("RETURN 2"))
        await asyncio.sleep(0.3)
        proxy.accept_again()
        assert await waiting == [2]  # it waited for the reconnect


async def steady(db: AsyncSurreal, seconds: float) -> int:
    """Make a call every STEADY_PAUSE for ``seconds``; return how many (each must work)."""
    calls = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        assert await db.query("RETURN $session.db") != []
        calls += 1
        await asyncio.sleep(h.STEADY_PAUSE)
    return calls


async def expires(db: AsyncSurreal, error: type[SurrealError]) -> SurrealError:
    """Make steady calls until one fails; it must fail with ``error``."""
    async with asyncio.timeout(5):
        while True:
            try:
                await db.query("RETURN 1")
            except error as exc:
                return exc
            await asyncio.sleep(h.STEADY_PAUSE)


@pytest.mark.slow
@aio
async def test_short_token_and_session_durations(surreal_db: DbInfo) -> None:
    h.define(surreal_db, h.EXPIRING_USER_SQL)
    server, creds = surreal_db.server, h.expiring_credentials(surreal_db)

    async def with_credentials(url: str, reactive: bool = False) -> int:
        db = AsyncSurreal(url, auth=creds, timeout=10)
        if reactive:
            h.renew_only_on_expiry_errors(db)
        async with db:
            return await steady(db, h.STEADY_SECONDS)

    async def token_only(url: str, error: type[SurrealError]) -> SurrealError:
        async with AsyncSurreal(server.ws_url) as signer:
            token = (await signer.signin(creds)).access
        assert token is not None
        async with AsyncSurreal(url, timeout=10) as db:
            await db.authenticate(token)
            exc = await expires(db, error)
        # The expired token never shows in the error's text.
        assert token not in str(exc)
        assert token not in repr(exc)
        return exc

    # Over ws the client renews ahead of the session's expiry (which it learns); over http
    # ahead of the token's exp. reactive=True: with that turned off, it re-authenticates on
    # SessionExpired (ws) or a 401 (http) and retries the call once. token_only: nothing to
    # renew with, the typed expiry error reaches the caller.
    *steady_calls, ws_token, http_token = await asyncio.gather(
        with_credentials(server.ws_url), with_credentials(server.http_url),
        with_credentials(server.ws_url, reactive=True),
        with_credentials(server.http_url, reactive=True),
        token_only(server.ws_url, SessionExpiredError),
        token_only(server.http_url, TokenExpiredError))
    minimum = h.STEADY_SECONDS / h.STEADY_PAUSE / 4
    assert all(calls > minimum for calls in steady_calls), steady_calls
    assert isinstance(ws_token, SessionExpiredError)
    assert isinstance(http_token, TokenExpiredError)
    assert "SESSION duration ran out" in str(ws_token)
    assert "TOKEN duration ran out" in str(http_token)
    assert "To renew automatically" in str(ws_token)
    assert "To renew automatically" in str(http_token)


async def renewed_pairs(url: str, info: DbInfo) -> list[tuple[str | None, str | None]]:
    """Sign up through the refresh-token access method, then make steady calls for
    ``REFRESH_SECONDS`` (token 1 s, session 2 s); return each token pair the client held, in
    order. ``signup`` keeps no credentials: the client can renew only with ``refresh``."""
    async with AsyncSurreal(url, timeout=10) as db:
        first = await db.signup(h.refresh_signup(info))
        pairs = [(first.access, first.refresh)]
        end = time.monotonic() + h.REFRESH_SECONDS
        while time.monotonic() < end:
            assert await db.query("RETURN $auth.name") != []
            tokens = db._driver.engine._tracker.tokens()
            if tokens.refresh != pairs[-1][1]:
                pairs.append((tokens.access, tokens.refresh))
            await asyncio.sleep(h.STEADY_PAUSE)
    return pairs


@pytest.mark.slow
@aio
async def test_refresh_tokens_renew_and_are_single_use(surreal_db: DbInfo) -> None:
    h.define(surreal_db, h.REFRESH_ACCESS_SQL)
    server = surreal_db.server
    for pairs in await asyncio.gather(renewed_pairs(server.ws_url, surreal_db),
                                       renewed_pairs(server.http_url, surreal_db)):
        h.check_refresh_pairs(surreal_db, pairs)
