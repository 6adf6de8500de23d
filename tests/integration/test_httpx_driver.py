"""HttpRequestConnection driven by a real ``httpx.Client`` against the reference server.

The test is the adapter of ``API.md`` §3's ``http_client`` option, in a few lines: it takes
``requests_to_send()``, sends each with the client, and feeds back the reply or the exception.
"""

from __future__ import annotations

import socket
from typing import Any

import httpx
import pytest

from surreal_proto import (
    InvalidAuthError,
    QueryError,
    RecordID,
    SurrealConnectionError,
    ValidationError,
)
from surreal_proto._events import (
    AnyEvent,
    ErrorReceived,
    RequestFailed,
    RequestId,
    ResponseReceived,
)
from surreal_proto._http_requests import HttpRequestConnection
from surreal_proto._results import query_values
from tests.conftest import DbInfo

pytestmark = pytest.mark.integration


class HttpxDriver:
    """The whole adapter: pump requests through the client, collect outcomes by id."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.conn = HttpRequestConnection(default_timeout=30.0)
        self.conn.connect(0.0)
        self.outcomes: dict[RequestId, AnyEvent] = {}
        self.pump()

    def pump(self) -> None:
        for request_id, request in self.conn.requests_to_send():
            try:
                reply = self.client.request(request.method, request.target,
                                            headers=list(request.headers),
                                            content=request.body)
            except httpx.HTTPError as exc:
                self.conn.receive_failure(request_id, exc, 0.0)
            else:
                self.conn.receive_response(request_id, reply.status_code, reply.headers,
                                           reply.content, 0.0)
        for event in self.conn.events():
            if isinstance(event, ResponseReceived | ErrorReceived | RequestFailed):
                self.outcomes[event.request_id] = event

    def call(self, request_id: RequestId) -> Any:
        self.pump()
        event = self.outcomes.pop(request_id)
        if isinstance(event, ResponseReceived):
            return event.result
        assert isinstance(event, ErrorReceived | RequestFailed)
        raise event.error


def test_httpx_client_drives_the_core(surreal_db: DbInfo) -> None:
    server = surreal_db.server
    with httpx.Client(base_url=server.http_url, verify=server.ssl_context() or True,
                      timeout=30.0) as client:
        db = HttpxDriver(client)
        conn = db.conn
        db.call(conn.signin({"user": server.user, "pass": server.password}, now=0.0))
        assert conn.context.token is not None  # adopted: later requests carry the Bearer
        assert db.call(conn.use(surreal_db.namespace, surreal_db.database, now=0.0)) == {
            "namespace": surreal_db.namespace, "database": surreal_db.database}
        db.call(conn.let("n", 6, now=0.0))
        sql = "CREATE person:ada SET name = $name RETURN VALUE name; RETURN $n * 7"
        raw = db.call(conn.query(sql, {"name": "Ada"}, now=0.0))
        assert query_values(raw) == [["Ada"], 42]

        # Two requests in flight at once, sent and answered in reverse order.
        first = conn.select("person", now=0.0)
        second = conn.query("RETURN $n", now=0.0)
        taken = conn.requests_to_send()
        assert [request_id for request_id, _ in taken] == [first, second]
        assert conn.in_flight == 2
        for request_id, request in reversed(taken):
            reply = client.request(request.method, request.target,
                                   headers=list(request.headers), content=request.body)
            conn.receive_response(request_id, reply.status_code, reply.headers, reply.content,
                                  0.0)
        db.pump()
        assert db.call(first) == [{"id": RecordID("person", "ada"), "name": "Ada"}]
        assert query_values(db.call(second)) == [6]

        # /health and /version.
        assert db.call(conn.send_health(now=0.0)) is True
        text = db.call(conn.send_http_version(now=0.0))
        assert isinstance(text, str)
        assert text.startswith("surrealdb-")
        assert conn.server_version is not None
        assert conn.server_version >= (2, 0, 0)

        # Errors: an RPC error (a parse error), a failed statement, and a bad token, which
        # the server refuses with HTTP 401 and which is not adopted.
        with pytest.raises(ValidationError, match="Parse error"):
            db.call(conn.query("SELECT * FROM WHERE ((", now=0.0))
        with pytest.raises(QueryError):
            query_values(db.call(conn.query("THROW 'boom'", now=0.0)))
        token = conn.context.token
        with pytest.raises(InvalidAuthError, match="HTTP 401"):
            db.call(conn.authenticate("not.a.token", now=0.0))
        assert conn.context.token == token
        assert query_values(db.call(conn.query("RETURN $n", now=0.0))) == [6]

    # A server that is not there: the client's ConnectError becomes a typed error.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free, and nobody listens once the probe is closed
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5.0) as client:
        db = HttpxDriver(client)
        with pytest.raises(SurrealConnectionError) as refused:
            db.call(db.conn.ping(now=0.0))
        assert isinstance(refused.value.__cause__, httpx.ConnectError)
