"""The links the engine asks for: their state (:class:`Link`), opening TCP (+TLS) trio
streams and the embedded engine, and one exchange through a user's ``httpx.AsyncClient``.

Everything here is plain trio, ``surrealdb_embedded`` or ``httpx``; nothing knows the
protocol.

What the engine needs from a failure is the *real* exception (``ssl``, ``socket``...), so
:func:`root_cause` peels off the wrappers trio adds (``BrokenResourceError`` around an
``SSLError``, ``OSError`` around a group of per-address connect failures) before the
driver reports it with ``engine.link_failed`` (the engine maps it to an API.md §7 error and
keeps it as ``__cause__``).
"""

from __future__ import annotations

import functools
import ssl as _ssl
from collections.abc import Awaitable, Callable
from contextlib import aclosing
from typing import Any, Final, TypeAlias

import trio

from surreal_proto import ConnectionClosedError, EmbeddedMessage, HttpRequest, OpenLink

__all__ = ["Link", "StreamOpener", "aclose", "execute", "http_exchange", "open_embedded",
           "open_stream", "root_cause"]

#: Opens the byte stream of an ``OpenLink`` (TCP, with TLS when ``event.tls``). The driver
#: holds one; tests replace it to hand the driver an in-memory stream.
StreamOpener: TypeAlias = Callable[[OpenLink, "_ssl.SSLContext | None"],
                                   Awaitable[trio.abc.Stream]]
#: How long a graceful close of a stream (TLS ``close_notify``) may take.
_CLOSE_GRACE: Final = 1.0


class Link:
    """One link the engine asked for (``OpenLink``), and what its tasks share."""

    __slots__ = ("base_url", "broken", "closing", "db", "event", "exchanges", "link_id",
                 "messages", "open_scope", "outbox", "stream", "wake")

    def __init__(self, event: OpenLink) -> None:
        self.event = event
        self.link_id = event.link_id
        self.open_scope = trio.CancelScope()
        self.stream: trio.abc.Stream | None = None
        self.db: Any = None
        #: An ``httpx`` link: where its requests go, and a cancel scope per exchange.
        self.base_url: str | None = None
        self.exchanges: dict[Any, trio.CancelScope] = {}
        self.outbox = bytearray()
        self.messages: list[EmbeddedMessage] = []
        self.wake = trio.Event()
        #: CloseLink arrived: write what is left, then close.
        self.closing = False
        #: A read or write failed (reported once); nothing more is written.
        self.broken = False

    def ending(self) -> bool:
        """Closing or broken (read afresh after every await)."""
        return self.closing or self.broken


async def open_stream(event: OpenLink, context: _ssl.SSLContext | None) -> trio.abc.Stream:
    """Connect to ``event.host:event.port``; for TLS wrap the stream and finish the handshake
    (so certificate errors surface here, as connect errors).

    Args:
        event: the engine's ``OpenLink``.
        context: the ``ssl`` option, or ``None`` for a default context that verifies
            certificates and host names.
    """
    stream: trio.abc.Stream = await trio.open_tcp_stream(event.host, event.port)
    if not event.tls:
        return stream
    try:
        tls = trio.SSLStream(stream, context or _ssl.create_default_context(),
                             server_hostname=event.server_hostname, https_compatible=True)
        await tls.do_handshake()
    except BaseException:
        await trio.aclose_forcefully(stream)
        raise
    return tls


async def aclose(stream: trio.abc.Stream) -> None:
    """Close ``stream``: gracefully if that is quick, forcefully otherwise (also when the
    caller is cancelled: trio closes the resource either way)."""
    with trio.move_on_after(_CLOSE_GRACE):
        await stream.aclose()
        return
    await trio.aclose_forcefully(stream)


def open_embedded(url: str | None) -> Any:
    """Create the in-process engine for ``url`` (run it in a worker thread). A missing
    ``surrealdb-embedded`` raises ``ImportError``, which the engine maps to
    ``UnsupportedEngineError`` naming the ``pip install``."""
    import surrealdb_embedded

    return surrealdb_embedded.SyncEmbeddedDB(url or "mem://")


def execute(db: Any, message: EmbeddedMessage) -> tuple[bytes, Exception | None]:
    """Execute one message (run it in a worker thread): its reply, or the exception
    ``execute`` raised."""
    try:
        return db.execute(message.data), None
    except Exception as exc:
        return b"", exc


async def http_exchange(client: Any, url: str, request: HttpRequest, limit: int | None,
                        ) -> tuple[int, Any, bytes]:
    """One exchange through the user's ``httpx.AsyncClient``: ``(status, headers, body)``,
    reading at most ``limit`` bytes of body (``max_message_size``)."""
    built = client.build_request(request.method, url, headers=list(request.headers),
                                 content=request.body)
    built.stream = _body_class()(request.body)
    response = await client.send(built, stream=True)
    try:
        length = response.headers.get("content-length", "")
        if limit is not None and length.isdigit() and int(length) > limit:
            raise _too_large(limit)
        body = bytearray()
        async with aclosing(response.aiter_bytes()) as chunks:
            async for chunk in chunks:
                body += chunk
                if limit is not None and len(body) > limit:
                    raise _too_large(limit)
        return response.status_code, response.headers, bytes(body)
    finally:
        await response.aclose()


def _too_large(limit: int) -> ConnectionClosedError:
    return ConnectionClosedError(
        f"the server sent a response larger than max_message_size ({limit} bytes)",
        code=1009, reason="response too large")


@functools.cache
def _body_class() -> type[Any]:
    import httpx

    class Body(httpx.AsyncByteStream):
        """A request body that iterates without an async generator: httpx's own
        ``ByteStream`` is one, and when an exchange is cancelled mid-send trio warns that it
        was collected unfinished (httpx issue 3686)."""

        def __init__(self, data: bytes) -> None:
            self._data = data

        def __aiter__(self) -> _Once:
            return _Once(self._data)

    return Body


class _Once:
    """An async iterator yielding one bytes value."""

    def __init__(self, data: bytes) -> None:
        self._data: bytes | None = data

    def __aiter__(self) -> _Once:
        return self

    async def __anext__(self) -> bytes:
        data, self._data = self._data, None
        if data is None:
            raise StopAsyncIteration
        return data


def root_cause(exc: BaseException) -> BaseException:
    """The exception that says what went wrong, without trio's wrappers."""
    seen = 0
    while seen < 8:
        seen += 1
        cause = exc.__cause__
        if isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
            exc = exc.exceptions[0]
        elif isinstance(exc, trio.BrokenResourceError) and cause is not None:
            exc = cause
        elif (type(exc) is OSError and isinstance(cause, BaseExceptionGroup)
              and len(cause.exceptions) == 1):
            exc = cause.exceptions[0]  # trio.open_tcp_stream: "all attempts ... failed"
        else:
            break
    return exc
