"""An in-memory SurrealDB WebSocket server for the trio adapter's timing tests.

:class:`FakeServer` is :class:`tests.proto.helpers.FakeSurrealPeer` (a wsproto server plus
CBOR: the real bytes a server sends) behind one end of ``trio.testing.memory_stream_pair``.
:class:`FakeNetwork` is the private ``stream_opener`` seam of the driver: every link the
client opens gets a fresh in-memory server. No sockets, no real sleeps: run the tests with
``trio.testing.MockClock(autojump_threshold=0)`` (the ``autojump_clock`` fixture).
"""

from __future__ import annotations

import ssl
import uuid
from typing import Any

import trio
import trio.testing

from surreal_proto import OpenLink
from surreal_trio import AsyncSurreal
from tests.proto.client_helpers import ok
from tests.proto.helpers import NONE, FakeSurrealPeer

VERSION = "surrealdb-3.0.2"


class FakeServer:
    """One accepted link: answers requests automatically unless their method is held."""

    def __init__(self, stream: trio.abc.Stream, hold: set[str]) -> None:
        self.stream = stream
        self.peer = FakeSurrealPeer()
        #: Methods not answered automatically (answer them with :meth:`reply`).
        self.hold = hold
        #: Requests received but not answered, in order.
        self.held: list[dict[str, Any]] = []
        #: While set, the server reads nothing and answers nothing (a stalled peer).
        self.stalled = False
        self.closed = False
        self._seen = 0
        self._accepted = False
        self._changed = trio.Event()

    async def serve(self) -> None:
        try:
            while True:
                data = await self.stream.receive_some(65536)
                if not data:
                    return
                self.peer.receive(bytes(data))
                if self.stalled:
                    continue
                await self.stream.send_all(self._answers())
                self._changed.set()
                self._changed = trio.Event()
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass

    def _answers(self) -> bytes:
        peer = self.peer
        out = bytearray()
        if peer.handshake is not None and not self._accepted:
            self._accepted = True
            out += peer.accept()
        out += peer.take()  # pongs and the Close echo
        for request in peer.requests[self._seen:]:
            self._seen += 1
            if request["method"] in self.hold:
                self.held.append(request)
            else:
                out += peer.reply(request["id"], self.result_for(request))
        return bytes(out)

    @staticmethod
    def result_for(request: dict[str, Any]) -> Any:
        method = request["method"]
        if method == "version":
            return VERSION
        if method == "query":
            return [ok(NONE)]
        if method in ("signin", "signup"):
            return "token"
        if method == "live":
            return uuid.uuid4()
        return NONE

    def methods(self) -> list[str]:
        """Every request method received, in order."""
        return [r["method"] for r in self.peer.requests]

    async def wait_for(self, method: str) -> dict[str, Any]:
        """Wait until a request for ``method`` was held; return it."""
        while True:
            for request in self.held:
                if request["method"] == method:
                    return request
            await self._changed.wait()

    async def reply(self, request: dict[str, Any], result: Any = NONE) -> None:
        """Answer a held request now."""
        self.held.remove(request)
        await self.stream.send_all(self.peer.reply(request["id"], result))

    async def send(self, data: bytes) -> None:
        """Send raw server bytes (``self.peer`` makes them)."""
        await self.stream.send_all(data)

    async def drop(self) -> None:
        """End the stream without a Close (a dropped link)."""
        self.closed = True
        await self.stream.aclose()


class FakeNetwork:
    """The driver's stream opener for tests: each link gets a new :class:`FakeServer`."""

    def __init__(self, nursery: trio.Nursery, *, hold: set[str] | None = None,
                 refuse: bool = False, hang: bool = False) -> None:
        self.nursery = nursery
        self.hold = hold if hold is not None else set()
        self.servers: list[FakeServer] = []
        self.events: list[OpenLink] = []
        #: Refuse connections (``ConnectionRefusedError``).
        self.refuse = refuse
        #: Never complete opening (for connect timeouts).
        self.hang = hang
        self._opened = trio.Event()

    async def __call__(self, event: OpenLink, context: ssl.SSLContext | None,
                       ) -> trio.abc.Stream:
        self.events.append(event)
        if self.hang:
            await trio.sleep_forever()
        if self.refuse:
            raise ConnectionRefusedError(111, "Connection refused")
        client, server_end = trio.testing.memory_stream_pair()
        server = FakeServer(server_end, self.hold)
        self.servers.append(server)
        self.nursery.start_soon(server.serve)
        self._opened.set()
        self._opened = trio.Event()
        return client

    @property
    def server(self) -> FakeServer:
        """The last server opened."""
        return self.servers[-1]

    async def wait_for_server(self, count: int) -> FakeServer:
        """Wait until ``count`` links were opened; return the last."""
        while len(self.servers) < count:
            await self._opened.wait()
        return self.servers[-1]

    def client(self, url: str = "ws://localhost:8000", **options: Any) -> AsyncSurreal:
        """An ``AsyncSurreal`` whose links open into this network."""
        db = AsyncSurreal(url, **options)
        db._driver._stream_opener = self
        return db
