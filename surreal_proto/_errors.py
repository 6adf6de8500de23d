"""The one exception hierarchy of the project (``API.md`` §7).

Tree::

    SurrealError
    ├── ProtocolError                    (abstract: never raised itself)
    │   ├── LocalProtocolError           the caller misused the core; no state changed
    │   └── RemoteProtocolError          the peer sent bytes we cannot make sense of
    ├── EncodingError (ValueError)       a value cannot be sent (int out of range, ...)
    │   └── UnencodableTypeError (TypeError)
    ├── SurrealConnectionError (ConnectionError)
    │   ├── ConnectionClosedError        the link is gone; waiting calls fail with this
    │   ├── HandshakeError               the WebSocket upgrade or HTTP exchange was refused
    │   ├── TLSError                     certificate or host-name verification failed
    │   └── ReconnectFailedError         the reconnect policy gave up
    ├── SurrealTimeoutError (TimeoutError)
    ├── OutcomeUnknownError              a write whose link dropped before its reply
    ├── UnsupportedFeatureError          the transport or server cannot do this
    ├── UnsupportedEngineError           the URL scheme is not one we know
    └── ServerError(code, message, kind, details, cause)
        ├── ValidationError, ConfigurationError, SerializationError
        ├── QueryError                   also what ``query()`` raises for failed statements
        ├── NotAllowedError
        │   ├── AuthError
        │   │   ├── TokenExpiredError
        │   │   ├── SessionExpiredError
        │   │   └── InvalidAuthError
        ├── NotFoundError, AlreadyExistsError
        ├── ThrownError
        └── InternalError

Server errors are data first: :func:`server_error_from_wire` turns the error object of an RPC
reply (``protocol.md`` §6.2 for 3.x, §6.1 for 1.x/2.x) into the right subclass. Messages never
contain credentials: the server does not echo them, and the client-side errors are built from
fixed text plus non-secret names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

__all__ = [
    "AlreadyExistsError",
    "AuthError",
    "ConfigurationError",
    "ConnectionClosedError",
    "EncodingError",
    "HandshakeError",
    "InternalError",
    "InvalidAuthError",
    "LocalProtocolError",
    "NotAllowedError",
    "NotFoundError",
    "OutcomeUnknownError",
    "ProtocolError",
    "QueryError",
    "ReconnectFailedError",
    "RemoteProtocolError",
    "SerializationError",
    "ServerError",
    "SessionExpiredError",
    "SurrealConnectionError",
    "SurrealError",
    "SurrealTimeoutError",
    "TLSError",
    "ThrownError",
    "TokenExpiredError",
    "UnencodableTypeError",
    "UnsupportedEngineError",
    "UnsupportedFeatureError",
    "ValidationError",
    "server_error_from_wire",
]


class SurrealError(Exception):
    """Base class of every error this library raises."""


# --------------------------------------------------------------------------- protocol errors


class ProtocolError(SurrealError):
    """A violation of the protocol, by us (:class:`LocalProtocolError`) or by the peer
    (:class:`RemoteProtocolError`). This class itself is abstract and cannot be raised."""

    def __new__(cls, *args: Any, **kwargs: Any) -> ProtocolError:
        if cls is ProtocolError:
            raise TypeError("tried to instantiate the abstract class ProtocolError")
        return super().__new__(cls, *args, **kwargs)


class LocalProtocolError(ProtocolError):
    """The caller asked the core to do something it cannot do in its current state (sending
    before the handshake completed, after close, bad arguments). Raised at once; the core's
    state is unchanged."""


class RemoteProtocolError(ProtocolError):
    """The peer sent something we cannot make sense of: bad CBOR, a broken WebSocket frame, a
    reply that is not a map, a malformed HTTP response. The only exception the core's input
    methods raise; anything else escaping them is a bug."""


# --------------------------------------------------------------------------- value errors


class EncodingError(SurrealError, ValueError):
    """A Python value cannot be sent to SurrealDB as it is. Raised before anything is sent."""


class UnencodableTypeError(EncodingError, TypeError):
    """A Python object of a type with no SurrealDB equivalent."""


# --------------------------------------------------------------------------- connection errors


class SurrealConnectionError(SurrealError, ConnectionError):
    """The link to the server failed or is unusable."""


class ConnectionClosedError(SurrealConnectionError):
    """The connection is closed (by us, by the peer, or by a network failure). Every call that
    was waiting for a reply fails with this error."""

    def __init__(self, message: str = "the connection is closed", *,
                 code: int | None = None, reason: str = "") -> None:
        super().__init__(message)
        #: WebSocket close code, when one was received.
        self.code = code
        #: WebSocket close reason, when one was received.
        self.reason = reason


class HandshakeError(SurrealConnectionError):
    """The server refused the WebSocket upgrade, or answered an HTTP request in a way that is
    not a SurrealDB answer."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        #: The HTTP status code of the refusal, when there was one.
        self.status = status


