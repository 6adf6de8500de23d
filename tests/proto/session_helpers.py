"""Shared fixtures of the session-tracker tests (test_session.py, test_replay.py)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from surreal_proto._session import SessionTracker
from tests.proto.auth_helpers import PASSWORD, make_jwt

NOW = 1_000_000.0
S1 = UUID("11111111-1111-4111-8111-111111111111")
S2 = UUID("22222222-2222-4222-8222-222222222222")
L1 = UUID("aaaaaaaa-0000-4000-8000-000000000001")
L2 = UUID("aaaaaaaa-0000-4000-8000-000000000002")
L3 = UUID("aaaaaaaa-0000-4000-8000-000000000003")
L9 = UUID("aaaaaaaa-0000-4000-8000-000000000009")
T1 = UUID("bbbbbbbb-0000-7000-8000-000000000001")
T2 = UUID("bbbbbbbb-0000-7000-8000-000000000002")
ROOT = {"user": "root", "pass": PASSWORD}
DB_USER = {"NS": "app", "DB": "main", "user": "u", "pass": PASSWORD}


def tok(exp: float | None = NOW + 3600, **claims: Any) -> str:
    return make_jwt({**({} if exp is None else {"exp": exp}), **claims})


def signed_in(tracker: SessionTracker | None = None, session: UUID | None = None,
              creds: dict[str, Any] | None = None, result: Any = None) -> SessionTracker:
    tracker = tracker or SessionTracker()
    tracker.on_success("signin", [creds or ROOT], session,
                       tok() if result is None else result, NOW)
    return tracker


def ok(value: Any, type_: str | None = None) -> dict[str, Any]:
    return {"status": "OK", "time": "1µs", "result": value, "type": type_}
