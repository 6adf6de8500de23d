"""The client-side session of a stateless HTTP client (``protocol.md`` §3.1, §3.2).

Over HTTP every request builds a fresh server session from its headers, so the client keeps
the session itself: the namespace and database (sent as ``Surreal-NS``/``Surreal-DB``), the
auth (``Authorization``), and the ``let`` variables (merged into every ``query``). This is what
the JS SDK's ``HttpEngine`` does. :class:`HttpContext` holds that state and validates the
calls answered from it; both HTTP connections (:class:`~surreal_proto.HttpConnection` and
:class:`~surreal_proto._http_requests.HttpRequestConnection`, through their shared
:class:`~surreal_proto._http_base.BaseHttpConnection`) use it, and several connections of a
pool share one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ._codec import encode
from ._http import BasicAuth, _context_headers
from ._methods import PROTECTED_PARAM_NAMES
from ._values import NULL

__all__ = ["HttpContext"]


class HttpContext:
    """The client-side session of a stateless HTTP client: namespace, database, variables
    and auth (``protocol.md`` §3.1, §3.2). Share one between the connections of a pool, so
    a ``use`` or ``signin`` on one applies to the requests of all.

    Args:
        namespace: the selected namespace (``Surreal-NS``), or ``None``.
        database: the selected database (``Surreal-DB``), or ``None``.
        token: an access token to send as ``Authorization: Bearer``.
        basic: a system user to send as ``Authorization: Basic`` (exclusive with ``token``).
        variables: initial session variables, merged into every ``query``.
        headers: extra headers sent on every request (``Origin``, tracing...).

    ``repr`` never shows the token, the password or variable values.

    Raises:
        LocalProtocolError: a value cannot travel in an HTTP header, or both ``token`` and
            ``basic`` were given.
    """

    __slots__ = ("_basic", "_database", "_headers", "_namespace", "_token", "_variables")

    def __init__(self, *, namespace: str | None = None, database: str | None = None,
                 token: str | None = None, basic: BasicAuth | tuple[str, str] | None = None,
                 variables: Mapping[str, Any] | None = None,
                 headers: Iterable[tuple[bytes | str, bytes | str]] = ()) -> None:
        if basic is not None and not isinstance(basic, BasicAuth):
            basic = BasicAuth(username=basic[0], password=basic[1])
        self._namespace = namespace
        self._database = database
        self._token = token
        self._basic = basic
        self._variables: dict[str, Any] = dict(variables or {})
        self._headers = tuple(headers)
        self.headers(auth=True)  # validate everything now

    @property
    def namespace(self) -> str | None:
        """The selected namespace, or ``None``."""
        return self._namespace

    @property
    def database(self) -> str | None:
        """The selected database, or ``None``."""
        return self._database

    @property
    def token(self) -> str | None:
        """The access token sent as Bearer, or ``None`` (for renewal decisions; a secret)."""
        return self._token

    @property
    def basic(self) -> BasicAuth | None:
        """The Basic-auth user, or ``None``."""
        return self._basic

    @property
    def variables(self) -> dict[str, Any]:
        """A copy of the session variables (``let``)."""
        return dict(self._variables)

    def set_token(self, token: str | None) -> None:
        """Use ``token`` as the Bearer of later requests (``None``: anonymous), dropping any
        Basic user. Raises :class:`LocalProtocolError` if it cannot travel in a header."""
        if token is not None:
            _context_headers(namespace=None, database=None, token=token, basic=None,
                             extra_headers=())
        self._token = token
        self._basic = None

    def headers(self, *, auth: bool = True, token: str | None = None) -> list[tuple[str, str]]:
        """The context headers of one request (``protocol.md`` §3.2).

        Args:
            auth: include the current ``Authorization``.
            token: send this Bearer instead of the current auth (``authenticate``).
        """
        if token is None and auth:
            token, basic = self._token, self._basic
        else:
            basic = None
        return _context_headers(namespace=self._namespace, database=self._database,
                                token=token, basic=basic, extra_headers=self._headers)

    @property
    def extra_headers(self) -> tuple[tuple[bytes | str, bytes | str], ...]:
        """The extra headers sent on every request."""
        return self._headers

    def merge_query_vars(self, params: tuple[Any, ...]) -> tuple[Any, ...]:
        """The params of a ``query`` with the session variables merged into its ``vars``,
        the call's own vars winning (3.x precedence, ``protocol.md`` §4.4)."""
        return _merge_vars(params, self._variables) if self._variables else params

    def prepare_local(self, method: str, params: tuple[Any, ...]
                      ) -> tuple[str | None, Any, Callable[[], None] | None]:
        """Validate a locally answered call (``use``, ``let``/``set``, ``unset``,
        ``invalidate``, ``reset``; ``protocol.md`` §3.1) without changing anything.

        Returns:
            ``(error, result, apply)``: on success ``error`` is ``None``, ``result`` is what
            the server would answer and ``apply()`` makes the change; on failure ``error`` is
            the server's message and ``apply`` is ``None``.

        Raises:
            LocalProtocolError: a ``use`` of a name that no HTTP header can carry.
            EncodingError: a ``let`` value that cannot be encoded (it would be sent with
                every later ``query``; refused now, as a WebSocket ``let`` would be).
        """
        if method == "use":
            error, result, namespace, database = _local_use(params, self)
            if error is not None:
                return error, None, None
            # Refuse now a name that no later request could carry.
            _context_headers(namespace=namespace, database=database, token=None,
                             basic=None, extra_headers=())

            def select() -> None:
                self._namespace, self._database = namespace, database
            return None, result, select
        if method in ("let", "set"):
            error = _check_var_params(params, 1, 2)
            if error is not None:
                return error, None, None
            name = params[0]
            value = params[1] if len(params) > 1 else None
            encode(value)  # raises for a value no later query could carry

            def assign() -> None:
                if value is None:
                    self._variables.pop(name, None)  # NONE removes the variable (§4.2)
                else:
                    self._variables[name] = value
            return None, None, assign
        if method == "unset":
            error = _check_var_params(params, 1, 1)
            if error is not None:
                return error, None, None
            name = params[0]

            def remove() -> None:
                self._variables.pop(name, None)
            return None, None, remove

        def clear() -> None:  # invalidate clears auth; reset also ns/db and variables (§4.4)
            self._token = None
            self._basic = None
            if method == "reset":
                self._namespace = self._database = None
                self._variables.clear()
        return None, None, clear

    def secrets(self) -> tuple[str, ...]:
        """The strings to hide from error messages."""
        found = [self._token] if self._token else []
        if self._basic is not None:
            found.append(self._basic.password)
        return tuple(found)

    def __repr__(self) -> str:
        auth = ("bearer" if self._token is not None else
                f"basic({self._basic.username!r})" if self._basic is not None else None)
        return (f"HttpContext(namespace={self._namespace!r}, database={self._database!r}, "
                f"auth={auth}, variables={sorted(self._variables)!r})")


