"""Pure HTTP request builders and response parsers (the gidgethub pattern, ``anchors-style.md``
§8 and lesson 13).

These functions do no I/O. Whoever carries HTTP calls a ``build_*`` function, sends the
:class:`HttpRequest` it gets to ``<base URL><target>``, and hands the reply's status, headers
and body to the matching ``parse_*`` function, which returns the result or raises the typed
error. Both HTTP connections of the core use the very same functions, so status mapping and
CBOR handling exist once: :class:`~surreal_proto.HttpConnection` over ``h11``, and
:class:`~surreal_proto._http_requests.HttpRequestConnection`, which hands the requests to the
caller's own client (``httpx``) together with the client-side session.

What goes on the wire (``protocol.md`` §3):

* ``POST /rpc`` carries one request envelope ``{method, params[, session]}`` in CBOR, with
  ``Content-Type`` **and** ``Accept`` set to ``application/cbor`` (§3.1: ``Accept`` must map to
  the same format as ``Content-Type``, or the server answers 415). No ``id`` is sent: HTTP
  replies never echo one (§3.1), so the reply belongs to the request by exchange order.
* Every request carries its context in headers (§3.2): ``Surreal-NS``, ``Surreal-DB`` and
  ``Authorization`` (``Bearer <token>`` or ``Basic <base64(user:pass)>``, plus
  ``Surreal-Auth-NS``/``Surreal-Auth-DB`` for the level of a Basic user).
* ``Host`` and ``Content-Length`` are *not* in :attr:`HttpRequest.headers`: every HTTP client
  (``httpx``, or ``HttpConnection`` over ``h11``) adds them itself.

Status mapping of ``parse_rpc_response`` (``protocol.md`` §3.1, §3.5, §7.6), and why:

========  ==================================================  ===================================
status    body                                                raises
========  ==================================================  ===================================
200       CBOR ``{result}``                                   nothing: returns the result
200       CBOR ``{error}``                                    ``server_error_from_wire(error)``
200       not CBOR, not a map, or neither key                 :class:`RemoteProtocolError`
400       JSON ``ErrorMessage``, ``information`` ``Parse      :class:`ValidationError` (the
          error`` / ``Invalid request``                       request could not be decoded)
400       ``information`` = server overload                   :class:`InternalError` (retry
                                                              later)
401       plain text containing ``token has expired``         :class:`TokenExpiredError`
401       any other plain text                                :class:`InvalidAuthError`
403       JSON ``ErrorMessage``                               :class:`NotAllowedError`
413       anything                                            :class:`ValidationError`: the
                                                              request body is over the server's
                                                              limit (4 MiB for ``/rpc``, §3.4)
415       anything                                            :class:`ValidationError`
5xx       anything                                            :class:`InternalError`
other     anything                                            :class:`HandshakeError` with
                                                              ``status``: not a SurrealDB answer
========  ==================================================  ===================================

413 is a :class:`ValidationError` rather than a :class:`HandshakeError` on purpose: it is a
*server* verdict on this request (a :class:`ServerError`, so retry logic that re-sends after
connection errors leaves it alone), and re-sending the same body can never succeed. The
4xx/5xx errors built here carry ``code=None`` and put the status in the message; the auth ones
carry the same ``details`` as their WebSocket counterparts (``{"kind": "Auth", "details":
{"kind": "TokenExpired"}}``), so ``err.detail_path`` reads the same on every transport.

Secrets: :class:`HttpRequest`'s ``repr`` hides the ``Authorization`` value and the body (a
``signin`` body holds a password). Error messages quote the server's text, cut to a few hundred
characters, with every string passed as ``secrets=`` replaced by ``***``.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeAlias
from uuid import UUID

from ._codec import decode, encode
from ._errors import (
    HandshakeError,
    InternalError,
    InvalidAuthError,
    LocalProtocolError,
    NotAllowedError,
    QueryError,
    RemoteProtocolError,
    ServerError,
    SurrealError,
    TokenExpiredError,
    ValidationError,
    server_error_from_wire,
)

__all__ = [
    "CBOR_MEDIA_TYPE",
    "BasicAuth",
    "HeaderPairs",
    "HttpRequest",
    "build_export_request",
    "build_health_request",
    "build_import_request",
    "build_rpc_request",
    "build_version_request",
    "error_for_status",
    "parse_export_response",
    "parse_health_response",
    "parse_import_response",
    "parse_rpc_response",
    "parse_version_response",
    "rpc_request_for_body",
]

#: The one encoding this client speaks over HTTP (``protocol.md`` §3.1).
CBOR_MEDIA_TYPE: Final = "application/cbor"

#: Response headers as any HTTP client gives them: a mapping (``httpx.Headers``) or a sequence
#: of ``(name, value)`` pairs (``h11``), names and values as ``str`` or ``bytes``.
HeaderPairs: TypeAlias = "Mapping[str, str] | Iterable[tuple[bytes | str, bytes | str]]"

# A header value we are willing to put on the wire: visible ASCII with inner spaces/tabs. The
# server reads Surreal-NS & co. with `HeaderValue::to_str`, which accepts nothing else
# (protocol.md §3.2), and CR/LF would let a value inject headers.
_HEADER_VALUE: Final = re.compile(r"[\x21-\x7e]([\x20-\x7e\t]*[\x21-\x7e])?|")
_HEADER_NAME: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_SECRET_HEADERS: Final = frozenset({"authorization"})
_MAX_QUOTED: Final = 300
_REDACTED: Final = "***"


# --------------------------------------------------------------------------- requests


@dataclass(frozen=True, slots=True, kw_only=True)
class BasicAuth:
    """A system user for ``Authorization: Basic`` (``protocol.md`` §3.2).

    Args:
        username: the user name.
        password: the password (never shown by ``repr``).
        namespace: the user's namespace, for a namespace or database user
            (``Surreal-Auth-NS``); ``None`` for a root user.
        database: the user's database, for a database user (``Surreal-Auth-DB``).
    """

    username: str
    password: str
    namespace: str | None = None
    database: str | None = None

    def __repr__(self) -> str:
        return (f"BasicAuth(username={self.username!r}, password='***', "
                f"namespace={self.namespace!r}, database={self.database!r})")


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpRequest:
    """One HTTP request to send as it is.

    Send ``method`` to the server's base URL followed by ``target`` (``"/rpc"``, or
    ``"/prefix/rpc"`` when a base path was given), with ``headers`` and ``body``. Your HTTP
    client adds ``Host`` and ``Content-Length``. Then pass the reply to the matching
    ``parse_*`` function.

    ``repr`` hides the ``Authorization`` value and shows only the body's length.
    """

    #: ``"GET"`` or ``"POST"``.
    method: str
    #: The path, with any base path in front (``"/rpc"``).
    target: str
    #: Header pairs in order, ``str`` names and values.
    headers: tuple[tuple[str, str], ...]
    #: The encoded body (``b""`` for none).
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (case-insensitive), or ``None``."""
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None

    def __repr__(self) -> str:
        shown = tuple((k, _REDACTED if k.lower() in _SECRET_HEADERS else v)
                      for k, v in self.headers)
        return (f"HttpRequest(method={self.method!r}, target={self.target!r}, "
                f"headers={shown!r}, body=<{len(self.body)} bytes>)")


