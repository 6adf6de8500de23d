"""Timing behaviour of the trio adapter, in virtual time: call deadlines, keepalive, connect
timeouts, reconnect backoff, cancellation and drops, over in-memory streams to a fake peer
(``tests/trio/fake.py``) with ``MockClock(autojump_threshold=0)``. No sockets, no real
sleeps."""

from __future__ import annotations

import pytest
import trio
import trio.testing
from wsproto.events import Ping

from surreal_proto import calls
from surreal_trio import (
    AsyncSurreal,
    ClientState,
    ConnectionClosedError,
    OutcomeUnknownError,
    ReconnectPolicy,
    SurrealConnectionError,
    SurrealTimeoutError,
)
from tests.trio.fake import FakeNetwork

pytestmark = pytest.mark.trio

#: Guard of every test, in virtual seconds.
GUARD = 1_000


def state(db: AsyncSurreal) -> ClientState:
    return db.state  # read through a call: no type narrowing across awaits


async def test_call_deadline_then_connection_still_usable(
        autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(GUARD):
        async with trio.open_nursery() as nursery:
            net = FakeNetwork(nursery, hold={"select"})
            async with net.client(timeout=5.0) as db:
                start = trio.current_time()
                with pytest.raises(SurrealTimeoutError, match=r"select\(\) did not complete"):
                    await db.select("person")
                assert trio.current_time() - start == pytest.approx(5.0)
                net.hold.clear()
                await db.ping()
                late = net.server.held[0]
                await net.server.reply(late, [])  # a late reply is dropped
                await db.ping()
                assert db._driver._waiters == {}
            nursery.cancel_scope.cancel()


async def test_keepalive_ping_after_silence(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(GUARD):
        async with trio.open_nursery() as nursery:
            net = FakeNetwork(nursery)
            async with net.client(keepalive_interval=30.0, keepalive_timeout=20.0) as db:
                await trio.sleep(29)
                assert not any(isinstance(e, Ping) for e in net.server.peer.control)
                await trio.sleep(2)
                assert any(isinstance(e, Ping) for e in net.server.peer.control)
                await trio.sleep(100)  # the peer answers every ping: the link stays up
                assert state(db) is ClientState.OPEN
                assert len(net.servers) == 1
            nursery.cancel_scope.cancel()


async def test_keepalive_timeout_fails_calls_without_reconnect(
        autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(GUARD):
        async with trio.open_nursery() as nursery:
            net = FakeNetwork(nursery, hold={"select"})
            db = net.client(keepalive_interval=30.0, keepalive_timeout=20.0, reconnect=False,
                            timeout=None)
            await db.connect()
            net.server.stalled = True
            start = trio.current_time()
            with pytest.raises(ConnectionClosedError):
                await db.select("person")
            assert trio.current_time() - start == pytest.approx(50.0)
            assert state(db) is ClientState.IDLE
            await db.close()
            nursery.cancel_scope.cancel()


async def test_connect_timeout(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(GUARD):
        async with trio.open_nursery() as nursery:
            net = FakeNetwork(nursery, hang=True)
            db = net.client(connect_timeout=7.0)
            start = trio.current_time()
            with pytest.raises(SurrealTimeoutError):
                await db.connect()
            assert trio.current_time() - start == pytest.approx(7.0)
            assert state(db) is ClientState.IDLE
            await db.close()
            nursery.cancel_scope.cancel()


async def test_refused_connection_is_a_connection_error(
        autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(GUARD):
        async with trio.open_nursery() as nursery:
            net = FakeNetwork(nursery, refuse=True)
            with pytest.raises(SurrealConnectionError, match="refused") as info:
                async with net.client():
                    pass  # pragma: no cover
            assert isinstance(info.value.__cause__, ConnectionRefusedError)
            nursery.cancel_scope.cancel()


async def test_cancelled_call_is_abandoned(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(GUARD):
        async with trio.open_nursery() as nursery:
            net = FakeNetwork(nursery, hold={"query"})
            async with net.client() as db:
                with trio.move_on_after(1) as scope:
                    await db.query("SLEEP 10s")
                assert scope.cancelled_caught
                assert db._driver._waiters == {}
                request = net.server.held[0]
                await net.server.reply(request, [])  # late: dropped
                net.hold.clear()
                assert await db.query("RETURN 1") == [None]
            nursery.cancel_scope.cancel()


async def test_dropped_link_without_reconnect(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(GUARD):
        async with trio.open_nursery() as nursery:
            net = FakeNetwork(nursery, hold={"select", "create"})
            async with net.client(reconnect=False) as db:
                async with trio.open_nursery() as calls_nursery:
                    outcomes: list[BaseException] = []

                    async def call(method: str) -> None:
                        try:
                            await getattr(db, method)("person")
                        except Exception as exc:
                            outcomes.append(exc)

                    calls_nursery.start_soon(call, "select")
                    calls_nursery.start_soon(call, "create")
                    await net.server.wait_for("select")
                    await net.server.wait_for("create")
                    await net.server.drop()
                assert sorted(type(e).__name__ for e in outcomes) == [
                    "ConnectionClosedError", "ConnectionClosedError"]
                assert state(db) is ClientState.IDLE
                net.hold.clear()
                assert await db.select("person") is None  # connects afresh
                assert len(net.servers) == 2
            nursery.cancel_scope.cancel()


async def test_reconnect_backoff_resends_reads_only(
        autojump_clock: trio.testing.MockClock) -> None:
    policy = ReconnectPolicy(initial_delay=2.0, jitter=0.0)
    with trio.fail_after(GUARD):
        async with trio.open_nursery() as nursery:
            net = FakeNetwork(nursery, hold={"select", "create"})
            async with net.client(reconnect=policy) as db:
                results: dict[str, object] = {}

                async def call(method: str) -> None:
                    try:
                        results[method] = await getattr(db, method)("person")
                    except Exception as exc:
                        results[method] = exc

                async with trio.open_nursery() as calls_nursery:
                    calls_nursery.start_soon(call, "select")
                    calls_nursery.start_soon(call, "create")
                    await net.server.wait_for("select")
                    await net.server.wait_for("create")
                    net.hold.discard("select")
                    dropped_at = trio.current_time()
                    await net.server.drop()
                    await net.wait_for_server(2)
                    assert trio.current_time() - dropped_at == pytest.approx(2.0)
                assert results["select"] is None  # re-sent on the new link
                assert isinstance(results["create"], OutcomeUnknownError)  # never re-sent
                assert state(db) is ClientState.OPEN
                assert net.servers[1].methods().count("select") == 1
            nursery.cancel_scope.cancel()


async def test_close_with_call_in_flight(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(GUARD):
        async with trio.open_nursery() as nursery:
            net = FakeNetwork(nursery, hold={"select"})
            db = net.client()
            await db.connect()
            errors: list[BaseException] = []

            async def select() -> None:
                try:
                    await db.select("person")
                except ConnectionClosedError as exc:
                    errors.append(exc)

            async with trio.open_nursery() as calls_nursery:
                calls_nursery.start_soon(select)
                await net.server.wait_for("select")
                await db.close()
            assert len(errors) == 1
            assert state(db) is ClientState.CLOSED
            assert db._driver._service is None
            assert db._driver._links == {}
            await db.close()  # idempotent
            nursery.cancel_scope.cancel()


async def test_setup_calls_of_prepare_go_first(autojump_clock: trio.testing.MockClock) -> None:
    seen: list[str] = []

    async def prepare(db: AsyncSurreal) -> None:
        await trio.sleep(3)  # queued user calls wait for it
        await db.let("ready", True)
        seen.append("prepared")

    with trio.fail_after(GUARD):
        async with trio.open_nursery() as nursery:
            net = FakeNetwork(nursery)
            async with net.client(prepare=prepare, namespace="ns", database="db") as db:
                await db.ping()
                assert seen == ["prepared"]
                methods = net.server.methods()
                assert methods.index("use") < methods.index("let") < methods.index("ping")
                await db._driver.call(calls.ping())
            nursery.cancel_scope.cancel()


async def test_credentials_provider_async(autojump_clock: trio.testing.MockClock) -> None:
    asked: list[int] = []

    async def provider() -> dict[str, str]:
        await trio.sleep(1)
        asked.append(1)
        return {"username": "root", "password": "secret"}

    with trio.fail_after(GUARD):
        async with trio.open_nursery() as nursery:
            net = FakeNetwork(nursery)
            async with net.client(auth=provider) as db:
                await db.ping()
                assert asked == [1]
                assert net.server.methods()[:3].count("signin") == 1
            nursery.cancel_scope.cancel()
