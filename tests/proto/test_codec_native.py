"""The native codec (surreal_proto._speedups) against the cbor2 reference (the functions
``cbor2_encode`` and ``cbor2_decode`` of surreal_proto._codec): the same bytes, values and
errors for random values and random or damaged bytes; nesting limits; no leaks; and how the
codec picks its implementation."""

from __future__ import annotations

import enum
import gc
import sys
import tracemalloc
import uuid
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import surreal_proto
from surreal_proto import (
    NULL,
    Datetime,
    Duration,
    EncodingError,
    GeometryPoint,
    RecordID,
    RemoteProtocolError,
    SurrealSet,
    Tagged,
    _codec,
)

from .codec_impls import NATIVE
from .test_codec_hypothesis import text, values

pytestmark = pytest.mark.skipif(NATIVE is None, reason="surreal_proto._speedups is not built")

DIFF = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


class Colour(enum.IntEnum):
    RED = 1


class Name(str):
    __slots__ = ()


def outcome(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, ...]:
    """What a call gives: the value (its type and repr, so that NULL and None, lists and
    tuples, NaNs... are told apart) or the exception's type and message."""
    try:
        value = fn(*args, **kwargs)
    except Exception as exc:
        return ("error", type(exc), str(exc))
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(20_000)  # for the deepest values of the depth tests
    try:
        return ("value", _shape(value), repr(value))
    finally:
        sys.setrecursionlimit(limit)


def _shape(value: Any) -> list[Any]:
    """The types of ``value`` and of everything inside its containers, in order, flat."""
    shape: list[Any] = []
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        shape.append(kind)
        if kind is list or kind is tuple:
            shape.append(len(item))
            stack.extend(reversed(item))
        elif kind is dict:
            shape.append(len(item))
            for key, value_ in reversed(item.items()):
                stack.extend((value_, key))
        elif kind is Tagged:
            shape.append(item.tag)
            stack.append(item.value)
    return shape


def same_encoding(value: Any) -> None:
    assert outcome(NATIVE.encode, value) == outcome(_codec.cbor2_encode, value)


def same_decoding(data: bytes, **kwargs: Any) -> None:
    assert outcome(NATIVE.decode, data, **kwargs) == outcome(_codec.cbor2_decode, data, **kwargs)


def _view(data: bytes) -> memoryview:
    return memoryview(data)


# Values the native encoder leaves to the reference, or that are refused.
odd_scalars = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.builds(Decimal, st.sampled_from(["NaN", "-Infinity", "1E+3", "1e-7", "-0.000", "12.50"])),
    st.datetimes(timezones=st.sampled_from([None, UTC, timezone(timedelta(hours=2))])),
    st.timedeltas(min_value=timedelta(days=-2), max_value=timedelta(days=2)),
    st.frozensets(st.integers(0, 5), max_size=3), st.sets(text, max_size=3),
    st.builds(bytearray, st.binary(max_size=4)), st.binary(max_size=4).map(_view),
    st.just(Colour.RED), st.builds(Name, text), st.just(date(2024, 1, 1)), st.just(object()),
    st.builds(Duration, st.integers(0, 2**70)),
    st.builds(RecordID, text, st.integers(-(2**63), 2**63 - 1)),
    st.builds(GeometryPoint, st.floats(), st.floats()),
    st.builds(lambda s, n: Datetime(2024, 1, 1, tzinfo=timezone(timedelta(hours=s)),
                                    nanosecond=n), st.integers(-12, 12), st.integers(0, 999)),
    st.builds(uuid.UUID, st.uuids().map(str)),
)
odd_values = st.recursive(
    st.one_of(values, odd_scalars),
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.tuples(children, children),
        st.dictionaries(st.one_of(text, st.builds(Name, text), st.integers(0, 3)), children,
                        max_size=3),
        st.builds(OrderedDict, st.dictionaries(text, children, max_size=2)),
    ),
    max_leaves=12,
)


