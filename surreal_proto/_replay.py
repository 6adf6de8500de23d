"""Planned calls: what to send to restore sessions after a (re)connect or to renew auth, and
which calls that were in flight when the link dropped may be sent again.

Nothing survives a reconnect (``protocol.md`` §2.9): the server drops the connection's attached
sessions, their auth, ``use`` and ``let`` state, live queries and open transactions. The
session tracker (:mod:`._session`) turns what it remembers into an ordered list of
:class:`PlannedCall` (a :class:`ReplayPlan`); the RPC layer and the adapters execute them and
feed each outcome back. Transactions cannot be restored: the plan reports them as lost.

Secrets: a :class:`PlannedCall` for auth carries credentials or tokens in ``params``; its
``repr`` never shows them (nor ``let`` values).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any, Final
from uuid import UUID

from ._auth import AuthState
from ._errors import OutcomeUnknownError
from ._events import PendingRequest

__all__ = [
    "DEFAULT_MARGIN",
    "SESSION_EXPIRY_SQL",
    "CallKind",
    "LiveSpec",
    "LostTransaction",
    "PlannedCall",
    "Purpose",
    "ReplayPlan",
    "auth_call",
    "classify_unanswered",
    "is_retry_safe",
    "outcome_unknown_error",
]

#: Seconds of slack for expiry decisions: a token is "valid" only if it stays valid this long,
#: and renewal is scheduled this long before expiry (the JS SDK's ``expiryMargin``, §7.8 item 5).
DEFAULT_MARGIN: Final = 60.0

#: The query that reads the session expiry, which is never in the token (``protocol.md`` §7.8
#: step 2). The tracker recognises its reply wherever it comes from.
SESSION_EXPIRY_SQL: Final = "RETURN $session.exp"


class CallKind(Enum):
    """What a :class:`PlannedCall` asks the executor to do."""

    #: RPC ``attach`` with the ``session`` envelope field (§9.1).
    ATTACH = "attach"
    #: RPC ``authenticate``, ``refresh`` or ``signin`` (see :attr:`PlannedCall.method`).
    AUTH = "auth"
    #: Not an RPC: call the credentials provider, then pass its answer to
    #: ``SessionTracker.provider_call`` and execute the call it returns.
    ASK_PROVIDER = "ask_provider"
    #: RPC ``use``.
    USE = "use"
    #: RPC ``let``.
    LET = "let"
    #: Not an RPC: run the adapter's ``prepare`` callable (``API.md`` §3).
    PREPARE = "prepare"
    #: RPC ``live`` or ``query`` (``LIVE SELECT``) restarting a live query; the server gives
    #: it a new id, re-key :attr:`PlannedCall.old_live_id`'s subscription (§8.3).
    RESTART_LIVE = "restart_live"
    #: RPC ``query`` with :data:`SESSION_EXPIRY_SQL` (§7.8 step 2).
    SESSION_EXPIRY = "session_expiry"


class Purpose(Enum):
    """Why a :class:`PlannedCall` exists."""

    #: Part of a replay after a connect or reconnect.
    RESTORE = "restore"
    #: Proactive renewal ahead of an expiry (§7.8 items 3-5).
    RENEW = "renew"
    #: Re-authentication after an expiry error; the failed call is then retried once.
    RECOVER = "recover"
    #: Learning state (the session expiry).
    INSPECT = "inspect"


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class PlannedCall:
    """One step the RPC layer or the adapter executes, in order.

    Attributes:
        kind: what to do.
        method: the RPC method, or ``None`` for ``ASK_PROVIDER`` and ``PREPARE``.
        params: the positional params. May hold credentials or tokens: never log them.
        session: the ``session`` envelope field (``None`` = the default session).
        purpose: why.
        old_live_id: for ``RESTART_LIVE``, the id the live query had before.
        alternatives: for ``AUTH``/``ASK_PROVIDER``, the fallbacks to try in order when this
            call fails with an error reply (``SessionTracker.plan_failed`` hands them out).
    """

    kind: CallKind
    method: str | None = None
    params: tuple[Any, ...] = ()
    session: UUID | None = None
    purpose: Purpose = Purpose.RESTORE
    old_live_id: UUID | None = None
    alternatives: tuple[PlannedCall, ...] = ()

    @property
    def is_rpc(self) -> bool:
        """Whether this step is an RPC request (else an adapter-level action)."""
        return self.method is not None

    def next_alternative(self) -> PlannedCall | None:
        """The first alternative, carrying the remaining ones, or ``None``."""
        if not self.alternatives:
            return None
        return replace(self.alternatives[0], alternatives=self.alternatives[1:])

    def __repr__(self) -> str:
        secret = self.kind in (CallKind.AUTH, CallKind.LET)
        params = "<redacted>" if secret else repr(self.params)
        extra = "" if self.old_live_id is None else f", old_live_id={self.old_live_id!r}"
        if self.alternatives:
            extra += f", alternatives={list(self.alternatives)!r}"
        return (f"PlannedCall(kind={self.kind.name}, method={self.method!r}, params={params}, "
                f"session={self.session!r}, purpose={self.purpose.name}{extra})")


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class LiveSpec:
    """How a live query was started, so it can be started again (``protocol.md`` §8.1, §8.3).

    Attributes:
        method: ``"live"`` (params ``[what, diff?]``) or ``"query"`` (params ``[sql, vars?]``
            of a single-statement ``LIVE SELECT``).
        params: the params as sent. May hold query variables: ``repr`` hides them.
        session: the session that owns it.
        original_id: the id the server first gave it (what the user holds); re-keying keeps it.
        restartable: ``False`` for a live query started inside a multi-statement ``query``:
            re-running that text could repeat its other statements, so it is reported as lost.
    """

    method: str
    params: tuple[Any, ...]
    session: UUID | None
    original_id: UUID
    restartable: bool = True

    def restart_call(self, live_id: UUID) -> PlannedCall:
        """The call that starts this live query again; ``live_id`` is its current id."""
        return PlannedCall(kind=CallKind.RESTART_LIVE, method=self.method, params=self.params,
                           session=self.session, old_live_id=live_id)

    def __repr__(self) -> str:
        return (f"LiveSpec(method={self.method!r}, session={self.session!r}, "
                f"original_id={self.original_id!r}, restartable={self.restartable})")


@dataclass(frozen=True, slots=True, kw_only=True)
class LostTransaction:
    """An open transaction that died with the connection (``protocol.md`` §2.9, §9.2).

    Its owner must fail: the work done in it is gone, nothing was committed.
    """

    session: UUID | None
    """The session that began it."""
    transaction_id: UUID
    """The id ``begin`` returned."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplayPlan:
    """What to do after a (re)connect, before queued calls proceed (``API.md`` §8).

    Iterating a plan (or ``len()``) goes over :attr:`calls`.
    """

    calls: tuple[PlannedCall, ...]
    """In order: every ``ATTACH``; then per session (the default first) its auth (``AUTH`` or
    ``ASK_PROVIDER``, with alternatives), ``USE`` and each ``LET``; then ``PREPARE``; then
    every ``RESTART_LIVE``."""
    lost_transactions: tuple[LostTransaction, ...] = ()
    """Open transactions that cannot be restored: fail their owners."""
    lost_live_queries: tuple[UUID, ...] = ()
    """Live queries that cannot be restarted (started by a multi-statement ``query``): end
    their subscriptions."""
    lost_auth: tuple[UUID | None, ...] = ()
    """Sessions that were authenticated but have nothing left to authenticate with (no valid
    token, refresh token, credentials or provider): they are anonymous now. Tell the user."""

    def __iter__(self) -> Iterator[PlannedCall]:
        return iter(self.calls)

    def __len__(self) -> int:
        return len(self.calls)


