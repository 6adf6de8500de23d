"""The links the engine asks for: their state (:class:`Link`), opening TCP (+TLS) trio
streams, the embedded engine and the threads that run its calls (:class:`EmbeddedRunner`),
and one exchange through a user's ``httpx.AsyncClient``.

Everything here is plain trio, ``threading``, ``surrealdb_embedded`` or ``httpx``; nothing
knows the protocol.

What the engine needs from a failure is the *real* exception (``ssl``, ``socket``...), so
:func:`root_cause` peels off the wrappers trio adds (``BrokenResourceError`` around an
``SSLError``, ``OSError`` around a group of per-address connect failures) before the
driver reports it with ``engine.link_failed`` (the engine maps it to an API.md §7 error and
keeps it as ``__cause__``).
"""

from __future__ import annotations

import functools
import ssl as _ssl
import threading
from collections import deque
from collections.abc import Awaitable, Callable
from contextlib import aclosing, suppress
from typing import Any, Final, TypeAlias

import trio

from surreal_proto import ConnectionClosedError, HttpRequest, OpenLink

__all__ = ["OPENED", "EmbeddedRunner", "Link", "StreamOpener", "aclose", "http_exchange",
           "open_embedded", "open_stream", "root_cause"]

#: Opens the byte stream of an ``OpenLink`` (TCP, with TLS when ``event.tls``). The driver
#: holds one; tests replace it to hand the driver an in-memory stream.
StreamOpener: TypeAlias = Callable[[OpenLink, "_ssl.SSLContext | None"],
                                   Awaitable[trio.abc.Stream]]
#: How long a graceful close of a stream (TLS ``close_notify``) may take.
_CLOSE_GRACE: Final = 1.0
#: Threads per in-process engine at most (calls past it wait for a free thread; the engine
#: holds the GIL while it executes, so more threads would only cost wake-ups).
EMBEDDED_THREADS: Final = 8
#: The tag of the outcome of opening an in-process engine.
OPENED: Final = object()

#: A call for an :class:`EmbeddedRunner` thread: ``(tag, fn, arg)``, run as ``fn(arg)``.
Job: TypeAlias = tuple[Any, Callable[[Any], Any], Any]
#: Its outcome: ``(tag, result, None)`` or ``(tag, None, exception)``.
Outcome: TypeAlias = tuple[Any, Any, Exception | None]


class Link:
    """One link the engine asked for (``OpenLink``), and what its tasks share."""

    __slots__ = ("base_url", "broken", "closing", "db", "event", "exchanges", "link_id",
                 "open_scope", "opened", "outbox", "runner", "stream", "wake")

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
        #: An embedded link: the threads running the engine's calls, and the engine as the
        #: opening thread made it.
        self.runner: EmbeddedRunner | None = None
        self.opened: Any = None
        self.wake = trio.Event()
        #: CloseLink arrived: write what is left, then close.
        self.closing = False
        #: A read or write failed (reported once); nothing more is written.
        self.broken = False

    def ending(self) -> bool:
        """Closing or broken (read afresh after every await)."""
        return self.closing or self.broken

    def open_embedded(self, url: str | None) -> Any:
        """Create the in-process engine (on a runner thread: submit it tagged
        :data:`OPENED`); the runner's last thread closes it (:meth:`close_embedded`)."""
        self.opened = open_embedded(url)
        return self.opened

    def close_embedded(self) -> None:
        """Close the engine, if it opened (on the runner's last thread, the calls ended)."""
        if self.opened is not None:
            with suppress(Exception):
                self.opened.close()


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
    """Create the in-process engine for ``url`` (blocking: run it on a thread). A missing
    ``surrealdb-embedded`` raises ``ImportError``, which the engine maps to
    ``UnsupportedEngineError`` naming the ``pip install``."""
    import surrealdb_embedded

    return surrealdb_embedded.SyncEmbeddedDB(url or "mem://")


