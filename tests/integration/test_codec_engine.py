"""Every SurrealDB value type through a real engine and back (API.md §6: "lossless both ways,
proven by round trips through a real engine").

Each value goes out as a bound query variable (``RETURN $v``) and as record content (``CREATE
... CONTENT``, then ``SELECT``), encoded and decoded by ``surreal_proto._codec`` only (the
raw client in ``tests/rawws.py``). Where the engine itself normalises a value, the test says
so and checks the normalised form:

* decimals lose trailing zeros: ``1.50dec`` comes back as ``1.5`` (the value is equal; its
  text is not);
* sets come back de-duplicated and sorted;
* polygon rings come back closed;
* a record id sent as text (:class:`StringRecordID`) comes back parsed, as a :class:`RecordID`;
* an object field set to NONE (``None``) is not stored at all, while NULL is stored (a NONE
  inside an array is stored).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from surreal_proto import (
    NULL,
    BoundExcluded,
    BoundIncluded,
    Datetime,
    Duration,
    EncodingError,
    File,
    GeometryCollection,
    GeometryLine,
    GeometryMultiLine,
    GeometryMultiPoint,
    GeometryMultiPolygon,
    GeometryPoint,
    GeometryPolygon,
    Range,
    RecordID,
    StringRecordID,
    SurrealSet,
    Table,
)
from surreal_proto._codec import encode
from tests.conftest import DbInfo
from tests.rawws import RawWs

pytestmark = pytest.mark.integration

U = uuid.UUID("018e3e5c-0000-7000-8000-000000000000")
P = [GeometryPoint(0, 0), GeometryPoint(1, 0), GeometryPoint(1, 1), GeometryPoint(0, 0)]
RING = GeometryLine(*P)
POLYGON = GeometryPolygon(RING)

# Values that come back exactly as they went out.
EXACT: list[tuple[str, Any]] = [
    ("none", None),
    ("null", NULL),
    ("true", True),
    ("false", False),
    ("int zero", 0),
    ("i64 max", 2**63 - 1),
    ("i64 min", -(2**63)),
    ("float", 0.1),
    ("float half", 1.5),
    ("float huge", 1e300),
    ("infinity", math.inf),
    ("minus infinity", -math.inf),
    ("text", "héllo ⟨world⟩ `x` 'y' \"z\""),
    ("empty text", ""),
    ("bytes", b"\x00\x01\xff"),
    ("empty bytes", b""),
    ("uuid", U),
    ("decimal", Decimal("1.5")),
    ("decimal big", Decimal("12345678901234567890.123")),
    ("decimal negative", Decimal("-0.001")),
    ("datetime ns", Datetime(2024, 1, 1, 0, 0, 0, 123456, UTC, nanosecond=789)),
    ("datetime 1 ns", Datetime(2024, 1, 1, tzinfo=UTC, nanosecond=1)),
    ("datetime before 1970", Datetime(1969, 7, 20, 20, 17, 40, 1, UTC, nanosecond=2)),
    ("datetime year 1", Datetime(1, 1, 1, tzinfo=UTC)),
    ("datetime year 9999", Datetime(9999, 12, 31, 23, 59, 59, 999999, UTC, nanosecond=999)),
    ("duration zero", Duration(0)),
    ("duration 1ns", Duration(1)),
    ("duration 1h30m", Duration.parse("1h30m")),
    ("duration 1500ms", Duration.parse("1500ms")),
    ("duration long", Duration.parse("100y2w3d4h5m6s7ms8us9ns")),
    ("record id int", RecordID("person", 1)),
    ("record id negative", RecordID("person", -(2**63))),
    ("record id text", RecordID("person", "tobie")),
    ("record id digits text", RecordID("person", "123")),
    ("record id odd text", RecordID("a b-c", "x ⟩ y")),
    ("record id array", RecordID("person", [1, "a", [2.5, None], NULL])),
    ("record id object", RecordID("person", {"a": 1, "b": {"c": [True]}})),
    ("record id uuid", RecordID("person", U)),
    ("record id range", RecordID("person", Range(BoundIncluded(1), BoundExcluded(5)))),
    ("record id range incl", RecordID("person", Range(BoundExcluded("a"), BoundIncluded("z")))),
    ("record id range open", RecordID("person", Range(None, BoundIncluded([5])))),
    ("record id range all", RecordID("person", Range(None, None))),
    ("table", Table("person")),
    ("odd table", Table("a b; DELETE c")),
    ("range", Range(BoundIncluded(1), BoundExcluded(5))),
    ("range inclusive", Range(BoundIncluded(1), BoundIncluded(5))),
    ("range excluded start", Range(BoundExcluded(1), None)),
    ("range open", Range(None, None)),
    ("range of text", Range(BoundIncluded("a"), BoundExcluded("b"))),
    ("set", SurrealSet([1, 2, 3])),
    ("empty set", SurrealSet()),
    ("file", File("bucket", "/a/b.txt")),
    ("point", GeometryPoint(-0.5, 51.25)),
    ("line", GeometryLine(GeometryPoint(1, 2), GeometryPoint(3, 4))),
    ("polygon", POLYGON),
    ("polygon with hole", GeometryPolygon(RING, RING)),
    ("multipoint", GeometryMultiPoint(GeometryPoint(1, 2), GeometryPoint(3, 4))),
    ("multiline", GeometryMultiLine(GeometryLine(GeometryPoint(1, 2), GeometryPoint(3, 4)))),
    ("multipolygon", GeometryMultiPolygon(POLYGON, POLYGON)),
    ("collection", GeometryCollection(GeometryPoint(1, 2), POLYGON,
                                      GeometryMultiPoint(GeometryPoint(5, 6)))),
    ("array", [1, "a", None, NULL, [2, [3]]]),
    ("empty array", []),
    ("object", {"a": 1, "b": None, "c": NULL, "d": {"e": [RecordID("t", 1)]}}),
    ("empty object", {}),
    ("nested everything", {
        "id": RecordID("person", "x"),
        "when": Datetime(2024, 2, 29, 12, 0, 0, 1, UTC, nanosecond=999),
        "took": Duration.parse("1ms"),
        "tags": SurrealSet(["a", "b"]),
        "where": GeometryPoint(1.5, 2.5),
        "links": [RecordID("t", U), RecordID("t", [1, 2])],
        "span": Range(BoundIncluded(Datetime(2024, 1, 1, tzinfo=UTC)), None),
        "money": Decimal("12.34"),
        "blob": b"\x01",
        "gone": NULL,
    }),
]

# Values the engine normalises: (name, sent, expected back).
NORMALISED: list[tuple[str, Any, Any]] = [
    ("decimal trailing zeros", Decimal("1.50"), Decimal("1.5")),
    ("decimal exponent", Decimal("1E+3"), Decimal("1000")),
    ("set dedup and sort", SurrealSet([3, 1, 2, 1]), SurrealSet([1, 2, 3])),
    ("python set", {3, 1, 2}, SurrealSet([1, 2, 3])),
    ("unclosed polygon", GeometryPolygon(GeometryLine(*P[:3])), POLYGON),
    ("record id as text", StringRecordID("person:1"), RecordID("person", 1)),
    ("record id text key", StringRecordID("person:⟨1⟩"), RecordID("person", "1")),
    ("aware datetime", datetime(2024, 1, 1, 2, tzinfo=timezone(timedelta(hours=2))),
     Datetime(2024, 1, 1, tzinfo=UTC)),
    ("timedelta", timedelta(hours=1, microseconds=5), Duration.parse("1h5µs")),
    ("tuple", (1, 2), [1, 2]),
    ("int key text", RecordID("t", "1"), RecordID("t", "1")),
]


@pytest.fixture
def ws(surreal_db: DbInfo) -> Iterator[RawWs]:
    server = surreal_db.server
    with RawWs(server.ws_url, ssl_context=server.ssl_context()) as client:
        client.signin_root(server.user, server.password)
        client.use(surreal_db.namespace, surreal_db.database)
        yield client


def returned(ws: RawWs, value: Any) -> Any:
    [statement] = ws.query("RETURN $v", {"v": value})
    assert statement["status"] == "OK", statement
    return statement["result"]


def stored(ws: RawWs, value: Any) -> dict[str, Any]:
    """Write ``value`` as the field ``v`` of a new record and read the record back."""
    rid = RecordID("item", uuid.uuid4().hex)
    created, selected = ws.query("CREATE $id CONTENT $content; SELECT * FROM $id",
                                 {"id": rid, "content": {"v": value, "n": NULL, "x": None}})
    assert created["status"] == "OK", created
    assert selected["status"] == "OK", selected
    [record] = selected["result"]
    assert record["id"] == rid
    assert record["n"] is NULL  # NULL is stored...
    assert "x" not in record  # ...NONE is not
    return record  # type: ignore[no-any-return]


def same(a: Any, b: Any) -> bool:
    """Equality that also holds for NaN and tells -0.0 from 0.0."""
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a):
            return math.isnan(b)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    return bool(a == b) and type(a) is type(b)


@pytest.mark.parametrize(("name", "value"), EXACT, ids=[n for n, _ in EXACT])
def test_bound_variable(ws: RawWs, name: str, value: Any) -> None:
    assert same(returned(ws, value), value)


@pytest.mark.parametrize(("name", "value"), EXACT, ids=[n for n, _ in EXACT])
def test_record_content(ws: RawWs, name: str, value: Any) -> None:
    record = stored(ws, value)
    if value is None:
        assert "v" not in record  # a NONE field is not stored
    else:
        assert same(record["v"], without_none_fields(value))


def without_none_fields(value: Any) -> Any:
    """What a stored record keeps: object fields set to NONE are dropped (arrays keep NONE)."""
    if isinstance(value, dict):
        return {k: without_none_fields(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_none_fields(v) for v in value]
    return value


@pytest.mark.parametrize(("name", "sent", "expected"), NORMALISED,
                         ids=[n for n, _, _ in NORMALISED])
def test_engine_normalises(ws: RawWs, name: str, sent: Any, expected: Any) -> None:
    back = returned(ws, sent)
    assert same(back, expected)
    assert same(stored(ws, sent)["v"], expected)


def test_decimal_trailing_zeros_are_normalised_by_the_engine(ws: RawWs) -> None:
    # The client sends the text it is given ("1.50"); the engine keeps 1.5. Equal values,
    # different text: compare decimals by value, not by str().
    assert encode(Decimal("1.50")) == bytes.fromhex("ca64312e3530")
    back = returned(ws, Decimal("1.50"))
    assert back == Decimal("1.50")
    assert str(back) == "1.5"


@pytest.mark.parametrize("value", [math.nan, -0.0])
def test_special_floats(ws: RawWs, value: float) -> None:
    assert same(returned(ws, value), value)
    assert same(stored(ws, value)["v"], value)
    [statement] = ws.query("RETURN [$v, $v]", {"v": value})
    assert all(same(item, value) for item in statement["result"])


def test_null_fields_survive_a_read_modify_write(ws: RawWs) -> None:
    rid = RecordID("person", "rmw")
    ws.query("CREATE $id CONTENT { a: NULL, b: 1, c: [NULL, NONE] }", {"id": rid})
    [selected] = ws.query("SELECT * FROM $id", {"id": rid})
    [record] = selected["result"]
    assert record == {"id": rid, "a": NULL, "b": 1, "c": [NULL, None]}
    record["b"] = 2
    ws.query("UPDATE $id CONTENT $record", {"id": rid, "record": record})
    [again] = ws.query("SELECT * FROM $id", {"id": rid})
    assert again["result"] == [{"id": rid, "a": NULL, "b": 2, "c": [NULL, None]}]


@pytest.mark.parametrize(("sql", "expected"), [
    ("RETURN NONE", None),
    ("RETURN NULL", NULL),
    ("RETURN 0s", Duration(0)),
    ("RETURN 1h30m", Duration.parse("1h30m")),
    ('RETURN d"2024-01-01T00:00:00.123456789Z"',
     Datetime(2024, 1, 1, 0, 0, 0, 123456, UTC, nanosecond=789)),
    ("RETURN 1.50dec", Decimal("1.5")),
    ("RETURN 1.5f", 1.5),
    ("RETURN 9223372036854775807", 2**63 - 1),
    ("RETURN <set>[3, 1, 1]", SurrealSet([1, 3])),
    ("RETURN 1..=5", Range(BoundIncluded(1), BoundIncluded(5))),
    ("RETURN 1>..5", Range(BoundExcluded(1), BoundExcluded(5))),
    ("RETURN person:1..5", RecordID("person", Range(BoundIncluded(1), BoundExcluded(5)))),
    ("RETURN person:[1, 'a']", RecordID("person", [1, "a"])),
    ("RETURN person:{ a: 1 }", RecordID("person", {"a": 1})),
    ('RETURN person:u"018e3e5c-0000-7000-8000-000000000000"', RecordID("person", U)),
    ("RETURN person:⟨1⟩", RecordID("person", "1")),
    ("RETURN type::table('person')", Table("person")),
    ('RETURN u"018e3e5c-0000-7000-8000-000000000000"', U),
    ("RETURN (1.5, 2.5)", GeometryPoint(1.5, 2.5)),
    ("RETURN <bytes>'ab'", b"ab"),
])
def test_server_made_values(ws: RawWs, sql: str, expected: Any) -> None:
    [statement] = ws.query(sql)
    assert statement["status"] == "OK", statement
    assert same(statement["result"], expected)


@pytest.mark.parametrize("rid", [
    RecordID("person", 1), RecordID("person", "tobie"), RecordID("person", "1"),
    RecordID("a b", "c d"), RecordID("t", [1, "a"]), RecordID("t", {"a": 1}), RecordID("t", U),
    RecordID("t", Range(BoundIncluded(1), BoundExcluded(5))),
])
def test_record_id_text_is_what_the_engine_parses(ws: RawWs, rid: RecordID) -> None:
    # str(RecordID) is valid SurrealQL: the engine parses it into the same record id.
    [statement] = ws.query(f"RETURN {rid}")
    assert statement["result"] == rid
    if isinstance(rid.id, Range):
        # The engine's parser for tag-8 text stops at the range: 8("t:1..5") is t:1.
        assert returned(ws, StringRecordID(str(rid))) == RecordID("t", 1)
    else:
        assert returned(ws, StringRecordID(str(rid))) == rid


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 2**64])
def test_big_ints_are_refused_before_sending(ws: RawWs, value: int) -> None:
    with pytest.raises(EncodingError, match="Decimal"):
        ws.query("RETURN $v", {"v": value})
    # The connection is still usable, and the exact value goes through as a decimal.
    assert returned(ws, Decimal(value)) == Decimal(value)
