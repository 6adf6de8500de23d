"""Links: the asyncio streams and embedded engines the driver opens for the client engine.

A *link* is what an ``OpenLink`` event asks for: a TCP stream (TLS for ``wss``/``https``) or
an in-process engine from the optional ``surrealdb-embedded`` package. This module opens them
and keeps the per-link state the driver needs; it knows nothing of the protocol. Failures are
not wrapped here: the driver reports them with ``engine.link_failed(link_id, exc)``, and the
engine maps them to API.md §7 errors (``TLSError``, ``SurrealConnectionError``,
``UnsupportedEngineError`` naming the ``pip install``), with the original as ``__cause__``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Callable
from typing import Any, Final, TypeAlias, cast

from surreal_proto import ConnectionClosedError, HttpRequest, OpenLink

__all__ = ["EmbeddedLink", "HttpxLink", "Reply", "StreamLink", "exchange", "open_embedded",
           "open_stream"]

#: How long closing a stream (TLS shutdown included) may take before it is aborted.
CLOSE_WAIT: Final = 5.0
#: How long the exchanges of a closed httpx link may run on before they are cancelled.
HTTPX_GRACE: Final = 0.2
#: Seconds ``close()`` leaves the in-process engine's runtime after freeing the engine.
_ENGINE_SETTLE: Final = 0.05

#: An execution's outcome: its request id and the engine's completed future.
Reply: TypeAlias = tuple[Any, asyncio.Future[bytes]]


class StreamLink(asyncio.Protocol):
    """One TCP (or TLS) stream, as the protocol of its asyncio transport.

    The transport's callbacks go straight to the driver, with no reader task between: each
    chunk the transport reads (at most 256 KiB a read with asyncio's own loop) is handed to
    ``received(link, data)`` as it arrives, and the engine takes it at once (it bounds a
    message by ``max_message_size`` itself, so nothing piles up here); ``opened(link)`` runs
    once the stream is up (TLS handshake done) and ``ended(link, exc)`` once, at the end of
    the stream (``exc`` is None for an end of file). Nothing is handed on after ``close``
    (``CloseLink``) or ``stop``. The link task awaits :meth:`finished`, then :meth:`aclose`."""

    __slots__ = ("_ended", "_lost", "closing", "ended", "link_id", "opened", "received",
                 "task", "transport")

    def __init__(self, link_id: int, opened: Callable[[StreamLink], None],
                 received: Callable[[StreamLink, bytes], None],
                 ended: Callable[[StreamLink, BaseException | None], None]) -> None:
        self.link_id = link_id
        self.opened = opened
        self.received = received
        self.ended = ended
        self.transport: asyncio.Transport | None = None
        self.task: asyncio.Task[None] | None = None
        #: The engine sent ``CloseLink``, or the link stopped: feed it nothing more.
        self.closing = False
        loop = asyncio.get_running_loop()
        #: Done when the link task should close the stream; when the socket is closed.
        self._ended: asyncio.Future[None] = loop.create_future()
        self._lost: asyncio.Future[None] = loop.create_future()

    # -- the transport's callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport = cast(asyncio.Transport, transport)  # (uvloop's: no subclass)
        if self.closing:
            transport.close()
        else:
            self.opened(self)

    def data_received(self, data: bytes) -> None:
        if not self.closing:
            self.received(self, data)

    def eof_received(self) -> bool:
        self._end(None)
        return False  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        self._end(exc)
        if not self._lost.done():
            self._lost.set_result(None)

    def _end(self, exc: BaseException | None) -> None:
        if not self.closing:
            self.stop()
            self.ended(self, exc)

    # -- the driver's side

    def stop(self) -> None:
        """Hand nothing more on; let the link task close the stream."""
        self.closing = True
        if not self._ended.done():
            self._ended.set_result(None)

    def write(self, data: bytes) -> None:
        """Queue ``data`` on the stream (never blocks; asyncio buffers it)."""
        if data and self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def close(self, final: bytes) -> None:
        """Write the last bytes and close (``CloseLink``); cancel an open still under way."""
        self.write(final)
        self.stop()
        if self.transport is not None:
            self.transport.close()
        elif self.task is not None:
            self.task.cancel()

    async def finished(self) -> None:
        """Wait until the stream has ended, or the link was closed or stopped."""
        await self._ended

    async def aclose(self) -> None:
        """Close the stream and wait until its socket is closed (at most :data:`CLOSE_WAIT`
        seconds, then abort it)."""
        transport = self.transport
        if transport is None:
            return
        transport.close()
        try:
            async with asyncio.timeout(CLOSE_WAIT):
                await asyncio.shield(self._lost)
        except asyncio.CancelledError:
            transport.abort()
            raise
        except Exception:
            transport.abort()


class EmbeddedLink:
    """One in-process engine (``surrealdb_embedded.AsyncEmbeddedDB``) and its executions.

    Each ``execute`` returns a future the engine completes from its own runtime; its
    done-callback gathers the reply, and ``done(link, replies)`` (the driver's) gets them:
    at once when no other execution is under way, else the replies of one loop iteration
    together (one ``call_soon``), so many replies cost one flush. No task per call."""

    __slots__ = ("closed", "closing", "db", "done", "executing", "gathering", "link_id",
                 "replies", "task")

    def __init__(self, link_id: int,
                 done: Callable[[EmbeddedLink, list[Reply]], None]) -> None:
        self.link_id = link_id
        self.db: Any = None
        self.task: asyncio.Task[None] | None = None
        self.closing = False
        #: Set by ``CloseLink``: the link task then closes the engine.
        self.closed = asyncio.Event()
        #: The ``execute`` futures under way, and the request id of each.
        self.executing: dict[asyncio.Future[bytes], Any] = {}
        #: Replies not yet handed to ``done``, and whether a hand-over is scheduled.
        self.replies: list[Reply] = []
        self.gathering = False
        self.done = done

    def execute(self, request_id: Any, data: bytes) -> None:
        """Start one execution (never raises: an error of the engine comes back as the
        future's exception)."""
        try:
            future = self.db.execute(data)
        except Exception as exc:
            future = asyncio.get_running_loop().create_future()
            future.set_exception(exc)
        self.executing[future] = request_id
        future.add_done_callback(self._executed)

    def _executed(self, future: asyncio.Future[bytes]) -> None:
        request_id = self.executing.pop(future)
        if self.closing:
            return
        self.replies.append((request_id, future))
        if not self.executing:
            self.deliver()
        elif not self.gathering:
            self.gathering = True
            future.get_loop().call_soon(self.deliver)

    def deliver(self) -> None:
        """Hand the gathered replies to ``done``."""
        self.gathering = False
        replies, self.replies = self.replies, []
        if replies and not self.closing:
            self.done(self, replies)

    def close(self, final: bytes) -> None:
        """``CloseLink``: the link task waits for the executions and closes the engine."""
        self.closing = True
        self.closed.set()

    async def aclose(self) -> None:
        """Wait for the executions under way, then close the engine.

        An execution cannot be stopped: the engine runs it to the end on its own threads
        (an abandoned call's ``SLEEP 2s`` too), and one that ends after the event loop has
        closed makes the engine call into a loop that is gone (a Rust panic at exit). So
        closing waits for them, as the trio adapter waits for its threads; their replies
        are ignored (``closing``)."""
        if self.executing:
            await asyncio.wait(list(self.executing))
        db, self.db = self.db, None
        if db is not None:
            with contextlib.suppress(Exception):
                await db.close()
            # The engine's close() does nothing: its datastore shuts down when the object is
            # freed, and its runtime finishes a statement's last work (a SLEEP's timer...)
            # after the reply. Left to interpreter exit, that work races the finalization
            # (the same panic, in ~12% of runs of examples/asyncio_basics.py; none in 64
            # runs with this pause).
            del db
            await asyncio.sleep(_ENGINE_SETTLE)


class HttpxLink:
    """The user's ``httpx.AsyncClient`` (``http_client=``): no I/O to open or close it (the
    client is the user's), one task per request in flight."""

    __slots__ = ("base_url", "closing", "link_id", "requests")

    def __init__(self, link_id: int, base_url: str) -> None:
        self.link_id = link_id
        self.base_url = base_url
        self.closing = False
        #: The exchange tasks in flight, by request id.
        self.requests: dict[Any, asyncio.Task[None]] = {}

    def cancel(self, request_id: Any) -> None:
        """``CancelHttpRequest``: the engine gave up on it; stop the exchange."""
        task = self.requests.pop(request_id, None)
        if task is not None:
            task.cancel()

    def close(self, final: bytes) -> None:
        """``CloseLink``: cancel every exchange still in flight after :data:`HTTPX_GRACE`
        seconds (their outcomes are dropped); leave the client open.

        The grace lets exchanges that are failing anyway (a refused TLS certificate fails
        every connection the client opens at once) end by themselves: cancelling an
        asyncio TLS handshake leaks its socket (seen with httpx on Python 3.11)."""
        self.closing = True
        asyncio.get_running_loop().call_later(HTTPX_GRACE, self._cancel_all)

    def _cancel_all(self) -> None:
        for request_id in list(self.requests):
            self.cancel(request_id)


async def exchange(client: Any, base_url: str, request: HttpRequest,
                   limit: int | None) -> tuple[int, Any, bytes]:
    """Carry one request on the user's ``httpx.AsyncClient``; return ``(status, headers,
    body)``, the body read up to ``limit`` bytes.

    Raises:
        ConnectionClosedError: the body is larger than ``limit`` (``max_message_size``).
        Exception: what the client raised (``httpx.ConnectError``...); the engine maps it.
    """
    async with client.stream(request.method, base_url + request.target,
                             headers=list(request.headers), content=request.body) as reply:
        body = bytearray()
        async for chunk in reply.aiter_bytes():
            body += chunk
            if limit is not None and len(body) > limit:
                raise ConnectionClosedError(
                    f"the server sent a response larger than max_message_size ({limit} bytes)",
                    code=1009, reason="response too large")
        return reply.status_code, reply.headers, bytes(body)


async def open_stream(event: OpenLink, context: ssl.SSLContext | None,
                      link: StreamLink) -> None:
    """Open the TCP stream of ``event`` (wrapped in TLS with ``context`` when ``event.tls``),
    with ``link`` as its protocol.

    Raises:
        OSError: refused, unreachable, DNS failure, TLS failure (``ssl.SSLError``).
    """
    loop = asyncio.get_running_loop()
    if not event.tls:
        await loop.create_connection(lambda: link, event.host, event.port)
        return
    await loop.create_connection(
        lambda: link, event.host, event.port, ssl=context,
        server_hostname=event.server_hostname or event.host, ssl_shutdown_timeout=CLOSE_WAIT)


async def open_embedded(url: str | None) -> Any:
    """Create and connect ``surrealdb_embedded.AsyncEmbeddedDB(url)``.

    ``AsyncEmbeddedDB`` runs each ``execute`` on the extension's own runtime and completes an
    asyncio future: it never blocks the event loop and starts no Python thread.
    ``SyncEmbeddedDB`` costs less per call but holds the GIL for the whole of ``execute``
    (measured: a ``SLEEP 300ms`` on a worker thread stops the event loop for 300 ms), so a
    slow query would stop every other task of the program.

    Raises:
        ImportError: the ``embedded`` extra is not installed (the engine names the
            ``pip install``).
    """
    from surrealdb_embedded import AsyncEmbeddedDB

    db = AsyncEmbeddedDB(url or "mem://")
    await db.connect()
    return db
