"""Record ids, tables and SurrealQL spelling (surreal_proto._recordid)."""

from __future__ import annotations

import copy
import math
import pickle
import uuid
from datetime import UTC, datetime
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
    Future,
    GeometryLine,
    GeometryPoint,
    Range,
    RecordID,
    StringRecordID,
    SurrealSet,
    Table,
    Tagged,
)
from surreal_proto._recordid import (
    _new_string_record_id,
    escape_ident,
    escape_key,
    escape_rid_key,
    quote_str,
    to_surrealql,
)

U = uuid.UUID("018e3e5c-0000-7000-8000-000000000000")


# --------------------------------------------------------------------------- escaping


@pytest.mark.parametrize(("name", "spelled"), [
    ("person", "person"),
    ("_a1", "_a1"),
    ("a b", "`a b`"),
    ("1abc", "`1abc`"),
    ("", "``"),
    ("select", "`select`"),
    ("SELECT", "`SELECT`"),
    ("NaN", "`NaN`"),
    ("a`b", "`a\\`b`"),
    ("a\\b", "`a\\\\b`"),
    ("a\bb", "`a\\u{8}b`"),
    ("tablé", "`tablé`"),
])
def test_escape_ident(name: str, spelled: str) -> None:
    assert escape_ident(name) == spelled


@pytest.mark.parametrize(("key", "spelled"), [
    ("tobie", "tobie"),
    ("a1", "a1"),
    ("1a", "1a"),
    ("1", "⟨1⟩"),
    ("123", "⟨123⟩"),
    ("1_000", "⟨1_000⟩"),
    ("_", "⟨_⟩"),
    ("", "⟨⟩"),
    ("x y", "⟨x y⟩"),
    ("a⟩b", "`a⟩b`"),  # the 3.x server reads no escaped ⟩ (it writes backticks)
    ("a⟩`b\\", "`a⟩\\`b\\\\`"),
    ("a\\b", "⟨a\\\\b⟩"),
])
def test_escape_rid_key(key: str, spelled: str) -> None:
    assert escape_rid_key(key) == spelled


@pytest.mark.parametrize(("key", "spelled"), [
    ("a", "a"), ("a b", '"a b"'), ("1a", '"1a"'), ("", '""'), ('a"b', '"a\\"b"'),
])
def test_escape_key(key: str, spelled: str) -> None:
    assert escape_key(key) == spelled


@pytest.mark.parametrize(("text", "spelled"), [
    ("cat", "'cat'"), ("cat's", '"cat\'s"'), ('cat\'s "toy"', '"cat\'s \\"toy\\""'),
    ("a\\b", "'a\\\\b'"), ("", "''"),
])
def test_quote_str(text: str, spelled: str) -> None:
    assert quote_str(text) == spelled


@pytest.mark.parametrize(("value", "spelled"), [
    (None, "NONE"),
    (NULL, "NULL"),
    (True, "true"),
    (False, "false"),
    (-5, "-5"),
    (1.5, "1.5f"),
    (math.nan, "NaN"),
    (math.inf, "Infinity"),
    (-math.inf, "-Infinity"),
    (Decimal("1.50"), "1.50dec"),
    ("x", "'x'"),
    (b"\x01\xab", 'b"01AB"'),
    (bytearray(b"\x02"), 'b"02"'),
    (U, 'u"018e3e5c-0000-7000-8000-000000000000"'),
    (datetime(2024, 1, 1, tzinfo=UTC), 'd"2024-01-01T00:00:00.000000000Z"'),
    (Datetime(2024, 1, 1, 0, 0, 0, 1, UTC, nanosecond=2), 'd"2024-01-01T00:00:00.000001002Z"'),
    ([1, "a", [None]], "[1, 'a', [NONE]]"),
    ((1, 2), "[1, 2]"),
    ({}, "{}"),
    ({"a": 1, "b c": [True]}, '{ a: 1, "b c": [true] }'),
    (Duration.parse("1h30m"), "1h30m"),
    (RecordID("t", 1), "t:1"),
    (StringRecordID("t:1"), "r't:1'"),
    (Table("a b"), "type::table('a b')"),
    (Range(BoundIncluded(1), BoundExcluded(5)), "1..5"),
    (SurrealSet([1, 2]), "<set>[1, 2]"),
    (File("b", "/k.txt"), 'f"b:/k.txt"'),
    (Future("{ 1 + 1 }"), "<future> { 1 + 1 }"),
    (GeometryPoint(1, 2), "(1.0f, 2.0f)"),
])
def test_to_surrealql(value: Any, spelled: str) -> None:
    assert to_surrealql(value) == spelled


