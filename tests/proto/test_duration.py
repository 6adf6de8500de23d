"""Durations (surreal_proto._duration; protocol.md §5.1 rows 13 and 14)."""

from __future__ import annotations

import copy
import pickle
from datetime import timedelta
from decimal import Decimal

import pytest

from surreal_proto import Duration

S = 1_000_000_000


@pytest.mark.parametrize(("text", "ns"), [
    ("0ns", 0),
    ("0s", 0),
    ("1ns", 1),
    ("1us", 1_000),
    ("1µs", 1_000),
    ("1μs", 1_000),
    ("1ms", 1_000_000),
    ("1s", S),
    ("1m", 60 * S),
    ("1h", 3600 * S),
    ("1d", 86400 * S),
    ("1w", 7 * 86400 * S),
    ("1y", 365 * 86400 * S),
    ("1h30m", 5400 * S),
    ("1500ms", 1_500_000_000),
    ("30m1h", 5400 * S),
    ("1s1s", 2 * S),
    ("1.5s", 1_500_000_000),
    ("89.057µs", 89_057),
    ("202.769187ms", 202_769_187),
    ("0.0000000004s", 0),
    ("0.0000000006s", 1),
])
def test_parse(text: str, ns: int) -> None:
    assert Duration.parse(text).nanoseconds == ns


@pytest.mark.parametrize("text", ["", "1", "h", "1x", "1h 30m", "-1s", "1.s", ".5s", "1h-", "s1"])
def test_parse_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        Duration.parse(text)


def test_parse_needs_text() -> None:
    with pytest.raises(TypeError):
        Duration.parse(5)  # type: ignore[arg-type]


@pytest.mark.parametrize(("ns", "text"), [
    (0, "0ns"),
    (1, "1ns"),
    (1_500_000_000, "1s500ms"),
    (5400 * S, "1h30m"),
    (3723 * S, "1h2m3s"),
    ((365 + 8) * 86400 * S + 1_001_001, "1y1w1d1ms1µs1ns"),
])
def test_format(ns: int, text: str) -> None:
    d = Duration(ns)
    assert str(d) == d.to_string() == text
    assert Duration.parse(text) == d
    assert repr(d) == f"Duration.parse({text!r})"


def test_limits() -> None:
    top = (2**64 - 1) * S + 999_999_999
    assert Duration(top).nanoseconds == top
    with pytest.raises(ValueError, match="between 0 and"):
        Duration(top + 1)
    with pytest.raises(ValueError, match="between 0 and"):
        Duration(-1)
    with pytest.raises(TypeError):
        Duration(1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Duration(True)


def test_views() -> None:
    d = Duration.parse("1y2w3d4h5m6s7ms8us9ns")
    ns = d.nanoseconds
    assert d.elapsed == ns
    assert d.microseconds == ns // 1_000
    assert d.milliseconds == ns // 1_000_000
    assert d.seconds == ns // S
    assert d.minutes == ns // (60 * S)
    assert d.hours == ns // (3600 * S)
    assert d.days == 365 + 14 + 3
    assert d.weeks == (365 + 14 + 3) // 7
    assert d.years == 1
    assert d.total_seconds() == ns / S


@pytest.mark.parametrize(("ns", "compact"), [
    (0, []), (3723 * S, [3723]), (1_500_000_000, [1, 500_000_000]), (5, [0, 5]),
])
def test_to_compact(ns: int, compact: list[int]) -> None:
    assert Duration(ns).to_compact() == compact


def test_timedelta() -> None:
    delta = timedelta(days=2, seconds=3, microseconds=4)
    d = Duration.from_timedelta(delta)
    assert d.nanoseconds == (2 * 86400 + 3) * S + 4000
    assert d.to_timedelta() == delta
    assert Duration(1_999).to_timedelta() == timedelta(microseconds=1)  # truncated
    with pytest.raises(ValueError, match="between 0 and"):
        Duration.from_timedelta(timedelta(seconds=-1))


def test_from_seconds() -> None:
    assert Duration.from_seconds(1.5).nanoseconds == 1_500_000_000
    assert Duration.from_seconds(2).nanoseconds == 2 * S
    assert Duration.from_seconds(Decimal("0.000000001")).nanoseconds == 1
    with pytest.raises(ValueError, match="not a number of seconds"):
        Duration.from_seconds("soon")  # type: ignore[arg-type]


def test_comparisons_and_arithmetic() -> None:
    a, b = Duration.parse("1s"), Duration.parse("2s")
    assert a < b
    assert a <= b
    assert b > a
    assert b >= a
    assert a <= Duration.parse("1000ms")
    assert a + a == b
    assert b - a == a
    assert a * 2 == b
    assert 2 * a == b
    assert not Duration(0)
    assert a
    with pytest.raises(ValueError, match="between 0 and"):
        a - b
    for op in ("__lt__", "__le__", "__gt__", "__ge__", "__add__", "__sub__", "__mul__",
               "__eq__"):
        assert getattr(a, op)("1s") is NotImplemented
    assert a.__mul__(True) is NotImplemented
    assert a != 1_000_000_000


def test_hash_pickle_immutability() -> None:
    d = Duration.parse("1h")
    assert hash(d) == hash(Duration.parse("60m"))
    assert pickle.loads(pickle.dumps(d)) == d
    assert copy.copy(d) == d
    with pytest.raises(AttributeError):
        d._ns = 5
    with pytest.raises(AttributeError):
        del d._ns
    match d:
        case Duration(nanoseconds=ns):
            assert ns == 3600 * S
