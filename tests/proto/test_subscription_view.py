"""SubscriptionView: the properties every adapter's live iterator shows, read from the core's
Subscription."""

from __future__ import annotations

from uuid import UUID

from surreal_proto import Subscription, SubscriptionView

LIVE = UUID(int=7)


class View(SubscriptionView):
    __slots__ = ("_sub",)

    def __init__(self, sub: Subscription) -> None:
        self._sub = sub


def test_the_view_follows_its_subscription() -> None:
    sub = Subscription(1, LIVE, None, maxsize=2)
    view = View(sub)
    assert (view.live_id, view.dropped, view.reconnects, view.end_reason) == (LIVE, 0, 0, None)
    sub.dropped, sub.reconnects, sub.end_reason = 3, 1, "closed"
    assert (view.dropped, view.reconnects, view.end_reason) == (3, 1, "closed")
