"""Tiny raw clients used only by tests: CBOR over WebSocket, and CBOR over HTTP.

They put exact request maps on the wire and hand back the decoded reply maps, with nothing of
the library under test in between except its codec (``surreal_proto._codec``).
"""

from __future__ import annotations

import base64
import http.client
import itertools
import ssl
import time
from collections import deque
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

from websockets.sync.client import connect
from websockets.typing import Subprotocol

from surreal_proto._codec import decode, encode

_AUTO: Any = object()


class RpcError(AssertionError):
    """A reply carried an ``error`` where the test expected a ``result``."""

    def __init__(self, error: Any) -> None:
        super().__init__(f"RPC error: {error!r}")
        self.error = error


def is_notification(message: Any) -> bool:
    """A live notification: no ``id``, and a ``result`` map with ``id`` and ``action`` (§2.6)."""
    return (
        isinstance(message, dict)
        and "id" not in message
        and isinstance(message.get("result"), dict)
        and "action" in message["result"]
        and "id" in message["result"]
    )


def _rpc_url(url: str) -> str:
    return url if urlsplit(url).path.rstrip("/").endswith("/rpc") else url.rstrip("/") + "/rpc"


class RawWs:
    """One WebSocket to ``<url>/rpc`` with the ``cbor`` subprotocol and no compression."""

    def __init__(
        self,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        ssl_context: ssl.SSLContext | None = None,
        open_timeout: float = 10.0,
    ) -> None:
        self.url = _rpc_url(url)
        # `__enter__` marks the connection as context-managed for websockets >= 17.1 (which
        # warns otherwise); it returns the connection itself on every version.
        self._ws = connect(
            self.url,
            subprotocols=[Subprotocol("cbor")],
            compression=None,
            additional_headers=headers,
            ssl=ssl_context,
            open_timeout=open_timeout,
            max_size=None,
        ).__enter__()
        self._ids = itertools.count(1)
        self._replies: dict[Any, dict[str, Any]] = {}
        self._notifications: deque[dict[str, Any]] = deque()
        self.other: list[Any] = []
        """Messages that are neither replies with an id nor notifications (e.g. Parse errors)."""

    @property
    def subprotocol(self) -> str | None:
        return self._ws.subprotocol

    # -- sending and receiving ---------------------------------------------------------------

    def send(self, message: Any) -> None:
        """Send one message (any CBOR value), as a binary frame."""
        self._ws.send(encode(message))

    def send_raw(self, data: bytes, *, text: bool = False) -> None:
        """Send bytes as they are (binary frame, or text frame if ``text``)."""
        self._ws.send(data, text=text)

    def _receive(self, timeout: float | None) -> None:
        data = self._ws.recv(timeout=timeout)
        message = decode(data.encode() if isinstance(data, str) else data)
        if isinstance(message, dict) and "id" in message:
            self._replies[message["id"]] = message
        elif is_notification(message):
            self._notifications.append(message)
        else:
            self.other.append(message)

    def reply(self, request_id: Any, timeout: float = 10.0) -> dict[str, Any]:
        """Wait for the reply with this id; notifications that arrive meanwhile are queued."""
        deadline = time.monotonic() + timeout
        while request_id not in self._replies:
            self._receive(max(0.0, deadline - time.monotonic()))
        return self._replies.pop(request_id)

    def recv_other(self, timeout: float = 10.0) -> Any:
        """Wait for a message that has no id and is no notification."""
        deadline = time.monotonic() + timeout
        while not self.other:
            self._receive(max(0.0, deadline - time.monotonic()))
        return self.other.pop(0)

    def call(
        self,
        method: str,
        params: list[Any] | None = None,
        *,
        session: Any = None,
        txn: Any = None,
        id: Any = _AUTO,
        timeout: float = 10.0,
    ) -> dict[str, Any]:
        """Send one request map and return the reply map with the matching ``id``."""
        request_id = next(self._ids) if id is _AUTO else id
        request: dict[str, Any] = {"id": request_id, "method": method}
        if params is not None:
            request["params"] = params
        if session is not None:
            request["session"] = session
        if txn is not None:
            request["txn"] = txn
        self.send(request)
        return self.reply(request_id, timeout)

    def ok(self, method: str, params: list[Any] | None = None, **kwargs: Any) -> Any:
        """:meth:`call`, returning the ``result`` and raising :class:`RpcError` on an error."""
        reply = self.call(method, params, **kwargs)
        if "error" in reply:
            raise RpcError(reply["error"])
        return reply.get("result")

    def query(self, sql: str, variables: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """Run ``query`` and return the list of statement results (each a map)."""
        params: list[Any] = [sql] if variables is None else [sql, variables]
        return self.ok("query", params, **kwargs)

    def signin_root(self, user: str, password: str, **kwargs: Any) -> Any:
        """Sign in as a root user; returns the token."""
        return self.ok("signin", [{"user": user, "pass": password}], **kwargs)

    def use(self, namespace: str, database: str, **kwargs: Any) -> Any:
        return self.ok("use", [namespace, database], **kwargs)

    # -- notifications -----------------------------------------------------------------------

    def next_notification(self, timeout: float = 5.0) -> dict[str, Any]:
        """The next live notification (the whole message); ``TimeoutError`` if none arrives."""
        deadline = time.monotonic() + timeout
        while not self._notifications:
            self._receive(max(0.0, deadline - time.monotonic()))
        return self._notifications.popleft()

    def notifications(self, timeout: float = 0.5) -> list[dict[str, Any]]:
        """Every notification that arrives within ``timeout`` seconds (plus those queued)."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                self._receive(left)
            except TimeoutError:
                break
        found = list(self._notifications)
        self._notifications.clear()
        return found

    # -- closing -----------------------------------------------------------------------------

    def close(self) -> None:
        self._ws.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class HttpResponse:
    """Status, headers (lower-case names) and body of one HTTP response."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def cbor(self) -> Any:
        return decode(self.body)

    def __repr__(self) -> str:
        return f"HttpResponse({self.status}, {self.headers!r}, {self.body[:200]!r})"


class RawHttp:
    """A keep-alive HTTP/1.1 connection (stdlib ``http.client``) to the server's base URL."""

    def __init__(self, url: str, *, ssl_context: ssl.SSLContext | None = None) -> None:
        parts = urlsplit(url)
        assert parts.hostname is not None
        if parts.scheme == "https":
            self._conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                parts.hostname, parts.port, timeout=30, context=ssl_context
            )
        else:
            self._conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> HttpResponse:
        self._conn.request(method, path, body=body, headers=headers or {})
        response = self._conn.getresponse()
        data = response.read()
        return HttpResponse(response.status, {k.lower(): v for k, v in response.getheaders()}, data)

    def rpc(
        self,
        method: str,
        params: list[Any] | None = None,
        *,
        headers: dict[str, str] | None = None,
        **envelope: Any,
    ) -> HttpResponse:
        """``POST /rpc`` with one CBOR request map (``Content-Type``/``Accept`` CBOR)."""
        request: dict[str, Any] = {"method": method, **envelope}
        if params is not None:
            request["params"] = params
        all_headers = {"Content-Type": "application/cbor", "Accept": "application/cbor"}
        all_headers.update(headers or {})
        return self.request("POST", "/rpc", encode(request), all_headers)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def basic_auth(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def bearer_auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