@DIFF
@given(odd_values)
def test_encode_matches_the_reference(value: Any) -> None:
    same_encoding(value)


@DIFF
@given(values)
def test_decode_matches_the_reference(value: Any) -> None:
    data = _codec.cbor2_encode(value)
    same_decoding(data)
    same_decoding(data, max_depth=3)


@DIFF
@given(values, st.lists(st.tuples(st.integers(0, 2**16), st.integers(0, 255),
                                  st.sampled_from(["set", "insert", "delete"])),
                        min_size=1, max_size=4))
def test_decode_of_damaged_bytes_matches_the_reference(
        value: Any, edits: list[tuple[int, int, str]]) -> None:
    data = bytearray(_codec.cbor2_encode(value))
    for position, byte, how in edits:
        at = position % (len(data) + 1)
        if how == "insert":
            data.insert(at, byte)
        elif at < len(data):
            if how == "set":
                data[at] = byte
            else:
                del data[at]
    same_decoding(bytes(data))


@DIFF
@given(st.binary(max_size=40))
def test_decode_of_random_bytes_matches_the_reference(data: bytes) -> None:
    same_decoding(data)


# Payloads the server's tags could carry, right and wrong.
payloads = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**64), 2**64 - 1), st.floats(), text,
              st.binary(max_size=17), st.just(cbor2.CBORTag(6, None))),
    lambda children: st.one_of(st.lists(children, max_size=3),
                               st.dictionaries(text, children, max_size=2),
                               st.builds(cbor2.CBORTag, st.sampled_from([8, 50, 51, 88]),
                                         children)),
    max_leaves=6,
)
tag_numbers = st.one_of(
    st.sampled_from([0, 1, 2, 6, 7, 8, 9, 10, 12, 13, 14, 15, 21, 37, 49, 50, 51, 55, 56,
                     88, 89, 90, 91, 92, 93, 94, 258, 1004, 55799]),
    st.integers(0, 2**64 - 1),
)


@DIFF
@given(tag_numbers, payloads)
def test_decode_of_any_tag_matches_the_reference(number: int, payload: Any) -> None:
    same_decoding(cbor2.dumps([cbor2.CBORTag(number, payload), None]))


@pytest.mark.parametrize("wire", [
    "cc 82 3b 0000000000000000 00",   # a datetime before year 1: Tagged
    "cc 82 1b 0000000100000000 00",   # after year 9999
    "cc 81 01",                       # one element
    "ce 82 1b 00000002540be401 00",   # a duration beyond the native range
    "d858 82 c4 82 20 03 01",         # a decimal-fraction coordinate (cbor2's tag 4)
    "d858 82 f5 01",                  # a bool coordinate
    "d858 82 3bffffffffffffffff 01",
    "c8 61 78",                       # a record id as text
    "c8 82 61 74 c6 f6",              # a NONE key
    "d831 82 c6f6 f6",                # a NONE bound
    "a1 01 02",                       # an int key
    "a1 81 01 02",                    # an array key
    "a1 c8 82 61 74 01 01",           # a record id key
    "a2 61 61 01 61 61 02",           # a repeated key
    "5f 41 01 ff",                    # indefinite lengths
    "9f 01 ff",
    "bf 61 61 01 ff",
    "f7", "f0", "f8 ff", "f8 10",     # undefined, simple values
    "3b ffffffffffffffff",            # the most negative CBOR int
    "1b ffffffffffffffff",
    "62 c3 28",                       # invalid UTF-8
    "a1 62 c3 28 01",
    "d9 ffff 1c",                     # a reserved head inside a tag
])
def test_decode_edge_cases_match_the_reference(wire: str) -> None:
    same_decoding(bytes.fromhex(wire.replace(" ", "")))


