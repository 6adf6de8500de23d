"""surreal_proto: a Sans-IO SurrealDB protocol engine.

It does no I/O and reads no clock: feed it bytes and the current time, take the bytes it wants
sent and the events it produced. The adapters ``surreal_sync``, ``surreal_asyncio`` and
``surreal_trio`` drive it over sockets; library authors can drive it from any event loop
(``docs/sansio.md``).
"""

from __future__ import annotations

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

__version__ = "0.1.0"

__all__ = [
    # errors
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
    "__version__",
    "server_error_from_wire",
]
