"""The reference server speaks the protocol of ``surreal start`` (real bytes, real engine).

Every test here talks to the server through :mod:`tests.rawws` (raw CBOR over WebSocket, or
``http.client``), so these tests also run unchanged against a real server with
``SURREAL_TEST_URL`` (except the ones that start their own reference server).
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect
from websockets.typing import Subprotocol

from tests._server import ReferenceServer
from tests.conftest import DbInfo, ServerInfo
from tests.rawws import RawHttp, RawWs, RpcError, basic_auth, bearer_auth

pytestmark = pytest.mark.integration

needs_reference = pytest.mark.skipif(
    bool(os.environ.get("SURREAL_TEST_URL")), reason="starts its own reference server"
)

ANONYMOUS_ERROR = {
    "code": -32002,
    "kind": "NotAllowed",
    "message": "Anonymous access not allowed: Not enough permissions to perform this action",
    "details": {
        "kind": "Auth",
        "details": {
            "kind": "NotAllowed",
            "details": {"actor": "anonymous", "action": "process", "resource": "query"},
        },
    },
}


def ws_for(server: ServerInfo, **kwargs: Any) -> RawWs:
    return RawWs(server.ws_url, ssl_context=server.ssl_context(), **kwargs)


def root_ws(db: DbInfo) -> RawWs:
    """A connection signed in as root, using the test's namespace/database."""
    ws = ws_for(db.server)
    ws.signin_root(db.server.user, db.server.password)
    ws.use(db.namespace, db.database)
    return ws


def without_cause(error: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in error.items() if k != "cause"}


def first_result(statements: Any) -> Any:
    assert isinstance(statements, list), statements
    assert statements[0]["status"] == "OK", statements
    return statements[0]["result"]


def wait_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.monotonic()))


# -- basics ------------------------------------------------------------------------------------


def test_version_ping_and_ids(surreal_server: ServerInfo) -> None:
    with ws_for(surreal_server) as ws:
        assert ws.subprotocol == "cbor"
        version = ws.ok("version")
        assert isinstance(version, str)
        assert version.startswith("surrealdb-3."), version
        reply = ws.call("ping", id="a-string-id")
        assert reply["id"] == "a-string-id"
        assert "error" not in reply
        # No id in the request: no id in the reply (§2.5).
        ws.send({"method": "ping"})
        other = ws.recv_other()
        assert "id" not in other
        assert "error" not in other
        # An unknown method is an error with the request's id.
        reply = ws.call("Ping")
        assert reply["error"]["code"] == -32601
        assert reply["error"]["kind"] == "NotFound"
        # Bytes that are not CBOR: Parse error, no id.
        ws.send_raw(b"\xff\x00")
        other = ws.recv_other()
        assert other["error"]["code"] == -32700


def test_root_signin_and_query(surreal_db: DbInfo) -> None:
    server = surreal_db.server
    with ws_for(server) as ws:
        token = ws.signin_root(server.user, server.password)
        assert isinstance(token, str)
        assert token.count(".") == 2
        assert ws.use(surreal_db.namespace, surreal_db.database) == {
            "namespace": surreal_db.namespace,
            "database": surreal_db.database,
        }
        ws.query("CREATE person:one SET name = $name, score = 1.5", {"name": "Ada"})
        rows = first_result(ws.query("SELECT name, score FROM person"))
        assert rows == [{"name": "Ada", "score": 1.5}]


