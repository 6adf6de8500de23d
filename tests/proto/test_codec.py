"""The CBOR codec (surreal_proto._codec): the tag table of protocol.md §5.1 both ways, the
encoding choices of §5.3, and what happens with bad input on either side."""

from __future__ import annotations

import contextlib
import enum
import ipaddress
import math
import re
import time
import tracemalloc
import uuid
from collections import OrderedDict, defaultdict
from datetime import UTC, date, datetime, timedelta, timezone
from datetime import time as time_of_day
from decimal import Decimal
from fractions import Fraction
from typing import Any

import cbor2
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
    GeometryCollection,
    GeometryLine,
    GeometryMultiLine,
    GeometryMultiPoint,
    GeometryMultiPolygon,
    GeometryPoint,
    GeometryPolygon,
    Range,
    RecordID,
    RemoteProtocolError,
    StringRecordID,
    SurrealSet,
    Table,
    Tagged,
    UnencodableTypeError,
    _codec,
)
from surreal_proto._codec import decode, encode
from surreal_proto._datetime import _datetime_from_compact

from .codec_impls import both_implementations

implementation = both_implementations()

U = uuid.UUID("018e3e5c-0000-7000-8000-000000000000")


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


def tag(number: int, value: Any) -> bytes:
    return cbor2.dumps(cbor2.CBORTag(number, value))


def roundtrip(value: Any) -> Any:
    return decode(encode(value))


# =========================================================================== encoding


@pytest.mark.parametrize(("value", "wire"), [
    (None, "c6 f6"),
    (NULL, "f6"),
    (True, "f5"),
    (False, "f4"),
    (0, "00"),
    (-1, "20"),
    (2**63 - 1, "1b 7fffffffffffffff"),
    (-(2**63), "3b 7fffffffffffffff"),
    (1.5, "fb 3ff8000000000000"),
    ("a", "61 61"),
    (b"\x01", "41 01"),
    (bytearray(b"\x01"), "41 01"),
    (memoryview(b"\x01"), "41 01"),
    ([1, (2,)], "82 01 81 02"),
    ({"a": None}, "a1 61 61 c6 f6"),
    (OrderedDict(a=1), "a1 61 61 01"),
    (defaultdict(int, a=1), "a1 61 61 01"),
    (U, "d825 50 018e3e5c000070008000000000000000"),
    (Decimal("1.50"), "ca 64 312e3530"),
    (Decimal("1E+2"), "ca 63 313030"),
    (Decimal("-1E-3"), "ca 66 2d302e303031"),
    (Table("t"), "c7 61 74"),
    (RecordID("person", 1), "c8 82 66 706572736f6e 01"),
    (RecordID("t", "a"), "c8 82 61 74 61 61"),
    (RecordID("t", [1]), "c8 82 61 74 81 01"),
    (RecordID("t", {"a": 1}), "c8 82 61 74 a1 61 61 01"),
    (RecordID("t", U), "c8 82 61 74 d825 50 018e3e5c000070008000000000000000"),
    (RecordID("t", Range(BoundIncluded(1), BoundExcluded(5))),
     "c8 82 61 74 d831 82 d832 01 d833 05"),
    (StringRecordID("t:1"), "c8 63 743a31"),
    (datetime(2024, 1, 1, 0, 0, 0, 500000, UTC), "cc 82 1a65920080 1a1dcd6500"),
    (datetime(2024, 1, 1, 1, tzinfo=timezone(timedelta(hours=1))), "cc 82 1a65920080 00"),
    (Datetime(2024, 1, 1, 0, 0, 0, 500000, UTC, nanosecond=1), "cc 82 1a65920080 1a1dcd6501"),
    (Datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC), "cc 82 20 00"),
    (Duration(0), "ce 80"),
    (Duration.parse("1h2m3s"), "ce 81 19 0e8b"),
    (Duration.parse("1500ms"), "ce 82 01 1a1dcd6500"),
    (timedelta(seconds=1, microseconds=1), "ce 82 01 1903e8"),
    (timedelta(0), "ce 80"),
    (Range(BoundIncluded(1), BoundIncluded(5)), "d831 82 d832 01 d832 05"),
    (Range(None, BoundExcluded(5)), "d831 82 f6 d833 05"),
    (Range(None, None), "d831 82 f6 f6"),
    (BoundIncluded(1), "d832 01"),
    (BoundExcluded(None), "d833 c6 f6"),
    (SurrealSet([1, 2]), "d838 82 01 02"),
    ({1}, "d838 81 01"),
    (frozenset({1}), "d838 81 01"),
    (File("b", "k"), "d837 82 61 62 61 6b"),
    (Future("x"), "cf 61 78"),
    (GeometryPoint(1.5, 2.5), "d858 82 f93e00 f94100"),
    (GeometryPoint(0.1, 1e10), "d858 82 fb3fb999999999999a fa501502f9"),
    (GeometryLine(GeometryPoint(1, 2), GeometryPoint(3, 4)),
     "d859 82 d858 82 f93c00 f94000 d858 82 f94200 f94400"),
    (GeometryMultiPoint(), "d85b 80"),
    (GeometryCollection(GeometryMultiPoint()), "d85e 81 d85b 80"),
    (Tagged(1000, [1.5, {"a": 0.1}, (2,)]), "d903e8 83 f93e00 a1 61 61 fb3fb999999999999a 81 02"),
    (Tagged(1000, NULL), "d903e8 f6"),
    (Tagged(1000, None), "d903e8 c6 f6"),
    (cbor2.CBORTag(1000, 1), "d903e8 01"),
])
def test_encode(value: Any, wire: str) -> None:
    assert encode(value) == h(wire)


