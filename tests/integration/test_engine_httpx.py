"""ClientEngine with ``http_client=True`` driven by a real ``httpx.Client`` against the
reference server.

The driver below is the ``httpx`` branch of the adapter loop in the ``surreal_proto._client``
module docstring, with a worker thread per request: every request the engine hands out runs
concurrently, and its reply (or the client's exception) is fed back on the engine's thread.
"""

from __future__ import annotations

import socket
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

import httpx
import pytest

from surreal_proto import (
    QueryError,
    SurrealConnectionError,
    SurrealError,
    SurrealTimeoutError,
)
from surreal_proto import _calls as c
from surreal_proto._client import ClientEngine
from surreal_proto._client_events import (
    CallFailed,
    CallSucceeded,
    CancelHttpRequest,
    ClientState,
    CloseLink,
    OpenLink,
)
from surreal_proto._events import RequestId
from tests.conftest import DbInfo

pytestmark = pytest.mark.integration


class HttpxEngineDriver:
    """The adapter: the engine on this thread, the HTTP exchanges on worker threads."""

    def __init__(self, url: str, client: httpx.Client, **options: Any) -> None:
        self.engine = ClientEngine(url, http_client=True, **options)
        self.client = client
        self.workers = ThreadPoolExecutor(max_workers=8)
        self.base_urls: dict[int, str] = {}
        self.in_flight: dict[Future[httpx.Response], tuple[int, RequestId]] = {}
        self.outcomes: dict[int, Any] = {}
        self.cancelled: list[CancelHttpRequest] = []
        self.closed: list[int] = []
        self.most_in_flight = 0

    def flush(self) -> None:
        engine = self.engine
        while True:
            for link_id, base_url in self.base_urls.items():
                for request_id, req in engine.http_requests_to_send(link_id):
                    future = self.workers.submit(self.client.request, req.method,
                                                 base_url + req.target,
                                                 headers=list(req.headers), content=req.body)
                    self.in_flight[future] = (link_id, request_id)
            self.most_in_flight = max(self.most_in_flight, len(self.in_flight))
            events = engine.events()
            if not events:
                return
            for event in events:
                if isinstance(event, OpenLink):
                    assert event.transport == "httpx"
                    assert event.base_url is not None
                    self.base_urls[event.link_id] = event.base_url
                    engine.link_opened(event.link_id, now=time.monotonic())
                elif isinstance(event, CloseLink):
                    self.closed.append(event.link_id)
                    self.base_urls.pop(event.link_id, None)
                    for future, (link_id, _) in list(self.in_flight.items()):
                        if link_id == event.link_id:
                            future.cancel()
                            del self.in_flight[future]
                elif isinstance(event, CancelHttpRequest):
                    self.cancelled.append(event)
                    for future, key in list(self.in_flight.items()):
                        if key == (event.link_id, event.request_id):
                            future.cancel()  # a running one finishes; it is not fed back
                            del self.in_flight[future]
                elif isinstance(event, CallSucceeded):
                    self.outcomes[event.call_id] = event.value
                elif isinstance(event, CallFailed):
                    self.outcomes[event.call_id] = event.error

    def run(self, *call_ids: int) -> None:
        """Run the loop until every call finished: feed replies, fire the timer."""
        self.flush()
        while not all(call_id in self.outcomes for call_id in call_ids):
            deadline = self.engine.next_deadline()
            assert self.in_flight or deadline is not None, "nothing can finish the calls"
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            done, _ = wait(list(self.in_flight), timeout=timeout, return_when=FIRST_COMPLETED)
            now = time.monotonic()
            if not done:
                self.engine.handle_timeout(now)
            for future in done:
                link_id, request_id = self.in_flight.pop(future)
                try:
                    reply = future.result()
                except httpx.HTTPError as exc:
                    self.engine.receive_http_failure(link_id, request_id, exc, now=now)
                else:
                    self.engine.receive_http_response(link_id, request_id, reply.status_code,
                                                      reply.headers, reply.content, now=now)
            self.flush()

    def start(self, call: c.Call, **options: Any) -> int:
        call_id = self.engine.start(call, now=time.monotonic(), **options)
        self.flush()
        return call_id

    def call(self, call: c.Call, **options: Any) -> Any:
        call_id = self.start(call, **options)
        self.run(call_id)
        outcome = self.outcomes.pop(call_id)
        if isinstance(outcome, SurrealError):
            raise outcome
        return outcome

    def state(self) -> ClientState:
        """The engine's state, read through a call so type checkers do not narrow it."""
        return self.engine.state

    def close(self) -> None:
        call_id = self.engine.close(now=time.monotonic())
        self.run(call_id)
        self.workers.shutdown(wait=True)


def client_for(db: DbInfo) -> httpx.Client:
    return httpx.Client(verify=db.server.ssl_context() or True, timeout=30.0)


def driver(db: DbInfo, client: httpx.Client, **options: Any) -> HttpxEngineDriver:
    server = db.server
    return HttpxEngineDriver(server.http_url, client, namespace=db.namespace,
                             database=db.database,
                             auth={"username": server.user, "password": server.password},
                             **options)


def test_engine_over_httpx(surreal_db: DbInfo) -> None:
    with client_for(surreal_db) as client:
        db = driver(surreal_db, client)
        try:
            assert db.call(c.connect()) is None
            assert db.state() is ClientState.OPEN
            assert db.engine.server_version is not None
            assert len(db.base_urls) == 1
            db.call(c.create("person:ada", {"name": "Ada"}))
            db.call(c.let("n", 6))
            assert db.call(c.query("RETURN $n * 7")) == [42]
            # Many calls at once: all in flight together on the one link.
            ids = [db.start(c.query(f"SLEEP 100ms; RETURN {i}")) for i in range(6)]
            db.run(*ids)
            assert [db.outcomes.pop(i) for i in ids] == [[None, i] for i in range(6)]
            assert db.most_in_flight >= 6
            with pytest.raises(QueryError):
                db.call(c.query("THROW 'boom'"))
            assert db.call(c.health()) is True
            assert db.call(c.version()).startswith("surrealdb-")
            assert db.call(c.import_("CREATE person:bob SET name = 'Bob';")) is None
            names = db.call(c.query("SELECT VALUE name FROM person ORDER BY name"))
            assert names == [["Ada", "Bob"]]
            assert "person" in db.call(c.export())
            assert len(db.closed) == 0  # one link carried everything
        finally:
            db.close()
        assert db.state() is ClientState.CLOSED
        assert len(db.closed) == 1
        assert db.in_flight == {}


def test_timeout_cancels_the_request_and_the_link_goes_on(surreal_db: DbInfo) -> None:
    with client_for(surreal_db) as client:
        db = driver(surreal_db, client)
        try:
            db.call(c.connect())
            started = time.monotonic()
            with pytest.raises(SurrealTimeoutError):
                db.call(c.query("SLEEP 1s; RETURN 1"), timeout=0.2)
            assert time.monotonic() - started < 0.9
            assert len(db.cancelled) == 1
            assert db.call(c.query("RETURN 2")) == [2]
        finally:
            db.close()


def test_unreachable_server_fails_connect() -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with httpx.Client(timeout=5.0) as client:
        db = HttpxEngineDriver(f"http://127.0.0.1:{port}", client)
        with pytest.raises(SurrealConnectionError) as info:
            db.call(c.connect())
        assert isinstance(info.value.__cause__, httpx.ConnectError)
        assert db.state() is ClientState.IDLE
        db.close()
