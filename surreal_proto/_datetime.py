"""Datetimes with nanoseconds (CBOR tags 12 and 0, ``protocol.md`` §5.1, §5.3).

SurrealDB datetimes have nanosecond precision; Python's ``datetime`` stops at microseconds.
:class:`Datetime` is a ``datetime`` subclass with one more field, :attr:`Datetime.nanosecond`
(0-999, the nanoseconds beyond :attr:`~datetime.datetime.microsecond`), so a value read from
the server and written back is unchanged. Every decoded datetime is a :class:`Datetime` in UTC;
any timezone-aware ``datetime`` can be sent. Naive datetimes are refused when encoding
(there is no safe guess for their timezone).

A :class:`Datetime` behaves as a ``datetime`` everywhere. Comparisons, hashing,
:meth:`~Datetime.replace`, :meth:`~Datetime.astimezone` and adding or subtracting a
``timedelta`` keep the nanoseconds; the difference of two datetimes is a ``timedelta`` and so
is truncated to microseconds (use :meth:`Datetime.timestamp_ns` for exact arithmetic).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any, Final, overload

__all__ = ["Datetime"]

_UTC: Final = UTC
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=_UTC)
_datetime_new: Final = datetime.__new__
_datetime_eq: Final = datetime.__eq__
_datetime_hash: Final = datetime.__hash__
_datetime_sub: Final = datetime.__sub__
_datetime_add: Final = datetime.__add__
_FRACTION = re.compile(r"([.,])([0-9]+)")


class Datetime(datetime):
    """A timezone-aware (usually) ``datetime`` that keeps nanoseconds.

    Args:
        year, month, day, hour, minute, second, microsecond, tzinfo, fold: as for
            :class:`datetime.datetime`.
        nanosecond: nanoseconds beyond ``microsecond``, 0-999.

    Raises:
        ValueError: a field is out of range.

    Examples:
        >>> d = Datetime.fromisoformat("2024-01-01T00:00:00.123456789Z")
        >>> d.microsecond, d.nanosecond
        (123456, 789)
        >>> d.isoformat()
        '2024-01-01T00:00:00.123456789+00:00'
    """

    __slots__ = ("_ns",)

    _ns: int

    def __new__(cls, year: Any, month: Any = None, day: Any = None, hour: int = 0,
                minute: int = 0, second: int = 0, microsecond: int = 0,
                tzinfo: tzinfo | None = None, *, fold: int = 0,
                nanosecond: int = 0) -> Datetime:
        if isinstance(nanosecond, bool) or not isinstance(nanosecond, int) \
                or not 0 <= nanosecond <= 999:
            raise ValueError(f"nanosecond must be an int in 0..999, not {nanosecond!r}")
        self = _datetime_new(cls, year, month, day, hour, minute, second, microsecond, tzinfo,
                             fold=fold)
        _set_ns(self, nanosecond)
        return self

    # ----------------------------------------------------------------- constructors

    @classmethod
    def from_datetime(cls, dt: datetime, nanosecond: int | None = None) -> Datetime:
        """Wrap a ``datetime`` (its nanoseconds, if it is a :class:`Datetime`, are kept
        unless ``nanosecond`` is given).

        Args:
            dt: the datetime (aware or naive; it is not converted).
            nanosecond: nanoseconds beyond the microsecond, 0-999.
        """
        if nanosecond is None:
            nanosecond = dt.nanosecond if isinstance(dt, Datetime) else 0
        return cls(dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second, dt.microsecond,
                   dt.tzinfo, fold=dt.fold, nanosecond=nanosecond)

    @classmethod
    def from_timestamp_ns(cls, ns: int, tz: tzinfo | None = _UTC) -> Datetime:
        """The instant ``ns`` nanoseconds after the Unix epoch, in ``tz`` (default UTC).

        Raises:
            OverflowError: the instant is outside Python's year range 1-9999.
        """
        us, rest = divmod(ns, 1000)
        dt = _EPOCH + timedelta(microseconds=us)
        if tz is not _UTC:
            dt = dt.astimezone(tz)
        return cls.from_datetime(dt, rest)

    @classmethod
    def fromisoformat(cls, date_string: str) -> Datetime:
        """Parse ISO 8601 / RFC 3339 text, keeping up to nine fractional digits.

        Accepts everything :meth:`datetime.fromisoformat` does, plus a ``Z`` suffix and
        fractions with more than six digits (the extra digits become :attr:`nanosecond`;
        digits beyond the ninth are dropped).

        Raises:
            ValueError: the text is not a datetime.
        """
        if not isinstance(date_string, str):
            raise TypeError(f"fromisoformat() needs a str, not {type(date_string).__name__}")
        text = date_string
        if text[-1:] in ("Z", "z"):
            text = text[:-1] + "+00:00"
        nanosecond = 0
        match = _FRACTION.search(text, 19)
        if match is not None:
            digits = match.group(2)
            padded = (digits + "000000000")[:9]
            nanosecond = int(padded[6:])
            text = text[:match.start()] + "." + padded[:6] + text[match.end():]
        dt = datetime.fromisoformat(text)
        return cls.from_datetime(dt, nanosecond)

    # ``RecordID.parse`` spells this for ``d"..."`` literals.
    fromisoformat_ns = fromisoformat

    # ----------------------------------------------------------------- views

    @property
    def nanosecond(self) -> int:
        """Nanoseconds beyond :attr:`microsecond` (0-999)."""
        return getattr(self, "_ns", 0)

    def timestamp_ns(self) -> int:
        """Nanoseconds since the Unix epoch (exact; the datetime must be aware)."""
        delta = _datetime_sub(self, _EPOCH)
        return ((delta.days * 86400 + delta.seconds) * 1_000_000
                + delta.microseconds) * 1000 + self.nanosecond

    def to_datetime(self) -> datetime:
        """A plain ``datetime`` (the nanoseconds are dropped)."""
        return datetime(self.year, self.month, self.day, self.hour, self.minute, self.second,
                        self.microsecond, self.tzinfo, fold=self.fold)

    def isoformat(self, sep: str = "T", timespec: str = "auto") -> str:
        """ISO 8601 text; with ``timespec="auto"`` (the default) and nonzero nanoseconds the
        fraction has nine digits. Other ``timespec`` values behave as for ``datetime``, and
        ``"nanoseconds"`` always writes nine digits."""
        ns = self.nanosecond
        if timespec == "nanoseconds" or (timespec == "auto" and ns):
            # "YYYY-MM-DDTHH:MM:SS.ffffff" is always 26 characters (years are zero-padded).
            text = datetime.isoformat(self, sep, "microseconds")
            return text[:26] + f"{ns:03d}" + text[26:]
        return datetime.isoformat(self, sep, timespec)

    def isoformat_ns(self) -> str:
        """RFC 3339 text in UTC with a ``Z`` and nine fractional digits, as SurrealQL's
        ``d"..."`` literals spell it (a naive datetime is taken to be in UTC already)."""
        utc = self.astimezone(_UTC) if self.utcoffset() else self
        return datetime.isoformat(utc.replace(tzinfo=None), "T", "microseconds") \
            + f"{self.nanosecond:03d}Z"

    def __str__(self) -> str:
        return self.isoformat(" ")

    def __repr__(self) -> str:
        text = datetime.__repr__(self)
        ns = self.nanosecond
        if ns:
            text = text[:-1] + f", nanosecond={ns})"
        return "Datetime" + text[text.index("("):]

    def _surql(self) -> str:
        return f'd"{self.isoformat_ns()}"'

    def __reduce_ex__(self, protocol: Any) -> tuple[Any, ...]:
        return (_rebuild, (self.year, self.month, self.day, self.hour, self.minute,
                           self.second, self.microsecond, self.tzinfo, self.fold,
                           self.nanosecond))

    def __reduce__(self) -> tuple[Any, ...]:
        return self.__reduce_ex__(2)

    # ----------------------------------------------------------------- derived values

    def replace(self, *args: Any, nanosecond: int | None = None,
                **kwargs: Any) -> Datetime:
        """As :meth:`datetime.replace`, plus ``nanosecond``; the nanoseconds are kept unless
        replaced."""
        dt = datetime.replace(self, *args, **kwargs)
        return Datetime.from_datetime(dt, self.nanosecond if nanosecond is None else nanosecond)

    def astimezone(self, tz: tzinfo | None = None) -> Datetime:
        """As :meth:`datetime.astimezone`, keeping the nanoseconds."""
        return Datetime.from_datetime(datetime.astimezone(self, tz), self.nanosecond)

    def __add__(self, other: timedelta) -> Datetime:
        if isinstance(other, timedelta):
            return Datetime.from_datetime(_datetime_add(self, other), self.nanosecond)
        return NotImplemented

    __radd__ = __add__

    @overload  # type: ignore[override]
    def __sub__(self, other: timedelta) -> Datetime: ...

    @overload
    def __sub__(self, other: datetime) -> timedelta: ...

    def __sub__(self, other: Any) -> Any:
        if isinstance(other, timedelta):
            return Datetime.from_datetime(_datetime_sub(self, other), self.nanosecond)
        if isinstance(other, datetime):
            return _datetime_sub(self, other)
        return NotImplemented

    # ----------------------------------------------------------------- comparisons

    def __eq__(self, other: object) -> bool:
        if isinstance(other, datetime):
            other_ns = other.nanosecond if isinstance(other, Datetime) else 0
            return bool(_datetime_eq(self, other)) and self.nanosecond == other_ns
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def __hash__(self) -> int:
        ns = self.nanosecond
        # Equal to a plain datetime exactly when ns == 0, so hash like one then.
        return _datetime_hash(self) if not ns else hash((_datetime_hash(self), ns))

    def _cmp(self, other: Any) -> int | None:
        if not isinstance(other, datetime):
            return None
        if datetime.__lt__(self, other):
            return -1
        if datetime.__gt__(self, other):
            return 1
        other_ns = other.nanosecond if isinstance(other, Datetime) else 0
        ns = self.nanosecond
        return (ns > other_ns) - (ns < other_ns)

    def __lt__(self, other: date) -> bool:
        c = self._cmp(other)
        return NotImplemented if c is None else c < 0

    def __le__(self, other: date) -> bool:
        c = self._cmp(other)
        return NotImplemented if c is None else c <= 0

    def __gt__(self, other: date) -> bool:
        c = self._cmp(other)
        return NotImplemented if c is None else c > 0

    def __ge__(self, other: date) -> bool:
        c = self._cmp(other)
        return NotImplemented if c is None else c >= 0


_set_ns: Final = Datetime.__dict__["_ns"].__set__


def _rebuild(year: int, month: int, day: int, hour: int, minute: int, second: int,
             microsecond: int, tz: tzinfo | None, fold: int, nanosecond: int) -> Datetime:
    return Datetime(year, month, day, hour, minute, second, microsecond, tz, fold=fold,
                    nanosecond=nanosecond)


def _datetime_from_compact(secs: int, nanos: int) -> Datetime:
    """Decoder fast path for tag 12 ``[secs, nanos]`` (``protocol.md`` §5.1).

    Raises:
        OverflowError: outside Python's year range.
    """
    us, ns = divmod(nanos, 1000)
    plain = _EPOCH + timedelta(0, secs, us)
    d = _datetime_new(Datetime, plain.__reduce__()[1][0], _UTC)  # type: ignore[call-arg,arg-type]
    _set_ns(d, ns)
    return d