@pytest.mark.parametrize(("value", "wire"), [
    (math.nan, "f97e00"), (math.inf, "f97c00"), (-0.0, "f98000"), (65504.0, "f97bff"),
    (1e300, "fb7e37e43c8800759c"), (3.4e38, "fb47eff933c78cdfad"),
    (5.960464477539063e-08, "f90001"), (100000.0, "fa47c35000"), (1.0 + 2**-23, "fa3f800001"),
])
def test_short_float(value: float, wire: str) -> None:
    assert _codec._short_float(value) == h(wire)


def test_encode_subclasses_like_their_base() -> None:
    class MyRecordID(RecordID):
        pass

    class MyDatetime(Datetime):
        pass

    class Stamp(datetime):
        nanosecond = 7

    class Odd(datetime):
        nanosecond = "x"

    base = datetime(2024, 1, 1, tzinfo=UTC)
    assert encode(MyRecordID("t", 1)) == encode(RecordID("t", 1))
    assert encode(MyDatetime(2024, 1, 1, tzinfo=UTC, nanosecond=3)) == \
        encode(Datetime.from_datetime(base, 3))
    assert encode(Stamp(2024, 1, 1, tzinfo=UTC)) == encode(Datetime.from_datetime(base, 7))
    assert encode(Odd(2024, 1, 1, tzinfo=UTC)) == encode(base)


def test_int_subclasses_and_str_subclasses_encode_natively() -> None:
    class Colour(enum.IntEnum):
        RED = 1

    class Name(str):
        pass

    assert encode(Colour.RED) == b"\x01"
    assert encode(Name("a")) == b"\x61\x61"


def test_record_id_prefix_cache_is_bounded() -> None:
    _codec._RECORD_ID_PREFIXES.clear()
    for i in range(_codec._PREFIX_CACHE_SIZE + 5):
        assert _codec.cbor2_decode(_codec.cbor2_encode(RecordID(f"t{i}", i))) \
            == RecordID(f"t{i}", i)
    assert len(_codec._RECORD_ID_PREFIXES) <= _codec._PREFIX_CACHE_SIZE


