"""Server versions: parsing, ordering, feature checks (protocol.md §10 item 6)."""

from __future__ import annotations

import itertools

import pytest

from surreal_proto._errors import UnsupportedFeatureError
from surreal_proto._verbs import RpcMethods
from surreal_proto._version import (
    FEATURES,
    LIVE_METHODS,
    MIN_VERSION,
    RESTRICTED_METHODS,
    SESSION_METHODS,
    TRANSACTION_CONTROL_METHODS,
    ServerVersion,
    Transport,
    check_supported,
)

PARSE_CASES = [
    ("surrealdb-3.2.4", (3, 2, 4, "", "")),
    ("3.2.4", (3, 2, 4, "", "")),
    ("v3.0.0", (3, 0, 0, "", "")),
    ("  surrealdb-3.0.0-beta.1\n", (3, 0, 0, "beta.1", "")),
    ("surrealdb-2.0.0+20240101", (2, 0, 0, "", "20240101")),
    ("surrealdb-1.0.0-beta.9+20230402.5eafebd", (1, 0, 0, "beta.9", "20230402.5eafebd")),
    ("3.1.0-alpha", (3, 1, 0, "alpha", "")),
    ("SurrealDB-2.6", (2, 6, 0, "", "")),
    ("surrealdb_2.2.1", (2, 2, 1, "", "")),
]


@pytest.mark.parametrize(("text", "expected"), PARSE_CASES)
def test_parse(text: str, expected: tuple[int, int, int, str, str]) -> None:
    v = ServerVersion.parse(text)
    assert (v.major, v.minor, v.patch, v.pre, v.build) == expected


@pytest.mark.parametrize("text", ["", "surrealdb", "3", "3.x.1", "surrealdb-3.2.4 junk",
                                  "03.1.0", "3.2.4-", "3.2.4+"])
def test_parse_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="not a SurrealDB version"):
        ServerVersion.parse(text)


def test_parse_type() -> None:
    with pytest.raises(TypeError, match="must be a str"):
        ServerVersion.parse(3)  # type: ignore[arg-type]


def test_str_round_trip() -> None:
    for text in ("3.2.4", "3.0.0-beta.1", "2.0.0+20240101", "1.0.0-rc.1+b7"):
        assert str(ServerVersion.parse(text)) == text
    assert str(ServerVersion.parse("surrealdb-2.6")) == "2.6.0"


def test_ordering_is_semver() -> None:
    ordered = ["1.5.6", "2.0.0-alpha", "2.0.0-alpha.1", "2.0.0-alpha.beta", "2.0.0-beta",
               "2.0.0-beta.2", "2.0.0-beta.11", "2.0.0-rc.1", "2.0.0", "2.2.0", "3.0.0-beta.1",
               "3.0.0", "3.2.4", "10.0.0"]
    versions = [ServerVersion.parse(t) for t in ordered]
    assert sorted(versions) == versions
    for a, b in itertools.pairwise(versions):
        assert a < b
        assert a <= b
        assert b > a
        assert b >= a
        assert a != b
        assert not (a > b)
        assert not (a >= b)
        assert not (b < a)
        assert not (b <= a)


def test_build_metadata_is_ignored() -> None:
    a = ServerVersion.parse("2.0.0+1")
    b = ServerVersion.parse("2.0.0+2")
    assert a == b
    assert hash(a) == hash(b)
    assert a <= b
    assert a >= b


def test_comparison_with_release_tuples() -> None:
    v = ServerVersion.parse("surrealdb-3.2.4+b1")
    assert v == (3, 2, 4)
    assert (3, 2, 4) == v  # noqa: SIM300 - the reflected operator is under test
    assert hash(v) == hash((3, 2, 4))  # equal, so hashed alike
    assert v >= (3, 0, 0)
    assert v > (3, 2, 3)
    assert v < (3, 2, 5)
    assert v <= (3, 2, 4)
    assert (3, 0, 0) <= v  # noqa: SIM300 - the reflected operator is under test
    assert v != (3, 2, 5)
    # A tuple stands for a release, so semantic-versioning order holds.
    beta = ServerVersion.parse("3.0.0-beta.1")
    assert beta < (3, 0, 0)
    assert beta != (3, 0, 0)
    assert beta > (2, 9, 9)
    assert hash(beta) != hash((3, 0, 0))
    table: dict[object, int] = {v: 1}
    assert table[(3, 2, 4)] == 1


@pytest.mark.parametrize("other", ["3.0.0", (3, 0), (3, 0, 0, 0), (3, 0, "0"), (True, 0, 0),
                                   [3, 0, 0], 3])
def test_comparison_with_other_types(other: object) -> None:
    v = ServerVersion.parse("3.0.0")
    assert v != other
    for op in ("__eq__", "__lt__", "__le__", "__gt__", "__ge__"):
        assert getattr(v, op)(other) is NotImplemented
    with pytest.raises(TypeError):
        _ = v < other


@pytest.mark.parametrize(("value", "expected"), [
    ("surrealdb-3.2.4", (3, 2, 4)), ("surrealdb-latest", None), ("", None), (None, None),
    (324, None), (b"3.2.4", None),
])
def test_parse_or_none(value: object, expected: tuple[int, int, int] | None) -> None:
    assert ServerVersion.parse_or_none(value) == expected


def test_release_and_at_least() -> None:
    beta = ServerVersion.parse("3.0.0-beta.1")
    assert beta.release == (3, 0, 0)
    assert beta.is_prerelease
    assert not ServerVersion.parse("3.0.0").is_prerelease
    assert beta.at_least(3)
    assert beta.at_least(2, 2)
    assert not beta.at_least(3, 0, 1)