class TLSError(SurrealConnectionError):
    """TLS could not be established: certificate or host-name verification failed."""


class ReconnectFailedError(SurrealConnectionError):
    """Reconnecting gave up after the attempts the reconnect policy allows."""


class SurrealTimeoutError(SurrealError, TimeoutError):
    """A call did not complete within its deadline. The request was abandoned: a late reply is
    dropped. A write may still have run on the server."""


class OutcomeUnknownError(SurrealError):
    """The connection dropped after a request that can change data was sent and before its
    reply arrived. It may or may not have run; it is never re-sent automatically."""


class UnsupportedFeatureError(SurrealError):
    """The transport or the server cannot do what was asked (live queries over HTTP,
    transactions on the embedded engine, sessions on 2.x, ...). Raised before sending."""


class UnsupportedEngineError(SurrealError):
    """The URL's scheme names no engine this library supports, or its extra is missing."""


# --------------------------------------------------------------------------- server errors


class ServerError(SurrealError):
    """An error reported by SurrealDB.

    Attributes:
        code: the JSON-RPC-style code (legacy; its meaning differs between 2.x and 3.x).
        message: the server's message.
        kind: the 3.x error kind (``"NotAllowed"``, ``"NotFound"``, ...), derived from code and
            message for 1.x/2.x servers.
        details: the raw ``details`` map of a 3.x error, or ``None``.
        cause: the chained cause, itself a :class:`ServerError`, or ``None``.
    """

    #: The ``kind`` this class stands for.
    KIND: ClassVar[str] = "Internal"

    def __init__(self, message: str, *, code: int | None = None, kind: str | None = None,
                 details: Mapping[str, Any] | None = None,
                 cause: ServerError | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.kind = kind if kind is not None else self.KIND
        self.details = details
        self.cause = cause
        if cause is not None:
            self.__cause__ = cause

    @property
    def detail_kind(self) -> str | None:
        """The first-level detail kind (``"Auth"``, ``"Table"``, ``"TimedOut"``, ...)."""
        return _detail_kind(self.details)

    @property
    def detail_path(self) -> tuple[str, ...]:
        """Every nested detail kind, outermost first, e.g. ``("Auth", "TokenExpired")``."""
        path: list[str] = []
        details: Any = self.details
        while isinstance(details, Mapping):
            kind = details.get("kind")
            if not isinstance(kind, str):
                break
            path.append(kind)
            details = details.get("details")
        return tuple(path)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(code={self.code!r}, kind={self.kind!r}, "
                f"message={self.message!r}, details={self.details!r})")

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_server_error, (type(self), self.message, self.code, self.kind,
                                        self.details, self.cause))


def _rebuild_server_error(cls: type[ServerError], message: str, code: int | None,
                          kind: str | None, details: Mapping[str, Any] | None,
                          cause: ServerError | None) -> ServerError:
    return cls(message, code=code, kind=kind, details=details, cause=cause)


class ValidationError(ServerError):
    """The request or query was invalid (parse error, bad params, no namespace selected)."""

    KIND = "Validation"


