"""The events the core produces, and the record of a request that is waiting for its reply.

Events are frozen, slotted, keyword-only records with past-tense names (they behave as
``@dataclass(frozen=True, slots=True, kw_only=True)`` classes do, :mod:`._record`). They all
derive from :class:`Event`, and :data:`AnyEvent` is the union of the concrete ones, so a driver
can write::

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
from typing import Any, TypeAlias
from uuid import UUID

from ._errors import RemoteProtocolError, ServerError, SurrealError, SurrealTimeoutError
from ._record import Record, _set

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


class PendingRequest(Record):
    """A request that has been started and has no outcome yet (a snapshot, not live state).

    The session tracker uses these to decide, after a link loss, which calls are safe to retry
    (never sent, or unable to change data) and which must fail with ``OutcomeUnknownError``.
    """

    __slots__ = ("method", "params", "request_id", "sent", "session", "txn")
    _hidden = frozenset({"params"})

    request_id: RequestId
    """The envelope ``id``."""
    method: str
    """The RPC method name (``protocol.md`` §4)."""
    params: Sequence[Any]
    """The positional params as sent. May hold credentials: kept out of ``repr``; never log
    or show them."""
    session: UUID | None
    """The ``session`` envelope field (3.x attached session), or ``None`` for the default."""
    txn: UUID | None
    """The ``txn`` envelope field (3.x transaction), or ``None``."""
    sent: bool
    """``False`` while the request waits in the queue for the handshake to finish: the server
    has certainly not seen it, so it is always safe to re-send."""

    def __init__(self, *, request_id: RequestId, method: str, params: Sequence[Any],
                 session: UUID | None = None, txn: UUID | None = None,
                 sent: bool = True) -> None:
        _set(self, "request_id", request_id)
        _set(self, "method", method)
        _set(self, "params", params)
        _set(self, "session", session)
        _set(self, "txn", txn)
        _set(self, "sent", sent)


class Event(Record):
    """Base class of every event the core produces."""

    __slots__ = ()


class Connected(Event):
    """The connection is open: the WebSocket handshake finished (requests queued while
    connecting are now sent), or ``connect()`` was called on a transport without a handshake
    (HTTP, the embedded engine)."""

    __slots__ = ("extensions", "headers", "subprotocol")

    subprotocol: str
    """The negotiated subprotocol; always ``"cbor"``."""
    extensions: tuple[str, ...]
    """Negotiated WebSocket extensions; always empty (we never offer permessage-deflate)."""
    headers: tuple[tuple[bytes, bytes], ...]
    """The other headers of the server's ``101`` response, names lower-cased."""

    def __init__(self, *, subprotocol: str, extensions: tuple[str, ...] = (),
                 headers: tuple[tuple[bytes, bytes], ...] = ()) -> None:
        _set(self, "subprotocol", subprotocol)
        _set(self, "extensions", extensions)
        _set(self, "headers", headers)


class ResponseReceived(Event):
    """A request succeeded (``{id, result}``, ``protocol.md`` §2.5). Resolve its waiter."""

    __slots__ = ("method", "params", "request_id", "result", "session")
    _hidden = _uncompared = frozenset({"params"})

    request_id: RequestId
    """The id returned by ``send_request``."""
    method: str
    """The request's method, so drivers can shape the result without a lookup."""
    result: Any
    """The decoded ``result`` value."""
    session: UUID | None
    """The attached session the request ran in: its ``session`` envelope field (which 3.x
    echoes), else ``None`` for the default session."""
    params: Sequence[Any]
    """The request's params as sent, for the session tracker (``on_success(method, params,
    session, result, now)``). May hold credentials: kept out of ``repr`` and ``==``."""

    def __init__(self, *, request_id: RequestId, method: str, result: Any,
                 session: UUID | None = None, params: Sequence[Any] = ()) -> None:
        _set(self, "request_id", request_id)
        _set(self, "method", method)
        _set(self, "result", result)
        _set(self, "session", session)
        _set(self, "params", params)


class ErrorReceived(Event):
    """A request failed on the server (``{id, error}``, ``protocol.md`` §2.5, §6), or with an
    answer of the same meaning: an HTTP status SurrealDB gives (401, 403, 413...), an embedded
    ``execute()`` that raised, an HTTP-local ``use``/``let`` with bad params.

    This is data, not a broken connection: raise ``error`` to the caller that waits.
    """

    __slots__ = ("error", "method", "params", "request_id", "session")
    _hidden = _uncompared = frozenset({"params"})

    request_id: RequestId
    """The id returned by ``send_request``."""
    method: str
    """The request's method."""
    error: ServerError
    """The typed error built by :func:`~surreal_proto.server_error_from_wire` (2.x and 3.x)."""
    session: UUID | None
    """The attached session the request ran in (see :class:`ResponseReceived`)."""
    params: Sequence[Any]
    """The request's params as sent, for the session tracker's ``on_error``. Kept out of
    ``repr`` and ``==``."""

    def __init__(self, *, request_id: RequestId, method: str, error: ServerError,
                 session: UUID | None = None, params: Sequence[Any] = ()) -> None:
        _set(self, "request_id", request_id)
        _set(self, "method", method)
        _set(self, "error", error)
        _set(self, "session", session)
        _set(self, "params", params)