def _merge_vars(params: tuple[Any, ...], variables: Mapping[str, Any]) -> tuple[Any, ...]:
    # protocol.md §4.4: on 3.x the call's vars override session variables.
    if not params:
        return params
    own = params[1] if len(params) > 1 else None
    if own is not None and own is not NULL and not isinstance(own, Mapping):
        return params  # not a map: let the server refuse it as it would on WebSocket
    merged = dict(variables)
    if isinstance(own, Mapping):
        merged.update(own)
    return (params[0], merged, *params[2:])


def _local_use(params: tuple[Any, ...], ctx: HttpContext
               ) -> tuple[str | None, Any, str | None, str | None]:
    # protocol.md §4.2, §4.4 `use`: exactly [ns, db]; str = set, NONE = unchanged, NULL = unset.
    if len(params) != 2:
        return "Invalid params: Expected (ns:string|null|none, db:string|null|none)", None, \
            None, None
    values: list[str | None] = []
    for value, current in zip(params, (ctx.namespace, ctx.database), strict=True):
        if value is None:
            values.append(current)
        elif value is NULL:
            values.append(None)
        elif isinstance(value, str):
            values.append(value)
        else:
            return ("Invalid params: the namespace and database must be strings, null or "
                    "none"), None, None, None
    namespace, database = values
    if namespace is None:
        if params[1] is not None and params[1] is not NULL:
            return ("Cannot set database without first selecting a namespace", None, None,
                    None)
        database = None  # unsetting the namespace clears the database
    return None, {"namespace": namespace, "database": database}, namespace, database


def _check_var_params(params: tuple[Any, ...], least: int, most: int) -> str | None:
    # protocol.md §4.2 `let`/`unset` arity, §4.4 protected names.
    if not least <= len(params) <= most or not isinstance(params[0], str):
        return "Invalid params: Expected (name:string" + (", value?)" if most == 2 else ")")
    if params[0] in PROTECTED_PARAM_NAMES:
        return f"Cannot set protected variable: {params[0]}"
    return None
