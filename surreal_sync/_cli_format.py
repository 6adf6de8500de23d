"""How ``surreal-py`` shows values: SurrealQL-style text and rich tables, or JSON.

Pretty output (the default) prints a list of records as a table and every other value in
SurrealQL syntax (``person:1``, ``d"2024-01-02T03:04:05Z"``, ``1h30m``, ``NONE``, ``NULL``).

``--json`` prints one JSON document per statement, one per line. JSON has no record ids,
datetimes, durations or NONE, so they map as follows (the mapping of SurrealDB's own JSON
output, with full precision kept):

=====================  ============================================================
value                  JSON
=====================  ============================================================
``NULL``               ``null``
``NONE`` (``None``)    ``null``; a field whose value is NONE is left out of its object
                       (in SurrealDB a NONE field does not exist)
``int``                a number, every digit kept
``float``              a number; NaN and the infinities as ``"NaN"``, ``"Infinity"``,
                       ``"-Infinity"``
``Decimal``            a number written with every digit of the decimal (``1.10``), so
                       a parser that reads numbers as decimals loses nothing
``RecordID``           its SurrealQL text: ``"person:1"``, ``"`a b`:1"``
``Table``              its name
``Datetime``           RFC 3339 text with nanoseconds: ``"2024-01-02T03:04:05.123456789+00:00"``
``Duration``           SurrealQL text: ``"1h30m"``
``UUID``               its text
``bytes``              base64 text
geometry               a GeoJSON object (``{"type": "Point", "coordinates": [1.0, 2.0]}``)
range                  SurrealQL text: ``"1..5"``, ``"person:1..=9"``
set                    an array
file                   SurrealQL text: ``"f\\"bucket:/key\\""``
unknown CBOR tag       ``{"$tag": 1234, "value": <the tagged value>}``
=====================  ============================================================
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from rich import box
from rich.console import Console
from rich.table import Table as RichTable
from rich.text import Text

from surreal_proto import (
    Datetime,
    Future,
    Geometry,
    NullType,
    RecordID,
    StatementResult,
    SurrealSet,
    Table,
    Tagged,
)
from surreal_proto._geometry import _geojson
from surreal_proto._recordid import escape_key, to_surrealql

__all__ = ["Printer", "one_line", "surql", "to_json"]

_LOCATION = re.compile(r"-->\s*\[(\d+):(\d+)\]")


# --------------------------------------------------------------------------- SurrealQL text


def surql(value: Any) -> str:
    """``value`` spelled in SurrealQL; values without a spelling (an unknown CBOR tag) show
    as their ``repr``."""
    try:
        return to_surrealql(value)
    except (ValueError, TypeError):
        pass
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{escape_key(str(k))}: {surql(v)}"
                                for k, v in value.items()) + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(surql(v) for v in value) + "]"
    if isinstance(value, SurrealSet):
        return "<set>" + surql(list(value.items))
    return repr(value)


def _cell(value: Any) -> Text:
    # Strings show as they are in a table; everything else in SurrealQL syntax.
    if isinstance(value, str):
        return Text(value)
    if value is None:
        return Text("NONE", style="dim")
    return Text(surql(value), style="cyan" if isinstance(value, RecordID) else "")


def _is_records(value: Any) -> bool:
    return (isinstance(value, list) and bool(value)
            and all(isinstance(item, Mapping) for item in value))


def records_table(records: Sequence[Mapping[str, Any]]) -> RichTable:
    """A rich table of records: one row per record, one column per field (``id`` first,
    then in order of first appearance); a field a record lacks is an empty cell."""
    columns: dict[str, None] = {}
    if any("id" in record for record in records):
        columns["id"] = None
    for record in records:
        for key in record:
            columns.setdefault(str(key), None)
    table = RichTable(box=box.ROUNDED, header_style="bold")
    for name in columns:
        table.add_column(name, overflow="fold")
    for record in records:
        table.add_row(*(_cell(record[k]) if k in record else Text("") for k in columns))
    return table


# --------------------------------------------------------------------------- JSON


def _json_key(key: Any) -> str:
    return key if isinstance(key, str) else str(key)


def to_json(value: Any) -> str:
    """``value`` as compact JSON text, with the mapping of the module docstring."""
    if value is None or isinstance(value, NullType):
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value):
            return repr(value)
        return json.dumps("NaN" if math.isnan(value) else
                          "Infinity" if value > 0 else "-Infinity")
    if isinstance(value, Decimal):
        if value.is_finite():
            return str(value)  # Decimal text is a valid JSON number: 1.10, 1E+3, -0
        return json.dumps(str(value))
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping):
        items = (f"{json.dumps(_json_key(k), ensure_ascii=False)}:{to_json(v)}"
                 for k, v in value.items() if v is not None)
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple | SurrealSet):
        return "[" + ",".join(to_json(v) for v in value) + "]"
    if isinstance(value, Geometry):
        return to_json(_geojson(value))
    if isinstance(value, Tagged):
        return f'{{"$tag":{value.tag},"value":{to_json(value.value)}}}'
    return json.dumps(_json_text(value), ensure_ascii=False)


def _json_text(value: Any) -> str:
    if isinstance(value, Datetime):
        return value.isoformat_ns()
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Table | UUID):
        return str(value)
    if isinstance(value, Future):
        return value.body
    return surql(value)  # record ids, durations, ranges, files: their SurrealQL text


# --------------------------------------------------------------------------- errors


def one_line(error: BaseException) -> str:
    """An error's message on one line: a server's multi-line parse error keeps its first
    line and its position (``line 1, column 13``)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    text = lines[0]
    where = _LOCATION.search(str(error))
    if where is not None and len(lines) > 1:
        text = f"{text} (line {where.group(1)}, column {where.group(2)})"
    return text


# --------------------------------------------------------------------------- the printer


class Printer:
    """Prints statement results to ``out`` and errors to ``err`` (one line each,
    ``error: ...``), pretty or as JSON."""

    def __init__(self, out: Console, err: Console, *, as_json: bool = False) -> None:
        self.out = out
        self.err = err
        self.as_json = as_json

    def error(self, message: str) -> None:
        """``error: message`` on one line of the error console."""
        self.err.print(f"error: {message}", style="red", markup=False, highlight=False,
                       soft_wrap=True)

    def note(self, message: str) -> None:
        """A remark on the error console (progress, summaries), never on stdout."""
        self.err.print(message, style="dim", markup=False, highlight=False, soft_wrap=True)

    def results(self, results: Sequence[StatementResult]) -> bool:
        """Print each statement's value (failed statements as ``error:`` lines); ``True``
        when every statement succeeded."""
        ok = True
        many = len(results) > 1
        for number, statement in enumerate(results, 1):
            if statement.error is not None:
                ok = False
                where = f"statement {number}: " if many else ""
                self.error(where + one_line(statement.error))
                continue
            if self.as_json:
                self.out.file.write(to_json(statement.result) + "\n")
                self.out.file.flush()
                continue
            if many:
                self.out.print(Text(f"-- statement {number} ({statement.time})", style="dim"))
            self.value(statement.result)
        return ok

    def value(self, value: Any) -> None:
        """One value: a table for a non-empty list of records, else SurrealQL text."""
        if _is_records(value):
            self.out.print(records_table(value))
        else:
            self.out.print(surql(value), markup=False, soft_wrap=True)
