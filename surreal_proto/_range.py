"""Ranges and their bounds (CBOR tags 49, 50 and 51, ``protocol.md`` §5.1).

A :class:`Range` has a lower and an upper bound. Each bound is a :class:`BoundIncluded`, a
:class:`BoundExcluded` or ``None`` for an open (unbounded) side; on the wire that is tag 49
wrapping ``[lower, upper]``, each side tag 50, tag 51 or CBOR null. The same type serves value
ranges (``RETURN 1..=5``) and record-id ranges (``RecordID("t", Range(...))``, tag 8 wrapping
tag 49, ``protocol.md`` §5.1 "Record id keys").

All three classes are immutable and hashable when their values are.
"""

from __future__ import annotations

from typing import Any, Final

from ._values import _freeze

__all__ = ["Bound", "BoundExcluded", "BoundIncluded", "Range"]

_object_new: Final = object.__new__


class _Bound:
    """Common base of the two bound kinds."""

    __slots__ = ("value",)
    __match_args__ = ("value",)

    value: Any

    def __init__(self, value: Any) -> None:
        _set_value(self, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __eq__(self, other: object) -> bool:
        if type(other) is type(self):
            return bool(self.value == other.value)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((type(self).__name__, _freeze(self.value)))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.value!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.value,))


_set_value: Final = _Bound.__dict__["value"].__set__


class BoundIncluded(_Bound):
    """A bound that includes its value (``1..=5`` has an included upper bound; tag 50)."""

    __slots__ = ()


class BoundExcluded(_Bound):
    """A bound that excludes its value (``1>..5`` has an excluded lower bound; tag 51)."""

    __slots__ = ()


#: A range bound: included, excluded, or ``None`` for an open side.
Bound = BoundIncluded | BoundExcluded | None


class Range:
    """A range of values, e.g. ``1..5`` or a record-id range ``person:1..=9``.

    Args:
        begin: the lower bound; ``None`` leaves it open.
        end: the upper bound; ``None`` leaves it open.

    Raises:
        TypeError: a bound is neither ``None`` nor a :class:`BoundIncluded` /
            :class:`BoundExcluded` (wrap plain values: SurrealQL ``a..b`` is
            ``Range(BoundIncluded(a), BoundExcluded(b))``).

    ``str()`` gives the SurrealQL spelling: ``1..5``, ``1..=5``, ``1>..5``, ``..5``, ``..``.
    """

    __slots__ = ("begin", "end")
    __match_args__ = ("begin", "end")

    begin: BoundIncluded | BoundExcluded | None
    end: BoundIncluded | BoundExcluded | None

    def __init__(self, begin: BoundIncluded | BoundExcluded | None = None,
                 end: BoundIncluded | BoundExcluded | None = None) -> None:
        for name, bound in (("begin", begin), ("end", end)):
            if bound is not None and not isinstance(bound, _Bound):
                raise TypeError(
                    f"Range {name} must be BoundIncluded, BoundExcluded or None, "
                    f"not {type(bound).__name__}")
        _set_begin(self, begin)
        _set_end(self, end)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Range is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("Range is immutable")

    def __eq__(self, other: object) -> bool:
        if type(other) is Range:
            return self.begin == other.begin and self.end == other.end
        return NotImplemented

    def __hash__(self) -> int:
        return hash((Range, self.begin, self.end))

    def __repr__(self) -> str:
        return f"Range({self.begin!r}, {self.end!r})"

    def __str__(self) -> str:
        return self._surql()

    def __reduce__(self) -> tuple[Any, ...]:
        return (Range, (self.begin, self.end))

    def _surql(self) -> str:
        from ._recordid import to_surrealql

        begin, end = self.begin, self.end
        text = ""
        if begin is not None:
            text = to_surrealql(begin.value)
            if type(begin) is BoundExcluded:
                text += ">"
        text += ".."
        if end is not None:
            if type(end) is BoundIncluded:
                text += "="
            text += to_surrealql(end.value)
        return text


_set_begin: Final = Range.__dict__["begin"].__set__
_set_end: Final = Range.__dict__["end"].__set__


def _new_range(begin: BoundIncluded | BoundExcluded | None,
               end: BoundIncluded | BoundExcluded | None) -> Range:
    """Build a :class:`Range` without validation (decoder fast path)."""
    r = _object_new(Range)
    _set_begin(r, begin)
    _set_end(r, end)
    return r


def _new_bound(cls: type[_Bound], value: Any) -> Any:
    """Build a bound without going through ``__init__`` (decoder fast path)."""
    b = _object_new(cls)
    _set_value(b, value)
    return b
