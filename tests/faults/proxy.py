"""A fault-injecting TCP proxy for the resilience tests.

:class:`Proxy` listens on ``127.0.0.1`` and forwards every connection to the server, with two
threads per connection (one per direction). Between client and server it can:

* :meth:`~Proxy.cut`: reset every connection now, or :meth:`~Proxy.cut_after` ``n`` more
  bytes in one direction (mid-frame: the first ``n`` bytes get through, then the reset);
* :meth:`~Proxy.stall`: black-hole the connections open now (sockets stay open, whatever
  arrives is dropped; connections made later work);
* :meth:`~Proxy.delay`: hold every chunk for a while before forwarding it;
* :meth:`~Proxy.corrupt_next`: flip bits of one byte of the next server-to-client data;
* :meth:`~Proxy.refuse`: turn new connections away, by accepting and closing them at once
  (``"close"``) or by not listening at all (``"unlisten"``: the client gets ``ECONNREFUSED``),
  until :meth:`~Proxy.accept_again`;

and counts the connections it accepted (:attr:`~Proxy.accepted`).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from types import TracebackType
from typing import Literal, Self

#: ``"up"``: client to server; ``"down"``: server to client.
Direction = Literal["up", "down"]


class _Pair:
    """One proxied connection: the client's socket and the server's, and its faults."""

    def __init__(self, client: socket.socket, upstream: socket.socket) -> None:
        self.client = client
        self.upstream = upstream
        self.stalled = False
        #: Set once the connection is reset (a pump holding a delayed chunk lets go).
        self.dead = threading.Event()
        #: Bytes still to forward in a direction before the connection is reset.
        self.budget: dict[str, int | None] = {"up": None, "down": None}

    def reset(self) -> None:
        self.dead.set()
        for sock in (self.client, self.upstream):
            with contextlib.suppress(OSError):
                # A zero linger turns close() into a reset (RST), as a crashed peer would.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


class Proxy:
    """Listen on ``127.0.0.1:<port>`` and forward each connection to ``(host, port)``."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._listener: socket.socket | None = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._pairs: list[_Pair] = []
        self._threads: list[threading.Thread] = []
        self._closed = False
        self._refusing = False
        self._delay = {"up": 0.0, "down": 0.0}
        self._delay_changed = threading.Condition()
        self._corrupt: tuple[int, int] | None = None
        #: Connections accepted so far (those turned away by ``refuse("close")`` included).
        self.accepted = 0
        #: Connections turned away by ``refuse("close")``.
        self.refused = 0
        self._start(self._accept, self._listener)

    # ------------------------------------------------------------------ faults

    def cut(self) -> None:
        """Reset every connection carried so far (new ones are still accepted)."""
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            pair.reset()

    def cut_after(self, nbytes: int, direction: Direction = "down") -> None:
        """Reset every connection open now once ``nbytes`` more bytes went ``direction``
        (0: at the next byte, which is not forwarded)."""
        with self._lock:
            for pair in self._pairs:
                pair.budget[direction] = nbytes

    def stall(self) -> None:
        """Black-hole the connections open now: keep their sockets open and forward nothing
        more, either way (connections made later are not affected)."""
        with self._lock:
            for pair in self._pairs:
                pair.stalled = True

    def delay(self, seconds: float, direction: Direction | None = None) -> None:
        """Hold each chunk ``seconds`` before forwarding it ``direction`` (``None``: both
        ways; 0 seconds to stop)."""
        with self._delay_changed:
            for way in ("up", "down") if direction is None else (direction,):
                self._delay[way] = seconds
            self._delay_changed.notify_all()

    def corrupt_next(self, offset: int = 0, mask: int = 0xFF) -> None:
        """XOR ``mask`` into byte ``offset`` of the next chunk the server sends (the next
        one longer than ``offset``)."""
        with self._lock:
            self._corrupt = (offset, mask)

    def refuse(self, how: Literal["close", "unlisten"] = "close") -> None:
        """Turn new connections away until :meth:`accept_again`: ``"close"`` accepts and
        closes each at once; ``"unlisten"`` stops listening (connecting is refused)."""
        with self._lock:
            self._refusing = True
            listener = self._listener if how == "unlisten" else None
            if listener is not None:
                self._listener = None
        if listener is not None:
            self._close_listener(listener)

    def accept_again(self) -> None:
        """Undo :meth:`refuse`: accept and forward new connections (on the same port)."""
        with self._lock:
            self._refusing = False
            if self._listener is not None or self._closed:
                return
            self._listener = socket.create_server(("127.0.0.1", self.port))
            self._start(self._accept, self._listener)

    @property
    def open_connections(self) -> int:
        """Connections carried now."""
        with self._lock:
            return len(self._pairs)

    # ------------------------------------------------------------------ forwarding

    def _start(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        self._threads = [t for t in self._threads if t.is_alive()]
        self._threads.append(thread)
        thread.start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            with self._lock:
                self.accepted += 1
                refused = self._refusing or self._closed
                self.refused += self._refusing
            if refused:
                _Pair(client, client).reset()
                continue
            try:
                upstream = socket.create_connection(self._target)
            except OSError:
                client.close()
                continue
            pair = _Pair(client, upstream)
            with self._lock:
                if self._closed:
                    pair.reset()
                    return
                self._pairs.append(pair)
                self._start(self._pump, pair, "up")
                self._start(self._pump, pair, "down")

    def _pump(self, pair: _Pair, direction: Direction) -> None:
        source, sink = ((pair.client, pair.upstream) if direction == "up"
                        else (pair.upstream, pair.client))
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                if self._delay[direction] and not self._hold(pair, direction):
                    return
                if pair.stalled:
                    continue  # the black hole swallows it
                data, cut = self._apply(pair, direction, data)
                if data:
                    sink.sendall(data)
                if cut:
                    self._drop(pair)
                    return
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def _hold(self, pair: _Pair, direction: Direction) -> bool:
        """Wait out the delay of a chunk (shortened if the delay is lowered meanwhile);
        ``False`` if the connection was reset meanwhile."""
        received = time.monotonic()
        with self._delay_changed:
            while not pair.dead.is_set():
                remaining = received + self._delay[direction] - time.monotonic()
                if remaining <= 0:
                    return True
                self._delay_changed.wait(min(remaining, 0.05))
        return False

    def _apply(self, pair: _Pair, direction: Direction, data: bytes) -> tuple[bytes, bool]:
        """The faults armed for this chunk: what to forward, and whether to reset after."""
        with self._lock:
            if direction == "down" and self._corrupt is not None:
                offset, mask = self._corrupt
                if offset < len(data):
                    self._corrupt = None
                    data = data[:offset] + bytes([data[offset] ^ mask]) + data[offset + 1:]
            budget = pair.budget[direction]
            if budget is None:
                return data, False
            if budget >= len(data):
                pair.budget[direction] = budget - len(data)
                return data, False
            return data[:budget], True

    def _drop(self, pair: _Pair) -> None:
        with self._lock:
            if pair in self._pairs:
                self._pairs.remove(pair)
        pair.reset()

    # ------------------------------------------------------------------ lifecycle

    @staticmethod
    def _close_listener(listener: socket.socket) -> None:
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)
        listener.close()

    def close(self) -> None:
        """Stop listening, cut everything and join the proxy's threads."""
        with self._lock:
            self._closed = True
            listener, self._listener = self._listener, None
        if listener is not None:
            self._close_listener(listener)
        self.cut()
        for thread in self._threads:
            thread.join(5)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
