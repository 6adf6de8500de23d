"""The driver's links: opening TCP/TLS sockets and the embedded engine, moving bytes, and
the leader's selector.

Every function here either succeeds or raises the exception the operating system, ``ssl`` or
the embedded engine raised; the driver hands that exception to the engine
(``link_failed``/``receive_failure``), which maps it to an API.md §7 error with the original
as ``__cause__``, so none reaches the user. Nothing here knows the protocol. :class:`Links`
is used under the driver's lock only.

Sockets are left non-blocking once open: the driver only reads a socket after ``select``
said it is readable (or TLS holds decrypted bytes), and :func:`send_all` waits for
writability itself, at most ``stall`` seconds without progress.

:mod:`ssl` is imported by the first TLS link (:func:`open_stream`): a client of ``ws://`` or
``http://`` URLs never loads it.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import time
from types import ModuleType
from typing import TYPE_CHECKING, Any, Final

from surreal_proto import ConnectionClosedError, OpenLink

if TYPE_CHECKING:
    import ssl

    from surreal_proto import HttpRequest

__all__ = ["Link", "Links", "close_quietly", "exchange", "open_embedded", "open_stream",
           "read_available", "send_all", "tls_pending"]

#: Bytes asked of the kernel per ``recv``. Below glibc's 128 KiB mmap threshold: a larger
#: ``recv`` buffer is a fresh mapping each time (mmap, mremap to the bytes read, munmap: three
#: system calls and a page fault per small reply, seen with strace).
_CHUNK: Final = 64 * 1024
#: Upper bound of what one read round takes from one socket (fairness between links).
_ROUND_LIMIT: Final = 4 * 1024 * 1024
#: What a non-blocking ``recv``/``send`` raises for "not now"; :func:`_tls` adds the two TLS
#: ones.
_WOULD_BLOCK: tuple[type[Exception], ...] = (BlockingIOError, InterruptedError)
#: The :mod:`ssl` module once a TLS link was opened.
_ssl: ModuleType | None = None
#: poll() or select(): no file descriptor of its own to leak.
_Selector: Final[type[selectors.BaseSelector]] = getattr(
    selectors, "PollSelector", selectors.SelectSelector)


class Link:
    """One link the engine asked for (``OpenLink``): a socket, an embedded engine, or the
    user's ``httpx.Client`` (``base_url``)."""

    __slots__ = ("base_url", "busy", "db", "link_id", "registered", "sock", "state")

    def __init__(self, link_id: int, base_url: str | None = None) -> None:
        self.link_id = link_id
        self.state = "opening"  # then "open", then "closed"
        self.sock: socket.socket | None = None
        self.db: Any = None
        self.base_url = base_url
        self.busy = 0  # threads executing on the embedded engine now
        self.registered = False  # in the selector

    @property
    def stream(self) -> socket.socket | None:
        """The socket, while the link is open."""
        return self.sock if self.state == "open" else None


class Links:
    """The link table, and the selector the leader waits on: every open socket plus the
    read end of a wake-up socket pair (created when first needed, released by
    :meth:`teardown`)."""

    def __init__(self) -> None:
        self.by_id: dict[int, Link] = {}
        self._selector: selectors.BaseSelector | None = None
        self._wake: tuple[socket.socket, socket.socket] | None = None
        self._woken = False

    def selector(self) -> selectors.BaseSelector:
        """The selector, watching every open socket (``key.data``: the link, or ``None``
        for the wake-up socket)."""
        if self._selector is None or self._wake is None:
            self._selector = _Selector()
            self._wake = socket.socketpair()
            for end in self._wake:
                end.setblocking(False)
            self._selector.register(self._wake[0], selectors.EVENT_READ, None)
        for link in self.by_id.values():
            if not link.registered and link.stream is not None:
                self._selector.register(link.stream, selectors.EVENT_READ, link)
                link.registered = True
        self._woken = False
        return self._selector

    def wake(self) -> None:
        """Make a ``select`` in progress return (once per round)."""
        if not self._woken and self._wake is not None:
            self._woken = True
            with contextlib.suppress(OSError):
                self._wake[1].send(b"\0")

    def drain_wake(self) -> None:
        """Empty the wake-up socket after ``select`` returned."""
        if self._wake is not None:
            with contextlib.suppress(OSError):
                while self._wake[0].recv(4096):
                    pass

    def close_socket(self, link: Link) -> None:
        """Stop watching the link's socket and close it (nobody may be selecting)."""
        if link.registered and self._selector is not None and link.sock is not None:
            self._selector.unregister(link.sock)
            link.registered = False
        close_quietly(link.sock)

    def teardown(self) -> None:
        """Release the selector and the wake-up sockets (nobody selecting, no link left)."""
        if self._wake is not None:
            for end in self._wake:
                end.close()
            self._wake = None
        if self._selector is not None:
            self._selector.close()
            self._selector = None


