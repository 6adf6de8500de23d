"""``surreal-py import`` and ``surreal-py export``: a SurrealQL script to and from a
server's ``/import`` and ``/export`` endpoints, with a progress display on a terminal.

The script travels as one HTTP body each way and the server reports no progress while it
works, so the display shows the bytes read from (or written to) the file as a bar, and a
pulsing bar with the elapsed time while the server imports or exports.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)

if TYPE_CHECKING:
    from ._cli_format import Printer
    from ._client import Surreal

__all__ = ["export_to", "import_from"]

_CHUNK = 1 << 20


@contextmanager
def _progress(printer: Printer) -> Iterator[Progress]:
    # On stderr, and only on a terminal: piped output stays clean.
    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                  TransferSpeedColumn(), TimeElapsedColumn(), console=printer.err,
                  transient=True, disable=not printer.err.is_terminal) as progress:
        yield progress


def _size(count: int) -> str:
    value, unit = float(count), "B"
    for bigger in ("kB", "MB", "GB"):
        if value < 1000:
            break
        value, unit = value / 1000, bigger
    return f"{count} B" if unit == "B" else f"{value:.1f} {unit}"


def _read(name: str, progress: Progress, task: TaskID) -> bytes:
    if name == "-":
        data = sys.stdin.buffer.read()
        progress.update(task, completed=len(data), total=len(data))
        return data
    chunks = []
    with Path(name).open("rb") as file:
        while chunk := file.read(_CHUNK):
            chunks.append(chunk)
            progress.advance(task, len(chunk))
    return b"".join(chunks)


def import_from(db: Surreal, name: str, printer: Printer) -> None:
    """Send the script in file ``name`` (``-``: stdin) to the server's ``/import``."""
    with _progress(printer) as progress:
        total = None if name == "-" else Path(name).stat().st_size
        task = progress.add_task(f"reading {name}", total=total)
        data = _read(name, progress, task)
        progress.update(task, description="importing", total=None)
        db.import_(data)
    printer.note(f"imported {_size(len(data))} from {name}")


def export_to(db: Surreal, name: str, printer: Printer) -> None:
    """Write the server's ``/export`` of the database to file ``name`` (``-``: stdout)."""
    with _progress(printer) as progress:
        task = progress.add_task("exporting", total=None)
        data = db.export().encode("utf-8")
        progress.update(task, description=f"writing {name}", total=len(data), completed=0)
        if name == "-":
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        else:
            with Path(name).open("wb") as file:
                for start in range(0, len(data), _CHUNK):
                    file.write(data[start:start + _CHUNK])
                    progress.advance(task, min(_CHUNK, len(data) - start))
    printer.note(f"exported {_size(len(data))} to {name}")
