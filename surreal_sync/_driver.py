"""The engine driver of the blocking client: one lock, the links, the reader role, waiters.

:class:`Driver` runs the adapter loop of :class:`surreal_proto.ClientEngine` (its module
docstring) for any number of threads sharing one client. Everything that touches the engine,
the link table, a socket or a waiter happens under ONE ``threading.Lock``; the lock is
dropped only around blocking work: ``select``, opening a link (TCP, TLS, the embedded
engine), the embedded engine's ``execute``, and the user's callables (``auth`` provider,
``prepare``, ``on_state_change``). Bytes are written by whichever thread flushes, under the
lock (sockets are non-blocking; a write waits at most ``keepalive_timeout`` for room).

**Calls.** A thread calling a method starts the call (``engine.start``), registers a
:class:`_Waiter` under the call id, flushes, then waits until ``CallSucceeded``/``CallFailed``
for that id resolves the waiter. Replies are dispatched by call id, so any number of threads
have requests in flight on one socket at once.

**The reader role (leader/follower).** At most one waiting thread at a time holds the
*reader role* (``_reader``, a thread id), and only that thread selects and reads. A thread
that must wait (for a reply, a notification, the end of ``close()``) runs
:meth:`Driver._wait`, a loop:

1. if its condition holds, it returns;
2. if the role is free (or already its own), it takes it and is the *leader* for one round:
   it puts every open socket (the WebSocket, each HTTP pool connection, an
   ``import_``/``export`` link) and a wake-up socket in a selector, drops the lock, selects
   with a timeout of ``min(its own deadline, engine.next_deadline())`` (no wait at all while
   TLS holds decrypted bytes), takes the lock back, reads every ready socket into the engine,
   runs ``handle_timeout`` if the engine's deadline passed, and flushes. The flush resolves
   waiters: its own, or other threads' (each is notified on its own condition);
3. otherwise it is a *follower*: it sleeps on its waiter's condition (which shares the lock)
   until its waiter is resolved or it is promoted; if the engine's next deadline comes
   first, it runs ``handle_timeout`` itself (the leader may be busy outside the lock:
   connecting, executing, in user code).

When a leader's own condition holds, it returns, releasing the role, and *promotes* the
longest-sleeping follower (notifies it): that thread wakes, finds the role free and leads
next, or, if its own outcome arrived meanwhile, returns and promotes the next one. So a single
thread reads its own replies with no thread hand-off at all, and with several threads the
current leader hands each reply straight to its waiter. Whoever must interrupt a leader
blocked in ``select`` (a new link to watch, an earlier deadline, the leader's own waiter
resolved by another thread, a link to close) writes one byte to the wake-up socket. Sockets
are closed only while nobody selects; otherwise the leader closes them when ``select``
returns. A thread that needs the role while holding it (``prepare`` runs inside the leader's
flush and makes calls) simply keeps leading.

**The background reader.** Live notifications (and keepalive pings) must be read while no
caller waits. So while the client has live subscriptions (from ``live()`` or
``subscribe_live()`` until each is killed or otherwise ends), a daemon thread runs
:meth:`_wait` like any caller, with the condition "no live subscription left". It takes the
role when it is free and keeps it while subscriptions remain (callers are then followers and
each reply costs one hand-off: the price of live queries); when a caller leads, it is a
follower like any other. It starts with the first subscription; when the last one ends it is
woken (its condition holds), gives the role back and exits; ``close()`` joins it.

**Idle links.** Nobody reads while no thread waits and no subscription is active, so a call
that starts while no thread leads first polls the links (``select(0)``) and reads whatever
arrived meanwhile: a WebSocket the server dropped, or an HTTP keep-alive connection it closed
while idle, is then replaced before a call is written to it (and a write never goes out on a
link already known dead, where it could only end in ``OutcomeUnknownError``).

**Embedded engine.** No sockets: the thread whose flush takes the engine's messages executes
them itself, outside the lock (the extension releases the GIL), then feeds the replies back;
several threads execute at once. An engine is closed only once no thread executes on it.

**Deadlines and cancellation.** The engine owns call deadlines; the leader's ``select``
timeout (and each follower's sleep) includes them, so an expired call fails with
``SurrealTimeoutError``, its request is abandoned and the connection stays usable. An
embedded ``execute`` cannot be interrupted: its caller gets the timeout when it returns. A
thread leaving its wait by an exception (``KeyboardInterrupt``) cancels its call
(``engine.cancel``); the late reply is dropped.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, Final
from uuid import UUID

from surreal_proto import (
    AuthenticationLost,
    CallFailed,
    CallId,
    CallSucceeded,
    CancelHttpRequest,
    ClientEngine,
    ClientEvent,
    ClientState,
    CloseLink,
    InsecureTransportDetected,
    LiveNotification,
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
    SurrealError,
    SurrealTimeoutError,
    calls,
)

from ._links import (
    Link,
    Links,
    close_quietly,
    exchange,
    open_embedded,
    open_stream,
    read_available,
    send_all,
    tls_pending,
)
from ._log import ClientLogger

if TYPE_CHECKING:
    import ssl

__all__ = ["Driver"]

log: Final = ClientLogger("surreal_sync")

#: Set while the ``prepare`` callable runs in this thread: its calls start with setup=True.
_IN_PREPARE: Final = contextvars.ContextVar("surreal_sync_in_prepare", default=False)
_JOIN_TIMEOUT: Final = 5.0


class _Waiter:
    """One thread waiting for something (a call's outcome, a notification...)."""

    __slots__ = ("_cond", "_lock", "done", "error", "value")

    def __init__(self, lock: threading.Lock) -> None:
        self._lock = lock
        # Made when the thread first sleeps: most calls are resolved by their own thread's
        # leader round and never sleep (a Condition costs ~5 µs to make).
        self._cond: threading.Condition | None = None
        self.done = False
        self.value: Any = None
        self.error: SurrealError | None = None

    def sleep(self, timeout: float | None) -> None:
        """Lock held: sleep until notified or ``timeout``."""
        if self._cond is None:
            self._cond = threading.Condition(self._lock)
        self._cond.wait(timeout)

    def notify(self) -> None:
        """Lock held: wake the thread if it sleeps (a thread that never slept has nothing
        to wake: it checks its condition before it first sleeps)."""
        if self._cond is not None:
            self._cond.notify()


class Driver:
    """Drives one :class:`ClientEngine` for many threads (see the module docstring)."""

    def __init__(self, engine: ClientEngine, *, client: Any,
                 ssl_context: ssl.SSLContext | None, connect_timeout: float | None,
                 stall_timeout: float, auth_provider: Callable[[], Any] | None,
                 prepare: Callable[[Any], Any] | None,
                 on_state_change: Callable[[ClientState, ClientState], Any] | None,
                 http_client: Any, max_message_size: int | None) -> None:
        self.engine = engine
        self._client = client
        self._ssl = ssl_context
        self._connect_timeout = connect_timeout
        self._stall = stall_timeout
        self._provider = auth_provider
        self._prepare = prepare
        self._on_state_change = on_state_change
        self._http_client = http_client
        self._max_size = max_message_size
        self.lock = threading.Lock()
        self._links = Links()
        self._waiters: dict[CallId, _Waiter] = {}
        self._sub_waiters: dict[int, set[_Waiter]] = {}
        self._live: dict[int, Subscription] = {}
        self._sleepers: dict[_Waiter, None] = {}  # followers, oldest first
        self._reader: int | None = None  # the leader's thread id
        self._reader_waiter: _Waiter | None = None
        self._selecting = False  # the leader is in select (without the lock)
        self._select_until: float | None = None
        self._to_close: list[Link] = []  # to close once the leader's select returned
        self._bg_waiter: _Waiter | None = None
        self._bg_threads: list[threading.Thread] = []

    # ------------------------------------------------------------------ public entry points

    def call(self, call: calls.Call, *, session: UUID | None = None,
             txn: UUID | None = None) -> Any:
        """Run one call to completion in this thread; return its value or raise its error."""
        with self.lock:
            now = time.monotonic()
            if self._reader is None:
                for link in self._links.by_id.values():
                    if link.sock is not None:  # (the embedded engine has nothing to read)
                        self._read_idle(now)
                        break
            call_id = self.engine.start(call, session=session, txn=txn, now=now,
                                        setup=_IN_PREPARE.get())
            return self._await(call_id)

    def connect(self) -> None:
        """Connect now (at once if connected)."""
        with self.lock:
            self._await(self.engine.connect(now=time.monotonic()))

    def new_session(self) -> UUID:
        """Attach a new session; return its id."""
        with self.lock:
            session, call_id = self.engine.new_session(now=time.monotonic())
            self._await(call_id)
            return session

    def close(self) -> None:
        """Close: fail waiting calls, end subscriptions, close every link, stop threads."""
        with self.lock:
            self._await(self.engine.close(now=time.monotonic()))
            threads = [t for t in self._bg_threads if t is not threading.current_thread()]
            self._bg_threads = []
        for thread in threads:
            thread.join(_JOIN_TIMEOUT)
        with self.lock:
            if self._reader != threading.get_ident():  # let a last leader round finish
                self._wait(_Waiter(self.lock), lambda: self._reader is None,
                           time.monotonic() + _JOIN_TIMEOUT, lead=False)
            if self._reader is None and not self._links.by_id:
                self._links.teardown()

    def subscribe(self, live_id: UUID | str) -> Subscription:
        """The engine's subscription for ``live_id``; reading runs while it is active."""
        with self.lock:
            sub = self.engine.subscribe_live(live_id, now=time.monotonic())
            self._flush()
            if not sub.ended and sub.sub_id not in self._live:
                self._live[sub.sub_id] = sub
                self._ensure_background()
            return sub

    def next_notification(self, sub: Subscription,
                          timeout: float | None) -> LiveNotification | None:
        """The next notification of ``sub``, or ``None`` once it ended and is drained.

        Raises:
            SurrealTimeoutError: none arrived within ``timeout`` seconds.
        """
        with self.lock:
            deadline = None if timeout is None else time.monotonic() + timeout
            waiter = _Waiter(self.lock)
            waiters = self._sub_waiters.setdefault(sub.sub_id, set())
            waiters.add(waiter)
            try:
                while True:
                    items = sub.take(1)
                    if items:
                        return items[0]
                    if sub.finished:
                        return None
                    if not self._wait(waiter, lambda: len(sub) > 0 or sub.ended, deadline):
                        raise SurrealTimeoutError(
                            f"no live notification within {timeout:g} s")
            finally:
                waiters.discard(waiter)
                if not waiters:
                    self._sub_waiters.pop(sub.sub_id, None)

    def read(self, getter: Callable[[ClientEngine], Any]) -> Any:
        """Read an engine property under the lock."""
        with self.lock:
            return getter(self.engine)

    # ------------------------------------------------------------------ waiting

    def _await(self, call_id: CallId) -> Any:
        # Lock held. Wait for the outcome of call_id; cancel it if the wait is interrupted.
        waiter = _Waiter(self.lock)
        self._waiters[call_id] = waiter
        try:
            self._flush()
            if not waiter.done:
                self._wait(waiter, lambda: waiter.done, None)
            elif self._reader is None and self._sleepers:
                self._promote()  # as _wait would on its way out
        except BaseException:
            if not waiter.done:
                self.engine.cancel(call_id, now=time.monotonic())
                self._flush()
            raise
        finally:
            self._waiters.pop(call_id, None)
        if waiter.error is not None:
            raise waiter.error
        return waiter.value

    def _wait(self, waiter: _Waiter, done: Callable[[], bool], deadline: float | None, *,
              lead: bool = True) -> bool:
        """Lock held: wait until ``done()`` (True) or ``deadline`` (False), as the leader
        when the reader role is free (``lead``), else as a follower."""
        me = threading.get_ident()
        took = False
        try:
            while not done():
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                if lead and self._reader is None:
                    self._reader = me
                    took = True
                if lead and self._reader == me:
                    outer = self._reader_waiter
                    self._reader_waiter = waiter
                    try:
                        self._round(deadline)
                    finally:
                        self._reader_waiter = outer
                else:
                    # Engine deadlines are the leader's job, but it may be busy outside the
                    # lock (connecting, executing, running user code): a follower whose
                    # sleep reaches one handles it too (handle_timeout is idempotent).
                    now = time.monotonic()
                    due = self.engine.next_deadline()
                    if due is not None and due <= now:
                        self.engine.handle_timeout(now)
                        self._flush()
                        continue
                    if due is not None:
                        remaining = due - now if remaining is None else min(remaining,
                                                                            due - now)
                    self._sleepers[waiter] = None
                    try:
                        waiter.sleep(remaining)
                    finally:
                        self._sleepers.pop(waiter, None)
            return True
        finally:
            if took:
                self._reader = None
                if not self._links.by_id:  # closed or dropped: release the wake-up pair
                    self._links.teardown()
            if self._reader is None and self._sleepers:
                self._promote()

    def _promote(self) -> None:
        # Lock held, the role free: the longest sleeping follower leads next (or passes it on).
        first = next(iter(self._sleepers))
        del self._sleepers[first]
        first.notify()

    def _kick(self, waiter: _Waiter) -> None:
        # Lock held: the condition of waiter's thread may hold now.
        if self._selecting and waiter is self._reader_waiter:
            self._wake()
        else:
            waiter.notify()

    def _wake(self) -> None:
        # Lock held: interrupt the leader's select.
        if self._selecting:
            self._links.wake()

    # ------------------------------------------------------------------ one leader round

    def _round(self, deadline: float | None) -> None:
        engine = self.engine
        now = time.monotonic()
        due = engine.next_deadline()
        if due is not None and due <= now:
            engine.handle_timeout(now)
            self._flush()
            return
        selector = self._links.selector()
        pending = [ln for ln in self._links.by_id.values()
                   if ln.sock is not None and ln.state == "open" and tls_pending(ln.sock)]
        until = due if deadline is None or (due is not None and due < deadline) else deadline
        timeout = 0.0 if pending else None if until is None else max(0.0, until - now)
        self._selecting, self._select_until = True, until
        self.lock.release()
        try:
            ready = selector.select(timeout)
        finally:
            self.lock.acquire()
            self._selecting = False
        readable = [key.data for key, _ in ready if key.data is not None]
        if len(readable) < len(ready):  # the wake-up socket too
            self._links.drain_wake()
        for link in self._to_close:
            self._links.close_socket(link)
        self._to_close.clear()
        now = time.monotonic()
        if pending:
            readable += [ln for ln in pending if ln not in readable]
        for link in readable:
            if link.stream is not None:
                self._read(link, now)
        # The deadline read before select: one that the bytes just read brought forward is
        # seen at the start of the next round.
        if due is not None and due <= now:
            engine.handle_timeout(now)
        self._flush()

    def _read_idle(self, now: float) -> None:
        """Lock held, nobody selecting: read what arrived while no thread was waiting.

        Without it, a keep-alive HTTP connection that the server closed while the client was
        idle (servers and proxies close idle connections after a few seconds) would look
        usable until the next call was written to it, and that call would fail with
        ``OutcomeUnknownError``. Reading its end of stream first lets the engine open a fresh
        connection instead (what urllib3 does with its dropped-connection check).
        """
        ready = self._links.selector().select(0)
        if not ready:
            return
        if any(key.data is None for key, _ in ready):
            self._links.drain_wake()
        for key, _ in ready:
            if key.data is not None and key.data.stream is not None:
                self._read(key.data, now)
        self._flush()

    def _read(self, link: Link, now: float) -> None:
        assert link.sock is not None
        try:
            data = read_available(link.sock)
        except OSError as exc:
            self.engine.link_failed(link.link_id, exc, now=now)
            return
        if data is None:
            return
        if data:
            self.engine.receive_data(link.link_id, data, now=now)
        else:
            self.engine.receive_eof(link.link_id, now=now)

    # ------------------------------------------------------------------ flush

    def _flush(self) -> None:
        """Lock held (dropped around blocking work): bytes out, embedded requests executed,
        then events, until nothing moves; then re-arm the leader's timer."""
        engine = self.engine
        while True:
            jobs = self._send()
            if jobs:
                self._execute(jobs)
            events = engine.events()
            if len(events) > 1:
                # The user's callables last: calls they make must not overtake these outcomes.
                events = sorted(events, key=lambda e: isinstance(
                    e, ProviderNeeded | PrepareNeeded | StateChanged))
            for event in events:
                self._handle(event)
            if not jobs and not events:
                break
        if self._selecting:
            due = engine.next_deadline()
            if due is not None and (self._select_until is None or due < self._select_until):
                self._wake()

    def _send(self) -> list[tuple[Link, Any, Callable[[], Any]]]:
        # Write the bytes of every socket; return the whole requests to carry in this thread
        # (embedded messages, httpx exchanges). A link is one of the three kinds.
        engine = self.engine
        jobs: list[tuple[Link, Any, Callable[[], Any]]] = []
        for link in list(self._links.by_id.values()):
            if link.state != "open":
                continue
            if link.sock is not None:
                data = engine.data_to_send(link.link_id)
                if data:
                    try:
                        send_all(link.sock, data, self._stall)
                    except OSError as exc:
                        engine.link_failed(link.link_id, exc, now=time.monotonic())
            elif link.db is not None:
                messages = engine.messages_to_send(link.link_id)
                if messages:
                    execute = link.db.execute
                    jobs += [(link, m.request_id, partial(execute, m.data)) for m in messages]
            elif link.base_url is not None:
                jobs += [(link, request_id, partial(exchange, self._http_client, link.base_url,
                                                    request, self._max_size))
                         for request_id, request in self.engine.http_requests_to_send(
                             link.link_id)]
        return jobs

    def _execute(self, jobs: list[tuple[Link, Any, Callable[[], Any]]]) -> None:
        # Lock held, dropped while the jobs run; their outcomes go back to the engine.
        for link, _, _ in jobs:
            link.busy += 1
        results: list[tuple[Link, Any, Any, Exception | None]] = []
        self.lock.release()
        try:
            for link, request_id, job in jobs:
                try:
                    results.append((link, request_id, job(), None))
                except Exception as exc:
                    results.append((link, request_id, None, exc))
        finally:
            self.lock.acquire()
            for link, _, _ in jobs:
                link.busy -= 1
                if link.state == "closed" and not link.busy and link.db is not None:
                    close_quietly(link.db)
        engine = self.engine
        now = time.monotonic()
        due = engine.next_deadline()
        if due is not None and due <= now:  # a job cannot be interrupted: time out late
            engine.handle_timeout(now)
        for link, request_id, value, failure in results:
            if link.db is not None:
                if failure is None:
                    engine.receive_message(link.link_id, value, now=now, request_id=request_id)
                else:
                    engine.receive_failure(link.link_id, request_id, failure, now=now)
            elif failure is None:
                status, headers, body = value
                engine.receive_http_response(link.link_id, request_id, status, headers, body,
                                             now=now)
            else:
                engine.receive_http_failure(link.link_id, request_id, failure, now=now)

    # ------------------------------------------------------------------ events

    def _handle(self, event: ClientEvent) -> None:
        if isinstance(event, CallSucceeded | CallFailed):
            waiter = self._waiters.get(event.call_id)
            if waiter is not None:
                waiter.done = True
                if isinstance(event, CallSucceeded):
                    waiter.value = event.value
                else:
                    waiter.error = event.error
                self._kick(waiter)
        elif isinstance(event, NotificationsQueued | SubscriptionEnded):
            for waiter in self._sub_waiters.get(event.sub_id, ()):
                self._kick(waiter)
            if isinstance(event, SubscriptionEnded):
                self._live.pop(event.sub_id, None)
                if not self._live and self._bg_waiter is not None:
                    self._kick(self._bg_waiter)
        elif isinstance(event, OpenLink):
            self._open(event)
        elif isinstance(event, CloseLink):
            self._close_link(event.link_id)
        elif isinstance(event, CancelHttpRequest):
            pass  # a blocking exchange cannot be stopped: its late outcome is dropped
        elif isinstance(event, ProviderNeeded):
            self._answer_provider(event)
        elif isinstance(event, PrepareNeeded):
            self._run_prepare(event)
        elif isinstance(event, StateChanged):
            log.debug("state %s -> %s", event.old.name, event.new.name)
            if self._on_state_change is not None:
                self._unlocked(self._on_state_change, event.old, event.new)
        else:
            self._notice(event)

    @staticmethod
    def _notice(event: ClientEvent) -> None:
        if isinstance(event, ProtocolViolation):
            log.warning("protocol violation: %s", event)
        elif isinstance(event, InsecureTransportDetected):
            log.warning("%s sends credentials and data unencrypted to %s", event.url,
                        event.host)
        elif isinstance(event, ReconnectScheduled):
            log.info("reconnect attempt %d in %.2f s (%s)", event.attempt, event.delay,
                     event.error)
        elif isinstance(event, AuthenticationLost):
            log.warning("session %s could not be authenticated again after a reconnect",
                        event.session or "default")
        elif isinstance(event, SessionRestoreFailed):
            log.warning("restoring %s of session %s failed: %s", event.step,
                        event.session or "default", event.error)

    def _unlocked(self, fn: Callable[..., Any], *args: Any) -> Any:
        # Run user code without the lock; a failing on_state_change is logged, not raised.
        self.lock.release()
        try:
            return fn(*args)
        except Exception:
            if fn is not self._on_state_change:
                raise
            log.exception("on_state_change raised")
            return None
        finally:
            self.lock.acquire()

    def _answer_provider(self, event: ProviderNeeded) -> None:
        assert self._provider is not None
        try:
            answer = self._unlocked(self._provider)
        except Exception as exc:
            self.engine.provider_failed(event.ticket, exc, now=time.monotonic())
        else:
            self.engine.provide_auth(event.ticket, answer, now=time.monotonic())

    def _run_prepare(self, event: PrepareNeeded) -> None:
        assert self._prepare is not None
        token = _IN_PREPARE.set(True)
        try:
            self._unlocked(self._prepare, self._client)
        except Exception as exc:
            self.engine.prepare_failed(event.ticket, exc, now=time.monotonic())
        else:
            self.engine.prepare_done(event.ticket, now=time.monotonic())
        finally:
            _IN_PREPARE.reset(token)

    # ------------------------------------------------------------------ links

    def _open(self, event: OpenLink) -> None:
        if event.transport == "httpx":  # the user's client: nothing to open
            link = self._links.by_id[event.link_id] = Link(event.link_id, event.base_url)
            link.state = "open"
            self.engine.link_opened(link.link_id, now=time.monotonic())
            return
        link = self._links.by_id[event.link_id] = Link(event.link_id)
        resource: Any = None
        error: Exception | None = None
        self.lock.release()
        try:
            if event.transport == "embedded":
                resource = open_embedded(event.embedded_url or "mem://")
            else:
                resource = open_stream(event, self._ssl, self._connect_timeout)
        except Exception as exc:
            error = exc
        finally:
            self.lock.acquire()
        now = time.monotonic()
        if link.state == "closed" or error is not None:
            self._links.by_id.pop(link.link_id, None)
            if resource is not None:  # the engine gave up on it meanwhile
                close_quietly(resource)
            if link.state != "closed":
                link.state = "closed"
                self.engine.link_failed(link.link_id, error or OSError("closed"), now=now)
        else:
            link.state = "open"
            if event.transport == "embedded":
                link.db = resource
            else:
                link.sock = resource
                self._wake()  # the leader must watch it
            self.engine.link_opened(link.link_id, now=now)

    def _close_link(self, link_id: int) -> None:
        link = self._links.by_id.get(link_id)
        if link is None:
            return
        opening = link.state == "opening"
        link.state = "closed"
        if opening:
            return  # its opener closes it and forgets it
        del self._links.by_id[link_id]
        if link.sock is not None:
            data = self.engine.data_to_send(link_id)
            if data:
                with contextlib.suppress(OSError):
                    send_all(link.sock, data, min(self._stall, 1.0))
            if self._selecting and link.registered:
                self._to_close.append(link)
                self._wake()
            else:
                self._links.close_socket(link)
        elif link.db is not None and not link.busy:
            close_quietly(link.db)

    # ------------------------------------------------------------------ background reader

    def _ensure_background(self) -> None:
        if self._bg_waiter is None and self._live:
            self._bg_waiter = _Waiter(self.lock)
            thread = threading.Thread(target=self._background, args=(self._bg_waiter,),
                                      name="surreal_sync-reader", daemon=True)
            self._bg_threads = [t for t in self._bg_threads if t.is_alive()]
            self._bg_threads.append(thread)
            thread.start()

    def _background(self, waiter: _Waiter) -> None:
        with self.lock:
            try:
                self._wait(waiter, lambda: not self._live, None)
            except Exception:
                log.exception("the background reader failed")
            finally:
                if self._bg_waiter is waiter:
                    self._bg_waiter = None
