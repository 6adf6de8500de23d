"""The SurrealDB CBOR codec on cbor2's native (Rust) encoder and decoder.

Tag table: ``protocol.md`` §5.1; encoding choices: §5.3; untagged pitfalls: §5.2.

Python to wire (:func:`encode`):

=================================  ====================================================
``None``                           tag 6 NONE (``6(null)``)
:data:`NULL`                       CBOR null (SurrealQL ``NULL``)
``bool``, ``str``, ``bytes``,      native; ``float`` as a 64-bit float; ``tuple`` as an
``bytearray``, ``float``,          array; ``memoryview`` as bytes
``list``, ``tuple``
``int``                            native, **only** in [-2**63, 2**63-1]: the server
                                   silently wraps anything else (§5.2), so it is refused
                                   with :class:`EncodingError` (send a ``Decimal``)
``dict``                           a map; **keys must be** ``str`` (§5.2)
:class:`RecordID`                  tag 8 ``[table, key]`` (always the array form, §5.3)
:class:`StringRecordID`            tag 8 with text, parsed by the server
:class:`Table`                     tag 7
``uuid.UUID``                      tag 37 (16 bytes)
``decimal.Decimal``                tag 10, the number as text (no exponent). The engine
                                   normalises it: ``1.50`` comes back as ``1.5`` (equal,
                                   but ``str()`` differs)
aware ``datetime``, `Datetime`     tag 12 ``[secs, nanos]`` in UTC; naive datetimes are
                                   refused
:class:`Duration`, ``timedelta``   tag 14 compact: ``[]``, ``[secs]`` or ``[secs, nanos]``
:class:`Range`, bounds             tag 49 ``[lower, upper]``, bounds tag 50 / 51, open = null
geometry types                     tags 88-94 (point coordinates in their shortest float
                                   width, as the server writes them)
:class:`SurrealSet`, ``set``,      tag 56
``frozenset``
:class:`File`, :class:`Future`     tags 55 and 15
:class:`Tagged`                    its own tag around its value, byte for byte
=================================  ====================================================

Anything else raises :class:`UnencodableTypeError` before a byte is produced. Subclasses of
the value types encode like their base class; subclasses of ``int``, ``str``, ``list`` and
``dict`` (other than ``OrderedDict`` and ``defaultdict``) are encoded by cbor2 itself, so an
``IntEnum`` member is not range-checked and a dict subclass's keys are not checked.

Wire to Python (:func:`decode`): the reverse, plus tag 9 (UUID text), tag 13 (duration text),
every float width as ``float``, arrays inside tags as lists, and any other tag as
:class:`Tagged` (the connection never dies on an unknown tag, §5.2). A datetime outside
Python's years 1-9999 stays a ``Tagged(12, [secs, nanos])`` so it round-trips. Bytes that are
not one well-formed CBOR item, are nested deeper than ``max_depth``, or break a known tag's
shape raise :class:`RemoteProtocolError`, and nothing else.

The IANA tags that cbor2 decodes itself and SurrealDB never sends (§5.1: bignums 2/3, epoch
datetime 1, decimal fractions 4/5, sets 258, dates 100/1004, self-description 55799, ...) are
left to cbor2 for speed, and come back as its Python values (tag 0, RFC 3339 text, as an aware
``datetime`` with microseconds). If cbor2 cannot decode one of them, the message is decoded
again with all of them kept opaque (:class:`Tagged`), so no well-formed input fails.

Hot path: one reusable configuration for cbor2 in each direction, with the plain types
handled by cbor2's own code and the hooks found by one dict lookup (the exact type when
encoding, the tag number in one ``tag_hook`` when decoding); pooled encoders; NULL and NONE
swapped map by map in an ``object_hook``. See the comments at ``_ENCODERS``, ``_POOL`` and
the decoding section for the measurements behind the choices, and ``bench/RESULTS.md``
(Codec) for what is left: cbor2 6.3 has no cheaper way to intercept ``None``, ints and maps
when encoding, nor null when decoding.
"""

from __future__ import annotations

import math
import os
import re
import struct
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from fractions import Fraction
from io import BytesIO
from ipaddress import (
    IPv4Address,
    IPv4Interface,
    IPv4Network,
    IPv6Address,
    IPv6Interface,
    IPv6Network,
)
from typing import Any, Final, Protocol
from uuid import UUID, SafeUUID

import cbor2

from ._datetime import Datetime, _datetime_from_compact
from ._duration import Duration, _new_duration
from ._errors import EncodingError, RemoteProtocolError, UnencodableTypeError
from ._geometry import (
    Geometry,
    GeometryCollection,
    GeometryLine,
    GeometryMultiLine,
    GeometryMultiPoint,
    GeometryMultiPolygon,
    GeometryPoint,
    GeometryPolygon,
    _Composite,
    _new_composite,
    _new_point,
)
from ._range import BoundExcluded, BoundIncluded, Range, _new_bound, _new_range
from ._recordid import RecordID, StringRecordID, Table, _new_string_record_id, _new_table
from ._values import (
    NULL,
    File,
    Future,
    NullType,
    SurrealSet,
    Tagged,
    _new_file,
    _new_set,
    _new_tagged,
)

__all__ = [
    "DEFAULT_MAX_DEPTH", "IMPLEMENTATION", "cbor2_decode", "cbor2_encode", "decode", "encode",
]

#: Deepest nesting of arrays, maps and tags :func:`decode` accepts by default.
DEFAULT_MAX_DEPTH: Final = 256

_I64_MIN: Final = -(2**63)
_I64_MAX: Final = 2**63 - 1
_U64_MAX: Final = 2**64 - 1
_NS_PER_S: Final = 1_000_000_000
_UTC: Final = UTC
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=_UTC)
_datetime_sub: Final = datetime.__sub__

