"""Server versions, the behaviours that depend on them (``protocol.md`` §10 item 6), and
which RPC methods a transport or server version cannot do (§4.1).

The client asks ``version`` first and gets ``surrealdb-X.Y.Z`` (``protocol.md`` §4.2 row
``version``). :meth:`ServerVersion.parse` reads that (and the usual variations: no prefix, a
``v``, a pre-release ``-beta.1``, build metadata ``+20240101``), and
:meth:`ServerVersion.supports` answers "does this server do X" for the features listed in
:data:`FEATURES`.

Ordering follows semantic versioning: ``3.0.0-beta.1 < 3.0.0 < 3.0.1``; build metadata is
ignored by comparisons and equality. A version also compares with a plain ``(major, minor,
patch)`` tuple, which stands for that release: ``v >= (3, 0, 0)``, ``v == (3, 2, 4)``. Feature
checks, however, look at the release numbers only, so a ``3.0.0-beta.1`` server counts as 3.0.0:
the 3.x pre-releases already speak the 3.x protocol, and refusing sessions to them would help
nobody (``supports``, ``at_least`` and :func:`check_supported`).

Every connection's ``server_version`` is a :class:`ServerVersion` (or ``None`` until known),
read with :meth:`ServerVersion.parse_or_none` from the ``version`` result or, over HTTP, the
``surreal-version`` header. This module holds the only version parser.

:func:`check_supported` refuses, before anything is sent, a method the transport or the
server cannot do (API.md §5: live queries and transactions over HTTP or the embedded engine,
sessions on 2.x), with a message saying why. ``surreal_proto._methods`` re-exports it with
the method tables.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final, Literal, TypeAlias

from ._errors import UnsupportedFeatureError

__all__ = [
    "FEATURES", "LIVE_METHODS", "MIN_VERSION", "RESTRICTED_METHODS", "SESSION_METHODS",
    "TRANSACTION_CONTROL_METHODS", "WS_ONLY_METHODS", "ServerVersion", "Transport",
    "check_supported",
]

_Release = tuple[int, int, int]
_Key = tuple[int, int, int, int, tuple[tuple[int, int | str], ...]]

#: The transports of the core, as :func:`check_supported` names them.
Transport: TypeAlias = Literal["ws", "http", "embedded"]

#: Version-dependent behaviours: name -> (first version that has it, first version that no
#: longer has it, or ``None``). Sources are the ``protocol.md`` sections in the comments.
FEATURES: Final[Mapping[str, tuple[_Release, _Release | None]]] = MappingProxyType({
    # CBOR with the tag numbering of §5.1 (1.4.0+; 1.2-1.3 used other numbers, §5.4).
    "cbor": ((1, 4, 0), None),
    # HTTP POST /rpc exists (§1).
    "http_rpc": ((1, 4, 0), None),
    # Session expiry exists at all (§7.5, 1.3.0).
    "session_expiry": ((1, 3, 0), None),
    # RPC methods added in 2.0 (§4.1).
    "upsert": ((2, 0, 0), None),
    "insert_relation": ((2, 0, 0), None),
    # Range values and record-id ranges, tags 49-51 (§5.1).
    "ranges": ((2, 0, 0), None),
    # Live notifications carry ``record`` (§8.2).
    "notification_record": ((2, 0, 0), None),
    # Record access uses ``AC`` (access methods); 1.x used ``SC`` scopes (§7.1).
    "access_methods": ((2, 0, 0), None),
    "scopes": ((1, 0, 0), (2, 0, 0)),
    # Futures, tag 15: sent and accepted by 2.x only (§5.1).
    "futures": ((2, 0, 0), (3, 0, 0)),
    # The graphql RPC method (2.x only, behind a capability; §4.1).
    "graphql_rpc": ((2, 0, 0), (3, 0, 0)),
    # ``reset`` (§4.1, added 2.2.0).
    "reset": ((2, 2, 0), None),
    # 3.x: ``use`` returns {namespace, database} (2.x: NONE) and creates them (§4.4 ``use``).
    "use_result": ((3, 0, 0), None),
    "use_creates_ns_db": ((3, 0, 0), None),
    # 3.x: signin/signup may return {access, refresh} instead of a JWT string (§7.2).
    "token_pair": ((3, 0, 0), None),
    # 3.x RPC methods: refresh/revoke (§7.7), attach/detach/sessions (§9.1), begin/commit/
    # cancel (§9.2).
    "refresh": ((3, 0, 0), None),
    "revoke": ((3, 0, 0), None),
    "sessions": ((3, 0, 0), None),
    "transactions": ((3, 0, 0), None),
    # 3.x error objects carry ``kind``/``details``; -32602/-32603 swap meaning (§6.3).
    "error_kinds": ((3, 0, 0), None),
    # 3.x KILLED notifications (§8.2), sets (tag 56) and files (tag 55) (§5.1).
    "killed_notifications": ((3, 0, 0), None),
    "sets": ((3, 0, 0), None),
    "files": ((3, 0, 0), None),
    # ``query`` vars precedence (§4.4 ``query``): 3.x per-call vars override session
    # variables; on 2.x the session variables win.
    "query_vars_override_session": ((3, 0, 0), None),
    # 2.x ``let`` evaluates its value as an expression; 3.x stores it as given (§4.4 ``let``).
    "let_stores_value": ((3, 0, 0), None),
})

# ``surrealdb-3.2.4``, ``v3.2.4``, ``3.0.0-beta.1``, ``2.0.0+20240101``, ``2.0`` (patch 0).
_VERSION = re.compile(
    r"""
    (?:surrealdb[-_ ]?)?v?
    (?P<major>0|[1-9][0-9]*)\.(?P<minor>0|[1-9][0-9]*)(?:\.(?P<patch>0|[1-9][0-9]*))?
    (?:-(?P<pre>[0-9A-Za-z.-]+))?
    (?:\+(?P<build>[0-9A-Za-z.-]+))?
    """,
    re.VERBOSE | re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class ServerVersion:
    """A SurrealDB server version.

    Attributes:
        major: the major number (1, 2, 3...).
        minor: the minor number.
        patch: the patch number.
        pre: the pre-release label (``"beta.1"``), or ``""`` for a release.
        build: build metadata (``"20240101"``), or ``""``. Ignored by comparisons.

    Examples:
        >>> v = ServerVersion.parse("surrealdb-3.2.4")
        >>> v.supports("sessions"), v.at_least(2, 2)
        (True, True)
        >>> ServerVersion.parse("3.0.0-beta.1") < ServerVersion.parse("3.0.0")
        True
        >>> v >= (3, 0, 0), v == (3, 2, 4)
        (True, True)
    """

    major: int
    minor: int
    patch: int
    pre: str = ""
    build: str = field(default="", compare=False)

    @classmethod
    def parse(cls, text: str) -> ServerVersion:
        """Read a version as the server reports it.

        Args:
            text: e.g. ``"surrealdb-3.2.4"`` (the ``version`` RPC result and the
                ``surreal-version`` HTTP header), ``"3.2.4"``, ``"v3.0.0-beta.1"``,
                ``"surrealdb-2.0.0+20240101"``. Surrounding white space is ignored; a missing
                patch number is 0.

        Returns:
            The version.

        Raises:
            TypeError: ``text`` is not a ``str``.
            ValueError: ``text`` is not a version.
        """
        if not isinstance(text, str):
            raise TypeError(f"a server version must be a str, not {type(text).__name__}")
        m = _VERSION.fullmatch(text.strip())
        if m is None:
            raise ValueError(f"not a SurrealDB version: {text!r}")
        return cls(int(m["major"]), int(m["minor"]), int(m["patch"] or 0),
                   m["pre"] or "", m["build"] or "")

    @classmethod
    def parse_or_none(cls, value: Any) -> ServerVersion | None:
        """Read a version the server reported, leniently: the ``version`` result or the
        ``surreal-version`` HTTP header (``protocol.md`` §3.2, §4.2).

        Returns:
            The version, or ``None`` when ``value`` is not a version string (a server that
            answers oddly must not break the connection).
        """
        if not isinstance(value, str):
            return None
        try:
            return cls.parse(value)
        except ValueError:
            return None

    @property
    def release(self) -> tuple[int, int, int]:
        """``(major, minor, patch)``, without pre-release or build labels."""
        return (self.major, self.minor, self.patch)

    @property
    def is_prerelease(self) -> bool:
        """True for alpha/beta/rc builds."""
        return bool(self.pre)

    def at_least(self, major: int, minor: int = 0, patch: int = 0) -> bool:
        """Whether the release numbers are at least ``major.minor.patch``.

        A pre-release counts as its release (``3.0.0-beta.1`` is at least 3.0.0), see the
        module docstring.
        """
        return self.release >= (major, minor, patch)

    def supports(self, feature: str) -> bool:
        """Whether this server version has a version-dependent behaviour.

        Args:
            feature: a key of :data:`FEATURES`, e.g. ``"sessions"``, ``"transactions"``,
                ``"refresh"``, ``"upsert"``, ``"insert_relation"``, ``"reset"``,
                ``"use_result"``, ``"token_pair"``, ``"query_vars_override_session"``.

        Returns:
            True when ``since <= version < until`` on the release numbers.

        Raises:
            ValueError: ``feature`` is not a known feature name.
        """
        try:
            since, until = FEATURES[feature]
        except KeyError:
            raise ValueError(f"unknown feature {feature!r}; known features: "
                             + ", ".join(sorted(FEATURES))) from None
        return self.release >= since and (until is None or self.release < until)

    def _key(self) -> _Key:
        # Semantic-versioning precedence: a pre-release sorts before its release; pre-release
        # identifiers compare numerically when numeric, numbers before words.
        pre = tuple((0, int(p)) if p.isdigit() else (1, p) for p in self.pre.split(".")
                    ) if self.pre else ()
        return (self.major, self.minor, self.patch, 0 if self.pre else 1, pre)

    @staticmethod
    def _key_of(other: object) -> _Key | None:
        # Another version, or a (major, minor, patch) tuple of ints standing for that release.
        if isinstance(other, ServerVersion):
            return other._key()
        if (isinstance(other, tuple) and len(other) == 3
                and all(type(n) is int for n in other)):
            return (other[0], other[1], other[2], 1, ())
        return None

    def __eq__(self, other: object) -> bool:
        key = self._key_of(other)
        return NotImplemented if key is None else self._key() == key

    def __hash__(self) -> int:
        # Equal to the tuple of a release, so it hashes like that tuple.
        return hash((*self.release, self.pre) if self.pre else self.release)

    def __lt__(self, other: object) -> bool:
        key = self._key_of(other)
        return NotImplemented if key is None else self._key() < key

    def __le__(self, other: object) -> bool:
        key = self._key_of(other)
        return NotImplemented if key is None else self._key() <= key

    def __gt__(self, other: object) -> bool:
        key = self._key_of(other)
        return NotImplemented if key is None else self._key() > key

    def __ge__(self, other: object) -> bool:
        key = self._key_of(other)
        return NotImplemented if key is None else self._key() >= key

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.pre:
            text += f"-{self.pre}"
        if self.build:
            text += f"+{self.build}"
        return text


# --------------------------------------------------------------------------- support

#: Live queries: WebSocket only (HTTP: §8.1; embedded: ``LQ_SUPPORT = false``, §9.4).
LIVE_METHODS: Final = frozenset({"live", "kill"})
#: Client-managed transactions: the server WebSocket only (§9.2, §9.4).
TRANSACTION_CONTROL_METHODS: Final = frozenset({"begin", "commit", "cancel"})
#: Sessions (§9.1): WebSocket and the embedded engine (verified, §9.4); not HTTP (§9.3).
SESSION_METHODS: Final = frozenset({"attach", "detach", "sessions"})
#: Methods that need a WebSocket connection.
WS_ONLY_METHODS: Final = LIVE_METHODS | TRANSACTION_CONTROL_METHODS

#: First server version that has each method (§4.1); methods not listed exist since 1.x.
MIN_VERSION: Final[Mapping[str, tuple[int, int, int]]] = MappingProxyType({
    "upsert": (2, 0, 0), "insert_relation": (2, 0, 0), "reset": (2, 2, 0),
    "refresh": (3, 0, 0), "revoke": (3, 0, 0), "attach": (3, 0, 0), "detach": (3, 0, 0),
    "sessions": (3, 0, 0), "begin": (3, 0, 0), "commit": (3, 0, 0), "cancel": (3, 0, 0),
})

#: The methods :func:`check_supported` may refuse (on some transport or server version). Any
#: other method, without ``session`` or ``txn``, always passes: ``send_request`` skips the call.
RESTRICTED_METHODS: Final = WS_ONLY_METHODS | SESSION_METHODS | frozenset(MIN_VERSION)

_WHAT_NEEDS: Final = {
    "attach": "sessions need", "detach": "sessions need", "sessions": "sessions need",
    "begin": "transactions need", "commit": "transactions need", "cancel": "transactions need",
}
_WHY: Final[dict[tuple[str, str], str]] = {
    ("live", "http"): "live queries need a WebSocket connection; HTTP is stateless "
                      "(protocol.md §8.1)",
    ("live", "embedded"): "live queries need a WebSocket connection; the embedded engine "
                          "does not deliver notifications (protocol.md §9.4)",
    ("txn", "http"): "transactions need the server WebSocket; HTTP /rpc answers begin with "
                     "Method not found (protocol.md §9.2)",
    ("txn", "embedded"): "transactions need the server WebSocket; the embedded engine "
                         "rejects begin (protocol.md §9.4)",
    ("session", "http"): "sessions need a WebSocket connection (or the embedded engine); "
                         "over HTTP they live in one server node's memory (protocol.md §9.3)",
}


def check_supported(method: str, *, transport: Transport,
                    server_version: ServerVersion | tuple[int, int, int] | None = None,
                    session: bool = False, txn: bool = False) -> None:
    """Refuse, before sending, a call the transport or the server cannot do (API.md §5).

    Every connection calls it from ``send_request``, so the typed helpers and raw
    ``send_request`` calls are checked alike (skipping the call when it cannot refuse: a
    method outside :data:`RESTRICTED_METHODS`, without ``session`` or ``txn``).

    Args:
        method: the RPC method name. Methods with no restriction (or unknown) pass.
        transport: ``"ws"``, ``"http"`` or ``"embedded"``.
        server_version: the connected server's version, a :class:`ServerVersion` or a
            ``(major, minor, patch)`` triple; ``None`` (not known yet) skips the version
            check. A pre-release counts as its release (``3.0.0-beta.1`` has sessions).
        session: the request carries the 3.x ``session`` envelope field (§9.1).
        txn: the request carries the 3.x ``txn`` envelope field (§9.2). A server older than
            3.0 would ignore either field (§2.4) and run the call somewhere else, so both are
            version-checked like ``attach`` and ``begin``.

    Raises:
        UnsupportedFeatureError: with a message saying why, e.g. "live queries need a
            WebSocket connection; HTTP is stateless (protocol.md §8.1)".
    """
    if not (session or txn) and method not in RESTRICTED_METHODS:
        return  # the common case: nothing to refuse, and nothing to build a message for
    group = ("live" if method in LIVE_METHODS else "txn" if method in
             TRANSACTION_CONTROL_METHODS else "session" if method in SESSION_METHODS else "")
    # (what is asked, its group, the first version that has it, the message's subject)
    checks = [(method, group, MIN_VERSION.get(method),
               _WHAT_NEEDS.get(method, f"{method}() needs"))]
    if session:
        checks.append((f"{method} with a session", "session", MIN_VERSION["attach"],
                       "sessions need"))
    if txn:
        checks.append((f"{method} in a transaction", "txn", MIN_VERSION["begin"],
                       "transactions need"))
    for label, kind, _, _ in checks:
        why = _WHY.get((kind, transport))
        if why is not None:
            raise UnsupportedFeatureError(f"{label}: {why}")
    if server_version is None:
        return
    release = (server_version.release if isinstance(server_version, ServerVersion)
               else tuple(server_version))
    for label, _, need, what in checks:
        if need is not None and release < need:
            field = "" if label == method else f"{label}: "
            raise UnsupportedFeatureError(
                f"{field}{what} SurrealDB {need[0]}.{need[1]} or newer (protocol.md §4.1); this "
                f"server is {'.'.join(map(str, release))}")
