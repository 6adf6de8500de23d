"""Connection URLs (API.md §2): schemes, hosts, ports, paths, and what is refused."""

from __future__ import annotations

from typing import Any

import pytest

from surreal_proto import UnsupportedEngineError
from surreal_proto._url import Endpoint, _host, parse_url

NETWORK_CASES: list[tuple[str, dict[str, Any]]] = [
    ("ws://localhost:8000", {
        "scheme": "ws", "transport": "ws", "tls": False, "host": "localhost", "port": 8000,
        "host_header": "localhost:8000", "base_path": "", "rpc_path": "/rpc",
        "rpc_url": "ws://localhost:8000/rpc", "http_base_url": "http://localhost:8000"}),
    ("ws://localhost:8000/", {"rpc_path": "/rpc", "base_path": ""}),
    ("ws://localhost:8000/rpc", {"rpc_path": "/rpc", "base_path": ""}),
    ("ws://localhost:8000/rpc/", {"rpc_path": "/rpc", "base_path": ""}),
    ("wss://db.example.com", {
        "scheme": "wss", "transport": "ws", "tls": True, "port": 443,
        "host_header": "db.example.com",
        "rpc_url": "wss://db.example.com/rpc", "http_base_url": "https://db.example.com"}),
    ("wss://db.example.com:8443/rpc", {"port": 8443, "host_header": "db.example.com:8443"}),
    ("ws://example.com", {"port": 80, "host_header": "example.com"}),
    ("wss://example.com:443", {"port": 443, "host_header": "example.com"}),
    ("ws://example.com:443", {"port": 443, "host_header": "example.com:443"}),
    ("http://127.0.0.1:8000", {
        "scheme": "http", "transport": "http", "tls": False, "host": "127.0.0.1", "port": 8000,
        "rpc_url": "http://127.0.0.1:8000/rpc", "http_base_url": "http://127.0.0.1:8000"}),
    ("https://db.example.com/surreal/", {
        "scheme": "https", "transport": "http", "tls": True, "port": 443, "base_path": "/surreal",
        "rpc_path": "/surreal/rpc", "rpc_url": "https://db.example.com/surreal/rpc",
        "http_base_url": "https://db.example.com/surreal"}),
    ("ws://h:1/a/b/rpc", {"base_path": "/a/b", "rpc_path": "/a/b/rpc"}),
    ("ws://h:1/rpcx", {"base_path": "/rpcx", "rpc_path": "/rpcx/rpc"}),
    ("ws://h:1/a%20b", {"base_path": "/a%20b"}),
    ("WS://LocalHost:8000", {"scheme": "ws", "host": "localhost", "host_header": "localhost:8000"}),
    ("  ws://localhost:8000  ", {"host": "localhost"}),
    ("ws://[::1]:8000", {"host": "::1", "port": 8000, "host_header": "[::1]:8000",
                             "rpc_url": "ws://[::1]:8000/rpc", "authority": "[::1]:8000"}),
    ("http://[2001:DB8::1]", {"host": "2001:db8::1", "port": 80, "host_header": "[2001:db8::1]"}),
    ("ws://surreal_db:8000", {"host": "surreal_db"}),
    ("https://bücher.example", {"host": "xn--bcher-kva.example"}),
    ("ws://localhost:", {"port": 80}),
    ("ws://example.com.:8000", {"host": "example.com."}),
]


@pytest.mark.parametrize(("url", "expected"), NETWORK_CASES)
def test_network_urls(url: str, expected: dict[str, Any]) -> None:
    e = parse_url(url)
    assert e.url == url
    assert not e.is_embedded
    assert e.embedded_url is None
    assert e.path is None
    for name, value in expected.items():
        assert getattr(e, name) == value, name


EMBEDDED_CASES = [
    ("mem://", "mem", "mem://", None),
    ("memory", "memory", "mem://", None),
    ("MEMORY", "memory", "mem://", None),
    ("memory://", "memory", "mem://", None),
    ("MEM://", "mem", "mem://", None),
    ("surrealkv:///var/lib/db", "surrealkv", "surrealkv:///var/lib/db", "/var/lib/db"),
    ("surrealkv://data/db", "surrealkv", "surrealkv://data/db", "data/db"),
    ("SurrealKV://x", "surrealkv", "surrealkv://x", "x"),
    ("surrealkv+versioned:///d", "surrealkv+versioned", "surrealkv+versioned:///d", "/d"),
    ("file:///tmp/x", "file", "file:///tmp/x", "/tmp/x"),
    ("file://rel/x", "file", "file://rel/x", "rel/x"),
]


