"""The WebSocket transport of the core: a SurrealDB RPC connection over ``wsproto``.

:class:`WebSocketConnection` stacks Sans-IO layers (``anchors-style.md`` §10 lesson 2): h11
(inside wsproto) for the upgrade, wsproto for the control frames and the close handshake, and
:class:`~surreal_proto.RpcLayer` for envelopes, replies and live notifications. The data frames
that carry every request and reply are built and read here (``_binary_frame``,
``_read_frames``): they are the hot path, and wsproto's general framing cost about as much as
the rest of a round trip (``bench/RESULTS.md``, "Core round trip"). The reading applies
wsproto's checks, in its order, and ``tests/proto/test_ws_frames.py`` holds it to wsproto's
results. The driver only moves bytes and reads its clock.

Driving contract, for every method below: after any call that feeds input or starts something
(``connect``, ``send_request`` and the request helpers, ``receive_data``, ``receive_eof``,
``handle_timeout``, ``close``), send ``data_to_send()``, then handle ``events()``, then re-arm
the timer from ``next_deadline()``. After :class:`~surreal_proto.ConnectionClosed`, flush once
more and close the transport.

Decisions (websockets' model):

* Bad bytes from the peer never raise. ``receive_data`` turns them into events and state: one
  undecodable message is a ``ProtocolViolation`` and reading goes on; broken framing, a refused
  or malformed handshake or an oversized message end the connection with ``ConnectionClosed``.
  Only misuse raises :class:`~surreal_proto.LocalProtocolError` (feeding bytes before
  ``connect()`` or after ``receive_eof()``, sending after ``close()``); nothing changes then.
* Once the server's version is known (a ``version`` reply), ``send_request`` refuses what it
  lacks with :class:`~surreal_proto.UnsupportedFeatureError` before sending: sessions,
  transactions and ``refresh`` before 3.0, and the ``session``/``txn`` fields, which a 2.x
  server would ignore (``protocol.md`` §2.4, §4.1). The same check runs on every transport.
* Requests started while ``CONNECTING`` are queued and sent as soon as the handshake succeeds
  (adapters connect lazily). Their deadlines run from when they were started. If the handshake
  fails they fail with ``RequestFailed`` and show ``sent=False`` in ``unanswered``.
* Pings from the server (every 5 s, ``protocol.md`` §2.8) are answered automatically.
* Keepalive: when nothing has arrived for ``keepalive_interval`` seconds, we send a Ping; if
  nothing at all (a Pong or any other data) arrives within ``keepalive_timeout``, the peer is
  gone: Close 1011 is queued and the connection ends. A WebSocket Ping rather than the RPC
  ``ping`` the SDKs use (§2.8) keeps the request-id space and the server's RPC queue out of
  it. A stock server pings every 5 s, so against it our own ping is rarely needed.
* ``close(now)`` sends Close 1000 and waits for the server's Close (SurrealDB answers with no
  status code, so ``code`` is 1005, §2.3) or ``close_timeout``. Replies that arrive meanwhile
  are still delivered.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Iterable
from typing import Any, Final
from uuid import UUID

import h11
from wsproto import ConnectionType, WSConnection
from wsproto.connection import ConnectionState as WsState
from wsproto.events import (
    AcceptConnection,
    CloseConnection,
    Ping,
    RejectConnection,
    RejectData,
    Request,
)
from wsproto.utilities import RemoteProtocolError as WsRemoteProtocolError

from ._connection import StreamConnection
from ._errors import (
    ConnectionClosedError,
    HandshakeError,
    LocalProtocolError,
    RemoteProtocolError,
    SurrealError,
)
from ._events import Connected, RequestId
from ._log import LazyLogger
from ._rpc import Timeout
from ._state import ConnectionState, Input

__all__ = ["DEFAULT_MAX_MESSAGE_SIZE", "WebSocketConnection"]

_log: Final = LazyLogger("surreal_proto.ws")

#: 128 MiB: the server's own WebSocket message limit (``SURREAL_WEBSOCKET_MAX_MESSAGE_SIZE``,
#: ``protocol.md`` §1 and §3.4). Any message a stock server accepts fits, and one runaway or
#: hostile reply cannot take more memory than that. Raise it for huge results; ``None`` = none.
DEFAULT_MAX_MESSAGE_SIZE: Final = 128 * 1024 * 1024

_SUBPROTOCOL: Final = "cbor"  # §2.2: always offer cbor, and insist on it
_MAX_REJECT_BODY: Final = 4096  # bytes of a refusal's body kept for the error message
# Headers the upgrade itself sets; a caller must not override them.
_RESERVED_HEADERS: Final = frozenset({
    b"host", b"upgrade", b"connection", b"sec-websocket-key", b"sec-websocket-version",
    b"sec-websocket-protocol", b"sec-websocket-extensions",
})
# §2.1: a non-UUID Surreal-Id is refused (401), a non-UUID X-Request-Id too (400).
_UUID_HEADERS: Final = frozenset({b"x-request-id", b"surreal-id"})

# The end of the server's response head, as h11 finds it (a blank line, CRLF or bare LF).
_END_OF_HEAD: Final = re.compile(rb"\n\r?\n")

# RFC 6455 §5.2 opcodes.
_CONTINUATION: Final = 0x0
_TEXT: Final = 0x1
_BINARY: Final = 0x2
_CONTROL: Final = frozenset({0x8, 0x9, 0xA})  # Close, Ping, Pong

# Payloads up to this size are masked through one big int; larger ones with bytes.translate,
# which is about 3x faster on a megabyte and 2.5x slower on a small request.
_MASK_BY_INT_MAX: Final = 2048
_XOR_TABLES: Final = [bytes(a ^ k for a in range(256)) for k in range(256)]


def _as_bytes(text: str | bytes) -> bytes:
    return text.encode("utf-8") if isinstance(text, str) else bytes(text)


class _RandomMaskKeys:
    """The default source of masking keys: 4 bytes of ``os.urandom`` per frame (RFC 6455
    §5.3: a strong source of entropy), drawn 256 keys at a time to save system calls."""

    __slots__ = ("_pool", "_pos")

    def __init__(self) -> None:
        self._pool = b""
        self._pos = 0

    def __call__(self) -> bytes:
        pos = self._pos
        if pos >= len(self._pool):
            self._pool = os.urandom(1024)
            pos = 0
        self._pos = pos + 4
        return self._pool[pos:pos + 4]


def _mask(key: bytes, payload: bytes) -> bytes:
    """``payload`` XOR-ed with the 4-byte ``key`` repeated (RFC 6455 §5.3)."""
    n = len(payload)
    if n <= _MASK_BY_INT_MAX:
        stream = (key * ((n + 3) >> 2))[:n]
        return (int.from_bytes(payload, "little") ^ int.from_bytes(stream, "little")
                ).to_bytes(n, "little")
    out = bytearray(payload)
    for i in range(4):
        out[i::4] = out[i::4].translate(_XOR_TABLES[key[i]])
    return bytes(out)


class _BrokenFrame(Exception):
    """A frame the server must not send: ``args`` are the close reason and code."""


def _frame_header(buf: bytes | bytearray, pos: int, size: int) -> tuple[int, int, int] | None:
    """Read the header of the server frame at ``buf[pos:size]`` (RFC 6455 §5.2): its first
    byte (FIN and opcode), where its payload starts and the payload's length; ``None`` if the
    header is not all there yet.

    Raises:
        _BrokenFrame: the header is invalid. The checks are wsproto's, in its order, with its
            messages, so that either reading fails the same frames the same way.
    """
    b0, b1 = buf[pos], buf[pos + 1]
    opcode = b0 & 0x0F
    length = b1 & 0x7F
    start = pos + 2
    if opcode > _BINARY and opcode not in _CONTROL:
        raise _BrokenFrame(f"Invalid opcode {opcode:#x}", 1002)
    if opcode in _CONTROL:
        if not b0 & 0x80:
            raise _BrokenFrame("Invalid attempt to fragment control frame", 1002)
        if length > 125:
            raise _BrokenFrame("Control frame with payload len > 125", 1002)
    if length == 126:
        if size - start < 2:
            return None
        length = int.from_bytes(buf[start:start + 2], "big")
        start += 2
        if length <= 125:
            raise _BrokenFrame("Payload length used 2 bytes when 1 would have sufficed", 1002)
    elif length == 127:
        if size - start < 8:
            return None
        length = int.from_bytes(buf[start:start + 8], "big")
        start += 8
        if length <= 0xFFFF:
            raise _BrokenFrame("Payload length used 8 bytes when 2 would have sufficed", 1002)
        if length >> 63:
            raise _BrokenFrame("8-byte payload length with non-zero MSB", 1002)
    if b0 & 0x70:  # no extension is ever agreed
        raise _BrokenFrame("Reserved bit set unexpectedly", 1002)
    if b1 & 0x80:
        raise _BrokenFrame("client received unexpected masked frame", 1002)
    return b0, start, length


def _binary_frame(payload: bytes, key: bytes) -> bytes:
    """One masked, final binary frame (RFC 6455 §5.2): what every client message is."""
    n = len(payload)
    if n < 126:
        head = bytes((0x82, 0x80 | n))
    elif n < 0x10000:
        head = b"\x82\xfe" + n.to_bytes(2, "big")
    else:
        head = b"\x82\xff" + n.to_bytes(8, "big")
    return head + key + _mask(key, payload)


class WebSocketConnection(StreamConnection):
    """A SurrealDB RPC client connection over WebSocket with the ``cbor`` subprotocol.

    Everything works here: live queries, 3.x sessions and transactions (refused with
    ``UnsupportedFeatureError`` only once the server's version is known to lack them).

    Args:
        host: the ``Host`` header value (``"localhost:8000"``).
        path: the request target; SurrealDB serves RPC at exactly ``/rpc`` (§2.1).
        headers: extra upgrade headers, e.g. ``Authorization``, ``Surreal-NS``,
            ``Surreal-DB`` (§2.1). ``Surreal-Id`` and ``X-Request-Id`` must be UUIDs.
        max_message_size: largest incoming message in bytes, enforced while it arrives
            (see :data:`DEFAULT_MAX_MESSAGE_SIZE`); ``None`` = unlimited.
        keepalive_interval: seconds of silence before we ping; ``None`` disables keepalive.
        keepalive_timeout: seconds to wait for any data after that ping.
        close_timeout: seconds to wait for the server's Close after ours.
        default_timeout: deadline of requests started with :data:`DEFAULT_TIMEOUT`;
            ``None`` = no deadline.
        id_factory: returns request ids (int or str, one type); default 1, 2, 3, ...
        mask_key_factory: returns the 4-byte masking key of each message we send (RFC 6455
            §5.3); default: ``os.urandom``. Tests pass a fixed key to get fixed bytes.

    Raises:
        LocalProtocolError: a header is reserved, malformed, or an id header is not a UUID.
    """

    _TRANSPORT = "ws"
    _CLOSED_MESSAGE = "the connection closed before the reply arrived"

    def __init__(self, host: str, *, path: str = "/rpc",
                 headers: Iterable[tuple[str | bytes, str | bytes]] = (),
                 max_message_size: int | None = DEFAULT_MAX_MESSAGE_SIZE,
                 keepalive_interval: float | None = 30.0, keepalive_timeout: float = 20.0,
                 close_timeout: float = 10.0, default_timeout: float | None = None,
                 id_factory: Callable[[], RequestId] | None = None,
                 mask_key_factory: Callable[[], bytes] | None = None) -> None:
        self._host = host
        self._path = path
        self._headers = self._check_headers(host, path, headers)
        super().__init__(default_timeout=default_timeout, id_factory=id_factory)
        self._max_message_size = max_message_size
        self._keepalive_interval = keepalive_interval
        self._keepalive_timeout = keepalive_timeout
        self._close_timeout = close_timeout
        self._ws = WSConnection(ConnectionType.CLIENT)
        self._mask_key = mask_key_factory or _RandomMaskKeys()
        self._queued: list[tuple[RequestId, bytes]] = []  # started while CONNECTING
        self._head_tail = b""  # the last bytes of an unfinished response head
        self._framing = False  # True once the handshake is done: frames are read here
        self._inbuf = bytearray()  # received bytes of an unfinished frame
        # The fragments of a message being received, joined as they arrive: its size is
        # the payload's, however many (or empty) frames carry it.
        self._fragments = bytearray()
        self._message_opcode: int | None = None  # _TEXT or _BINARY while fragments arrive
        self._reject_status: int | None = None
        self._reject_body = bytearray()
        self._last_received = 0.0
        self._ping_deadline: float | None = None
        self._pings_sent = 0
        self._close_deadline = math.inf

    @staticmethod
    def _check_headers(host: str, path: str, headers: Iterable[tuple[str | bytes, str | bytes]]
                       ) -> list[tuple[bytes, bytes]]:
        checked = [(_as_bytes(name), _as_bytes(value)) for name, value in headers]
        for name, value in checked:
            lowered = name.lower()
            if lowered in _RESERVED_HEADERS:
                raise LocalProtocolError(f"the {name!r} header is set by the upgrade itself")
            if lowered in _UUID_HEADERS:
                try:
                    UUID(value.decode("ascii"))
                except ValueError:
                    raise LocalProtocolError(
                        f"the {name!r} header must be a UUID (protocol.md §2.1)") from None
        try:
            # Let h11 validate everything now, so connect() cannot fail half-way.
            h11.Request(method="GET", target=path,
                        headers=[(b"host", host.encode("idna")), *checked])
        except (h11.LocalProtocolError, UnicodeError) as exc:
            raise LocalProtocolError(f"invalid upgrade request: {exc}") from None
        return checked

    # ------------------------------------------------------------------ properties

    @property
    def live_queries(self) -> dict[UUID, UUID | None]:
        """The known live queries: live id → owning attached session (``None`` = default)."""
        return self._rpc.live_queries

    # ------------------------------------------------------------------ caller actions

    def connect(self, now: float) -> None:
        """Queue the upgrade request (``GET /rpc``, subprotocol ``cbor``, no extensions).

        Then send ``data_to_send()`` and feed the server's answer to :meth:`receive_data`;
        :class:`~surreal_proto.Connected` or ``ConnectionClosed`` follows.

        Raises:
            LocalProtocolError: not ``IDLE``.
        """
        self._machine.check(Input.CONNECT)
        # Never offer permessage-deflate: SurrealDB replies are CBOR, compression buys little
        # and costs CPU on both ends.
        self._out += self._ws.send(Request(host=self._host, target=self._path,
                                           subprotocols=[_SUBPROTOCOL],
                                           extra_headers=self._headers))
        self._machine.process(Input.CONNECT)

    def _start_request(self, method: str, params: tuple[Any, ...], *, session: UUID | None,
                       txn: UUID | None, timeout: Timeout, now: float) -> RequestId:
        # Sent at once when OPEN; queued while CONNECTING and sent once the handshake succeeds.
        queued = self._machine.state is ConnectionState.CONNECTING
        request_id, payload = self._rpc.start_request(method, params, session=session, txn=txn,
                                                      timeout=timeout, now=now, sent=not queued)
        if queued:
            self._queued.append((request_id, payload))
        else:
            self._out += _binary_frame(payload, self._mask_key())
        return request_id

    def register_live_query(self, live_id: UUID, session: UUID | None = None, *,
                            now: float) -> None:
        """Declare a live query the core could not learn from a reply (2.x ``LIVE SELECT``
        through ``query``). Held notifications for it follow as events."""
        self._rpc.register_live_query(live_id, session, now=now)

    def close(self, now: float) -> None:
        """Start the close handshake: queue Close 1000 and wait for the server's Close, at most
        ``close_timeout``. Before the handshake finished, end at once. Idempotent.

        Then send ``data_to_send()`` and keep reading until ``ConnectionClosed``.
        """
        state = self._machine.state
        self._machine.check(Input.CLOSE)
        if state is ConnectionState.OPEN:
            self._out += self._ws.send(CloseConnection(code=1000))
            self._machine.process(Input.CLOSE)
            self._close_deadline = now + self._close_timeout
            self._ping_deadline = None
        elif state in (ConnectionState.IDLE, ConnectionState.CONNECTING):
            self._terminate(Input.CLOSE, 1006)
        # CLOSING or CLOSED: already under way or done.

    # ------------------------------------------------------------------ input

    def receive_data(self, data: bytes, now: float) -> None:
        """Feed bytes read from the transport. Never raises for bad bytes (see the module
        docstring); bytes after the connection ended are discarded.

        Then send ``data_to_send()`` (pongs, close replies), handle ``events()`` and re-arm
        the timer from ``next_deadline()``.

        Raises:
            LocalProtocolError: before ``connect()`` or after ``receive_eof()``.
        """
        if self._accept_data(data):
            self._last_received = now
            self._ping_deadline = None  # any data proves the peer alive
            if type(data) is not bytes:
                data = bytes(data)  # a bytearray or memoryview the driver may reuse
            if self._framing:
                self._read_frames(data, now)
            else:
                self._read_handshake(data, now)

    def receive_eof(self) -> None:
        """Report that the transport reached end of stream. Idempotent.

        Ends the connection (``ConnectionClosed`` with code 1006 unless it already ended).
        Then send ``data_to_send()`` and handle ``events()``.

        Raises:
            LocalProtocolError: before ``connect()``.
        """
        if not self._accept_eof():
            return
        state = self._machine.state
        if state is ConnectionState.CONNECTING:
            if self._reject_status is not None:
                # A refusal's body may be delimited by end of stream: let h11 finish it
                # (or fail on a cut-short body); either way the refusal is then reported.
                self._feed(None, 0.0)
                self._finish_reject()
                return
            error: SurrealError | None = HandshakeError(
                "the server closed the connection during the WebSocket handshake")
        elif state is ConnectionState.CLOSING:
            error = None  # we were closing anyway; the server just did not send Close
        else:
            error = ConnectionClosedError(
                "the connection was lost (end of stream without a Close frame)", code=1006)
        self._terminate(Input.RECEIVE_EOF, 1006, error=error)

    # ------------------------------------------------------------------ time

    def next_deadline(self) -> float | None:
        """When :meth:`handle_timeout` next has work (request deadlines, keepalive, close
        timeout), or ``None``. Re-read it after every call."""
        deadline = self._rpc.next_deadline()
        state = self._machine.state
        if state is ConnectionState.OPEN and self._keepalive_interval is not None:
            own = (self._ping_deadline if self._ping_deadline is not None
                   else self._last_received + self._keepalive_interval)
        elif state is ConnectionState.CLOSING:
            own = self._close_deadline
        else:
            return deadline
        return own if deadline is None or own < deadline else deadline

    def handle_timeout(self, now: float) -> None:
        """Do what is due at ``now``: time out requests (``RequestTimedOut``), send a
        keepalive ping or give up on the peer, end a close handshake that took too long.
        Safe to call early or late.

        Then send ``data_to_send()`` and handle ``events()``.
        """
        super().handle_timeout(now)
        state = self._machine.state
        if state is ConnectionState.CLOSING:
            if now >= self._close_deadline:
                _log.debug("no Close from the server within %ss", self._close_timeout)
                self._terminate(Input.CLOSE_TIMEOUT, 1006)
        elif state is ConnectionState.OPEN and self._keepalive_interval is not None:
            if self._ping_deadline is not None:
                if now >= self._ping_deadline:
                    self._fail(1011, "keepalive ping timeout", ConnectionClosedError(
                        f"no answer to keepalive ping within {self._keepalive_timeout:g}s",
                        code=1011, reason="keepalive ping timeout"))
            elif now >= self._last_received + self._keepalive_interval:
                self._pings_sent += 1
                payload = b"surreal-py keepalive %d" % self._pings_sent
                self._out += self._ws.send(Ping(payload=payload))
                self._ping_deadline = now + self._keepalive_timeout

    # ------------------------------------------------------------------ internals

    def _feed(self, data: bytes | None, now: float) -> None:
        failure: Exception | None = None
        try:
            self._ws.receive_data(data)
        except (WsRemoteProtocolError, ValueError) as exc:
            # Only the handshake raises: a response that is not valid HTTP or not a valid
            # upgrade (bad accept token, unknown extension, non-ASCII subprotocol). Events
            # queued before the failure (a refusal's status line) are still read below.
            failure = exc
        self._process_events(now)
        if failure is not None and self._machine.state is not ConnectionState.CLOSED:
            if self._reject_status is not None:
                self._finish_reject()
            else:
                self._terminate(Input.FAIL, 1006, error=HandshakeError(
                    f"invalid answer to the WebSocket upgrade: {failure}"))

    def _process_events(self, now: float) -> None:
        # wsproto's events: the handshake's, and those of the control frames _read_frames
        # hands it (data frames never reach wsproto).
        for event in self._ws.events():
            if isinstance(event, Ping):
                if self._ws.state is WsState.OPEN:  # wsproto cannot pong while closing
                    self._out += self._ws.send(event.response())
            elif isinstance(event, AcceptConnection):
                self._on_accept(event, now)
            elif isinstance(event, RejectConnection):
                self._reject_status = event.status_code
                if not event.has_body:
                    self._finish_reject()
            elif isinstance(event, RejectData):
                room = _MAX_REJECT_BODY - len(self._reject_body)
                self._reject_body += event.data[:room]
                if event.body_finished:
                    self._finish_reject()
            elif isinstance(event, CloseConnection):
                self._on_close_frame(event)
            # Pong: nothing to do, any data already counted as a sign of life.
            if self._machine.state is ConnectionState.CLOSED:
                break

    def _on_accept(self, event: AcceptConnection, now: float) -> None:
        if event.subprotocol != _SUBPROTOCOL:
            # §2.2: without cbor the server would read our binary frames as JSON (2.x/3.x) or
            # bincode (1.x). Give up without a Close frame, as websockets does.
            self._terminate(Input.FAIL, 1006, error=HandshakeError(
                f"the server did not accept the {_SUBPROTOCOL!r} subprotocol"
                f" (it chose {event.subprotocol!r})", status=101))
            return
        self._machine.process(Input.HANDSHAKE_ACCEPTED)
        self._framing = True
        self._last_received = now
        self._events.append(Connected(
            subprotocol=event.subprotocol,
            extensions=tuple(ext.name for ext in event.extensions),
            headers=tuple(event.extra_headers)))
        for request_id, payload in self._queued:
            if self._rpc.is_pending(request_id):  # not abandoned or timed out meanwhile
                self._out += _binary_frame(payload, self._mask_key())
                self._rpc.mark_sent(request_id)
        self._queued.clear()

    def _finish_reject(self) -> None:
        if self._machine.state is ConnectionState.CLOSED:
            return  # already reported
        status = self._reject_status
        body = self._reject_body.decode("utf-8", "replace").strip()
        message = f"the server refused the WebSocket upgrade with HTTP {status}"
        self._terminate(Input.FAIL, 1006, error=HandshakeError(
            f"{message}: {body}" if body else message, status=status))

    def _read_handshake(self, data: bytes, now: float) -> None:
        # wsproto (h11) reads the answer to the upgrade. It gets the bytes up to the end of the
        # response head only: the frames that follow a 101 in the same read are ours.
        rest = b""
        if self._reject_status is None:  # the head has not ended yet
            probe = self._head_tail + data
            match = _END_OF_HEAD.search(probe)
            if match is None:
                self._head_tail = probe[-2:]
            else:
                cut = match.end() - len(self._head_tail)
                data, rest = data[:cut], data[cut:]
        self._feed(data, now)
        if rest:
            if self._framing:
                self._read_frames(rest, now)
            elif self._machine.state is ConnectionState.CONNECTING:
                self._feed(rest, now)  # the body of a refusal

    def _read_frames(self, data: bytes, now: float) -> None:
        # The server's frames (RFC 6455 §5.2) once the connection is open, read here rather
        # than by wsproto: this is the path of every reply, and wsproto's general parser
        # (a generator, frame objects, a buffer class) cost about as much as the rest of a
        # round trip. Data frames end here; a control frame (Close, Ping, Pong) is handed
        # whole to wsproto, which keeps the close handshake's state.
        buf: bytes | bytearray
        if self._inbuf:
            self._inbuf += data
            buf = self._inbuf
        else:
            buf = data
        size = len(buf)
        pos = 0
        while size - pos >= 2:
            try:
                header = _frame_header(buf, pos, size)
            except _BrokenFrame as exc:
                self._broken(*exc.args)
                return
            if header is None:
                break  # wait for the rest of the header
            b0, start, length = header
            opcode = b0 & 0x0F
            if opcode in _CONTROL:
                end = start + length
                if end > size:
                    break
                self._ws.receive_data(bytes(buf[pos:end]))
                self._process_events(now)
                if self._machine.state is ConnectionState.CLOSED:
                    return
                pos = end
                continue
            if not self._data_frame_allowed(opcode, length):
                return
            end = start + length
            if end > size:
                break  # wait for the rest of the payload
            pos = end
            if buf is data:
                payload = data[start:end]
            else:
                with memoryview(buf) as view:  # one copy of a possibly big payload, not two
                    payload = bytes(view[start:end])
            if not b0 & 0x80:  # a fragment: more follow
                if opcode != _CONTINUATION:
                    self._message_opcode = opcode
                self._fragments += payload
                continue
            if self._message_opcode is not None:  # the last fragment
                opcode = self._message_opcode
                self._fragments += payload
                payload = bytes(self._fragments)
                self._fragments = bytearray()
                self._message_opcode = None
            if opcode == _TEXT:  # §2.3: replies come in binary frames; text is accepted too
                try:
                    payload.decode("utf-8")
                except UnicodeDecodeError as exc:
                    self._broken(str(exc), 1007)
                    return
            self._rpc.receive_message(payload, now)
        if buf is self._inbuf:
            del buf[:pos]
        elif pos < size:
            self._inbuf += buf[pos:]

    def _data_frame_allowed(self, opcode: int, length: int) -> bool:
        # A data frame's header is read: fail the connection if it breaks the message order
        # or the size limit. The limit is checked on the declared length, before the payload
        # arrives, so at most one read beyond it is ever held.
        if opcode == _CONTINUATION and self._message_opcode is None:
            self._broken("unexpected CONTINUATION")
            return False
        if opcode != _CONTINUATION and self._message_opcode is not None:
            self._broken(f"expected CONTINUATION, got opcode {opcode:#x}")
            return False
        limit = self._max_message_size
        if limit is not None and len(self._fragments) + length > limit:
            self._fail(1009, "message too big", ConnectionClosedError(
                f"the server sent a message larger than max_message_size ({limit} bytes)",
                code=1009, reason="message too big"))
            return False
        return True

    def _broken(self, reason: str, code: int = 1002) -> None:
        # Broken framing from the server: fail the connection (RFC 6455 §7.1.7).
        self._fail(code, reason,
                   RemoteProtocolError(f"broken WebSocket framing from the server: {reason}"))

    def _on_close_frame(self, event: CloseConnection) -> None:
        code, reason = int(event.code), event.reason or ""
        if self._ws.state in (WsState.OPEN, WsState.LOCAL_CLOSING):
            # wsproto reports a malformed Close frame (ParseFailed) as a CloseConnection event
            # without a state change; a real Close frame always changes its state.
            self._broken(reason, code)
            return
        error: SurrealError | None = None
        if self._ws.state is WsState.REMOTE_CLOSING:
            # The server started the close (e.g. 1013 when overloaded, §2.9): echo it.
            self._out += self._ws.send(event.response())
            error = ConnectionClosedError(
                f"the server closed the connection (code {code}"
                + (f": {reason})" if reason else ")"), code=code, reason=reason)
        self._terminate(Input.RECEIVE_CLOSE, code, reason, error)

    def _fail(self, code: int, reason: str, error: SurrealError) -> None:
        if self._ws.state is WsState.OPEN:
            self._out += self._ws.send(CloseConnection(code=code, reason=reason))
        self._terminate(Input.FAIL, code, reason, error)

    def _drop_outgoing(self) -> None:
        self._queued.clear()
        self._inbuf.clear()
        self._fragments = bytearray()
        self._message_opcode = None
        self._ping_deadline = None
