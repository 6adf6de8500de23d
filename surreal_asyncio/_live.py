"""``LiveSubscription``: the async iterator ``subscribe_live()`` returns."""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from typing import Any
from uuid import UUID

from surreal_proto import LiveNotification, SubscriptionView, SurrealTimeoutError

from ._driver import Driver, now

__all__ = ["LiveSubscription"]


class LiveSubscription(SubscriptionView):
    """The notifications of one live query, as an async iterator (API.md §5).

    ``async for note in db.subscribe_live(live_id)`` yields
    :class:`~surreal_proto.LiveNotification` objects (``query_id``, ``action``, ``record``,
    ``result``) and ends when the query is killed or the client (or session) closes. The
    queue is bounded (``live_queue_size``); when it is full the oldest notification is
    dropped and :attr:`dropped` counts it, so a slow consumer never stalls other calls. After
    a reconnect the query is restarted and a notification with ``action == "RECONNECTED"``
    marks the gap. One consumer per subscription: iterating it from two tasks shares the
    notifications between them.

    ``await db.subscribe_live(live_id)`` also works (it returns the same iterator), as in the
    official SDK.
    """

    __slots__ = ("_driver", "_sub", "_timeout")

    def __init__(self, driver: Driver, live_id: UUID | str, timeout: float | None) -> None:
        driver.enter()
        self._driver = driver
        self._sub = driver.engine.subscribe_live(live_id, now=now())
        driver.flush()
        self._timeout = timeout


    def __aiter__(self) -> LiveSubscription:
        return self

    async def __anext__(self) -> LiveNotification:
        """The next notification, waiting for it (at most ``timeout`` seconds if
        ``subscribe_live`` was given one).

        Raises:
            StopAsyncIteration: the live query was killed, or the connection closed (or
                dropped for good), and every queued notification was taken.
            SurrealTimeoutError: ``timeout`` passed with no notification (the iterator stays
                usable).
        """
        driver = self._driver
        driver.enter()
        sub = self._sub
        deadline = None if self._timeout is None else now() + self._timeout
        while True:
            taken = sub.take(1)
            if taken:
                return taken[0]
            if sub.ended:
                raise StopAsyncIteration
            if deadline is None:
                await driver.wait_subscription(sub.sub_id)
                continue
            try:
                async with asyncio.timeout(max(0.0, deadline - now())):
                    await driver.wait_subscription(sub.sub_id)
            except TimeoutError:
                raise SurrealTimeoutError(
                    f"no live notification within {self._timeout:g} s") from None

    def __await__(self) -> Generator[Any, None, LiveSubscription]:
        # ``await db.subscribe_live(id)`` (the official SDK's spelling) gives the iterator.
        yield from ()
        return self

    def __repr__(self) -> str:
        return f"LiveSubscription(live_id={self.live_id}, {self._sub!r})"