def test_anonymous_access_is_refused(surreal_db: DbInfo) -> None:
    server = surreal_db.server
    with ws_for(server) as ws:
        ws.use(surreal_db.namespace, surreal_db.database)  # allowed to guests
        refused: list[tuple[str, list[Any]]] = [
            ("query", ["RETURN 1"]),
            ("select", ["person"]),
            ("create", ["person", {"name": "x"}]),
        ]
        for method, params in refused:
            reply = ws.call(method, params)
            assert without_cause(reply["error"]) == ANONYMOUS_ERROR, (method, reply)
        # Signing in lifts it; invalidate makes the session anonymous again.
        ws.signin_root(server.user, server.password)
        assert first_result(ws.query("RETURN 1")) == 1
        ws.ok("invalidate")
        assert without_cause(ws.call("query", ["RETURN 1"])["error"]) == ANONYMOUS_ERROR
    with RawHttp(server.http_url, ssl_context=server.ssl_context()) as http:
        response = http.rpc("query", ["RETURN 1"])
        assert response.status == 200
        assert without_cause(response.cbor()["error"]) == ANONYMOUS_ERROR


@needs_reference  # a real 3.0/3.1 server aborts on this request (protocol.md §4.4)
def test_use_database_without_namespace_is_an_error(surreal_server: ServerInfo) -> None:
    with ws_for(surreal_server) as ws:
        ws.signin_root(surreal_server.user, surreal_server.password)
        reply = ws.call("use", [None, "somedb"])
        assert reply["error"]["message"] == (
            "Cannot set database without first selecting a namespace"
        )
        assert "error" not in ws.call("ping")  # the server is still there


# -- live queries ------------------------------------------------------------------------------


def test_live_notifications_go_to_the_owning_connection_only(surreal_db: DbInfo) -> None:
    with root_ws(surreal_db) as owner, root_ws(surreal_db) as other:
        owner.query("DEFINE TABLE person SCHEMALESS")
        live_id = owner.ok("live", ["person"])
        assert isinstance(live_id, uuid.UUID)
        other.query("CREATE person:ada SET name = 'Ada'")
        message = owner.next_notification(timeout=5)
        assert "session" not in message  # the default session: no top-level session
        notification = message["result"]
        assert notification["id"] == live_id
        assert notification["action"] == "CREATE"
        assert notification["result"]["name"] == "Ada"
        assert other.notifications(timeout=0.5) == []
        # Killed: no more notifications.
        owner.ok("kill", [live_id])
        other.query("CREATE person:bob SET name = 'Bob'")
        assert owner.notifications(timeout=0.5) == []


def test_live_query_in_attached_session(surreal_db: DbInfo) -> None:
    with root_ws(surreal_db) as ws, root_ws(surreal_db) as writer:
        session = uuid.uuid4()
        ws.ok("attach", session=session)
        ws.signin_root(surreal_db.server.user, surreal_db.server.password, session=session)
        ws.use(surreal_db.namespace, surreal_db.database, session=session)
        ws.query("DEFINE TABLE thing SCHEMALESS", session=session)
        statements = ws.query("LIVE SELECT * FROM thing", session=session)
        live_id = first_result(statements)
        writer.query("CREATE thing:1 SET n = 1")
        message = ws.next_notification(timeout=5)
        assert message["session"] == session
        assert message["result"]["id"] == live_id
        # Detaching the session ends its live queries.
        ws.ok("detach", session=session)
        writer.query("CREATE thing:2 SET n = 2")
        assert ws.notifications(timeout=0.5) == []
        assert live_queries_on(writer, "thing") == {}


def live_queries_on(ws: RawWs, table: str) -> Any:
    return first_result(ws.query(f"INFO FOR TABLE {table}"))["lives"]


def test_closing_a_connection_ends_its_live_queries(surreal_db: DbInfo) -> None:
    with root_ws(surreal_db) as admin:
        admin.query("DEFINE TABLE gadget SCHEMALESS")
        with root_ws(surreal_db) as ws:
            live_id = ws.ok("live", ["gadget"])
            assert str(live_id) in live_queries_on(admin, "gadget")
        deadline = time.monotonic() + 5
        while live_queries_on(admin, "gadget") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert live_queries_on(admin, "gadget") == {}


# -- transactions ------------------------------------------------------------------------------


