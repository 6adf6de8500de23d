"""The upper half of the client engine: links coming and going, connection setup, auth
chains, and reconnecting.

* **Connecting** opens one link (``OpenLink``); when it is ready (WebSocket: handshake done)
  the engine runs the session tracker's :meth:`~._session.SessionTracker.replay_plan`, which
  is the same list for the first connect and for every reconnect: ``attach`` each session,
  authenticate (``auth=`` option, restored tokens, credentials, or the provider), ``use``,
  ``let``, the ``prepare`` callable, and restarting live queries. A ``version`` probe goes
  out alongside (with ``http_client``, where opening the link proves nothing, its transport
  failure fails the connect). User calls wait in the queue until all of it is done.
* **Auth chains** run a :class:`~._replay.PlannedCall` and its fallbacks (``authenticate``
  with a valid token, ``refresh``, ``signin`` with kept credentials, the provider) for one
  session: to restore it (plan), to renew it ahead of expiry, or to recover from an expiry
  error, after which the failed calls are sent again once (``protocol.md`` §7.8).
* **Losing a link**: before the connection was ever set up, every waiting call fails with
  the connect error. After, with reconnect enabled (WebSocket only), calls that cannot
  change data go back to the queue, the others fail with ``OutcomeUnknownError``, and the
  engine reconnects with backoff; otherwise every waiting call fails with
  ``ConnectionClosedError``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import Any, Final, Literal, TypeGuard
from uuid import UUID

from ._client_base import _EngineBase, _Rec
from ._client_events import (
    AuthenticationLost,
    CallSucceeded,
    ClientState,
    CloseLink,
    InsecureTransportDetected,
    NotificationsQueued,
    OpenLink,
    PrepareNeeded,
    ProviderNeeded,
    ReconnectScheduled,
    SessionRestoreFailed,
)
from ._client_links import Link, LinkRole, copy_error
from ._errors import (
    ConnectionClosedError,
    LocalProtocolError,
    ReconnectFailedError,
    SurrealConnectionError,
    SurrealError,
    SurrealTimeoutError,
)
from ._events import ConnectionClosed, PendingRequest
from ._http_connection import HttpContext
from ._replay import CallKind, PlannedCall, classify_unanswered, outcome_unknown_error
from ._subscriptions import RECONNECTED, LiveNotification
from ._ws import WebSocketConnection

__all__ = ["_SetupEngine"]

_LOST_MEMORY: Final = 1024


class _Chain:
    """One running re-authentication of one session, and the calls waiting for it."""

    __slots__ = ("on_finish", "session", "step", "waiters")

    def __init__(self, step: PlannedCall, waiters: Iterable[tuple[_Rec, SurrealError | None]],
                 on_finish: Callable[[_Chain, SurrealError | None, float], None] | None,
                 ) -> None:
        self.session = step.session
        self.step = step
        #: ``(call, error)``: re-send the call on success; on failure raise ``error`` (or,
        #: when ``None``, send the call anyway: an HTTP renewal ahead of expiry failed).
        self.waiters = list(waiters)
        self.on_finish = on_finish


class _Plan:
    """The replay plan of one connection setup, executed in order."""

    __slots__ = ("busy", "index", "initial", "prepare_ticket", "steps", "version_done")

    def __init__(self, steps: Iterable[PlannedCall], initial: bool) -> None:
        self.steps = list(steps)
        self.index = 0
        self.busy = False
        #: The first setup since connect()/close(): a failure fails the connect.
        self.initial = initial
        self.version_done = False
        self.prepare_ticket: int | None = None


class _SetupEngine(_EngineBase):
    """Links, setup, auth chains and reconnect (see the module docstring)."""

    def _init_setup(self) -> None:
        self._chains: dict[UUID | None, Any] = {}
        self._tickets: dict[int, _Chain] = {}
        self._plan: _Plan | None = None
        self._preparing = False
        self._established = False
        self._attempt = 0
        self._reconnect_at: float | None = None
        self._last_error: SurrealError | None = None
        self._lost_txns: dict[UUID, None] = {}
        self._lost_sessions: dict[UUID, None] = {}

    def _ticket(self) -> int:
        return next(self._ids)

    # ------------------------------------------------------------------ links

    def _begin_connect(self, now: float) -> None:
        self._set_state(ClientState.CONNECTING)
        ep = self._endpoint
        if not self._warned and not ep.tls and not ep.is_loopback:
            self._warned = True
            self._emit(InsecureTransportDetected(url=ep.url, host=ep.host))
        self._open_link(LinkRole.POOL if self._transport == "http" else LinkRole.MAIN, now)

    def _open_link(self, role: LinkRole, now: float) -> Link:
        transport: Literal["ws", "http", "embedded", "httpx"]
        if role is LinkRole.AUX:
            transport = "http"
        elif self._settings.http_client:
            transport = "httpx"
        else:
            transport = self._transport
        timeout = self._connect_timeout
        link = Link(next(self._ids), transport, role, None if timeout is None else now + timeout)
        self._links[link.link_id] = link
        if role is LinkRole.MAIN:
            self._main = link
        ep = self._endpoint
        self._emit(OpenLink(link_id=link.link_id, transport=transport,
                            host=ep.host, port=ep.port or 0, tls=ep.tls,
                            server_hostname=ep.host if ep.tls else None,
                            embedded_url=ep.embedded_url,
                            base_url=ep.http_base_url if transport == "httpx" else None))
        return link

    def _retire(self, link: Link, now: float) -> None:
        """Close a link on purpose (its end is not a failure). Idempotent."""
        if link.closing:
            return
        link.closing = True
        link.connect_deadline = None
        if link is self._main:
            self._main = None
        conn = link.conn
        if conn is None:
            self._drop_link(link)
            self._emit(CloseLink(link_id=link.link_id))
        else:
            conn.close(now)  # its ConnectionClosed event removes it

    def _abort_link(self, link: Link, error: SurrealError, now: float) -> None:
        """The link failed (open refused, connect timeout): close it and handle the loss."""
        snapshots = link.conn.pending_requests() if link.conn is not None else []
        self._retire(link, now)
        self._link_lost(link, error, snapshots, now)

    def _on_link_closed(self, link: Link, event: ConnectionClosed, now: float) -> None:
        self._drop_link(link)
        self._emit(CloseLink(link_id=link.link_id))
        if link.closing:
            self._maybe_closed(now)
            return
        link.closing = True
        if link.role is LinkRole.MAIN:
            self._main = None
        self._link_lost(link, event.error, event.unanswered, now)

    def _maybe_closed(self, now: float) -> None:
        if self._state is ClientState.CLOSING and not self._links:
            self._set_state(ClientState.CLOSED)
            for call_id in self._close_waiters:
                self._emit(CallSucceeded(call_id=call_id, value=None))
            self._close_waiters.clear()
            if self._queue:  # calls made while closing: a fresh connection
                self._begin_connect(now)

    def _link_lost(self, link: Link, error: SurrealError | None,
                   snapshots: Iterable[PendingRequest], now: float) -> None:
        # Called once per link that ended without the engine asking (closing is False).
        pairs = link.take_unanswered(snapshots)
        if link.role is LinkRole.AUX:
            # Every way its call can finish first retires the link, so the call still waits.
            rec = link.aux_call
            assert rec is not None
            if not link.ready:
                self._fail(rec, copy_error(error) if error else self._closed_error(None), now)
            else:
                self._fail(rec, outcome_unknown_error(rec.name) if rec.call.writes
                           else self._closed_error(error), now)
        elif link.role is LinkRole.POOL:
            self._pool_lost(link, error, pairs, now)
        else:
            self._main_lost(error, pairs, now)

    def _classify(self, pairs: list[tuple[_Rec, PendingRequest]], now: float) -> list[_Rec]:
        """Fail the user calls whose outcome is unknown; return those to send again."""
        by_request = {id(p): rec for rec, p in pairs}
        retry, unknown = classify_unanswered([p for _, p in pairs])
        for snapshot in unknown:
            rec = by_request[id(snapshot)]
            self._fail(rec, outcome_unknown_error(rec.name), now)
        return [by_request[id(p)] for p in retry]

    def _pool_lost(self, link: Link, error: SurrealError | None,
                   pairs: list[tuple[_Rec, PendingRequest]], now: float) -> None:
        lost = ConnectionClosedError("the HTTP connection ended before the reply arrived")
        lost.__cause__ = error
        user = [(r, p) for r, p in pairs if r.owner is None]
        for rec, _ in pairs:
            if rec.owner is not None:
                self._fail(rec, copy_error(lost), now)
        if _too_large(error):
            # The reply exceeded max_message_size: the call ran, and sending it again would
            # only get the same reply, so it fails with the size error (its outcome is known).
            for rec, _ in user:
                self._fail(rec, copy_error(error), now)
            user = []
        self._requeue(self._classify(user, now))
        if link.ready:
            return
        opened = error or lost
        if self._state is ClientState.CONNECTING:
            self._connect_failed(opened, now)
        elif not any(ln.role is LinkRole.POOL for ln in self._links.values()):
            # Nothing left to carry the waiting calls: they fail with the open error.
            for rec in [*self._urgent, *self._queue]:
                self._detach_rec(rec, now)
                self._fail(rec, copy_error(opened), now)

    def _main_lost(self, error: SurrealError | None,
                   pairs: list[tuple[_Rec, PendingRequest]], now: float) -> None:
        user = [(r, p) for r, p in pairs if r.owner is None and not r.setup]
        for rec, _ in pairs:
            if rec.owner is not None:
                self._calls.pop(rec.call_id, None)  # the setup restarts on the next link
            elif rec.setup:
                self._fail(rec, self._closed_error(error), now)  # prepare was cut short
        self._abort_setup(now)
        cause = error or ConnectionClosedError("the connection was lost")
        if self._state is ClientState.RECONNECTING:
            self._schedule_reconnect(cause, now)
        elif not self._established:
            self._connect_failed(cause, now)
        elif self._policy is None:
            self._fail_all(lambda: self._closed_error(error), now)
            self._end_all_subs("closed")
            self._reset()
            self._set_state(ClientState.IDLE)
        else:
            retry = self._classify(user, now)
            if _too_large(error):
                # A message beyond max_message_size ended the link, and nothing says which
                # call it answered: re-sending the reads would fetch it again, link after
                # link, until their deadlines. They fail with the size error instead.
                for rec in retry:
                    self._fail(rec, copy_error(error), now)
                retry = []
            self._requeue(retry)
            live = self._tracker.live_queries
            for sub in self._subs:
                if sub.current_live_id not in live:
                    self._end_sub(sub, "lost")
            self._attempt = 0
            self._set_state(ClientState.RECONNECTING)
            self._schedule_reconnect(cause, now)

    def _abort_setup(self, now: float) -> None:
        """Forget a setup (or re-authentications) under way: the link is gone."""
        self._plan = None
        self._preparing = False
        self._tickets.clear()
        waiters = [rec for chain in self._chains.values() for rec, _ in chain.waiters
                   if rec.call_id in self._calls]
        self._chains.clear()
        urgent = list(self._urgent)
        self._urgent.clear()
        for rec in urgent:
            if rec.owner is None:
                self._fail(rec, self._closed_error(None), now)
            else:
                self._calls.pop(rec.call_id, None)
        self._requeue(waiters)

    def _connect_failed(self, error: SurrealError, now: float) -> None:
        """The first setup failed: every waiting call fails with ``error``."""
        self._abort_setup(now)
        for link in list(self._links.values()):
            self._retire(link, now)
        self._fail_all(lambda: copy_error(error), now)
        self._reset()
        self._set_state(ClientState.IDLE)

    def _reset(self) -> None:
        """Back to the constructor's options: the next connect is a fresh one."""
        self._tracker = self._new_tracker()
        self._context = HttpContext(headers=self._settings.headers)
        self._established = False
        self._reconnect_at = None
        self._attempt = 0
        self._lost_txns.clear()
        self._lost_sessions.clear()

    # ------------------------------------------------------------------ reconnect

    def _schedule_reconnect(self, error: SurrealError, now: float) -> None:
        policy = self._policy
        assert policy is not None
        self._last_error = error
        if policy.attempts is not None and self._attempt >= policy.attempts:
            self._give_up(now)
            return
        delay = policy.delay(self._attempt, self._rng)
        self._reconnect_at = now + delay
        self._emit(ReconnectScheduled(attempt=self._attempt + 1, delay=delay, error=error))

    def _reconnect_due(self, now: float) -> None:
        self._reconnect_at = None
        self._attempt += 1
        self._open_link(LinkRole.MAIN, now)

    def _give_up(self, now: float) -> None:
        ep = self._endpoint
        error = ReconnectFailedError(
            f"could not reconnect to {ep.authority} after {self._attempt} attempts")
        error.__cause__ = self._last_error
        self._fail_all(lambda: copy_error(error), now)
        self._end_all_subs("closed")
        self._reset()
        self._set_state(ClientState.IDLE)

    # ------------------------------------------------------------------ setup

    def _link_ready(self, link: Link, now: float) -> None:
        if link.role is LinkRole.AUX:
            self._send_aux(link, now)
        elif link.role is LinkRole.MAIN or self._state is ClientState.CONNECTING:
            self._begin_setup(now)

    def _begin_setup(self, now: float) -> None:
        if self._state is not ClientState.RECONNECTING:
            self._set_state(ClientState.SETTING_UP)
        plan = self._tracker.replay_plan(self._wall(now))
        for lost in plan.lost_transactions:
            self._remember(self._lost_txns, lost.transaction_id)
        for live_id in plan.lost_live_queries:
            self._end_live(live_id, "lost")
        for session in plan.lost_auth:
            self._emit(AuthenticationLost(session=session))
        self._plan = _Plan(plan.calls, initial=not self._established)
        self._internal("version", (), None, self._version_done, now)
        self._advance_plan(now)

    @staticmethod
    def _remember(memory: dict[UUID, None], key: UUID) -> None:
        memory[key] = None
        if len(memory) > _LOST_MEMORY:
            del memory[next(iter(memory))]

    def _version_done(self, rec: _Rec, raw: Any, error: SurrealError | None,
                      now: float) -> None:
        plan = self._plan
        assert plan is not None  # a setup that ends drops its probe with it
        if error is None:
            self._learn_version(raw)
        elif self._settings.http_client and isinstance(
                error, SurrealConnectionError | SurrealTimeoutError):
            # httpx: nothing was opened, so the probe is the first exchange that can show the
            # server unreachable (or not SurrealDB): connect() fails as on other transports.
            self._connect_failed(error, now)
            return
        plan.version_done = True
        self._advance_plan(now)

    def _advance_plan(self, now: float) -> None:
        plan = self._plan
        if plan is None or plan.busy:
            return
        while plan.index < len(plan.steps):
            step = plan.steps[plan.index]
            if step.kind is CallKind.PREPARE:
                if not self._has_prepare:
                    plan.index += 1
                    continue
                plan.busy = self._preparing = True
                plan.prepare_ticket = self._ticket()
                self._emit(PrepareNeeded(ticket=plan.prepare_ticket))
                return
            plan.busy = True
            if step.kind in (CallKind.AUTH, CallKind.ASK_PROVIDER):
                self._start_chain(step, now, on_finish=self._plan_auth_done)
            else:
                assert step.method is not None
                self._internal(step.method, step.params, step.session,
                               partial(self._plan_step_done, step), now)
            return
        if plan.version_done:
            self._setup_complete()

    def _step_finished(self, now: float) -> None:
        plan = self._plan
        assert plan is not None
        plan.busy = False
        plan.index += 1
        self._advance_plan(now)

    def _plan_step_done(self, step: PlannedCall, rec: _Rec, raw: Any,
                        error: SurrealError | None, now: float) -> None:
        plan = self._plan
        assert plan is not None
        if error is None:
            new_id = self._tracker.plan_succeeded(step, raw, self._wall(now))
            if step.kind is CallKind.RESTART_LIVE:
                self._live_restarted(step, new_id, now)
        else:
            if plan.initial:
                self._connect_failed(error, now)
                return
            self._tracker.plan_failed(step)
            if step.kind is CallKind.RESTART_LIVE:
                self._live_restarted(step, None, now)
            elif step.kind is CallKind.ATTACH and step.session is not None:
                self._remember(self._lost_sessions, step.session)
            self._emit(SessionRestoreFailed(step=step.kind.value, session=step.session,
                                            error=error))
        self._step_finished(now)

    def _live_restarted(self, step: PlannedCall, new_id: UUID | None, now: float) -> None:
        assert step.old_live_id is not None
        # Every live query the tracker restarts got its subscription when it was started.
        sub = self._subs.current(step.old_live_id)
        assert sub is not None
        if new_id is None:
            self._end_sub(sub, "lost")
            return
        self._subs.rekey(sub, new_id)
        conn = self._main.conn if self._main is not None else None
        if step.method == "query" and isinstance(conn, WebSocketConnection):
            conn.register_live_query(new_id, step.session, now=now)  # 2.x: not in the reply
        note = LiveNotification(sub.live_id, RECONNECTED, None, None)
        if sub.push(note):
            self._emit(NotificationsQueued(sub_id=sub.sub_id))

    def _plan_auth_done(self, chain: _Chain, error: SurrealError | None, now: float) -> None:
        plan = self._plan
        assert plan is not None
        if error is not None:
            if plan.initial:
                self._connect_failed(error, now)
                return
            self._emit(AuthenticationLost(session=chain.session))
        self._step_finished(now)

    def _setup_complete(self) -> None:
        self._plan = None
        self._preparing = False
        self._established = True
        self._attempt = 0
        self._last_error = None
        self._set_state(ClientState.OPEN)

    def _prepare_answered(self, ticket: int, error: BaseException | None, now: float) -> None:
        plan = self._plan
        if plan is None or plan.prepare_ticket != ticket:
            return  # late: the link dropped meanwhile and a new setup runs
        plan.prepare_ticket = None
        self._preparing = False
        if error is not None:
            failure = error if isinstance(error, SurrealError) else SurrealConnectionError(
                f"the prepare callable raised {type(error).__name__}")
            if failure is not error:
                failure.__cause__ = error
            if plan.initial:
                self._connect_failed(failure, now)
                return
            self._emit(SessionRestoreFailed(step="prepare", session=None, error=failure))
        self._step_finished(now)

    # ------------------------------------------------------------------ auth chains

    def _start_chain(self, step: PlannedCall, now: float, *,
                     waiters: Iterable[tuple[_Rec, SurrealError | None]] = (),
                     on_finish: Callable[[Any, SurrealError | None, float], None]
                     | None = None) -> None:
        chain = _Chain(step, waiters, on_finish)
        self._chains[chain.session] = chain
        self._run_chain(chain, now)

    def _run_chain(self, chain: _Chain, now: float) -> None:
        step = chain.step
        if step.kind is CallKind.ASK_PROVIDER:
            ticket = self._ticket()
            self._tickets[ticket] = chain
            self._emit(ProviderNeeded(ticket=ticket, session=chain.session))
            return
        assert step.method is not None
        self._internal(step.method, step.params, step.session,
                       partial(self._chain_step_done, chain), now)

    def _chain_step_done(self, chain: _Chain, rec: _Rec, raw: Any,
                         error: SurrealError | None, now: float) -> None:
        if error is None:
            self._tracker.plan_succeeded(chain.step, raw, self._wall(now))
            self._end_chain(chain, None, now)
        else:
            self._chain_step_failed(chain, error, now)

    def _chain_step_failed(self, chain: _Chain, error: SurrealError, now: float) -> None:
        following = self._tracker.plan_failed(chain.step)
        if following is not None:
            chain.step = following
            self._run_chain(chain, now)
        else:
            self._end_chain(chain, error, now)

    def _end_chain(self, chain: _Chain, error: SurrealError | None, now: float) -> None:
        self._chains.pop(chain.session, None)
        if error is None:
            self._after_auth(chain.session, now)
        resend: list[_Rec] = []
        for rec, fail_with in chain.waiters:
            if rec.call_id not in self._calls:
                continue  # cancelled or timed out meanwhile
            if error is None or fail_with is None:
                rec.retried = rec.retried or fail_with is not None
                resend.append(rec)
            else:
                self._fail(rec, fail_with, now)
        self._requeue(resend)
        if chain.on_finish is not None:
            chain.on_finish(chain, error, now)

    def _provider_answered(self, ticket: int, answer: Any, failure: BaseException | None,
                           now: float) -> None:
        chain = self._tickets.pop(ticket, None)
        if chain is None:
            return  # late: forgotten (link dropped, client closed)
        if failure is not None:
            error = SurrealConnectionError(
                f"the auth credentials provider raised {type(failure).__name__}")
            error.__cause__ = failure
            self._chain_step_failed(chain, error, now)
            return
        try:
            step = self._tracker.provider_call(chain.step, answer)
        except LocalProtocolError as exc:
            self._chain_step_failed(chain, exc, now)
        else:
            chain.step = step
            self._run_chain(chain, now)

    def _after_auth(self, session: UUID | None, now: float) -> None:
        # protocol.md §7.8 step 2: the session expiry is not in the token; learn it so the
        # session can be renewed before it runs out (WebSocket and embedded).
        if not self._learn_expiry:
            return
        step = self._tracker.session_expiry_call(session)
        assert step.method is not None
        self._internal(step.method, step.params, session,
                       partial(self._expiry_learned, step), now)

    def _expiry_learned(self, step: PlannedCall, rec: _Rec, raw: Any,
                        error: SurrealError | None, now: float) -> None:
        if error is None:
            self._tracker.plan_succeeded(step, raw, self._wall(now))

    # ------------------------------------------------------------------ aux HTTP links

    def _open_aux(self, rec: _Rec, now: float) -> None:
        # API.md §5: import_/export on a ws(s) URL go to the same host over HTTP.
        link = self._open_link(LinkRole.AUX, now)
        link.aux_call = rec
        rec.link_id = link.link_id

    def _send_aux(self, link: Link, now: float) -> None:
        # A call that finished while its link opened retired the link, so it still waits.
        rec = link.aux_call
        assert rec is not None
        self._dispatch(link, rec, now)

    def _aux_context(self, rec: _Rec) -> HttpContext:
        st = self._tracker.session(rec.session)
        return HttpContext(namespace=st.namespace, database=st.database, token=st.auth.access,
                           headers=self._settings.headers)


def _too_large(error: SurrealError | None) -> TypeGuard[ConnectionClosedError]:
    """Whether a link ended because the server sent more than ``max_message_size`` (1009)."""
    return isinstance(error, ConnectionClosedError) and error.code == 1009
