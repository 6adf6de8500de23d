"""The ``surreal-py`` command line (``python -m surreal_sync``): ``sql``, ``import``,
``export``.

:func:`main` parses the arguments, connects with :class:`~surreal_sync.Surreal` and runs the
command. Every failure is one ``error: ...`` line on stderr and an exit status (never a
traceback): 0 success, 1 a failed query or an unreachable or refusing server, 2 bad usage
(options, endpoint URL, a file that cannot be read), 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import ssl
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from surreal_proto import (
    AuthError,
    LocalProtocolError,
    SurrealError,
    UnsupportedEngineError,
    UnsupportedFeatureError,
    __version__,
)

if TYPE_CHECKING:
    from rich.console import Console

    from ._cli_format import Printer
    from ._client import Surreal

__all__ = ["main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

#: Endpoints that run the engine in this process: ``sql`` selects a namespace and database
#: (``main``/``main``) on them when none is given, so a first query just works.
_IN_PROCESS = ("mem://", "memory", "surrealkv://", "surrealkv+versioned://", "file://")
_DEFAULT_SQL_ENDPOINT = "mem://"
_DEFAULT_SERVER_ENDPOINT = "http://localhost:8000"
_DEFAULT_HISTORY = "~/.surreal_py_history"

_DESCRIPTION = """\
A command line for SurrealDB: an interactive SurrealQL shell, non-interactive queries,
and import/export of SurrealQL scripts. With no endpoint it runs an in-memory engine
in this process (mem://), so it works with nothing else installed."""

_EPILOG = """\
examples:
  surreal-py sql                                     shell on an in-memory database
  surreal-py sql -e ws://localhost:8000 -u root --ns shop --db main
  surreal-py sql -c "CREATE person SET name = 'Ada'; SELECT * FROM person;"
  surreal-py sql --json -e http://db:8000 -u root schema.surql
  echo "RETURN 1 + 1;" | surreal-py sql
  surreal-py export -e http://localhost:8000 -u root --ns shop --db main backup.surql
  surreal-py import -e http://localhost:8000 -u root --ns shop --db main backup.surql

environment:
  SURREAL_ENDPOINT, SURREAL_NS, SURREAL_DB, SURREAL_USER, SURREAL_PASS, SURREAL_TOKEN
  stand in for the options of the same meaning; SURREAL_PASS keeps the password out of
  the process list and the shell history.

exit status:
  0 success, 1 a query failed or the server could not be reached or refused the
  credentials, 2 bad usage (options, endpoint URL, unreadable file), 130 interrupted."""

_SQL_EPILOG = """\
input:
  -c QUERY runs QUERY; a FILE runs that file ("-" for stdin); without either, stdin runs
  when it is not a terminal, and otherwise the interactive shell starts.

the shell:
  A statement runs when a line ends with ";" or on an empty line, so statements can span
  lines. Up/down walk the history (kept in ~/.surreal_py_history, or --history FILE;
  statements that mention a PASSWORD are never written to it). Ctrl-C clears the input,
  Ctrl-D or "exit" leaves.

output:
  Lists of records print as tables, other values in SurrealQL syntax. --json prints one
  JSON document per statement, one per line: record ids, durations and ranges as their
  SurrealQL text, datetimes as RFC 3339 text with nanoseconds, decimals as numbers with
  every digit, bytes as base64, NULL as null, and fields whose value is NONE left out.
  A failed statement prints "error: ..." on stderr and the exit status is 1."""


class UsageError(Exception):
    """Bad usage found after parsing (exit status 2)."""


class _Parser(argparse.ArgumentParser):
    """An argument parser that raises instead of exiting, so :func:`main` returns."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


def _connection_options(endpoint_default: str) -> _Parser:
    parent = _Parser(add_help=False)
    group = parent.add_argument_group("connection")
    group.add_argument(
        "-e", "--endpoint", metavar="URL",
        default=os.environ.get("SURREAL_ENDPOINT", endpoint_default),
        help="ws://, wss://, http://, https:// (a SurrealDB server), or mem://, "
             f"surrealkv://PATH (an engine in this process) (default: {endpoint_default})")
    group.add_argument("--ns", "--namespace", dest="namespace", metavar="NAME",
                       default=os.environ.get("SURREAL_NS"), help="namespace to use")
    group.add_argument("--db", "--database", dest="database", metavar="NAME",
                       default=os.environ.get("SURREAL_DB"), help="database to use")
    group.add_argument("-u", "--user", "--username", dest="user", metavar="USER",
                       default=os.environ.get("SURREAL_USER"),
                       help="sign in as USER (the password comes from --pass, SURREAL_PASS "
                            "or a prompt)")
    group.add_argument("-p", "--pass", "--password", dest="password", metavar="PASSWORD",
                       help="the password (prefer SURREAL_PASS or the prompt: a command "
                            "line is visible to other users)")
    group.add_argument("--auth-level", choices=("root", "namespace", "database"),
                       default="root",
                       help="where USER is defined: root (default), or the --ns namespace "
                            "or the --db database")
    group.add_argument("--token", metavar="JWT", default=os.environ.get("SURREAL_TOKEN"),
                       help="authenticate with an access token instead of a user")
    group.add_argument("--cafile", metavar="PEM", type=Path,
                       help="trust the certificate authorities in PEM for wss:// and https://")
    group.add_argument("--timeout", metavar="SECONDS", type=float,
                       help="deadline of each request (default: 30 for sql, none for "
                            "import and export; 0 means none)")
    return parent


def build_parser() -> argparse.ArgumentParser:
    """The ``surreal-py`` argument parser."""
    parser = _Parser(prog="surreal-py", description=_DESCRIPTION, epilog=_EPILOG,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"surreal-py {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True,
                                     parser_class=_Parser)
    sql = commands.add_parser(
        "sql", parents=[_connection_options(_DEFAULT_SQL_ENDPOINT)],
        help="run SurrealQL: an interactive shell, -c QUERY, a file or stdin",
        description="Run SurrealQL: an interactive shell, or the statements of -c QUERY, "
                    "a file or stdin.",
        epilog=_SQL_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sql.add_argument("file", nargs="?", metavar="FILE",
                     help='a SurrealQL file to run ("-" for stdin)')
    sql.add_argument("-c", "--command", dest="query", metavar="QUERY",
                     help="run QUERY and exit")
    sql.add_argument("--json", action="store_true",
                     help="print results as JSON, one document per statement")
    sql.add_argument("--history", metavar="FILE",
                     default=os.environ.get("SURREAL_PY_HISTORY", _DEFAULT_HISTORY),
                     help=f"the shell's history file (default: {_DEFAULT_HISTORY})")
    sql.add_argument("--no-history", action="store_true",
                     help="keep no history file")
    for name, verb, what in (("import", "import", "Run a SurrealQL script (an export) "
                              "on a server through its /import endpoint."),
                             ("export", "export", "Write the database as a SurrealQL script "
                              "through the server's /export endpoint.")):
        sub = commands.add_parser(
            name, parents=[_connection_options(_DEFAULT_SERVER_ENDPOINT)],
            help=f"{verb} a SurrealQL script {'into' if name == 'import' else 'from'} "
                 "a server", description=what,
            formatter_class=argparse.RawDescriptionHelpFormatter)
        sub.add_argument("file", metavar="FILE",
                         help=f'the script to {"read" if name == "import" else "write"} '
                              '("-" for stdin/stdout)')
    return parser


# --------------------------------------------------------------------------- options → client


def _credentials(args: argparse.Namespace, interactive: bool) -> Any:
    """The ``auth`` option: a token, a credentials mapping, or ``None``."""
    if args.token and args.user:
        raise UsageError("give either --user or --token, not both")
    if args.token:
        return args.token
    if args.password and not args.user:
        raise UsageError("--pass needs --user")
    if not args.user:
        return None
    password = args.password or os.environ.get("SURREAL_PASS")
    if password is None:
        if not interactive:
            raise UsageError(f"no password for {args.user}: pass --pass, set SURREAL_PASS, "
                             "or run in a terminal to be asked")
        import getpass

        password = getpass.getpass(f"password for {args.user}: ")
    credentials = {"username": args.user, "password": password}
    if args.auth_level in ("namespace", "database"):
        if not args.namespace:
            raise UsageError(f"--auth-level {args.auth_level} needs --ns")
        credentials["namespace"] = args.namespace
    if args.auth_level == "database":
        if not args.database:
            raise UsageError("--auth-level database needs --db")
        credentials["database"] = args.database
    return credentials


def _ssl_context(cafile: Path | None) -> ssl.SSLContext | None:
    if cafile is None:
        return None
    try:
        return ssl.create_default_context(cafile=str(cafile))
    except (OSError, ssl.SSLError) as error:
        raise UsageError(f"cannot load --cafile {str(cafile)!r}: "
                         f"{getattr(error, 'strerror', None) or error}") from None


def _open(args: argparse.Namespace, *, interactive: bool, timeout: float | None) -> Surreal:
    from ._client import Surreal

    endpoint: str = args.endpoint
    namespace, database = args.namespace, args.database
    if args.command == "sql" and endpoint.startswith(_IN_PROCESS):
        namespace, database = namespace or "main", database or "main"
    if args.timeout is not None:
        timeout = None if args.timeout <= 0 else args.timeout
    db = Surreal(endpoint, namespace=namespace, database=database,
                 auth=_credentials(args, interactive), timeout=timeout,
                 ssl=_ssl_context(args.cafile))
    try:
        db.connect()
    except BaseException:
        db.close()
        raise
    return db


# --------------------------------------------------------------------------- commands


def _read_source(name: str, stdin: TextIO) -> str:
    if name == "-":
        return stdin.read()
    try:
        return Path(name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read {name!r}: "
                         f"{getattr(error, 'strerror', None) or error}") from None


def _sql(args: argparse.Namespace, printer: Printer) -> int:
    if args.query is not None and args.file is not None:
        raise UsageError("give either -c QUERY or a FILE, not both")
    stdin = sys.stdin
    interactive = stdin is not None and stdin.isatty()
    if args.query is not None:
        script: str | None = args.query
    elif args.file is not None:
        script = _read_source(args.file, stdin)
    elif not interactive:
        script = stdin.read()
    else:
        script = None
    with _open(args, interactive=interactive, timeout=30.0) as db:
        if script is None:
            try:
                from ._cli_repl import repl
            except ImportError as error:
                raise UsageError(f"the interactive shell needs {error.name}: "
                                 "pip install 'surreal-py[cli]'") from None
            history = None if args.no_history else Path(args.history).expanduser()
            return repl(db, printer, history=history)
        if not script.strip():
            return EXIT_OK
        return EXIT_OK if printer.results(db.query_raw(script)) else EXIT_FAILED


def _transfer(args: argparse.Namespace, printer: Printer) -> int:
    from ._cli_transfer import export_to, import_from

    stdin = sys.stdin
    interactive = stdin is not None and stdin.isatty()
    if args.command == "import" and args.file != "-" and not Path(args.file).is_file():
        raise UsageError(f"cannot read {args.file!r}: no such file")
    with _open(args, interactive=interactive, timeout=None) as db:
        try:
            if args.command == "import":
                import_from(db, args.file, printer)
            else:
                export_to(db, args.file, printer)
        except OSError as error:
            raise UsageError(f"cannot {'read' if args.command == 'import' else 'write'} "
                             f"{args.file!r}: {error.strerror or error}") from None
    return EXIT_OK


def _consoles() -> tuple[Console, Console]:
    from rich.console import Console

    return Console(file=sys.stdout), Console(file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``surreal-py`` with ``argv`` (default: ``sys.argv[1:]``); returns the exit
    status."""
    try:
        from ._cli_format import Printer
    except ImportError as error:  # rich or prompt_toolkit missing
        print(f"error: the command line needs its extra: pip install 'surreal-py[cli]' "
              f"({error.name} is missing)", file=sys.stderr)
        return EXIT_USAGE
    out, err = _consoles()
    printer = Printer(out, err)
    try:
        args = build_parser().parse_args(argv)
        printer.as_json = bool(getattr(args, "json", False))
        if args.command == "sql":
            return _sql(args, printer)
        return _transfer(args, printer)
    except SystemExit as done:  # --help and --version
        return done.code if isinstance(done.code, int) else EXIT_OK
    except UsageError as error:
        printer.error(str(error))
        return EXIT_USAGE
    except UnsupportedEngineError as error:
        printer.error(str(error))
        return EXIT_USAGE
    except AuthError as error:
        printer.error(f"authentication failed: {_one_line(error)}")
        return EXIT_FAILED
    except (UnsupportedFeatureError, LocalProtocolError) as error:
        printer.error(_one_line(error))
        return EXIT_USAGE
    except SurrealError as error:
        printer.error(_one_line(error))
        return EXIT_FAILED
    except KeyboardInterrupt:
        printer.error("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (``surreal-py ... | head``): stop quietly, and keep Python
        # from complaining when it flushes stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILED


def _one_line(error: BaseException) -> str:
    from ._cli_format import one_line

    return one_line(error)
