"""The pure HTTP builders and parsers (protocol.md §3): what goes out, how every answer maps."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import cbor2
import httpx
import pytest

from surreal_proto import (
    EncodingError,
    HandshakeError,
    InternalError,
    InvalidAuthError,
    LocalProtocolError,
    NotAllowedError,
    QueryError,
    RemoteProtocolError,
    ServerError,
    TokenExpiredError,
    ValidationError,
)
from surreal_proto._codec import encode
from surreal_proto._http import (
    BasicAuth,
    HttpRequest,
    build_export_request,
    build_health_request,
    build_import_request,
    build_rpc_request,
    build_version_request,
    error_for_status,
    parse_export_response,
    parse_health_response,
    parse_import_response,
    parse_rpc_response,
    parse_version_response,
)

from .http_peer import read_response, response_bytes

TOKEN = "eyJhbGciOiJIUzUxMiJ9.eyJleHAiOjF9.c2lnbmF0dXJlLXNlY3JldA"
CBOR = [("content-type", "application/cbor")]


# --------------------------------------------------------------------------- requests


def test_rpc_request_shape() -> None:
    req = build_rpc_request("query", ["RETURN 1", {"x": 1}], namespace="ns", database="db",
                            token=TOKEN, extra_headers=[(b"Origin", b"app")])
    assert req.method == "POST"
    assert req.target == "/rpc"
    # protocol.md §3.1: Accept must equal Content-Type.
    assert req.header("content-type") == "application/cbor"
    assert req.header("ACCEPT") == "application/cbor"
    assert req.header("Surreal-NS") == "ns"
    assert req.header("surreal-db") == "db"
    assert req.header("authorization") == f"Bearer {TOKEN}"
    assert req.header("origin") == "app"
    assert req.header("host") is None
    assert req.header("content-length") is None
    # No id: HTTP replies carry none.
    assert cbor2.loads(req.body) == {"method": "query", "params": ["RETURN 1", {"x": 1}]}


def test_rpc_request_without_context_and_with_session() -> None:
    sid = uuid.UUID(int=5)
    req = build_rpc_request("ping", session=sid, base_path="/db/")
    assert req.target == "/db/rpc"
    assert req.header("surreal-ns") is None
    assert req.header("authorization") is None
    body = cbor2.loads(req.body)
    assert body["params"] == []
    assert body["session"] == sid


def test_basic_auth_headers() -> None:
    req = build_rpc_request("info", basic=("root", "pä:ss"))
    value = req.header("authorization")
    assert value is not None
    assert base64.b64decode(value.removeprefix("Basic ")).decode() == "root:pä:ss"
    assert req.header("surreal-auth-ns") is None
    req = build_rpc_request("info", basic=BasicAuth(username="u", password="p",
                                                    namespace="n", database="d"))
    assert req.header("surreal-auth-ns") == "n"
    assert req.header("surreal-auth-db") == "d"


def test_secrets_are_not_in_reprs() -> None:
    req = build_rpc_request("signin", [{"user": "root", "pass": "hunter2"}], token=TOKEN)
    shown = repr(req)
    assert TOKEN not in shown
    assert "hunter2" not in shown
    assert "Authorization" in shown
    assert "bytes>" in shown
    basic = BasicAuth(username="root", password="hunter2")
    assert "hunter2" not in repr(basic)
    assert "hunter2" not in repr(build_rpc_request("info", basic=basic))


@pytest.mark.parametrize(("kwargs", "secret"), [
    ({"namespace": "a\r\nX-Evil: 1"}, None),
    ({"database": "dé"}, None),
    ({"token": "tok\nen"}, "tok\nen"),
    ({"extra_headers": [("Bad Name", "v")]}, None),
    ({"extra_headers": [("X-Ok", " leading")]}, None),
    ({"basic": BasicAuth(username="u", password="p", namespace="n\n")}, None),
    ({"basic": BasicAuth(username="u", password="p", database="\x00")}, None),
])
def test_bad_header_values_are_refused(kwargs: dict[str, Any], secret: str | None) -> None:
    with pytest.raises(LocalProtocolError) as info:
        build_rpc_request("ping", **kwargs)
    if secret is not None:
        assert secret not in str(info.value)


def test_token_and_basic_are_exclusive() -> None:
    with pytest.raises(LocalProtocolError):
        build_rpc_request("ping", token=TOKEN, basic=("u", "p"))


def test_base_path_must_be_absolute() -> None:
    with pytest.raises(LocalProtocolError):
        build_rpc_request("ping", base_path="db")


def test_unencodable_param_raises_before_building() -> None:
    with pytest.raises(EncodingError):
        build_rpc_request("query", ["RETURN $x", {"x": 2**70}])


def test_other_endpoint_requests() -> None:
    health = build_health_request(base_path="/p")
    assert (health.method, health.target, health.body) == ("GET", "/p/health", b"")
    version = build_version_request(extra_headers=[("x-trace", "1")])
    assert (version.method, version.target, version.headers) == (
        "GET", "/version", (("x-trace", "1"),))
    imp = build_import_request("CREATE a;", namespace="n", database="d", token=TOKEN)
    assert (imp.method, imp.target, imp.body) == ("POST", "/import", b"CREATE a;")
    assert imp.header("content-type") == "text/plain; charset=utf-8"
    assert imp.header("accept") == "application/cbor"
    assert imp.header("authorization") == f"Bearer {TOKEN}"
    assert build_import_request(b"X", basic=("u", "p")).body == b"X"
    exp = build_export_request(namespace="n", database="d", token=TOKEN)
    assert (exp.method, exp.target, exp.body) == ("GET", "/export", b"")
    assert exp.header("surreal-db") == "d"
    post = build_export_request(options={"records": False})
    assert (post.method, post.header("content-type")) == ("POST", "application/json")
    assert json.loads(post.body) == {"records": False}
    with pytest.raises(LocalProtocolError):
        build_export_request(options={"tables": {1, 2}})


# --------------------------------------------------------------------------- rpc responses


def _parse(raw: bytes, **kwargs: Any) -> Any:
    status, headers, body = read_response(raw)
    return parse_rpc_response(status, headers, body, **kwargs)


def test_result_from_real_bytes() -> None:
    raw = response_bytes(200, cbor2.dumps({"result": [1, "a"]}),
                         content_type="application/cbor")
    assert _parse(raw) == [1, "a"]
    # headers as a mapping (httpx.Headers) and without a content type work too
    assert parse_rpc_response(200, {"Content-Type": "application/cbor; x=1"},
                              encode({"result": None})) is None
    assert parse_rpc_response(200, [], cbor2.dumps({"result": 5})) == 5


def test_rpc_error_in_200() -> None:
    err = {"code": -32000, "kind": "NotAllowed", "message": "The session has expired",
           "details": {"kind": "Auth", "details": {"kind": "SessionExpired"}}}
    with pytest.raises(NotAllowedError) as info:
        _parse(response_bytes(200, cbor2.dumps({"error": err}),
                              content_type="application/cbor"))
    assert info.value.detail_path == ("Auth", "SessionExpired")


@pytest.mark.parametrize("body", [
    b"\xff\x00garbage",
    cbor2.dumps([1, 2]),
    cbor2.dumps({"id": 1}),
    b"",
])
def test_malformed_200(body: bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        parse_rpc_response(200, CBOR, body)


def test_json_200_is_not_cbor() -> None:
    with pytest.raises(RemoteProtocolError, match="application/json"):
        parse_rpc_response(200, [(b"Content-Type", b"application/json")], b'{"result":1}')


@pytest.mark.parametrize("text", [
    "The token has expired",
    "There was a problem with the database: The token has expired",
])
def test_401_token_expired(text: str) -> None:
    with pytest.raises(TokenExpiredError) as info:
        _parse(response_bytes(401, text.encode(), content_type="text/plain"))
    assert info.value.detail_path == ("Auth", "TokenExpired")
    assert text in str(info.value)
    assert info.value.kind == "NotAllowed"


def test_401_other_is_invalid_auth_and_scrubbed() -> None:
    text = f"There was a problem with authentication ({TOKEN})"
    with pytest.raises(InvalidAuthError) as info:
        parse_rpc_response(401, [], text.encode(), secrets=[TOKEN, ""])
    assert TOKEN not in str(info.value)
    assert "***" in str(info.value)
    assert info.value.detail_path == ("Auth", "InvalidAuth")
    with pytest.raises(InvalidAuthError, match="Unauthorized"):
        parse_rpc_response(401, [], b"")


def test_long_server_text_is_cut() -> None:
    with pytest.raises(InvalidAuthError) as info:
        parse_rpc_response(401, [], b"x" * 5000)
    assert len(str(info.value)) < 400


def _error_message(status: int, details: str, information: str) -> bytes:
    return json.dumps({"code": status, "details": details, "description": "",
                       "information": information}).encode()


def test_403() -> None:
    with pytest.raises(NotAllowedError, match="Forbidden") as info:
        parse_rpc_response(403, [], _error_message(403, "Forbidden", ""))
    assert type(info.value) is NotAllowedError


def test_413_explains_the_limit() -> None:
    with pytest.raises(ValidationError, match="4 MiB"):
        _parse(response_bytes(413, b"length limit exceeded"))


def test_415() -> None:
    with pytest.raises(ValidationError, match="415"):
        parse_rpc_response(415, [], _error_message(415, "Unsupported media type", ""))


@pytest.mark.parametrize(("information", "cls"), [
    ("Parse error", ValidationError),
    ("Invalid request", ValidationError),
    ("The server is unable to handle the request", InternalError),
])
def test_400(information: str, cls: type[ServerError]) -> None:
    with pytest.raises(cls, match=information) as info:
        parse_rpc_response(400, [], _error_message(400, "Request problems dectected",
                                                   information))
    assert type(info.value) is cls


def test_400_json_without_strings_and_non_json() -> None:
    with pytest.raises(ValidationError):
        parse_rpc_response(400, [], b'{"code": 400}')
    with pytest.raises(ValidationError, match="plain words"):
        parse_rpc_response(400, [], b"plain words")
    with pytest.raises(ValidationError):
        parse_rpc_response(400, [], b"[1]")


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx(status: int) -> None:
    with pytest.raises(InternalError, match=str(status)):
        parse_rpc_response(status, [], b"")


@pytest.mark.parametrize("status", [204, 301, 404, 405, 429])
def test_other_status_is_not_surrealdb(status: int) -> None:
    with pytest.raises(HandshakeError) as info:
        parse_rpc_response(status, [], b"Not Found")
    assert info.value.status == status


def test_error_for_status_returns_unraised() -> None:
    err = error_for_status(404, [], b"", endpoint="/x")
    assert isinstance(err, HandshakeError)
    assert "/x" in str(err)


# --------------------------------------------------------------------------- other endpoints


def test_health() -> None:
    assert parse_health_response(200, [], b"") is True
    assert parse_health_response(500, [], _error_message(500, "Health check failed", "")) is False
    assert parse_health_response(503, [], b"") is False
    with pytest.raises(HandshakeError):
        parse_health_response(404, [], b"")


def test_version() -> None:
    assert parse_version_response(200, [], b"surrealdb-3.2.4\n") == "surrealdb-3.2.4"
    with pytest.raises(RemoteProtocolError):
        parse_version_response(200, [], b"  ")
    with pytest.raises(RemoteProtocolError):
        parse_version_response(200, [], b"\xff")
    with pytest.raises(HandshakeError):
        parse_version_response(404, [], b"")


def test_import_results() -> None:
    ok = [{"result": None, "status": "OK", "time": "1µs"}]
    assert parse_import_response(200, CBOR, encode(ok)) == ok
    assert parse_import_response(200, [], b"") == []
    as_json = json.dumps(ok).encode()
    assert parse_import_response(200, [("content-type", "application/json")], as_json) == ok
    with pytest.raises(RemoteProtocolError):
        parse_import_response(200, [("content-type", "application/json")], b"{")
    with pytest.raises(RemoteProtocolError):
        parse_import_response(200, CBOR, cbor2.dumps({"a": 1}))
    with pytest.raises(RemoteProtocolError):
        parse_import_response(200, CBOR, cbor2.dumps([1]))


def test_import_statement_failure() -> None:
    results = [{"result": 1, "status": "OK", "time": ""},
               {"result": "Thrown error: no", "status": "ERR", "time": ""}]
    with pytest.raises(QueryError, match="no") as info:
        parse_import_response(200, CBOR, cbor2.dumps(results))
    assert info.value.results[0] == 1
    assert len(info.value.errors) == 1


def test_import_and_export_status_errors() -> None:
    with pytest.raises(TokenExpiredError, match="/import"):
        parse_import_response(401, [], b"The token has expired", secrets=[TOKEN])
    with pytest.raises(NotAllowedError, match="/export"):
        parse_export_response(403, [], b"")


def test_export() -> None:
    assert parse_export_response(200, [], b"DEFINE TABLE t;\n") == "DEFINE TABLE t;\n"
    with pytest.raises(RemoteProtocolError):
        parse_export_response(200, [], b"\xff")


# --------------------------------------------------------------------------- httpx path


def test_httpx_adapter_path() -> None:
    """What an httpx adapter does: send HttpRequest, parse the reply. About ten lines."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, headers={"content-type": "application/cbor"},
                              content=cbor2.dumps({"result": "surrealdb-3.2.4"}))

    req: HttpRequest = build_rpc_request("version", namespace="n", token=TOKEN)
    with httpx.Client(transport=httpx.MockTransport(handler),
                      base_url="http://db.example:8000") as client:
        reply = client.request(req.method, req.target, headers=list(req.headers),
                               content=req.body)
    assert parse_rpc_response(reply.status_code, reply.headers, reply.content) == (
        "surrealdb-3.2.4")
    sent = seen[0]
    assert sent.url == "http://db.example:8000/rpc"
    assert sent.headers["accept"] == "application/cbor"
    assert sent.headers["content-length"] == str(len(req.body))
    assert sent.headers.get_list("content-length") == [str(len(req.body))]
