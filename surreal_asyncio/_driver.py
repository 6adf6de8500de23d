"""The engine driver: one ``ClientEngine`` moved by asyncio (``surreal_proto._client`` has
the loop this follows).

* **No lock is needed**: every engine call runs on the client's event loop, and nothing
  awaits between an engine call and its :meth:`Driver.flush`. :meth:`Driver.enter` checks
  that the caller is on that loop (a typed ``LocalProtocolError`` naming both loops if not).
* **Callers** start a call (``engine.start``), put a future in ``_waiters`` under its call id,
  flush, and await the future. ``CallSucceeded``/``CallFailed`` resolve it. A cancelled caller
  (``task.cancel()``, ``asyncio.timeout``) abandons its call with ``engine.cancel``: the late
  reply is dropped. The ``timeout`` option is the engine's deadline (``SurrealTimeoutError``).
* **One task per link** opens it (TCP/TLS with ``loop.create_connection``, or the embedded
  engine), waits for its end or ``CloseLink``, and closes it. A stream is read by its
  protocol (``StreamLink``), whose ``data_received`` feeds ``receive_data`` and flushes at
  once (``receive_eof``/``link_failed`` at its end): no reader task, so a reply resolves its
  caller's future in the loop iteration that reads it. An embedded request is one
  ``execute`` future of the engine, whose done-callback feeds the reply back by request id
  (no task per request; the replies that land together share one flush, see
  ``EmbeddedLink``). The requests of an ``httpx`` link (``http_client=``: the user's
  ``httpx.AsyncClient`` carries them) run as one small task each, fed back by request id;
  ``CancelHttpRequest`` cancels one.
* **Writes** are gathered: with more than one call waiting, a flush schedules one write per
  loop iteration (``call_soon``), so the requests of many tasks started in one iteration share
  one ``send``; a lone call's flush writes at once (nothing to gather: one loop iteration
  less per sequential call).
* **One timer** (``loop.call_later``) is re-armed at ``next_deadline()`` after every flush.
* ``ProviderNeeded``/``PrepareNeeded`` run the user's callables in their own tasks (calls made
  by ``prepare`` carry ``setup=True`` through a context variable).
* **Nothing is swallowed**: an unexpected exception in a background task (or in a flush) is
  logged, fails every waiting call with ``ConnectionClosedError`` whose ``__cause__`` is that
  exception, and closes the connection.

The clock is ``time.monotonic()`` (the engine's ``now``), so the engine's JWT arithmetic
(``wall_clock_offset``) holds on any event loop, uvloop included.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import logging
import ssl
import time
from collections.abc import Callable, Coroutine
from typing import Any, Final
from uuid import UUID

from surreal_proto import (
    DEFAULT_MAX_MESSAGE_SIZE,
    AuthenticationLost,
    CallFailed,
    CallSucceeded,
    CancelHttpRequest,
    ClientEngine,
    ClientEvent,
    ClientState,
    CloseLink,
    ConnectionClosedError,
    HttpRequest,
    InsecureTransportDetected,
    LocalProtocolError,
    NotificationsQueued,
    OpenLink,
    PrepareNeeded,
    ProtocolViolation,
    ProviderNeeded,
    ReconnectScheduled,
    SessionRestoreFailed,
    StateChanged,
    SubscriptionEnded,
    calls,
)

from ._links import (
    EmbeddedLink,
    HttpxLink,
    Reply,
    StreamLink,
    exchange,
    open_embedded,
    open_stream,
)

__all__ = ["Driver", "log", "now"]

log: Final = logging.getLogger("surreal_asyncio")
#: Set inside the ``prepare`` callable's task: its calls go out during setup.
_SETUP: Final = contextvars.ContextVar("surreal_asyncio_setup", default=False)
#: How long ``close()`` waits for background tasks before cancelling them.
_TASKS_WAIT: Final = 10.0

now = time.monotonic
Link = StreamLink | EmbeddedLink | HttpxLink


class Driver:
    """Drives one :class:`~surreal_proto.ClientEngine` on one event loop (see the module
    docstring). Private: the client, sessions, transactions and live iterators use it."""

    def __init__(self, engine: ClientEngine, *, client: Any, ssl_context: ssl.SSLContext | None,
                 http_client: Any, max_message_size: int | None,
                 auth_provider: Callable[[], Any] | None,
                 prepare: Callable[[Any], Any] | None,
                 on_state_change: Callable[[ClientState, ClientState], Any] | None) -> None:
        self.engine = engine
        self._client = client
        self._ssl = ssl_context
        self._http_client = http_client
        self._max_body = max_message_size or DEFAULT_MAX_MESSAGE_SIZE
        self._provider = auth_provider
        self._prepare = prepare
        self._on_state_change = on_state_change
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiters: dict[int, asyncio.Future[Any]] = {}
        self._sub_waiters: dict[int, list[asyncio.Future[None]]] = {}
        self._links: dict[int, Link] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        #: Tasks running user callables (provider, prepare, callbacks): cancelled by close().
        self._helpers: set[asyncio.Task[Any]] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._flushing = False
        self._again = False
        self._crashing = False
        self._write_soon = False

    # ------------------------------------------------------------------ the loop

    def enter(self) -> asyncio.AbstractEventLoop:
        """The running loop, checked to be the client's (bound at first use, and again
        whenever the client holds nothing open).

        Raises:
            LocalProtocolError: not in a running loop, or in another loop than the one the
                client is working in.
        """
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise LocalProtocolError(
                "surreal_asyncio.AsyncSurreal must be used from a running asyncio event loop "
                "(await its methods inside async code)") from None
        if loop is not self._loop:
            if self._loop is not None and self._busy():
                state = "closed" if self._loop.is_closed() else "running"
                raise LocalProtocolError(
                    f"this AsyncSurreal belongs to event loop {self._loop!r} ({state}), where "
                    f"it was first used and is still open; it was used from another event loop "
                    f"{loop!r}. Use one client per event loop (close() it in its own loop "
                    f"before using it in another)")
            self._bind(loop)
        return loop

    def _busy(self) -> bool:
        return bool(self._links or self._tasks or self._waiters or self._sub_waiters
                    or self.engine.state not in (ClientState.IDLE, ClientState.CLOSED))

    def _bind(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self._timer_at = None
        self._write_soon = False
        self._loop = loop

    # ------------------------------------------------------------------ calls

    async def call(self, call: calls.Call, *, session: UUID | None = None,
                   txn: UUID | None = None) -> Any:
        """Start ``call`` and wait for its outcome (cancellation abandons it)."""
        loop = self.enter()
        call_id = self.engine.start(call, session=session, txn=txn, now=now(),
                                    setup=_SETUP.get())
        return await self.wait(call_id, loop)

    async def connect(self) -> None:
        """Connect now (API.md §4); at once if connected."""
        loop = self.enter()
        await self.wait(self.engine.connect(now=now()), loop)

    async def new_session(self) -> UUID:
        """Attach a new 3.x session and return its id."""
        loop = self.enter()
        session, call_id = self.engine.new_session(now=now())
        await self.wait(call_id, loop)
        return session

    async def close(self) -> None:
        """Close the engine, then wait for every link and background task to end."""
        loop = self.enter()
        try:
            await self.wait(self.engine.close(now=now()), loop)
        finally:
            await self._settle()

    async def wait(self, call_id: int, loop: asyncio.AbstractEventLoop) -> Any:
        """Wait for the outcome of ``call_id`` (the caller just started it, unflushed)."""
        future: asyncio.Future[Any] = loop.create_future()
        self._waiters[call_id] = future
        try:
            self.flush()
            return await future
        except asyncio.CancelledError:
            if self._waiters.pop(call_id, None) is not None:
                self.engine.cancel(call_id, now=now())
                self.flush()
            raise
        finally:
            self._waiters.pop(call_id, None)

    async def wait_subscription(self, sub_id: int) -> None:
        """Wait until subscription ``sub_id`` has news (notifications queued, or it ended)."""
        future: asyncio.Future[None] = self.enter().create_future()
        waiters = self._sub_waiters.setdefault(sub_id, [])
        waiters.append(future)
        try:
            await future
        finally:
            if future in waiters:
                waiters.remove(future)
            if not waiters and self._sub_waiters.get(sub_id) is waiters:
                del self._sub_waiters[sub_id]

    def _wake(self, sub_id: int) -> None:
        for future in self._sub_waiters.pop(sub_id, []):
            if not future.done():
                future.set_result(None)

    # ------------------------------------------------------------------ flush

    def flush(self) -> None:
        """Bytes out (a write scheduled for the end of this loop iteration), embedded
        requests out, events dispatched, timer re-armed. Never raises: an unexpected failure
        closes the connection (:meth:`crash`)."""
        if self._flushing:
            self._again = True
            return
        self._flushing = True
        try:
            engine = self.engine
            while True:
                self._again = False
                for link in list(self._links.values()):
                    if isinstance(link, StreamLink):
                        if self._write_soon or link.transport is None:
                            pass
                        elif len(self._waiters) <= 1:  # a lone call: nothing to gather
                            link.write(engine.data_to_send(link.link_id))
                        else:
                            self._write_soon = True
                            assert self._loop is not None
                            self._loop.call_soon(self._write_out)
                    elif isinstance(link, EmbeddedLink):
                        for message in engine.messages_to_send(link.link_id):
                            link.execute(message.request_id, message.data)
                    else:
                        for request_id, request in engine.http_requests_to_send(link.link_id):
                            link.requests[request_id] = self._spawn(
                                self._exchange(link, request_id, request))
                events = engine.events()
                for event in events:
                    self._dispatch(event)
                if not events and not self._again:
                    break
            self._arm_timer()
        except Exception as exc:
            self._flushing = False
            self.crash(exc)
        finally:
            self._flushing = False

    def _write_out(self) -> None:
        # Bytes go out once per loop iteration: the requests of many tasks share a syscall.
        self._write_soon = False
        try:
            for link in list(self._links.values()):
                if isinstance(link, StreamLink):
                    link.write(self.engine.data_to_send(link.link_id))
        except Exception as exc:
            self.crash(exc)

    def _arm_timer(self) -> None:
        deadline = self.engine.next_deadline()
        armed = self._timer_at
        if deadline == armed or (self._timer is not None and armed is not None
                                 and (deadline is None or deadline > armed)):
            # Only ever moved earlier: every call pushes the next deadline later, and a timer
            # re-made per call costs more than one early wake-up (it finds nothing due,
            # handle_timeout is safe to call early, and the flush arms it again).
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = deadline
        if deadline is not None and self._loop is not None and not self._loop.is_closed():
            self._timer = self._loop.call_later(max(0.0, deadline - now()), self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = None
        try:
            self.engine.handle_timeout(now())
        except Exception as exc:
            self.crash(exc)
            return
        self.flush()

    # ------------------------------------------------------------------ events

    def _dispatch(self, event: ClientEvent) -> None:
        if isinstance(event, CallSucceeded):
            future = self._waiters.pop(event.call_id, None)
            if future is not None and not future.done():
                future.set_result(event.value)
        elif isinstance(event, CallFailed):
            future = self._waiters.pop(event.call_id, None)
            if future is not None and not future.done():
                future.set_exception(event.error)
        elif isinstance(event, NotificationsQueued | SubscriptionEnded):
            self._wake(event.sub_id)
        elif isinstance(event, OpenLink):
            self._open(event)
        elif isinstance(event, CloseLink):
            link = self._links.get(event.link_id)
            final = self.engine.data_to_send(event.link_id)
            if link is not None:
                link.close(final)
                if isinstance(link, HttpxLink):  # nothing to close: the client is the user's
                    self._forget(link)
        elif isinstance(event, CancelHttpRequest):
            link = self._links.get(event.link_id)
            if isinstance(link, HttpxLink):
                link.cancel(event.request_id)
        elif isinstance(event, ProviderNeeded):
            self._spawn(self._provide(event.ticket), helper=True)
        elif isinstance(event, PrepareNeeded):
            self._spawn(self._run_prepare(event.ticket), helper=True)
        else:
            self._notice(event)

    def _notice(self, event: ClientEvent) -> None:
        url = self.engine.url
        if isinstance(event, StateChanged):
            log.debug("%s: %s -> %s", url, event.old.name, event.new.name)
            if self._on_state_change is not None:
                self._user_callback(self._on_state_change, event.old, event.new)
        elif isinstance(event, ProtocolViolation):
            log.warning("%s: the server sent a message that was skipped: %s", url, event.error)
        elif isinstance(event, InsecureTransportDetected):
            log.warning("%s: unencrypted connection to %s: credentials and data cross the "
                        "network in clear text (use wss:// or https://)", url, event.host)
        elif isinstance(event, ReconnectScheduled):
            log.info("%s: reconnect attempt %d in %.2f s (%s)", url, event.attempt, event.delay,
                     event.error)
        elif isinstance(event, AuthenticationLost):
            log.warning("%s: session %s could not be authenticated again after a reconnect; "
                        "it is anonymous now", url, event.session or "(default)")
        elif isinstance(event, SessionRestoreFailed):
            log.warning("%s: restoring %s of session %s after a reconnect failed: %s", url,
                        event.step, event.session or "(default)", event.error)

    def _user_callback(self, callback: Callable[..., Any], *args: Any) -> None:
        try:
            result = callback(*args)
            if inspect.isawaitable(result):
                self._spawn(self._await_callback(result), helper=True)
        except Exception:
            log.exception("%s: the on_state_change callback raised", self.engine.url)

    async def _await_callback(self, awaitable: Any) -> None:
        try:
            await awaitable
        except Exception:
            log.exception("%s: the on_state_change callback raised", self.engine.url)

    # ------------------------------------------------------------------ background tasks

    def _spawn(self, coro: Coroutine[Any, Any, None], *,
               helper: bool = False) -> asyncio.Task[None]:
        assert self._loop is not None
        task = self._loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if helper:
            self._helpers.add(task)
            task.add_done_callback(self._helpers.discard)
        return task

    def _open(self, event: OpenLink) -> None:
        link: Link
        if event.transport == "httpx":  # the user's client: nothing to open
            assert event.base_url is not None
            self._links[event.link_id] = HttpxLink(event.link_id, event.base_url)
            self.engine.link_opened(event.link_id, now=now())
            return
        if event.transport == "embedded":
            link = EmbeddedLink(event.link_id, self._executed)
            link.task = self._spawn(self._run_embedded(link, event))
        else:
            link = StreamLink(event.link_id, self._stream_opened, self._stream_received,
                              self._stream_ended)
            link.task = self._spawn(self._run_stream(link, event))
        self._links[event.link_id] = link

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = ssl.create_default_context()
        return self._ssl

    async def _run_stream(self, link: StreamLink, event: OpenLink) -> None:
        # The link's transport feeds the engine from its callbacks (_stream_opened,
        # _stream_received, _stream_ended); this task opens the stream, waits for its end
        # (or CloseLink), and closes it.
        try:
            try:
                await open_stream(event, self._ssl_context() if event.tls else None, link)
            except Exception as exc:
                if not link.closing:
                    self.engine.link_failed(link.link_id, exc, now=now())
                    self.flush()
                return
            await link.finished()
        except Exception as exc:
            self.crash(exc, link.link_id)
        finally:
            self._forget(link)
            await link.aclose()

    def _stream_opened(self, link: StreamLink) -> None:
        try:
            self.engine.link_opened(link.link_id, now=now())
        except Exception as exc:
            link.stop()
            self.crash(exc, link.link_id)
            return
        self.flush()

    def _stream_received(self, link: StreamLink, data: bytes) -> None:
        try:
            self.engine.receive_data(link.link_id, data, now=now())
        except Exception as exc:
            link.stop()
            self.crash(exc, link.link_id)
            return
        self.flush()

    def _stream_ended(self, link: StreamLink, exc: BaseException | None) -> None:
        # An end of file, or the stream broke (OSError, ssl.SSLError): the engine reports it.
        if exc is not None and not isinstance(exc, OSError):
            self.crash(exc, link.link_id)
            return
        try:
            if exc is None:
                self.engine.receive_eof(link.link_id, now=now())
            else:
                self.engine.link_failed(link.link_id, exc, now=now())
        except Exception as error:
            self.crash(error, link.link_id)
            return
        self.flush()

    async def _run_embedded(self, link: EmbeddedLink, event: OpenLink) -> None:
        engine = self.engine
        try:
            try:
                link.db = await open_embedded(event.embedded_url)
            except Exception as exc:
                if not link.closing:
                    engine.link_failed(link.link_id, exc, now=now())
                    self.flush()
                return
            if not link.closing:
                engine.link_opened(link.link_id, now=now())
                self.flush()
            await link.closed.wait()
        except Exception as exc:
            self.crash(exc)
        finally:
            self._forget(link)
            await link.aclose()

    def _forget(self, link: Link) -> None:
        if self._links.get(link.link_id) is link:
            del self._links[link.link_id]

    def _executed(self, link: EmbeddedLink, replies: list[Reply]) -> None:
        # The replies of executions (on the loop, from their futures' done-callbacks) go to
        # the engine, then one flush delivers them.
        engine = self.engine
        try:
            for request_id, future in replies:
                exc = None if future.cancelled() else future.exception()
                if exc is None and not future.cancelled():
                    engine.receive_message(link.link_id, future.result(), now=now(),
                                           request_id=request_id)
                else:  # (cancelled: only the engine's own runtime could, shutting down)
                    engine.receive_failure(link.link_id, request_id, exc if isinstance(
                        exc, Exception) else ConnectionClosedError(
                            "the in-process engine gave up the request"), now=now())
        except Exception as exc:
            self.crash(exc)
            return
        self.flush()

    async def _exchange(self, link: HttpxLink, request_id: Any, request: HttpRequest) -> None:
        engine = self.engine
        try:
            try:
                status, headers, body = await exchange(self._http_client, link.base_url,
                                                       request, self._max_body)
            except Exception as exc:
                if not link.closing:
                    engine.receive_http_failure(link.link_id, request_id, exc, now=now())
            else:
                if not link.closing:
                    engine.receive_http_response(link.link_id, request_id, status, headers,
                                                 body, now=now())
            self.flush()
        except Exception as exc:
            self.crash(exc)
        finally:
            if link.requests.get(request_id) is asyncio.current_task():
                del link.requests[request_id]

    async def _provide(self, ticket: int) -> None:
        assert self._provider is not None
        try:
            try:
                answer = self._provider()
                if inspect.isawaitable(answer):
                    answer = await answer
            except Exception as exc:
                self.engine.provider_failed(ticket, exc, now=now())
            else:
                self.engine.provide_auth(ticket, answer, now=now())
            self.flush()
        except Exception as exc:
            self.crash(exc)

    async def _run_prepare(self, ticket: int) -> None:
        assert self._prepare is not None
        _SETUP.set(True)  # this task's own context: the calls prepare makes go out now
        try:
            try:
                result = self._prepare(self._client)
                if inspect.isawaitable(result):
                    await result
            except Exception as exc:
                self.engine.prepare_failed(ticket, exc, now=now())
            else:
                self.engine.prepare_done(ticket, now=now())
            self.flush()
        except Exception as exc:
            self.crash(exc)

    async def _settle(self) -> None:
        """After ``close``: end the user-callable tasks, wait for the links to close."""
        current = asyncio.current_task()
        for task in self._helpers:
            if task is not current:
                task.cancel()
        tasks = [t for t in self._tasks if t is not current]
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=_TASKS_WAIT)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late)

    # ------------------------------------------------------------------ failure

    def crash(self, exc: BaseException, link_id: int | None = None) -> None:
        """An unexpected exception in the background: log it, fail every waiting call with
        ``ConnectionClosedError`` (``__cause__`` = ``exc``), close the connection.
        ``link_id``: the link whose reader died with it (it is read no more)."""
        log.error("%s: unexpected failure in the client's background work; closing the "
                  "connection", self.engine.url, exc_info=exc)
        for future in list(self._waiters.values()):
            if not future.done():
                error = ConnectionClosedError(
                    f"the connection was closed after an unexpected error in its background "
                    f"task: {type(exc).__name__}")
                error.__cause__ = exc
                future.set_exception(error)
        self._waiters.clear()
        for sub_id in list(self._sub_waiters):
            self._wake(sub_id)
        if self._crashing:  # the engine failed again while closing: drop the links
            for link in list(self._links.values()):
                link.close(b"")
            return
        self._crashing = True
        try:
            self.engine.close(now=now())
            if link_id is not None:
                self.engine.receive_eof(link_id, now=now())
            self.flush()
        except Exception as again:
            self.crash(again)
        finally:
            self._crashing = False
