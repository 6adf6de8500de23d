"""The interactive SurrealQL shell of ``surreal-py sql`` (prompt_toolkit).

A statement may span lines: Enter runs the input when it ends with ``;`` or when the line
is empty, and otherwise starts a new line. History persists in a file; statements that
mention a password or a key (``DEFINE USER ... PASSWORD '...'``) stay out of it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from prompt_toolkit import PromptSession
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent

from surreal_proto import SurrealError

from ._cli_format import one_line

if TYPE_CHECKING:
    from prompt_toolkit.input import Input
    from prompt_toolkit.output import Output

    from ._cli_format import Printer
    from ._client import Surreal

__all__ = ["is_complete", "repl"]

_EXIT = frozenset({"exit", "quit", "\\q"})
#: Statements that may hold a secret (a user's password, an access method's key).
_SECRET = re.compile(r"\b(PASSWORD|PASSHASH|KEY)\b", re.IGNORECASE)


def is_complete(text: str) -> bool:
    """Whether Enter should run ``text`` rather than start a new line: it ends with ``;``,
    its last line is empty, it is empty, or it is an exit command."""
    stripped = text.strip()
    if not stripped or stripped in _EXIT:
        return True
    return stripped.endswith(";") or text.rsplit("\n", maxsplit=1)[-1].strip() == ""


class _SecretFreeHistory(FileHistory):
    """A history file that never stores a statement mentioning a password or a key."""

    def store_string(self, string: str) -> None:
        if not _SECRET.search(string):
            super().store_string(string)


def _history(path: Path | None) -> History:
    if path is None:
        return InMemoryHistory()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Readable by its owner only: statements can hold private data.
        os.close(os.open(path, os.O_CREAT | os.O_APPEND | os.O_WRONLY, 0o600))
    except OSError:
        return InMemoryHistory()  # an unwritable home: keep the session's history only
    return _SecretFreeHistory(str(path))


def _bindings() -> KeyBindings:
    bindings = KeyBindings()

    @bindings.add("enter")
    def _enter(event: KeyPressEvent) -> None:
        buffer = event.current_buffer
        if buffer.document.is_cursor_at_the_end and is_complete(buffer.text):
            buffer.validate_and_handle()
        else:
            buffer.insert_text("\n")

    return bindings


def _prompt(db: Surreal) -> str:
    namespace, database = db.namespace, db.database
    if namespace and database:
        return f"{namespace}/{database}> "
    return "> "


def repl(db: Surreal, printer: Printer, *, history: Path | None,
         input: Input | None = None, output: Output | None = None) -> int:
    """Read statements and print their results until Ctrl-D or ``exit``; returns the exit
    status (0). ``input``/``output`` default to the terminal (tests pass a pipe)."""
    session: PromptSession[str] = PromptSession(
        history=_history(history), multiline=True, key_bindings=_bindings(),
        prompt_continuation=lambda width, line, wrap: "." * (width - 1) + " ",
        input=input, output=output)
    while True:
        try:
            text = session.prompt(_prompt(db))
        except KeyboardInterrupt:  # Ctrl-C: drop what was typed
            continue
        except EOFError:  # Ctrl-D
            return 0
        statement = text.strip()
        if not statement:
            continue
        if statement in _EXIT:
            return 0
        try:
            printer.results(db.query_raw(statement))
        except SurrealError as error:
            printer.error(one_line(error))
        except KeyboardInterrupt:
            printer.error("interrupted (the query's result, if any, is discarded)")