FEATURE_CASES = [
    # (version, feature, expected)
    ("1.4.0", "cbor", True), ("1.3.1", "cbor", False),
    ("1.5.6", "http_rpc", True),
    ("1.3.0", "session_expiry", True), ("1.2.2", "session_expiry", False),
    ("1.5.6", "upsert", False), ("2.0.0", "upsert", True),
    ("2.0.0", "insert_relation", True), ("1.5.6", "insert_relation", False),
    ("2.1.9", "reset", False), ("2.2.0", "reset", True), ("3.2.4", "reset", True),
    ("2.6.5", "use_result", False), ("3.0.0", "use_result", True),
    ("2.6.5", "token_pair", False), ("3.0.0-beta.1", "token_pair", True),
    ("2.6.5", "refresh", False), ("3.0.0", "refresh", True), ("3.0.0", "revoke", True),
    ("2.6.5", "sessions", False), ("3.2.4", "sessions", True),
    ("2.6.5", "transactions", False), ("3.0.0", "transactions", True),
    ("2.6.5", "query_vars_override_session", False),
    ("3.0.0", "query_vars_override_session", True),
    ("1.5.6", "futures", False), ("2.6.5", "futures", True), ("3.0.0", "futures", False),
    ("2.0.0", "graphql_rpc", True), ("3.2.4", "graphql_rpc", False),
    ("1.5.6", "scopes", True), ("2.0.0", "scopes", False),
    ("2.0.0", "access_methods", True), ("2.0.0", "ranges", True),
    ("1.5.6", "notification_record", False), ("3.0.0", "killed_notifications", True),
    ("3.0.0", "sets", True), ("3.0.0", "files", True), ("3.0.0", "error_kinds", True),
    ("2.6.5", "error_kinds", False), ("3.0.0", "use_creates_ns_db", True),
    ("2.6.5", "let_stores_value", False),
]


@pytest.mark.parametrize(("version", "feature", "expected"), FEATURE_CASES)
def test_supports(version: str, feature: str, expected: bool) -> None:
    assert ServerVersion.parse(version).supports(feature) is expected


def test_every_feature_is_tested() -> None:
    assert {f for _, f, _ in FEATURE_CASES} == set(FEATURES)


def test_supports_unknown_feature() -> None:
    with pytest.raises(ValueError, match=r"unknown feature 'nope'.*sessions"):
        ServerVersion.parse("3.0.0").supports("nope")


def test_immutable() -> None:
    v = ServerVersion.parse("3.0.0")
    with pytest.raises(AttributeError):
        v.major = 4  # type: ignore[misc]


# --------------------------------------------------------------------------- envelope fields

V2 = ServerVersion.parse("surrealdb-2.6.5")
V3 = ServerVersion.parse("surrealdb-3.2.4")


@pytest.mark.parametrize(("transport", "version", "session", "txn", "message"), [
    ("http", V3, True, False, r"^query with a session: sessions need a WebSocket connection"),
    ("http", None, False, True,
     r"^query in a transaction: transactions need the server WebSocket; HTTP /rpc"),
    ("embedded", V3, False, True,
     r"^query in a transaction: transactions need the server WebSocket; the embedded"),
    # A 2.x server would ignore the field (protocol.md §2.4) and run the call elsewhere.
    ("ws", V2, True, False, r"^query with a session: sessions need SurrealDB 3.0 or newer "
                            r"\(protocol.md §4.1\); this server is 2.6.5$"),
    ("ws", (2, 6, 5), False, True, r"^query in a transaction: transactions need SurrealDB 3.0"),
    ("embedded", V2, True, False, r"^query with a session: sessions need SurrealDB 3.0"),
])
def test_check_supported_refuses_envelope_fields(transport: Transport,
                                                 version: ServerVersion | None,
                                                 session: bool, txn: bool,
                                                 message: str) -> None:
    with pytest.raises(UnsupportedFeatureError, match=message):
        check_supported("query", transport=transport, server_version=version,
                        session=session, txn=txn)


def test_check_supported_allows_envelope_fields() -> None:
    check_supported("query", transport="ws", server_version=V3, session=True, txn=True)
    check_supported("query", transport="ws", session=True, txn=True)  # version not known
    check_supported("query", transport="embedded", server_version=V3, session=True)
    check_supported("query", transport="http", server_version=V2)


def test_check_supported_method_before_fields() -> None:
    with pytest.raises(UnsupportedFeatureError, match=r"^sessions need SurrealDB 3.0"):
        check_supported("attach", transport="ws", server_version=V2, session=True)


def test_only_restricted_methods_are_ever_refused() -> None:
    # send_request skips check_supported for the others (without session or txn): nothing may
    # refuse them, on any transport or server version.
    every_group = LIVE_METHODS | TRANSACTION_CONTROL_METHODS | SESSION_METHODS | set(MIN_VERSION)
    assert every_group == RESTRICTED_METHODS
    helpers = {name for name in vars(RpcMethods) if not name.startswith("_")}
    methods = helpers - {"send_request"} | {"graphql", "nonsense"}
    transports: tuple[Transport, ...] = ("ws", "http", "embedded")
    refused = set()
    for method, transport, version in itertools.product(
            methods, transports, (None, (1, 0, 0), (2, 0, 0), (3, 0, 0))):
        try:
            check_supported(method, transport=transport, server_version=version)
        except UnsupportedFeatureError:
            refused.add(method)
    assert refused == RESTRICTED_METHODS