class ConfigurationError(ServerError):
    """A server configuration prevents the request (e.g. live queries not supported)."""

    KIND = "Configuration"


class SerializationError(ServerError):
    """The server could not serialise or deserialise a value."""

    KIND = "Serialization"


class QueryError(ServerError):
    """A query did not complete: the server reported a ``Query`` kind error (timed out,
    cancelled, not executed, transaction conflict), or ``query()`` found failed statements.

    When raised by ``query()``, :attr:`results` holds every statement's outcome in order (a
    value, or the statement's :class:`ServerError`), and :attr:`errors` the failed ones.
    """

    KIND = "Query"

    def __init__(self, message: str, *, code: int | None = None, kind: str | None = None,
                 details: Mapping[str, Any] | None = None, cause: ServerError | None = None,
                 results: Sequence[Any] = ()) -> None:
        super().__init__(message, code=code, kind=kind, details=details, cause=cause)
        #: Every statement's outcome, when raised by ``query()``.
        self.results: list[Any] = list(results)

    @property
    def errors(self) -> list[ServerError]:
        """The failed statements' errors, in statement order."""
        return [r for r in self.results if isinstance(r, ServerError)]

    @property
    def is_transaction_conflict(self) -> bool:
        """True when the failure is a retryable transaction conflict."""
        return self.detail_kind == "TransactionConflict" or any(
            e.detail_kind == "TransactionConflict" for e in self.errors)

    @property
    def is_timed_out(self) -> bool:
        """True when the server's ``TIMEOUT`` clause stopped the query."""
        return self.detail_kind == "TimedOut"


class NotAllowedError(ServerError):
    """The session may not do this (permissions, method not allowed, auth problems)."""

    KIND = "NotAllowed"


class AuthError(NotAllowedError):
    """An authentication problem (``details.kind == "Auth"``)."""


class TokenExpiredError(AuthError):
    """The token used to authenticate has expired (``protocol.md`` §7.6: on HTTP, every
    request is authenticated by the token, so the *token* duration governs)."""


class SessionExpiredError(AuthError):
    """The WebSocket session's duration has run out (``protocol.md`` §7.5). Signing in again,
    authenticating with a valid token or refreshing renews it on the same connection."""


class InvalidAuthError(AuthError):
    """The credentials or token were rejected."""


class NotFoundError(ServerError):
    """Something named by the request does not exist (table, record, session, method...)."""

    KIND = "NotFound"


class AlreadyExistsError(ServerError):
    """Something the request would create already exists."""

    KIND = "AlreadyExists"


class ThrownError(ServerError):
    """A ``THROW`` statement or a thrown error from a function."""

    KIND = "Thrown"


class InternalError(ServerError):
    """An internal server error, or an error of a kind this client does not know."""

    KIND = "Internal"


_KIND_CLASSES: dict[str, type[ServerError]] = {
    cls.KIND: cls
    for cls in (ValidationError, ConfigurationError, SerializationError, QueryError,
                NotAllowedError, NotFoundError, AlreadyExistsError, ThrownError, InternalError)
}

_AUTH_CLASSES: dict[str, type[AuthError]] = {
    "TokenExpired": TokenExpiredError,
    "SessionExpired": SessionExpiredError,
    "InvalidAuth": InvalidAuthError,
}

# 1.x/2.x: codes below -32600..-32601 are reliable, everything else is -32000 with text
# (protocol.md §6.1, §6.3). -32602 means "Invalid params" there (METHOD_NOT_ALLOWED on 3.x).
_LEGACY_CODES: dict[int, tuple[str, str | None]] = {
    -32700: ("Validation", "Parse"),
    -32600: ("Validation", "InvalidRequest"),
    -32601: ("NotFound", "Method"),
    -32602: ("Validation", "InvalidParams"),
}

