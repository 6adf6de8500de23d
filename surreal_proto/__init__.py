"""surreal_proto: a Sans-IO SurrealDB protocol engine.

It does no I/O and reads no clock: feed it bytes and the current time, take the bytes it wants
sent and the events it produced. The adapters ``surreal_sync``, ``surreal_asyncio`` and
``surreal_trio`` drive it over sockets; library authors can drive it from any event loop
(``docs/sansio.md``).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ._datetime import Datetime
from ._duration import Duration
from ._errors import (
    AlreadyExistsError,
    AuthError,
    ConfigurationError,
    ConnectionClosedError,
    EncodingError,
    HandshakeError,
    InternalError,
    InvalidAuthError,
    LocalProtocolError,
    NotAllowedError,
    NotFoundError,
    OutcomeUnknownError,
    ProtocolError,
    QueryError,
    ReconnectFailedError,
    RemoteProtocolError,
    SerializationError,
    ServerError,
    SessionExpiredError,
    SurrealConnectionError,
    SurrealError,
    SurrealTimeoutError,
    ThrownError,
    TLSError,
    TokenExpiredError,
    UnencodableTypeError,
    UnsupportedEngineError,
    UnsupportedFeatureError,
    ValidationError,
    server_error_from_wire,
)
from ._geometry import (
    Geometry,
    GeometryCollection,
    GeometryLine,
    GeometryMultiLine,
    GeometryMultiPoint,
    GeometryMultiPolygon,
    GeometryPoint,
    GeometryPolygon,
)
from ._range import BoundExcluded, BoundIncluded, Range
from ._recordid import RecordID, RecordIdKey, StringRecordID, Table
from ._values import NULL, File, Future, NullType, SurrealSet, Tagged

# isort: split
# --- core: the events; the rest loads on first use (below) ------------------------------------
from ._events import (
    AnyEvent,
    Connected,
    ConnectionClosed,
    ErrorReceived,
    Event,
    LiveNotificationReceived,
    LiveQueryEnded,
    PendingRequest,
    ProtocolViolation,
    RequestFailed,
    RequestId,
    RequestOutcome,
    RequestTimedOut,
    ResponseReceived,
)

if TYPE_CHECKING:
    # --- the connection, its state and the RPC layer (issue 4) -----------------------------
    from ._rpc import DEFAULT_TIMEOUT, RpcLayer, Timeout
    from ._state import ConnectionState
    from ._ws import DEFAULT_MAX_MESSAGE_SIZE, WebSocketConnection

    # isort: split
    # --- the other transports, sessions, auth, URLs, results, and the client engine -------
    from . import _calls as calls
    from ._auth import Tokens
    from ._client import ClientEngine
    from ._client_events import (
        AuthenticationLost,
        CallFailed,
        CallId,
        CallSucceeded,
        CancelHttpRequest,
        ClientEvent,
        ClientState,
        CloseLink,
        InsecureTransportDetected,
        NotificationsQueued,
        OpenLink,
        PrepareNeeded,
        ProviderNeeded,
        ReconnectPolicy,
        ReconnectScheduled,
        SessionRestoreFailed,
        StateChanged,
        SubscriptionEnded,
    )
    from ._embedded import EmbeddedConnection, EmbeddedMessage
    from ._http import HttpRequest, build_rpc_request, parse_rpc_response
    from ._http_connection import HttpConnection
    from ._http_context import HttpContext
    from ._http_requests import HttpRequestConnection
    from ._results import StatementResult, parse_query_result, query_values
    from ._session import SessionTracker
    from ._subscriptions import LiveNotification, Subscription, SubscriptionView
    from ._url import Endpoint, parse_url
    from ._version import ServerVersion

#: Where each name of the connection layer and the client engine lives. They are imported on
#: first access (PEP 562): ``import surreal_proto`` costs only the value types, the errors and
#: the events, and a program that drives one transport never loads the others' modules.
_LAZY: dict[str, str] = {
    "DEFAULT_TIMEOUT": "_rpc", "RpcLayer": "_rpc", "Timeout": "_rpc",
    "ConnectionState": "_state",
    "DEFAULT_MAX_MESSAGE_SIZE": "_ws", "WebSocketConnection": "_ws",
    "calls": "_calls",
    "Tokens": "_auth",
    "ClientEngine": "_client",
    **dict.fromkeys((
        "AuthenticationLost", "CallFailed", "CallId", "CallSucceeded", "CancelHttpRequest",
        "ClientEvent", "ClientState", "CloseLink", "InsecureTransportDetected",
        "NotificationsQueued", "OpenLink", "PrepareNeeded", "ProviderNeeded", "ReconnectPolicy",
        "ReconnectScheduled", "SessionRestoreFailed", "StateChanged", "SubscriptionEnded",
    ), "_client_events"),
    "EmbeddedConnection": "_embedded", "EmbeddedMessage": "_embedded",
    "HttpRequest": "_http", "build_rpc_request": "_http", "parse_rpc_response": "_http",
    "HttpConnection": "_http_connection",
    "HttpContext": "_http_context",
    "HttpRequestConnection": "_http_requests",
    "StatementResult": "_results", "parse_query_result": "_results", "query_values": "_results",
    "SessionTracker": "_session",
    "LiveNotification": "_subscriptions", "Subscription": "_subscriptions",
    "SubscriptionView": "_subscriptions",
    "Endpoint": "_url", "parse_url": "_url",
    "ServerVersion": "_version",
}


def __getattr__(name: str) -> Any:
    """Import a name of :data:`_LAZY` from its module on first access, and keep it here."""
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = import_module(f"{__name__}.{module_name}")
    value = module if name == "calls" else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The module's names, including those not imported yet."""
    return sorted({*globals(), *_LAZY})


