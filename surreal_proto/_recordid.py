"""Record ids, tables, and SurrealQL spelling of values.

* :class:`RecordID` is a record id ``table:key`` (CBOR tag 8 with ``[table, key]``,
  ``protocol.md`` §5.1). The key is an ``int``, ``str``, ``list``, ``dict``, ``uuid.UUID`` or a
  :class:`~surreal_proto.Range` (a record-id range). ``str()`` is valid SurrealQL, escaped as the
  server escapes it; :meth:`RecordID.parse` reads SurrealQL, so ``person:1`` has the *int* key
  ``1`` while ``person:⟨1⟩`` and ``person:`1``` have the *string* key ``"1"``.
* :class:`Table` is a table name (tag 7). A plain ``str`` target is also a table (API.md §5).
* :class:`StringRecordID` is a record id the *server* parses (tag 8 with a text payload,
  ``protocol.md`` §5.1 row 8): what a user target such as ``"person:1"`` becomes.
* :func:`escape_ident`, :func:`escape_rid_key`, :func:`escape_key`, :func:`quote_str` and
  :func:`to_surrealql` spell names and values as SurrealQL (3.x rules).

These types are immutable and hashable. A ``list`` or ``dict`` key is kept as given (so
``rid.id == [1, 2]``); do not mutate it after building the record id, or its hash changes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, Final, TypeAlias
from uuid import UUID

from ._errors import EncodingError
from ._range import BoundExcluded, BoundIncluded, Range
from ._values import NULL, _freeze

__all__ = [
    "RecordID",
    "RecordIdKey",
    "StringRecordID",
    "Table",
    "escape_ident",
    "escape_key",
    "escape_rid_key",
    "quote_str",
    "to_surrealql",
]

#: What a record id key can be (``protocol.md`` §5.1, "Record id keys inside tag 8").
RecordIdKey: TypeAlias = "int | str | list[Any] | dict[str, Any] | UUID | Range"

_I64_MIN: Final = -(2**63)
_I64_MAX: Final = 2**63 - 1
_object_new: Final = object.__new__

# --------------------------------------------------------------------------- escaping

_PLAIN = re.compile(r"[A-Za-z0-9_]+")
_DIGITS_UNDERSCORES = re.compile(r"[0-9_]+")

# Words that could be read as a keyword where an identifier is expected. Escaping a word that
# did not need it is harmless (a backtick identifier is always an identifier), so this errs on
# the side of more words.
_KEYWORD_TEXT: Final = """
    ACCESS AFTER ALGORITHM ALL ALTER ALWAYS ANALYZE ANALYZER AND ANY AS ASC ASSERT AT AUTH
    BEFORE BEGIN BREAK BY CANCEL CHANGEFEED CHANGES COLLATE COMMENT COMMIT CONTAINS
    CONTAINSALL CONTAINSANY CONTAINSNONE CONTAINSNOT CONTENT CONTINUE CREATE DATABASE DEFAULT
    DEFINE DELETE DESC DIFF DROP ELSE END EVENT EXISTS EXPLAIN EXPUNGE FALSE FETCH FIELD
    FIELDS FLEXIBLE FOR FROM FULL FUNCTION GROUP IF IGNORE IN INDEX INFO INSERT INSIDE INTO IS
    KILL LET LIMIT LIVE MERGE NAMESPACE NONE NOT NOTINSIDE NULL OMIT ON ONLY OPTION OR ORDER
    OUTSIDE PARALLEL PARAM PATCH PERMISSIONS RANGE REBUILD RELATE RELATION REMOVE REPLACE
    RETURN SCHEMAFULL SCHEMALESS SELECT SET SHOW SLEEP SPLIT START TABLE THEN THROW TIMEOUT TO
    TRANSACTION TRUE TYPE UNSET UPDATE UPSERT USE USER VALUE VALUES WHEN WHERE WITH NaN
    Infinity
