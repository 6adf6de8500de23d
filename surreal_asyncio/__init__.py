"""surreal_asyncio: the asyncio SurrealDB client, driven by the ``surreal_proto`` core."""

from __future__ import annotations

from surreal_proto import *  # noqa: F403  (re-export the value types and errors)
from surreal_proto import __all__ as _proto_all

__all__ = list(_proto_all)