__version__ = "0.1.0"

__all__ = [
    # errors and values, one sorted list
    "NULL",
    "AlreadyExistsError",
    "AuthError",
    "BoundExcluded",
    "BoundIncluded",
    "ConfigurationError",
    "ConnectionClosedError",
    "Datetime",
    "Duration",
    "EncodingError",
    "File",
    "Future",
    "Geometry",
    "GeometryCollection",
    "GeometryLine",
    "GeometryMultiLine",
    "GeometryMultiPoint",
    "GeometryMultiPolygon",
    "GeometryPoint",
    "GeometryPolygon",
    "HandshakeError",
    "InternalError",
    "InvalidAuthError",
    "LocalProtocolError",
    "NotAllowedError",
    "NotFoundError",
    "NullType",
    "OutcomeUnknownError",
    "ProtocolError",
    "QueryError",
    "Range",
    "ReconnectFailedError",
    "RecordID",
    "RecordIdKey",
    "RemoteProtocolError",
    "SerializationError",
    "ServerError",
    "SessionExpiredError",
    "StringRecordID",
    "SurrealConnectionError",
    "SurrealError",
    "SurrealSet",
    "SurrealTimeoutError",
    "TLSError",
    "Table",
    "Tagged",
    "ThrownError",
    "TokenExpiredError",
    "UnencodableTypeError",
    "UnsupportedEngineError",
    "UnsupportedFeatureError",
    "ValidationError",
    "__version__",
    "server_error_from_wire",
]

# core: the connection, its state, the RPC layer and events (issue 4)
__all__ += [
    "DEFAULT_MAX_MESSAGE_SIZE",
    "DEFAULT_TIMEOUT",
    "AnyEvent",
    "Connected",
    "ConnectionClosed",
    "ConnectionState",
    "ErrorReceived",
    "Event",
    "LiveNotificationReceived",
    "LiveQueryEnded",
    "PendingRequest",
    "ProtocolViolation",
    "RequestFailed",
    "RequestId",
    "RequestOutcome",
    "RequestTimedOut",
    "ResponseReceived",
    "RpcLayer",
    "Timeout",
    "WebSocketConnection",
]

# the other transports, sessions, auth, URLs, results, and the client engine
__all__ += [
    "AuthenticationLost",
    "CallFailed",
    "CallId",
    "CallSucceeded",
    "CancelHttpRequest",
    "ClientEngine",
    "ClientEvent",
    "ClientState",
    "CloseLink",
    "EmbeddedConnection",
    "EmbeddedMessage",
    "Endpoint",
    "HttpConnection",
    "HttpContext",
    "HttpRequest",
    "HttpRequestConnection",
    "InsecureTransportDetected",
    "LiveNotification",
    "NotificationsQueued",
    "OpenLink",
    "PrepareNeeded",
    "ProviderNeeded",
    "ReconnectPolicy",
    "ReconnectScheduled",
    "ServerVersion",
    "SessionRestoreFailed",
    "SessionTracker",
    "StateChanged",
    "StatementResult",
    "Subscription",
    "SubscriptionEnded",
    "SubscriptionView",
    "Tokens",
    "build_rpc_request",
    "calls",
    "parse_query_result",
    "parse_rpc_response",
    "parse_url",
    "query_values",
]

#: What the adapters re-export for application code: the value types, the errors, and the
#: few result types their methods return. Library authors import the rest from here.
USER_NAMES: tuple[str, ...] = (
    "NULL", "AlreadyExistsError", "AuthError", "BoundExcluded", "BoundIncluded", "ClientState",
    "ConfigurationError", "ConnectionClosedError", "Datetime", "Duration", "EncodingError",
    "File", "Future", "Geometry", "GeometryCollection", "GeometryLine", "GeometryMultiLine",
    "GeometryMultiPoint", "GeometryMultiPolygon", "GeometryPoint", "GeometryPolygon",
    "HandshakeError", "InternalError", "InvalidAuthError", "LiveNotification",
    "LocalProtocolError", "NotAllowedError", "NotFoundError", "NullType",
    "OutcomeUnknownError", "ProtocolError", "QueryError", "Range", "ReconnectFailedError",
    "ReconnectPolicy", "RecordID", "RemoteProtocolError", "SerializationError", "ServerError",
    "ServerVersion", "SessionExpiredError", "StatementResult", "StringRecordID",
    "SurrealConnectionError", "SurrealError", "SurrealSet", "SurrealTimeoutError", "TLSError",
    "Table", "Tagged", "ThrownError", "TokenExpiredError", "Tokens", "UnencodableTypeError",
    "UnsupportedEngineError", "UnsupportedFeatureError", "ValidationError",
)
__all__ += ["USER_NAMES"]