# Tag numbers (protocol.md §5.1).
TAG_DATETIME_TEXT: Final = 0
TAG_NONE: Final = 6
TAG_TABLE: Final = 7
TAG_RECORD_ID: Final = 8
TAG_UUID_TEXT: Final = 9
TAG_DECIMAL: Final = 10
TAG_DATETIME: Final = 12
TAG_DURATION_TEXT: Final = 13
TAG_DURATION: Final = 14
TAG_FUTURE: Final = 15
TAG_UUID: Final = 37
TAG_RANGE: Final = 49
TAG_BOUND_INCLUDED: Final = 50
TAG_BOUND_EXCLUDED: Final = 51
TAG_FILE: Final = 55
TAG_SET: Final = 56
TAG_GEOMETRY_POINT: Final = 88
TAG_GEOMETRY_LINE: Final = 89
TAG_GEOMETRY_POLYGON: Final = 90
TAG_GEOMETRY_MULTIPOINT: Final = 91
TAG_GEOMETRY_MULTILINE: Final = 92
TAG_GEOMETRY_MULTIPOLYGON: Final = 93
TAG_GEOMETRY_COLLECTION: Final = 94


class _NoneMark:
    """What tag 6 decodes to until the final pass turns it into ``None`` (see :func:`decode`)."""

    __slots__ = ()

    def __repr__(self) -> str:  # pragma: no cover - never escapes decode()
        return "<NONE>"


_NONE: Final = _NoneMark()


# =========================================================================== encoding
#
# Every hook takes (encoder, value). ``enc.write`` appends raw bytes; the tag heads below are
# the CBOR initial bytes of the tags (major type 6) and of small arrays (major type 4).

_Encoder = Any  # cbor2.CBOREncoder; its methods are typed loosely in the stubs

_HEAD_NONE: Final = b"\xc6\xf6"  # 6(null)
_HEAD_NULL: Final = b"\xf6"
_HEAD_TABLE: Final = b"\xc7"
_HEAD_RECORD_ID: Final = b"\xc8\x82"
_HEAD_STRING_RECORD_ID: Final = b"\xc8"
_HEAD_DECIMAL: Final = b"\xca"
_HEAD_DATETIME: Final = b"\xcc\x82"
_HEAD_DURATION_0: Final = b"\xce\x80"
_HEAD_DURATION_1: Final = b"\xce\x81"
_HEAD_DURATION_2: Final = b"\xce\x82"
_HEAD_FUTURE: Final = b"\xcf"
_HEAD_RANGE: Final = b"\xd8\x31\x82"
_HEAD_INCLUDED: Final = b"\xd8\x32"
_HEAD_EXCLUDED: Final = b"\xd8\x33"
_HEAD_FILE: Final = b"\xd8\x37\x82"
_HEAD_SET: Final = b"\xd8\x38"
_HEAD_POINT: Final = b"\xd8\x58\x82"
_HEAD_UUID: Final = b"\xd8\x25\x50"  # 37(h'...') with a 16-byte string

# ``table`` -> the bytes of ``8([table, `` (tag, array head, the table as text). Record ids of
# a few tables are the common case; the cache is bounded.
_C: Final = cbor2.CBOREncoder
_encode_map: Final = _C.encode_map

_RECORD_ID_PREFIXES: dict[str, bytes] = {}
_PREFIX_CACHE_SIZE: Final = 512


def _int_error(value: int) -> EncodingError:
    return EncodingError(
        f"the integer {value} is outside the signed 64-bit range SurrealDB supports "
        f"[-2**63, 2**63 - 1]; the server would silently wrap it (protocol.md §5.2). "
        f"Send it as decimal.Decimal({value}) instead")


def _enc_int(enc: _Encoder, value: int) -> None:
    # protocol.md §5.2: ints outside i64 wrap silently on the server, so refuse them here.
    if _I64_MIN <= value <= _I64_MAX:
        enc.encode_int(value)
    else:
        raise _int_error(value)


def _enc_none(enc: _Encoder, value: None) -> None:
    enc.write(_HEAD_NONE)


def _enc_null(enc: _Encoder, value: NullType) -> None:
    enc.write(_HEAD_NULL)


def _key_error(key: Any) -> EncodingError:
    return UnencodableTypeError(
        f"object keys must be str, not {type(key).__name__} ({key!r}): SurrealDB objects "
        f"have text keys only, and the server rejects the whole request otherwise "
        f"(protocol.md §5.2)")


_join: Final = "".join


def _enc_dict(enc: _Encoder, value: Mapping[Any, Any]) -> None:
    # protocol.md §5.2: map keys must be text. str.join checks exactly that, in C, and is
    # the fastest check measured.
    try:
        _join(value)
    except TypeError:
        raise _key_error(next(k for k in value if not isinstance(k, str))) from None
    _encode_map(enc, value)


def _enc_record_id(enc: _Encoder, value: RecordID) -> None:
    # protocol.md §5.3: always the array form 8([table, key]).
    table = value.table
    prefix = _RECORD_ID_PREFIXES.get(table)
    if prefix is None:
        prefix = _HEAD_RECORD_ID + cbor2.dumps(table)
        if len(_RECORD_ID_PREFIXES) >= _PREFIX_CACHE_SIZE:
            _RECORD_ID_PREFIXES.clear()
        _RECORD_ID_PREFIXES[table] = prefix
    enc.write(prefix)
    key = value.id
    kind = type(key)
    if kind is int:
        enc.encode_int(key)  # range-checked when the RecordID was built
    elif kind is str:
        enc.encode_string(key)
    else:
        enc.encode(key)


def _enc_string_record_id(enc: _Encoder, value: StringRecordID) -> None:
    enc.write(_HEAD_STRING_RECORD_ID)
    enc.encode_string(value.text)


def _enc_table(enc: _Encoder, value: Table) -> None:
    enc.write(_HEAD_TABLE)
    enc.encode_string(value.name)


def _enc_decimal(enc: _Encoder, value: Decimal) -> None:
    # protocol.md §5.3: tag 10 with the number as text. Written without an exponent, which
    # the server's decimal parser does not take; trailing zeros are kept (the engine itself
    # normalises 1.50 to 1.5).
    if not value.is_finite():
        raise EncodingError(f"SurrealDB decimals are finite; cannot send {value!r}")
    text = str(value)  # much faster than format(value, "f"); only exponents need that
    if "E" in text:
        text = format(value, "f")
    enc.write(_HEAD_DECIMAL)
    enc.encode_string(text)


