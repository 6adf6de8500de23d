"""What the client engine tells its adapter: states, actions, outcomes and notices.

:class:`~surreal_proto._client.ClientEngine` produces these through ``events()``. They are
frozen, slotted, keyword-only records, like the connection events of :mod:`._events`;
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
from enum import Enum
from typing import Any, Final, Literal, TypeAlias
from uuid import UUID

from ._errors import LocalProtocolError, SurrealError
from ._events import ProtocolViolation, RequestId
from ._record import Record, _set

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


class ReconnectPolicy(Record):
    """How to reconnect a dropped WebSocket (API.md §3 ``reconnect``, §8).

    The delay before attempt ``n`` (0-based) is ``min(max_delay, initial_delay *
    multiplier ** n)`` scaled by a random factor in ``[1 - jitter, 1 + jitter]``. The random
    number comes from the engine's ``rng`` (the core reads no randomness source itself).

    Raises:
        LocalProtocolError: a negative delay, ``multiplier < 1``, ``jitter`` outside
            ``[0, 1]`` or ``attempts < 1``.
    """

    __slots__ = ("attempts", "initial_delay", "jitter", "max_delay", "multiplier")

    attempts: int | None
    """How many reconnect attempts before giving up with ``ReconnectFailedError``;
    ``None`` = never give up (calls still fail at their own deadline)."""
    initial_delay: float
    """Seconds before the first attempt."""
    max_delay: float
    """Upper bound of the delay."""
    multiplier: float
    """Growth of the delay per attempt."""
    jitter: float
    """Relative randomisation of each delay (0 = none)."""

    def __init__(self, *, attempts: int | None = 10, initial_delay: float = 0.1,
                 max_delay: float = 10.0, multiplier: float = 2.0, jitter: float = 0.2) -> None:
        if attempts is not None and attempts < 1:
            raise LocalProtocolError("ReconnectPolicy.attempts must be at least 1 (or None)")
        if initial_delay < 0 or max_delay < 0:
            raise LocalProtocolError("ReconnectPolicy delays must not be negative")
        if multiplier < 1:
            raise LocalProtocolError("ReconnectPolicy.multiplier must be at least 1")
        if not 0 <= jitter <= 1:
            raise LocalProtocolError("ReconnectPolicy.jitter must be between 0 and 1")
        _set(self, "attempts", attempts)
        _set(self, "initial_delay", initial_delay)
        _set(self, "max_delay", max_delay)
        _set(self, "multiplier", multiplier)
        _set(self, "jitter", jitter)

    def delay(self, attempt: int, rng: Callable[[], float]) -> float:
        """Seconds to wait before attempt ``attempt`` (0-based); ``rng()`` is in ``[0, 1)``."""
        base = min(self.max_delay, self.initial_delay * self.multiplier ** min(attempt, 64))
        return max(0.0, base * (1.0 + self.jitter * (2.0 * rng() - 1.0)))


#: The policy ``reconnect=True`` stands for.
DEFAULT_RECONNECT: Final = ReconnectPolicy()


# --------------------------------------------------------------------------- actions


class OpenLink(Record):
    """Open a link, then report it: ``link_opened(link_id, now)`` once usable (TCP, and TLS
    for ``tls``; for ``embedded``: the engine object created and connected; for ``httpx``:
    at once, nothing to open), or ``link_failed(link_id, exc, now)`` with the exception the
    attempt raised. Read from it (``receive_data``/``receive_eof``) until :class:`CloseLink`."""

    __slots__ = (
        "base_url",
        "embedded_url",
        "host",
        "link_id",
        "port",
        "server_hostname",
        "tls",
        "transport",
    )

    link_id: int
    """Names the link in every later call and event."""
    transport: Literal["ws", "http", "embedded", "httpx"]
    """``ws``/``http``: a TCP stream; ``embedded``: an in-process engine
    (``surrealdb_embedded``), driven with ``messages_to_send``/``receive_message``;
    ``httpx``: the caller's HTTP client (``http_client=True``), no I/O to open it, driven
    with ``http_requests_to_send``/``receive_http_response``/``receive_http_failure``."""
    host: str
    """The host to connect to (IPv6 without brackets); ``""`` when embedded."""
    port: int
    """The TCP port; ``0`` when embedded."""
    tls: bool
    """Wrap the stream in TLS (the ``ssl`` option's context, verifying by default)."""
    server_hostname: str | None
    """For TLS: the name to verify and send as SNI."""
    embedded_url: str | None
    """For ``embedded``: the URL to give the engine (``"mem://"``, ``"surrealkv://path"``)."""
    base_url: str | None
    """For ``httpx``: send each request to ``base_url + request.target``
    (``http(s)://host[:port][/base]``, the endpoint's ``http_base_url``)."""

    def __init__(self, *, link_id: int, transport: Literal["ws", "http", "embedded", "httpx"],
                 host: str = "", port: int = 0, tls: bool = False,
                 server_hostname: str | None = None, embedded_url: str | None = None,
                 base_url: str | None = None) -> None:
        _set(self, "link_id", link_id)
        _set(self, "transport", transport)
        _set(self, "host", host)
        _set(self, "port", port)
        _set(self, "tls", tls)
        _set(self, "server_hostname", server_hostname)
        _set(self, "embedded_url", embedded_url)
        _set(self, "base_url", base_url)


class CloseLink(Record):
    """Write the link's last ``data_to_send(link_id)``, then close it (socket, or the
    embedded engine's ``close()``). Its reader stops; nothing more is fed for it. Also sent
    for a link whose open is still under way: close it as soon as the open completes. For
    ``httpx``: issue no more requests for it and cancel those in flight (the HTTP client
    itself is the user's: leave it open)."""

    __slots__ = ("link_id",)

    link_id: int
    """The link."""

    def __init__(self, *, link_id: int) -> None:
        _set(self, "link_id", link_id)


class CancelHttpRequest(Record):
    """The engine gave up on an ``httpx`` request in flight (its call was cancelled or timed
    out): cancel that HTTP exchange if you can. Whatever you feed for it later is dropped."""

    __slots__ = ("link_id", "request_id")

    link_id: int
    """The link."""
    request_id: RequestId
    """The id ``http_requests_to_send`` handed it out with."""

    def __init__(self, *, link_id: int, request_id: RequestId) -> None:
        _set(self, "link_id", link_id)
        _set(self, "request_id", request_id)


class ProviderNeeded(Record):
    """Call the ``auth`` credentials provider (outside any engine lock), then answer
    ``provide_auth(ticket, answer, now)`` with what it returned (a token or a credentials
    mapping), or ``provider_failed(ticket, exc, now)`` if it raised."""

    __slots__ = ("session", "ticket")

    ticket: int
    """Quote it in the answer; a late answer to a ticket the engine forgot is ignored."""
    session: UUID | None
    """The session to authenticate (``None`` = the default session)."""

    def __init__(self, *, ticket: int, session: UUID | None = None) -> None:
        _set(self, "ticket", ticket)
        _set(self, "session", session)


class PrepareNeeded(Record):
    """Run the ``prepare`` callable (API.md §3). Calls it makes must be started with
    ``setup=True``: they go out now, while user calls stay queued. Then answer
    ``prepare_done(ticket, now)``, or ``prepare_failed(ticket, exc, now)`` if it raised."""

    __slots__ = ("ticket",)

    ticket: int
    """Quote it in the answer; a late answer (the link dropped meanwhile) is ignored."""

    def __init__(self, *, ticket: int) -> None:
        _set(self, "ticket", ticket)


# --------------------------------------------------------------------------- outcomes


class CallSucceeded(Record):
    """A call finished: resolve its waiter with ``value`` (already shaped)."""

    __slots__ = ("call_id", "value")

    call_id: CallId
    """What ``start()`` (or ``connect()``/``close()``) returned."""
    value: Any
    """The value the public method returns."""

    def __init__(self, *, call_id: CallId, value: Any) -> None:
        _set(self, "call_id", call_id)
        _set(self, "value", value)


class CallFailed(Record):
    """A call failed: raise ``error`` in its waiter. Always an API.md §7 error (a fresh
    instance per call, safe to raise)."""

    __slots__ = ("call_id", "error")

    call_id: CallId
    """What ``start()`` (or ``connect()``) returned."""
    error: SurrealError
    """The error to raise."""

    def __init__(self, *, call_id: CallId, error: SurrealError) -> None:
        _set(self, "call_id", call_id)
        _set(self, "error", error)


class NotificationsQueued(Record):
    """A subscription's queue went from empty to non-empty: wake its iterator, which takes
    them with ``Subscription.take()``."""

    __slots__ = ("sub_id",)

    sub_id: int
    """The subscription (``Subscription.sub_id``)."""

    def __init__(self, *, sub_id: int) -> None:
        _set(self, "sub_id", sub_id)


class SubscriptionEnded(Record):
    """A subscription will get nothing more: wake its iterator, which ends once it drained
    the queue."""

    __slots__ = ("reason", "sub_id")

    sub_id: int
    """The subscription."""
    reason: str
    """``"kill"``, ``"killed"``, ``"reset"``, ``"detach"``, ``"closed"`` (connection closed
    or dropped for good), ``"lost"`` (it could not be restarted after a reconnect)."""

    def __init__(self, *, sub_id: int, reason: str) -> None:
        _set(self, "sub_id", sub_id)
        _set(self, "reason", reason)


# --------------------------------------------------------------------------- notices


class StateChanged(Record):
    """The client moved from ``old`` to ``new`` (forward to a user callback, log at DEBUG)."""

    __slots__ = ("new", "old")

    old: ClientState
    """The previous state."""
    new: ClientState
    """The current state."""

    def __init__(self, *, old: ClientState, new: ClientState) -> None:
        _set(self, "old", old)
        _set(self, "new", new)


class InsecureTransportDetected(Record):
    """An unencrypted ``ws://``/``http://`` URL names a host that is not this machine:
    credentials and data cross the network in clear text. Emitted once per client; warn."""

    __slots__ = ("host", "url")

    url: str
    """The URL, as given."""
    host: str
    """The remote host."""

    def __init__(self, *, url: str, host: str) -> None:
        _set(self, "url", url)
        _set(self, "host", host)


class ReconnectScheduled(Record):
    """The WebSocket dropped (or a reconnect attempt failed); attempt ``attempt`` opens a
    link in ``delay`` seconds. Log it."""

    __slots__ = ("attempt", "delay", "error")

    attempt: int
    """1 for the first attempt after a drop."""
    delay: float
    """Seconds until it starts."""
    error: SurrealError | None
    """Why the previous link ended (``None`` if unknown)."""

    def __init__(self, *, attempt: int, delay: float, error: SurrealError | None) -> None:
        _set(self, "attempt", attempt)
        _set(self, "delay", delay)
        _set(self, "error", error)


class AuthenticationLost(Record):
    """After a reconnect, a session that was authenticated could not be authenticated again
    (no valid token, refresh token, credentials or provider, or all of them were refused).
    It is anonymous now: tell the user."""

    __slots__ = ("session",)

    session: UUID | None
    """The session (``None`` = the default session)."""

    def __init__(self, *, session: UUID | None) -> None:
        _set(self, "session", session)


class SessionRestoreFailed(Record):
    """A step of restoring the session after a reconnect failed (``attach``, ``use``,
    ``let``, ``prepare``, restarting a live query); the rest went on. Log it."""

    __slots__ = ("error", "session", "step")

    step: str
    """The step: ``"attach"``, ``"use"``, ``"let"``, ``"prepare"``, ``"restart_live"``."""
    session: UUID | None
    """The session concerned."""
    error: SurrealError
    """What went wrong."""

    def __init__(self, *, step: str, session: UUID | None, error: SurrealError) -> None:
        _set(self, "step", step)
        _set(self, "session", session)
        _set(self, "error", error)



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
