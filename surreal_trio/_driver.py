"""The engine driver: links, reader and writer tasks, the timer, waiters and callbacks.

One :class:`Driver` runs one :class:`~surreal_proto.ClientEngine` (its module docstring is the
adapter loop). The engine is touched only in synchronous stretches: each engine call is
followed by :meth:`Driver.flush` *without an await in between*, so trio's cooperative
scheduling is the "one lock" the loop asks for; nothing here needs a ``trio.Lock``.
``flush`` never awaits either: it appends bytes to a link's outbox and wakes that link's
writer, starts tasks for ``OpenLink``/``ProviderNeeded``/``PrepareNeeded``, resolves waiters
and re-arms the timer by moving a cancel scope's deadline.

**Tasks** (all in the *service nursery*):

* per stream link (``ws``, ``http``; TCP, +TLS): one task opens the stream, then runs a
  reader (``receive_some`` → ``engine.receive_data``; ``b""`` → ``receive_eof``; an error →
  ``link_failed``) next to a writer (outbox → ``send_all``) until ``CloseLink``;
* per embedded link: one task that owns the link's worker threads
  (:class:`~surreal_trio._links.EmbeddedRunner`): they create ``SyncEmbeddedDB`` and run each
  of ``messages_to_send`` (flush hands them over), a slow one holding up no other call; a
  thread wakes the link's task with one ``TrioToken.run_sync_soon`` per batch of outcomes,
  and the task feeds them to the engine. Closing waits for the calls under way, closes the
  engine and joins the threads;
* per exchange on an ``httpx`` link (``http_client=``): one task carries the request through
  the user's ``httpx.AsyncClient`` (nothing to open or close: the client is the user's);
  ``CancelHttpRequest`` and ``CloseLink`` cancel it;
* the timer: sleeps in a ``CancelScope`` whose ``deadline`` is ``engine.next_deadline()``
  (call deadlines, keepalive, connect timeouts, reconnect backoff, renewals), then
  ``handle_timeout``;
* one task per credentials-provider or ``prepare`` run (outside any engine call).

**Callers** start their call (``engine.start``), flush, and wait on a ``trio.Event``; the
outcome event sets it. A cancelled caller (``trio.move_on_after``, any cancel scope) calls
``engine.cancel``: the request is abandoned and its late reply dropped. Call deadlines are
the engine's (``SurrealTimeoutError``). A link task that ends without the engine closing the
link (it was cancelled) reports the link failed, so a ``close()`` never waits for it.

**Where the service nursery lives.** Inside ``async with AsyncSurreal(...)`` (or
``open_surreal``) the client owns a nursery for the block and the service runs in it, as
structured concurrency wants. The seed's form without a context manager (``db =
AsyncSurreal(url)``; ``await db.use(...)``; ``await db.close()``) has no nursery to borrow, so
the first call that needs background work starts the service as a **trio system task**
(``trio.lowlevel.spawn_system_task``), which opens the same service nursery. We chose that
over "callers take turns driving the reader" because a connection has work when nobody is
waiting on a call: keepalive pings, live notifications into bounded queues, reconnect
backoff, session renewal, the HTTP pool and the embedded worker threads; with turn-taking
each of those needs a hand-off protocol between callers and still stalls when the last
caller leaves. A system task is what trio offers libraries for exactly this; its rules are
kept: it never raises (every failure is reported to the engine, anything unexpected is
logged and fails the waiting calls), and trio cancels it when the run ends, which closes the
sockets of a client the user forgot to close. ``close()`` stops the service and waits for it
(nothing is left behind); a later call starts a fresh one.
"""

from __future__ import annotations

import functools
import inspect
import logging
import math
import random
import ssl
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, Final

import trio

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
    HttpRequest,
    InsecureTransportDetected,
    NotificationsQueued,
    OpenLink,
    PrepareNeeded,
    ProtocolViolation,
    ProviderNeeded,
    ReconnectScheduled,
    SessionRestoreFailed,
    StateChanged,
    Subscription,
    SubscriptionEnded,
    SurrealConnectionError,
    SurrealError,
    calls,
)

from . import _links
from ._links import Link

__all__ = ["Driver"]

_log: Final = logging.getLogger("surreal_trio")
#: Set in the task that runs the user's ``prepare``: its calls go out during setup.
_SETUP: ContextVar[bool] = ContextVar("surreal_trio_setup", default=False)
_BUFSIZE: Final = 65536
#: How long links may take to finish closing after ``close()`` before they are cancelled.
_STOP_GRACE: Final = 2.0


