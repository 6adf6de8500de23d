"""A misbehaving server: nothing crashes the reader, every oddity is logged.

``tests/proto/test_rpc_classify.py`` and ``test_ws_rpc.py`` check the events for most of
these (unknown ids, a late reply to an abandoned request, bad notifications, id-less errors);
``test_errors.py`` the error objects of the wrong shape; ``test_http_functions.py`` a JSON
200. What this file adds: the log record each of them leaves (core, ``surreal_proto.*``
loggers; adapters, their own logger at WARNING), a duplicate reply to an answered request,
and the same sequence of oddities from a server on a real socket to a client of each
adapter, whose call still gets its real answer.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from uuid import UUID

import cbor2
import pytest

from surreal_proto import InternalError, RemoteProtocolError, ServerError
from surreal_proto._events import (
    ErrorReceived,
    ProtocolViolation,
    RequestFailed,
    ResponseReceived,
)
from surreal_proto._http_connection import HttpConnection
from surreal_proto._http_context import HttpContext
from tests.proto.helpers import ClientServerPair, FakeSurrealPeer
from tests.proto.http_peer import response_bytes

from .adapters import Kit, run

UNKNOWN_LIVE = UUID("018e3e5c-0000-7000-8000-0000000000ff")


def opened() -> ClientServerPair:
    pair = ClientServerPair(keepalive_interval=None)
    pair.open()
    return pair


def logged(caplog: pytest.LogCaptureFixture, text: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records
            if r.name.startswith("surreal_") and text in r.getMessage()]


# --------------------------------------------------------------------------- core


def test_unknown_id_is_a_logged_violation(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    pair = opened()
    request_id = pair.call("ping")
    events = pair.deliver(pair.server.reply(4242, "stray") + pair.server.reply(request_id, 1))
    assert [type(e) for e in events] == [ProtocolViolation, ResponseReceived]
    assert logged(caplog, "unknown request id 4242")


def test_duplicate_reply_is_a_logged_violation(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    pair = opened()
    first = pair.call("ping")
    second = pair.call("ping")
    events = pair.deliver(pair.server.reply(first, "once") + pair.server.reply(first, "twice")
                          + pair.server.reply(second, "next"))
    assert [type(e) for e in events] == [ResponseReceived, ProtocolViolation, ResponseReceived]
    assert [e.result for e in events if isinstance(e, ResponseReceived)] == ["once", "next"]
    assert logged(caplog, f"unknown request id {first}")


def test_reply_to_an_abandoned_request_is_dropped_and_logged(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    pair = opened()
    request_id = pair.call("query", "SLEEP 1s")
    pair.client.abandon(request_id)  # the caller was cancelled, or its deadline passed
    assert pair.deliver(pair.server.reply(request_id, [])) == []
    assert logged(caplog, "abandoned")
    assert pair.client.pending_count == 0


def test_notification_for_an_unknown_live_query_is_dropped_and_logged(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    pair = opened()
    request_id = pair.call("ping")
    # Held for a while first: it may have overtaken the live() reply that names it (§8.3).
    events = pair.deliver(pair.server.notify(UNKNOWN_LIVE, "CREATE", result={"a": 1})
                          + pair.server.reply(request_id, None))
    assert [type(e) for e in events] == [ResponseReceived]
    pair.client.handle_timeout(1000.0)
    assert pair.client.events() == []
    (record,) = logged(caplog, "unknown live query")
    assert record.levelno == logging.WARNING
    assert str(UNKNOWN_LIVE) in record.getMessage()


@pytest.mark.parametrize("error", [None, "text", 5, ["a"], {"code": "x", "message": 7}])
def test_error_object_of_the_wrong_shape(error: object) -> None:
    pair = opened()
    request_id = pair.call("ping")
    events = pair.deliver(pair.server.message({"error": error, "id": request_id}))
    (outcome,) = events
    assert isinstance(outcome, ErrorReceived)
    assert isinstance(outcome.error, ServerError)
    if not isinstance(error, dict):
        assert isinstance(outcome.error, InternalError)


@pytest.mark.parametrize(("body", "ctype"), [
    (b"<html>502 Bad Gateway</html>", "text/html"),
    (b'{"result": 1}', "application/json"),
    (b"\xff\xff\xff", "application/cbor"),
    (b"", "application/cbor"),
])
def test_http_200_that_is_not_cbor_fails_that_request_only(body: bytes, ctype: str) -> None:
    client = HttpConnection("h", context=HttpContext(namespace="n"))
    client.connect(0.0)
    first = client.ping(timeout=None, now=0.0)
    second = client.ping(timeout=None, now=0.0)
    client.data_to_send()
    client.receive_data(response_bytes(200, body, content_type=ctype), 1.0)
    client.data_to_send()
    client.receive_data(response_bytes(200, cbor2.dumps({"result": "ok"}),
                                       content_type="application/cbor"), 1.0)
    outcomes = {e.request_id: e for e in client.events()
                if isinstance(e, RequestFailed | ResponseReceived)}
    bad = outcomes[first]  # the caller gets the error: nothing silent to log
    assert isinstance(bad, RequestFailed)
    assert isinstance(bad.error, RemoteProtocolError)
    good = outcomes[second]
    assert isinstance(good, ResponseReceived)
    assert good.result == "ok"


# --------------------------------------------------------------------------- adapters


class OddServer:
    """A WebSocket server on a real socket that answers each request only after a string
    of oddities: a reply with an unknown id, undecodable CBOR, a list instead of a map, a
    notification for a live query nobody started, an id-less error, then the real reply,
    then a duplicate of it."""

    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.1)
        self.port: int = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(0.2)
                self._talk(conn)

    def _talk(self, conn: socket.socket) -> None:
        peer = FakeSurrealPeer()
        answered = 0
        while not self._stop.is_set():
            try:
                data = conn.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            if not data:
                return
            peer.receive(data)
            out = peer.take()
            if peer.handshake is not None and answered == 0 and not getattr(self, "_up", 0):
                out += peer.accept()
                self._up = 1
            for request in peer.requests[answered:]:
                answered += 1
                rid = request["id"]
                result = {"version": "surrealdb-3.0.2",
                          "query": [{"result": "real", "status": "OK", "time": "1µs"}],
                          }.get(request["method"])
                out += (peer.reply(987654, "stray") + peer.raw(b"\xff\xfe")
                        + peer.message([1, 2]) + peer.notify(UNKNOWN_LIVE, "CREATE")
                        + peer.message({"error": {"code": -1, "message": "odd"}})
                        + peer.reply(rid, result) + peer.reply(rid, "duplicate"))
            try:
                conn.sendall(out)
            except OSError:
                return

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._sock.close()


@pytest.fixture
def odd_server() -> Iterator[OddServer]:
    server = OddServer()
    try:
        yield server
    finally:
        server.close()


def test_adapters_survive_a_misbehaving_server_and_log_it(
        adapter: str, odd_server: OddServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    async def scenario(kit: Kit) -> list[object]:
        async with kit.open(f"ws://127.0.0.1:{odd_server.port}", reconnect=False,
                            timeout=5.0) as db:
            return [await db.query("RETURN 1"), await db.ping(), await db.version()]

    assert run(adapter, scenario) == [["real"], None, "surrealdb-3.0.2"]
    mine = [r for r in caplog.records if r.name.startswith(f"surreal_{adapter}")
            and r.levelno == logging.WARNING]
    text = "\n".join(r.getMessage() for r in mine)
    for oddity in ("unknown request id 987654", "undecodable CBOR", "not a map",
                   "error for no request", "unknown request id"):
        assert oddity in text, text
