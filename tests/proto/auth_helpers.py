"""Helpers for the auth, session and expiry tests: JWTs built in the test, secrets to hunt for."""

from __future__ import annotations

import base64
import json
from typing import Any

#: Secrets that must never show up in a repr, a str or an error message.
PASSWORD = "pw-SECRET-hunter2"
REFRESH = "surreal-refresh-SECRET-r1"
REFRESH2 = "surreal-refresh-SECRET-r2"
BEARER = "surreal-bearer-SECRET-key"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def make_jwt(claims: dict[str, Any] | None = None, *, raw_payload: bytes | None = None) -> str:
    """A JWT with the given claims and a fake signature (nobody checks it client-side)."""
    header = _b64(json.dumps({"alg": "HS512", "typ": "JWT"}).encode())
    payload = raw_payload if raw_payload is not None else json.dumps(claims or {}).encode()
    return f"{header}.{_b64(payload)}.{_b64(b'fake-signature-SECRET')}"


def assert_no_secret(text: str, *secrets: str) -> None:
    """Fail if any secret (or the distinctive signature of a test JWT) appears in ``text``."""
    for secret in (*secrets, PASSWORD, REFRESH, REFRESH2, BEARER, _b64(b"fake-signature-SECRET")):
        assert secret not in text, f"a secret leaked into: {text}"
    assert "SECRET" not in text, f"a secret leaked into: {text}"