def _check_header(name: str, value: str) -> tuple[str, str]:
    if not _HEADER_NAME.fullmatch(name):
        raise LocalProtocolError(f"invalid HTTP header name {name!r}")
    if not _HEADER_VALUE.fullmatch(value):
        # Never echo the value: it may be a token.
        raise LocalProtocolError(
            f"the value of HTTP header {name!r} is not visible ASCII (a namespace, database or "
            "credential with control or non-ASCII characters cannot travel in an HTTP header; "
            "use the WebSocket transport for such names)")
    return name, value


def _as_str(value: bytes | str) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


def _context_headers(*, namespace: str | None, database: str | None, token: str | None,
                     basic: BasicAuth | tuple[str, str] | None,
                     extra_headers: Iterable[tuple[bytes | str, bytes | str]]
                     ) -> list[tuple[str, str]]:
    # protocol.md §3.2: context travels in headers on EVERY request.
    if token is not None and basic is not None:
        raise LocalProtocolError("pass either token= or basic=, not both")
    headers: list[tuple[str, str]] = []
    if namespace is not None:
        headers.append(_check_header("Surreal-NS", namespace))
    if database is not None:
        headers.append(_check_header("Surreal-DB", database))
    if token is not None:
        headers.append(_check_header("Authorization", f"Bearer {token}"))
    elif basic is not None:
        if not isinstance(basic, BasicAuth):
            basic = BasicAuth(username=basic[0], password=basic[1])
        pair = f"{basic.username}:{basic.password}".encode()
        headers.append(("Authorization", "Basic " + base64.b64encode(pair).decode("ascii")))
        # The level at which Basic credentials are checked (protocol.md §3.2).
        if basic.namespace is not None:
            headers.append(_check_header("Surreal-Auth-NS", basic.namespace))
        if basic.database is not None:
            headers.append(_check_header("Surreal-Auth-DB", basic.database))
    headers.extend(_check_header(_as_str(k), _as_str(v)) for k, v in extra_headers)
    return headers


