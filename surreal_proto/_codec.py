"""CBOR codec (placeholder API; the full SurrealDB tag table replaces this body)."""

from __future__ import annotations

from typing import Any

import cbor2

from ._errors import RemoteProtocolError

__all__ = ["decode", "encode"]


def encode(value: Any) -> bytes:
    """Encode one value as SurrealDB CBOR."""
    return cbor2.dumps(value)


def decode(data: bytes | bytearray | memoryview) -> Any:
    """Decode one SurrealDB CBOR value; bad bytes raise :class:`RemoteProtocolError`."""
    try:
        return cbor2.loads(bytes(data))
    except Exception as exc:
        raise RemoteProtocolError(f"undecodable CBOR from the server: {exc}") from exc