def test_transactions_commit_and_cancel(surreal_db: DbInfo) -> None:
    with root_ws(surreal_db) as ws, root_ws(surreal_db) as observer:
        ws.query("DEFINE TABLE account SCHEMALESS")
        txn = ws.ok("begin")
        assert isinstance(txn, uuid.UUID)
        ws.query("CREATE account:kept SET balance = 10", txn=txn)
        assert first_result(observer.query("SELECT * FROM account")) == []
        # A transaction belongs to its connection.
        stolen = observer.call("query", ["CREATE account:x"], txn=txn)
        assert stolen["error"]["message"] == "Transaction not found"
        ws.ok("commit", [txn])
        assert len(first_result(observer.query("SELECT * FROM account:kept"))) == 1

        txn = ws.ok("begin")
        ws.query("CREATE account:dropped SET balance = 20", txn=txn)
        ws.ok("cancel", [txn])
        assert first_result(observer.query("SELECT * FROM account:dropped")) == []
        assert ws.call("commit", [txn])["error"]["message"] == "Transaction not found"


# -- sessions ----------------------------------------------------------------------------------


def test_attached_sessions_are_isolated(surreal_db: DbInfo) -> None:
    server = surreal_db.server
    with ws_for(server) as ws, ws_for(server) as stranger:
        first, second = uuid.uuid4(), uuid.uuid4()
        for session, ns in [(first, surreal_db.namespace), (second, surreal_db.namespace + "_b")]:
            reply = ws.call("attach", session=session)
            assert reply["session"] == session
            ws.signin_root(server.user, server.password, session=session)
            ws.use(ns, "db", session=session)
        ws.ok("let", ["x", 1], session=first)
        ws.ok("let", ["x", 2], session=second)
        one = first_result(ws.query("RETURN [$x, $session]", session=first))
        two = first_result(ws.query("RETURN [$x, $session]", session=second))
        assert (one[0], one[1]["ns"], one[1]["id"]) == (1, surreal_db.namespace, first)
        assert (two[0], two[1]["ns"], two[1]["id"]) == (2, surreal_db.namespace + "_b", second)
        # The default session is untouched: anonymous, no variables.
        assert "error" in ws.call("query", ["RETURN $x"])
        assert set(ws.ok("sessions")) == {first, second}
        # Another connection cannot use them.
        reply = stranger.call("query", ["RETURN 1"], session=first)
        assert reply["error"]["kind"] == "NotFound"
        assert reply["error"]["details"]["kind"] == "Session"
        assert stranger.ok("sessions") == []
        ws.ok("detach", session=first)
        ws.ok("detach", session=first)  # idempotent
        assert ws.call("query", ["RETURN 1"], session=first)["error"]["kind"] == "NotFound"
        assert ws.ok("sessions") == [second]


def test_upgrade_headers_authenticate_the_connection(surreal_db: DbInfo) -> None:
    server = surreal_db.server
    headers = {
        **basic_auth(server.user, server.password),
        "Surreal-NS": surreal_db.namespace,
        "Surreal-DB": surreal_db.database,
    }
    with ws_for(server, headers=headers) as ws:
        session = first_result(ws.query("RETURN $session"))
        assert (session["ns"], session["db"]) == (surreal_db.namespace, surreal_db.database)
    with pytest.raises(InvalidStatus) as caught:
        ws_for(server, headers=bearer_auth("not-a-token"))
    assert caught.value.response.status_code == 401


def test_no_compression_is_negotiated(surreal_server: ServerInfo) -> None:
    url = surreal_server.ws_url + "/rpc"
    with connect(url, subprotocols=[Subprotocol("cbor")], ssl=surreal_server.ssl_context()) as ws:
        # The client offered permessage-deflate (the default); the server must not accept it.
        assert ws.response is not None
        assert ws.response.headers.get("Sec-WebSocket-Extensions") is None
        assert ws.subprotocol == "cbor"


