"""A fake SurrealDB peer for the core's tests: the exact bytes a server would send.

:class:`FakeSurrealPeer` is a ``wsproto`` server connection plus CBOR: it reads the client's
upgrade and requests, and turns replies, errors, notifications, pings and closes into the
bytes SurrealDB writes (maps with keys in the server's sorted order, ``protocol.md`` §11;
binary frames; Close without a status code, §2.3). Server frames are not masked, so its output
is deterministic and can be replayed, truncated or mutated by the fuzz tests.

:class:`ClientServerPair` wires a :class:`~surreal_proto.WebSocketConnection` to one, in
memory, and feeds the client either whole or one byte at a time (the ``feed`` fixture).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from uuid import UUID

import cbor2
import pytest
from wsproto import ConnectionType, WSConnection
from wsproto.connection import ConnectionState as WsState
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Event,
    Ping,
    Pong,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)
from wsproto.frame_protocol import CloseReason

from surreal_proto._codec import decode
from surreal_proto._events import AnyEvent, ConnectionClosed
from surreal_proto._state import ConnectionState
from surreal_proto._ws import WebSocketConnection

#: SurrealDB's NONE (tag 6 around null, §5.1).
NONE = cbor2.CBORTag(6, None)

#: The connection id the fake server reports in 3.x notifications.
CONNECTION_ID = UUID("0190c1a2-0000-7000-8000-0000000000aa")


#: Apply to a module (``pytestmark = FEED``): every test runs with the client fed whole and one
#: byte at a time, and takes a ``bytewise`` argument.
FEED = pytest.mark.parametrize("bytewise", [False, True], ids=["whole", "bytewise"])


def server_map(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The map with keys in the order the server writes them (BTreeMap order, §11)."""
    return {key: obj[key] for key in sorted(obj)}


