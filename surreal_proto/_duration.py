"""SurrealDB durations (CBOR tags 13 and 14, ``protocol.md`` §5.1).

A :class:`Duration` is a whole number of nanoseconds, never negative, at most
``(2**64 - 1)`` seconds plus 999,999,999 nanoseconds (SurrealDB keeps a Rust
``std::time::Duration``). It is sent as tag 14 in the compact form the server itself writes
(``[]`` for zero, ``[secs]`` when there are no nanoseconds, else ``[secs, nanos]``); tag 13
(text) and tag 14 are both read.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Final

__all__ = ["Duration"]

_NS_PER_US: Final = 1_000
_NS_PER_MS: Final = 1_000_000
_NS_PER_S: Final = 1_000_000_000
_NS_PER_M: Final = 60 * _NS_PER_S
_NS_PER_H: Final = 3600 * _NS_PER_S
_NS_PER_D: Final = 86400 * _NS_PER_S
_NS_PER_W: Final = 7 * _NS_PER_D
_NS_PER_Y: Final = 365 * _NS_PER_D  # SurrealQL's year is 365 days

#: The largest duration SurrealDB can hold, in nanoseconds.
_MAX_NS: Final = (2**64 - 1) * _NS_PER_S + 999_999_999

_UNITS: Final = {
    "ns": 1, "us": _NS_PER_US, "µs": _NS_PER_US, "μs": _NS_PER_US, "ms": _NS_PER_MS,
    "s": _NS_PER_S, "m": _NS_PER_M, "h": _NS_PER_H, "d": _NS_PER_D, "w": _NS_PER_W,
    "y": _NS_PER_Y,
}
# SurrealQL's Display order, largest first (``types/value/duration.rs``).
_FORMAT_UNITS: Final = (
    ("y", _NS_PER_Y), ("w", _NS_PER_W), ("d", _NS_PER_D), ("h", _NS_PER_H), ("m", _NS_PER_M),
    ("s", _NS_PER_S), ("ms", _NS_PER_MS), ("µs", _NS_PER_US), ("ns", 1),
)
_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ns|us|µs|μs|ms|s|m|h|d|w|y)")

_object_new: Final = object.__new__


class Duration:
    """A SurrealDB duration: a whole, non-negative number of nanoseconds.

    Args:
        nanoseconds: the length in nanoseconds.

    Raises:
        TypeError: ``nanoseconds`` is not an ``int``.
        ValueError: it is negative or beyond what SurrealDB can hold.

    ``str()`` spells it as SurrealQL does (``1h30m``, ``1s500ms``, ``0ns``);
    :meth:`parse` reads that spelling back. Durations compare, hash, add and subtract, and
    convert to and from :class:`datetime.timedelta`.

    Examples:
        >>> Duration.parse("1h30m").nanoseconds
        5400000000000
        >>> str(Duration.parse("1500ms"))
        '1s500ms'
    """

    __slots__ = ("_ns",)
    __match_args__ = ("nanoseconds",)

    _ns: int

    def __init__(self, nanoseconds: int = 0) -> None:
        if isinstance(nanoseconds, bool) or not isinstance(nanoseconds, int):
            raise TypeError(
                f"Duration takes whole nanoseconds (int), not {type(nanoseconds).__name__}; "
                "use Duration.parse() for text or Duration.from_timedelta()")
        if not 0 <= nanoseconds <= _MAX_NS:
            raise ValueError(
                f"a SurrealDB duration must be between 0 and {_MAX_NS} ns, not {nanoseconds}")
        _set_ns(self, nanoseconds)

    # ----------------------------------------------------------------- constructors

    @classmethod
    def parse(cls, text: str) -> Duration:
        """Read a SurrealQL duration such as ``1h30m``, ``1500ms``, ``2w3d`` or ``0ns``.

        Units: ``y`` (365 days), ``w``, ``d``, ``h``, ``m``, ``s``, ``ms``, ``µs`` (also ``us``
        and ``μs``), ``ns``. Parts may repeat and come in any order; they add up. Decimal
        parts (``1.5s``, ``89.057µs``, the Rust format of the server's query ``time`` field)
        are accepted too and rounded to the nearest nanosecond.

        Args:
            text: the duration text.

        Returns:
            The duration.

        Raises:
            ValueError: ``text`` is not a duration.
        """
        if not isinstance(text, str):
            raise TypeError(f"Duration.parse() needs a str, not {type(text).__name__}")
        pos = 0
        total = 0
        for match in _PART.finditer(text):
            if match.start() != pos:
                break
            number, unit = match.groups()
            if "." in number:
                total += int((Decimal(number) * _UNITS[unit]).to_integral_value())
            else:
                total += int(number) * _UNITS[unit]
            pos = match.end()
        if pos == 0 or pos != len(text):
            raise ValueError(f"invalid duration {text!r}: expected e.g. '1h30m' or '1500ms'")
        return cls(total)

    @classmethod
    def from_timedelta(cls, delta: timedelta) -> Duration:
        """Convert a non-negative :class:`~datetime.timedelta` (exact).

        Raises:
            ValueError: the timedelta is negative.
        """
        return cls((delta.days * 86400 + delta.seconds) * _NS_PER_S
                   + delta.microseconds * _NS_PER_US)

    @classmethod
    def from_seconds(cls, seconds: float | int | Decimal) -> Duration:
        """Build a duration from a number of seconds, rounded to the nearest nanosecond."""
        try:
            return cls(int((Decimal(str(seconds)) * _NS_PER_S).to_integral_value()))
        except InvalidOperation as exc:
            raise ValueError(f"not a number of seconds: {seconds!r}") from exc

    # ----------------------------------------------------------------- views

    @property
    def nanoseconds(self) -> int:
        """The whole length in nanoseconds."""
        return self._ns

    @property
    def elapsed(self) -> int:
        """The whole length in nanoseconds (the official SDK's name)."""
        return self._ns

    @property
    def microseconds(self) -> int:
        """Whole microseconds (rounded down)."""
        return self._ns // _NS_PER_US

    @property
    def milliseconds(self) -> int:
        """Whole milliseconds (rounded down)."""
        return self._ns // _NS_PER_MS

    @property
    def seconds(self) -> int:
        """Whole seconds (rounded down)."""
        return self._ns // _NS_PER_S

    @property
    def minutes(self) -> int:
        """Whole minutes (rounded down)."""
        return self._ns // _NS_PER_M

    @property
    def hours(self) -> int:
        """Whole hours (rounded down)."""
        return self._ns // _NS_PER_H

    @property
    def days(self) -> int:
        """Whole days (rounded down)."""
        return self._ns // _NS_PER_D

    @property
    def weeks(self) -> int:
        """Whole weeks (rounded down)."""
        return self._ns // _NS_PER_W

    @property
    def years(self) -> int:
        """Whole 365-day years (rounded down)."""
        return self._ns // _NS_PER_Y

    def total_seconds(self) -> float:
        """The length in seconds as a float (may round beyond microseconds)."""
        return self._ns / _NS_PER_S

    def to_timedelta(self) -> timedelta:
        """Convert to a :class:`~datetime.timedelta`, truncating below a microsecond.

        Raises:
            OverflowError: the duration is longer than a timedelta can hold (~2.7 M years).
        """
        return timedelta(microseconds=self._ns // _NS_PER_US)

    def to_compact(self) -> list[int]:
        """The tag-14 payload: ``[]``, ``[secs]`` or ``[secs, nanos]`` (``protocol.md`` §5.1)."""
        secs, nanos = divmod(self._ns, _NS_PER_S)
        if nanos:
            return [secs, nanos]
        return [secs] if secs else []

    def to_string(self) -> str:
        """The SurrealQL spelling (the same as ``str()``)."""
        ns = self._ns
        if not ns:
            return "0ns"
        parts: list[str] = []
        for unit, size in _FORMAT_UNITS:
            count, ns = divmod(ns, size)
            if count:
                parts.append(f"{count}{unit}")
        return "".join(parts)

    # ----------------------------------------------------------------- protocol

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Duration is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("Duration is immutable")

    def __str__(self) -> str:
        return self.to_string()

    def __repr__(self) -> str:
        return f"Duration.parse({self.to_string()!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Duration, (self._ns,))

    def _surql(self) -> str:
        return self.to_string()

    def __eq__(self, other: object) -> bool:
        if type(other) is Duration:
            return self._ns == other._ns
        return NotImplemented

    def __hash__(self) -> int:
        return hash((Duration, self._ns))

    def __lt__(self, other: Duration) -> bool:
        if type(other) is Duration:
            return self._ns < other._ns
        return NotImplemented

    def __le__(self, other: Duration) -> bool:
        if type(other) is Duration:
            return self._ns <= other._ns
        return NotImplemented

    def __gt__(self, other: Duration) -> bool:
        if type(other) is Duration:
            return self._ns > other._ns
        return NotImplemented

    def __ge__(self, other: Duration) -> bool:
        if type(other) is Duration:
            return self._ns >= other._ns
        return NotImplemented

    def __bool__(self) -> bool:
        return self._ns != 0

    def __add__(self, other: Duration) -> Duration:
        if type(other) is Duration:
            return Duration(self._ns + other._ns)
        return NotImplemented

    def __sub__(self, other: Duration) -> Duration:
        if type(other) is Duration:
            return Duration(self._ns - other._ns)
        return NotImplemented

    def __mul__(self, other: int) -> Duration:
        if isinstance(other, int) and not isinstance(other, bool):
            return Duration(self._ns * other)
        return NotImplemented

    __rmul__ = __mul__


_set_ns: Final = Duration.__dict__["_ns"].__set__


def _new_duration(ns: int) -> Duration:
    """Build a :class:`Duration` without validation (decoder fast path)."""
    d = _object_new(Duration)
    _set_ns(d, ns)
    return d