def test_to_surrealql_refuses() -> None:
    with pytest.raises(ValueError, match="no SurrealQL spelling"):
        to_surrealql(Decimal("NaN"))
    with pytest.raises(ValueError, match="opaque CBOR tag 99"):
        to_surrealql(Tagged(99, 1))
    with pytest.raises(TypeError, match="cannot spell a object"):
        to_surrealql(object())
    with pytest.raises(ValueError, match="naive datetime"):
        to_surrealql(datetime(2024, 1, 1))


# --------------------------------------------------------------------------- Table


def test_table() -> None:
    t = Table("person")
    assert t.name == "person"
    assert Table(t) == t
    assert repr(t) == "Table('person')"
    assert str(Table("a-b")) == "`a-b`"
    assert t == Table("person")
    assert t != Table("other")
    assert t != "person"
    assert hash(t) == hash(Table("person"))
    assert pickle.loads(pickle.dumps(t)) == t
    assert copy.deepcopy(t) == t
    match t:
        case Table(name):
            assert name == "person"
    with pytest.raises(TypeError):
        Table(1)  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        t.name = "x"
    with pytest.raises(AttributeError):
        del t.name


# --------------------------------------------------------------------------- RecordID


@pytest.mark.parametrize("key", [
    1, -(2**63), 2**63 - 1, "abc", "1", "", [1, "a"], {"a": [1, {"b": 2}]}, U,
    Range(BoundIncluded(1), BoundExcluded(5)), Range(None, None),
    Range(BoundIncluded([1]), None),
])
def test_record_id_keys(key: Any) -> None:
    rid = RecordID("person", key)
    assert rid.table == rid.table_name == "person"
    assert rid.id == rid.id_part == key
    assert rid == RecordID("person", key)
    assert hash(rid) == hash(RecordID("person", copy.deepcopy(key)))
    assert RecordID.parse(str(rid)) == rid
    assert pickle.loads(pickle.dumps(rid)) == rid
    assert repr(rid) == f"RecordID('person', {key!r})"


def test_record_id_tuple_key_is_a_list() -> None:
    assert RecordID("t", (1, 2)).id == [1, 2]


def test_record_id_table_object() -> None:
    assert RecordID(Table("t"), 1) == RecordID("t", 1)


