"""A fake SurrealDB HTTP peer: ``h11`` in SERVER mode, producing the bytes a real server sends.

It parses the client's request bytes (so tests check what went on the wire) and writes
responses with real HTTP/1.1 framing (``Content-Length`` or chunked, keep-alive or
``Connection: close``). Nothing here is a mock of the core: the core under test only ever sees
bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import cbor2
import h11

from surreal_proto._codec import encode


@dataclass
class ReceivedRequest:
    """One complete request as the server saw it."""

    method: str
    target: str
    headers: dict[str, str]
    header_list: list[tuple[str, str]]
    body: bytes = b""

    def envelope(self) -> Any:
        """The CBOR body, decoded."""
        return cbor2.loads(self.body)


@dataclass
class HttpPeer:
    """One server side of one TCP connection."""

    conn: h11.Connection = field(default_factory=lambda: h11.Connection(h11.SERVER))
    _current: ReceivedRequest | None = None

    def receive(self, data: bytes) -> list[ReceivedRequest]:
        """Feed client bytes; return the requests completed by them."""
        if not data:
            return []  # b"" would mean EOF to h11
        self.conn.receive_data(data)
        done: list[ReceivedRequest] = []
        while True:
            event = self.conn.next_event()
            if event is h11.NEED_DATA or event is h11.PAUSED:
                return done
            if isinstance(event, h11.Request):
                pairs = [(k.decode(), v.decode()) for k, v in event.headers.raw_items()]
                self._current = ReceivedRequest(
                    method=event.method.decode(), target=event.target.decode(),
                    headers={k.lower(): v for k, v in pairs}, header_list=pairs)
            elif isinstance(event, h11.Data):
                assert self._current is not None
                self._current.body += bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                assert self._current is not None
                done.append(self._current)
                self._current = None
            else:  # pragma: no cover - ConnectionClosed: the client never closes first here
                return done

    def respond(self, status: int, body: bytes = b"", *,
                headers: Iterable[tuple[str, str]] = (),
                content_type: str | None = None, close: bool = False,
                chunked: bool = False, reason: bytes = b"") -> bytes:
        """The bytes of one complete response; starts the next cycle when keep-alive."""
        hdrs: list[tuple[str, str]] = [("server", "SurrealDB"),
                                       ("surreal-version", "surrealdb-3.2.4")]
        if content_type is not None:
            hdrs.append(("content-type", content_type))
        if chunked:
            hdrs.append(("transfer-encoding", "chunked"))
        else:
            hdrs.append(("content-length", str(len(body))))
        if close:
            hdrs.append(("connection", "close"))
        hdrs.extend(headers)
        out = self.conn.send(h11.Response(status_code=status, headers=hdrs, reason=reason))
        assert out is not None
        if body:
            if chunked:
                half = len(body) // 2
                for part in (body[:half], body[half:]):
                    if part:
                        chunk = self.conn.send(h11.Data(data=part))
                        assert chunk is not None
                        out += chunk
            else:
                chunk = self.conn.send(h11.Data(data=body))
                assert chunk is not None
                out += chunk
        end = self.conn.send(h11.EndOfMessage())
        assert end is not None
        out += end
        if self.conn.our_state is h11.DONE and self.conn.their_state is h11.DONE:
            self.conn.start_next_cycle()
        return out

    def head_only(self, status: int, *, content_length: int,
                  content_type: str = "application/cbor") -> bytes:
        """Only the status line and headers of a response (the body follows later)."""
        out = self.conn.send(h11.Response(status_code=status, headers=[
            ("content-type", content_type), ("content-length", str(content_length))]))
        assert out is not None
        return out

    # ---------------------------------------------------------------- SurrealDB replies

    def rpc_result(self, value: Any, **kwargs: Any) -> bytes:
        """``200`` with CBOR ``{result}`` (no id: protocol.md §3.1)."""
        return self.respond(200, encode({"result": value}),
                            content_type="application/cbor", **kwargs)

    def rpc_error(self, error: dict[str, Any], **kwargs: Any) -> bytes:
        """``200`` with CBOR ``{error}``."""
        return self.respond(200, encode({"error": error}),
                            content_type="application/cbor", **kwargs)

    def plain(self, status: int, text: str, **kwargs: Any) -> bytes:
        """A plain-text answer (401 from the auth middleware, ``/version``)."""
        return self.respond(status, text.encode(), content_type="text/plain; charset=utf-8",
                            **kwargs)

    def error_message(self, status: int, details: str, information: str,
                      **kwargs: Any) -> bytes:
        """The JSON ``ErrorMessage`` of protocol.md §3.5."""
        body = json.dumps({"code": status, "details": details,
                           "description": "", "information": information}).encode()
        return self.respond(status, body, content_type="application/json", **kwargs)


def response_bytes(status: int, body: bytes = b"", **kwargs: Any) -> bytes:
    """The bytes of one response from a fresh server connection (for parser tests)."""
    peer = HttpPeer()
    peer.receive(b"POST /rpc HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n")
    return peer.respond(status, body, **kwargs)


def read_response(data: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Parse response bytes with an h11 client: ``(status, headers, body)``."""
    client = h11.Connection(h11.CLIENT)
    client.send(h11.Request(method="POST", target="/rpc",
                            headers=[("host", "x"), ("content-length", "0")]))
    client.send(h11.EndOfMessage())
    client.receive_data(data)
    status = 0
    headers: list[tuple[bytes, bytes]] = []
    body = b""
    while True:
        event = client.next_event()
        if isinstance(event, h11.Response):
            status = event.status_code
            headers = list(event.headers)
        elif isinstance(event, h11.Data):
            body += bytes(event.data)
        elif isinstance(event, h11.EndOfMessage):
            return status, headers, body
        else:  # pragma: no cover - tests only feed complete responses
            raise AssertionError(f"incomplete response: {event!r}")