@pytest.mark.parametrize(("url", "scheme", "engine_url", "path"), EMBEDDED_CASES)
def test_embedded_urls(url: str, scheme: str, engine_url: str, path: str | None) -> None:
    e = parse_url(url)
    assert (e.scheme, e.transport, e.embedded_url, e.path) == (scheme, "embedded",
                                                               engine_url, path)
    assert e.is_embedded
    assert e.is_loopback
    assert e.rpc_url == engine_url
    assert e.http_base_url is None
    assert e.host == ""
    assert e.port is None
    assert not e.tls


ERROR_CASES = [
    ("", "empty URL"),
    ("   ", "empty URL"),
    ("localhost:8000", "'localhost:8000' has no scheme; write e.g. 'ws://localhost:8000'"),
    ("foo://x", "unsupported URL scheme 'foo'"),
    ("rocksdb:///d", "not in surrealdb-embedded"),
    ("tikv://pd:2379", "not in surrealdb-embedded"),
    ("mem://x", "takes no path"),
    ("surrealkv://", "needs a storage path"),
    ("file://", "needs a storage path"),
    ("surrealkv+versioned://", "needs a storage path"),
    ("ws://", "has no host"),
    ("ws://:8000", "has no host"),
    ("ws://u:p@localhost:8000", "credentials in the URL are not supported"),
    ("ws://user@localhost", "credentials in the URL are not supported"),
    ("ws://h:0", "port must be a number from 1 to 65535"),
    ("ws://h:65536", "port must be a number from 1 to 65535"),
    ("ws://h:abc", "port must be a number"),
    ("ws://h/?ns=x", "query strings and fragments are not supported"),
    ("ws://h/#x", "query strings and fragments are not supported"),
    ("ws://h/?", "query strings and fragments are not supported"),
    ("ws://h/a b", "percent-encoded"),
    ("ws://h/é", "percent-encoded"),
    ("ws://::1", "put an IPv6 address in brackets"),
    ("ws://[zz]:1", "malformed host"),
    ("ws://[::1", "malformed host"),
    ("ws://[1.2.3.4]", "malformed host"),
    ("ws://a b", "invalid host name"),
    ("ws://-a.com", "invalid host name"),
    ("ws://a..b", "invalid host name"),
    ("ws://" + "a" * 64 + ".com", "invalid host name"),
]


@pytest.mark.parametrize(("url", "message"), ERROR_CASES)
def test_errors(url: str, message: str) -> None:
    with pytest.raises(UnsupportedEngineError, match=message.replace("?", r"\?")):
        parse_url(url)


def test_supported_schemes_listed() -> None:
    with pytest.raises(UnsupportedEngineError) as info:
        parse_url("redis://x")
    for scheme in ("ws://", "wss://", "http://", "https://", "mem://", "memory",
                   "surrealkv://", "file://"):
        assert scheme in str(info.value)


@pytest.mark.parametrize("url", ["ws://root:hunter2@db:8000", "foo://root:hunter2@x",
                                 "root:hunter2@db:8000", "ws://root:hunter2@db:8000/?x",
                                 "ws://root:hunter2@[zz]"])
def test_password_never_echoed(url: str) -> None:
    with pytest.raises(UnsupportedEngineError) as info:
        parse_url(url)
    assert "hunter2" not in str(info.value)
    assert "root" not in str(info.value)


def test_not_a_string() -> None:
    with pytest.raises(TypeError, match="must be a str"):
        parse_url(b"ws://x")  # type: ignore[arg-type]


@pytest.mark.parametrize(("url", "loopback"), [
    ("ws://localhost:8000", True), ("ws://LOCALHOST.:8000", True),
    ("ws://app.localhost", True), ("ws://127.0.0.1", True), ("ws://127.8.9.10", True),
    ("ws://[::1]", True), ("ws://[::ffff:127.0.0.1]", True), ("ws://[::ffff:10.0.0.1]", False),
    ("ws://10.0.0.1", False), ("ws://db.example.com", False), ("ws://localhost.example", False),
    ("wss://[2001:db8::1]", False), ("mem://", True),
])
def test_is_loopback(url: str, loopback: bool) -> None:
    assert parse_url(url).is_loopback is loopback


def test_endpoint_is_frozen_and_keyword_only() -> None:
    e = parse_url("ws://localhost:8000")
    with pytest.raises(AttributeError):
        e.host = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        Endpoint("ws://x", "ws", "ws")  # type: ignore[call-arg]
    assert e == parse_url("ws://localhost:8000")


@pytest.mark.parametrize("netloc", ["[1.2.3.4]", "[::1", "[zz]:80"])
def test_bad_ipv6_without_urlsplit_check(netloc: str) -> None:
    # Python < 3.11.4 urlsplit() does not validate bracketed hosts; _host() does.
    with pytest.raises(UnsupportedEngineError, match="invalid IPv6 address"):
        _host(netloc, "ws://" + netloc)