def test_encoders_are_pooled_and_the_pool_is_bounded() -> None:
    _codec._POOL.clear()
    encode = _codec.cbor2_encode  # the reference's own machinery
    assert encode([1]) == h("81 01")  # an empty pool makes a new encoder, then keeps it
    assert len(_codec._POOL) == 1
    extra = [_codec._new_encoder() for _ in range(_codec._POOL_SIZE)]
    _codec._POOL.extend(extra)  # one more than the pool holds
    assert encode([1]) == h("81 01")
    assert len(_codec._POOL) == _codec._POOL_SIZE


def test_a_pooled_encoder_is_clean_after_a_failure() -> None:
    _codec._POOL.clear()
    encode = _codec.cbor2_encode  # the reference's own machinery
    inner = [1, 2]
    for bad in ([inner, {"x": [inner, 2**70]}], [inner, {1: 2}], [inner, object()]):
        with pytest.raises(EncodingError):
            encode(bad)
        assert encode([inner, {"a": inner}]) == h("82 82 01 02 a1 61 61 82 01 02")
    assert len(_codec._POOL) == 1


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 2**64, -(2**64) - 1, 10**30])
def test_int_out_of_range(value: int) -> None:
    for wrapped in (value, [value], {"a": value}, RecordID("t", [value])):
        with pytest.raises(EncodingError, match="64-bit") as info:
            encode(wrapped)
        assert isinstance(info.value, ValueError)
        assert str(value) in str(info.value)
        assert "Decimal" in str(info.value)


def test_naive_datetime_is_refused() -> None:
    for value in (datetime(2024, 1, 1), Datetime(2024, 1, 1), [datetime(2024, 1, 1)]):
        with pytest.raises(EncodingError, match=r"naive datetime.*timezone\.utc"):
            encode(value)


def test_broken_tzinfo_is_refused() -> None:
    class Nowhere(timezone.__base__):  # type: ignore[misc,name-defined]
        def utcoffset(self, dt: Any) -> None:
            return None

    with pytest.raises(EncodingError, match="naive"):
        encode(datetime(2024, 1, 1, tzinfo=Nowhere()))


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity")])
def test_non_finite_decimal_is_refused(value: Decimal) -> None:
    with pytest.raises(EncodingError, match="finite"):
        encode(value)


def test_negative_timedelta_is_refused() -> None:
    with pytest.raises(EncodingError, match="never negative"):
        encode(timedelta(seconds=-1))


@pytest.mark.parametrize("key", [1, 1.5, (1,), None, b"a", RecordID("t", 1)])
def test_non_text_map_keys_are_refused(key: Any) -> None:
    for value in ({key: 1}, [{"a": {key: 1}}], OrderedDict({key: 1})):
        with pytest.raises(UnencodableTypeError, match="object keys must be str") as info:
            encode(value)
        assert isinstance(info.value, TypeError)
        assert isinstance(info.value, EncodingError)


@pytest.mark.parametrize(("value", "hint"), [
    (date(2024, 1, 1), "no date type"),
    (time_of_day(1, 2), "no time-of-day type"),
    (1j, "complex"),
    (Fraction(1, 3), "Decimal or a float"),
    (re.compile("a"), "regex"),
    (ipaddress.ip_address("127.0.0.1"), "convert it"),
    (ipaddress.ip_network("10.0.0.0/8"), "convert it"),
    (ipaddress.ip_interface("::1/128"), "convert it"),
    (cbor2.CBORSimpleValue(16), "convert it"),
    (cbor2.undefined, "convert it"),
    (object(), "convert it"),
    (type("Custom", (), {})(), "Custom"),
    (type("MyDate", (date,), {})(2024, 1, 1), "MyDate"),
])
def test_unencodable(value: Any, hint: str) -> None:
    with pytest.raises(UnencodableTypeError, match=hint) as info:
        encode(value)
    assert "Supported:" in str(info.value)


