"""The ``surreal_sync`` logger, which imports :mod:`logging` only when a record could be seen.

``import logging`` costs a few milliseconds of start-up (threading, traceback, string...). The
client logs state changes at DEBUG, reconnect attempts at INFO, and problems at WARNING or
above. While the application has not imported :mod:`logging`, nobody has configured a handler
or a level: the root logger's default WARNING level would drop DEBUG and INFO records, so they
are skipped without importing it (as the core's ``LazyLogger`` does). WARNING and above always
go through :mod:`logging`, importing it if needed, so with no configuration its last-resort
handler still prints them to stderr.

Log messages never contain credentials: callers pass method names, ids and errors, never params.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["ClientLogger"]

_DEBUG = 10
_INFO = 20


class ClientLogger:
    """A stand-in for ``logging.getLogger(name)`` with the four methods the client uses."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        #: The name of the :mod:`logging` logger the records go to.
        self.name = name

    def debug(self, msg: str, *args: Any) -> None:
        """Log ``msg % args`` at DEBUG, if :mod:`logging` is loaded."""
        logging = sys.modules.get("logging")
        if logging is not None:
            logging.getLogger(self.name).log(_DEBUG, msg, *args, stacklevel=2)

    def info(self, msg: str, *args: Any) -> None:
        """Log ``msg % args`` at INFO, if :mod:`logging` is loaded."""
        logging = sys.modules.get("logging")
        if logging is not None:
            logging.getLogger(self.name).log(_INFO, msg, *args, stacklevel=2)

    def warning(self, msg: str, *args: Any) -> None:
        """Log ``msg % args`` at WARNING."""
        import logging

        logging.getLogger(self.name).warning(msg, *args, stacklevel=2)

    def exception(self, msg: str, *args: Any) -> None:
        """Log ``msg % args`` at ERROR with the exception being handled."""
        import logging

        logging.getLogger(self.name).exception(msg, *args, stacklevel=2)
