"""A SurrealDB client on ``selectors`` and a plain socket, driving the Sans-IO core (ws:// only).

Usage: python examples/selectors_adapter.py [URL]; SURREAL_USER/_PASS/_NS/_DB from the environment.
"""

from __future__ import annotations

import os
import selectors
import socket
import sys
import time
from collections.abc import Callable

import surreal_proto as sp
from surreal_proto._results import query_values
from surreal_proto._url import parse_url


class SelectorsAdapter:
    def __init__(self, url: str, timeout: float = 10.0) -> None:
        endpoint = parse_url(url)  # port, Host header and /rpc path
        self.sock = socket.create_connection((endpoint.host, endpoint.port), timeout)
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.sock, selectors.EVENT_READ)
        self.core = sp.WebSocketConnection(endpoint.host_header, path=endpoint.rpc_path,
                                           default_timeout=timeout)  # a deadline per request
        self.outcomes: dict[sp.RequestId, sp.RequestOutcome] = {}
        self.closed: sp.ConnectionClosed | None = None
        self.core.connect(time.monotonic())  # requests started now wait for the handshake

    def run_until(self, done: Callable[[], bool]) -> None:
        while True:  # the driver loop: flush, then events, then wait for bytes or a deadline
            self.sock.sendall(self.core.data_to_send())
            for event in self.core.events():
                if isinstance(event, sp.RequestOutcome):  # resolve the waiter with this id
                    self.outcomes[event.request_id] = event
                elif isinstance(event, sp.ConnectionClosed):  # last; every request had its own
                    self.closed = event
            if done() or self.closed is not None:
                return
            deadline = self.core.next_deadline()  # a request's, a keepalive ping's, or None
            if not self.selector.select(None if deadline is None else deadline - time.monotonic()):
                self.core.handle_timeout(time.monotonic())
            elif data := self.sock.recv(65536):
                self.core.receive_data(data, time.monotonic())
            else:
                self.core.receive_eof()

    def call(self, verb: Callable[..., sp.RequestId], *args: object) -> object:
        request_id = verb(*args, now=time.monotonic())  # one of the core's request helpers
        self.run_until(lambda: request_id in self.outcomes)
        if isinstance(event := self.outcomes.pop(request_id), sp.ResponseReceived):
            return event.result
        raise event.error  # a ServerError, a SurrealTimeoutError, or why the connection ended

    def close(self) -> None:
        self.core.close(time.monotonic())  # Close frame, then wait for the server's
        self.run_until(lambda: False)  # returns on ConnectionClosed
        self.selector.close()
        self.sock.close()


if __name__ == "__main__":
    env = os.environ.get
    db = SelectorsAdapter(sys.argv[1] if sys.argv[1:] else "ws://127.0.0.1:8000")
    try:
        db.call(db.core.signin, {"username": env("SURREAL_USER", "root"),
                                 "password": env("SURREAL_PASS", "root")})
        db.call(db.core.use, env("SURREAL_NS", "test"), env("SURREAL_DB", "test"))
        sql = "CREATE person:ada SET name = $name RETURN VALUE name; RETURN 6 * 7"
        print("result:", query_values(db.call(db.core.query, sql, {"name": "Ada"})))
    finally:
        db.close()
    print("closed:", "cleanly" if db.closed and db.closed.error is None else db.closed)
