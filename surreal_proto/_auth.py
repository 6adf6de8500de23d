"""Authentication values: tokens, credentials, JWT expiry, and the auth state of one session.

What lives here (``protocol.md`` §7):

* :class:`Tokens`: what ``signin``/``signup``/``refresh`` return, parsed by
  :func:`parse_token_result` from every shape the server lines send (§7.2).
* :func:`wire_credentials`: the official SDK's friendly keys (``username``, ``namespace``,
  ``variables``...) mapped to the keys the server matches exactly (``user``, ``NS``...; §7.1),
  and :func:`credentials_kind`, which tells root, namespace, database, record access, bearer
  and refresh credentials apart. :class:`Credentials` keeps the result for renewal.
* :func:`jwt_expiry`: the ``exp`` claim of a JWT, read without checking the signature (§7.8
  step 1). The *session* expiry is never in the token (§7.3); it is learnt separately.
* :class:`AuthState`: what the client holds for one session, and how it was authenticated.

Secrets (passwords, access and refresh tokens, bearer keys, access-method variables) never
appear in a ``repr``, a ``str``, a log line or an exception message: every class here that
holds one has a redacting ``repr``, and every error names keys and types, never values.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType
from typing import Any, Final

from ._errors import LocalProtocolError, RemoteProtocolError
from ._values import NullType

__all__ = [
    "AuthMethod",
    "AuthState",
    "Credentials",
    "CredentialsKind",
    "Tokens",
    "credentials_kind",
    "jwt_expiry",
    "jwt_scope",
    "parse_token_result",
    "wire_credentials",
]

_REDACTED: Final = "<redacted>"


def _redact(secret: object) -> str:
    return "None" if secret is None else _REDACTED


# --------------------------------------------------------------------------- tokens


@dataclass(frozen=True, slots=True, repr=False)
class Tokens:
    """An access token and an optional refresh token (``API.md`` §5: what ``signin`` returns).

    Attributes:
        access: the JWT that ``authenticate`` accepts, or ``None`` when the server returned
            nothing (1.x/2.x ``signup`` may return NONE, ``protocol.md`` §7.2).
        refresh: a single-use ``surreal-refresh-…`` token (3.x access methods ``WITH
            REFRESH``, §7.7), or ``None``.

    ``repr`` and ``str`` never show either token.
    """

    access: str | None = None
    refresh: str | None = None

    def __repr__(self) -> str:
        return f"Tokens(access={_redact(self.access)}, refresh={_redact(self.refresh)})"

    def to_wire(self) -> dict[str, str]:
        """The ``{access, refresh}`` map that ``refresh`` and ``revoke`` take (§4.2).

        Raises:
            LocalProtocolError: either token is missing (the server would answer Invalid
                params, §7.7).
        """
        if self.access is None or self.refresh is None:
            raise LocalProtocolError(
                "refresh and revoke need both an access and a refresh token (protocol.md §7.7)")
        return {"access": self.access, "refresh": self.refresh}


def _shape(value: Any) -> str:
    # Describes a value without showing it: type, and key names for maps (keys are not secret).
    if isinstance(value, Mapping):
        return f"a map with keys {sorted(str(k) for k in value)}"
    return f"a {type(value).__name__}"


def parse_token_result(result: Any) -> Tokens:
    """Parse what ``signin``, ``signup`` or ``refresh`` returned (``protocol.md`` §7.2).

    Accepted shapes: a JWT string (1.x, 2.x, 3.x); ``{access, refresh?}`` (3.x ``Token``);
    the legacy ``{token, refresh?}``; the HTTP ``/signin`` body ``{code, details, token}``
    whose ``token`` is itself one of these; NONE or NULL (nothing, e.g. a 1.x/2.x ``signup``).

    Returns:
        The tokens; both ``None`` when the server returned nothing.

    Raises:
        RemoteProtocolError: any other shape. The message describes the shape (type, key
            names), never the values.
    """
    if result is None or isinstance(result, NullType):
        return Tokens()
    if isinstance(result, str):
        return Tokens(access=result)
    if isinstance(result, Mapping):
        access = result["access"] if "access" in result else result.get("token")
        if isinstance(access, Mapping):
            return parse_token_result(access)
        refresh = result.get("refresh")
        if isinstance(access, str | None) and isinstance(refresh, str | None):
            return Tokens(access=access, refresh=refresh)
    raise RemoteProtocolError(
        f"the server returned {_shape(result)} where a token was expected (protocol.md §7.2)")


# --------------------------------------------------------------------------- credentials


class CredentialsKind(Enum):
    """Who a set of ``signin`` credentials signs in as (``protocol.md`` §7.1)."""

    #: A root user: ``user``, ``pass``.
    ROOT = "root"
    #: A namespace user: ``NS``, ``user``, ``pass``.
    NAMESPACE = "namespace"
    #: A database user: ``NS``, ``DB``, ``user``, ``pass``.
    DATABASE = "database"
    #: An access method (2.x+ ``AC``, 1.x scope ``SC``) with its variables; record access or
    #: a namespace-level access method.
    RECORD_ACCESS = "record_access"
    #: A bearer grant: ``AC`` and ``key`` (``surreal-bearer-…``).
    BEARER = "bearer"
    #: A refresh token used through ``signin``: ``AC`` and ``refresh`` (single use, §7.7).
    REFRESH = "refresh"


# Friendly keys of the official SDK → wire keys (protocol.md §7.1; [PY] _AUTH_KEY_MAP).
_FRIENDLY: Final = {"username": "user", "password": "pass", "namespace": "NS",
                    "database": "DB", "access": "AC", "scope": "SC"}
# The server accepts NS/ns, DB/db, AC/ac (and 1.x SC/sc); any case is normalised to upper.
_CASED: Final = {"ns": "NS", "db": "DB", "ac": "AC", "sc": "SC"}
_VERBATIM: Final = frozenset({"user", "pass", "key", "refresh"})
_KNOWN: Final = "username, password, namespace, database, access, variables, key, refresh"


def _target(key: str) -> str | None:
    return _FRIENDLY.get(key) or _CASED.get(key.lower()) or (key if key in _VERBATIM else None)


def wire_credentials(credentials: Mapping[str, Any]) -> dict[str, Any]:
    """Map ``signin``/``signup`` credentials to the keys the server matches (§7.1).

    ``username`` → ``user``, ``password`` → ``pass``, ``namespace`` → ``NS``, ``database`` →
    ``DB``, ``access`` → ``AC`` (1.x ``scope`` → ``SC``); the entries of ``variables`` are
    flattened into the top level; ``key`` and ``refresh`` stay. The wire keys ``user``,
    ``pass``, ``NS``, ``DB``, ``AC``, ``SC`` pass through (``ns``/``db``/``ac``/``sc`` in any
    case become upper case, which every server accepts). With an access method (``AC``/``SC``),
    any other top-level key is an access-method variable (``email``...) and passes through too.

    Args:
        credentials: the mapping the user gave.

    Returns:
        A new dict with wire keys, ready to be the single param of ``signin``/``signup``.

    Raises:
        LocalProtocolError: not a mapping; an unknown key without an access method; a key
            given twice (``username`` and ``user``); a non-string value for a key that needs
            one; an incomplete set (see :func:`credentials_kind`). The message names the
            offending key, never a value.
    """
    if not isinstance(credentials, Mapping):
        raise LocalProtocolError(
            f"credentials must be a mapping, not {type(credentials).__name__}")
    wire: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for key, value in credentials.items():
        if not isinstance(key, str):
            raise LocalProtocolError(
                f"credentials keys must be strings, not {type(key).__name__}")
        if key == "variables":
            if not isinstance(value, Mapping):
                raise LocalProtocolError(
                    f"credentials key 'variables' must be a mapping, not {type(value).__name__}")
            for name, var in value.items():
                if not isinstance(name, str):
                    raise LocalProtocolError(
                        f"the keys of 'variables' must be strings, not {type(name).__name__}")
                _put(extra, origin, name, var, f"variables[{name!r}]")
            continue
        target = _target(key)
        if target is None:
            _put(extra, origin, key, value, repr(key))
            continue
        if not isinstance(value, str):
            raise LocalProtocolError(
                f"credentials key {key!r} must be a string, not {type(value).__name__}")
        _put(wire, origin, target, value, repr(key))
    if extra and "AC" not in wire and "SC" not in wire:
        name = next(iter(extra))
        raise LocalProtocolError(
            f"unknown credentials key {origin[name]}: expected {_KNOWN} (or the wire keys "
            "user, pass, NS, DB, AC); variables need an access method (protocol.md §7.1)")
    wire.update(extra)  # no clash: _put checked every key against all the others
    credentials_kind(wire)
    return wire


def _put(into: dict[str, Any], origin: dict[str, str], key: str, value: Any,
         source: str) -> None:
    if key in origin:
        raise LocalProtocolError(
            f"credentials key {key!r} is given twice (as {origin[key]} and {source})")
    origin[key] = source
    into[key] = value


def _classify(wire: Mapping[str, Any]) -> tuple[CredentialsKind | None, str]:
    has_access = "AC" in wire or "SC" in wire
    if "DB" in wire and "NS" not in wire:
        return None, "credentials give a database (DB) without a namespace (NS)"
    if "refresh" in wire or "key" in wire:
        if "refresh" in wire and "key" in wire:
            return None, "credentials give both 'key' and 'refresh'; pass one"
        name = "refresh" if "refresh" in wire else "key"
        if not has_access:
            return None, f"credentials key {name!r} needs an access method (access/AC)"
        return (CredentialsKind.REFRESH if name == "refresh" else CredentialsKind.BEARER), ""
    if has_access:
        return CredentialsKind.RECORD_ACCESS, ""
    missing = [k for k in ("user", "pass") if k not in wire]
    if missing:
        return None, ("credentials need " + " and ".join(repr(k) for k in missing)
                      + " (username/password), an access method, a key or a refresh token")
    if "DB" in wire:
        return CredentialsKind.DATABASE, ""
    return (CredentialsKind.NAMESPACE if "NS" in wire else CredentialsKind.ROOT), ""


def credentials_kind(wire: Mapping[str, Any]) -> CredentialsKind:
    """Tell which kind of ``signin`` a set of *wire* credentials is (``protocol.md`` §7.1).

    Args:
        wire: credentials with wire keys (the output of :func:`wire_credentials`).

    Returns:
        ``REFRESH`` if ``refresh`` is present, ``BEARER`` if ``key`` is, ``RECORD_ACCESS`` if
        ``AC``/``SC`` is, else ``DATABASE``, ``NAMESPACE`` or ``ROOT`` by ``DB``/``NS``.

    Raises:
        LocalProtocolError: an incomplete or contradictory set (``DB`` without ``NS``, ``key``
            without an access method, no ``pass``...). The message names keys only.
    """
    kind, problem = _classify(wire)
    if kind is None:
        raise LocalProtocolError(problem)
    return kind


@dataclass(frozen=True, slots=True, repr=False)
class Credentials:
    """Wire credentials kept for renewal, and their kind. ``repr`` shows key names only.

    Attributes:
        wire: the wire-keyed mapping (read-only).
        kind: what they sign in as.
    """

    wire: Mapping[str, Any]
    kind: CredentialsKind

    @classmethod
    def from_mapping(cls, credentials: Mapping[str, Any]) -> Credentials:
        """Build from friendly or wire keys (see :func:`wire_credentials`, which may raise)."""
        wire = wire_credentials(credentials)
        return cls(MappingProxyType(wire), credentials_kind(wire))

    @classmethod
    def _from_wire(cls, wire: Any) -> Credentials | None:
        # Lenient: for params the server already accepted; None if we cannot classify them.
        if not isinstance(wire, Mapping):
            return None
        kind, _ = _classify(wire)
        return None if kind is None else cls(MappingProxyType(dict(wire)), kind)

    def params(self) -> dict[str, Any]:
        """A fresh copy of the wire mapping, to send as the ``signin`` param."""
        return dict(self.wire)

    def __repr__(self) -> str:
        return f"Credentials(kind={self.kind.name}, keys={sorted(self.wire)})"


# --------------------------------------------------------------------------- JWT


def _jwt_payload(token: Any) -> dict[str, Any] | None:
    # base64url middle segment, no signature check (protocol.md §7.8 step 1).
    if not isinstance(token, str):
        return None
    parts = token.split(".")
    if len(parts) != 3:
        return None
    segment = parts[1]
    try:
        payload = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, RecursionError):
        return None
    return payload if isinstance(payload, dict) else None


def jwt_expiry(token: str) -> float | None:
    """The ``exp`` claim of a JWT, in epoch seconds (``protocol.md`` §7.3, §7.8).

    The signature is not checked: the server does that. Never raises and never logs: a value
    that is not a JWT, an undecodable payload or a missing, non-numeric or non-finite ``exp``
    all give ``None``. ``None`` therefore means "no expiry known".
    """
    payload = _jwt_payload(token)
    exp = None if payload is None else payload.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        return None
    try:
        value = float(exp)
    except OverflowError:
        return None
    return value if math.isfinite(value) else None


def jwt_scope(token: Any) -> tuple[str | None, str | None]:
    """The ``NS`` and ``DB`` claims of a JWT (``protocol.md`` §7.3), ``None`` when absent.

    ``authenticate`` and ``refresh`` select them for the session, as ``signin`` does.
    """
    payload = _jwt_payload(token) or {}
    ns = payload.get("NS", payload.get("ns"))
    db = payload.get("DB", payload.get("db"))
    return (ns if isinstance(ns, str) else None), (db if isinstance(db, str) else None)


# --------------------------------------------------------------------------- auth state


class AuthMethod(Enum):
    """How a session got its current identity."""

    #: The ``auth=`` option (token, credentials or provider); not yet applied on this link.
    CONFIGURED = "configured"
    #: A successful ``signin``.
    SIGNIN = "signin"
    #: A successful ``signup``.
    SIGNUP = "signup"
    #: A successful ``authenticate``.
    AUTHENTICATE = "authenticate"
    #: A successful ``refresh`` (3.x, §7.7).
    REFRESH = "refresh"


@dataclass(frozen=True, slots=True, repr=False)
class AuthState:
    """What the client holds about one session's authentication (immutable; replaced whole).

    Attributes:
        access: the current access token (JWT), or ``None``.
        refresh: the current refresh token (single use, §7.7), or ``None``.
        credentials: the wire credentials to sign in again with, or ``None``. ``signin``
            credentials are kept by default, as the JS SDK does; the tracker's
            ``keep_credentials=False`` keeps none except those of the ``auth=`` option.
        provider: a credentials provider exists (an adapter-level callable; the core only asks
            the adapter to call it).
        method: how the session was authenticated; ``None`` = anonymous (never signed in, or
            ``invalidate``/``reset``).
        token_exp: the access token's ``exp`` (epoch seconds), ``None`` = none known.
        token_received_at: when the access token was received (the caller's clock).
        session_exp: the *session* expiry (``RETURN $session.exp``, §7.8 step 2), epoch
            seconds; ``None`` = never, when :attr:`session_exp_known`.
        session_exp_known: whether :attr:`session_exp` has been learnt since the last auth.
        session_exp_learned_at: when it was learnt (the caller's clock).
    """

    access: str | None = None
    refresh: str | None = None
    credentials: Credentials | None = None
    provider: bool = False
    method: AuthMethod | None = None
    token_exp: float | None = None
    token_received_at: float | None = None
    session_exp: float | None = None
    session_exp_known: bool = False
    session_exp_learned_at: float | None = None

    @property
    def authenticated(self) -> bool:
        """Whether the session has (or should have, for ``CONFIGURED``) an identity."""
        return self.method is not None

    @property
    def tokens(self) -> Tokens:
        """The current tokens."""
        return Tokens(self.access, self.refresh)

    def token_valid(self, now: float, margin: float) -> bool:
        """Whether the access token exists and will still be valid ``margin`` seconds from
        ``now`` (a token without ``exp`` is always valid)."""
        if self.access is None:
            return False
        return self.token_exp is None or self.token_exp - margin > now

    def __repr__(self) -> str:
        method = None if self.method is None else self.method.name
        return (f"AuthState(method={method}, access={_redact(self.access)}, "
                f"refresh={_redact(self.refresh)}, credentials={self.credentials!r}, "
                f"provider={self.provider}, token_exp={self.token_exp!r}, "
                f"session_exp={self.session_exp!r}, "
                f"session_exp_known={self.session_exp_known})")