def _target(base_path: str, endpoint: str) -> str:
    if base_path and not base_path.startswith("/"):
        raise LocalProtocolError(f"base_path must start with '/', got {base_path!r}")
    return base_path.rstrip("/") + endpoint


def build_rpc_request(method: str, params: Sequence[Any] = (), *,
                      namespace: str | None = None, database: str | None = None,
                      token: str | None = None,
                      basic: BasicAuth | tuple[str, str] | None = None,
                      session: UUID | None = None,
                      extra_headers: Iterable[tuple[bytes | str, bytes | str]] = (),
                      base_path: str = "") -> HttpRequest:
    """Build the ``POST /rpc`` request for one RPC call (``protocol.md`` §3.1).

    This is a plain transport function: it sends exactly ``method`` and ``params``. Session
    logic (answering ``use``/``let`` locally, merging variables, adopting the ``signin``
    token, refusing ``live``, deadlines) lives in the connections: an ``httpx`` adapter
    should drive :class:`~surreal_proto._http_requests.HttpRequestConnection`, which hands
    out ready :class:`HttpRequest` objects and takes the replies, rather than call this
    function for every method.

    Args:
        method: the RPC method name, lower-case (``"query"``).
        params: its positional params (``protocol.md`` §4.2).
        namespace: sent as ``Surreal-NS``; ``None`` sends no header.
        database: sent as ``Surreal-DB``.
        token: an access token, sent as ``Authorization: Bearer``.
        basic: a system user, sent as ``Authorization: Basic`` (exclusive with ``token``).
        session: a 3.x attached session id to run in (``protocol.md`` §9.3).
        extra_headers: more headers, appended as given (``Origin``, tracing, ...).
        base_path: a path prefix when SurrealDB is mounted below the root (``"/db"``).

    Returns:
        The request. Send it, then call :func:`parse_rpc_response` on the reply.

    Raises:
        EncodingError: a param cannot be encoded (nothing was built).
        LocalProtocolError: a header value is not visible ASCII, or both ``token`` and
            ``basic`` were given.
    """
    envelope: dict[str, Any] = {"method": method, "params": list(params)}
    if session is not None:
        envelope["session"] = session
    # No "id": HTTP replies carry none (protocol.md §3.1), so none is sent.
    return rpc_request_for_body(encode(envelope), namespace=namespace, database=database,
                                token=token, basic=basic, extra_headers=extra_headers,
                                base_path=base_path)


def rpc_request_for_body(body: bytes, *, namespace: str | None = None,
                         database: str | None = None, token: str | None = None,
                         basic: BasicAuth | tuple[str, str] | None = None,
                         extra_headers: Iterable[tuple[bytes | str, bytes | str]] = (),
                         base_path: str = "") -> HttpRequest:
    """Like :func:`build_rpc_request`, for an envelope that is already CBOR-encoded (the
    ``RpcLayer`` builds it with an ``id``, which the server ignores over HTTP)."""
    headers = [("Content-Type", CBOR_MEDIA_TYPE), ("Accept", CBOR_MEDIA_TYPE)]
    headers += _context_headers(namespace=namespace, database=database, token=token,
                                basic=basic, extra_headers=extra_headers)
    return HttpRequest(method="POST", target=_target(base_path, "/rpc"),
                       headers=tuple(headers), body=body)


def build_health_request(*, extra_headers: Iterable[tuple[bytes | str, bytes | str]] = (),
                         base_path: str = "") -> HttpRequest:
    """Build ``GET /health`` (``protocol.md`` §3.3). Parse the reply with
    :func:`parse_health_response`."""
    headers = _context_headers(namespace=None, database=None, token=None, basic=None,
                               extra_headers=extra_headers)
    return HttpRequest(method="GET", target=_target(base_path, "/health"),
                       headers=tuple(headers))