def test_cycles_and_depth_are_refused() -> None:
    cycle: list[Any] = []
    cycle.append(cycle)
    with pytest.raises(EncodingError, match="cyclic"):
        encode(cycle)
    loop: dict[str, Any] = {}
    loop["a"] = loop
    with pytest.raises(EncodingError):
        encode(loop)
    deep: Any = 1
    for _ in range(1000):
        deep = [deep]
    with pytest.raises(EncodingError):
        encode(deep)


# =========================================================================== decoding


@pytest.mark.parametrize(("wire", "value"), [
    ("c6 f6", None),
    ("c6 01", None),
    ("f6", NULL),
    ("82 f6 c6f6", [NULL, None]),
    ("a2 61 61 f6 61 62 c6 f6", {"a": NULL, "b": None}),
    ("f9 3e00", 1.5),
    ("fa 3fc00000", 1.5),
    ("fb 3ff8000000000000", 1.5),
    ("f9 7c00", math.inf),
    ("c7 61 74", Table("t")),
    ("c8 82 61 74 01", RecordID("t", 1)),
    ("c8 82 61 74 61 61", RecordID("t", "a")),
    ("c8 82 61 74 82 01 82 02 f6", RecordID("t", [1, [2, NULL]])),
    ("c8 82 61 74 a1 61 61 c6 f6", RecordID("t", {"a": None})),
    ("c8 82 61 74 d825 50 018e3e5c000070008000000000000000", RecordID("t", U)),
    ("c8 82 61 74 d831 82 d832 01 d833 05",
     RecordID("t", Range(BoundIncluded(1), BoundExcluded(5)))),
    ("c8 63 743a31", StringRecordID("t:1")),
    ("c9 78 24 30313865336535632d303030302d373030302d383030302d303030303030303030303030", U),
    ("d825 50 018e3e5c000070008000000000000000", U),
    ("ca 63 312e35", Decimal("1.5")),
    ("ca 64 312e3530", Decimal("1.50")),
    ("cc 82 1a65920080 1a1dcd6501", Datetime(2024, 1, 1, 0, 0, 0, 500000, UTC, nanosecond=1)),
    ("cc 82 20 00", Datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC)),
    ("cc 81 1a65920080", Datetime(2024, 1, 1, tzinfo=UTC)),
    ("cd 65 31683330 6d", Duration.parse("1h30m")),
    ("ce 80", Duration(0)),
    ("ce 81 19 0e8b", Duration.parse("1h2m3s")),
    ("ce 82 01 1a1dcd6500", Duration.parse("1500ms")),
    ("cf 61 78", Future("x")),
    ("d831 82 f6 f6", Range(None, None)),
    ("d831 82 d832 f6 d833 c6f6", Range(BoundIncluded(NULL), BoundExcluded(None))),
    ("d831 82 d832 82 01 f6 f6", Range(BoundIncluded([1, NULL]), None)),
    ("d832 01", BoundIncluded(1)),
    ("d837 82 61 62 61 6b", File("b", "k")),
    ("d838 83 01 f6 a1 61 61 c6f6", SurrealSet([1, NULL, {"a": None}])),
    ("d838 80", SurrealSet()),
    ("d858 82 f93e00 f94100", GeometryPoint(1.5, 2.5)),
    ("d858 82 01 02", GeometryPoint(1, 2)),
    ("d858 82 ca 63 312e35 ca 61 32", GeometryPoint(1.5, 2)),
    ("d859 82 d858 82 01 02 d858 82 03 04",
     GeometryLine(GeometryPoint(1, 2), GeometryPoint(3, 4))),
    ("d85a 81 d859 82 d858 82 01 02 d858 82 03 04",
     GeometryPolygon(GeometryLine(GeometryPoint(1, 2), GeometryPoint(3, 4)))),
    ("d85b 81 d858 82 01 02", GeometryMultiPoint(GeometryPoint(1, 2))),
    ("d85c 80", GeometryMultiLine()),
    ("d85d 80", GeometryMultiPolygon()),
    ("d85e 82 d858 82 01 02 d85b 80",
     GeometryCollection(GeometryPoint(1, 2), GeometryMultiPoint())),
    ("d903e8 82 01 f6", Tagged(1000, [1, NULL])),
    ("d903e8 a1 61 61 82 c6f6 80", Tagged(1000, {"a": [None, []]})),
    ("d903e8 d903e9 81 01", Tagged(1000, Tagged(1001, [1]))),
    ("d903e8 c8 82 61 74 81 01", Tagged(1000, RecordID("t", [1]))),
    ("cc 82 1b 000009184e72a000 00", Tagged(12, [10_000_000_000_000, 0])),
    ("cc 82 3b 000000e8d4a50fff 00", Tagged(12, [-1_000_000_000_000, 0])),
    ("cc 81 1b 000009184e72a000", Tagged(12, [10_000_000_000_000])),
    ("cc 82 3b 0000000e7791f6ff 00", Datetime(1, 1, 1, tzinfo=UTC)),
])
def test_decode(wire: str, value: Any) -> None:
    decoded = decode(h(wire))
    assert decoded == value
    assert type(decoded) is type(value)


