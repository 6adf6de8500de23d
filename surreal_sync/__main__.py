"""``python -m surreal_sync``: the ``surreal-py`` command line (``surreal_sync._cli``)."""

from __future__ import annotations

from ._cli import main

__all__ = ["main"]

if __name__ == "__main__":
    raise SystemExit(main())