def build_version_request(*, extra_headers: Iterable[tuple[bytes | str, bytes | str]] = (),
                          base_path: str = "") -> HttpRequest:
    """Build ``GET /version`` (``protocol.md`` §3.3). Parse the reply with
    :func:`parse_version_response`."""
    headers = _context_headers(namespace=None, database=None, token=None, basic=None,
                               extra_headers=extra_headers)
    return HttpRequest(method="GET", target=_target(base_path, "/version"),
                       headers=tuple(headers))


def build_import_request(sql: str | bytes, *, namespace: str | None = None,
                         database: str | None = None, token: str | None = None,
                         basic: BasicAuth | tuple[str, str] | None = None,
                         extra_headers: Iterable[tuple[bytes | str, bytes | str]] = (),
                         base_path: str = "") -> HttpRequest:
    """Build ``POST /import`` with a SurrealQL script as the body (``protocol.md`` §3.3).

    The server's limit is 4 GiB (§3.4); from 3.0.4 the script needs its ``OPTION IMPORT``
    line. Results are asked for in CBOR. Parse the reply with :func:`parse_import_response`.

    Args:
        sql: the script, as text or UTF-8 bytes.
        namespace, database, token, basic, extra_headers, base_path: as
            :func:`build_rpc_request`.
    """
    body = sql.encode() if isinstance(sql, str) else bytes(sql)
    headers = [("Content-Type", "text/plain; charset=utf-8"), ("Accept", CBOR_MEDIA_TYPE)]
    headers += _context_headers(namespace=namespace, database=database, token=token,
                                basic=basic, extra_headers=extra_headers)
    return HttpRequest(method="POST", target=_target(base_path, "/import"),
                       headers=tuple(headers), body=body)


def build_export_request(*, namespace: str | None = None, database: str | None = None,
                         token: str | None = None,
                         basic: BasicAuth | tuple[str, str] | None = None,
                         options: Mapping[str, Any] | None = None,
                         extra_headers: Iterable[tuple[bytes | str, bytes | str]] = (),
                         base_path: str = "") -> HttpRequest:
    """Build the export request (``protocol.md`` §3.3): ``GET /export``, or ``POST /export``
    with a JSON options body when ``options`` is given (``users``, ``accesses``, ``params``,
    ``functions``, ``analyzers``, ``tables``, ``versions``, ``records``). Parse the reply with
    :func:`parse_export_response`.

    Raises:
        LocalProtocolError: ``options`` is not JSON-serialisable, or a header is invalid.
    """
    headers = _context_headers(namespace=namespace, database=database, token=token,
                               basic=basic, extra_headers=extra_headers)
    if options is None:
        return HttpRequest(method="GET", target=_target(base_path, "/export"),
                           headers=tuple(headers))
    try:
        body = json.dumps(dict(options)).encode()
    except (TypeError, ValueError) as exc:
        raise LocalProtocolError(f"export options must be JSON: {exc}") from exc
    headers.insert(0, ("Content-Type", "application/json"))
    return HttpRequest(method="POST", target=_target(base_path, "/export"),
                       headers=tuple(headers), body=body)


# --------------------------------------------------------------------------- responses


def _header(headers: HeaderPairs, name: str) -> str | None:
    items: Iterable[tuple[bytes | str, bytes | str]]
    items = headers.items() if isinstance(headers, Mapping) else headers
    for key, value in items:
        if _as_str(key).lower() == name:
            return _as_str(value)
    return None


def _media_type(headers: HeaderPairs) -> str | None:
    value = _header(headers, "content-type")
    if value is None:
        return None
    return value.split(";", 1)[0].strip().lower()


def _scrub(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, _REDACTED)
    if len(text) > _MAX_QUOTED:
        text = text[:_MAX_QUOTED] + "…"
    return text


def _body_text(body: bytes, secrets: Iterable[str]) -> str:
    return _scrub(body.decode("utf-8", errors="replace").strip(), secrets)


def _error_message_info(body: bytes) -> str | None:
    # The JSON ErrorMessage {code, details, description, information} (protocol.md §3.5).
    try:
        obj = json.loads(body)
    except ValueError:
        return None
    if isinstance(obj, dict):
        for key in ("information", "description", "details"):
            value = obj.get(key)
            if isinstance(value, str) and value:
                return value
    return None


