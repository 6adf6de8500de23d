"""Logging for the core without importing :mod:`logging`.

``import logging`` imports :mod:`threading` (for its module lock), and the core must not load
threading (``tests/test_purity.py``). So the core logs through :class:`LazyLogger`, which looks
:mod:`logging` up in ``sys.modules`` at each call and does nothing when it is absent. That loses
nothing: an application that never imported :mod:`logging` has configured no handler, so no
record would have reached anyone. Once the application (or an adapter) imports logging, records
go to the ordinary ``surreal_proto.*`` loggers.

Log messages never contain credentials: callers pass method names, ids and sizes, never params.
"""

from __future__ import annotations

import sys
from typing import Any, Final

__all__ = ["LazyLogger"]

_DEBUG: Final = 10
_WARNING: Final = 30


class LazyLogger:
    """A stand-in for ``logging.getLogger(name)`` that never imports :mod:`logging`."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        #: The name of the :mod:`logging` logger the records go to.
        self.name = name

    def debug(self, msg: str, *args: Any) -> None:
        """Log ``msg % args`` at DEBUG, if :mod:`logging` is loaded."""
        self._log(_DEBUG, msg, args)

    def warning(self, msg: str, *args: Any) -> None:
        """Log ``msg % args`` at WARNING, if :mod:`logging` is loaded."""
        self._log(_WARNING, msg, args)

    def _log(self, level: int, msg: str, args: tuple[Any, ...]) -> None:
        logging = sys.modules.get("logging")
        if logging is not None:
            logging.getLogger(self.name).log(level, msg, *args)