class RequestTimedOut(Event):
    """A request's deadline passed. The core forgot it: a late reply is dropped silently.

    Fail the waiter with :attr:`error` (a :class:`~surreal_proto.SurrealTimeoutError`). A write
    may still have run on the server.
    """

    __slots__ = ("method", "request_id", "timeout")
    _uncompared = frozenset({"timeout"})

    request_id: RequestId
    """The id returned by ``send_request``."""
    method: str
    """The request's method."""
    timeout: float | None
    """The timeout that ran out, in seconds (``None`` if unknown). Kept out of ``==``: events
    compare by request, as the other outcomes do."""

    def __init__(self, *, request_id: RequestId, method: str,
                 timeout: float | None = None) -> None:
        _set(self, "request_id", request_id)
        _set(self, "method", method)
        _set(self, "timeout", timeout)

    @property
    def error(self) -> SurrealTimeoutError:
        """A fresh :class:`~surreal_proto.SurrealTimeoutError` to fail the waiter with, its
        message naming the method and the timeout."""
        within = "in time" if self.timeout is None else f"within {self.timeout:g} s"
        return SurrealTimeoutError(
            f"the {self.method!r} request did not complete {within}; it was abandoned (a late"
            " reply is dropped; a write may still have run on the server)")


class RequestFailed(Event):
    """A request will get no reply: the connection ended while it was pending, its reply was
    malformed (an unreadable HTTP body or embedded reply), or the answer did not come from
    SurrealDB (an HTTP 404 from a proxy). Fail the waiter with ``error``."""

    __slots__ = ("error", "method", "request_id")

    request_id: RequestId
    """The id returned by ``send_request``."""
    method: str
    """The request's method."""
    error: SurrealError
    """Usually :class:`~surreal_proto.ConnectionClosedError` (its ``__cause__`` says why the
    connection ended); :class:`~surreal_proto.RemoteProtocolError` for a malformed reply;
    :class:`~surreal_proto.HandshakeError` for an HTTP status that is not SurrealDB's."""

    def __init__(self, *, request_id: RequestId, method: str, error: SurrealError) -> None:
        _set(self, "request_id", request_id)
        _set(self, "method", method)
        _set(self, "error", error)


class LiveNotificationReceived(Event):
    """A live query reported a change (``protocol.md`` §8.2). Route it by ``live_id``."""

    __slots__ = ("action", "live_id", "record", "result", "session")

    live_id: UUID
    """The live query's UUID (``result.id`` on the wire)."""
    action: str
    """``"CREATE"``, ``"UPDATE"`` or ``"DELETE"`` (``"KILLED"`` becomes :class:`LiveQueryEnded`)."""
    record: Any
    """The id of the changed record; ``None`` on 1.x servers, which do not send it."""
    result: Any
    """The record (after the change; before it for DELETE), or JSON-Patch ops in DIFF mode."""
    session: UUID | None
    """The attached session the live query belongs to (3.x top-level ``session``), else
    ``None``."""

    def __init__(self, *, live_id: UUID, action: str, record: Any, result: Any,
                 session: UUID | None = None) -> None:
        _set(self, "live_id", live_id)
        _set(self, "action", action)
        _set(self, "record", record)
        _set(self, "result", result)
        _set(self, "session", session)


class LiveQueryEnded(Event):
    """A live query will send nothing more. End its subscription."""

    __slots__ = ("live_id", "reason")

    live_id: UUID
    """The live query's UUID."""
    reason: str
    """Why: ``"kill"`` (our own ``kill`` succeeded), ``"killed"`` (a KILLED notification:
    ``KILL`` or ``REMOVE TABLE``, §8.2), ``"reset"`` or ``"detach"`` (its session was reset or
    detached, §8.1), ``"closed"`` (the connection ended)."""

    def __init__(self, *, live_id: UUID, reason: str) -> None:
        _set(self, "live_id", live_id)
        _set(self, "reason", reason)


class ProtocolViolation(Event):
    """The server sent one message we could not use (undecodable CBOR in a valid frame, a
    non-map message, a reply with an unknown id, an id-less error, ``protocol.md`` §2.6). The
    message was skipped and the connection stays usable. Log it."""

    __slots__ = ("error",)

    error: RemoteProtocolError
    """What was wrong. For an id-less error its ``__cause__`` is the server's error."""

    def __init__(self, *, error: RemoteProtocolError) -> None:
        _set(self, "error", error)


class ConnectionClosed(Event):
    """The connection is over; this is the last event. Flush ``data_to_send()`` one last time,
    then close the transport. Every pending request got :class:`RequestFailed` and every live
    query :class:`LiveQueryEnded` just before this event."""

    __slots__ = ("code", "error", "reason", "unanswered")

    code: int
    """The WebSocket close code: the server's if it sent a Close frame (``1005`` when it sent
    none, as SurrealDB does, §2.3), ours if we failed the connection (``1002``, ``1007``,
    ``1009``, ``1011``), ``1006`` when the stream ended without a Close frame or the handshake
    did not complete. HTTP and the embedded engine use the same codes: ``1000`` for an orderly
    end (``close()``, keep-alive ended), ``1002`` broken framing, ``1006`` lost mid-exchange,
    ``1009`` reply too large."""
    reason: str
    """The close reason text, if any."""
    error: SurrealError | None
    """``None`` when the caller asked for the close; otherwise why the connection ended:
    :class:`~surreal_proto.HandshakeError` (refused upgrade; the message includes the server's
    plain-text body), :class:`~surreal_proto.RemoteProtocolError` (broken framing),
    :class:`~surreal_proto.ConnectionClosedError` (the server closed, the link dropped, a
    keepalive ping went unanswered, a message was too big)."""
    unanswered: tuple[PendingRequest, ...]
    """The requests that were pending when the connection ended, in the order they were
    started: what the session tracker classifies for a reconnect."""

    def __init__(self, *, code: int, reason: str = "", error: SurrealError | None = None,
                 unanswered: tuple[PendingRequest, ...] = ()) -> None:
        _set(self, "code", code)
        _set(self, "reason", reason)
        _set(self, "error", error)
        _set(self, "unanswered", unanswered)


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
