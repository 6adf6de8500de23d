"""The floor of a WebSocket and an HTTP client, and a server that never answers.

:class:`NullClient` is what the server can do: after a WebSocket handshake written by hand, it
writes request frames built once, before timing (CBOR envelopes, masked as RFC 6455 requires of
a client), on a plain blocking socket, and counts the reply frames by their headers without
decoding a byte of their payloads. Any client spends at least this much per call.
:class:`NullHttpClient` does the same over HTTP/1.1 keep-alive: ``POST /rpc`` requests built
once (the token of one ``signin`` and ``Surreal-NS``/``Surreal-DB`` on each, protocol.md
§3.2), each response skipped by its ``Content-Length``.

:class:`StallServer` accepts the WebSocket upgrade (subprotocol ``cbor``) and then reads and
discards everything, never replying: requests sent to it stay pending, for measuring what a
pending request costs a client.
"""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import threading
from typing import Any

import cbor2

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def masked_frame(payload: bytes, mask: bytes) -> bytes:
    """One final binary frame with a masked ``payload`` (a client's frame)."""
    n = len(payload)
    if n < 126:
        header = bytes([0x82, 0x80 | n])
    elif n < 1 << 16:
        header = bytes([0x82, 0x80 | 126]) + n.to_bytes(2, "big")
    else:
        header = bytes([0x82, 0x80 | 127]) + n.to_bytes(8, "big")
    masked = bytes(b ^ mask[i & 3] for i, b in enumerate(payload))
    return header + mask + masked


def request_frame(request_id: int, method: str, params: list[Any]) -> bytes:
    envelope = {"id": request_id, "method": method, "params": params}
    return masked_frame(cbor2.dumps(envelope), os.urandom(4))


