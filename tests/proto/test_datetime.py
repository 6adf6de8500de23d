"""Datetimes with nanoseconds (surreal_proto._datetime; protocol.md §5.1 rows 0 and 12)."""

from __future__ import annotations

import copy
import pickle
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from surreal_proto import Datetime
from surreal_proto._datetime import _datetime_from_compact

PLUS2 = timezone(timedelta(hours=2))


def test_construct() -> None:
    d = Datetime(2024, 1, 2, 3, 4, 5, 6, UTC, nanosecond=7)
    assert (d.year, d.month, d.day, d.hour, d.minute, d.second) == (2024, 1, 2, 3, 4, 5)
    assert (d.microsecond, d.nanosecond) == (6, 7)
    assert isinstance(d, datetime)
    assert Datetime(2024, 1, 1).nanosecond == 0
    for bad in (-1, 1000, 1.5, True):
        with pytest.raises(ValueError, match="nanosecond"):
            Datetime(2024, 1, 1, nanosecond=bad)  # type: ignore[arg-type]


def test_from_datetime() -> None:
    plain = datetime(2024, 1, 1, 12, tzinfo=PLUS2)
    d = Datetime.from_datetime(plain)
    assert d == plain
    assert d.tzinfo is PLUS2
    assert Datetime.from_datetime(plain, 5).nanosecond == 5
    assert Datetime.from_datetime(Datetime.from_datetime(plain, 9)).nanosecond == 9


@pytest.mark.parametrize("ns", [0, 1, 1_704_067_200_123_456_789, -1, -1_000_000_000_001])
def test_timestamp_ns(ns: int) -> None:
    d = Datetime.from_timestamp_ns(ns)
    assert d.tzinfo is UTC
    assert d.timestamp_ns() == ns
    assert Datetime.from_timestamp_ns(ns, PLUS2).timestamp_ns() == ns
    assert Datetime.from_timestamp_ns(ns, PLUS2).tzinfo is PLUS2


@pytest.mark.parametrize(("text", "micro", "nano"), [
    ("2024-01-01T00:00:00Z", 0, 0),
    ("2024-01-01T00:00:00z", 0, 0),
    ("2024-01-01T00:00:00.5Z", 500_000, 0),
    ("2024-01-01T00:00:00.123456789Z", 123_456, 789),
    ("2024-01-01T00:00:00.1234567891234Z", 123_456, 789),
    ("2024-01-01T00:00:00,000000001+02:00", 0, 1),
    ("2024-01-01 00:00:00.000001", 1, 0),
    ("2024-01-01", 0, 0),
])
def test_fromisoformat(text: str, micro: int, nano: int) -> None:
    d = Datetime.fromisoformat(text)
    assert (d.microsecond, d.nanosecond) == (micro, nano)
    assert Datetime.fromisoformat_ns(text) == d


def test_fromisoformat_rejects() -> None:
    with pytest.raises(ValueError, match="Invalid isoformat"):
        Datetime.fromisoformat("yesterday")
    with pytest.raises(TypeError):
        Datetime.fromisoformat(1)  # type: ignore[arg-type]


def test_text() -> None:
    d = Datetime(2024, 1, 2, 3, 4, 5, 6, UTC, nanosecond=7)
    assert d.isoformat() == "2024-01-02T03:04:05.000006007+00:00"
    assert str(d) == "2024-01-02 03:04:05.000006007+00:00"
    assert d.isoformat(timespec="seconds") == "2024-01-02T03:04:05+00:00"
    assert Datetime(2024, 1, 1, tzinfo=UTC).isoformat() == "2024-01-01T00:00:00+00:00"
    assert Datetime(2024, 1, 1).isoformat(timespec="nanoseconds") == \
        "2024-01-01T00:00:00.000000000"
    assert d.isoformat_ns() == "2024-01-02T03:04:05.000006007Z"
    assert Datetime(2024, 1, 1, 2, tzinfo=PLUS2).isoformat_ns() == \
        "2024-01-01T00:00:00.000000000Z"
    assert repr(d) == ("Datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=datetime.timezone.utc, "
                       "nanosecond=7)")
    assert repr(Datetime(2024, 1, 1)) == "Datetime(2024, 1, 1, 0, 0)"
    assert d.to_datetime() == datetime(2024, 1, 2, 3, 4, 5, 6, UTC)
    assert type(d.to_datetime()) is datetime


def test_equality_and_hash() -> None:
    base = datetime(2024, 1, 1, tzinfo=UTC)
    zero = Datetime.from_datetime(base)
    five = Datetime.from_datetime(base, 5)
    assert zero == base
    assert base == zero
    assert hash(zero) == hash(base)
    assert five != base
    assert base != five
    assert five != zero
    assert five == Datetime.from_datetime(base, 5)
    assert hash(five) == hash(Datetime.from_datetime(base, 5))
    assert five != "2024"
    assert five.__eq__("2024") is NotImplemented
    assert five.__ne__("2024") is NotImplemented
    assert len({zero, base, five}) == 2


def test_ordering() -> None:
    base = datetime(2024, 1, 1, tzinfo=UTC)
    a = Datetime.from_datetime(base, 1)
    b = Datetime.from_datetime(base, 2)
    later = Datetime.from_datetime(base + timedelta(microseconds=1))
    assert a < b
    assert a <= b
    assert b > a
    assert b >= a
    assert a <= Datetime.from_datetime(base, 1)
    assert a >= Datetime.from_datetime(base, 1)
    assert base < a
    assert a > base
    assert a < later
    assert later > a
    assert sorted([b, later, a, base]) == [base, a, b, later]
    assert a.__lt__(date(2024, 1, 1)) is NotImplemented
    for op in ("__lt__", "__le__", "__gt__", "__ge__"):
        assert getattr(a, op)(1) is NotImplemented


def test_derived_values_keep_nanoseconds() -> None:
    d = Datetime(2024, 1, 1, tzinfo=UTC, nanosecond=9)
    assert d.replace(year=2025).nanosecond == 9
    assert d.replace(year=2025).year == 2025
    assert d.replace(nanosecond=1).nanosecond == 1
    moved = d.astimezone(PLUS2)
    assert type(moved) is Datetime
    assert moved.nanosecond == 9
    assert moved == d
    later = d + timedelta(days=1)
    assert type(later) is Datetime
    assert later.nanosecond == 9
    assert (timedelta(days=1) + d) == later
    earlier = d - timedelta(days=1)
    assert type(earlier) is Datetime
    assert earlier.nanosecond == 9
    assert later - d == timedelta(days=1)
    assert d.__add__(1) is NotImplemented  # type: ignore[operator]
    assert d.__sub__(1) is NotImplemented  # type: ignore[operator]


def test_pickle_and_copy() -> None:
    d = Datetime(2024, 1, 1, 1, 2, 3, 4, PLUS2, fold=1, nanosecond=5)
    for clone in (pickle.loads(pickle.dumps(d)), copy.copy(d), copy.deepcopy(d)):
        assert clone == d
        assert clone.nanosecond == 5
        assert clone.fold == 1
        assert type(clone) is Datetime
    assert d.__reduce__() == d.__reduce_ex__(2)


def test_from_compact() -> None:
    d = _datetime_from_compact(1_704_067_200, 500_000_001)
    assert d == Datetime(2024, 1, 1, 0, 0, 0, 500_000, UTC, nanosecond=1)
    assert _datetime_from_compact(-1, 999_999_999).timestamp_ns() == -1
    with pytest.raises(OverflowError):
        _datetime_from_compact(10**12, 0)