@needs_reference
def test_upgrade_without_cbor_is_refused(surreal_server: ServerInfo) -> None:
    with pytest.raises(InvalidStatus) as caught:
        connect(surreal_server.ws_url + "/rpc", compression=None)
    assert caught.value.response.status_code == 400


# -- expiry: the "done when" of issue 2 --------------------------------------------------------


def test_token_expiry_on_http_and_session_expiry_on_websocket(surreal_db: DbInfo) -> None:
    server = surreal_db.server
    user, password = f"expiry_{uuid.uuid4().hex[:8]}", "expiry-password"
    with root_ws(surreal_db) as admin:
        admin.query(
            f"DEFINE USER {user} ON ROOT PASSWORD '{password}' ROLES OWNER "
            "DURATION FOR TOKEN 1s, FOR SESSION 3s"
        )
        try:
            with (
                ws_for(server) as ws,
                RawHttp(server.http_url, ssl_context=server.ssl_context()) as http,
            ):
                started = time.monotonic()
                ws.signin_root(user, password)
                ws.use(surreal_db.namespace, surreal_db.database)
                response = http.rpc("signin", [{"user": user, "pass": password}])
                assert response.status == 200, response
                http_token = response.cbor()["result"]
                assert isinstance(http_token, str)
                bearer = {**bearer_auth(http_token), "Surreal-NS": surreal_db.namespace}
                assert "result" in http.rpc("query", ["RETURN 1"], headers=bearer).cbor()

                # Token expiry (1 s; JWT `exp` is whole seconds): HTTP says 401 in plain text...
                wait_until(started + 2.1)
                response = http.rpc("query", ["RETURN 1"], headers=bearer)
                assert response.status == 401, response
                assert response.headers["content-type"].startswith("text/plain")
                assert "token has expired" in response.text.lower()
                # ... while the WebSocket session, authenticated already, still works.
                assert first_result(ws.query("RETURN 1")) == 1

                # Session expiry (3 s): the WebSocket gets SessionExpired and stays open.
                wait_until(started + 4.1)
                error = ws.call("query", ["RETURN 1"])["error"]
                assert error["code"] == -32000
                assert error["kind"] == "NotAllowed"
                assert error["details"] == {"kind": "Auth", "details": {"kind": "SessionExpired"}}
                assert "error" not in ws.call("ping")
                # invalidate does not clear the expiry (§7.9); a new signin does.
                ws.ok("invalidate")
                assert ws.call("query", ["RETURN 1"])["error"]["details"]["details"] == {
                    "kind": "SessionExpired"
                }
                ws.signin_root(user, password)
                assert first_result(ws.query("RETURN 1")) == 1
        finally:
            admin.query(f"REMOVE USER {user} ON ROOT")


# -- HTTP --------------------------------------------------------------------------------------


def test_http_endpoints(surreal_db: DbInfo) -> None:
    server = surreal_db.server
    with RawHttp(server.http_url, ssl_context=server.ssl_context()) as http:
        for path in ("/health", "/status"):
            response = http.request("GET", path)
            assert (response.status, response.body) == (200, b""), (path, response)
        response = http.request("GET", "/version")
        assert response.status == 200
        assert response.headers["content-type"].startswith("text/plain")
        assert response.text.startswith("surrealdb-")
        # Stateless RPC: credentials and namespace/database come with every request.
        headers = {
            **basic_auth(server.user, server.password),
            "Surreal-NS": surreal_db.namespace,
            "Surreal-DB": surreal_db.database,
        }
        response = http.rpc("query", ["RETURN $session.db"], headers=headers)
        assert response.status == 200
        assert response.headers["content-type"] == "application/cbor"
        body = response.cbor()
        assert "id" not in body
        assert first_result(body["result"]) == surreal_db.database
        # Wrong credentials: 401 with a plain-text body.
        response = http.rpc("query", ["RETURN 1"], headers=basic_auth(server.user, "wrong"))
        assert response.status == 401
        assert response.headers["content-type"].startswith("text/plain")
        # 415: unknown Content-Type, or an Accept that differs from it.
        bad_type = http.request("POST", "/rpc", b"x", {"Content-Type": "text/plain"})
        assert bad_type.status == 415
        response = http.rpc("ping", headers={"Accept": "application/json"})
        assert response.status == 415
        # 413 over 4 MiB.
        big = b"\x00" * (4 * 1024 * 1024 + 1)
        response = http.request("POST", "/rpc", big, {"Content-Type": "application/cbor"})
        assert response.status == 413
    with RawHttp(server.http_url, ssl_context=server.ssl_context()) as http:
        # Transactions and live queries are WebSocket-only.
        assert http.rpc("begin", headers=headers).cbor()["error"]["code"] == -32601
        assert http.rpc("live", ["person"], headers=headers).cbor()["error"]["code"] == -32604


