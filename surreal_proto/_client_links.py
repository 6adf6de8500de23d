"""The links of a client engine: one transport connection object each, and what rides on it.

A *link* is one transport connection the adapter opened for the engine: a WebSocket
(:class:`~surreal_proto.WebSocketConnection`), one keep-alive HTTP/1.1 connection of a small
pool (:class:`~surreal_proto._http_connection.HttpConnection`, all sharing one
:class:`~surreal_proto._http_context.HttpContext`), the caller's own HTTP client
(:class:`~surreal_proto._http_requests.HttpRequestConnection`, ``http_client=True``: one link,
any number of requests in flight), or the in-process engine
(:class:`~surreal_proto._embedded.EmbeddedConnection`). The engine names links by an int id
in its :class:`~surreal_proto._client_events.OpenLink`/``CloseLink`` actions; this module
holds the per-link bookkeeping and the mapping of connect failures to API.md §7 errors.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Final, TypeAlias

from ._embedded import EmbeddedConnection
from ._errors import (
    SurrealConnectionError,
    SurrealError,
    SurrealTimeoutError,
    TLSError,
    UnsupportedEngineError,
)
from ._events import PendingRequest, RequestId
from ._http_connection import HttpConnection, HttpContext
from ._http_requests import HttpRequestConnection
from ._state import ConnectionState
from ._url import Endpoint
from ._ws import WebSocketConnection

if TYPE_CHECKING:
    from ._client_base import _Rec

__all__ = ["Connection", "Link", "LinkRole", "LinkSettings", "connect_error", "copy_error"]

#: Any of the transport connections.
Connection: TypeAlias = (WebSocketConnection | HttpConnection | HttpRequestConnection
                         | EmbeddedConnection)

_MAX_QUOTED: Final = 200


class LinkRole(Enum):
    """What a link is for."""

    #: The one WebSocket or embedded link that carries the client's session.
    MAIN = "main"
    #: One connection of the HTTP keep-alive pool (``http(s)://`` URLs), or the one link of
    #: the caller's HTTP client (``http_client=True``: a pool of one that is never busy).
    POOL = "pool"
    #: A short-lived HTTP link for ``import_``/``export`` on a ``ws(s)://`` URL.
    AUX = "aux"


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkSettings:
    """What the engine needs to build a connection object for a link."""

    endpoint: Endpoint
    headers: tuple[tuple[str, str], ...]
    max_message_size: int | None
    keepalive_interval: float | None
    keepalive_timeout: float
    close_timeout: float
    #: ``http(s)://`` through the caller's HTTP client (``httpx`` links) instead of sockets.
    http_client: bool = False


class Link:
    """One transport connection and the calls riding on it.

    ``conn`` is ``None`` until the adapter reported the link opened. ``requests`` maps each
    request id sent on it to the engine's call record.
    """

    __slots__ = ("aux_call", "closing", "conn", "connect_deadline", "link_id", "ready",
                 "requests", "role", "transport")

    def __init__(self, link_id: int, transport: str, role: LinkRole,
                 connect_deadline: float | None) -> None:
        self.link_id = link_id
        self.transport = transport
        self.role = role
        self.conn: Connection | None = None
        #: When the open (TCP + TLS + WebSocket handshake) must have finished.
        self.connect_deadline = connect_deadline
        #: The connection can carry requests (WebSocket: the handshake is done).
        self.ready = False
        #: The engine closed it (or is closing it); its loss is not a failure.
        self.closing = False
        self.requests: dict[RequestId, _Rec] = {}
        #: For an AUX link: the one call it exists for.
        self.aux_call: _Rec | None = None

    @property
    def idle(self) -> bool:
        """An HTTP pool link that can take a call: ready and carrying nothing (an ``httpx``
        link carries any number)."""
        # A connection can close itself while the link still looks ready: abandoning the
        # exchange in progress closes an h11 connection (it cannot cancel mid-exchange). Its
        # ConnectionClosed is handled after the next pump, so check the state here.
        return (self.ready and not self.closing
                and self.conn is not None and self.conn.state is ConnectionState.OPEN
                and (self.transport == "httpx" or not self.requests))

    def open(self, settings: LinkSettings, context: HttpContext | None, now: float) -> None:
        """Build the connection object once the adapter opened the stream, and start it."""
        endpoint = settings.endpoint
        conn: Connection
        if self.transport == "ws":
            conn = WebSocketConnection(
                endpoint.host_header, path=endpoint.rpc_path, headers=settings.headers,
                max_message_size=settings.max_message_size,
                keepalive_interval=settings.keepalive_interval,
                keepalive_timeout=settings.keepalive_timeout,
                close_timeout=settings.close_timeout)
        elif self.transport == "http":
            conn = HttpConnection(endpoint.host_header, base_path=endpoint.base_path,
                                  context=context, max_response_size=settings.max_message_size)
        elif self.transport == "httpx":
            # Targets are relative to OpenLink.base_url, which holds the base path.
            conn = HttpRequestConnection(context=context)
        else:
            conn = EmbeddedConnection()
        self.conn = conn
        conn.connect(now)

    def take_unanswered(self, snapshots: Iterable[PendingRequest],
                        ) -> list[tuple[_Rec, PendingRequest]]:
        """Pair the requests a lost link left unanswered with their call records (every
        record of the link, in the order sent; records the snapshots miss count as sent)."""
        known = {p.request_id: p for p in snapshots}
        pairs = []
        for request_id, rec in self.requests.items():
            snapshot = known.get(request_id) or PendingRequest(
                request_id=request_id, method=rec.method, params=rec.params,
                session=rec.session, txn=rec.txn)
            pairs.append((rec, snapshot))
        self.requests.clear()
        return pairs


def _names(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


def _text(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= _MAX_QUOTED else text[:_MAX_QUOTED] + "…"


def connect_error(exc: BaseException, endpoint: Endpoint, *, transport: str) -> SurrealError:
    """Map an exception from opening a link to an API.md §7 error, ``exc`` as ``__cause__``.

    TLS verification and handshake failures → :class:`~surreal_proto.TLSError`; a refused
    connection, an unknown host or another ``OSError`` →
    :class:`~surreal_proto.SurrealConnectionError`; a timeout →
    :class:`~surreal_proto.SurrealTimeoutError`; a missing ``surrealdb-embedded`` →
    :class:`~surreal_proto.UnsupportedEngineError` naming the ``pip install``. A
    :class:`~surreal_proto.SurrealError` is returned unchanged. (The core cannot import
    ``ssl`` or ``socket``, so their classes are recognised by name.)
    """
    if isinstance(exc, SurrealError):
        return exc
    names = _names(exc)
    where = endpoint.authority if transport != "embedded" else endpoint.url
    error: SurrealError
    if transport == "embedded" and isinstance(exc, ImportError):
        error = UnsupportedEngineError(
            f"{endpoint.scheme}:// needs the embedded engine: pip install 'surreal-py[embedded]'")
    elif names & {"SSLCertVerificationError", "CertificateError"}:
        error = TLSError(f"TLS certificate verification failed for {where}: {_text(exc)}")
    elif "SSLError" in names:
        error = TLSError(f"the TLS handshake with {where} failed: {_text(exc)}")
    elif isinstance(exc, ConnectionRefusedError):
        error = SurrealConnectionError(f"the connection to {where} was refused")
    elif "gaierror" in names:
        error = SurrealConnectionError(f"could not resolve {endpoint.host!r}: {_text(exc)}")
    elif isinstance(exc, TimeoutError):
        error = SurrealTimeoutError(f"connecting to {where} timed out")
    else:
        error = SurrealConnectionError(
            f"could not connect to {where}: {type(exc).__name__}: {_text(exc)}")
    error.__cause__ = exc
    return error


def copy_error(error: SurrealError) -> SurrealError:
    """A fresh instance of ``error`` (same class, message, attributes and ``__cause__``), so
    each waiter raises its own exception object (one instance raised in several tasks or
    threads would share and corrupt its traceback)."""
    fresh: SurrealError = copy.copy(error)
    fresh.__cause__ = error.__cause__
    fresh.__traceback__ = None
    return fresh
