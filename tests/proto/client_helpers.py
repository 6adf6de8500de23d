"""A test adapter for :class:`~surreal_proto._client.ClientEngine`: it plays the adapter loop
in memory, against the fake WebSocket peer, the fake HTTP peer, or the real embedded engine;
for ``http_client=True`` it plays the HTTP client, answering with the fake HTTP peer's replies
parsed into ``(status, headers, body)``.

Nothing is mocked inside the engine: it only ever sees bytes (or embedded or HTTP-client
replies), explicit ``now`` floats and the adapter callbacks an adapter would make.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from uuid import UUID

import cbor2

from surreal_proto._calls import Call
from surreal_proto._client import ClientEngine
from surreal_proto._client_events import (
    CallFailed,
    CallSucceeded,
    ClientEvent,
    ClientState,
    CloseLink,
    OpenLink,
    PrepareNeeded,
    ProviderNeeded,
)
from surreal_proto._errors import SurrealError
from surreal_proto._events import RequestId
from surreal_proto._http import HttpRequest
from tests.proto.helpers import NONE, FakeSurrealPeer
from tests.proto.http_peer import HttpPeer, ReceivedRequest, read_response

#: 3.x error objects (protocol.md §6.2).
SESSION_EXPIRED = {"code": -32000, "kind": "NotAllowed", "message": "The session has expired",
                   "details": {"kind": "Auth", "details": {"kind": "SessionExpired"}}}
INVALID_AUTH = {"code": -32002, "kind": "NotAllowed", "message": "There was a problem with "
                "authentication", "details": {"kind": "Auth", "details": {"kind": "InvalidAuth"}}}
NOT_FOUND = {"code": -32000, "kind": "NotFound", "message": "The table 'x' does not exist"}
NOW = 1_000.0
VERSION = "surrealdb-3.2.4"

_PENDING = object()

#: A complete HTTP reply as an HTTP client returns it: ``(status, headers, body)``.
Reply = tuple[int, list[tuple[bytes, bytes]], bytes]


def http_reply(make: Callable[[HttpPeer], bytes]) -> Reply:
    """The reply the fake HTTP peer writes with ``make(peer)`` (``peer.rpc_result(1)``,
    ``peer.plain(401, ...)``), parsed as an HTTP client would."""
    peer = HttpPeer()
    peer.receive(b"POST /rpc HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n")
    return read_response(make(peer))


def rpc_ok(result: Any = NONE) -> Reply:
    """``200`` with the CBOR ``{result}`` of an RPC reply."""
    return http_reply(lambda peer: peer.rpc_result(result))


def _httpx_name(request: HttpRequest) -> str:
    # The RPC method of a /rpc request, else its path (``"/health"``).
    if request.target.endswith("/rpc"):
        method: str = cbor2.loads(request.body)["method"]
        return method
    return request.target


class Harness:
    """Drives one engine like an adapter would; tests answer the fake server explicitly."""

    def __init__(self, url: str = "ws://localhost:8000", *, auto_version: str | None = VERSION,
                 auto_open: bool = True, auto_accept: bool = True, **options: Any) -> None:
        options.setdefault("learn_session_expiry", False)
        self.engine = ClientEngine(url, **options)
        self.now = NOW
        self.auto_version = auto_version
        self.auto_open = auto_open
        self.auto_accept = auto_accept
        #: WebSocket peers by link id.
        self.ws: dict[int, FakeSurrealPeer] = {}
        #: HTTP peers by link id, and the requests they received (answered or not).
        self.http: dict[int, HttpPeer] = {}
        self.http_requests: dict[int, list[ReceivedRequest]] = {}
        #: The embedded engines by link id.
        self.embedded: dict[int, Any] = {}
        #: httpx links: their base URL, and the requests handed out and not answered yet.
        self.httpx: dict[int, str] = {}
        self.httpx_pending: dict[int, dict[RequestId, HttpRequest]] = {}
        self.answered: set[tuple[int, Any]] = set()
        self.outcomes: dict[int, Any] = {}
        self.events: list[ClientEvent] = []
        self.opened: list[OpenLink] = []
        self.closed: list[int] = []
        self.providers: list[ProviderNeeded] = []
        self.prepares: list[PrepareNeeded] = []

    # ------------------------------------------------------------------ the loop

    def flush(self) -> None:
        """What an adapter does after every engine call (bytes, then events)."""
        engine = self.engine
        while True:
            moved = False
            for link_id, peer in list(self.ws.items()):
                data = engine.data_to_send(link_id)
                if data:
                    moved = True
                    peer.receive(data)
                back = peer.take()  # the peer's own answers: pongs, the Close echo
                if back:
                    moved = True
                    engine.receive_data(link_id, back, now=self.now)
            for link_id, hpeer in list(self.http.items()):
                data = engine.data_to_send(link_id)
                if data:
                    moved = True
                    self.http_requests[link_id] += hpeer.receive(data)
            for link_id, db in list(self.embedded.items()):
                for message in engine.messages_to_send(link_id):
                    moved = True
                    try:
                        reply = db.execute(message.data)
                    except Exception as exc:
                        engine.receive_failure(link_id, message.request_id, exc, now=self.now)
                    else:
                        engine.receive_message(link_id, reply, now=self.now,
                                               request_id=message.request_id)
            for link_id in list(self.httpx):
                for request_id, request in engine.http_requests_to_send(link_id):
                    moved = True
                    self.httpx_pending[link_id][request_id] = request
            for event in engine.events():
                moved = True
                self._on_event(event)
            if self._auto_version():
                moved = True
            if not moved:
                return

    def _on_event(self, event: ClientEvent) -> None:
        if isinstance(event, CallSucceeded):
            self.outcomes[event.call_id] = event.value
        elif isinstance(event, CallFailed):
            self.outcomes[event.call_id] = event.error
        elif isinstance(event, OpenLink):
            self.opened.append(event)
            if self.auto_open:
                self.open(event.link_id)
        elif isinstance(event, CloseLink):
            self.closed.append(event.link_id)
            data = self.engine.data_to_send(event.link_id)
            if event.link_id in self.ws and data:
                self.ws[event.link_id].receive(data)
            self.ws.pop(event.link_id, None)
            self.http.pop(event.link_id, None)
            self.httpx.pop(event.link_id, None)
            db = self.embedded.pop(event.link_id, None)
            if db is not None:
                db.close()
        else:
            if isinstance(event, ProviderNeeded):
                self.providers.append(event)
            elif isinstance(event, PrepareNeeded):
                self.prepares.append(event)
            self.events.append(event)

    def _auto_version(self) -> bool:
        if self.auto_version is None:
            return False
        for link_id, peer in list(self.ws.items()):
            for req in peer.requests:
                if req["method"] == "version" and (link_id, req["id"]) not in self.answered:
                    self.reply(req["id"], self.auto_version, link=link_id)
                    return True
        for link_id, reqs in list(self.http_requests.items()):
            for index, hreq in enumerate(reqs):
                if ((link_id, index) not in self.answered and hreq.target.endswith("/rpc")
                        and hreq.envelope()["method"] == "version"):
                    self.http_reply(self.auto_version, link=link_id)
                    return True
        if "version" in self.httpx_methods():
            self.httpx_answer("version", self.auto_version)
            return True
        return False

    # ------------------------------------------------------------------ links

    def open(self, link_id: int | None = None) -> int:
        """The adapter opened the link (TCP/TLS up, or the embedded engine created)."""
        event = self._link_event(link_id)
        if event.transport == "ws":
            self.ws[event.link_id] = FakeSurrealPeer()
        elif event.transport == "http":
            self.http[event.link_id] = HttpPeer()
            self.http_requests[event.link_id] = []
        elif event.transport == "httpx":
            assert event.base_url is not None
            self.httpx[event.link_id] = event.base_url
            self.httpx_pending[event.link_id] = {}
        else:
            import surrealdb_embedded

            assert event.embedded_url is not None
            self.embedded[event.link_id] = surrealdb_embedded.SyncEmbeddedDB(
                event.embedded_url)
        self.engine.link_opened(event.link_id, now=self.now)
        self.flush()
        if event.transport == "ws" and self.auto_accept:
            self.accept(event.link_id)
        return event.link_id

    def _link_event(self, link_id: int | None) -> OpenLink:
        if link_id is None:
            return self.opened[-1]
        return next(e for e in self.opened if e.link_id == link_id)

    @property
    def link(self) -> int:
        """The last link opened."""
        return self.opened[-1].link_id

    def accept(self, link: int | None = None) -> None:
        """The server accepts the WebSocket upgrade."""
        link = self.link if link is None else link
        self.feed(self.ws[link].accept(), link=link)

    def feed(self, data: bytes, *, link: int | None = None) -> None:
        link = self.link if link is None else link
        self.engine.receive_data(link, data, now=self.now)
        self.flush()

    def eof(self, link: int | None = None) -> None:
        self.engine.receive_eof(self.link if link is None else link, now=self.now)
        self.flush()

    def fail_link(self, exc: BaseException, link: int | None = None) -> None:
        self.engine.link_failed(self.link if link is None else link, exc, now=self.now)
        self.flush()

    # ------------------------------------------------------------------ time

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.engine.handle_timeout(self.now)
        self.flush()

    def run_timers(self, until: float) -> None:
        """Fire every deadline up to ``until``, in order."""
        while True:
            deadline = self.engine.next_deadline()
            if deadline is None or deadline > until:
                break
            self.now = max(self.now, deadline)
            self.engine.handle_timeout(self.now)
            self.flush()
        self.now = max(self.now, until)

    # ------------------------------------------------------------------ calls

    def start(self, call: Call, **options: Any) -> int:
        call_id = self.engine.start(call, now=self.now, **options)
        self.flush()
        return call_id

    def result(self, call_id: int) -> Any:
        """The value a finished call returned (fails if it failed or is pending)."""
        outcome = self.outcomes.get(call_id, _PENDING)
        assert outcome is not _PENDING, f"call {call_id} has no outcome yet"
        assert not isinstance(outcome, SurrealError), repr(outcome)
        return outcome

    def error(self, call_id: int) -> SurrealError:
        outcome = self.outcomes.get(call_id, _PENDING)
        assert isinstance(outcome, SurrealError), f"call {call_id}: {outcome!r}"
        return outcome

    def state(self) -> ClientState:
        """The engine's state, read through a call so type checkers do not narrow it."""
        return self.engine.state

    def done(self, call_id: int) -> bool:
        return call_id in self.outcomes

    def of_type(self, cls: type[Any]) -> list[Any]:
        """The notices of one event class, in order."""
        return [e for e in self.events if isinstance(e, cls)]

    # ------------------------------------------------------------------ the WebSocket server

    def requests(self, link: int | None = None, *, pending: bool = True) -> list[dict[str, Any]]:
        """Requests the WebSocket server received (by default: not answered yet)."""
        link = self.link if link is None else link
        return [r for r in self.ws[link].requests
                if not pending or (link, r["id"]) not in self.answered]

    def methods(self, link: int | None = None, *, pending: bool = True) -> list[str]:
        return [r["method"] for r in self.requests(link, pending=pending)]

    def request(self, method: str, link: int | None = None) -> dict[str, Any]:
        """The first unanswered request for ``method``."""
        return next(r for r in self.requests(link) if r["method"] == method)

    def reply(self, request_id: Any, result: Any = NONE, *, link: int | None = None,
              session: UUID | None = None) -> None:
        link = self.link if link is None else link
        self.answered.add((link, request_id))
        self.feed(self.ws[link].reply(request_id, result, session=session), link=link)

    def answer(self, method: str, result: Any = NONE, *,
               link: int | None = None) -> dict[str, Any]:
        """Reply to the first unanswered request for ``method``; return the request."""
        req = self.request(method, link)
        self.reply(req["id"], result, link=link)
        return req

    def refuse(self, method: str, error: Mapping[str, Any], *,
               link: int | None = None) -> dict[str, Any]:
        """Answer the first unanswered ``method`` request with an error object."""
        link = self.link if link is None else link
        req = self.request(method, link)
        self.answered.add((link, req["id"]))
        self.feed(self.ws[link].error(req["id"], error), link=link)
        return req

    def notify(self, live_id: UUID, action: str, record: Any = NONE, result: Any = NONE, *,
               link: int | None = None) -> None:
        link = self.link if link is None else link
        self.feed(self.ws[link].notify(live_id, action, record, result), link=link)

    # ------------------------------------------------------------------ the HTTP server

    def http_pending(self, link: int | None = None) -> list[ReceivedRequest]:
        link = self.link if link is None else link
        return [r for i, r in enumerate(self.http_requests[link])
                if (link, i) not in self.answered]

    def _http_next(self, link: int) -> int:
        return next(i for i in range(len(self.http_requests[link]))
                    if (link, i) not in self.answered)

    def http_reply(self, result: Any = NONE, *, link: int | None = None) -> None:
        link = self.link if link is None else link
        self.answered.add((link, self._http_next(link)))
        self.feed(self.http[link].rpc_result(result), link=link)

    def http_find(self, method: str) -> tuple[int, ReceivedRequest]:
        """The first unanswered HTTP request for an RPC ``method`` (or an endpoint path like
        ``"/health"``), on any link: ``(link, request)``."""
        for link_id, reqs in self.http_requests.items():
            if link_id not in self.http:
                continue
            for index, req in enumerate(reqs):
                if (link_id, index) in self.answered:
                    continue
                name = (req.envelope()["method"] if req.target.endswith("/rpc")
                        else req.target)
                if name == method:
                    return link_id, req
        raise AssertionError(f"no pending HTTP request for {method}")

    def http_methods(self) -> list[str]:
        """The unanswered HTTP requests on every open link (RPC method or path)."""
        names = []
        for link_id, reqs in self.http_requests.items():
            for index, req in enumerate(reqs):
                if link_id in self.http and (link_id, index) not in self.answered:
                    names.append(req.envelope()["method"] if req.target.endswith("/rpc")
                                 else req.target)
        return names

    def http_answer(self, method: str, result: Any = NONE) -> ReceivedRequest:
        """Reply ``{result}`` to the pending request for ``method``; return the request."""
        link, req = self.http_find(method)
        self.http_reply(result, link=link)
        return req

    def http_raw(self, make: Any, *, link: int | None = None) -> None:
        """Answer the next HTTP request with the bytes ``make(peer)`` returns."""
        link = self.link if link is None else link
        self.answered.add((link, self._http_next(link)))
        self.feed(make(self.http[link]), link=link)

    # ------------------------------------------------------------------ the HTTP client

    def httpx_methods(self) -> list[str]:
        """The requests handed out on open httpx links and not answered yet, in order."""
        return [_httpx_name(req) for link_id, reqs in self.httpx_pending.items()
                if link_id in self.httpx for req in reqs.values()]

    def httpx_find(self, method: str) -> tuple[int, RequestId, HttpRequest]:
        """The first unanswered request for an RPC method or a path: ``(link, id, request)``."""
        for link_id, reqs in self.httpx_pending.items():
            for request_id, req in reqs.items():
                if link_id in self.httpx and _httpx_name(req) == method:
                    return link_id, request_id, req
        raise AssertionError(f"no pending httpx request for {method}")

    def httpx_respond(self, method: str, reply: Reply) -> HttpRequest:
        """Answer the pending ``method`` request with ``(status, headers, body)``."""
        link_id, request_id, req = self.httpx_find(method)
        del self.httpx_pending[link_id][request_id]
        status, headers, body = reply
        self.engine.receive_http_response(link_id, request_id, status, headers, body,
                                          now=self.now)
        self.flush()
        return req

    def httpx_answer(self, method: str, result: Any = NONE) -> HttpRequest:
        """Answer the pending ``method`` RPC request with ``{result}``."""
        return self.httpx_respond(method, rpc_ok(result))

    def httpx_fail(self, method: str, exc: Exception) -> HttpRequest:
        """The HTTP client raised ``exc`` for the pending ``method`` request."""
        link_id, request_id, req = self.httpx_find(method)
        del self.httpx_pending[link_id][request_id]
        self.engine.receive_http_failure(link_id, request_id, exc, now=self.now)
        self.flush()
        return req


def ok(value: Any, type_: str | None = None) -> dict[str, Any]:
    """One statement result of a ``query`` reply (protocol.md §6.5)."""
    item: dict[str, Any] = {"result": value, "status": "OK", "time": "1µs"}
    if type_ is not None:
        item["type"] = type_
    return item


def err(message: str, kind: str = "Thrown") -> dict[str, Any]:
    return {"kind": kind, "result": message, "status": "ERR", "time": "1µs"}

