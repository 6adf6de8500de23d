"""The remembered state of every session of one connection, and how requests change it.

:class:`SessionStore` holds a :class:`SessionState` for the default session (key ``None``) and
for each attached 3.x session (key: its UUID, ``protocol.md`` §9.1): namespace and database,
variables, auth (tokens, kept credentials, expiries), live queries and open transactions. It
learns only from requests that succeeded (:meth:`SessionStore.on_success`): what the server
now holds. :class:`~._session.SessionTracker` builds on it (replay plans, expiry decisions).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final
from uuid import UUID

from ._auth import (
    AuthMethod,
    AuthState,
    Credentials,
    CredentialsKind,
    Tokens,
    jwt_expiry,
    jwt_scope,
    parse_token_result,
)
from ._errors import LocalProtocolError, RemoteProtocolError
from ._expiry import session_expiry_value
from ._replay import DEFAULT_MARGIN, SESSION_EXPIRY_SQL, LiveSpec

__all__ = ["Ended", "SessionState", "SessionStore"]

_UUID_TEXT: Final = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_FIRST_WORD: Final = re.compile(r"\s*([A-Za-z]+)")


def _as_uuid(value: Any) -> UUID | None:
    if isinstance(value, UUID):
        return value
    if isinstance(value, str):
        try:
            return UUID(value)
        except ValueError:
            return None
    return None


def _key(session: UUID | str | None) -> UUID | None:
    if session is None or isinstance(session, UUID):
        return session
    key = _as_uuid(session)
    if key is None:
        raise LocalProtocolError("a session must be a UUID or None (protocol.md §2.4)")
    return key


def _tokens(result: Any) -> Tokens:
    try:
        return parse_token_result(result)
    except RemoteProtocolError:
        return Tokens()


@dataclass(frozen=True, slots=True)
class Ended:
    """What a successful request ended as a side effect (false when nothing)."""

    live_queries: tuple[UUID, ...] = ()
    """Live queries that will send nothing more: end their subscriptions."""
    transactions: tuple[UUID, ...] = ()
    """Transactions that are over (committed, cancelled, or gone with ``reset``/``detach``)."""

    def __bool__(self) -> bool:
        return bool(self.live_queries or self.transactions)


_NOTHING: Final = Ended()


@dataclass(eq=False, repr=False)
class SessionState:
    """The remembered state of one session. Read it; only the tracker changes it.

    Attributes:
        key: ``None`` for the default session, else the attached session's UUID.
        namespace, database: selected by ``use`` (or by signing in, §4.4), ``None`` = none.
        variables: set by ``let``, removed by ``unset`` (values may be secrets: never log).
        auth: the auth state (its ``repr`` hides secrets).
        live_queries: current live id → how it was started.
        transactions: open transaction ids, in the order they began.
        renewing: a re-authentication of this session is in flight.
        renewal_failed: proactive renewal gave up until the next successful auth.
    """

    key: UUID | None
    namespace: str | None = None
    database: str | None = None
    variables: dict[str, Any] = field(default_factory=dict)
    auth: AuthState = field(default_factory=AuthState)
    live_queries: dict[UUID, LiveSpec] = field(default_factory=dict)
    transactions: dict[UUID, None] = field(default_factory=dict)
    renewing: bool = False
    renewal_failed: bool = False
    #: The tracker's last renewal deadline, ``(auth, margin, by_token, deadline)``: it
    #: depends on nothing else, and ``auth`` is replaced whole on every change.
    renewal_memo: tuple[AuthState, float, bool, float | None] | None = field(
        default=None, init=False)

    def __repr__(self) -> str:
        return (f"SessionState(key={self.key!r}, namespace={self.namespace!r}, "
                f"database={self.database!r}, variables={sorted(self.variables)}, "
                f"auth={self.auth!r}, live_queries={list(self.live_queries)!r}, "
                f"transactions={list(self.transactions)!r})")


_Handler = Callable[[SessionState, tuple[Any, ...], Any, float], Ended | None]


class SessionStore:
    """Per-connection session state, learnt from successful requests.

    Args:
        namespace, database: the ``namespace=``/``database=`` options, selected after every
            connect (``API.md`` §3).
        auth: the ``auth=`` option when it is a token or a credentials mapping; applied after
            every connect, and the credentials are always kept for that.
        auth_provider: ``True`` when the ``auth=`` option is a callable (the adapter calls it
            when a plan says ``ASK_PROVIDER``). Exclusive with ``auth``.
        keep_credentials: keep the credentials of ``signin()`` calls to sign in again on
            reconnect or expiry (default ``True``, as the JS SDK does). Never kept: ``signup``
            params (a second signup would create another user), ``signin`` with a ``refresh``
            key (single use), and any credentials of a session that has a provider (the
            provider is asked again instead).
        http: the connection is HTTP: the token duration governs renewal (§7.6), not the
            session duration (§7.5).
        margin: the default expiry margin in seconds (:data:`~._replay.DEFAULT_MARGIN`).

    Raises:
        LocalProtocolError: bad ``auth`` credentials (see :func:`~._auth.wire_credentials`), or
            both ``auth`` and ``auth_provider``.
    """

    def __init__(self, *, namespace: str | None = None, database: str | None = None,
                 auth: str | Mapping[str, Any] | None = None, auth_provider: bool = False,
                 keep_credentials: bool = True, http: bool = False,
                 margin: float = DEFAULT_MARGIN) -> None:
        if auth is not None and auth_provider:
            raise LocalProtocolError("pass a token or credentials, or a provider, not both")
        default = SessionState(None, namespace, database)
        if isinstance(auth, str):
            default.auth = AuthState(access=auth, token_exp=jwt_expiry(auth),
                                     method=AuthMethod.CONFIGURED)
        elif auth is not None:
            default.auth = AuthState(credentials=Credentials.from_mapping(auth),
                                     method=AuthMethod.CONFIGURED)
        elif auth_provider:
            default.auth = AuthState(provider=True, method=AuthMethod.CONFIGURED)
        self._sessions: dict[UUID | None, SessionState] = {None: default}
        self._keep = keep_credentials
        self._http = http
        #: The default expiry margin in seconds.
        self.margin = margin
        self._handlers: dict[str, _Handler] = {
            "use": self._use, "let": self._let, "set": self._let, "unset": self._unset,
            "signin": self._signin, "signup": self._signup,
            "authenticate": self._authenticate, "refresh": self._refresh,
            "revoke": self._revoke, "invalidate": self._invalidate, "reset": self._reset,
            "detach": self._detach, "live": self._live, "kill": self._kill,
            "begin": self._begin, "commit": self._finish, "cancel": self._finish,
            "query": self._query,
        }

    # ------------------------------------------------------------------ reading

    @property
    def namespace(self) -> str | None:
        """The default session's namespace."""
        return self._sessions[None].namespace

    @property
    def database(self) -> str | None:
        """The default session's database."""
        return self._sessions[None].database

    @property
    def sessions(self) -> tuple[UUID | None, ...]:
        """The known sessions: ``None`` (default) first, then attached ones in attach order."""
        return tuple(self._sessions)

    def session(self, session: UUID | str | None = None) -> SessionState:
        """The state of one session.

        Raises:
            LocalProtocolError: the session is not attached.
        """
        state = self._sessions.get(_key(session))
        if state is None:
            raise LocalProtocolError("unknown session: attach it first (protocol.md §9.1)")
        return state

    def tokens(self, session: UUID | str | None = None) -> Tokens:
        """The session's current tokens (``API.md`` §5 ``refresh(tokens=None)``)."""
        return self.session(session).auth.tokens

    @property
    def live_queries(self) -> dict[UUID, LiveSpec]:
        """Every session's live queries: current id → spec."""
        return {lid: spec for s in self._sessions.values() for lid, spec in s.live_queries.items()}

    def set_auth_provider(self, session: UUID | str | None, present: bool = True) -> None:
        """Declare whether a credentials provider exists for a session (the default session's
        comes from the constructor)."""
        state = self.session(session)
        state.auth = replace(state.auth, provider=present)

    # ------------------------------------------------------------------ learning

    def on_success(self, method: str, params: Sequence[Any], session: UUID | str | None,
                   result: Any, now: float) -> Ended:
        """Update the state from a request that succeeded.

        Args:
            method: the RPC method.
            params: the params as sent.
            session: the ``session`` envelope field.
            result: the raw result of the reply.
            now: the current time.

        Returns:
            What the success ended (see :class:`Ended`).

        Never raises for a result of an unexpected shape: it is ignored. Replies for a session
        that is no longer attached are ignored (except ``attach``).
        """
        key = session if session is None else _key(session)
        state = self._sessions.get(key)
        if method == "attach":
            if key is not None and state is None:
                # A fresh attached session is anonymous, with no ns/db or variables (§9.1).
                self._sessions[key] = SessionState(key)
            return _NOTHING
        handler = self._handlers.get(method)
        if state is None or handler is None:
            return _NOTHING
        args = params if type(params) is tuple else tuple(params)
        return handler(state, args, result, now) or _NOTHING

    def _use(self, st: SessionState, params: tuple[Any, ...], result: Any, now: float) -> None:
        if isinstance(result, Mapping) and ("namespace" in result or "database" in result):
            # 3.x replies {namespace, database}: the truth, defaults applied (§4.4).
            ns, db = result.get("namespace"), result.get("database")
            st.namespace = ns if isinstance(ns, str) else None
            st.database = db if isinstance(db, str) else None
            return
        # 1.x/2.x reply NONE: a string sets, NONE leaves unchanged, NULL unsets (§4.2).
        ns = params[0] if params else None
        db = params[1] if len(params) > 1 else None
        if ns is not None:
            st.namespace = ns if isinstance(ns, str) else None
        if db is not None:
            st.database = db if isinstance(db, str) else None
        if st.namespace is None:
            st.database = None  # no database without a namespace (§4.4)

    def _let(self, st: SessionState, params: tuple[Any, ...], result: Any, now: float) -> None:
        if params and isinstance(params[0], str):
            value = params[1] if len(params) > 1 else None
            if value is None:
                st.variables.pop(params[0], None)  # NONE removes the variable (§4.2)
            else:
                st.variables[params[0]] = value

    def _unset(self, st: SessionState, params: tuple[Any, ...], result: Any,
               now: float) -> None:
        if params and isinstance(params[0], str):
            st.variables.pop(params[0], None)

    def _set_auth(self, st: SessionState, method: AuthMethod, tokens: Tokens,
                  credentials: Credentials | None, now: float,
                  received_at: float | None = None) -> None:
        # Any successful auth starts a new session expiry, unknown until learnt (§7.5).
        access = tokens.access
        st.auth = AuthState(access=access, refresh=tokens.refresh, credentials=credentials,
                            provider=st.auth.provider, method=method,
                            token_exp=None if access is None else jwt_expiry(access),
                            token_received_at=None if access is None else
                            (now if received_at is None else received_at))
        st.renewing = False
        st.renewal_failed = False

    @staticmethod
    def _select(st: SessionState, ns: Any, db: Any) -> None:
        # Signing in selects the namespace and database it names (§7.1, §7.3).
        if isinstance(ns, str):
            st.namespace = ns
        if isinstance(db, str):
            st.database = db

    def _signin(self, st: SessionState, params: tuple[Any, ...], result: Any,
                now: float) -> None:
        wire = params[0] if params else None
        given = Credentials._from_wire(wire)
        kept = st.auth.credentials
        if given is not None and given.kind is CredentialsKind.REFRESH:
            # A refresh key is single use (§7.7): never keep it; the identity is unchanged.
            creds = None if kept is not None and kept.kind is CredentialsKind.REFRESH else kept
        elif given is None or st.auth.provider:
            creds = None
        elif self._keep or given == kept:
            creds = given  # the auth= option's credentials stay kept even without keep
        else:
            creds = None
        self._set_auth(st, AuthMethod.SIGNIN, _tokens(result), creds, now)
        if isinstance(wire, Mapping):
            self._select(st, wire.get("NS"), wire.get("DB"))

    def _signup(self, st: SessionState, params: tuple[Any, ...], result: Any,
                now: float) -> None:
        self._set_auth(st, AuthMethod.SIGNUP, _tokens(result), None, now)
        wire = params[0] if params else None
        if isinstance(wire, Mapping):
            self._select(st, wire.get("NS"), wire.get("DB"))

    def _authenticate(self, st: SessionState, params: tuple[Any, ...], result: Any,
                      now: float) -> None:
        token = params[0] if params else None
        if not isinstance(token, str):
            return
        old = st.auth
        if token == old.access:
            # Re-authenticating with our own token (a replay): same identity, keep the rest.
            self._set_auth(st, AuthMethod.AUTHENTICATE, old.tokens, old.credentials, now,
                           old.token_received_at)
        else:
            # Another identity: what we kept belongs to the old one.
            self._set_auth(st, AuthMethod.AUTHENTICATE, Tokens(token), None, now)
        self._select(st, *jwt_scope(token))

    def _refresh(self, st: SessionState, params: tuple[Any, ...], result: Any,
                 now: float) -> None:
        tokens = _tokens(result)
        if tokens.access is None:
            return
        kept = st.auth.credentials
        creds = None if kept is not None and kept.kind is CredentialsKind.REFRESH else kept
        # The new pair replaces the old, which the server has consumed (§7.7).
        self._set_auth(st, AuthMethod.REFRESH, tokens, creds, now)
        self._select(st, *jwt_scope(tokens.access))

    def _revoke(self, st: SessionState, params: tuple[Any, ...], result: Any,
                now: float) -> None:
        pair = params[0] if params else None
        if (isinstance(pair, Mapping) and st.auth.refresh is not None
                and pair.get("refresh") == st.auth.refresh):
            st.auth = replace(st.auth, refresh=None)

    def _invalidate(self, st: SessionState, params: tuple[Any, ...], result: Any,
                    now: float) -> None:
        # Clears auth, keeps ns/db/variables (§4.4). The secrets we kept go too.
        st.auth = AuthState(provider=st.auth.provider)
        st.renewing = st.renewal_failed = False

    def _reset(self, st: SessionState, params: tuple[Any, ...], result: Any,
               now: float) -> Ended:
        # Clears auth, ns/db, variables; kills the session's live queries; 3.2.2+ also cancels
        # its transactions (§4.4).
        self._invalidate(st, params, result, now)
        st.namespace = st.database = None
        st.variables.clear()
        ended = Ended(tuple(st.live_queries), tuple(st.transactions))
        st.live_queries.clear()
        st.transactions.clear()
        return ended

    def _detach(self, st: SessionState, params: tuple[Any, ...], result: Any,
                now: float) -> Ended | None:
        if st.key is None:
            return None
        # detach kills the session's live queries and cancels its transactions (§9.1).
        del self._sessions[st.key]
        return Ended(tuple(st.live_queries), tuple(st.transactions))

    def _live(self, st: SessionState, params: tuple[Any, ...], result: Any,
              now: float) -> None:
        live_id = _as_uuid(result)
        if live_id is not None:
            st.live_queries[live_id] = LiveSpec(method="live", params=params, session=st.key,
                                                original_id=live_id)

    def _kill(self, st: SessionState, params: tuple[Any, ...], result: Any,
              now: float) -> Ended | None:
        live_id = _as_uuid(params[0]) if params else None
        if live_id is None or not self.drop_live(live_id):
            return None
        return Ended(live_queries=(live_id,))

    def _begin(self, st: SessionState, params: tuple[Any, ...], result: Any,
               now: float) -> None:
        txn = _as_uuid(result)
        if txn is not None:
            st.transactions[txn] = None

    def _finish(self, st: SessionState, params: tuple[Any, ...], result: Any,
                now: float) -> Ended | None:
        txn = _as_uuid(params[-1]) if params else None  # the last param is the id (§4.2)
        if txn is None or txn not in st.transactions:
            return None
        del st.transactions[txn]
        return Ended(transactions=(txn,))

    def _query(self, st: SessionState, params: tuple[Any, ...], result: Any,
               now: float) -> Ended | None:
        sql = params[0] if params else None
        if not isinstance(sql, str) or not isinstance(result, list):
            return None
        if sql == SESSION_EXPIRY_SQL:
            self._learn_expiry(st, result, now)
            return None
        count = len(result)
        kinds = [_statement_type(s, sql, count) for s in result]
        ended: list[UUID] = []
        if "kill" in kinds:
            # The killed id is in the text or the variables; forget the known ones named.
            candidates = [UUID(m) for m in _UUID_TEXT.findall(sql)]
            variables = params[1] if len(params) > 1 else None
            if isinstance(variables, Mapping):
                candidates += [u for v in variables.values() if (u := _as_uuid(v))]
            ended = [u for u in dict.fromkeys(candidates) if self.drop_live(u)]
        if "live" in kinds:
            for statement, kind in zip(result, kinds, strict=True):
                live_id = _as_uuid(statement.get("result")) if kind == "live" else None
                if live_id is not None:
                    # Only a lone LIVE SELECT can be re-run safely (§8.3): other statements of
                    # the same text might write again.
                    st.live_queries[live_id] = LiveSpec(
                        method="query", params=params, session=st.key, original_id=live_id,
                        restartable=count == 1)
        return Ended(live_queries=tuple(ended)) if ended else None

    def _learn_expiry(self, st: SessionState, result: Any, now: float) -> None:
        known, exp = session_expiry_value(result)
        if known:
            st.auth = replace(st.auth, session_exp=exp, session_exp_known=True,
                              session_exp_learned_at=now)

    def record_session_expiry(self, session: UUID | str | None, result: Any,
                              now: float) -> None:
        """Record the raw ``query`` result of :data:`~._replay.SESSION_EXPIRY_SQL` (what
        :meth:`on_success` does by itself when it sees that query)."""
        self._learn_expiry(self.session(session), result, now)

    # ------------------------------------------------------------------ live queries

    def live_restarted(self, old_id: UUID, new_id: UUID) -> bool:
        """Re-key a restarted live query (``protocol.md`` §8.3: the id changes).

        Returns:
            ``False`` if ``old_id`` is unknown (killed meanwhile): then kill ``new_id``.
        """
        for st in self._sessions.values():
            spec = st.live_queries.pop(old_id, None)
            if spec is not None:
                st.live_queries[new_id] = spec
                return True
        return False

    def drop_live(self, live_id: UUID) -> bool:
        """Forget a live query without a ``kill`` (a ``KILLED`` notification, a failed
        restart). Returns whether it was known."""
        return any(st.live_queries.pop(live_id, None) is not None
                   for st in self._sessions.values())


def _statement_type(statement: Any, sql: str, count: int) -> str | None:
    # 3.x names it (§6.5 ``type``: NONE for an ordinary statement); 1.x/2.x do not: then a
    # lone statement is judged by its first keyword. (The exact type test first: decoded
    # statements are dicts, and ABC checks are slow.)
    if ((type(statement) is not dict and not isinstance(statement, Mapping))
            or statement.get("status") != "OK"):
        return None
    kind = statement.get("type")
    if isinstance(kind, str):
        return kind.lower()
    if "type" in statement:
        return None
    match = _FIRST_WORD.match(sql)
    if count == 1 and match is not None and match[1].upper() in ("LIVE", "KILL"):
        return match[1].lower()
    return None


def _restarted_id(method: str | None, result: Any) -> UUID | None:
    # ``live`` returns the id; a lone ``LIVE SELECT`` query returns it as its statement's result.
    if method == "live":
        return _as_uuid(result)
    if isinstance(result, list) and result and isinstance(result[0], Mapping) \
            and result[0].get("status") == "OK":
        return _as_uuid(result[0].get("result"))
    return None