def test_decode_accepts_any_buffer() -> None:
    assert decode(bytearray(b"\xf6")) is NULL
    assert decode(memoryview(b"\xc6\xf6")) is None


def test_decode_keeps_arrays_as_lists() -> None:
    value = decode(h("c8 82 61 74 82 82 01 02 a1 61 61 81 03"))
    assert type(value.id) is list
    assert type(value.id[0]) is list
    assert type(value.id[1]["a"]) is list
    tagged = decode(h("d903e8 82 82 01 02 a1 61 61 81 03"))
    assert type(tagged.value[0]) is list
    assert type(tagged.value[1]) is dict


def test_decode_record_id_as_map_key() -> None:
    value = decode(h("a1 c8 82 61 74 81 01 01"))
    assert value == {RecordID("t", [1]): 1}


def test_null_and_none_survive_a_read_modify_write() -> None:
    record = decode(h("a3 62 6964 c8 82 61 74 01 61 61 f6 61 62 c6 f6"))
    assert record == {"id": RecordID("t", 1), "a": NULL, "b": None}
    assert encode(record) == h("a3 62 6964 c8 82 61 74 01 61 61 f6 61 62 c6 f6")


def test_decode_without_null_bytes_skips_the_swap() -> None:
    assert decode(h("82 01 02")) == [1, 2]
    assert decode(h("a1 61 61 01")) == {"a": 1}
    assert decode(h("fb 3ff6f6f6f6f6f6f6")) == 1.4352941176470586  # f6 bytes in a float
    assert decode(h("c6 01")) is None  # a NONE whose placeholder is not null


def test_swap_reaches_every_array_and_map_outside_tags() -> None:
    wire = h("83 f6 82 c6f6 81 f6 a2 61 61 82 f6 a1 61 62 c6f6 61 63 81 81 c6f6")
    assert decode(wire) == [NULL, [None, [NULL]], {"a": [NULL, {"b": None}], "c": [[None]]}]
    value = decode(h("a1 61 61 82 01 02"))  # a 0xc6-free, 0xf6-free map: no swap at all
    assert value == {"a": [1, 2]}


def test_datetime_day_cache_is_bounded() -> None:
    _codec._DAY_STATE.clear()
    day = 86400
    for i in range(_codec._DAY_CACHE_SIZE + 5):
        secs = (i - 2000) * day + 3723
        assert _codec.cbor2_decode(cbor2.dumps(cbor2.CBORTag(12, [secs, 5]))).timestamp_ns() \
            == secs * 1_000_000_000 + 5
    assert len(_codec._DAY_STATE) <= _codec._DAY_CACHE_SIZE


