"""What the client engine tells its adapter: states, actions, outcomes and notices.

:class:`~surreal_proto._client.ClientEngine` produces these through ``events()``. They are
frozen, slotted, keyword-only dataclasses, like the connection events of :mod:`._events`;
:data:`ClientEvent` is their union for ``match`` plus ``typing.assert_never``. Three groups:

* **Actions** the adapter must carry out: :class:`OpenLink`, :class:`CloseLink`,
  :class:`CancelHttpRequest`, :class:`ProviderNeeded`, :class:`PrepareNeeded`.
* **Outcomes** the adapter hands to whoever waits: :class:`CallSucceeded`,
  :class:`CallFailed`, :class:`NotificationsQueued`, :class:`SubscriptionEnded`.
* **Notices** to log or forward to a user callback: :class:`StateChanged`,
  :class:`~surreal_proto.ProtocolViolation` (reused from the connection layer),
  :class:`InsecureTransportDetected`, :class:`ReconnectScheduled`,
  :class:`AuthenticationLost`, :class:`SessionRestoreFailed`.

It also holds :class:`ClientState` and :class:`ReconnectPolicy`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Final, Literal, TypeAlias
from uuid import UUID

from ._errors import LocalProtocolError, SurrealError
from ._events import ProtocolViolation, RequestId

__all__ = [
    "AuthenticationLost",
    "CallFailed",
    "CallId",
    "CallSucceeded",
    "CancelHttpRequest",
    "ClientEvent",
    "ClientState",
    "CloseLink",
    "InsecureTransportDetected",
    "NotificationsQueued",
    "OpenLink",
    "PrepareNeeded",
    "ProviderNeeded",
    "ReconnectPolicy",
    "ReconnectScheduled",
    "SessionRestoreFailed",
    "StateChanged",
    "SubscriptionEnded",
]

#: The id ``ClientEngine.start`` returns; outcomes carry it.
CallId: TypeAlias = int


class ClientState(Enum):
    """Where a client is in its life (API.md §4 ``state``)."""

    #: Not connected: never, or the last connection failed or dropped for good. The next
    #: call (or ``connect()``) connects.
    IDLE = "IDLE"
    #: Opening the link (TCP, TLS, WebSocket handshake). Calls are queued.
    CONNECTING = "CONNECTING"
    #: The link is up; applying ``auth``, ``namespace``/``database`` and ``prepare``. Calls are
    #: queued (except the ``prepare`` callable's own).
    SETTING_UP = "SETTING_UP"
    #: Ready: calls go out as they are made.
    OPEN = "OPEN"
    #: The WebSocket dropped; waiting out the backoff, reopening and restoring the session.
    #: Calls are queued and wait within their own deadline.
    RECONNECTING = "RECONNECTING"
    #: ``close()`` was called; links finish their closing handshake.
    CLOSING = "CLOSING"
    #: Closed by ``close()``. The next call (or ``connect()``) opens a fresh connection.
    CLOSED = "CLOSED"


@dataclass(frozen=True, slots=True, kw_only=True)
class ReconnectPolicy:
    """How to reconnect a dropped WebSocket (API.md §3 ``reconnect``, §8).

    The delay before attempt ``n`` (0-based) is ``min(max_delay, initial_delay *
    multiplier ** n)`` scaled by a random factor in ``[1 - jitter, 1 + jitter]``. The random
    number comes from the engine's ``rng`` (the core reads no randomness source itself).

    Raises:
        LocalProtocolError: a negative delay, ``multiplier < 1``, ``jitter`` outside
            ``[0, 1]`` or ``attempts < 1``.
    """

    attempts: int | None = 10
    """How many reconnect attempts before giving up with ``ReconnectFailedError``;
    ``None`` = never give up (calls still fail at their own deadline)."""
    initial_delay: float = 0.1
    """Seconds before the first attempt."""
    max_delay: float = 10.0
    """Upper bound of the delay."""
    multiplier: float = 2.0
    """Growth of the delay per attempt."""
    jitter: float = 0.2
    """Relative randomisation of each delay (0 = none)."""

    def __post_init__(self) -> None:
        if self.attempts is not None and self.attempts < 1:
            raise LocalProtocolError("ReconnectPolicy.attempts must be at least 1 (or None)")
        if self.initial_delay < 0 or self.max_delay < 0:
            raise LocalProtocolError("ReconnectPolicy delays must not be negative")
        if self.multiplier < 1:
            raise LocalProtocolError("ReconnectPolicy.multiplier must be at least 1")
        if not 0 <= self.jitter <= 1:
            raise LocalProtocolError("ReconnectPolicy.jitter must be between 0 and 1")

    def delay(self, attempt: int, rng: Callable[[], float]) -> float:
        """Seconds to wait before attempt ``attempt`` (0-based); ``rng()`` is in ``[0, 1)``."""
        base = min(self.max_delay, self.initial_delay * self.multiplier ** min(attempt, 64))
        return max(0.0, base * (1.0 + self.jitter * (2.0 * rng() - 1.0)))


#: The policy ``reconnect=True`` stands for.
DEFAULT_RECONNECT: Final = ReconnectPolicy()


# --------------------------------------------------------------------------- actions


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenLink:
    """Open a link, then report it: ``link_opened(link_id, now)`` once usable (TCP, and TLS
    for ``tls``; for ``embedded``: the engine object created and connected; for ``httpx``:
    at once, nothing to open), or ``link_failed(link_id, exc, now)`` with the exception the
    attempt raised. Read from it (``receive_data``/``receive_eof``) until :class:`CloseLink`."""

    link_id: int
    """Names the link in every later call and event."""
    transport: Literal["ws", "http", "embedded", "httpx"]
    """``ws``/``http``: a TCP stream; ``embedded``: an in-process engine
    (``surrealdb_embedded``), driven with ``messages_to_send``/``receive_message``;
    ``httpx``: the caller's HTTP client (``http_client=True``), no I/O to open it, driven
    with ``http_requests_to_send``/``receive_http_response``/``receive_http_failure``."""
    host: str = ""
    """The host to connect to (IPv6 without brackets); ``""`` when embedded."""
    port: int = 0
    """The TCP port; ``0`` when embedded."""
    tls: bool = False
    """Wrap the stream in TLS (the ``ssl`` option's context, verifying by default)."""
    server_hostname: str | None = None
    """For TLS: the name to verify and send as SNI."""
    embedded_url: str | None = None
    """For ``embedded``: the URL to give the engine (``"mem://"``, ``"surrealkv://path"``)."""
    base_url: str | None = None
    """For ``httpx``: send each request to ``base_url + request.target``
    (``http(s)://host[:port][/base]``, the endpoint's ``http_base_url``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CloseLink:
    """Write the link's last ``data_to_send(link_id)``, then close it (socket, or the
    embedded engine's ``close()``). Its reader stops; nothing more is fed for it. Also sent
    for a link whose open is still under way: close it as soon as the open completes. For
    ``httpx``: issue no more requests for it and cancel those in flight (the HTTP client
    itself is the user's: leave it open)."""

    link_id: int
    """The link."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelHttpRequest:
    """The engine gave up on an ``httpx`` request in flight (its call was cancelled or timed
    out): cancel that HTTP exchange if you can. Whatever you feed for it later is dropped."""

    link_id: int
    """The link."""
    request_id: RequestId
    """The id ``http_requests_to_send`` handed it out with."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ProviderNeeded:
    """Call the ``auth`` credentials provider (outside any engine lock), then answer
    ``provide_auth(ticket, answer, now)`` with what it returned (a token or a credentials
    mapping), or ``provider_failed(ticket, exc, now)`` if it raised."""

    ticket: int
    """Quote it in the answer; a late answer to a ticket the engine forgot is ignored."""
    session: UUID | None = None
    """The session to authenticate (``None`` = the default session)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PrepareNeeded:
    """Run the ``prepare`` callable (API.md §3). Calls it makes must be started with
    ``setup=True``: they go out now, while user calls stay queued. Then answer
    ``prepare_done(ticket, now)``, or ``prepare_failed(ticket, exc, now)`` if it raised."""

    ticket: int
    """Quote it in the answer; a late answer (the link dropped meanwhile) is ignored."""


# --------------------------------------------------------------------------- outcomes


@dataclass(frozen=True, slots=True, kw_only=True)
class CallSucceeded:
    """A call finished: resolve its waiter with ``value`` (already shaped)."""

    call_id: CallId
    """What ``start()`` (or ``connect()``/``close()``) returned."""
    value: Any
    """The value the public method returns."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CallFailed:
    """A call failed: raise ``error`` in its waiter. Always an API.md §7 error (a fresh
    instance per call, safe to raise)."""

    call_id: CallId
    """What ``start()`` (or ``connect()``) returned."""
    error: SurrealError
    """The error to raise."""


@dataclass(frozen=True, slots=True, kw_only=True)
class NotificationsQueued:
    """A subscription's queue went from empty to non-empty: wake its iterator, which takes
    them with ``Subscription.take()``."""

    sub_id: int
    """The subscription (``Subscription.sub_id``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscriptionEnded:
    """A subscription will get nothing more: wake its iterator, which ends once it drained
    the queue."""

    sub_id: int
    """The subscription."""
    reason: str
    """``"kill"``, ``"killed"``, ``"reset"``, ``"detach"``, ``"closed"`` (connection closed
    or dropped for good), ``"lost"`` (it could not be restarted after a reconnect)."""


# --------------------------------------------------------------------------- notices


@dataclass(frozen=True, slots=True, kw_only=True)
class StateChanged:
    """The client moved from ``old`` to ``new`` (forward to a user callback, log at DEBUG)."""

    old: ClientState
    """The previous state."""
    new: ClientState
    """The current state."""


@dataclass(frozen=True, slots=True, kw_only=True)
class InsecureTransportDetected:
    """An unencrypted ``ws://``/``http://`` URL names a host that is not this machine:
    credentials and data cross the network in clear text. Emitted once per client; warn."""

    url: str
    """The URL, as given."""
    host: str
    """The remote host."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ReconnectScheduled:
    """The WebSocket dropped (or a reconnect attempt failed); attempt ``attempt`` opens a
    link in ``delay`` seconds. Log it."""

    attempt: int
    """1 for the first attempt after a drop."""
    delay: float
    """Seconds until it starts."""
    error: SurrealError | None
    """Why the previous link ended (``None`` if unknown)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthenticationLost:
    """After a reconnect, a session that was authenticated could not be authenticated again
    (no valid token, refresh token, credentials or provider, or all of them were refused).
    It is anonymous now: tell the user."""

    session: UUID | None
    """The session (``None`` = the default session)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionRestoreFailed:
    """A step of restoring the session after a reconnect failed (``attach``, ``use``,
    ``let``, ``prepare``, restarting a live query); the rest went on. Log it."""

    step: str
    """The step: ``"attach"``, ``"use"``, ``"let"``, ``"prepare"``, ``"restart_live"``."""
    session: UUID | None
    """The session concerned."""
    error: SurrealError
    """What went wrong."""


#: Everything ``ClientEngine.events()`` returns.
ClientEvent: TypeAlias = (
    OpenLink
    | CloseLink
    | CancelHttpRequest
    | ProviderNeeded
    | PrepareNeeded
    | CallSucceeded
    | CallFailed
    | NotificationsQueued
    | SubscriptionEnded
    | StateChanged
    | ProtocolViolation
    | InsecureTransportDetected
    | ReconnectScheduled
    | AuthenticationLost
    | SessionRestoreFailed
)