_AUTH_TOKEN_EXPIRED: Final = {"kind": "Auth", "details": {"kind": "TokenExpired"}}
_AUTH_INVALID: Final = {"kind": "Auth", "details": {"kind": "InvalidAuth"}}
_OVERLOAD: Final = "unable to handle the request"


def error_for_status(status: int, headers: HeaderPairs, body: bytes, *,
                     endpoint: str = "/rpc", secrets: Iterable[str] = ()) -> SurrealError:
    """The typed error for a non-200 HTTP reply (the table in this module's docstring).

    Args:
        status: the HTTP status (not 200).
        headers: the reply headers.
        body: the reply body.
        endpoint: the path that answered, for the message (``"/rpc"``, ``"/import"``).
        secrets: strings to replace by ``***`` wherever the server's text is quoted.

    Returns:
        The exception, not raised: a :class:`ServerError` subclass for SurrealDB's own
        refusals, a :class:`HandshakeError` for anything else.
    """
    secrets = tuple(secrets)
    if status == 401:
        # protocol.md §3.5, §7.6: the auth middleware answers 401 with the error as plain text.
        # 3.x "The token has expired"; 2.x "There was a problem with the database: The token
        # has expired".
        text = _body_text(body, secrets) or "Unauthorized"
        if "token has expired" in text.lower():
            return TokenExpiredError(f"HTTP 401 on {endpoint}: {text}",
                                     details=_AUTH_TOKEN_EXPIRED)
        return InvalidAuthError(f"HTTP 401 on {endpoint}: {text}", details=_AUTH_INVALID)
    info = _error_message_info(body)
    quoted = _scrub(info, secrets) if info is not None else _body_text(body, secrets)
    suffix = f": {quoted}" if quoted else ""
    error: SurrealError
    if status == 400:
        if _OVERLOAD in quoted.lower():
            error = InternalError(f"HTTP 400 on {endpoint}, the server is overloaded{suffix}; "
                                  "retry later")
        else:
            error = ValidationError(f"HTTP 400 on {endpoint}, the server could not decode the "
                                    f"request{suffix}")
    elif status == 403:
        error = NotAllowedError(f"HTTP 403 on {endpoint}, forbidden{suffix}")
    elif status == 413:
        # protocol.md §3.4: /rpc takes 4 MiB by default (SURREAL_HTTP_MAX_RPC_BODY_SIZE).
        error = ValidationError(
            f"HTTP 413 on {endpoint}: the request body is larger than the server accepts (the "
            "/rpc limit is 4 MiB by default, SURREAL_HTTP_MAX_RPC_BODY_SIZE); send less per "
            "call, raise the server's limit, or use the WebSocket transport (128 MiB)")
    elif status == 415:
        error = ValidationError(
            f"HTTP 415 on {endpoint}: the server refused the request's media type{suffix} "
            "(Content-Type and Accept must both be application/cbor; a proxy may have "
            "rewritten them)")
    elif 500 <= status <= 599:
        error = InternalError(f"HTTP {status} on {endpoint}, server error{suffix}")
    else:
        error = HandshakeError(f"HTTP {status} on {endpoint} is not a SurrealDB answer"
                               f"{suffix}; check the URL and any proxy in between",
                               status=status)
    return error


def parse_rpc_response(status: int, headers: HeaderPairs, body: bytes, *,
                       secrets: Iterable[str] = ()) -> Any:
    """Read the reply to a ``POST /rpc`` request (``protocol.md`` §3.1, §3.5).

    Args:
        status: the HTTP status code.
        headers: the reply headers (a mapping or ``(name, value)`` pairs).
        body: the whole reply body.
        secrets: strings (the token, a password) to hide if the server's text quotes them.

    Returns:
        The RPC result (``None`` is NONE).

    Raises:
        ServerError: the server answered with an error: the RPC error object of a 200 reply,
            or the status mapping of this module's table (401 → :class:`TokenExpiredError` or
            :class:`InvalidAuthError`, 403 → :class:`NotAllowedError`, 413/415/400 →
            :class:`ValidationError`, 5xx → :class:`InternalError`).
        HandshakeError: any other status: not a SurrealDB answer.
        RemoteProtocolError: a 200 reply that is not a CBOR map with ``result`` or ``error``.
    """
    if status != 200:
        raise error_for_status(status, headers, body, endpoint="/rpc", secrets=secrets)
    media = _media_type(headers)
    if media is not None and media != CBOR_MEDIA_TYPE:
        raise RemoteProtocolError(f"the /rpc reply is {media!r}, not {CBOR_MEDIA_TYPE}")
    return _unwrap_envelope(decode(body))