class FakeSurrealPeer:
    """The server end: feed it the client's bytes, ask it for server bytes."""

    def __init__(self) -> None:
        self.ws = WSConnection(ConnectionType.SERVER)
        #: The client's upgrade request.
        self.handshake: Request | None = None
        #: Every request the client sent, decoded with the project's codec, in order.
        self.requests: list[dict[str, Any]] = []
        #: Control events from the client (Ping, Pong, CloseConnection).
        self.control: list[Event] = []
        #: Raw payloads of text frames from the client (it should send none).
        self.text: list[str] = []
        #: Bytes the peer produced on its own (pongs, close replies); take with ``take()``.
        self.pending_out = bytearray()
        self._chunks: list[bytes] = []

    def receive(self, data: bytes) -> None:
        """Feed bytes from the client and process them like a WebSocket server library."""
        self.ws.receive_data(data)
        for event in self.ws.events():
            if isinstance(event, Request):
                self.handshake = event
            elif isinstance(event, BytesMessage):
                self._chunks.append(bytes(event.data))
                if event.message_finished:
                    self.requests.append(decode(b"".join(self._chunks)))
                    self._chunks.clear()
            elif isinstance(event, TextMessage):
                self.text.append(event.data)
            elif isinstance(event, Ping):
                self.control.append(event)
                self.pending_out += self.ws.send(event.response())
            elif isinstance(event, CloseConnection):
                self.control.append(event)
                if self.ws.state is WsState.REMOTE_CLOSING:
                    # SurrealDB answers a Close with a Close without status code (§2.3).
                    no_status = CloseConnection(code=CloseReason.NO_STATUS_RCVD)
                    self.pending_out += self.ws.send(no_status)
            else:
                self.control.append(event)

    def take(self) -> bytes:
        """The bytes the peer produced on its own since the last call."""
        data = bytes(self.pending_out)
        self.pending_out.clear()
        return data

    # ------------------------------------------------------------------ handshake

    def accept(self, subprotocol: str | None = "cbor",
               headers: Iterable[tuple[bytes, bytes]] = ()) -> bytes:
        """The ``101 Switching Protocols`` answer."""
        return self.ws.send(AcceptConnection(subprotocol=subprotocol,
                                             extra_headers=list(headers)))

    def reject(self, status: int, body: bytes = b"",
               content_type: bytes = b"text/plain; charset=utf-8") -> bytes:
        """A refused upgrade with a plain-text body (§3.5), e.g. 401 for a bad token."""
        headers = [(b"content-type", content_type), (b"content-length", b"%d" % len(body))]
        data = self.ws.send(RejectConnection(status_code=status, headers=headers,
                                             has_body=bool(body)))
        if body:
            data += self.ws.send(RejectData(data=body, body_finished=True))
        return data

    # ------------------------------------------------------------------ messages

    def message(self, obj: Any) -> bytes:
        """One binary frame holding ``obj`` as CBOR (maps keep their key order)."""
        return self.raw(cbor2.dumps(obj))

    def raw(self, payload: bytes) -> bytes:
        """One binary frame holding ``payload`` as it is."""
        return self.ws.send(BytesMessage(data=payload))

    def fragmented(self, payload: bytes, pieces: int) -> bytes:
        """One binary message split into ``pieces`` frames."""
        step = max(1, len(payload) // pieces)
        parts = [payload[i:i + step] for i in range(0, len(payload), step)]
        data = b""
        for index, part in enumerate(parts):
            data += self.ws.send(BytesMessage(data=part,
                                              message_finished=index == len(parts) - 1))
        return data

    def text_frame(self, text: str) -> bytes:
        """One text frame (the server accepts text; we must too, §2.3)."""
        return self.ws.send(TextMessage(data=text))

    def reply(self, request_id: Any, result: Any, *, session: UUID | None = None) -> bytes:
        """``{id, result[, session]}`` (§2.5)."""
        body: dict[str, Any] = {"id": request_id, "result": result}
        if session is not None:
            body["session"] = session
        return self.message(server_map(body))

    def error(self, request_id: Any, error: Mapping[str, Any], *,
              session: UUID | None = None) -> bytes:
        """``{id, error[, session]}`` with a 3.x or 2.x error object (§6)."""
        body: dict[str, Any] = {"error": server_map(error), "id": request_id}
        if session is not None:
            body["session"] = session
        return self.message(server_map(body))

    def notify(self, live_id: Any, action: str, record: Any = NONE, result: Any = NONE, *,
               session: UUID | None = None) -> bytes:
        """An id-less live notification as 3.x sends it (§8.2)."""
        note = server_map({"action": action, "id": live_id, "record": record,
                           "result": result, "session": session or CONNECTION_ID})
        body: dict[str, Any] = {"result": note}
        if session is not None:
            body["session"] = session
        return self.message(server_map(body))

    def ping(self, payload: bytes = b"") -> bytes:
        """A server Ping (SurrealDB sends one every 5 s, §2.8)."""
        return self.ws.send(Ping(payload=payload))

    def pong(self, payload: bytes = b"") -> bytes:
        """An unsolicited Pong."""
        return self.ws.send(Pong(payload=payload))

    def close(self, code: int | None = None, reason: str | None = None) -> bytes:
        """A server-initiated Close (``None``: no status code)."""
        status = CloseReason.NO_STATUS_RCVD if code is None else code
        return self.ws.send(CloseConnection(code=status, reason=reason))


class ClientServerPair:
    """A client connection and a fake server, wired in memory."""

    def __init__(self, *, bytewise: bool = False, host: str = "localhost:8000",
                 **options: Any) -> None:
        self.client = WebSocketConnection(host, **options)
        self.server = FakeSurrealPeer()
        self.bytewise = bytewise
        self.now = 0.0

    def flush(self) -> bytes:
        """Move the client's output to the server; return what was moved."""
        data = self.client.data_to_send()
        if data:
            self.server.receive(data)
        return data

    def deliver(self, data: bytes, now: float | None = None) -> list[AnyEvent]:
        """Feed server bytes to the client (whole or byte by byte); flush; return events."""
        when = self.now if now is None else now
        if self.bytewise:
            for i in range(len(data)):
                self.client.receive_data(data[i:i + 1], when)
        else:
            self.client.receive_data(data, when)
        self.flush()
        return self.client.events()

    def open(self, **accept: Any) -> list[AnyEvent]:
        """Connect and complete the handshake; return the events."""
        self.client.connect(self.now)
        self.flush()
        return self.deliver(self.server.accept(**accept))

    def call(self, method: str, *params: Any, **options: Any) -> Any:
        """Send a request and return its id (``now`` defaults to the pair's clock)."""
        options.setdefault("now", self.now)
        request_id = self.client.send_request(method, params, **options)
        self.flush()
        return request_id


def state_of(conn: WebSocketConnection) -> ConnectionState:
    """The connection's state, read through a call so type checkers do not narrow it."""
    return conn.state


def only_closed(events: list[AnyEvent]) -> ConnectionClosed:
    """The single ConnectionClosed in ``events``, which must be the last event."""
    closed = [e for e in events if isinstance(e, ConnectionClosed)]
    assert len(closed) == 1, events
    assert events[-1] is closed[0], events
    return closed[0]
