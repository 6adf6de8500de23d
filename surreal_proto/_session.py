"""Session state: what the client must remember to rebuild its sessions after a reconnect.

One :class:`SessionTracker` per connection holds a :class:`SessionState` for the default session
(key ``None``) and for each attached 3.x session (key: its UUID, ``protocol.md`` §9.1):
namespace and database, variables, auth (tokens, kept credentials, expiries), live queries and
open transactions. It never sends anything. It learns from requests that succeeded, and it
answers with :class:`~._replay.PlannedCall` lists the RPC layer and the adapters execute.

How the RPC layer wires it in:

1. After every successful request (also the planned ones, through step 3): call
   :meth:`SessionTracker.on_success` with the method, the params as sent, the ``session``
   envelope field, the raw result and ``now``. It returns the live queries and transactions
   the success ended (``kill``, ``reset``, ``detach``, ``commit``, ``cancel``).
2. On connect and on every reconnect, before anything else is sent: execute
   :meth:`SessionTracker.replay_plan` in order; fail the owners of its lost transactions, end
   its lost live queries. Send the in-flight calls :func:`~._replay.classify_unanswered` says
   are safe after the plan; fail the others with ``OutcomeUnknownError``.
3. Feed each planned call's outcome: :meth:`~SessionTracker.plan_succeeded` (it re-keys
   restarted live queries and returns the new id) or :meth:`~SessionTracker.plan_failed` (it
   returns the next alternative to try, if any). ``ASK_PROVIDER``: call the provider, then
   execute :meth:`~SessionTracker.provider_call`'s result.
4. On an error reply: :meth:`SessionTracker.on_error` says raise, or re-authenticate and
   retry once (``protocol.md`` §7.8).
5. Timers: fold :meth:`SessionTracker.next_renewal_deadline` into ``next_deadline()``; at that
   time, execute :meth:`SessionTracker.renewals_due`. Over HTTP, before each request, execute
   :meth:`SessionTracker.http_renewal_needed` if it returns a call.

Nothing here reads a clock; every time is the caller's ``now``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any
from uuid import UUID

from ._auth import AuthState, wire_credentials
from ._errors import LocalProtocolError, SessionExpiredError, SurrealError, TokenExpiredError
from ._expiry import AUTH_METHODS, RecoveryAction, RecoveryDecision, give_up_error, renew_at
from ._replay import (
    SESSION_EXPIRY_SQL,
    CallKind,
    LostTransaction,
    PlannedCall,
    Purpose,
    ReplayPlan,
    auth_call,
)
from ._store import SessionState, SessionStore, _key, _restarted_id

__all__ = ["SessionTracker"]


class SessionTracker(SessionStore):
    """Session state (see :class:`~._store.SessionStore`, whose constructor it shares) plus
    the replay plan after a reconnect and the expiry decisions. The module docstring says
    how the RPC layer drives it."""

    def session_expiry_call(self, session: UUID | str | None = None) -> PlannedCall:
        """The call that learns a session's expiry (``protocol.md`` §7.8 step 2). Send it after
        an auth success to enable proactive renewal on WebSocket; feed the reply to
        :meth:`plan_succeeded` (or :meth:`on_success`)."""
        return PlannedCall(kind=CallKind.SESSION_EXPIRY, method="query",
                           params=(SESSION_EXPIRY_SQL,), session=_key(session),
                           purpose=Purpose.INSPECT)

    # ------------------------------------------------------------------ replay

    def replay_plan(self, now: float, *, margin: float | None = None) -> ReplayPlan:
        """What to send after a connect or reconnect, in order (``API.md`` §8, issue 8).

        Call it once per new connection, before anything else is sent. It also forgets what
        died with the old connection: open transactions, live queries that cannot be
        restarted, the learnt session expiries, renewals in flight. A session whose auth
        cannot be restored becomes anonymous (:attr:`~._replay.ReplayPlan.lost_auth`).

        Args:
            now: the current time (a token counts as valid if it stays so for ``margin``).
            margin: seconds; default :attr:`margin`.
        """
        m = self.margin if margin is None else margin
        calls = [PlannedCall(kind=CallKind.ATTACH, method="attach", session=key)
                 for key in self._sessions if key is not None]
        lost_txns: list[LostTransaction] = []
        lost_auth: list[UUID | None] = []
        for key, st in self._sessions.items():
            lost_txns += [LostTransaction(session=key, transaction_id=t) for t in st.transactions]
            st.transactions.clear()
            st.renewing = st.renewal_failed = False
            st.auth = replace(st.auth, session_exp=None, session_exp_known=False,
                              session_exp_learned_at=None)
            # Auth before use: on 3.x a `use` before signing in does not create the namespace
            # (sdk-survey.md §2.7), and signing in may select ns/db itself (§7.1).
            if st.auth.authenticated:
                call = auth_call(st.auth, key, now, m, allow_token=True, purpose=Purpose.RESTORE)
                if call is None:
                    lost_auth.append(key)
                    st.auth = replace(st.auth, method=None)
                else:
                    calls.append(call)
            if st.namespace is not None or st.database is not None:
                calls.append(PlannedCall(kind=CallKind.USE, method="use",
                                         params=(st.namespace, st.database), session=key))
            calls += [PlannedCall(kind=CallKind.LET, method="let", params=(name, value),
                                  session=key) for name, value in st.variables.items()]
        calls.append(PlannedCall(kind=CallKind.PREPARE))
        lost_lives: list[UUID] = []
        for st in self._sessions.values():
            for live_id, spec in list(st.live_queries.items()):
                if spec.restartable:
                    calls.append(spec.restart_call(live_id))
                else:
                    lost_lives.append(live_id)
                    del st.live_queries[live_id]
        return ReplayPlan(calls=tuple(calls), lost_transactions=tuple(lost_txns),
                          lost_live_queries=tuple(lost_lives), lost_auth=tuple(lost_auth))

    def plan_succeeded(self, call: PlannedCall, result: Any, now: float) -> UUID | None:
        """Feed the success of a planned RPC call (the raw result).

        Returns:
            For ``RESTART_LIVE``, the live query's new id once re-keyed; ``None`` if the
            restart failed (the spec is dropped: end that subscription) or the old id was
            forgotten meanwhile (kill the new id, if ``result`` holds one). Else ``None``.

        Raises:
            LocalProtocolError: ``call`` is ``ASK_PROVIDER`` (use :meth:`provider_call`).
        """
        if call.kind is CallKind.ASK_PROVIDER:
            raise LocalProtocolError(
                "ASK_PROVIDER has no result: call the provider, then provider_call()")
        if call.kind is CallKind.RESTART_LIVE and call.old_live_id is not None:
            new_id = _restarted_id(call.method, result)
            if new_id is None:
                self.drop_live(call.old_live_id)
                return None
            return new_id if self.live_restarted(call.old_live_id, new_id) else None
        if call.method is not None:
            self.on_success(call.method, call.params, call.session, result, now)
        return None

    def plan_failed(self, call: PlannedCall) -> PlannedCall | None:
        """Feed the failure of a planned call (an error reply, or the provider failing). If
        the link drops instead, start again from :meth:`replay_plan` on the new link.

        Returns:
            The next alternative to execute (auth fallbacks), or ``None``. When an auth chain
            is exhausted: a ``RESTORE`` leaves the session anonymous; a ``RENEW`` stops
            proactive renewal until the next successful auth; a ``RECOVER`` means: raise the
            decision's error. A failed ``RESTART_LIVE`` drops the spec (end the
            subscription); a failed ``ATTACH`` forgets the session.
        """
        if call.kind in (CallKind.AUTH, CallKind.ASK_PROVIDER):
            following = call.next_alternative()
            if following is not None:
                return following
            st = self._sessions.get(call.session)
            if st is not None:
                st.renewing = False
                if call.purpose is Purpose.RENEW:
                    st.renewal_failed = True
                elif call.purpose is Purpose.RESTORE:
                    st.auth = replace(st.auth, method=None)
        elif call.kind is CallKind.RESTART_LIVE and call.old_live_id is not None:
            self.drop_live(call.old_live_id)
        elif call.kind is CallKind.ATTACH and call.session is not None:
            self._sessions.pop(call.session, None)
        return None

    def provider_call(self, call: PlannedCall, answer: Any) -> PlannedCall:
        """Turn a credentials provider's answer into the auth call to execute.

        Args:
            call: the ``ASK_PROVIDER`` step.
            answer: what the provider returned: a token (``authenticate``) or a credentials
                mapping (``signin``; friendly or wire keys).

        Raises:
            LocalProtocolError: ``call`` is not ``ASK_PROVIDER``, or the answer is neither
                (treat as a failure: :meth:`plan_failed`).
        """
        if call.kind is not CallKind.ASK_PROVIDER:
            raise LocalProtocolError("provider_call() takes an ASK_PROVIDER step")
        param: Any
        if isinstance(answer, str):
            method, param = "authenticate", answer
        elif isinstance(answer, Mapping):
            method, param = "signin", wire_credentials(answer)
        else:
            raise LocalProtocolError(
                "a credentials provider must return a token (str) or a credentials mapping,"
                f" not {type(answer).__name__}")
        return PlannedCall(kind=CallKind.AUTH, method=method, params=(param,),
                           session=call.session, purpose=call.purpose)

    # ------------------------------------------------------------------ expiry

    def on_error(self, error: SurrealError, method: str, params: Sequence[Any],
                 session: UUID | str | None, now: float, *,
                 retried: bool = False) -> RecoveryDecision:
        """Decide what to do about an error reply (``protocol.md`` §7.5-7.8).

        Only expiry errors are recoverable: ``SessionExpiredError`` (WebSocket: the session
        duration ran out) and ``TokenExpiredError`` (HTTP: a 401 for an expired token). They
        mean the call did not run, so it can be retried whatever it is, **once**: pass
        ``retried=True`` for the retry, and its error is final. Errors of auth calls are final.

        The re-authentication is ``authenticate`` with a still-valid token (WebSocket session
        expiry only), else ``refresh``, else kept credentials, else the provider; with none,
        the decision is ``RAISE`` with an error that says which duration ran out and how to
        configure renewal.
        """
        key = _key(session)
        st = self._sessions.get(key)
        if (not isinstance(error, SessionExpiredError | TokenExpiredError)
                or method in AUTH_METHODS or retried):
            return RecoveryDecision(action=RecoveryAction.RAISE, error=error, session=key)
        final = give_up_error(error, http=self._http)
        if st is None or not st.auth.authenticated:
            return RecoveryDecision(action=RecoveryAction.RAISE, error=final, session=key)
        if st.renewing:
            return RecoveryDecision(action=RecoveryAction.WAIT_AND_RETRY, error=final,
                                    session=key)
        allow_token = isinstance(error, SessionExpiredError) and not self._http
        call = auth_call(st.auth, key, now, self.margin, allow_token=allow_token,
                         purpose=Purpose.RECOVER)
        if call is None:
            return RecoveryDecision(action=RecoveryAction.RAISE, error=final, session=key)
        st.renewing = True
        return RecoveryDecision(action=RecoveryAction.REAUTH_AND_RETRY, error=final,
                                reauth=call, session=key)

    def _renew_deadline(self, st: SessionState, margin: float, by_token: bool) -> float | None:
        a = st.auth
        if not a.authenticated or st.renewing or st.renewal_failed:
            return None
        # Asked after every call (next_deadline), so computed once per auth state.
        memo = st.renewal_memo
        if memo is not None and memo[0] is a and memo[1] == margin and memo[2] is by_token:
            return memo[3]
        at = self._renewal_time(a, st.key, margin, by_token)
        st.renewal_memo = (a, margin, by_token, at)
        return at

    @staticmethod
    def _renewal_time(a: AuthState, key: UUID | None, margin: float,
                      by_token: bool) -> float | None:
        if by_token:
            exp, since = a.token_exp, a.token_received_at
        else:
            exp, since = a.session_exp, a.session_exp_learned_at
        if exp is None:
            return None
        at = exp - margin if since is None else renew_at(exp, since, margin)
        if auth_call(a, key, at, margin, allow_token=not by_token,
                     purpose=Purpose.RENEW) is None:
            return None  # nothing to renew with: the expiry error will say so
        return at

    def _due(self, st: SessionState, now: float, margin: float,
             by_token: bool) -> PlannedCall | None:
        at = self._renew_deadline(st, margin, by_token)
        if at is None or now < at:
            return None
        call = auth_call(st.auth, st.key, now, margin, allow_token=not by_token,
                         purpose=Purpose.RENEW)
        if call is not None:
            st.renewing = True
        return call

    def renewal_due(self, session: UUID | str | None, now: float,
                    margin: float | None = None) -> PlannedCall | None:
        """The proactive renewal of one session, if it is due now.

        WebSocket: by the learnt *session* expiry (§7.8 item 3; see
        :meth:`session_expiry_call`). HTTP: by the *token* ``exp`` (item 4). Due at the JS
        SDK's time (:func:`~._expiry.renew_at`). Once returned, not again until its outcome is
        fed (:meth:`plan_succeeded` / :meth:`plan_failed`).
        """
        st = self._sessions.get(_key(session))
        if st is None:
            return None
        return self._due(st, now, self.margin if margin is None else margin, self._http)

    def renewals_due(self, now: float, margin: float | None = None) -> list[PlannedCall]:
        """:meth:`renewal_due` for every session."""
        calls = [self.renewal_due(key, now, margin) for key in list(self._sessions)]
        return [c for c in calls if c is not None]

    def http_renewal_needed(self, now: float, margin: float | None = None,
                            session: UUID | str | None = None) -> PlannedCall | None:
        """Before an HTTP request: the call that gets a new token if the current one is due
        for renewal (``protocol.md`` §7.6, §7.8 item 4), by its ``exp``, else ``None``."""
        st = self._sessions.get(_key(session))
        if st is None:
            return None
        return self._due(st, now, self.margin if margin is None else margin, True)

    def next_renewal_deadline(self, margin: float | None = None) -> float | None:
        """When the next proactive renewal is due (fold into ``next_deadline()``), or
        ``None``. Sessions with nothing to renew with never wake the timer."""
        m = self.margin if margin is None else margin
        first = None
        for st in self._sessions.values():
            if st.auth.method is not None:  # authenticated (an anonymous one never renews)
                at = self._renew_deadline(st, m, self._http)
                if at is not None and (first is None or at < first):
                    first = at
        return first