@pytest.mark.parametrize("max_depth", [0, 1, 2, 255, 256, 257, 1000, 1001, -1])
def test_depth_limit_matches_the_reference(max_depth: int) -> None:
    for depth in {0, 1, 2, max_depth - 1, max_depth, max_depth + 1}:
        if depth >= 0:
            for head in (b"\x81", b"\xa1\x61a", b"\xc6", b"\xd8\x32"):
                same_decoding(head * depth + b"\x80", max_depth=max_depth)
    same_decoding(b"\x01", max_depth="3")  # the reference's error for a bad argument


def test_deep_nesting_raises_the_typed_error() -> None:
    for head in (b"\x81", b"\xa1\x61a", b"\xc6", b"\xd8\x38"):
        with pytest.raises(RemoteProtocolError, match="depth"):
            NATIVE.decode(head * 100_000 + b"\xf6")
    deep: Any = 1
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(EncodingError):
        NATIVE.encode(deep)
    deep = {"a": 1}
    for _ in range(100_000):
        deep = {"a": deep}
    with pytest.raises(EncodingError):
        NATIVE.encode(deep)


def test_decode_accepts_buffers_and_refuses_other_arguments() -> None:
    for data in (bytearray(b"\x82\x01\xf6"), memoryview(b"\x82\x01\xf6")):
        assert NATIVE.decode(data) == [1, NULL]
    for args, kwargs in (((b"\x01", 3), {}), ((b"\x01",), {"depth": 3}), ((), {}),
                         (("text",), {})):
        with pytest.raises(TypeError):
            NATIVE.decode(*args, **kwargs)
    assert NATIVE.decode([1]) == _codec.cbor2_decode([1])  # type: ignore[arg-type]


def test_setup_runs_once() -> None:
    with pytest.raises(RuntimeError, match="already"):
        NATIVE.setup({})


def _mixed_records(n: int) -> list[Any]:
    base = Datetime(2024, 1, 1, 12, 30, tzinfo=UTC, nanosecond=5)
    return [{"id": RecordID("person", i), "at": base, "name": f"n{i}", "none": None,
             "null": NULL, "f": 1.5, "d": Decimal("1.25"), "u": uuid.UUID(int=i),
             "p": GeometryPoint(1.0, 2.5), "t": Tagged(1000, [i, "x"]),
             "dur": Duration(i * 1_000_000_001), "set": SurrealSet([i, i + 1])} for i in range(n)]


def test_no_leaks() -> None:
    records = _mixed_records(100)
    data = _codec.cbor2_encode(records[:2])
    bad = [[1, 2**64], {"a": {1: 2}}, [datetime(2024, 1, 1)], [object()]]
    bad_bytes = [data[:-1], data + b"\x00", b"\x81" * 300 + b"\x01"]
    opaque = cbor2.dumps([cbor2.CBORTag(2, "x"), 1])  # decoded by the reference's second try

    def work() -> None:
        assert NATIVE.decode(NATIVE.encode(records)) == records
        for value in bad:
            with pytest.raises(EncodingError):
                NATIVE.encode(value)
        for wire in bad_bytes:
            with pytest.raises(RemoteProtocolError):
                NATIVE.decode(wire)
        assert NATIVE.decode(opaque) == [Tagged(2, "x"), 1]

    singletons = (NULL, UTC, uuid.SafeUUID.unknown, "person")
    for _ in range(10):
        work()  # warm up caches (the reference's pools, day states, interned objects)
    gc.collect()
    counts = [sys.getrefcount(o) for o in singletons]
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(60):
            work()
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # One leaked object per record and round would be 6,000 objects, well over 200 kB.
    assert grown < 200_000
    assert [sys.getrefcount(o) for o in singletons] == counts


def test_selection_at_import(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _codec._load_speedups(True) is None
    monkeypatch.delattr(surreal_proto, "_speedups", raising=False)
    monkeypatch.setitem(sys.modules, "surreal_proto._speedups", None)
    assert _codec._load_speedups(False) is None
    expected = "cbor2" if _codec._native is None else "native"
    assert expected == _codec.IMPLEMENTATION
    if _codec._native is not None:
        assert _codec.encode is NATIVE.encode
        assert _codec.decode is NATIVE.decode