def _unwrap_envelope(message: Any) -> Any:
    if not isinstance(message, dict):
        raise RemoteProtocolError(f"the RPC reply is not a map but {type(message).__name__}")
    if "error" in message:
        raise server_error_from_wire(message["error"])
    if "result" in message:
        return message["result"]
    raise RemoteProtocolError("the RPC reply has neither 'result' nor 'error'")


def parse_health_response(status: int, headers: HeaderPairs, body: bytes) -> bool:
    """Read the reply to ``GET /health`` (``protocol.md`` §3.3).

    Returns:
        ``True`` for 200, ``False`` for a 5xx (500 is "Health check failed": storage is
        unhealthy; 502-504 come from a proxy whose upstream is down).

    Raises:
        HandshakeError: any other status (no SurrealDB health endpoint at this URL).
    """
    if status == 200:
        return True
    if 500 <= status <= 599:
        return False
    raise HandshakeError(f"HTTP {status} on /health is not a SurrealDB answer", status=status)


def parse_version_response(status: int, headers: HeaderPairs, body: bytes) -> str:
    """Read the reply to ``GET /version``: the text ``surrealdb-X.Y.Z`` (``protocol.md``
    §3.3), returned as sent (strip the prefix for the bare version).

    Raises:
        RemoteProtocolError: the body is empty or not UTF-8 text.
        ServerError, HandshakeError: a non-200 reply (:func:`error_for_status`).
    """
    if status != 200:
        raise error_for_status(status, headers, body, endpoint="/version")
    try:
        text = body.decode("utf-8").strip()
    except UnicodeDecodeError as exc:
        raise RemoteProtocolError("the /version reply is not UTF-8 text") from exc
    if not text:
        raise RemoteProtocolError("the /version reply is empty")
    return text


def _decode_results(headers: HeaderPairs, body: bytes, endpoint: str) -> Any:
    if _media_type(headers) == "application/json":
        try:
            return json.loads(body)
        except ValueError as exc:
            raise RemoteProtocolError(f"undecodable JSON from {endpoint}: {exc}") from exc
    return decode(body)


def parse_import_response(status: int, headers: HeaderPairs, body: bytes, *,
                          secrets: Iterable[str] = ()) -> list[Any]:
    """Read the reply to ``POST /import`` (``protocol.md`` §3.3).

    Returns:
        The per-statement results of the script (``{result, status, time}`` maps, §6.5), all
        successful. An empty body gives ``[]``.

    Raises:
        QueryError: a statement failed; ``results`` holds every outcome (a value, or the
            statement's :class:`ServerError`). The import may have been partly applied.
        ServerError, HandshakeError: a non-200 reply (:func:`error_for_status`).
        RemoteProtocolError: a 200 body that is not a list of statement results.
    """
    if status != 200:
        raise error_for_status(status, headers, body, endpoint="/import", secrets=secrets)
    if not body:
        return []
    results = _decode_results(headers, body, "/import")
    if not isinstance(results, list):
        raise RemoteProtocolError("the /import reply is not a list of statement results")
    outcomes: list[Any] = []
    failed = False
    for item in results:
        if not isinstance(item, dict):
            raise RemoteProtocolError("the /import reply holds a non-map statement result")
        if item.get("status") == "ERR":
            failed = True
            outcomes.append(server_error_from_wire(item, message_key="result"))
        else:
            outcomes.append(item.get("result"))
    if failed:
        errors = [o for o in outcomes if isinstance(o, ServerError)]
        raise QueryError(f"the import failed: {errors[0].message}", results=outcomes)
    return results


def parse_export_response(status: int, headers: HeaderPairs, body: bytes, *,
                          secrets: Iterable[str] = ()) -> str:
    """Read the reply to ``/export``: the SurrealQL text of the database (``protocol.md``
    §3.3).

    Raises:
        RemoteProtocolError: the body is not UTF-8.
        ServerError, HandshakeError: a non-200 reply (:func:`error_for_status`).
    """
    if status != 200:
        raise error_for_status(status, headers, body, endpoint="/export", secrets=secrets)
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RemoteProtocolError("the /export reply is not UTF-8 text") from exc
