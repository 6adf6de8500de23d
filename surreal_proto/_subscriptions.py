"""Live-query subscriptions: bounded per-subscription queues that survive reconnects.

Every live query the client learns about (``live()``, a ``LIVE SELECT`` in ``query()``, or an
id given to ``subscribe_live()``) gets one :class:`Subscription`, keyed by a stable
``sub_id``. The server's live-query UUID changes when the query is restarted after a reconnect
(``protocol.md`` §8.3); the subscription keeps every id it ever had, so ``subscribe_live`` and
``kill`` work with the id ``live()`` returned, before or after a reconnect.

**Overflow policy: drop the oldest.** A queue holds at most ``maxsize`` notifications. When a
new one arrives at a full queue, the oldest is discarded and :attr:`Subscription.dropped`
counts it, so a slow consumer never stalls the connection or the replies of other calls
(API.md §8), and it can tell that it missed changes.

**Gaps are visible.** When a live query is restarted after a reconnect, a notification with
``action == "RECONNECTED"`` (:data:`RECONNECTED`; ``record`` and ``result`` ``None``) is
queued: changes made between the drop and the restart were not delivered.
:attr:`Subscription.reconnects` counts them.

One consumer per subscription: the queue is shared, not broadcast.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Any, Final
from uuid import UUID

__all__ = ["RECONNECTED", "LiveNotification", "Subscription", "SubscriptionTable",
           "SubscriptionView"]

#: The ``action`` of the marker queued when a live query was restarted after a reconnect.
RECONNECTED: Final = "RECONNECTED"
_ENDED_MEMORY: Final = 4096


@dataclass(frozen=True, slots=True)
class LiveNotification:
    """One change reported by a live query (API.md §5 ``subscribe_live``).

    Attributes:
        query_id: the live query's id as ``live()`` returned it (stable across reconnects).
        action: ``"CREATE"``, ``"UPDATE"``, ``"DELETE"``, or :data:`RECONNECTED` (a gap).
        record: the id of the changed record (``None`` from 1.x servers and for the marker).
        result: the record after the change (before it for DELETE), or JSON-Patch operations
            in DIFF mode (``protocol.md`` §8.2).
    """

    query_id: UUID
    action: str
    record: Any
    result: Any


class Subscription:
    """The bounded queue of one live query's notifications (see the module docstring).

    The engine fills it; the adapter's iterator empties it with :meth:`take` (under the
    engine's lock) and ends once :attr:`finished`.
    """

    __slots__ = ("_queue", "dropped", "end_reason", "ended", "ids", "live_id", "maxsize",
                 "reconnects", "session", "sub_id")

    def __init__(self, sub_id: int, live_id: UUID, session: UUID | None, maxsize: int) -> None:
        #: The stable id of this subscription (events carry it).
        self.sub_id = sub_id
        #: The live query's id as first known (what ``live()`` returned).
        self.live_id = live_id
        #: The session that owns the live query (``None`` = default).
        self.session = session
        #: The queue's bound.
        self.maxsize = maxsize
        #: Every server id the live query has had, oldest first (the last is the current).
        self.ids: list[UUID] = [live_id]
        #: Notifications discarded because the queue was full.
        self.dropped = 0
        #: How many times the live query was restarted after a reconnect.
        self.reconnects = 0
        #: Whether the live query will send nothing more.
        self.ended = False
        #: Why it ended (see ``SubscriptionEnded.reason``), or ``None``.
        self.end_reason: str | None = None
        self._queue: deque[LiveNotification] = deque()

    @property
    def current_live_id(self) -> UUID:
        """The live query's id on the current connection."""
        return self.ids[-1]

    @property
    def finished(self) -> bool:
        """Ended and drained: the iterator stops."""
        return self.ended and not self._queue

    def __len__(self) -> int:
        return len(self._queue)

    def take(self, max_items: int | None = None) -> list[LiveNotification]:
        """Remove and return up to ``max_items`` queued notifications (all by default),
        oldest first."""
        queue = self._queue
        count = len(queue) if max_items is None else min(max_items, len(queue))
        return [queue.popleft() for _ in range(count)]

    def push(self, note: LiveNotification) -> bool:
        """Queue ``note``, dropping the oldest if full. Returns whether the queue was empty
        (the consumer needs waking)."""
        queue = self._queue
        was_empty = not queue
        if len(queue) >= self.maxsize:
            queue.popleft()
            self.dropped += 1
        queue.append(note)
        return was_empty

    def __repr__(self) -> str:
        return (f"Subscription(sub_id={self.sub_id}, live_id={self.live_id}, "
                f"queued={len(self._queue)}, dropped={self.dropped}, "
                f"reconnects={self.reconnects}, ended={self.ended})")


class SubscriptionView:
    """The read-only facts of a :class:`Subscription`, for an adapter's iterator class to
    inherit (it sets ``_sub``): the same properties in every adapter."""

    __slots__ = ()
    _sub: Subscription

    @property
    def live_id(self) -> UUID:
        """The live query's id as ``live()`` returned it (stable across reconnects)."""
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


class SubscriptionTable:
    """Every subscription of one client, by stable id and by each live id it had."""

    __slots__ = ("_by_id", "_by_live", "_current", "_ended", "_maxsize", "_next")

    def __init__(self, maxsize: int) -> None:
        self._maxsize = maxsize
        self._next = 0
        self._by_id: dict[int, Subscription] = {}
        self._by_live: dict[UUID, Subscription] = {}  # every id ever had
        self._current: dict[UUID, Subscription] = {}  # current server id -> subscription
        self._ended: OrderedDict[UUID, Subscription] = OrderedDict()

    def __iter__(self) -> Any:
        return iter(list(self._by_id.values()))

    def get(self, sub_id: int) -> Subscription | None:
        """The subscription with this stable id, if it is still active."""
        return self._by_id.get(sub_id)

    def find(self, live_id: UUID) -> Subscription | None:
        """The subscription that has (or had) ``live_id``, active or recently ended."""
        sub = self._by_live.get(live_id)
        return self._ended.get(live_id) if sub is None else sub

    def current(self, live_id: UUID) -> Subscription | None:
        """The active subscription whose *current* server id is ``live_id``."""
        return self._current.get(live_id)

    def create(self, live_id: UUID, session: UUID | None) -> Subscription:
        """A new subscription for ``live_id`` (the caller checked it is unknown)."""
        self._next += 1
        sub = Subscription(self._next, live_id, session, self._maxsize)
        self._by_id[sub.sub_id] = sub
        self._by_live[live_id] = sub
        self._current[live_id] = sub
        return sub

    def rekey(self, sub: Subscription, new_id: UUID) -> None:
        """The live query restarted with ``new_id`` (the caller queues the gap marker)."""
        self._current.pop(sub.current_live_id, None)
        sub.ids.append(new_id)
        sub.reconnects += 1
        self._by_live[new_id] = sub
        self._current[new_id] = sub

    def end(self, sub: Subscription, reason: str) -> None:
        """Mark an active ``sub`` ended."""
        sub.ended = True
        sub.end_reason = reason
        del self._by_id[sub.sub_id]
        for live_id in sub.ids:
            self._by_live.pop(live_id, None)
            self._current.pop(live_id, None)
            self._ended[live_id] = sub
        while len(self._ended) > _ENDED_MEMORY:
            self._ended.popitem(last=False)