def _naive_error() -> EncodingError:
    return EncodingError(
        "cannot send a naive datetime (it has no timezone, so the instant it means is "
        "unknown); attach one, e.g. datetime.now(timezone.utc) or "
        "dt.replace(tzinfo=timezone.utc)")


def _enc_instant(enc: _Encoder, value: datetime, ns: int) -> None:
    # protocol.md §5.3: tag 12 [secs, nanos] with both elements, in UTC.
    tz = value.tzinfo
    if tz is not _UTC and (tz is None or value.utcoffset() is None):
        raise _naive_error()
    delta = _datetime_sub(value, _EPOCH)
    enc.write(_HEAD_DATETIME)
    enc.encode_int(delta.days * 86400 + delta.seconds)
    enc.encode_int(delta.microseconds * 1000 + ns)


def _enc_datetime(enc: _Encoder, value: datetime) -> None:
    if type(value) is datetime:
        _enc_instant(enc, value, 0)
    else:
        # A Datetime subclass, or another datetime subclass (via _enc_default); pandas'
        # Timestamp has a ``nanosecond`` attribute too.
        ns = getattr(value, "nanosecond", 0)
        _enc_instant(enc, value, ns if type(ns) is int and 0 <= ns <= 999 else 0)


def _enc_datetime_ns(enc: _Encoder, value: Datetime) -> None:
    # _enc_instant inlined: Datetime is what the decoder returns, so the usual case.
    tz = value.tzinfo
    if tz is not _UTC and (tz is None or value.utcoffset() is None):
        raise _naive_error()
    delta = _datetime_sub(value, _EPOCH)
    enc.write(_HEAD_DATETIME)
    enc.encode_int(delta.days * 86400 + delta.seconds)
    enc.encode_int(delta.microseconds * 1000 + value._ns)


_int_to_bytes: Final = int.to_bytes


def _enc_uuid(enc: _Encoder, value: UUID) -> None:
    # protocol.md §5.3: tag 37 with the 16 bytes (twice as fast as cbor2's own encode_uuid).
    enc.write(_HEAD_UUID + _int_to_bytes(value.int, 16))


def _enc_duration_ns(enc: _Encoder, ns: int) -> None:
    # protocol.md §5.1 row 14: [] for zero, [secs] without nanoseconds, else [secs, nanos],
    # exactly as the server writes it.
    secs, nanos = divmod(ns, _NS_PER_S)
    if nanos:
        enc.write(_HEAD_DURATION_2)
        enc.encode_int(secs)
        enc.encode_int(nanos)
    elif secs:
        enc.write(_HEAD_DURATION_1)
        enc.encode_int(secs)
    else:
        enc.write(_HEAD_DURATION_0)


def _enc_duration(enc: _Encoder, value: Duration) -> None:
    _enc_duration_ns(enc, value._ns)


def _enc_timedelta(enc: _Encoder, value: timedelta) -> None:
    if value < timedelta(0):
        raise EncodingError(f"SurrealDB durations are never negative; cannot send {value!r}")
    _enc_duration_ns(enc, Duration.from_timedelta(value)._ns)


def _enc_memoryview(enc: _Encoder, value: memoryview) -> None:
    enc.encode_bytes(value.tobytes())


def _enc_surreal_set(enc: _Encoder, value: SurrealSet) -> None:
    enc.write(_HEAD_SET)
    enc.encode_array(value.items)


def _enc_python_set(enc: _Encoder, value: set[Any] | frozenset[Any]) -> None:
    # A Python set is sent as a SurrealDB set (tag 56), never as CBOR tag 258, which the
    # server rejects (sdk-survey.md §2.4).
    enc.write(_HEAD_SET)
    enc.encode_array(list(value))


def _enc_bound(enc: _Encoder, bound: BoundIncluded | BoundExcluded | None) -> None:
    if bound is None:
        enc.write(_HEAD_NULL)  # an open side is null inside tag 49 (protocol.md §5.1)
    else:
        enc.write(_HEAD_INCLUDED if type(bound) is BoundIncluded else _HEAD_EXCLUDED)
        enc.encode(bound.value)


def _enc_range(enc: _Encoder, value: Range) -> None:
    enc.write(_HEAD_RANGE)
    _enc_bound(enc, value.begin)
    _enc_bound(enc, value.end)


_pack_e: Final = struct.Struct(">e").pack
_pack_f: Final = struct.Struct(">f").pack
_pack_d: Final = struct.Struct(">d").pack
_unpack_e: Final = struct.Struct(">e").unpack
_unpack_f: Final = struct.Struct(">f").unpack


def _short_float(value: float) -> bytes:
    """``value`` as a CBOR float in its shortest lossless width (as ciborium writes it)."""
    try:
        single = _pack_f(value)
    except OverflowError:  # beyond float32's range: only float64 holds it
        return b"\xfb" + _pack_d(value)
    if _unpack_f(single)[0] != value:
        if math.isnan(value):
            return b"\xf9\x7e\x00"
        return b"\xfb" + _pack_d(value)
    try:
        half = _pack_e(value)
    except OverflowError:
        return b"\xfa" + single
    if _unpack_e(half)[0] == value:
        return b"\xf9" + half
    return b"\xfa" + single


def _enc_point(enc: _Encoder, value: GeometryPoint) -> None:
    enc.write(_HEAD_POINT + _short_float(value.longitude) + _short_float(value.latitude))


def _enc_composite(enc: _Encoder, value: _Composite) -> None:
    enc.encode_length(6, value.TAG)
    enc.encode_array(value._parts)


def _enc_file(enc: _Encoder, value: File) -> None:
    enc.write(_HEAD_FILE)
    enc.encode_string(value.bucket)
    enc.encode_string(value.key)


def _enc_future(enc: _Encoder, value: Future) -> None:
    enc.write(_HEAD_FUTURE)
    enc.encode_string(value.body)


