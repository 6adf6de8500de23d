"""Tokens, credentials mapping, JWT expiry and the auth state (protocol.md §7)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from surreal_proto import LocalProtocolError, RemoteProtocolError
from surreal_proto._auth import (
    AuthMethod,
    AuthState,
    Credentials,
    CredentialsKind,
    Tokens,
    credentials_kind,
    jwt_expiry,
    jwt_scope,
    parse_token_result,
    wire_credentials,
)
from surreal_proto._values import NULL
from tests.proto.auth_helpers import BEARER, PASSWORD, REFRESH, assert_no_secret, make_jwt

ACCESS = make_jwt({"exp": 2000, "NS": "app", "DB": "main"})

# --------------------------------------------------------------------------- Tokens


def test_tokens_repr_and_str_redact_both_tokens() -> None:
    tokens = Tokens(ACCESS, REFRESH)
    for text in (repr(tokens), str(tokens), f"{tokens}", repr([tokens])):
        assert text == "Tokens(access=<redacted>, refresh=<redacted>)" or "<redacted>" in text
        assert_no_secret(text, ACCESS)
    assert repr(Tokens()) == "Tokens(access=None, refresh=None)"
    assert repr(Tokens(ACCESS)) == "Tokens(access=<redacted>, refresh=None)"


def test_tokens_are_frozen_positional_and_comparable() -> None:
    assert Tokens(ACCESS, REFRESH) == Tokens(access=ACCESS, refresh=REFRESH)
    with pytest.raises(AttributeError):
        Tokens().access = "x"  # type: ignore[misc]


def test_tokens_to_wire() -> None:
    assert Tokens(ACCESS, REFRESH).to_wire() == {"access": ACCESS, "refresh": REFRESH}


@pytest.mark.parametrize("tokens", [Tokens(), Tokens(ACCESS), Tokens(None, REFRESH)])
def test_tokens_to_wire_needs_both(tokens: Tokens) -> None:
    with pytest.raises(LocalProtocolError, match="both an access and a refresh") as info:
        tokens.to_wire()
    assert_no_secret(str(info.value), ACCESS)


# --------------------------------------------------------------------------- parse_token_result


@pytest.mark.parametrize(("result", "expected"), [
    (None, Tokens()),
    (NULL, Tokens()),
    (ACCESS, Tokens(ACCESS)),
    ({"access": ACCESS, "refresh": REFRESH}, Tokens(ACCESS, REFRESH)),
    ({"access": ACCESS}, Tokens(ACCESS)),
    ({"access": ACCESS, "refresh": None}, Tokens(ACCESS)),
    ({"token": ACCESS, "refresh": REFRESH}, Tokens(ACCESS, REFRESH)),  # legacy / 2.x HTTP
    ({"token": ACCESS}, Tokens(ACCESS)),
    ({"code": 200, "details": "ok", "token": ACCESS}, Tokens(ACCESS)),  # HTTP /signin
    ({"code": 200, "details": "ok", "token": {"access": ACCESS, "refresh": REFRESH}},
     Tokens(ACCESS, REFRESH)),  # 3.x HTTP /signin
    ({}, Tokens()),
], ids=repr)
def test_parse_token_result(result: Any, expected: Tokens) -> None:
    assert parse_token_result(result) == expected


@pytest.mark.parametrize("result", [
    42, [ACCESS], b"bytes", {"access": 7}, {"access": ACCESS, "refresh": [REFRESH]},
    {"token": ["x"]},
], ids=repr)
def test_parse_token_result_rejects_other_shapes_without_showing_values(result: Any) -> None:
    with pytest.raises(RemoteProtocolError, match="where a token was expected") as info:
        parse_token_result(result)
    assert_no_secret(str(info.value), ACCESS)


# --------------------------------------------------------------------------- wire_credentials


@pytest.mark.parametrize(("given", "wire", "kind"), [
    ({"username": "root", "password": PASSWORD}, {"user": "root", "pass": PASSWORD},
     CredentialsKind.ROOT),
    ({"user": "root", "pass": PASSWORD}, {"user": "root", "pass": PASSWORD},
     CredentialsKind.ROOT),
    ({"namespace": "app", "username": "u", "password": PASSWORD},
     {"NS": "app", "user": "u", "pass": PASSWORD}, CredentialsKind.NAMESPACE),
    ({"ns": "app", "user": "u", "pass": PASSWORD},
     {"NS": "app", "user": "u", "pass": PASSWORD}, CredentialsKind.NAMESPACE),
    ({"Ns": "app", "dB": "main", "user": "u", "pass": PASSWORD},
     {"NS": "app", "DB": "main", "user": "u", "pass": PASSWORD}, CredentialsKind.DATABASE),
    ({"namespace": "app", "database": "main", "username": "u", "password": PASSWORD},
     {"NS": "app", "DB": "main", "user": "u", "pass": PASSWORD}, CredentialsKind.DATABASE),
    ({"namespace": "app", "database": "main", "access": "users",
      "variables": {"email": "a@b.c", "pass": PASSWORD}},
     {"NS": "app", "DB": "main", "AC": "users", "email": "a@b.c", "pass": PASSWORD},
     CredentialsKind.RECORD_ACCESS),
    ({"NS": "app", "DB": "main", "AC": "users", "email": "a@b.c", "pass": PASSWORD},
     {"NS": "app", "DB": "main", "AC": "users", "email": "a@b.c", "pass": PASSWORD},
     CredentialsKind.RECORD_ACCESS),
    ({"ns": "app", "ac": "tenant", "variables": {}},
     {"NS": "app", "AC": "tenant"}, CredentialsKind.RECORD_ACCESS),
    ({"NS": "app", "DB": "main", "SC": "user", "email": "x"},  # 1.x scope
     {"NS": "app", "DB": "main", "SC": "user", "email": "x"}, CredentialsKind.RECORD_ACCESS),
    ({"namespace": "app", "database": "main", "scope": "user"},
     {"NS": "app", "DB": "main", "SC": "user"}, CredentialsKind.RECORD_ACCESS),
    ({"namespace": "app", "database": "main", "access": "api", "key": BEARER},
     {"NS": "app", "DB": "main", "AC": "api", "key": BEARER}, CredentialsKind.BEARER),
    ({"namespace": "app", "database": "main", "access": "users", "refresh": REFRESH},
     {"NS": "app", "DB": "main", "AC": "users", "refresh": REFRESH}, CredentialsKind.REFRESH),
], ids=lambda v: repr(v)[:60])
def test_wire_credentials(given: Mapping[str, Any], wire: dict[str, Any],
                          kind: CredentialsKind) -> None:
    assert wire_credentials(given) == wire
    assert credentials_kind(wire) is kind
    creds = Credentials.from_mapping(given)
    assert creds.kind is kind
    assert creds.params() == wire
    assert creds.params() is not creds.params()
    assert_no_secret(repr(creds))
    assert repr(creds) == f"Credentials(kind={kind.name}, keys={sorted(wire)})"


def test_wire_credentials_does_not_touch_the_input() -> None:
    given = {"username": "root", "password": PASSWORD}
    wire_credentials(given)
    assert given == {"username": "root", "password": PASSWORD}


@pytest.mark.parametrize(("given", "fragment"), [
    ({"usernme": "root", "password": PASSWORD}, "unknown credentials key 'usernme'"),
    ({"user": "root", "pass": PASSWORD, "variables": {"email": PASSWORD}},
     "unknown credentials key variables['email']"),
    ({"username": "a", "user": "b", "pass": PASSWORD},
     "credentials key 'user' is given twice (as 'username' and 'user')"),
    ({"NS": "a", "ns": "b", "user": "u", "pass": PASSWORD}, "'NS' is given twice"),
    ({"AC": "a", "pass": PASSWORD, "variables": {"pass": PASSWORD}},
     "'pass' is given twice (as 'pass' and variables['pass'])"),
    ({"username": 7, "password": PASSWORD}, "key 'username' must be a string, not int"),
    ({"user": "u", "password": b"x"}, "key 'password' must be a string, not bytes"),
    ({"access": "a", "variables": [PASSWORD]}, "'variables' must be a mapping, not list"),
    ({"access": "a", "variables": {1: PASSWORD}}, "keys of 'variables' must be strings, not int"),
    ({1: PASSWORD}, "keys must be strings, not int"),
    ({"database": "main", "username": "u", "password": PASSWORD},
     "database (DB) without a namespace (NS)"),
    ({"username": "u"}, "credentials need 'pass'"),
    ({"password": PASSWORD}, "credentials need 'user'"),
    ({}, "credentials need 'user' and 'pass'"),
    ({"namespace": "n", "key": BEARER}, "credentials key 'key' needs an access method"),
    ({"namespace": "n", "refresh": REFRESH}, "credentials key 'refresh' needs an access"),
    ({"ac": "x", "key": BEARER, "refresh": REFRESH}, "both 'key' and 'refresh'"),
], ids=lambda v: repr(v)[:50])
def test_wire_credentials_errors_name_the_key_never_the_value(given: Any, fragment: str) -> None:
    with pytest.raises(LocalProtocolError) as info:
        wire_credentials(given)
    assert fragment in str(info.value)
    assert_no_secret(str(info.value))
    assert_no_secret(repr(info.value))


@pytest.mark.parametrize("given", [[("user", "u")], "user=u", None])
def test_wire_credentials_needs_a_mapping(given: Any) -> None:
    with pytest.raises(LocalProtocolError, match="credentials must be a mapping"):
        wire_credentials(given)


def test_credentials_kind_raises_for_incomplete_wire_sets() -> None:
    with pytest.raises(LocalProtocolError, match="'pass'"):
        credentials_kind({"user": "u"})


def test_credentials_from_wire_is_lenient() -> None:
    assert Credentials._from_wire("not a map") is None
    assert Credentials._from_wire({"DB": "x"}) is None
    creds = Credentials._from_wire({"user": "u", "pass": PASSWORD})
    assert creds is not None
    assert creds.kind is CredentialsKind.ROOT


# --------------------------------------------------------------------------- JWT


@pytest.mark.parametrize(("token", "expected"), [
    (make_jwt({"exp": 1700000000}), 1700000000.0),
    (make_jwt({"exp": 1700000000.5, "iat": 1}), 1700000000.5),
    (make_jwt({"iat": 1}), None),  # no exp: no expiry
    (make_jwt({"exp": "soon"}), None),
    (make_jwt({"exp": True}), None),
    (make_jwt({"exp": None}), None),
    (make_jwt({"exp": 10**400}), None),  # too big for a float
    (make_jwt(raw_payload=b'{"exp": Infinity}'), None),
    (make_jwt(raw_payload=b'{"exp": NaN}'), None),
    (make_jwt(raw_payload=b"[1, 2]"), None),  # not an object
    (make_jwt(raw_payload=b"not json"), None),
    (make_jwt(raw_payload=b"\xff\xfe"), None),  # not UTF-8
    (make_jwt(raw_payload=b"[" * 100000 + b"]" * 100000), None),  # too deep
    ("a.%%%%.c", None),
    ("a.b", None),
    ("a.b.c.d", None),
    ("", None),
    ("é.é.é", None),  # not ASCII
    ("a.abc.c", None),  # bad base64 padding
    (REFRESH, None),
    (None, None),
    (12, None),
], ids=lambda v: repr(v)[:40])
def test_jwt_expiry(token: Any, expected: float | None) -> None:
    assert jwt_expiry(token) == expected


@pytest.mark.parametrize(("claims", "expected"), [
    ({"NS": "app", "DB": "main"}, ("app", "main")),
    ({"NS": "app"}, ("app", None)),
    ({"ns": "a", "db": "b"}, ("a", "b")),
    ({"ID": "root"}, (None, None)),
    ({"NS": 1, "DB": ["x"]}, (None, None)),
], ids=repr)
def test_jwt_scope(claims: dict[str, Any], expected: tuple[str | None, str | None]) -> None:
    assert jwt_scope(make_jwt(claims)) == expected


def test_jwt_scope_of_garbage() -> None:
    assert jwt_scope("garbage") == (None, None)
    assert jwt_scope(None) == (None, None)


# --------------------------------------------------------------------------- AuthState


def test_auth_state_defaults_are_anonymous() -> None:
    state = AuthState()
    assert not state.authenticated
    assert state.tokens == Tokens()
    assert not state.token_valid(0.0, 60.0)


def test_auth_state_token_validity_uses_the_margin() -> None:
    state = AuthState(access=ACCESS, token_exp=2000.0, method=AuthMethod.SIGNIN)
    assert state.authenticated
    assert state.token_valid(1939.0, 60.0)
    assert not state.token_valid(1940.0, 60.0)
    assert not state.token_valid(2500.0, 0.0)
    assert AuthState(access=ACCESS).token_valid(1e12, 60.0)  # no exp: valid


def test_auth_state_repr_redacts_every_secret() -> None:
    creds = Credentials.from_mapping({"username": "root", "password": PASSWORD})
    state = AuthState(access=ACCESS, refresh=REFRESH, credentials=creds, provider=True,
                      method=AuthMethod.SIGNIN, token_exp=2000.0, session_exp=3000.0,
                      session_exp_known=True)
    text = repr(state)
    assert_no_secret(text, ACCESS)
    assert text == ("AuthState(method=SIGNIN, access=<redacted>, refresh=<redacted>, "
                    "credentials=Credentials(kind=ROOT, keys=['pass', 'user']), provider=True, "
                    "token_exp=2000.0, session_exp=3000.0, session_exp_known=True)")
    assert str(state) == text
    assert repr(AuthState()).startswith("AuthState(method=None, access=None, refresh=None,")
