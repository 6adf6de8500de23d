"""The iterator of a live query's notifications (``subscribe_live``)."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from surreal_proto import LiveNotification, Subscription

if TYPE_CHECKING:
    from ._driver import Driver

__all__ = ["LiveSubscription"]


class LiveSubscription:
    """Iterate over the notifications of one live query, oldest first.

    Iteration ends when the query is killed (``kill``) or the client (or its session)
    closes. Notifications wait in a bounded queue (``live_queue_size``); when it is full the
    oldest is dropped and :attr:`dropped` counts it. After a reconnect the query is
    restarted and a notification with ``action == "RECONNECTED"`` marks the gap.

    Raises:
        SurrealTimeoutError: from ``next()``, when no notification arrived within the
            ``timeout`` given to ``subscribe_live``; the iterator stays usable.
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

    def __iter__(self) -> LiveSubscription:
        return self

    def __next__(self) -> LiveNotification:
        note = self._driver.next_notification(self._sub, self._timeout)
        if note is None:
            raise StopIteration
        return note

    def __repr__(self) -> str:
        return f"LiveSubscription(live_id={self.live_id}, dropped={self.dropped})"