# Message fragments of 1.x/2.x errors, most specific first (protocol.md §6.3 "Client rule").
_LEGACY_MESSAGES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("session has expired", "NotAllowed", ("Auth", "SessionExpired")),
    ("token has expired", "NotAllowed", ("Auth", "TokenExpired")),
    ("problem with authentication", "NotAllowed", ("Auth", "InvalidAuth")),
    ("method not allowed", "NotAllowed", ("Method",)),
    ("not enough permissions", "NotAllowed", ("Auth", "NotAllowed")),
    ("not supported", "Configuration", ("LiveQueryNotSupported",)),
    ("already exists", "AlreadyExists", ()),
    ("does not exist", "NotFound", ()),
    ("an error occurred:", "Thrown", ()),
)


def _detail_kind(details: Any) -> str | None:
    if isinstance(details, Mapping):
        kind = details.get("kind")
        if isinstance(kind, str):
            return kind
    return None


def _nest(path: tuple[str, ...]) -> dict[str, Any] | None:
    details: dict[str, Any] | None = None
    for kind in reversed(path):
        details = {"kind": kind} if details is None else {"kind": kind, "details": details}
    return details


def _class_for(kind: str, details: Any) -> type[ServerError]:
    cls = _KIND_CLASSES.get(kind, InternalError)
    if cls is NotAllowedError and _detail_kind(details) == "Auth":
        inner = details.get("details") if isinstance(details, Mapping) else None
        return _AUTH_CLASSES.get(_detail_kind(inner) or "", AuthError)
    return cls


def _unwrap_double(kind: str, details: Any) -> Any:
    # Some servers double-wrap details (details.kind == kind, the real detail one level down;
    # protocol.md §6.5 last bullet). Unwrap that.
    if _detail_kind(details) == kind and isinstance(details, Mapping):
        return details.get("details")
    return details


def server_error_from_wire(obj: Any, *, message_key: str = "message") -> ServerError:
    """Build the right :class:`ServerError` subclass from an error object off the wire.

    Args:
        obj: the ``error`` value of an RPC reply, a per-statement ``ERR`` result of ``query``
            (pass ``message_key="result"``), or a ``cause`` map.
        message_key: where the message text is.

    Returns:
        The exception (not raised). An object of the wrong shape still gives an
        :class:`InternalError` that describes it, so a misbehaving server never crashes a
        reader.
    """
    if not isinstance(obj, Mapping):
        return InternalError(f"malformed error from the server: {obj!r}")
    raw_message = obj.get(message_key)
    message = raw_message if isinstance(raw_message, str) else repr(raw_message)
    raw_code = obj.get("code")
    code = raw_code if isinstance(raw_code, int) and not isinstance(raw_code, bool) else None
    raw_cause = obj.get("cause")
    cause = (server_error_from_wire(raw_cause) if isinstance(raw_cause, Mapping) else None)
    kind = obj.get("kind")
    if isinstance(kind, str):
        # 3.x: classify by kind and details; ignore the code (protocol.md §6.3).
        raw_details = _unwrap_double(kind, obj.get("details"))
        details = dict(raw_details) if isinstance(raw_details, Mapping) else None
        cls = _class_for(kind, details)
        if cls is InternalError and kind not in _KIND_CLASSES:
            kind = "Internal"  # unknown kinds are Internal, as the server itself does
        return cls(message, code=code, kind=kind, details=details, cause=cause)
    return _legacy_error(message, code, cause)


def _legacy_error(message: str, code: int | None, cause: ServerError | None) -> ServerError:
    if code is not None and code in _LEGACY_CODES:
        kind, detail = _LEGACY_CODES[code]
        details = _nest((detail,)) if detail else None
        return _class_for(kind, details)(message, code=code, kind=kind, details=details,
                                         cause=cause)
    lowered = message.lower()
    for fragment, kind, path in _LEGACY_MESSAGES:
        if fragment in lowered:
            details = _nest(path)
            return _class_for(kind, details)(message, code=code, kind=kind, details=details,
                                             cause=cause)
    return InternalError(message, code=code, kind="Internal", cause=cause)