class NullClient:
    """A raw WebSocket connection that sends pre-built frames and counts binary reply frames."""

    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.create_connection((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        key = base64.b64encode(os.urandom(16))
        self.sock.sendall(
            b"GET /rpc HTTP/1.1\r\nHost: " + f"{host}:{port}".encode() + b"\r\n"
            b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key + b"\r\n"
            b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: cbor\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("the server closed the connection during the handshake")
            head += chunk
        head, self._buf = head.split(b"\r\n\r\n", 1)
        if not head.startswith(b"HTTP/1.1 101"):
            raise ConnectionError(f"handshake refused: {head[:200]!r}")
        self.response_head = head.decode("latin-1")

    def exchange(self, frames: bytes, replies: int) -> None:
        """Write ``frames`` at once and wait until ``replies`` binary frames have come back."""
        self.sock.sendall(frames)
        self.count(replies)

    def count(self, replies: int) -> None:
        buf = self._buf
        recv = self.sock.recv
        seen = 0
        while True:
            # Skip every whole frame in the buffer, counting binary (and text) ones.
            pos = 0
            size = len(buf)
            while size - pos >= 2:
                b1 = buf[pos + 1] & 0x7F
                if b1 < 126:
                    start = pos + 2
                    length = b1
                elif b1 == 126:
                    if size - pos < 4:
                        break
                    start = pos + 4
                    length = int.from_bytes(buf[pos + 2:pos + 4], "big")
                else:
                    if size - pos < 10:
                        break
                    start = pos + 10
                    length = int.from_bytes(buf[pos + 2:pos + 10], "big")
                if start + length > size:
                    break
                if buf[pos] & 0x0F in (1, 2):
                    seen += 1
                pos = start + length
            buf = buf[pos:]
            if seen >= replies:
                self._buf = buf
                return
            chunk = recv(1 << 20)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            buf += chunk

    def close(self) -> None:
        self.sock.close()


class NullHttpClient:
    """One keep-alive HTTP connection that sends pre-built ``POST /rpc`` requests and skips
    each response's body by its ``Content-Length``, never decoding it."""

    def __init__(self, host: str, port: int, user: str, password: str, ns: str,
                 db: str) -> None:
        self.sock = socket.create_connection((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._head = (
            b"POST /rpc HTTP/1.1\r\nHost: " + f"{host}:{port}".encode() + b"\r\n"
            b"Content-Type: application/cbor\r\nAccept: application/cbor\r\n")
        self._buf = b""
        # Sign in once and send the token on every request, as the clients do: Basic auth
        # would make the server verify the password on every call.
        reply = cbor2.loads(self.exchange(self.request("signin", [{"user": user,
                                                                   "pass": password}])))
        self._head += (b"Authorization: Bearer " + reply["result"].encode() + b"\r\n"
                       b"Surreal-NS: " + ns.encode() + b"\r\nSurreal-DB: " + db.encode()
                       + b"\r\n")

    def request(self, method: str, params: list[Any]) -> bytes:
        """The whole request for one call, built once."""
        body = cbor2.dumps({"id": 1, "method": method, "params": params})
        return self._head + f"Content-Length: {len(body)}\r\n\r\n".encode() + body

    def exchange(self, request: bytes) -> bytes:
        """Write ``request`` and read its whole response (status 200 expected); return the
        body (a slice, not decoded)."""
        self.sock.sendall(request)
        buf = self._buf
        recv = self.sock.recv
        while (end := buf.find(b"\r\n\r\n")) < 0:
            buf += self._more(recv)
        head = buf[:end]
        if not head.startswith(b"HTTP/1.1 200"):
            raise ConnectionError(f"the server answered {head[:200]!r}")
        at = head.lower().find(b"\r\ncontent-length:")
        if at < 0:
            raise ConnectionError("a response without Content-Length")
        line_end = head.find(b"\r\n", at + 2)
        length = int(head[at + 17:line_end if line_end > 0 else len(head)])
        total = end + 4 + length
        while len(buf) < total:
            buf += self._more(recv)
        self._buf = buf[total:]
        return buf[end + 4:total]

    @staticmethod
    def _more(recv: Any) -> bytes:
        chunk: bytes = recv(1 << 20)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        return chunk

    def close(self) -> None:
        self.sock.close()


class StallServer:
    """A WebSocket server on 127.0.0.1 that completes the upgrade and never answers a
    ``query`` (other requests, such as the ``version`` a client asks for while it connects,
    get a plain reply, and Pings a Pong)."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self.url = f"ws://127.0.0.1:{self.port}"
        self._threads: list[threading.Thread] = []
        accept = threading.Thread(target=self._accept, daemon=True)
        accept.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)

    @staticmethod
    def _serve(conn: socket.socket) -> None:
        with conn:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                head += chunk
            key = b""
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"sec-websocket-key:"):
                    key = line.split(b":", 1)[1].strip()
            accept = base64.b64encode(hashlib.sha1(key + _GUID).digest())
            conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                         b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n"
                         b"Sec-WebSocket-Protocol: cbor\r\n\r\n")
            buf = b""
            while chunk := conn.recv(1 << 20):
                buf += chunk
                while (frame := _client_frame(buf)) is not None:
                    opcode, payload, buf = frame
                    if opcode == 9:  # Ping: Pong
                        conn.sendall(bytes([0x8A, len(payload)]) + payload)
                    elif opcode == 2:
                        message = cbor2.loads(payload)
                        if message.get("method") != "query":  # set-up calls are answered
                            result = "surrealdb-3.0.0" if message["method"] == "version" else None
                            reply = cbor2.dumps({"id": message["id"], "result": result})
                            conn.sendall(_server_frame(reply))

    def close(self) -> None:
        self._listener.close()


def _client_frame(buf: bytes) -> tuple[int, bytes, bytes] | None:
    """``(opcode, unmasked payload, rest)`` of the first whole (masked) frame, or ``None``."""
    if len(buf) < 2:
        return None
    length, start = buf[1] & 0x7F, 2
    if length == 126:
        length, start = int.from_bytes(buf[2:4], "big"), 4
    elif length == 127:
        length, start = int.from_bytes(buf[2:10], "big"), 10
    if len(buf) < start + 4 + length:
        return None
    mask = buf[start:start + 4]
    body = buf[start + 4:start + 4 + length]
    payload = bytes(b ^ mask[i & 3] for i, b in enumerate(body))
    return buf[0] & 0x0F, payload, buf[start + 4 + length:]


def _server_frame(payload: bytes) -> bytes:
    n = len(payload)
    if n < 126:
        return bytes([0x82, n]) + payload
    if n < 1 << 16:
        return bytes([0x82, 126]) + n.to_bytes(2, "big") + payload
    return bytes([0x82, 127]) + n.to_bytes(8, "big") + payload


def offers_deflate_refused(host: str, port: int) -> bool:
    """Whether the server refuses a ``permessage-deflate`` offer (no extension in its 101)."""
    sock = socket.create_connection((host, port))
    try:
        key = base64.b64encode(os.urandom(16))
        sock.sendall(
            b"GET /rpc HTTP/1.1\r\nHost: " + f"{host}:{port}".encode() + b"\r\n"
            b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key + b"\r\n"
            b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: cbor\r\n"
            b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                break
            head += chunk
        lines = head.split(b"\r\n\r\n", 1)[0].lower().split(b"\r\n")
        return lines[0].startswith(b"http/1.1 101") and not any(
            line.startswith(b"sec-websocket-extensions:") for line in lines)
    finally:
        sock.close()