def open_stream(event: OpenLink, context: ssl.SSLContext | None,
                timeout: float | None) -> socket.socket:
    """Connect TCP (and TLS when ``event.tls``) within ``timeout`` seconds; return the
    socket, non-blocking.

    Raises:
        OSError: refused, unreachable, DNS failure, timeout, TLS failure (``ssl.SSLError``
            is an ``OSError``).
    """
    sock = socket.create_connection((event.host, event.port), timeout=timeout)
    try:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if event.tls:
            tls = _tls()
            ctx = context if context is not None else tls.create_default_context()
            sock = ctx.wrap_socket(sock, server_hostname=event.server_hostname)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def _tls() -> ModuleType:
    """Import :mod:`ssl` (for the first TLS link) and let reads and writes expect its errors."""
    global _ssl, _WOULD_BLOCK
    import ssl

    _WOULD_BLOCK = (BlockingIOError, InterruptedError, ssl.SSLWantReadError,
                    ssl.SSLWantWriteError)
    _ssl = ssl
    return ssl


def open_embedded(url: str) -> Any:
    """Create and connect the in-process engine (``surrealdb_embedded.SyncEmbeddedDB``).

    Raises:
        ImportError: the ``surrealdb-embedded`` extra is not installed.
        Exception: whatever the engine raised while opening.
    """
    from surrealdb_embedded import SyncEmbeddedDB

    db = SyncEmbeddedDB(url)
    try:
        db.connect()
    except BaseException:
        db.close()
        raise
    return db


def exchange(client: Any, base_url: str, request: HttpRequest,
             limit: int | None) -> tuple[int, Any, bytes]:
    """Carry one request on the user's ``httpx.Client``; return ``(status, headers, body)``,
    the body read up to ``limit`` bytes.

    Raises:
        ConnectionClosedError: the body is larger than ``limit`` (``max_message_size``).
        Exception: what the client raised (``httpx.ConnectError``...); the engine maps it.
    """
    with client.stream(request.method, base_url + request.target,
                       headers=list(request.headers), content=request.body) as reply:
        body = bytearray()
        for chunk in reply.iter_bytes():
            body += chunk
            if limit is not None and len(body) > limit:
                raise ConnectionClosedError(
                    f"the server sent a response larger than max_message_size ({limit} bytes)",
                    code=1009, reason="response too large")
        return reply.status_code, reply.headers, bytes(body)


def read_available(sock: socket.socket) -> bytes | None:
    """Read what the socket has now (up to a fairness limit): the bytes, ``b""`` at end of
    stream, or ``None`` when nothing was ready after all.

    Raises:
        OSError: the connection failed (reset, TLS error).
    """
    parts: list[bytes] = []
    total = 0
    while total < _ROUND_LIMIT:
        try:
            data = sock.recv(_CHUNK)
        except _WOULD_BLOCK:
            break
        if not data:
            if parts:
                break  # report the bytes now, the end of stream on the next round
            return b""
        parts.append(data)
        total += len(data)
        if len(data) < _CHUNK and not tls_pending(sock):
            break  # a short read emptied the socket: no second recv just to hear EAGAIN
    return b"".join(parts) if parts else None


def tls_pending(sock: socket.socket) -> bool:
    """TLS holds decrypted bytes that ``select`` cannot see."""
    return _ssl is not None and isinstance(sock, _ssl.SSLSocket) and sock.pending() > 0


def send_all(sock: socket.socket, data: bytes, stall: float) -> None:
    """Write all of ``data`` to a non-blocking socket, waiting for room as needed.

    Raises:
        TimeoutError: no progress for ``stall`` seconds (the peer stopped reading).
        OSError: the connection failed.
    """
    view = memoryview(data)
    waiter: selectors.BaseSelector | None = None
    try:
        while view:
            try:
                sent = sock.send(view)
            except _WOULD_BLOCK:
                if waiter is None:
                    waiter = selectors.DefaultSelector()
                    waiter.register(sock, selectors.EVENT_WRITE)
                started = time.monotonic()
                if not waiter.select(stall):
                    raise TimeoutError(
                        f"could not send for {time.monotonic() - started:.1f} s") from None
                continue
            view = view[sent:]
    finally:
        if waiter is not None:
            waiter.close()


def close_quietly(resource: Any) -> None:
    """Close a socket or an embedded engine, ignoring errors (it is being discarded)."""
    with contextlib.suppress(Exception):
        resource.close()