@pytest.mark.parametrize(("table", "key", "error"), [
    (1, 1, TypeError),
    ("t", True, TypeError),
    ("t", 1.5, TypeError),
    ("t", None, TypeError),
    ("t", 2**63, ValueError),
    ("t", -(2**63) - 1, ValueError),
    ("t", {1: 2}, TypeError),
    ("t", Range(BoundIncluded(1.5), None), TypeError),
])
def test_record_id_rejects(table: Any, key: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        RecordID(table, key)


def test_record_id_nested_range_key_is_refused() -> None:
    with pytest.raises(TypeError, match="not Range"):
        RecordID("t", Range(BoundIncluded(Range(None, None)), None))


def test_record_id_equality() -> None:
    assert RecordID("t", 1) != RecordID("t", "1")
    assert RecordID("t", 1) != RecordID("u", 1)
    assert RecordID("t", 1) != RecordID("t", 2)
    assert RecordID("t", 1) != "t:1"
    assert {RecordID("t", [1]): 1}[RecordID("t", [1])] == 1


def test_record_id_is_immutable() -> None:
    rid = RecordID("t", 1)
    with pytest.raises(AttributeError):
        rid.id = 2
    with pytest.raises(AttributeError):
        del rid.table
    match rid:
        case RecordID(table, key):
            assert (table, key) == ("t", 1)


@pytest.mark.parametrize(("rid", "text"), [
    (RecordID("person", 1), "person:1"),
    (RecordID("person", -1), "person:-1"),
    (RecordID("person", "tobie"), "person:tobie"),
    (RecordID("person", "1"), "person:⟨1⟩"),
    (RecordID("person", "x y"), "person:⟨x y⟩"),
    (RecordID("a b", "c"), "`a b`:c"),
    (RecordID("t", [1, "a"]), "t:[1, 'a']"),
    (RecordID("t", {"a": 1}), "t:{ a: 1 }"),
    (RecordID("t", U), 't:u"018e3e5c-0000-7000-8000-000000000000"'),
    (RecordID("t", Range(BoundIncluded(1), BoundExcluded(5))), "t:1..5"),
    (RecordID("t", Range(BoundExcluded(1), BoundIncluded(5))), "t:1>..=5"),
    (RecordID("t", Range(None, BoundExcluded("a b"))), "t:..⟨a b⟩"),
    (RecordID("t", Range(BoundIncluded("a"), None)), "t:a.."),
    (RecordID("t", Range(None, None)), "t:.."),
])
def test_record_id_str(rid: RecordID, text: str) -> None:
    assert str(rid) == text
    assert to_surrealql(rid) == text


# --------------------------------------------------------------------------- parse


@pytest.mark.parametrize(("text", "table", "key"), [
    ("person:1", "person", 1),
    ("person:+7", "person", 7),
    ("person:-7", "person", -7),
    ("person:-9223372036854775808", "person", -(2**63)),
    ("person:-9223372036854775809", "person", "-9223372036854775809"),
    ("person:9223372036854775808", "person", "9223372036854775808"),
    ("person:⟨1⟩", "person", "1"),
    ("person:`1`", "person", "1"),
    ("person:`x y`", "person", "x y"),
    ("person:tobie", "person", "tobie"),
    ("person:1abc", "person", "1abc"),
    ("person:rand", "person", "rand"),
    ("`a b`:c", "a b", "c"),
    ("⟨a b⟩:c", "a b", "c"),
    ("t:⟨a\\⟩b⟩", "t", "a⟩b"),
    ("t:`a\\`b\\\\c`", "t", "a`b\\c"),
    ("t:`\\n\\t\\u{41}\\u0042\\/`", "t", "\n\tAB/"),
    ("t:[1, 'a', \"b\", -2, 1.5, 1e3, 2f, 1.50dec, 1_000, 1d, 1h30m, 1dec]", "t",
     [1, "a", "b", -2, 1.5, 1000.0, 2.0, Decimal("1.50"), 1000, Duration.parse("1d"),
      Duration.parse("1h30m"), Decimal(1)]),
    ("t:[true, false, NULL, NONE, null, none]", "t", [True, False, NULL, None, NULL, None]),
    ("t:[NaN, Infinity, -Infinity]", "t", [math.nan, math.inf, -math.inf]),
    ("t:[]", "t", []),
    ("t:[ 1 , 2 , ]", "t", [1, 2]),
    ("t:{}", "t", {}),
    ("t:{ a: 1, 'b c': [2], \"d\": { e: 3 }, `f g`: 4, }", "t",
     {"a": 1, "b c": [2], "d": {"e": 3}, "f g": 4}),
    ("t:[ /* c */ 1, -- c\n 2 // c\n , 3 # c\n ]", "t", [1, 2, 3]),
    ('t:u"018e3e5c-0000-7000-8000-000000000000"', "t", U),
    ("t:u'018e3e5c-0000-7000-8000-000000000000'", "t", U),
    ('t:[u"018e3e5c-0000-7000-8000-000000000000"]', "t", [U]),
    ('t:[s"x", r"a:1", b"01FF"]', "t", ["x", RecordID("a", 1), b"\x01\xff"]),
    ('t:[d"2024-01-01T00:00:00.123456789Z"]', "t",
     [Datetime(2024, 1, 1, 0, 0, 0, 123456, UTC, nanosecond=789)]),
    ("t:[other:1, `x y`:2, ⟨z⟩:a]", "t",
     [RecordID("other", 1), RecordID("x y", 2), RecordID("z", "a")]),
    ("t:1..5", "t", Range(BoundIncluded(1), BoundExcluded(5))),
    ("t:1..=5", "t", Range(BoundIncluded(1), BoundIncluded(5))),
    ("t:1>..5", "t", Range(BoundExcluded(1), BoundExcluded(5))),
    ("t:..5", "t", Range(None, BoundExcluded(5))),
    ("t:..=5", "t", Range(None, BoundIncluded(5))),
    ("t:1..", "t", Range(BoundIncluded(1), None)),
    ("t:1>..", "t", Range(BoundExcluded(1), None)),
    ("t:..", "t", Range(None, None)),
    ("t:[1]..[2]", "t", Range(BoundIncluded([1]), BoundExcluded([2]))),
    ("t:a..⟨b c⟩", "t", Range(BoundIncluded("a"), BoundExcluded("b c"))),
    ("  t:1  ", None, None),
])
def test_parse(text: str, table: str | None, key: Any) -> None:
    rid = RecordID.parse(text)
    if table is None:
        assert rid == RecordID("t", 1)
        return
    assert rid.table == table
    if isinstance(key, list) and any(isinstance(k, float) and math.isnan(k) for k in key):
        assert repr(rid.id) == repr(key)
    else:
        assert rid.id == key
        assert type(rid.id) is type(key)


@pytest.mark.parametrize("text", [
    "",
    "person",
    "person:",
    ":1",
    "person:1 x",
    "person:-",
    "person:-x",
    "t:⟨abc",
    "t:`a\\q`",
    "t:`\\u{zz}`",
    "t:`\\u{12`",
    "t:[1, 2",
    "t:[1 2]",
    "t:{a 1}",
    "t:{a: 1 b: 2}",
    "t:[@]",
    "t:[foo]",
    "t:[u\"not-a-uuid\"]",
    "t:[d\"yesterday\"]",
    "t:[b\"zz\"]",
    "t:[r\"nope\"]",
    "t:rand()",
    "t:ULID()",
    "t:uuid()",
    "t:1..=",
    "t:!",
])
def test_parse_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="invalid record id"):
        RecordID.parse(text)


