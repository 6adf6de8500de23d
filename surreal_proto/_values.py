"""Small SurrealDB value types: ``NULL``, sets, files, futures, and opaque tagged values.

NONE and NULL (``protocol.md`` §5.2, §5.3):

* Python ``None`` is SurrealDB **NONE** (CBOR tag 6): "no value". Missing fields, ``ping`` and
  ``authenticate`` results, ``option<T>`` fields left empty.
* :data:`NULL` is SurrealQL **NULL** (CBOR null, simple value 22): a value that is present and
  null. Decoding keeps the two apart, so a read-modify-write of a record keeps its NULL fields
  (writing ``None`` back would *remove* them).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Final, final

__all__ = ["NULL", "File", "Future", "NullType", "SurrealSet", "Tagged"]

_object_new: Final = object.__new__


def _freeze(value: Any) -> Any:
    """A hashable stand-in for a value that may hold lists and dicts (for ``__hash__``)."""
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, dict):
        return frozenset((k, _freeze(v)) for k, v in value.items())
    return value


# --------------------------------------------------------------------------- NULL


@final
class NullType:
    """The type of :data:`NULL`, SurrealQL ``NULL`` (CBOR null). There is one instance."""

    __slots__ = ()
    _instance: NullType | None = None

    def __new__(cls) -> NullType:
        if cls._instance is None:
            cls._instance = _object_new(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NULL"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "NULL"

    def __copy__(self) -> NullType:
        return self

    def __deepcopy__(self, memo: Any) -> NullType:
        return self

    def _surql(self) -> str:
        return "NULL"


#: SurrealQL ``NULL`` (CBOR null). Distinct from ``None``, which is NONE (tag 6). Falsy.
NULL: Final = NullType()


# --------------------------------------------------------------------------- Tagged


class Tagged:
    """A CBOR tag this client does not know, kept as it came (``protocol.md`` §5.2: the
    connection never dies on an unknown tag).

    Encoding a :class:`Tagged` writes the same tag around the same value, so a value read from
    the server goes back unchanged (the payload's floats are written in their shortest lossless
    width, as the server writes them, and maps keep their order).

    Args:
        tag: the CBOR tag number (a non-negative int below 2**64).
        value: the payload, already decoded.
    """

    __slots__ = ("tag", "value")
    __match_args__ = ("tag", "value")

    tag: int
    value: Any

    def __init__(self, tag: int, value: Any) -> None:
        if isinstance(tag, bool) or not isinstance(tag, int) or not 0 <= tag < 2**64:
            raise ValueError(f"a CBOR tag number must be an int in [0, 2**64), not {tag!r}")
        _set_tag(self, tag)
        _set_tagged_value(self, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Tagged is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("Tagged is immutable")

    def __eq__(self, other: object) -> bool:
        if type(other) is Tagged:
            return self.tag == other.tag and bool(self.value == other.value)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((Tagged, self.tag, _freeze(self.value)))

    def __repr__(self) -> str:
        return f"Tagged({self.tag}, {self.value!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Tagged, (self.tag, self.value))

    def _surql(self) -> str:
        raise ValueError(f"an opaque CBOR tag {self.tag} value has no SurrealQL spelling")


_set_tag: Final = Tagged.__dict__["tag"].__set__
_set_tagged_value: Final = Tagged.__dict__["value"].__set__


def _new_tagged(tag: int, value: Any) -> Tagged:
    t = _object_new(Tagged)
    _set_tag(t, tag)
    _set_tagged_value(t, value)
    return t


# --------------------------------------------------------------------------- SurrealSet


class SurrealSet:
    """A SurrealDB set (CBOR tag 56, 3.x; ``protocol.md`` §5.1).

    The elements can be any values, including unhashable ones (dicts, lists), so this is not
    a Python ``set``: it keeps the elements as a tuple in the order given. The server
    de-duplicates and sorts a set it receives; this type does neither, it is a faithful
    container for what was sent or received. Two sets are equal when they hold equal
    elements regardless of order and repetition, as the server compares them.

    Args:
        items: the elements (any iterable; a Python ``set`` or ``frozenset`` works).
    """

    __slots__ = ("items",)
    __match_args__ = ("items",)

    items: tuple[Any, ...]

    def __init__(self, items: Iterable[Any] = ()) -> None:
        _set_items(self, tuple(items))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("SurrealSet is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("SurrealSet is immutable")

    def __iter__(self) -> Iterator[Any]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __contains__(self, item: object) -> bool:
        return item in self.items

    def _distinct(self) -> list[Any]:
        out: list[Any] = []
        for item in self.items:
            if item not in out:
                out.append(item)
        return out

    def __eq__(self, other: object) -> bool:
        if type(other) is SurrealSet:
            mine, theirs = self._distinct(), other._distinct()
            return len(mine) == len(theirs) and all(x in theirs for x in mine)
        return NotImplemented

    def __hash__(self) -> int:
        # Order-insensitive and repetition-insensitive, like __eq__.
        return hash((SurrealSet, frozenset(_freeze(x) for x in self.items)))

    def __repr__(self) -> str:
        return f"SurrealSet({list(self.items)!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (SurrealSet, (self.items,))

    def _surql(self) -> str:
        from ._recordid import to_surrealql

        return "<set>" + to_surrealql(list(self.items))


_set_items: Final = SurrealSet.__dict__["items"].__set__


def _new_set(items: tuple[Any, ...]) -> SurrealSet:
    s = _object_new(SurrealSet)
    _set_items(s, items)
    return s


# --------------------------------------------------------------------------- File


class File:
    """A file pointer in a SurrealDB bucket (CBOR tag 55 with ``[bucket, key]``, 3.x).

    Args:
        bucket: the bucket name.
        key: the file's key (path) in the bucket.
    """

    __slots__ = ("bucket", "key")
    __match_args__ = ("bucket", "key")

    bucket: str
    key: str

    def __init__(self, bucket: str, key: str) -> None:
        if not isinstance(bucket, str) or not isinstance(key, str):
            raise TypeError("File bucket and key must be str")
        _set_bucket(self, bucket)
        _set_key(self, key)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("File is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("File is immutable")

    def __eq__(self, other: object) -> bool:
        if type(other) is File:
            return self.bucket == other.bucket and self.key == other.key
        return NotImplemented

    def __hash__(self) -> int:
        return hash((File, self.bucket, self.key))

    def __repr__(self) -> str:
        return f"File({self.bucket!r}, {self.key!r})"

    def __str__(self) -> str:
        return self._surql()

    def __reduce__(self) -> tuple[Any, ...]:
        return (File, (self.bucket, self.key))

    def _surql(self) -> str:
        from ._recordid import _escape_chars

        return f'f"{_escape_chars(self.bucket, chr(34))}:{_escape_chars(self.key, chr(34))}"'


_set_bucket: Final = File.__dict__["bucket"].__set__
_set_key: Final = File.__dict__["key"].__set__


def _new_file(bucket: Any, key: Any) -> File:
    f = _object_new(File)
    _set_bucket(f, bucket)
    _set_key(f, key)
    return f


# --------------------------------------------------------------------------- Future


class Future:
    """A SurrealDB 2.x future (CBOR tag 15 with the SurrealQL block as text).

    3.x servers reject tag 15 (``protocol.md`` §5.1); this type exists so that 2.x results
    decode and can be sent back to a 2.x server.

    Args:
        body: the SurrealQL block, e.g. ``"{ time::now() }"``.
    """

    __slots__ = ("body",)
    __match_args__ = ("body",)

    body: str

    def __init__(self, body: str) -> None:
        if not isinstance(body, str):
            raise TypeError(f"a Future body must be a str, not {type(body).__name__}")
        _set_body(self, body)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Future is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("Future is immutable")

    def __eq__(self, other: object) -> bool:
        if type(other) is Future:
            return self.body == other.body
        return NotImplemented

    def __hash__(self) -> int:
        return hash((Future, self.body))

    def __repr__(self) -> str:
        return f"Future({self.body!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Future, (self.body,))

    def _surql(self) -> str:
        return f"<future> {self.body}"


_set_body: Final = Future.__dict__["body"].__set__