def _enc_verbatim(enc: _Encoder, value: Any) -> None:
    """Write a :class:`Tagged` payload as the server would have: floats in their shortest
    width, containers walked so that nested floats are too, maps in their own order."""
    kind = type(value)
    if kind is float:
        enc.write(_short_float(value))
    elif kind is list or kind is tuple:
        enc.encode_length(4, len(value))
        for item in value:
            _enc_verbatim(enc, item)
    elif kind is dict:
        enc.encode_length(5, len(value))
        for key, item in value.items():
            _enc_verbatim(enc, key)
            _enc_verbatim(enc, item)
    else:
        enc.encode(value)


def _enc_tagged(enc: _Encoder, value: Tagged) -> None:
    enc.encode_length(6, value.tag)
    _enc_verbatim(enc, value.value)


_REFUSED_HINTS: Final[dict[type, str]] = {
    date: "SurrealDB has no date type; send an aware datetime",
    time: "SurrealDB has no time-of-day type; send a string or a Duration",
    complex: "SurrealDB has no complex numbers",
    Fraction: "send a Decimal or a float",
    re.Pattern: "SurrealDB cannot receive regex values over CBOR (protocol.md §5.2)",
}


def _unencodable(value: Any) -> UnencodableTypeError:
    kind = type(value)
    hint = _REFUSED_HINTS.get(kind, "convert it to a supported type first")
    return UnencodableTypeError(
        f"cannot encode a {kind.__module__}.{kind.__qualname__} for SurrealDB: {hint}. "
        "Supported: None, NULL, bool, int, float, str, bytes, list, tuple, dict (str keys), "
        "Decimal, UUID, aware datetime, timedelta, RecordID, Table, StringRecordID, "
        "Duration, Range, SurrealSet, set, geometry, File, Future, Tagged")


def _enc_refuse(enc: _Encoder, value: Any) -> None:
    # cbor2 would encode these natively with tags SurrealDB does not know; refuse them here,
    # before anything is sent, rather than have the server fail the whole request.
    raise _unencodable(value)


def _enc_default(enc: _Encoder, value: Any) -> None:
    # Reached only for types with no exact-type hook. Subclasses of the value types are
    # encoded like their base class.
    for base in type(value).__mro__[1:]:
        hook = _ENCODERS.get(base)
        if hook is not None and hook is not _enc_refuse:
            hook(enc, value)
            return
    raise _unencodable(value)



# cbor2 6.3 looks every value's exact type up in this dict before anything else
# (PyObject_GetItem, then a vectorcall of the hook). Measured (bench_codec.py --mechanisms):
# a hit on one of cbor2's own C methods costs ~30-40 ns per value on top of cbor2's own
# ~35 ns, a miss ~150-190 ns (a KeyError raised and caught inside cbor2), so the plain types
# map to cbor2's C methods and never miss. ``default=`` alone would be free for plain data,
# but cbor2 encodes None, int, dict, datetime, Decimal and sets itself before consulting it,
# and no flag or subclass (CBOREncoder is final) changes that; so the mapping stays, and only
# int (range check, ~+80 ns) and dict (key check, ~+450 ns) pay for a Python hook.
_ENCODERS: Final[dict[type, Callable[[Any, Any], None]]] = {
    str: _C.encode_string,
    bytes: _C.encode_bytes,
    bytearray: _C.encode_bytearray,
    bool: _C.encode_bool,
    float: _C.encode_float,
    list: _C.encode_array,
    tuple: _C.encode_array,
    UUID: _enc_uuid,
    type(None): _enc_none,
    NullType: _enc_null,
    int: _enc_int,
    dict: _enc_dict,
    OrderedDict: _enc_dict,
    defaultdict: _enc_dict,
    RecordID: _enc_record_id,
    StringRecordID: _enc_string_record_id,
    Table: _enc_table,
    Decimal: _enc_decimal,
    datetime: _enc_datetime,
    Datetime: _enc_datetime_ns,
    Duration: _enc_duration,
    timedelta: _enc_timedelta,
    memoryview: _enc_memoryview,
    SurrealSet: _enc_surreal_set,
    set: _enc_python_set,
    frozenset: _enc_python_set,
    Range: _enc_range,
    BoundIncluded: _enc_bound,
    BoundExcluded: _enc_bound,
    GeometryPoint: _enc_point,
    GeometryLine: _enc_composite,
    GeometryPolygon: _enc_composite,
    GeometryMultiPoint: _enc_composite,
    GeometryMultiLine: _enc_composite,
    GeometryMultiPolygon: _enc_composite,
    GeometryCollection: _enc_composite,
    File: _enc_file,
    Future: _enc_future,
    Tagged: _enc_tagged,
    # Types cbor2 knows but SurrealDB does not: refuse them before sending.
    date: _enc_refuse,
    time: _enc_refuse,
    complex: _enc_refuse,
    Fraction: _enc_refuse,
    re.Pattern: _enc_refuse,
    IPv4Address: _enc_refuse,
    IPv4Interface: _enc_refuse,
    IPv4Network: _enc_refuse,
    IPv6Address: _enc_refuse,
    IPv6Interface: _enc_refuse,
    IPv6Network: _enc_refuse,
    cbor2.CBORSimpleValue: _enc_refuse,
    type(cbor2.undefined): _enc_refuse,
}

# Encoders are reused: ``encode_to_bytes`` on an existing CBOREncoder saves ~400 ns per call
# over ``cbor2.dumps`` (which builds one each time), and it leaves no state behind, even after
# an exception. Each call takes one out of the pool, so concurrent calls (threads) never share
# one; list.pop and list.append are atomic.
_POOL: list[cbor2.CBOREncoder] = []
_POOL_SIZE: Final = 8


def _new_encoder() -> cbor2.CBOREncoder:
    return cbor2.CBOREncoder(BytesIO(), encoders=_ENCODERS, default=_enc_default)