def test_parse_needs_text() -> None:
    with pytest.raises(TypeError):
        RecordID.parse(1)  # type: ignore[arg-type]


def test_parse_round_trips_every_spelling() -> None:
    keys: list[Any] = [0, -5, "a", "1", "a b", "a⟩b\\c", "", [1, [2, {"x": "y"}]],
                       {"a b": None, "n": NULL, "f": 1.5, "d": Decimal("2.5")}, U, [True],
                       [Duration.parse("1h30m"), Duration(0)]]
    for key in keys:
        rid = RecordID("x-y", key)
        assert RecordID.parse(str(rid)) == rid, str(rid)


# --------------------------------------------------------------------------- StringRecordID


def test_string_record_id() -> None:
    s = StringRecordID("person:1")
    assert s.text == str(s) == "person:1"
    assert StringRecordID(s) == s
    assert repr(s) == "StringRecordID('person:1')"
    assert s == StringRecordID("person:1")
    assert s != StringRecordID("person:2")
    assert s != "person:1"
    assert hash(s) == hash(StringRecordID("person:1"))
    assert pickle.loads(pickle.dumps(s)) == s
    with pytest.raises(TypeError):
        StringRecordID(1)  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        s.text = "x"
    with pytest.raises(AttributeError):
        del s.text
    match s:
        case StringRecordID(text):
            assert text == "person:1"


@pytest.mark.parametrize("text", [
    "person:1; DELETE b", "person:1 DELETE b", "person:abc-def", "person:1.5",
    "person:rand()", "person:ulid()", "a:b:c", "person", "", ":1", "person:`a`;",
    "person:1\x00", "person:⟨x⟩⟩",
])
def test_string_record_id_refuses_more_than_one_record_id(text: str) -> None:
    # The server parses tag-8 text only up to the end of its first record id and drops
    # the rest (person:1; DELETE b selects person:1): refused before it can be sent.
    with pytest.raises(EncodingError, match="invalid record id") as caught:
        StringRecordID(text)
    assert isinstance(caught.value, ValueError)
    assert "RecordID(table, key)" in str(caught.value)


@pytest.mark.parametrize("text", [
    "person:1", " person:1 ", "person:`1; DELETE b`", "person:⟨a\\⟩b⟩", "t:1..5", "t:..",
    "person:[1, 'a']", "person:{ a: 1 }", "`a; b`:x",
    'person:u"018e3e5c-0000-7000-8000-00000000000a"',
])
def test_string_record_id_accepts_one_record_id(text: str) -> None:
    assert StringRecordID(text).text == text


def test_string_record_id_from_the_server_is_kept_unchecked() -> None:
    srid = _new_string_record_id("person:1 trailing")
    assert type(srid) is StringRecordID
    assert srid.text == "person:1 trailing"
    assert StringRecordID(srid) == srid  # a StringRecordID is not parsed again


def test_geometry_spelling() -> None:
    line = GeometryLine(GeometryPoint(1, 2), GeometryPoint(3, 4))
    assert to_surrealql(line) == \
        "{ type: 'LineString', coordinates: [[1.0f, 2.0f], [3.0f, 4.0f]] }"
