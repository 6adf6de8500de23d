"""``LiveSubscription``: the async iterator ``subscribe_live`` returns.

The bounded queue is the engine's (oldest dropped when full, counted in :attr:`dropped`);
the iterator takes one notification at a time from it and waits on a ``trio.Event`` the
driver sets when notifications are queued or the subscription ends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import trio

from surreal_proto import LiveNotification, Subscription, SubscriptionView, SurrealTimeoutError

if TYPE_CHECKING:
    from ._driver import Driver

__all__ = ["LiveSubscription"]


class LiveSubscription(SubscriptionView):
    """The notifications of one live query: ``async for note in sub``.

    It ends when the query is killed or the client (or its session) closes. A notification
    whose ``action`` is ``"RECONNECTED"`` marks a reconnect gap. One consumer per
    subscription (the queue is shared, not broadcast).
    """

    def __init__(self, driver: Driver, sub: Subscription, timeout: float | None) -> None:
        self._driver = driver
        self._sub = sub
        self._timeout = timeout


    def __repr__(self) -> str:
        return (f"LiveSubscription(live_id={self.live_id}, dropped={self.dropped}, "
                f"reconnects={self.reconnects})")

    def __aiter__(self) -> LiveSubscription:
        return self

    async def __anext__(self) -> LiveNotification:
        """The next notification.

        Raises:
            StopAsyncIteration: the live query ended and every notification was taken.
            SurrealTimeoutError: none arrived within the ``timeout`` of ``subscribe_live``.
        """
        await trio.lowlevel.checkpoint()
        sub = self._sub
        while True:
            items = sub.take(1)
            if items:
                return items[0]
            if sub.ended:
                raise StopAsyncIteration
            event = self._driver.live_event(sub.sub_id)
            with trio.move_on_after(_seconds(self._timeout)):
                await event.wait()
                continue
            raise SurrealTimeoutError(
                f"no live notification within {self._timeout:g} s")


def _seconds(timeout: float | None) -> float:
    return float("inf") if timeout is None else timeout
