"""The events the core produces, and the record of a request that is waiting for its reply.

Events are frozen, slotted, keyword-only dataclasses with past-tense names. They all derive from
:class:`Event`, and :data:`AnyEvent` is the union of the concrete ones, so a driver can write::

    for event in conn.events():
        match event:
            case ResponseReceived(): ...
            ...
            case _:
                assert_never(event)

Driving contract: after any call that feeds input (``receive_data``, ``receive_eof``,
``receive_message``, ``handle_timeout``) or starts something (``connect``, ``send_request``,
``close``), send the output first (``data_to_send()``; ``messages_to_send()`` on the embedded
transport), then handle ``events()``. Every transport produces these same events for the same
situations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias
from uuid import UUID

from ._errors import RemoteProtocolError, ServerError, SurrealError, SurrealTimeoutError

__all__ = [
    "AnyEvent",
    "Connected",
    "ConnectionClosed",
    "ErrorReceived",
    "Event",
    "LiveNotificationReceived",
    "LiveQueryEnded",
    "PendingRequest",
    "ProtocolViolation",
    "RequestFailed",
    "RequestId",
    "RequestOutcome",
    "RequestTimedOut",
    "ResponseReceived",
]

#: A request id: the ``id`` of the envelope (``protocol.md`` §2.4). One connection uses one type.
RequestId: TypeAlias = int | str

@dataclass(frozen=True, slots=True, kw_only=True)
class PendingRequest:
    """A request that has been started and has no outcome yet (a snapshot, not live state).

    The session tracker uses these to decide, after a link loss, which calls are safe to retry
    (never sent, or unable to change data) and which must fail with ``OutcomeUnknownError``.
    """

    request_id: RequestId
    """The envelope ``id``."""
    method: str
    """The RPC method name (``protocol.md`` §4)."""
    params: Sequence[Any] = field(repr=False)
    """The positional params as sent. May hold credentials: kept out of ``repr``; never log
    or show them."""
    session: UUID | None = None
    """The ``session`` envelope field (3.x attached session), or ``None`` for the default."""
    txn: UUID | None = None
    """The ``txn`` envelope field (3.x transaction), or ``None``."""
    sent: bool = True
    """``False`` while the request waits in the queue for the handshake to finish: the server
    has certainly not seen it, so it is always safe to re-send."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Base class of every event the core produces."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Connected(Event):
    """The connection is open: the WebSocket handshake finished (requests queued while
    connecting are now sent), or ``connect()`` was called on a transport without a handshake
    (HTTP, the embedded engine)."""

    subprotocol: str
    """The negotiated subprotocol; always ``"cbor"``."""
    extensions: tuple[str, ...] = ()
    """Negotiated WebSocket extensions; always empty (we never offer permessage-deflate)."""
    headers: tuple[tuple[bytes, bytes], ...] = ()
    """The other headers of the server's ``101`` response, names lower-cased."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ResponseReceived(Event):
    """A request succeeded (``{id, result}``, ``protocol.md`` §2.5). Resolve its waiter."""

    request_id: RequestId
    """The id returned by ``send_request``."""
    method: str
    """The request's method, so drivers can shape the result without a lookup."""
    result: Any
    """The decoded ``result`` value."""
    session: UUID | None = None
    """The attached session the request ran in: its ``session`` envelope field (which 3.x
    echoes), else ``None`` for the default session."""
    params: Sequence[Any] = field(default=(), repr=False, compare=False)
    """The request's params as sent, for the session tracker (``on_success(method, params,
    session, result, now)``). May hold credentials: kept out of ``repr`` and ``==``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorReceived(Event):
    """A request failed on the server (``{id, error}``, ``protocol.md`` §2.5, §6), or with an
    answer of the same meaning: an HTTP status SurrealDB gives (401, 403, 413...), an embedded
    ``execute()`` that raised, an HTTP-local ``use``/``let`` with bad params.

    This is data, not a broken connection: raise ``error`` to the caller that waits.
    """

    request_id: RequestId
    """The id returned by ``send_request``."""
    method: str
    """The request's method."""
    error: ServerError
    """The typed error built by :func:`~surreal_proto.server_error_from_wire` (2.x and 3.x)."""
    session: UUID | None = None
    """The attached session the request ran in (see :class:`ResponseReceived`)."""
    params: Sequence[Any] = field(default=(), repr=False, compare=False)
    """The request's params as sent, for the session tracker's ``on_error``. Kept out of
    ``repr`` and ``==``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestTimedOut(Event):
    """A request's deadline passed. The core forgot it: a late reply is dropped silently.

    Fail the waiter with :attr:`error` (a :class:`~surreal_proto.SurrealTimeoutError`). A write
    may still have run on the server.
    """

    request_id: RequestId
    """The id returned by ``send_request``."""
    method: str
    """The request's method."""
    timeout: float | None = field(default=None, compare=False)
    """The timeout that ran out, in seconds (``None`` if unknown). Kept out of ``==``: events
    compare by request, as the other outcomes do."""

    @property
    def error(self) -> SurrealTimeoutError:
        """A fresh :class:`~surreal_proto.SurrealTimeoutError` to fail the waiter with, its
        message naming the method and the timeout."""
        within = "in time" if self.timeout is None else f"within {self.timeout:g} s"
        return SurrealTimeoutError(
            f"the {self.method!r} request did not complete {within}; it was abandoned (a late"
            " reply is dropped; a write may still have run on the server)")


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestFailed(Event):
    """A request will get no reply: the connection ended while it was pending, its reply was
    malformed (an unreadable HTTP body or embedded reply), or the answer did not come from
    SurrealDB (an HTTP 404 from a proxy). Fail the waiter with ``error``."""

    request_id: RequestId
    """The id returned by ``send_request``."""
    method: str
    """The request's method."""
    error: SurrealError
    """Usually :class:`~surreal_proto.ConnectionClosedError` (its ``__cause__`` says why the
    connection ended); :class:`~surreal_proto.RemoteProtocolError` for a malformed reply;
    :class:`~surreal_proto.HandshakeError` for an HTTP status that is not SurrealDB's."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveNotificationReceived(Event):
    """A live query reported a change (``protocol.md`` §8.2). Route it by ``live_id``."""

    live_id: UUID
    """The live query's UUID (``result.id`` on the wire)."""
    action: str
    """``"CREATE"``, ``"UPDATE"`` or ``"DELETE"`` (``"KILLED"`` becomes :class:`LiveQueryEnded`)."""
    record: Any
    """The id of the changed record; ``None`` on 1.x servers, which do not send it."""
    result: Any
    """The record (after the change; before it for DELETE), or JSON-Patch ops in DIFF mode."""
    session: UUID | None = None
    """The attached session the live query belongs to (3.x top-level ``session``), else
    ``None``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveQueryEnded(Event):
    """A live query will send nothing more. End its subscription."""

    live_id: UUID
    """The live query's UUID."""
    reason: str
    """Why: ``"kill"`` (our own ``kill`` succeeded), ``"killed"`` (a KILLED notification:
    ``KILL`` or ``REMOVE TABLE``, §8.2), ``"reset"`` or ``"detach"`` (its session was reset or
    detached, §8.1), ``"closed"`` (the connection ended)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ProtocolViolation(Event):
    """The server sent one message we could not use (undecodable CBOR in a valid frame, a
    non-map message, a reply with an unknown id, an id-less error, ``protocol.md`` §2.6). The
    message was skipped and the connection stays usable. Log it."""

    error: RemoteProtocolError
    """What was wrong. For an id-less error its ``__cause__`` is the server's error."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionClosed(Event):
    """The connection is over; this is the last event. Flush ``data_to_send()`` one last time,
    then close the transport. Every pending request got :class:`RequestFailed` and every live
    query :class:`LiveQueryEnded` just before this event."""

    code: int
    """The WebSocket close code: the server's if it sent a Close frame (``1005`` when it sent
    none, as SurrealDB does, §2.3), ours if we failed the connection (``1002``, ``1007``,
    ``1009``, ``1011``), ``1006`` when the stream ended without a Close frame or the handshake
    did not complete. HTTP and the embedded engine use the same codes: ``1000`` for an orderly
    end (``close()``, keep-alive ended), ``1002`` broken framing, ``1006`` lost mid-exchange,
    ``1009`` reply too large."""
    reason: str = ""
    """The close reason text, if any."""
    error: SurrealError | None = None
    """``None`` when the caller asked for the close; otherwise why the connection ended:
    :class:`~surreal_proto.HandshakeError` (refused upgrade; the message includes the server's
    plain-text body), :class:`~surreal_proto.RemoteProtocolError` (broken framing),
    :class:`~surreal_proto.ConnectionClosedError` (the server closed, the link dropped, a
    keepalive ping went unanswered, a message was too big)."""
    unanswered: tuple[PendingRequest, ...] = ()
    """The requests that were pending when the connection ended, in the order they were
    started: what the session tracker classifies for a reconnect."""


#: The four outcomes of a request, one per request (``ResponseReceived``, ``ErrorReceived``,
#: ``RequestFailed``, ``RequestTimedOut``; an abandoned request has none). Each carries
#: ``request_id`` and ``method``, and the three failures an ``error`` to raise as it is.
RequestOutcome: TypeAlias = ResponseReceived | ErrorReceived | RequestFailed | RequestTimedOut

#: The union of all concrete events, for ``match`` plus ``typing.assert_never``.
AnyEvent: TypeAlias = (
    Connected
    | ResponseReceived
    | ErrorReceived
    | RequestTimedOut
    | RequestFailed
    | LiveNotificationReceived
    | LiveQueryEnded
    | ProtocolViolation
    | ConnectionClosed
)
