"""The iterator of a live query's notifications (``subscribe_live``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from surreal_proto import LiveNotification, Subscription, SubscriptionView

if TYPE_CHECKING:
    from ._driver import Driver

__all__ = ["LiveSubscription"]


class LiveSubscription(SubscriptionView):
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


    def __iter__(self) -> LiveSubscription:
        return self

    def __next__(self) -> LiveNotification:
        note = self._driver.next_notification(self._sub, self._timeout)
        if note is None:
            raise StopIteration
        return note

    def __repr__(self) -> str:
        return f"LiveSubscription(live_id={self.live_id}, dropped={self.dropped})"