def now() -> float:
    """The driver's clock (trio's, so ``trio.testing.MockClock`` drives every deadline)."""
    return trio.current_time()


class _Waiter:
    __slots__ = ("done", "error", "value")

    def __init__(self) -> None:
        self.done = trio.Event()
        self.value: Any = None
        self.error: SurrealError | None = None


class _Service:
    """One run of the service nursery (from the first link to ``close()``)."""

    __slots__ = ("done", "nursery", "pending", "stop")

    def __init__(self) -> None:
        self.nursery: trio.Nursery | None = None
        self.pending: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []
        self.stop = trio.Event()
        self.done = trio.Event()


class Driver:
    """Runs one client engine on trio (see the module docstring).

    Args:
        client: the object handed to ``prepare``.
        options: the :class:`~surreal_proto.ClientEngine` options (without the clock ones).
        ssl_context: the ``ssl`` option.
        auth_provider: the ``auth`` callable, if ``auth`` was one.
        prepare: the ``prepare`` callable.
        on_state_change: called as ``on_state_change(old, new)`` on every state change.
    """

    def __init__(self, client: Any, url: str, options: dict[str, Any], *,
                 ssl_context: Any, auth_provider: Callable[[], Any] | None,
                 prepare: Callable[[Any], Any] | None,
                 on_state_change: Callable[[ClientState, ClientState], Any] | None,
                          http_client: Any = None) -> None:
        self._client = client
        self._http_client = http_client
        self._body_limit = options.get("max_message_size", DEFAULT_MAX_MESSAGE_SIZE)
        self._url = url
        self._options = options
        self._ssl_option = ssl_context
        self._ssl_default: Any = None
        self._auth_provider = auth_provider
        self._prepare = prepare
        self._on_state_change = on_state_change
        self._clock_known = trio.lowlevel.in_trio_run()
        self.engine = self._new_engine()
        self._links: dict[int, Link] = {}
        self._waiters: dict[int, _Waiter] = {}
        self._live: dict[int, trio.Event] = {}
        self._service: _Service | None = None
        self._timer_scope: trio.CancelScope | None = None
        #: The nursery of ``async with`` (set by the client while the block runs).
        self.owner: trio.Nursery | None = None
        #: Private seam for tests: how stream links are opened.
        self._stream_opener: _links.StreamOpener = _links.open_stream

    def _new_engine(self) -> ClientEngine:
        clock = trio.current_time() if self._clock_known else time.perf_counter()
        return ClientEngine(self._url, wall_clock_offset=time.time() - clock,
                            rng=random.random, http_client=self._http_client is not None,
                            **self._options)

    def _check_clock(self) -> None:
        # Built outside trio.run: the wall-clock offset was a guess. Nothing has happened
        # yet (no call, no link), so build the engine again with trio's clock.
        if not self._clock_known:
            self._clock_known = True
            if self.engine.state in (ClientState.IDLE, ClientState.CLOSED) and not self._links:
                self.engine = self._new_engine()

    # ------------------------------------------------------------------ calls

    async def call(self, call: calls.Call, *, session: Any = None, txn: Any = None) -> Any:
        """Start ``call`` and wait for its outcome (cancellation abandons it)."""
        self._check_clock()
        call_id = self.engine.start(call, session=session, txn=txn, now=now(),
                                    setup=_SETUP.get())
        return await self.wait(call_id)

    async def new_session(self) -> Any:
        """Attach a new session; return its id once the server has it."""
        self._check_clock()
        session, call_id = self.engine.new_session(now=now())
        await self.wait(call_id)
        return session

    async def wait(self, call_id: int) -> Any:
        """Flush, then wait for the outcome of ``call_id``."""
        waiter = self._waiters[call_id] = _Waiter()
        self.flush()
        try:
            await waiter.done.wait()
        finally:
            if not waiter.done.is_set():
                self._waiters.pop(call_id, None)
                self.engine.cancel(call_id, now=now())
                self.flush()
        if waiter.error is not None:
            raise waiter.error
        return waiter.value

    async def close(self) -> None:
        """Close the engine and wait until its links closed and the service stopped (the
        service stops itself once the engine is ``CLOSED``, also if this wait is cancelled)."""
        self._check_clock()
        service = self._service
        await self.wait(self.engine.close(now=now()))
        if service is not None:
            with trio.CancelScope(shield=True), trio.move_on_after(_STOP_GRACE + 1):
                await service.done.wait()

    def subscribe(self, live_id: Any) -> Subscription:
        """The engine's subscription of a live query (see ``subscribe_live``)."""
        self._check_clock()
        subscription = self.engine.subscribe_live(live_id, now=now())
        self.flush()
        return subscription

    def live_event(self, sub_id: int) -> trio.Event:
        """The event set when subscription ``sub_id`` has news (items or its end)."""
        event = self._live.get(sub_id)
        if event is None or event.is_set():
            event = self._live[sub_id] = trio.Event()
        return event

    # ------------------------------------------------------------------ flush

    def flush(self) -> None:
        """Bytes and messages out, then events, until nothing moves; re-arm the timer."""
        engine = self.engine
        while True:
            for link in self._links.values():
                if link.stream is not None:
                    data = engine.data_to_send(link.link_id)
                    if data:
                        link.outbox += data
                        link.wake.set()
                elif link.db is not None:
                    assert link.runner is not None
                    execute = link.db.execute
                    for message in engine.messages_to_send(link.link_id):
                        link.runner.submit(message.request_id, execute, message.data)
                elif link.base_url is not None:
                    for request_id, request in engine.http_requests_to_send(link.link_id):
                        scope = link.exchanges[request_id] = trio.CancelScope()
                        self._spawn(self._exchange, link, request_id, request, scope)
            events = engine.events()
            if not events:
                break
            for event in events:
                self._dispatch(event)
        if self._timer_scope is not None:
            # Only ever moved earlier: every call pushes the next deadline later, and moving
            # the scope per call costs more than one early wake-up (the timer task then finds
            # nothing due, handle_timeout is safe to call early, and it sleeps again until the
            # deadline it reads then).
            deadline = engine.next_deadline()
            if deadline is not None and deadline < self._timer_scope.deadline:
                self._timer_scope.deadline = deadline

    def _dispatch(self, event: ClientEvent) -> None:
        if isinstance(event, CallSucceeded | CallFailed):
            waiter = self._waiters.pop(event.call_id, None)
            if waiter is not None:
                if isinstance(event, CallFailed):
                    waiter.error = event.error
                else:
                    waiter.value = event.value
                waiter.done.set()
        elif isinstance(event, NotificationsQueued | SubscriptionEnded):
            live = self._live.pop(event.sub_id, None)
            if live is not None:
                live.set()
        elif isinstance(event, OpenLink):
            link = self._links[event.link_id] = Link(event)
            if event.transport == "httpx":  # the user's client: nothing to open
                link.base_url = event.base_url or ""
                self.engine.link_opened(event.link_id, now=now())
            else:
                self._spawn(self._run_embedded if event.transport == "embedded"
                            else self._run_stream, link)
        elif isinstance(event, CancelHttpRequest):
            owner = self._links.get(event.link_id)
            scope = owner.exchanges.pop(event.request_id, None) if owner else None
            if scope is not None:
                scope.cancel()
        elif isinstance(event, CloseLink):
            self._close_link(event.link_id)
        elif isinstance(event, ProviderNeeded):
            self._spawn(self._run_provider, event)
        elif isinstance(event, PrepareNeeded):
            self._spawn(self._run_prepare, event)
        else:
            self._notice(event)

    def _notice(self, event: ClientEvent) -> None:
        if isinstance(event, StateChanged):
            _log.debug("state %s -> %s", event.old.name, event.new.name)
            if event.new is ClientState.CLOSED and self._service is not None:
                self._service.stop.set()  # links finish closing; a new call starts afresh
                self._service = None
            if self._on_state_change is not None:
                try:
                    result = self._on_state_change(event.old, event.new)
                    if inspect.isawaitable(result):
                        self._spawn(_await, result)
                except Exception:
                    _log.exception("the on_state_change callback raised")
        elif isinstance(event, ProtocolViolation):
            _log.warning("skipped a message the server sent: %s", event.error)
        elif isinstance(event, InsecureTransportDetected):
            _log.warning("%s is not encrypted and %s is not this machine: credentials and "
                         "data cross the network in clear text", event.url, event.host)
        elif isinstance(event, ReconnectScheduled):
            _log.info("reconnect attempt %d in %.2f s (%s)", event.attempt, event.delay,
                      event.error)
        elif isinstance(event, AuthenticationLost):
            _log.warning("authentication could not be restored after a reconnect "
                         "(session %s): the connection is anonymous now", event.session)
        elif isinstance(event, SessionRestoreFailed):
            _log.warning("restoring %s after a reconnect failed: %s", event.step, event.error)

    # ------------------------------------------------------------------ the service

    def _spawn(self, fn: Callable[..., Any], *args: Any) -> None:
        service = self._service
        if service is None:
            service = self._service = _Service()
            if self.owner is not None:
                self.owner.start_soon(self._serve, service)
            else:
                trio.lowlevel.spawn_system_task(self._serve, service)
        if service.nursery is not None:
            service.nursery.start_soon(fn, *args)
        else:
            service.pending.append((fn, args))

    async def _serve(self, service: _Service) -> None:
        try:
            async with trio.open_nursery() as nursery:
                service.nursery = nursery
                timer = trio.CancelScope()
                nursery.start_soon(self._timer, timer)
                for fn, args in service.pending:
                    nursery.start_soon(fn, *args)
                service.pending.clear()
                await service.stop.wait()
                timer.cancel()
                nursery.cancel_scope.deadline = now() + _STOP_GRACE
        except Exception as exc:  # a bug: never let it crash trio.run or hang the callers
            _log.exception("the surreal_trio service failed")
            for call_id in list(self._waiters):
                error = SurrealConnectionError("the client's background task failed")
                error.__cause__ = exc
                self._dispatch(CallFailed(call_id=call_id, error=error))
        finally:
            if self._service is service:
                self._service = None
            service.done.set()

    async def _timer(self, outer: trio.CancelScope) -> None:
        scope = None
        with outer:
            while True:
                deadline = self.engine.next_deadline()
                with trio.CancelScope(deadline=math.inf if deadline is None
                                      else deadline) as scope:
                    self._timer_scope = scope
                    await trio.sleep_forever()
                self.engine.handle_timeout(now())
                self.flush()
        if self._timer_scope is scope:
            self._timer_scope = None

    # ------------------------------------------------------------------ links

    def _close_link(self, link_id: int) -> None:
        link = self._links.get(link_id)
        if link is None:
            return
        if link.base_url is not None:  # httpx: stop its exchanges (the client is the user's)
            del self._links[link_id]
            for scope in link.exchanges.values():
                scope.cancel()
            link.exchanges.clear()
            return
        data = self.engine.data_to_send(link_id)
        if data:
            link.outbox += data
        link.closing = True
        if link.stream is None and link.db is None:
            link.open_scope.cancel()  # still opening
        link.wake.set()

    def _failed(self, link: Link, exc: BaseException) -> None:
        # Opening, a read or a write failed, or the link's task was cancelled: report it once.
        # The stream is dead, so end-of-stream too: the engine drops the link at once.
        if link.closing or link.broken:
            return
        link.broken = True
        self.engine.link_failed(link.link_id, _links.root_cause(exc), now=now())
        self.engine.receive_eof(link.link_id, now=now())
        self.flush()

    def _gone(self, link: Link) -> None:
        # The link's task ends (in `finally`). Unless the engine closed the link, the task was
        # cancelled (close() of a cancelled `async with`, the end of trio.run): say so, or a
        # close() would wait for the link forever.
        self._links.pop(link.link_id, None)
        self._failed(link, SurrealConnectionError("the link's background task was cancelled"))

    async def _run_stream(self, link: Link) -> None:
        stream: trio.abc.Stream | None = None
        try:
            with link.open_scope:
                stream = await self._stream_opener(link.event, self._ssl_context())
            if stream is None or link.closing:
                return
            link.stream = stream
            self.engine.link_opened(link.link_id, now=now())
            self.flush()
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._read, link, stream)
                await self._write(link, stream)
                nursery.cancel_scope.cancel()
        except Exception as exc:
            self._failed(link, exc)
        finally:
            self._gone(link)
            if stream is not None:
                await _links.aclose(stream)

    def _ssl_context(self) -> Any:
        # Default: verify certificates and host names (made once, at the first TLS link).
        if self._ssl_option is None and self._ssl_default is None and self.engine.endpoint.tls:
            self._ssl_default = ssl.create_default_context()
        return self._ssl_option or self._ssl_default

    async def _read(self, link: Link, stream: trio.abc.Stream) -> None:
        engine = self.engine
        try:
            while not link.closing:
                data = bytes(await stream.receive_some(_BUFSIZE))
                if link.ending():
                    return
                if not data:
                    engine.receive_eof(link.link_id, now=now())
                    self.flush()
                    return
                engine.receive_data(link.link_id, data, now=now())
                self.flush()
        except Exception as exc:
            self._failed(link, exc)

    async def _write(self, link: Link, stream: trio.abc.Stream) -> None:
        while True:
            if link.outbox:
                data = bytes(link.outbox)
                link.outbox.clear()
                if not link.broken:
                    try:
                        await stream.send_all(data)
                    except Exception as exc:
                        self._failed(link, exc)
                continue
            if link.closing:
                return
            link.wake = trio.Event()
            await link.wake.wait()

    async def _run_embedded(self, link: Link) -> None:
        # Opens the engine on a runner thread, then feeds the engine the outcomes of the
        # calls (flush hands the calls to the runner) in batches: a runner thread wakes this
        # task with one TrioToken.run_sync_soon per batch. Once the link ends, it stops the
        # runner: the executions under way end first (they cannot be interrupted), the last
        # thread closes the engine, and no thread is left behind.
        runner = link.runner = _links.EmbeddedRunner(functools.partial(
            trio.lowlevel.current_trio_token().run_sync_soon, _wake, link))
        try:
            runner.submit(_links.OPENED, link.open_embedded, link.event.embedded_url)
            while True:
                self._embedded_done(link, runner.take())
                if link.ending():
                    break
                link.wake = trio.Event()
                await link.wake.wait()
        except Exception as exc:
            self._failed(link, exc)
        finally:
            self._gone(link)
            runner.stop(link.close_embedded)
            with trio.CancelScope(shield=True):
                while True:
                    runner.take()  # (ignored: the link is gone) before reading `stopped`
                    if runner.stopped:
                        break
                    link.wake = trio.Event()
                    await link.wake.wait()
            runner.join()
            # (No cycle left through the runner's callback: the engine is freed now.)
            link.runner = link.db = link.opened = None

    def _embedded_done(self, link: Link, outcomes: list[_links.Outcome]) -> None:
        engine = self.engine
        for tag, result, exc in outcomes:
            if link.ending():
                return
            if tag is _links.OPENED:
                if exc is not None:
                    self._failed(link, exc)
                    return
                link.db = result
                engine.link_opened(link.link_id, now=now())
            elif exc is None:
                engine.receive_message(link.link_id, result, now=now(), request_id=tag)
            else:
                engine.receive_failure(link.link_id, tag, exc, now=now())
        if outcomes:
            self.flush()

    async def _exchange(self, link: Link, request_id: Any, request: HttpRequest,
                        scope: trio.CancelScope) -> None:
        assert link.base_url is not None
        outcome: tuple[int, Any, bytes] | None = None
        error: Exception | None = None
        try:
            with scope:
                outcome = await _links.http_exchange(
                    self._http_client, link.base_url + request.target, request,
                    self._body_limit)
        except Exception as exc:
            error = exc
        finally:
            # Not ours any more: the engine gave up on it (CancelHttpRequest, CloseLink).
            if link.exchanges.pop(request_id, None) is not None:
                if outcome is not None:
                    self.engine.receive_http_response(link.link_id, request_id, *outcome,
                                                      now=now())
                else:  # failed, or cancelled from outside (a cancelled `async with`...)
                    self.engine.receive_http_failure(
                        link.link_id, request_id, error or SurrealConnectionError(
                            "the HTTP exchange's task was cancelled"), now=now())
                self.flush()

    # ------------------------------------------------------------------ user callables

    async def _run_provider(self, event: ProviderNeeded) -> None:
        assert self._auth_provider is not None
        _SETUP.set(False)  # (the task may have been started from a prepare task)
        try:
            answer = self._auth_provider()
            if inspect.isawaitable(answer):
                answer = await answer
        except Exception as exc:
            self.engine.provider_failed(event.ticket, exc, now=now())
        else:
            self.engine.provide_auth(event.ticket, answer, now=now())
        self.flush()

    async def _run_prepare(self, event: PrepareNeeded) -> None:
        assert self._prepare is not None
        _SETUP.set(True)
        try:
            result = self._prepare(self._client)
            if inspect.isawaitable(result):
                await result
        except Exception as exc:
            self.engine.prepare_failed(event.ticket, exc, now=now())
        else:
            self.engine.prepare_done(event.ticket, now=now())
        self.flush()


def _wake(link: Link) -> None:
    # Run by trio (TrioToken.run_sync_soon) for a runner thread: the link's task takes the
    # outcomes.
    link.wake.set()


async def _await(awaitable: Any) -> None:
    _SETUP.set(False)
    try:
        await awaitable
    except Exception:
        _log.exception("the on_state_change callback raised")