class EmbeddedRunner:
    """The worker threads of one in-process engine: they run its blocking calls (opening it,
    ``execute``) off the event loop and hand the outcomes back in batches.

    A call goes to an idle thread (the last one to become idle: warm threads stay warm), or to
    a new one up to ``limit``; past that it queues for the next free thread. Each thread
    sleeps on a lock of its own, which :meth:`submit` releases: one wake-up per call, no
    polling. (``SyncEmbeddedDB.execute`` of surrealdb-embedded 3.0.0b10 holds the GIL until it
    returns, so today the calls take turns and a slow query stops the event loop too, as it
    did when each call ran in ``trio.to_thread``; the threads let calls overlap where the
    engine releases the GIL.)

    Outcomes gather in a list. ``notify`` (thread-safe: it wakes the link's task, which calls
    :meth:`take`) is called only for the first outcome after a take, so the replies that land
    while the loop is busy cost one wake-up of the loop together.

    :meth:`stop` drops the calls not started and lets the running ones end (the engine cannot
    interrupt them); the last thread to end runs ``final`` (closing the engine), sets
    :attr:`stopped` and notifies once more. The threads are daemons: a runner never stopped
    (its loop ended without ``close()``) does not hold up the interpreter's exit.
    """

    def __init__(self, notify: Callable[[], object], limit: int = EMBEDDED_THREADS) -> None:
        self._notify = notify
        self._limit = limit
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []
        self._queue: deque[Job] = deque()
        self._outcomes: list[Outcome] = []
        self._notified = False
        self._alive = 0
        self._threads: list[threading.Thread] = []
        self._final: Callable[[], None] | None = None
        self._stopping = False
        #: Every thread has ended and ``final`` ran (read it after :meth:`take`).
        self.stopped = False

    def submit(self, tag: Any, fn: Callable[[Any], Any], arg: Any) -> None:
        """Run ``fn(arg)`` on a worker thread; the outcome comes back from :meth:`take` as
        ``(tag, result, None)`` or ``(tag, None, exception)``. Ignored once stopping."""
        job = (tag, fn, arg)
        with self._lock:
            if self._stopping:
                return
            if self._idle:
                worker = self._idle.pop()
                worker.job = job
                worker.wake.release()
                return
            if self._alive >= self._limit:
                self._queue.append(job)
                return
            self._alive += 1
        self._start(job)

    def take(self) -> list[Outcome]:
        """The outcomes gathered since the last take (call it on the loop, when notified)."""
        with self._lock:
            self._notified = False
            outcomes, self._outcomes = self._outcomes, []
        return outcomes

    def stop(self, final: Callable[[], None]) -> None:
        """Start no more calls; ``final`` runs on the last thread once the running calls
        ended."""
        with self._lock:
            if self._stopping:
                return
            self._stopping = True
            self._final = final
            self._queue.clear()
            idle, self._idle = self._idle, []
            start = self._alive == 0
            if start:  # no thread: one is started to run ``final``
                self._alive = 1
        for worker in idle:
            worker.job = None
            worker.wake.release()
        if start:
            self._start(None)

    def join(self) -> None:
        """Join the threads (once :attr:`stopped`: they have ended or are about to)."""
        for thread in self._threads:
            thread.join()
        self._threads.clear()

    def _start(self, job: Job | None) -> None:
        thread = threading.Thread(target=self._work, args=(job,), name="surreal-embedded",
                                  daemon=True)
        self._threads.append(thread)
        thread.start()

    def _work(self, job: Job | None) -> None:
        worker = _Worker()
        try:
            while job is not None:
                tag, fn, arg = job
                try:
                    outcome: Outcome = (tag, fn(arg), None)
                except Exception as exc:
                    outcome = (tag, None, exc)
                idle = False
                with self._lock:
                    self._outcomes.append(outcome)
                    notify = not self._notified
                    self._notified = True
                    if self._stopping:
                        job = None
                    elif self._queue:
                        job = self._queue.popleft()
                    else:
                        idle = True
                        self._idle.append(worker)
                if notify:
                    self._call_notify()
                if idle:
                    worker.wake.acquire()
                    job = worker.job
        finally:
            with self._lock:
                self._alive -= 1
                last = self._stopping and self._alive == 0
            if last:
                self._finish()

    def _finish(self) -> None:
        try:
            if self._final is not None:
                self._final()
        finally:
            with self._lock:
                self.stopped = True
                notify = not self._notified
                self._notified = True
            if notify:
                self._call_notify()

    def _call_notify(self) -> None:
        # Fails once trio.run has ended (``RunFinishedError``): nobody waits any more.
        with suppress(Exception):
            self._notify()


class _Worker:
    """One thread's slot: the job handed to it, and the lock it sleeps on (held while idle,
    released by :meth:`EmbeddedRunner.submit` and :meth:`EmbeddedRunner.stop`)."""

    __slots__ = ("job", "wake")

    def __init__(self) -> None:
        self.job: Job | None = None
        self.wake = threading.Lock()
        self.wake.acquire()


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