def test_import_then_export_round_trip(surreal_db: DbInfo) -> None:
    server = surreal_db.server
    headers = {
        **basic_auth(server.user, server.password),
        "Surreal-NS": surreal_db.namespace,
        "Surreal-DB": surreal_db.database,
    }
    with RawHttp(server.http_url, ssl_context=server.ssl_context()) as http:
        script = b"DEFINE TABLE book SCHEMAFULL;\nDEFINE FIELD title ON book TYPE string;\n"
        script += b"CREATE book:dune SET title = 'Dune';\n"
        response = http.request("POST", "/import", script, headers)
        assert response.status == 200, response
        response = http.request("GET", "/export", None, headers)
        assert response.status == 200, response
        exported = response.text
        assert "DEFINE TABLE book" in exported
        assert "Dune" in exported
        # Anonymous export is refused.
        anonymous = {"Surreal-NS": surreal_db.namespace, "Surreal-DB": surreal_db.database}
        assert http.request("GET", "/export", None, anonymous).status in (401, 403)
        # The export imports into a fresh database.
        copy = {**headers, "Surreal-DB": surreal_db.database + "_copy"}
        response = http.request("POST", "/import", exported.encode(), copy)
        assert response.status == 200, response
    with root_ws(surreal_db) as ws:
        ws.use(surreal_db.namespace, surreal_db.database + "_copy")
        assert first_result(ws.query("SELECT VALUE title FROM book")) == ["Dune"]


# -- TLS and restarts --------------------------------------------------------------------------


def test_tls_websocket_and_https(surreal_tls_server: ServerInfo) -> None:
    assert surreal_tls_server.ws_url.startswith("wss://")
    with ws_for(surreal_tls_server) as ws:
        assert ws.ok("version").startswith("surrealdb-")
        ws.signin_root(surreal_tls_server.user, surreal_tls_server.password)
        assert first_result(ws.query("RETURN 41 + 1")) == 42
    with RawHttp(surreal_tls_server.http_url, ssl_context=surreal_tls_server.ssl_context()) as h:
        assert h.request("GET", "/health").status == 200


@needs_reference
def test_restart_on_surrealkv_keeps_data_and_port(tmp_path: Path) -> None:
    with ReferenceServer(storage=f"surrealkv://{tmp_path / 'data'}", ping_interval=0) as server:
        port = server.port
        with RawWs(server.ws_url) as ws:
            ws.signin_root(server.user, server.password)
            ws.use("keep", "keep")
            ws.query("CREATE note:1 SET text = 'persisted'")
        server.restart()
        assert server.port == port
        with RawWs(server.ws_url) as ws:
            ws.signin_root(server.user, server.password)
            ws.use("keep", "keep")
            assert first_result(ws.query("SELECT VALUE text FROM note")) == ["persisted"]


def test_errors_keep_their_shape(surreal_db: DbInfo) -> None:
    with root_ws(surreal_db) as ws:
        with pytest.raises(RpcError) as caught:
            ws.ok("query", ["SELEC nonsense"])
        assert caught.value.error["kind"] == "Validation"
        assert caught.value.error["message"].startswith("Parse error")
