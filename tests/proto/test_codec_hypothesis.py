"""Property tests of the codec: ``decode(encode(x)) == x`` for every SurrealDB value type,
alone and nested in lists and maps, plus SurrealQL spelling round trips."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surreal_proto import (
    NULL,
    BoundExcluded,
    BoundIncluded,
    Datetime,
    Duration,
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
    StringRecordID,
    SurrealSet,
    Table,
    Tagged,
)
from surreal_proto._codec import _SEMANTIC, decode, encode

from .codec_impls import both_implementations

implementation = both_implementations()

FAST = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

i64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
text = st.text(max_size=12)
floats = st.floats(allow_nan=False, width=64)
decimals = st.decimals(allow_nan=False, allow_infinity=False, places=None).filter(
    lambda d: d.is_finite())
durations = st.integers(min_value=0, max_value=(2**64 - 1) * 10**9 + 999_999_999).map(Duration)
offsets = st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)),
                           timezone(timedelta(hours=-8))])
datetimes = st.builds(
    Datetime.from_datetime,
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                 timezones=offsets),
    st.integers(0, 999))
plain_datetimes = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                               timezones=offsets)
points = st.builds(GeometryPoint, floats, floats)
lines = st.builds(lambda a, b, rest: GeometryLine(a, b, *rest), points, points,
                  st.lists(points, max_size=2))
polygons = st.builds(lambda a, rest: GeometryPolygon(a, *rest), lines, st.lists(lines, max_size=1))
geometries = st.one_of(
    points, lines, polygons,
    st.builds(lambda ps: GeometryMultiPoint(*ps), st.lists(points, max_size=3)),
    st.builds(lambda ls: GeometryMultiLine(*ls), st.lists(lines, max_size=2)),
    st.builds(lambda ps: GeometryMultiPolygon(*ps), st.lists(polygons, max_size=2)),
)
geometries = st.one_of(
    geometries, st.builds(lambda gs: GeometryCollection(*gs), st.lists(geometries, max_size=3)))

scalars = st.one_of(
    st.none(), st.just(NULL), st.booleans(), i64, floats, text, st.binary(max_size=16),
    st.uuids(), decimals, durations, datetimes,
)
key_scalars = st.one_of(i64, text, st.uuids())
record_ids = st.builds(
    RecordID, text,
    st.one_of(
        key_scalars,
        st.lists(scalars, max_size=3),
        st.dictionaries(text, scalars, max_size=3),
    ),
)


def bound(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), st.builds(BoundIncluded, values), st.builds(BoundExcluded, values))


ranges = st.builds(Range, bound(scalars), bound(scalars))
record_id_ranges = st.builds(RecordID, text, st.builds(
    Range, bound(key_scalars), bound(key_scalars)))

surreal_values = st.one_of(
    scalars, record_ids, record_id_ranges, ranges, geometries,
    st.builds(Table, text), st.builds(lambda k: StringRecordID(str(RecordID("t", k))), text),
    st.builds(File, text, text), st.builds(Future, text),
    st.builds(SurrealSet, st.lists(scalars, max_size=4)),
    # Tags cbor2 decodes itself (1004 dates, 55799 self-description, ...) come back as
    # cbor2's values, not as Tagged (see surreal_proto._codec); every other tag is opaque.
    st.builds(Tagged, st.integers(1000, 2**64 - 1).filter(lambda t: t not in _SEMANTIC),
              st.one_of(scalars, st.lists(scalars))),
)

values = st.recursive(
    surreal_values,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(text, children, max_size=4),
    ),
    max_leaves=12,
)


@FAST
@given(values)
def test_round_trip(value: Any) -> None:
    assert decode(encode(value)) == value


@FAST
@given(values)
def test_encoding_is_stable(value: Any) -> None:
    # Encoding what was decoded gives the same bytes (a read-modify-write changes nothing).
    data = encode(value)
    assert encode(decode(data)) == data


@FAST
@given(st.lists(st.one_of(datetimes, plain_datetimes), max_size=4))
def test_datetimes_keep_the_instant_and_nanoseconds(items: list[datetime]) -> None:
    for original, back in zip(items, decode(encode(items)), strict=True):
        assert type(back) is Datetime
        assert back.tzinfo is UTC
        assert back == original
        assert back.nanosecond == getattr(original, "nanosecond", 0)


@FAST
@given(st.floats(width=64))
def test_every_float_survives(value: float) -> None:
    back = decode(encode([value, GeometryPoint(value, 0), Tagged(1000, value)]))
    for item in (back[0], back[1].longitude, back[2].value):
        assert type(item) is float
        if math.isnan(value):
            assert math.isnan(item)
        else:
            assert item == value
            assert math.copysign(1, item) == math.copysign(1, value)


@FAST
@given(decimals)
def test_decimals_keep_their_digits(value: Decimal) -> None:
    back = decode(encode(value))
    assert back == value
    assert back.as_tuple() == value.as_tuple()  # the same digits and exponent


@FAST
@given(record_ids)
def test_record_id_spelling_round_trips(rid: RecordID) -> None:
    # str() is SurrealQL and RecordID.parse() reads it back (keys whose values have no
    # SurrealQL literal, such as durations inside a list, are skipped).
    try:
        spelled = str(rid)
    except (TypeError, ValueError):
        return
    parsed = RecordID.parse(spelled)
    if _has_nan(rid.id):
        assert repr(parsed) == repr(rid)
    else:
        assert parsed == rid


@FAST
@given(durations)
def test_duration_spelling_round_trips(duration: Duration) -> None:
    assert Duration.parse(str(duration)) == duration


def _has_nan(value: Any) -> bool:
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, list):
        return any(_has_nan(v) for v in value)
    if isinstance(value, dict):
        return any(_has_nan(v) for v in value.values())
    return False
