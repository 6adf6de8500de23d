"""Capture the real server bytes that the fuzz tests replay (``tests/security/vectors``).

Starts the reference server (the real engine, ``tests/_server.py``), drives the core's own
connections over plain sockets through the calls listed in ``tests/security/replay.py``, and
writes every byte the server sent. The access token in the ``signin`` reply is overwritten
(same length), so the vectors hold no credential. Run it again only if those calls change::

    .venv/bin/python -m fuzz.capture_vectors
"""

from __future__ import annotations

import re
import socket
import time
from typing import Any

from surreal_proto._events import ConnectionClosed, ErrorReceived, ResponseReceived
from surreal_proto._http_connection import HttpConnection
from surreal_proto._http_context import HttpContext
from surreal_proto._ws import WebSocketConnection
from tests._server import ReferenceServer
from tests.security import replay


def drive(client: WebSocketConnection | HttpConnection, sock: socket.socket, answers: int,
          settle: float = 0.0) -> bytes:
    """Send the client's output, feed it the server's bytes until ``answers`` outcomes
    arrived (then ``settle`` seconds more, for notifications); return the server's bytes."""
    received = bytearray()
    outcomes = 0
    deadline: float | None = None
    sock.settimeout(0.2)
    while True:
        out = client.data_to_send()
        if out:
            sock.sendall(out)
        try:
            data = sock.recv(65536)
        except TimeoutError:
            data = None
        if data == b"":
            break
        if data:
            received += data
            client.receive_data(data, time.monotonic())
        for event in client.events():
            if isinstance(event, ResponseReceived | ErrorReceived):
                outcomes += 1
            if isinstance(event, ConnectionClosed):
                return bytes(received)
        if outcomes >= answers and deadline is None:
            deadline = time.monotonic() + settle
        if deadline is not None and time.monotonic() >= deadline:
            return bytes(received)
    return bytes(received)


def capture_ws(server: ReferenceServer) -> tuple[bytes, bytes]:
    client = WebSocketConnection(f"127.0.0.1:{server.port}")
    client.connect(0.0)
    client.send_request("signin", [{"user": server.user, "pass": server.password}],
                        now=0.0, timeout=None)
    for method, params in replay.WS_CALLS:
        client.send_request(method, params, now=0.0, timeout=None)
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        data = drive(client, sock, 1 + len(replay.WS_CALLS), settle=1.0)
    head, frames = data.split(b"\r\n\r\n", 1)
    return head + b"\r\n\r\n", _blank_token(frames)


def _blank_token(frames: bytes) -> bytes:
    # A JWT in the signin reply: three base64url parts; same length, so CBOR stays valid.
    return re.sub(rb"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+",
                  lambda m: b"x" * len(m.group(0)), frames)


def capture_http(server: ReferenceServer) -> bytes:
    out = b""
    calls: list[tuple[str, list[Any], Any]] = [
        (m, p, ("root", "root")) for m, p in replay.HTTP_CALLS[:-1]]
    calls.append((*replay.HTTP_CALLS[-1], ("root", "wrong")))  # 401, plain text
    for method, params, basic in calls:
        client = HttpConnection(f"127.0.0.1:{server.port}", context=HttpContext(
            namespace=replay.NS, database=replay.DB, basic=basic))
        client.connect(0.0)
        client.send_request(method, params, now=0.0, timeout=None)
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            out += drive(client, sock, 1)
    return out


def main() -> None:
    server = ReferenceServer()
    server.start()
    try:
        head, frames = capture_ws(server)
        http = capture_http(server)
    finally:
        server.stop()
    replay.VECTORS.mkdir(exist_ok=True)
    (replay.VECTORS / "ws_handshake.bin").write_bytes(head)
    (replay.VECTORS / "ws_frames.bin").write_bytes(frames)
    (replay.VECTORS / "http_responses.bin").write_bytes(http)
    print(f"ws: {len(head)} + {len(frames)} bytes, http: {len(http)} bytes")


if __name__ == "__main__":
    main()