def auth_call(auth: AuthState, session: UUID | None, now: float, margin: float, *,
              allow_token: bool, purpose: Purpose) -> PlannedCall | None:
    """The call that (re-)authenticates a session, with its fallbacks as alternatives.

    The order (``API.md`` §8, ``protocol.md`` §7.8 item 5): ``authenticate`` with the access
    token if ``allow_token`` and it stays valid for ``margin`` seconds; ``refresh`` with the
    token pair (single use: the new pair replaces it when the call succeeds, §7.7); ``signin``
    with the kept credentials; ``ASK_PROVIDER``.

    Returns:
        The first possible call, the others as its alternatives; ``None`` when there is
        nothing to authenticate with. (Whether the session should be authenticated at all is
        the caller's question: an anonymous session is left alone.)
    """
    chain: list[PlannedCall] = []
    if allow_token and auth.token_valid(now, margin):
        chain.append(PlannedCall(kind=CallKind.AUTH, method="authenticate",
                                 params=(auth.access,), session=session, purpose=purpose))
    if auth.refresh is not None and auth.access is not None:
        chain.append(PlannedCall(kind=CallKind.AUTH, method="refresh",
                                 params=(auth.tokens.to_wire(),), session=session,
                                 purpose=purpose))
    if auth.credentials is not None:
        chain.append(PlannedCall(kind=CallKind.AUTH, method="signin",
                                 params=(auth.credentials.params(),), session=session,
                                 purpose=purpose))
    if auth.provider:
        chain.append(PlannedCall(kind=CallKind.ASK_PROVIDER, session=session, purpose=purpose))
    if not chain:
        return None
    return replace(chain[0], alternatives=tuple(chain[1:]))


