"""``LiveSubscription``: the async iterator ``subscribe_live`` returns.

The bounded queue is the engine's (oldest dropped when full, counted in :attr:`dropped`);
the iterator takes one notification at a time from it and waits on a ``trio.Event`` the
driver sets when notifications are queued or the subscription ends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

import trio

from surreal_proto import LiveNotification, Subscription, SurrealTimeoutError

if TYPE_CHECKING:
    from ._driver import Driver

__all__ = ["LiveSubscription"]


class LiveSubscription:
    """The notifications of one live query: ``async for note in sub``.

    It ends when the query is killed or the client (or its session) closes. A notification
    whose ``action`` is ``"RECONNECTED"`` marks a reconnect gap. One consumer per
    subscription (the queue is shared, not broadcast).
    """

    def __init__(self, driver: Driver, sub: Subscription, timeout: float | None) -> None:
        self._driver = driver
        self._sub = sub
        self._timeout = timeout

    @property
    def live_id(self) -> UUID:
        """The live query's id, as ``live()`` returned it."""
        return self._sub.live_id

    @property
    def dropped(self) -> int:
        """Notifications discarded because the queue was full."""
        return self._sub.dropped

    @property
    def reconnects(self) -> int:
        """How many times the live query was restarted after a reconnect."""
        return self._sub.reconnects

    @property
    def end_reason(self) -> str | None:
        """Why the iterator ended, or ``None`` while it is active: ``"kill"`` (``kill()``
        on this client), ``"killed"`` (by the server or another connection), ``"reset"``,
        ``"detach"`` (its session ended), ``"closed"`` (the client closed, or the connection
        dropped for good, e.g. reconnecting gave up), ``"lost"`` (the live query could not be
        restarted after a reconnect)."""
        return self._sub.end_reason

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