def test_datetime_fast_path_matches_the_slow_path() -> None:
    for secs in (0, -1, 59, 60, 3599, 3600, 86399, 86400, 1_704_067_199, _codec._MIN_SECS,
                 _codec._MAX_SECS):
        for nanos in (0, 1, 999, 1000, 999_999_999):
            fast = decode(cbor2.dumps(cbor2.CBORTag(12, [secs, nanos])))
            assert fast == _datetime_from_compact(secs, nanos)
            assert fast.nanosecond == nanos % 1000
            assert type(fast) is Datetime


def test_points_with_mixed_coordinates() -> None:
    assert decode(h("d858 82 f93e00 02")) == GeometryPoint(1.5, 2.0)
    assert type(decode(h("d858 82 f93e00 02")).latitude) is float


# --------------------------------------------------------------------------- IANA tags


def test_iana_tags_cbor2_knows() -> None:
    # SurrealDB sends none of these (protocol.md §5.1); cbor2 decodes them itself.
    assert decode(tag(2, b"\x01\x00")) == 256
    assert decode(tag(0, "2024-01-01T00:00:00Z")) == datetime(2024, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(("number", "payload"), [
    (1, "not a number"),
    (2, "not bytes"),
    (30, [1]),
    (35, 1),
    (52, "x"),
    (258, 5),
    (100, "x"),
])
def test_iana_tags_cbor2_cannot_decode_stay_opaque(number: int, payload: Any) -> None:
    decoded = decode(tag(number, payload))
    assert decoded == Tagged(number, payload)


def test_iana_fallback_still_decodes_surrealdb_tags() -> None:
    wire = cbor2.dumps([cbor2.CBORTag(1, "x"), cbor2.CBORTag(37, U.bytes),
                        cbor2.CBORTag(0, "2024-01-01T00:00:00.123456789Z"),
                        cbor2.CBORTag(8, ["t", 1]), None, cbor2.CBORTag(6, None)])
    assert decode(wire) == [Tagged(1, "x"), U,
                            Datetime(2024, 1, 1, 0, 0, 0, 123456, UTC, nanosecond=789),
                            RecordID("t", 1), NULL, None]


def test_iana_fallback_swaps_null_and_none_once() -> None:
    # The second try hands _SEMANTIC's decoders mutable payloads: each null and NONE in them
    # must be swapped exactly once.
    none = cbor2.CBORTag(6, None)
    wire = cbor2.dumps([cbor2.CBORTag(1, {"a": none, "b": None, "c": [None, none]}),
                        cbor2.CBORTag(30, [{"a": None, "b": none}]),
                        None, none, {"k": None, "n": none, "l": [[None, {"m": none}]], "s": 1}])
    assert decode(wire) == [Tagged(1, {"a": None, "b": NULL, "c": [NULL, None]}),
                            Tagged(30, [{"a": NULL, "b": None}]),
                            NULL, None, {"k": NULL, "n": None, "l": [[NULL, {"m": None}]], "s": 1}]
    assert decode(tag(1, [None, none])) == Tagged(1, [NULL, None])


def test_unknown_tags_round_trip_byte_for_byte() -> None:
    for wire in ("d903e8 82 f93e00 a1 61 61 fb3fb999999999999a",
                 "d9ffff 83 01 f6 c6f6",
                 "da00010000 a0",
                 "db0000000100000000 80",
                 "d8 40 41 00"):
        assert encode(decode(h(wire))) == h(wire)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(("wire", "match"), [
    ("", "premature end"),
    ("01 02", "bytes after the value"),
    ("82 01", "premature end"),
    ("81", "premature end"),
    ("ff", "break"),
    ("61 ff", "text string"),
    ("1c", "undecodable"),
    ("c7 01", "tag 7"),
    ("c8 83 61 74 01 02", "tag 8"),
    ("c8 82 01 01", "tag 8"),
    ("c8 01", "tag 8"),
    ("c9 01", "tag 9"),
    ("c9 61 78", "badly formed"),
    ("d825 42 0102", "tag 37"),
    ("d825 01", "tag 37"),
    ("ca 01", "tag 10"),
    ("ca 61 78", "ConversionSyntax"),
    ("c0 01", "tag 0"),
    ("c0 61 78", "isoformat"),
    ("cc 83 01 02 03", "tag 12"),
    ("cc 82 01 3b7fffffffffffffff", "tag 12"),
    ("cc 82 01 1a3b9aca00", "tag 12"),
    ("cc 82 61 78 00", "tag 12"),
    ("cc 80", "tag 12"),
    ("cc 01", "tag 12"),
    ("cd 01", "tag 13"),
    ("cd 61 78", "invalid duration"),
    ("ce 83 01 02 03", "tag 14"),
    ("ce 82 20 00", "tag 14"),
    ("ce 82 01 1a3b9aca00", "tag 14"),
    ("ce 81 61 78", "tag 14"),
    ("ce 81 3b7fffffffffffffff", "tag 14"),
    ("ce 01", "tag 14"),
    ("cf 01", "tag 15"),
    ("d831 81 f6", "tag 49"),
    ("d831 82 01 f6", "tag 49"),
    ("d831 82 f6 01", "tag 49"),
    ("d831 01", "tag 49"),
    ("d837 82 61 62 01", "tag 55"),
    ("d837 81 61 62", "tag 55"),
    ("d838 01", "tag 56"),
    ("d858 81 01", "tag 88"),
    ("d858 82 61 78 01", "coordinate"),
    ("d858 01", "tag 88"),
    ("d859 81 01", "tag 89"),
    ("d85a 81 d858 82 01 02", "tag 90"),
    ("d85e 01", "tag 94"),
    ("d85e 81 f6", "tag 94"),  # a collection of things that are not geometries
    ("d85e 81 c6 f6", "tag 94"),
    ("d85e 81 82 01 02", "tag 94"),
    ("d85e 82 d858 82 01 02 01", "tag 94"),
])
def test_decode_rejects(wire: str, match: str) -> None:
    with pytest.raises(RemoteProtocolError, match=match) as info:
        decode(h(wire))
    assert info.value.__cause__ is not None or "after the value" in str(info.value)


def test_decode_depth_limit() -> None:
    assert decode(b"\x81" * 200 + b"\x01") is not None
    with pytest.raises(RemoteProtocolError, match="depth"):
        decode(b"\x81" * 100_000 + b"\x01")
    with pytest.raises(RemoteProtocolError, match="depth"):
        decode(b"\xc6" * 100_000 + b"\xf6")
    with pytest.raises(RemoteProtocolError, match="depth"):
        decode(b"\x81" * 20 + b"\x01", max_depth=10)
    assert decode(b"\x81" * 10 + b"\x01", max_depth=10) is not None


@pytest.mark.parametrize("head", [
    "5b 1000000000000000",  # a byte string of 2**60 bytes
    "7b 1000000000000000",  # a text string of 2**60 bytes
    "9b 1000000000000000",  # an array of 2**60 items
    "bb 1000000000000000",  # a map of 2**60 pairs
    "5b ffffffffffffffff",
    "d903e8 5b 1000000000000000",
])
def test_huge_declared_lengths_fail_fast_without_allocating(head: str) -> None:
    data = h(head) + b"abc"
    tracemalloc.start()
    try:
        start = time.perf_counter()
        with pytest.raises(RemoteProtocolError, match="undecodable"):
            decode(data)
        elapsed = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < 1.0
    assert peak < 10 * 1024 * 1024


def test_decode_never_raises_anything_else() -> None:
    for data in (b"\x1f", b"\x5f\x01", b"\xbf\x01", b"\xf8\x01", b"\xa1\x01", b"\x9f\x01"):
        with contextlib.suppress(RemoteProtocolError):
            decode(data)
