"""Notices and callbacks over the in-memory fake peer (virtual time): state changes reach
``on_state_change`` (plain or async, and a raising one only logs), protocol violations and
clear-text remote URLs are logged as warnings, and a live subscription survives a reconnect
with a visible gap."""

from __future__ import annotations

import logging

import pytest
import trio
import trio.testing

from surreal_trio import ClientState, ReconnectPolicy
from tests.trio.fake import FakeNetwork

pytestmark = pytest.mark.trio

GUARD = 1_000


async def test_state_callbacks(autojump_clock: trio.testing.MockClock,
                               caplog: pytest.LogCaptureFixture) -> None:
    seen: list[ClientState] = []

    async def async_callback(old: ClientState, new: ClientState) -> None:
        await trio.sleep(0)
        seen.append(new)

    def raising_callback(old: ClientState, new: ClientState) -> None:
        raise RuntimeError("callback bug")

    with trio.fail_after(GUARD):
        async with trio.open_nursery() as nursery:
            net = FakeNetwork(nursery)
            async with net.client(on_state_change=async_callback) as db:
                await db.ping()
            assert seen[:3] == [ClientState.CONNECTING, ClientState.SETTING_UP,
                                ClientState.OPEN]
            async with net.client(on_state_change=raising_callback) as db:
                await db.ping()  # the client goes on
            assert "on_state_change callback raised" in caplog.text
            nursery.cancel_scope.cancel()


async def test_warnings_are_logged(autojump_clock: trio.testing.MockClock,
                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="surreal_trio")
    with trio.fail_after(GUARD):
        async with trio.open_nursery() as nursery:
            net = FakeNetwork(nursery)  # no socket: the "remote" host is in memory
            async with net.client("ws://db.example.com:8000") as db:
                await net.server.send(net.server.peer.raw(b"\xff not cbor"))
                await db.ping()
            messages = [r.getMessage() for r in caplog.records if r.name == "surreal_trio"]
            assert any("not encrypted" in m for m in messages)
            assert any("skipped a message" in m for m in messages)
            nursery.cancel_scope.cancel()


async def test_live_subscription_survives_a_reconnect(
        autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(GUARD):
        async with trio.open_nursery() as nursery:
            net = FakeNetwork(nursery)
            policy = ReconnectPolicy(initial_delay=1.0, jitter=0.0)
            async with net.client(reconnect=policy) as db:
                live_id = await db.live("person")
                subscription = await db.subscribe_live(live_id)
                await net.server.send(net.server.peer.notify(live_id, "CREATE"))
                assert (await subscription.__anext__()).action == "CREATE"
                await net.server.drop()
                marker = await subscription.__anext__()
                assert marker.action == "RECONNECTED"
                assert subscription.reconnects == 1
                assert net.servers[1].methods().count("live") == 1  # restarted on the new link
                await db.kill(live_id)  # the id live() returned still works
                assert [n async for n in subscription] == []
                assert net.servers[1].methods()[-1] == "kill"
            nursery.cancel_scope.cancel()