def cbor2_encode(value: Any) -> bytes:
    """Encode one value as SurrealDB CBOR.

    Args:
        value: the value (see the module docs for the type mapping).

    Returns:
        The CBOR bytes.

    Raises:
        EncodingError: the value cannot be sent as it is: an ``int`` outside the signed
            64-bit range, a naive ``datetime``, a non-finite ``Decimal``, a negative
            ``timedelta``, a structure nested deeper than 400 levels or cyclic.
        UnencodableTypeError: a value of a type SurrealDB has no equivalent for, or a map
            key that is not a ``str`` (also an :class:`EncodingError` and a ``TypeError``).
    """
    try:
        encoder = _POOL.pop()
    except IndexError:
        encoder = _new_encoder()
    try:
        return encoder.encode_to_bytes(value)
    except EncodingError:
        raise
    except (cbor2.CBOREncodeError, RecursionError, OverflowError) as exc:
        raise EncodingError(f"cannot encode the value for SurrealDB: {exc}") from exc
    finally:
        if len(_POOL) < _POOL_SIZE:
            _POOL.append(encoder)


# =========================================================================== decoding
#
# cbor2 calls ``_tag_hook(tag, immutable)`` for every tag it does not decode itself; that
# one hook dispatches on the tag number. Measured with cbor2 6.3 (bench_codec.py
# --mechanisms): a ``tag_hook`` call costs ~30-100 ns on top of cbor2 building the CBORTag
# (~200 ns), a ``semantic_decoders`` callback ~500 ns more whatever it does, and merely passing
# ``semantic_decoders`` makes every other tag pay ~200 ns for a failed lookup (a KeyError
# inside cbor2). So the fast path has no ``semantic_decoders`` at all: the few IANA tags
# cbor2 decodes itself (bignums 2/3, epoch datetime 1, tag 0 text datetimes, UUID 37, decimal
# fractions, sets 258, ...) come back as cbor2's Python values. SurrealDB sends none of them
# except 37 (protocol.md §5.1). If cbor2 fails on one, decode() runs again with
# ``_SEMANTIC``, which keeps them opaque, so a well-formed tag never fails.
#
# Inside a tag cbor2 builds arrays as tuples and maps as frozendicts; the decoders read them
# as they are and turn nested containers back into lists and dicts (``_fix``). A payload of
# the wrong shape raises, and decode() turns that into RemoteProtocolError.
#
# NULL and NONE: cbor2 decodes CBOR null as ``None`` natively (it has no hook for simple
# values) and tag 6 becomes ``_NONE`` here, so the two are swapped into the public mapping
# (null -> NULL, NONE -> None) by ``_object_hook``, which cbor2 calls for each map right
# after building it (so maps never need a recursive walk), plus ``_swap_list`` for the arrays
# outside maps. decode() passes the hook only when the message contains a 0xf6 or 0xc6 byte.
# The swap costs one Python-level look at each map value (~50 ns); C-level pre-checks cost
# nearly as much (``set.isdisjoint(map(type, ...))`` ~25-45 ns a value; ``None in
# d.values()`` calls the Python ``__eq__`` of RecordID, Datetime...) and do not pay off, as
# most records hold an array that must be looked into anyway.


class _BadPayload(ValueError):
    pass


def _bad(tag: int, payload: Any) -> _BadPayload:
    return _BadPayload(f"tag {tag} with an invalid payload {payload!r:.200}")


_NoneType: Final = type(None)
# Types of the values the NULL/NONE swap must look at (or into).
_SWAP: Final = frozenset((_NoneType, _NoneMark, list))
_SWAP_TREE: Final = frozenset((_NoneType, _NoneMark, list, dict))
# Types that make a tag payload need ``_fix``.
_FIXABLE: Final = frozenset((_NoneType, _NoneMark, tuple, list, dict, cbor2.frozendict))


def _fix(value: Any) -> Any:
    """``value`` with CBOR null as :data:`NULL`, tag 6 as ``None``, and tuples and
    frozendicts (built by cbor2 inside tags) as lists and dicts."""
    if value is None:
        return NULL
    if value is _NONE:
        return None
    kind = type(value)
    if kind is tuple or kind is list:
        return [_fix(v) for v in value]
    if kind is dict or isinstance(value, Mapping):
        return {k: _fix(v) for k, v in value.items()}
    return value


def _swap_list(items: list[Any]) -> None:
    """Swap null and NONE in ``items`` and the arrays inside it, in place (maps inside it
    were swapped by ``_object_hook`` already)."""
    for index, value in enumerate(items):
        if type(value) in _SWAP:
            if value is None:
                items[index] = NULL
            elif value is _NONE:
                items[index] = None
            else:
                _swap_list(value)


def _object_hook(obj: Any, immutable: bool) -> Any:
    # Maps inside tags (immutable, frozendicts) are left to the tag's decoder (``_fix``).
    if not immutable:
        for key, value in obj.items():
            if type(value) in _SWAP:
                if value is None:
                    obj[key] = NULL
                elif value is _NONE:
                    obj[key] = None
                else:
                    _swap_list(value)
    return obj


def _swap_tree(value: Any) -> Any:
    """Swap null and NONE everywhere in ``value`` outside tags, top down: for decode()'s second
    try, where cbor2 hands ``_SEMANTIC``'s decoders mutable payloads, which ``_fix`` swaps
    itself, so the object hook (which would swap their maps first) is not used."""
    if value is None:
        return NULL
    if value is _NONE:
        return None
    kind = type(value)
    if kind is dict:
        for key, item in value.items():
            if type(item) in _SWAP_TREE:
                value[key] = _swap_tree(item)
    elif kind is list:
        for index, item in enumerate(value):
            if type(item) in _SWAP_TREE:
                value[index] = _swap_tree(item)
    return value


_set_rid_table: Final = RecordID.__dict__["table"].__set__
_set_rid_id: Final = RecordID.__dict__["id"].__set__
_set_duration_ns: Final = Duration.__dict__["_ns"].__set__
_set_datetime_ns: Final = Datetime.__dict__["_ns"].__set__
# datetime.__new__(cls, state, tz): the pickle constructor (no argument parsing).
_datetime_from_state: Final[Callable[[type[Datetime], bytes, Any], Datetime]] = \
    datetime.__new__  # type: ignore[assignment]