# --------------------------------------------------------------------------- in flight

# Methods that cannot change data, or whose effect is idempotent and belongs to the session the
# replay rebuilds anyway. See the table in is_retry_safe.
_RETRY_SAFE: Final = frozenset({
    "ping", "version", "info", "select", "use", "let", "set", "unset", "authenticate",
    "signin", "invalidate", "reset", "live", "sessions",
})


def is_retry_safe(method: str, params: Sequence[Any] = (), *,
                  in_transaction: bool = False) -> bool:
    """Whether a call that was in flight when the link dropped may be sent again.

    The others fail with :class:`~surreal_proto.OutcomeUnknownError` (``API.md`` §8): the
    server may or may not have run them, and a silent duplicate write is never acceptable.
    A call bound to a transaction (``txn``) always fails: the transaction died with the link.
    Unknown methods are not retried.

    ============================  =====  ===================================================
    method                        retry  why
    ============================  =====  ===================================================
    ping, version, sessions       yes    read nothing that can change
    info, select                  yes    reads
    use                           yes    idempotent (3.x creates a missing ns/db: same result
                                         the second time)
    let / set, unset              yes    session state; idempotent
    authenticate                  yes    idempotent; changes no data
    signin                        yes    idempotent in effect (a new token, the same
                                         identity); **not** with a ``refresh`` key (single use)
    invalidate, reset             yes    session state; idempotent (the replay restores the old
                                         state first, then the retry clears it as asked)
    live                          yes    the old live query died with the connection
    query                         no     may contain writes (exception: the session-expiry
                                         query, :data:`SESSION_EXPIRY_SQL`, which reads)
    create, insert, insert_       no     writes
    relation, update, upsert,
    merge, patch, delete, relate
    run, graphql                  no     functions and mutations may write
    signup                        no     creates a record user
    refresh                       no     the refresh token is single use (§7.7)
    revoke                        no     revokes a grant (a write)
    begin, commit, cancel         no     the transaction died with the link; its outcome
                                         (commit) is unknown
    kill                          no     the caller must learn the query was restarted
    attach, detach                no     session lifecycle: the caller decides again
    ============================  =====  ===================================================
    """
    if in_transaction:
        return False
    if method == "signin":
        first = params[0] if params else None
        return not (isinstance(first, Mapping) and "refresh" in first)
    if method == "query":
        return bool(params) and params[0] == SESSION_EXPIRY_SQL
    return method in _RETRY_SAFE


def classify_unanswered(requests: Iterable[PendingRequest],
                        ) -> tuple[list[PendingRequest], list[PendingRequest]]:
    """Split the requests that were pending when the link dropped (``ConnectionClosed``'s
    ``unanswered``) into those to send again after the replay and those whose outcome is
    unknown.

    A request that was never sent (``sent=False``) is always re-sent: the server never saw it.

    Returns:
        ``(retry, unknown)``, each in the original order. Fail each of ``unknown`` with
        :func:`outcome_unknown_error`.
    """
    retry: list[PendingRequest] = []
    unknown: list[PendingRequest] = []
    for request in requests:
        safe = not request.sent or is_retry_safe(request.method, request.params,
                                                 in_transaction=request.txn is not None)
        (retry if safe else unknown).append(request)
    return retry, unknown


def outcome_unknown_error(method: str) -> OutcomeUnknownError:
    """The error for an in-flight call that is not retried (names the method, never params)."""
    return OutcomeUnknownError(
        f"the connection dropped after {method!r} was sent and before its reply arrived: it "
        "may or may not have run on the server, and it was not sent again")