"""
_KEYWORDS: Final = frozenset(word.lower() for word in _KEYWORD_TEXT.split())


def _escape_chars(text: str, quote: str) -> str:
    # The 3.x escaper (``core/fmt/escape.rs``): a backslash before ``\`` and the closing
    # delimiter, and ``\u{8}`` for a backspace.
    return (text.replace("\\", "\\\\").replace(quote, "\\" + quote)
            .replace("\b", "\\u{8}"))


def escape_ident(name: str) -> str:
    """Spell a table (or other) identifier as SurrealQL, with backticks when needed.

    Args:
        name: the identifier.

    Returns:
        ``name`` unchanged when it is made of ASCII letters, digits and ``_``, does not start
        with a digit and is not a keyword; otherwise ``name`` in backticks with ``\\`` and
        ``\\``` escaped.
    """
    if _PLAIN.fullmatch(name) and not name[0].isdigit() and name.lower() not in _KEYWORDS:
        return name
    return f"`{_escape_chars(name, '`')}`"


def escape_rid_key(key: str) -> str:
    """Spell a string record-id key as SurrealQL.

    Args:
        key: the string key.

    Returns:
        ``key`` unchanged when it is made of ASCII letters, digits and ``_`` and has at least
        one character other than a digit or ``_`` (so it cannot be read as a number);
        otherwise ``⟨key⟩`` with ``\\`` escaped; a key containing ``⟩`` in backticks
        instead (``\\`` and the backtick escaped), as the 3.x server writes it: it reads no
        escaped ``⟩`` in the record id text of tag 8 (``protocol.md`` §5.1 row 8).
    """
    if _PLAIN.fullmatch(key) and not _DIGITS_UNDERSCORES.fullmatch(key):
        return key
    if "⟩" in key:
        return f"`{_escape_chars(key, '`')}`"
    return f"⟨{_escape_chars(key, '⟩')}⟩"


def escape_key(key: str) -> str:
    """Spell an object key as SurrealQL: bare when it is a plain identifier, else quoted.

    Args:
        key: the object key.

    Returns:
        The key, or the key in double quotes with ``\\`` and ``"`` escaped.
    """
    if _PLAIN.fullmatch(key) and not key[0].isdigit():
        return key
    return f'"{_escape_chars(key, chr(34))}"'


def quote_str(text: str) -> str:
    """Quote a string as a SurrealQL string literal (single quotes unless it contains one).

    Args:
        text: the string.

    Returns:
        The literal, e.g. ``'cat'``, ``"cat's"``.
    """
    quote = '"' if "'" in text else "'"
    return f"{quote}{_escape_chars(text, quote)}{quote}"


def to_surrealql(value: Any) -> str:
    """Spell a value as a SurrealQL literal (for display and for ``str()`` of record ids).

    Supports ``None`` (``NONE``), ``bool``, ``int``, ``float``, ``Decimal``, ``str``, ``bytes``,
    ``UUID``, aware ``datetime``, ``list``/``tuple``, ``dict``, and this package's value types.
    This is for *display*: queries should always bind values as variables.

    Args:
        value: the value.

    Returns:
        The SurrealQL text.

    Raises:
        ValueError: the value has no SurrealQL spelling (e.g. an opaque ``Tagged`` value, a
            NaN decimal, a naive datetime).
        TypeError: the value's type is not supported.
    """
    if value is None:
        return "NONE"
    hook = getattr(type(value), "_surql", None)
    if hook is not None:
        return str(hook(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return f"{value!r}f"
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value!r} has no SurrealQL spelling")
        return f"{value}dec"
    if isinstance(value, str):
        return quote_str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return f'b"{bytes(value).hex().upper()}"'
    if isinstance(value, UUID):
        return f'u"{value}"'
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("a naive datetime has no SurrealQL spelling; attach a timezone")
        from ._datetime import Datetime

        return f'd"{Datetime.from_datetime(value).isoformat_ns()}"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(to_surrealql(v) for v in value) + "]"
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        items = ", ".join(f"{escape_key(k)}: {to_surrealql(v)}" for k, v in value.items())
        return "{ " + items + " }"
    raise TypeError(f"cannot spell a {type(value).__name__} as SurrealQL")


# --------------------------------------------------------------------------- Table


class Table:
    """A table name (CBOR tag 7, ``protocol.md`` §5.1).

    Args:
        name: the table name; any text (it is escaped when spelled as SurrealQL).

    ``str()`` is the escaped identifier, so ``str(Table("a b"))`` is ```a b```. A ``Table``
    equals another ``Table`` with the same name, never a plain ``str``.
    """

    __slots__ = ("name",)
    __match_args__ = ("name",)

    name: str

    def __init__(self, name: str | Table) -> None:
        if isinstance(name, Table):
            name = name.name
        if not isinstance(name, str):
            raise TypeError(f"a table name must be a str, not {type(name).__name__}")
        _set_table_name(self, name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Table is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("Table is immutable")

    def __eq__(self, other: object) -> bool:
        if type(other) is Table:
            return self.name == other.name
        return NotImplemented

    def __hash__(self) -> int:
        return hash((Table, self.name))

    def __repr__(self) -> str:
        return f"Table({self.name!r})"

    def __str__(self) -> str:
        return escape_ident(self.name)

    def __reduce__(self) -> tuple[Any, ...]:
        return (Table, (self.name,))

    def _surql(self) -> str:
        return f"type::table({quote_str(self.name)})"


_set_table_name: Final = Table.__dict__["name"].__set__


def _new_table(name: str) -> Table:
    """Build a :class:`Table` without validation (decoder fast path)."""
    t = _object_new(Table)
    _set_table_name(t, name)
    return t


# --------------------------------------------------------------------------- RecordID


def _check_key(key: Any, *, top: bool) -> Any:
    if isinstance(key, bool):
        raise TypeError("a record id key cannot be a bool")
    if isinstance(key, int):
        if not _I64_MIN <= key <= _I64_MAX:
            raise ValueError(f"record id key {key} is outside the signed 64-bit range")
        return key
    if isinstance(key, str | UUID):
        return key
    if isinstance(key, tuple):
        return list(key)
    if isinstance(key, list):
        return key
    if isinstance(key, dict):
        for k in key:
            if not isinstance(k, str):
                raise TypeError(f"object record id keys must be str, not {type(k).__name__}")
        return key
    if top and isinstance(key, Range):
        for bound in (key.begin, key.end):
            if bound is not None:
                _check_key(bound.value, top=False)
        return key
    raise TypeError(
        "a record id key must be an int, str, list, dict, UUID"
        + (" or Range" if top else "") + f", not {type(key).__name__}")


class RecordID:
    """A record id, ``table:key`` (CBOR tag 8 with ``[table, key]``, ``protocol.md`` §5.1).

    Args:
        table: the table name (a ``str`` or a :class:`Table`).
        id: the key: an ``int`` (signed 64-bit), ``str``, ``list``, ``dict`` (str keys),
            ``uuid.UUID``, or a :class:`Range` of keys (a record-id range). A ``tuple`` is
            stored as a ``list``.

    Raises:
        TypeError: the table or key has an unsupported type.
        ValueError: an int key is outside the signed 64-bit range.

    Examples:
        >>> RecordID("person", 1)
        RecordID('person', 1)
        >>> str(RecordID("person", "tobie"))
        'person:tobie'
        >>> str(RecordID("person", "1"))
        'person:⟨1⟩'
        >>> RecordID.parse("person:1").id
        1
    """

    __slots__ = ("id", "table")
    __match_args__ = ("table", "id")

    table: str
    id: RecordIdKey

    def __init__(self, table: str | Table, id: RecordIdKey | tuple[Any, ...]) -> None:
        if isinstance(table, Table):
            table = table.name
        elif not isinstance(table, str):
            raise TypeError(f"a record id table must be a str, not {type(table).__name__}")
        _set_rid_table(self, table)
        _set_rid_id(self, _check_key(id, top=True))

    @property
    def table_name(self) -> str:
        """The table name (the same as :attr:`table`; the official SDK's spelling)."""
        return self.table

    @property
    def id_part(self) -> RecordIdKey:
        """The key (the same as :attr:`id`)."""
        return self.id

    @classmethod
    def parse(cls, text: str) -> RecordID:
        """Parse a record id written in SurrealQL.

        Follows SurrealQL rules: ``person:1`` has the int key ``1``; ``person:⟨1⟩``,
        ``person:`1``` and ``person:abc`` have string keys; ``person:[1, 'a']`` and
        ``person:{ a: 1 }`` have array and object keys; ``person:u"…"`` a UUID key; and
        ``person:1..5``, ``person:..`` are record-id ranges. The table may be escaped with
        backticks or ``⟨⟩``.

        Args:
            text: the SurrealQL text.

        Returns:
            The record id.

        Raises:
            ValueError: ``text`` is not a record id (the message says where it went wrong).
        """
        if not isinstance(text, str):
            raise TypeError(f"RecordID.parse() needs a str, not {type(text).__name__}")
        parser = _Parser(text)
        parser.skip_ws()
        rid = parser.record_id(allow_range=True)
        parser.skip_ws()
        if parser.pos != len(text):
            parser.fail("unexpected text after the record id")
        return rid

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("RecordID is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("RecordID is immutable")

    def __eq__(self, other: object) -> bool:
        if type(other) is RecordID:
            if self.table != other.table:
                return False
            a, b = self.id, other.id
            # Keys of different kinds never match (no 1 == True == 1.0 surprises).
            return type(a) is type(b) and bool(a == b)
        return NotImplemented

    def __hash__(self) -> int:
        key = self.id
        if isinstance(key, list | dict):
            key = _freeze(key)
        return hash((RecordID, self.table, key))

    def __repr__(self) -> str:
        return f"RecordID({self.table!r}, {self.id!r})"

    def __str__(self) -> str:
        return f"{escape_ident(self.table)}:{_format_key(self.id)}"

    def __reduce__(self) -> tuple[Any, ...]:
        return (RecordID, (self.table, self.id))

    def _surql(self) -> str:
        return str(self)


_set_rid_table: Final = RecordID.__dict__["table"].__set__
_set_rid_id: Final = RecordID.__dict__["id"].__set__


def _new_record_id(table: str, key: Any) -> RecordID:
    """Build a :class:`RecordID` without validation (decoder fast path)."""
    r = _object_new(RecordID)
    _set_rid_table(r, table)
    _set_rid_id(r, key)
    return r


def _format_key(key: Any) -> str:
    if isinstance(key, str):
        return escape_rid_key(key)
    if isinstance(key, Range):
        begin, end = key.begin, key.end
        text = ""
        if begin is not None:
            text = _format_key(begin.value) + (">" if type(begin) is BoundExcluded else "")
        text += ".."
        if end is not None:
            text += ("=" if type(end) is BoundIncluded else "") + _format_key(end.value)
        return text
    return to_surrealql(key)


# --------------------------------------------------------------------------- StringRecordID


class StringRecordID:
    """A record id as text, for the server to parse (tag 8 with a text payload).

    ``protocol.md`` §5.1 row 8: the server accepts ``8("tb:key")`` and parses it by SurrealQL
    rules. This is what a ``str`` target containing ``:`` becomes (API.md §5 "Targets"); the
    text is never pasted into query text.

    The server reads such a text only up to the end of its first record id and ignores the
    rest: ``8("person:1; DELETE b")`` addresses ``person:1``, ``person:abc-def`` is
    ``person:abc`` and ``person:rand()`` the string key ``"rand"``. So the text must be one
    whole record id (or record-id range) by :meth:`RecordID.parse`, and anything else is
    refused here instead of being silently cut short. A key that SurrealQL cannot spell
    needs no text form: pass ``RecordID(table, key)``.

    Args:
        text: the record id in SurrealQL, e.g. ``"person:1"``.

    Raises:
        TypeError: ``text`` is not a ``str``.
        EncodingError: ``text`` is not exactly one record id (a ``ValueError``).
    """

    __slots__ = ("text",)
    __match_args__ = ("text",)

    text: str

    def __init__(self, text: str | StringRecordID) -> None:
        if isinstance(text, StringRecordID):
            text = text.text
        elif not isinstance(text, str):
            raise TypeError(f"StringRecordID needs a str, not {type(text).__name__}")
        else:
            try:
                RecordID.parse(text)
            except ValueError as exc:
                raise EncodingError(
                    f"{exc}; the server would read only the record id at the start of the "
                    "text and drop the rest, so it is refused. Use RecordID(table, key) for "
                    "a key with any characters") from None
        _set_srid_text(self, text)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("StringRecordID is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("StringRecordID is immutable")

    def __eq__(self, other: object) -> bool:
        if type(other) is StringRecordID:
            return self.text == other.text
        return NotImplemented

    def __hash__(self) -> int:
        return hash((StringRecordID, self.text))

    def __repr__(self) -> str:
        return f"StringRecordID({self.text!r})"

    def __str__(self) -> str:
        return self.text

    def __reduce__(self) -> tuple[Any, ...]:
        return (StringRecordID, (self.text,))

    def _surql(self) -> str:
        return f"r{quote_str(self.text)}"


_set_srid_text: Final = StringRecordID.__dict__["text"].__set__


def _new_string_record_id(text: str) -> StringRecordID:
    """A :class:`StringRecordID` for text the server sent (the decoder), kept unchecked so
    that it goes back byte for byte."""
    srid = object.__new__(StringRecordID)
    _set_srid_text(srid, text)
    return srid


# --------------------------------------------------------------------------- parser

_SIMPLE_ESCAPES: Final = {
    "\\": "\\", "'": "'", '"': '"', "`": "`", "⟩": "⟩", "/": "/",
    "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "0": "\0",
}
_NUMBER = re.compile(
    r"[-+]?(?:[0-9][0-9_]*)(?:\.[0-9][0-9_]*)?(?:[eE][-+]?[0-9]+)?(?:dec|f)?")
_IDENT_CHARS = re.compile(r"[A-Za-z0-9_]+")
_DIGITS = re.compile(r"[0-9]+")
_DURATION = re.compile(r"(?:[0-9]+(?:ns|us|µs|μs|ms|s|m|h|d|w|y))+(?![A-Za-z0-9_])")
_WS = re.compile(r"(?:\s+|--[^\n]*|//[^\n]*|#[^\n]*|/\*.*?\*/)*", re.S)


class _Parser:
    """A small recursive-descent reader for record ids and the values inside their keys."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, message: str) -> Any:
        raise ValueError(f"invalid record id {self.text!r} at offset {self.pos}: {message}")

    def skip_ws(self) -> None:
        m = _WS.match(self.text, self.pos)
        assert m is not None  # the pattern matches the empty string
        self.pos = m.end()

    def peek(self, n: int = 1) -> str:
        return self.text[self.pos:self.pos + n]

    def eat(self, token: str) -> bool:
        if self.text.startswith(token, self.pos):
            self.pos += len(token)
            return True
        return False

    def expect(self, token: str) -> None:
        if not self.eat(token):
            self.fail(f"expected {token!r}")

    def delimited(self, close: str) -> str:
        """Read up to an unescaped ``close`` (the opening delimiter is already eaten)."""
        out: list[str] = []
        text = self.text
        while True:
            if self.pos >= len(text):
                return str(self.fail(f"missing closing {close!r}"))
            ch = text[self.pos]
            self.pos += 1
            if ch == close:
                return "".join(out)
            if ch == "\\":
                out.append(self.escape())
            else:
                out.append(ch)

    def escape(self) -> str:
        ch = self.peek()
        self.pos += 1
        if ch in _SIMPLE_ESCAPES:
            return _SIMPLE_ESCAPES[ch]
        if ch == "u":
            if self.eat("{"):
                end = self.text.find("}", self.pos)
                digits = self.text[self.pos:end] if end >= 0 else ""
                self.pos = end + 1 if end >= 0 else self.pos
            else:
                digits = self.text[self.pos:self.pos + 4]
                self.pos += 4
            try:
                return chr(int(digits, 16))
            except ValueError:
                return str(self.fail("bad \\u escape"))
        self.pos -= 1
        return str(self.fail(f"unknown escape sequence \\{ch}"))

    def ident(self) -> str:
        if self.eat("`"):
            return self.delimited("`")
        if self.eat("⟨"):
            return self.delimited("⟩")
        m = _IDENT_CHARS.match(self.text, self.pos)
        if not m:
            return str(self.fail("expected an identifier"))
        self.pos = m.end()
        return m.group()

    def record_id(self, *, allow_range: bool) -> RecordID:
        table = self.ident()
        self.expect(":")
        return _new_record_id(table, self.key(allow_range=allow_range))

    def key(self, *, allow_range: bool) -> Any:
        if allow_range and self.peek(2) == "..":
            return self.key_range(None)
        begin = self.single_key()
        if allow_range and (self.peek(2) == ".." or self.peek(3) == ">.."):
            bound = BoundExcluded(begin) if self.eat(">") else BoundIncluded(begin)
            return self.key_range(bound)
        return begin

    def key_range(self, begin: BoundIncluded | BoundExcluded | None) -> Range:
        self.expect("..")
        end: BoundIncluded | BoundExcluded | None = None
        inclusive = self.eat("=")
        if self.pos < len(self.text) and (self.text[self.pos] not in " \t\r\n;)"):
            value = self.single_key()
            end = BoundIncluded(value) if inclusive else BoundExcluded(value)
        elif inclusive:
            self.fail("expected a key after '..='")
        return Range(begin, end)

    def single_key(self) -> Any:
        ch = self.peek()
        if ch in ("[", "{"):
            return self.value()
        if ch in ("`", "⟨"):
            return self.ident()
        if self.peek(2) in ('u"', "u'"):
            return self.value()
        if ch in ("+", "-"):
            self.pos += 1
            m = _DIGITS.match(self.text, self.pos)
            if not m:
                return self.fail("expected an integer")
            self.pos = m.end()
            number = int(ch + m.group())
            return number if _I64_MIN <= number <= _I64_MAX else ch + m.group()
        m = _IDENT_CHARS.match(self.text, self.pos)
        if not m:
            return self.fail("expected a record id key")
        self.pos = m.end()
        word = m.group()
        if self.peek(2) == "()" and word.lower() in ("rand", "ulid", "uuid"):
            self.fail(f"{word}() generates a key on the server; it has no value to parse")
        if word.isdigit():
            number = int(word)
            return number if number <= _I64_MAX else word
        return word

    def value(self) -> Any:
        self.skip_ws()
        text, pos = self.text, self.pos
        ch = text[pos:pos + 1]
        if ch == "[":
            self.pos += 1
            items: list[Any] = []
            self.skip_ws()
            while not self.eat("]"):
                items.append(self.value())
                self.skip_ws()
                if not self.eat(","):
                    self.skip_ws()
                    self.expect("]")
                    break
                self.skip_ws()
            return items
        if ch == "{":
            self.pos += 1
            obj: dict[str, Any] = {}
            self.skip_ws()
            while not self.eat("}"):
                if self.peek() in ("'", '"'):
                    quote = self.peek()
                    self.pos += 1
                    k = self.delimited(quote)
                else:
                    k = self.ident()
                self.skip_ws()
                self.expect(":")
                obj[k] = self.value()
                self.skip_ws()
                if not self.eat(","):
                    self.skip_ws()
                    self.expect("}")
                    break
                self.skip_ws()
            return obj
        if ch in ("'", '"'):
            self.pos += 1
            return self.delimited(ch)
        prefix = text[pos:pos + 2]
        if len(prefix) == 2 and prefix[0] in "sudrb" and prefix[1] in "'\"":
            self.pos += 2
            body = self.delimited(prefix[1])
            return self.prefixed(prefix[0], body)
        m = _DURATION.match(text, pos)
        if m:
            self.pos = m.end()
            from ._duration import Duration

            return Duration.parse(m.group())
        m = _NUMBER.match(text, pos)
        if m:
            self.pos = m.end()
            return _number(m.group())
        m = _IDENT_CHARS.match(text, pos)
        if m:
            word = m.group()
            after = m.end()
            if text.startswith(":", after) and not text.startswith("::", after):
                return self.record_id(allow_range=False)
            self.pos = after
            lowered = word.lower()
            if lowered in _WORDS:
                return _WORDS[lowered]
            if word == "NaN":
                return math.nan
            if word == "Infinity":
                return math.inf
            self.pos = pos
        if text.startswith("-Infinity", pos):
            self.pos += 9
            return -math.inf
        if ch in ("`", "⟨"):
            return self.record_id(allow_range=False)
        return self.fail("expected a value")

    def prefixed(self, kind: str, body: str) -> Any:
        try:
            if kind == "u":
                return UUID(body)
            if kind == "d":
                from ._datetime import Datetime

                return Datetime.fromisoformat_ns(body)
            if kind == "r":
                return RecordID.parse(body)
            if kind == "b":
                return bytes.fromhex(body)
        except ValueError as exc:
            self.fail(f"bad {kind}-prefixed literal: {exc}")
        return body  # s"…" is a plain string


_WORDS: Final[dict[str, Any]] = {"true": True, "false": False, "none": None, "null": NULL}


def _number(text: str) -> Any:
    clean = text.replace("_", "")
    if clean.endswith("dec"):
        return Decimal(clean[:-3])
    if clean.endswith("f"):
        return float(clean[:-1])
    if "." in clean or "e" in clean or "E" in clean:
        return float(clean)
    return int(clean)

