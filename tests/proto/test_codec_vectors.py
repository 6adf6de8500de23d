"""Byte-exact test vectors of protocol.md §11 (raw bytes of a SurrealDB 3.2.4 engine), in both
directions: decoding the server's bytes gives the value, and encoding the value gives the
server's bytes back."""

from __future__ import annotations

import uuid
from datetime import UTC
from decimal import Decimal
from typing import Any

import pytest

from surreal_proto import (
    BoundIncluded,
    Datetime,
    Duration,
    GeometryPoint,
    Range,
    RecordID,
    Table,
)
from surreal_proto._codec import decode, encode

from .codec_impls import both_implementations

implementation = both_implementations()


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


# The `RETURN 1.5f` response (protocol.md §11, first table): the server writes 1.5 as a
# half-precision float. A plain float is encoded as 64-bit (the server reads every width), so
# this one is checked in the decoding direction only; see test_float_widths.
FLOAT_RESPONSE = (
    "a2 62 6964 03 66 726573756c74 81 a4 66 726573756c74 f9 3e00 66 737461747573 62 4f4b"
    " 64 74696d65 69 32332e323533c2b573 64 74797065 c6 f6",
    {"id": 3, "result": [{"result": 1.5, "status": "OK", "time": "23.253µs", "type": None}]})

# Whole responses (protocol.md §11, first table). Maps come in the server's sorted key order.
# The query vectors of §11 show only the result bytes; they are completed here with the same
# envelope as the 1.5f one.
RESPONSES: list[tuple[str, Any]] = [
    ("a2 62 6964 01 66 726573756c74 c6 f6", {"id": 1, "result": None}),
    ("a2 62 6964 04 66 726573756c74 81 a4 66 726573756c74 d858 82 f93e00 f94100"
     " 66 737461747573 62 4f4b 64 74696d65 64 31c2b573 64 74797065 c6 f6",
     {"id": 4, "result": [{"result": GeometryPoint(1.5, 2.5), "status": "OK",
                           "time": "1µs", "type": None}]}),
    ("a2 62 6964 05 66 726573756c74 81 a4 66 726573756c74 cc 82 1a65920080 1a1dcd6500"
     " 66 737461747573 62 4f4b 64 74696d65 64 31c2b573 64 74797065 c6 f6",
     {"id": 5, "result": [{"result": Datetime(2024, 1, 1, 0, 0, 0, 500000, UTC),
                           "status": "OK", "time": "1µs", "type": None}]}),
    ("a2 62 6964 06 66 726573756c74 81 a4 66 726573756c74 1a000186a0"
     " 66 737461747573 62 4f4b 64 74696d65 64 31c2b573 64 74797065 c6 f6",
     {"id": 6, "result": [{"result": 100000, "status": "OK", "time": "1µs",
                           "type": None}]}),
]

# Values re-encoded from decoded results (protocol.md §11, second table).
VALUES: list[tuple[str, Any]] = [
    ("ce 81 19 0e8b", Duration.parse("1h2m3s")),
    ("ce 80", Duration.parse("0s")),
    ("ce 82 01 1a1dcd6500", Duration.parse("1500ms")),
    ("c8 82 66706572736f6e 01", RecordID("person", 1)),
    ("c8 82 66706572736f6e 63616263", RecordID("person", "abc")),
    ("d825 50 018e3e5c000070008000000000000000",
     uuid.UUID("018e3e5c-0000-7000-8000-000000000000")),
    ("ca 63 312e35", Decimal("1.5")),
    ("c6 f6", None),
    ("c7 61 74", Table("t")),
    ("d831 82 d832 01 d832 05", Range(BoundIncluded(1), BoundIncluded(5))),
    ("a3 626964 01 666d6574686f64 63757365 66706172616d73 82 626e73 626462",
     {"id": 1, "method": "use", "params": ["ns", "db"]}),
]


@pytest.mark.parametrize(("wire", "value"), [FLOAT_RESPONSE, *RESPONSES, *VALUES])
def test_decode_vector(wire: str, value: Any) -> None:
    assert decode(h(wire)) == value


@pytest.mark.parametrize(("wire", "value"), RESPONSES + VALUES)
def test_encode_vector(wire: str, value: Any) -> None:
    assert encode(value) == h(wire)


@pytest.mark.parametrize(("wire", "value"), RESPONSES + VALUES)
def test_reencode_is_byte_exact(wire: str, value: Any) -> None:
    assert encode(decode(h(wire))) == h(wire)


def test_float_widths() -> None:
    # protocol.md §5.2: the server writes floats in their shortest lossless width; every
    # width decodes as a float, never an int. A plain float is sent as 64-bit; geometry
    # points and opaque values are written in the shortest width, as the server writes them.
    for wire in ("f9 3e00", "fa 3fc00000", "fb 3ff8000000000000"):
        value = decode(h(wire))
        assert value == 1.5
        assert type(value) is float
    assert type(decode(h("f9 3c00"))) is float
    assert encode(1.5) == h("fb 3ff8000000000000")
    value = decode(h(FLOAT_RESPONSE[0]))
    assert decode(encode(value)) == value