_to_bytes: Final = int.to_bytes
_object_new: Final = object.__new__
_Decimal: Final = Decimal
# Python datetimes cover years 1-9999 (protocol.md §5.1 row 12 allows far more).
_MIN_SECS: Final = int(_datetime_sub(datetime(1, 1, 2, tzinfo=UTC), _EPOCH).total_seconds())
_MAX_SECS: Final = int(_datetime_sub(datetime(9999, 12, 30, tzinfo=UTC), _EPOCH).total_seconds())
_EPOCH_ORDINAL: Final = _EPOCH.toordinal()
_date_from_ordinal: Final = date.fromordinal

# The 10-byte state that ``datetime.__new__(cls, state, tz)`` (the pickle constructor) takes:
# year (2 bytes), month, day, hour, minute, second, microsecond (3 bytes). Building a Datetime
# from it is ~2x faster than ``_EPOCH + timedelta(...)`` (the timedelta constructor alone costs
# ~400 ns): the date part comes from a bounded cache by day (real results cluster on few
# days), the time of day from two small tables.
_DAY_STATE: dict[int, bytes] = {}
_DAY_CACHE_SIZE: Final = 4096
_MINUTE_STATE: Final = tuple(bytes((m // 60, m % 60)) for m in range(1440))
_SECOND_STATE: Final = tuple(bytes((s,)) for s in range(60))


def _day_state(days: int) -> bytes:
    day = _date_from_ordinal(_EPOCH_ORDINAL + days)
    state = bytes((day.year >> 8, day.year & 255, day.month, day.day))
    if len(_DAY_STATE) >= _DAY_CACHE_SIZE:
        _DAY_STATE.clear()
    _DAY_STATE[days] = state
    return state


def _dec_record_id(payload: Any) -> RecordID | StringRecordID:
    # protocol.md §5.1 row 8: the server always sends [table, key]; the text form is kept as
    # a StringRecordID so that it goes back unchanged.
    # (_tag_hook itself handles int and text keys.)
    if type(payload) is tuple and len(payload) == 2 and type(payload[0]) is str:
        rid = _object_new(RecordID)
        _set_rid_table(rid, payload[0])
        _set_rid_id(rid, _fix(payload[1]))
        return rid
    if type(payload) is str:
        return _new_string_record_id(payload)
    raise _bad(TAG_RECORD_ID, payload)


def _dec_table(payload: Any) -> Table:
    if type(payload) is str:
        return _new_table(payload)
    raise _bad(TAG_TABLE, payload)


def _dec_uuid_text(payload: Any) -> UUID:
    if type(payload) is str:
        return UUID(payload)
    raise _bad(TAG_UUID_TEXT, payload)


_set_uuid_int: Final = UUID.__dict__["int"].__set__
_set_uuid_safe: Final = UUID.__dict__["is_safe"].__set__
_int_from_bytes: Final = int.from_bytes


def _dec_uuid(payload: Any, immutable: bool = False) -> UUID:
    if type(payload) is bytes and len(payload) == 16:
        # What UUID(bytes=payload) does, without its argument checks (a third of the time).
        uuid = _object_new(UUID)
        _set_uuid_int(uuid, _int_from_bytes(payload))
        _set_uuid_safe(uuid, SafeUUID.unknown)
        return uuid
    raise _bad(TAG_UUID, payload)


def _dec_datetime_text(payload: Any, immutable: bool = False) -> Datetime:
    if type(payload) is str:
        return Datetime.fromisoformat(payload)
    raise _bad(TAG_DATETIME_TEXT, payload)


def _dec_datetime(payload: Any) -> Datetime | Tagged:
    # protocol.md §5.1 row 12: [seconds, nanoseconds] (3.x: exactly two); seconds may be
    # negative. One element is accepted too. (_tag_hook itself handles the usual case.)
    if type(payload) is tuple and 1 <= len(payload) <= 2 \
            and all(type(x) is int for x in payload):
        secs = payload[0]
        nanos = payload[1] if len(payload) == 2 else 0
        if 0 <= nanos < _NS_PER_S:
            try:
                return _datetime_from_compact(secs, nanos)
            except (OverflowError, ValueError):
                # Valid for SurrealDB, beyond Python's years 1-9999: keep it as it came.
                return _new_tagged(TAG_DATETIME, list(payload))
    raise _bad(TAG_DATETIME, payload)


def _dec_duration_text(payload: Any) -> Duration:
    if type(payload) is str:
        return Duration.parse(payload)
    raise _bad(TAG_DURATION_TEXT, payload)


def _dec_duration(payload: Any) -> Duration:
    # protocol.md §5.1 row 14: [] = 0, [secs], or [secs, nanos].
    if type(payload) is tuple and len(payload) <= 2 and all(type(x) is int for x in payload):
        secs = payload[0] if payload else 0
        nanos = payload[1] if len(payload) == 2 else 0
        if 0 <= secs <= _U64_MAX and 0 <= nanos < _NS_PER_S:
            return _new_duration(secs * _NS_PER_S + nanos)
    raise _bad(TAG_DURATION, payload)


def _dec_future(payload: Any) -> Future:
    if type(payload) is str:
        return Future(payload)
    raise _bad(TAG_FUTURE, payload)


def _dec_range(payload: Any) -> Range:
    # protocol.md §5.1 row 49: [lower, upper], each null (open), tag 50 or tag 51.
    if type(payload) is tuple and len(payload) == 2:
        begin, end = payload
        if (begin is None or type(begin) is BoundIncluded or type(begin) is BoundExcluded) \
                and (end is None or type(end) is BoundIncluded or type(end) is BoundExcluded):
            return _new_range(begin, end)
    raise _bad(TAG_RANGE, payload)


def _dec_included(payload: Any) -> BoundIncluded:
    if type(payload) in _FIXABLE:
        payload = _fix(payload)
    return _new_bound(BoundIncluded, payload)  # type: ignore[no-any-return]


def _dec_excluded(payload: Any) -> BoundExcluded:
    if type(payload) in _FIXABLE:
        payload = _fix(payload)
    return _new_bound(BoundExcluded, payload)  # type: ignore[no-any-return]


def _dec_file(payload: Any) -> File:
    if type(payload) is tuple and len(payload) == 2 \
            and type(payload[0]) is str and type(payload[1]) is str:
        return _new_file(payload[0], payload[1])
    raise _bad(TAG_FILE, payload)


def _dec_set(payload: Any) -> SurrealSet:
    if type(payload) is tuple:
        if not _FIXABLE.isdisjoint(map(type, payload)):
            payload = tuple(map(_fix, payload))
        return _new_set(payload)
    raise _bad(TAG_SET, payload)


def _coordinate(value: Any) -> float:
    kind = type(value)
    if kind is float:
        return value  # type: ignore[no-any-return]
    if kind is int or kind is Decimal:  # ints are valid; 1.x sends tag-10 decimals (§5.1)
        return float(value)
    raise _BadPayload(f"a geometry coordinate must be a number, not {value!r:.100}")


def _dec_point(payload: Any) -> GeometryPoint:
    if type(payload) is tuple and len(payload) == 2:
        x, y = payload
        if type(x) is float and type(y) is float:
            return _new_point(x, y)
        return _new_point(_coordinate(x), _coordinate(y))
    raise _bad(TAG_GEOMETRY_POINT, payload)


def _composite_decoder(cls: type[_Composite], part: type | None) -> Callable[[Any], Any]:
    tag = cls.TAG

    def decode_composite(payload: Any) -> Any:
        if type(payload) is tuple and (
                all(type(p) is part for p in payload) if part is not None
                else all(isinstance(p, Geometry) for p in payload)):  # a collection
            return _new_composite(cls, payload)
        raise _bad(tag, payload)

    return decode_composite


_TAG_DECODERS: Final[dict[int, Callable[[Any], Any]]] = {
    TAG_TABLE: _dec_table,
    TAG_UUID_TEXT: _dec_uuid_text,
    TAG_DURATION_TEXT: _dec_duration_text,
    TAG_FUTURE: _dec_future,
    TAG_RANGE: _dec_range,
    TAG_BOUND_INCLUDED: _dec_included,
    TAG_BOUND_EXCLUDED: _dec_excluded,
    TAG_FILE: _dec_file,
    TAG_SET: _dec_set,
    TAG_GEOMETRY_POINT: _dec_point,
    TAG_GEOMETRY_LINE: _composite_decoder(GeometryLine, GeometryPoint),
    TAG_GEOMETRY_POLYGON: _composite_decoder(GeometryPolygon, GeometryLine),
    TAG_GEOMETRY_MULTIPOINT: _composite_decoder(GeometryMultiPoint, GeometryPoint),
    TAG_GEOMETRY_MULTILINE: _composite_decoder(GeometryMultiLine, GeometryLine),
    TAG_GEOMETRY_MULTIPOLYGON: _composite_decoder(GeometryMultiPolygon, GeometryPolygon),
    TAG_GEOMETRY_COLLECTION: _composite_decoder(GeometryCollection, None),
}
_get_tag_decoder: Final = _TAG_DECODERS.get

# The end-of-input marker decode() appends: simple value 255, which nothing in SurrealDB's
# protocol uses and which cbor2 decodes without calling back into Python.
_END_BYTES: Final = b"\xf8\xff"
_SimpleValue: Final = cbor2.CBORSimpleValue


def _tag_hook(tag: cbor2.CBORTag, immutable: bool) -> Any:
    number = tag.tag
    # The tags the server sends for every record id, datetime, NONE, decimal and duration
    # (protocol.md §5.1) are decoded inline, in that order; anything unusual (a key that is
    # not an int or a string, a datetime beyond Python's years, a bad payload...) takes the
    # checked path of its decoder in _TAG_DECODERS.
    if number == TAG_RECORD_ID:
        payload = tag.value
        if type(payload) is tuple and len(payload) == 2:
            table, key = payload
            kind = type(key)
            if type(table) is str and (kind is int or kind is str):
                rid = _object_new(RecordID)
                _set_rid_table(rid, table)
                _set_rid_id(rid, key)
                return rid
        return _dec_record_id(payload)
    if number == TAG_DATETIME:
        payload = tag.value
        if type(payload) is tuple and len(payload) == 2:
            secs, nanos = payload
            if type(secs) is int and type(nanos) is int and 0 <= nanos < _NS_PER_S \
                    and _MIN_SECS <= secs <= _MAX_SECS:
                tod = secs % 86400
                day = _DAY_STATE.get(secs // 86400)
                if day is None:
                    day = _day_state(secs // 86400)
                dt = _datetime_from_state(
                    Datetime, day + _MINUTE_STATE[tod // 60] + _SECOND_STATE[tod % 60]
                    + _to_bytes(nanos // 1000, 3), _UTC)
                _set_datetime_ns(dt, nanos % 1000)
                return dt
        return _dec_datetime(payload)
    if number == TAG_NONE:
        return _NONE  # the payload is a placeholder and is ignored (§5.1 row 6)
    if number == TAG_DECIMAL:
        payload = tag.value
        if type(payload) is str:
            return _Decimal(payload)
        raise _bad(TAG_DECIMAL, payload)
    if number == TAG_DURATION:
        payload = tag.value
        if type(payload) is tuple and len(payload) == 2:
            secs, nanos = payload
            if type(secs) is int and type(nanos) is int and 0 <= nanos < _NS_PER_S \
                    and 0 <= secs <= _U64_MAX:
                duration = _object_new(Duration)
                _set_duration_ns(duration, secs * _NS_PER_S + nanos)
                return duration
        return _dec_duration(payload)
    decoder = _get_tag_decoder(number)
    if decoder is not None:
        return decoder(tag.value)
    # Any other tag stays opaque (protocol.md §5.2: never fail on an unknown tag).
    return _new_tagged(number, _fix(tag.value))


def _opaque_decoder(tag: int) -> Callable[[Any, bool], Tagged]:
    def decode_opaque(payload: Any, immutable: bool) -> Tagged:
        return _new_tagged(tag, _fix(payload))

    return decode_opaque


# The second try (see the top of this section): tags cbor2 would decode itself. 0 and 37 are
# SurrealDB's (datetime text, UUID); SurrealDB defines none of the others (protocol.md §5.1
# rows 1-3: "unknown CBOR tag" on the server), so they are kept opaque.
_SEMANTIC: Final[dict[int, Callable[[Any, bool], Any]]] = {
    TAG_DATETIME_TEXT: _dec_datetime_text,
    TAG_UUID: _dec_uuid,
}
for _tag in (1, 2, 3, 4, 5, 21, 22, 23, 24, 25, 28, 29, 30, 32, 33, 34, 35, 36, 52, 54, 100,
             256, 258, 260, 261, 1004, 55799):
    _SEMANTIC[_tag] = _opaque_decoder(_tag)
del _tag

_loads: Final = cbor2.loads


def cbor2_decode(data: bytes | bytearray | memoryview, *,
                 max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    """Decode one SurrealDB CBOR value.

    ``None`` is NONE (tag 6) and :data:`NULL` is CBOR null; see the module docs for the rest
    of the mapping.

    Args:
        data: exactly one CBOR data item.
        max_depth: the deepest nesting of arrays, maps and tags to accept.

    Returns:
        The value.

    Raises:
        RemoteProtocolError: ``data`` is not exactly one well-formed CBOR item (empty,
            truncated, trailing bytes, invalid UTF-8, a declared length longer than the
            data), nests deeper than ``max_depth``, or holds a known tag with a payload of
            the wrong shape. Never any other exception.
    """
    if type(data) is not bytes:
        data = bytes(data)
    # ``[data, END]``: cbor2 ignores bytes after the first item, so the value is wrapped in
    # a two-element array closed by a marker. Exactly one item in ``data`` gives
    # [value, END]; a short item swallows the marker and leaves the array incomplete (an
    # error); trailing bytes put something else in the second slot (unless they are exactly
    # one marker, which no SurrealDB server sends).
    wrapped = b"\x82" + data + _END_BYTES
    # A null is the byte 0xf6 and a NONE starts with 0xc6: without either there is nothing to
    # swap, and no map needs the object hook.
    swap = 0xF6 in data or 0xC6 in data  # (int operands: a memchr, 8x faster than b"\xf6")
    try:
        pair = _loads(wrapped, tag_hook=_tag_hook, object_hook=_object_hook if swap else None,
                      max_depth=max_depth + 1)
    except Exception:
        try:
            pair = _loads(wrapped, semantic_decoders=_SEMANTIC, tag_hook=_tag_hook,
                          max_depth=max_depth + 1)
        except Exception as exc:
            cause = exc.__cause__
            detail = f"{exc}: {cause}" if cause is not None else str(exc)
            raise RemoteProtocolError(f"undecodable CBOR from the server: {detail}") from exc
        _check_end(pair)
        return _swap_tree(pair[0]) if swap else pair[0]
    _check_end(pair)
    value = pair[0]
    if swap:
        if value is None:
            return NULL
        if value is _NONE:
            return None
        if type(value) is list:
            _swap_list(value)
    return value


def _check_end(pair: list[Any]) -> None:
    end = pair[1]
    if type(end) is not _SimpleValue or end.value != 255:
        raise RemoteProtocolError("undecodable CBOR from the server: bytes after the value")


# =========================================================================== native fast path
#
# ``_speedups`` (surreal_proto/_speedups.c, built when a C compiler is available) implements
# the same mapping by walking the objects and the bytes itself: measured on bench_codec.py's
# payloads it takes about half the time of plain cbor2 without hooks (bench/RESULTS.md,
# Codec). It handles the common shapes and leaves everything else to the functions above,
# which stay the reference: a value of a type it does not handle is encoded by
# ``cbor2_encode``, and on any error, malformed input or unusual tag the whole value or
# message goes through ``cbor2_encode`` / ``cbor2_decode``, so both give the same bytes, values
# and errors (tests/proto/test_codec_native.py checks it on random values and bytes). Setting
# ``SURREAL_PROTO_NO_SPEEDUPS=1`` in the environment selects the cbor2 functions.


class _Decode(Protocol):
    def __call__(self, data: bytes | bytearray | memoryview, *,
                 max_depth: int = DEFAULT_MAX_DEPTH) -> Any: ...


def _load_speedups(disabled: bool) -> Any:
    """The set-up native module, or ``None`` when ``disabled`` or when it was not built."""
    if disabled:
        return None
    try:
        from . import _speedups
    except ImportError:
        return None
    _speedups.setup({
        "encode": cbor2_encode,
        "decode": cbor2_decode,
        "NULL": NULL,
        "NullType": NullType,
        "RecordID": RecordID,
        "StringRecordID": StringRecordID,
        "Table": Table,
        "Datetime": Datetime,
        "Duration": Duration,
        "UUID": UUID,
        "Decimal": Decimal,
        "GeometryPoint": GeometryPoint,
        "GeometryLine": GeometryLine,
        "GeometryPolygon": GeometryPolygon,
        "GeometryMultiPoint": GeometryMultiPoint,
        "GeometryMultiLine": GeometryMultiLine,
        "GeometryMultiPolygon": GeometryMultiPolygon,
        "GeometryCollection": GeometryCollection,
        "SurrealSet": SurrealSet,
        "Range": Range,
        "BoundIncluded": BoundIncluded,
        "BoundExcluded": BoundExcluded,
        "File": File,
        "Future": Future,
        "Tagged": Tagged,
        "UTC": _UTC,
        "SafeUUID.unknown": SafeUUID.unknown,
        "Duration.parse": Duration.parse,
        "semantic_tags": tuple(_SEMANTIC),
        "min_secs": _MIN_SECS,
        "max_secs": _MAX_SECS,
    })
    return _speedups


_native: Final = _load_speedups(os.environ.get("SURREAL_PROTO_NO_SPEEDUPS", "") not in ("", "0"))

#: ``"native"`` when the C fast path is in use, ``"cbor2"`` otherwise.
IMPLEMENTATION: Final = "cbor2" if _native is None else "native"

#: Encode one value as SurrealDB CBOR: :func:`cbor2_encode`'s contract, natively when built.
encode: Callable[[Any], bytes] = cbor2_encode if _native is None else _native.encode
#: Decode one SurrealDB CBOR value: :func:`cbor2_decode`'s contract, natively when built.
decode: _Decode = cbor2_decode if _native is None else _native.decode
