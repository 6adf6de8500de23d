"""Expiry decisions: what to do about an expired session or token (``protocol.md`` §7.5-7.8).

Two durations, independent (§7.3, §7.4):

* **WebSocket**: the *session* duration governs (§7.5). Once authenticated, an expired token
  changes nothing; when the session expires, calls fail with ``SessionExpired`` and the socket
  stays open. Renewal happens on the same socket: ``authenticate`` with a still-valid token,
  ``refresh`` (3.x, works even after the session expired, §7.7), or ``signin`` again.
* **HTTP**: every request is authenticated by its token, so the *token* duration governs
  (§7.6): an expired token gives a 401 (``TokenExpiredError``). Renewal means getting a new
  token (``refresh`` or ``signin``), ahead of ``exp`` (§7.8 item 4).

Everything here is pure and takes ``now``. The :class:`~._session.SessionTracker` methods
``on_error``, ``renewal_due``, ``http_renewal_needed`` and ``next_renewal_deadline`` use it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Final
from uuid import UUID

from ._errors import ServerError, SessionExpiredError, SurrealError, TokenExpiredError
from ._replay import PlannedCall
from ._values import NullType

__all__ = [
    "RecoveryAction",
    "RecoveryDecision",
    "give_up_error",
    "renew_at",
    "session_expiry_value",
]

# Calls that are themselves authentication: an expiry error from one of them is final (a retry
# after re-authenticating would redo or undo the very thing the caller asked for).
AUTH_METHODS: Final = frozenset({"signin", "signup", "authenticate", "refresh", "revoke",
                                 "invalidate", "reset"})


class RecoveryAction(Enum):
    """What the RPC layer does with a failed call (see :class:`RecoveryDecision`)."""

    #: Raise :attr:`RecoveryDecision.error` to the caller.
    RAISE = "raise"
    #: Execute :attr:`RecoveryDecision.reauth` (with its alternatives); when one succeeds
    #: (feed it to ``plan_succeeded``), send the original call again, once, marked retried.
    #: If all fail, raise :attr:`RecoveryDecision.error`.
    REAUTH_AND_RETRY = "reauth_and_retry"
    #: Another call's re-authentication (or a proactive renewal) of the same session is in
    #: flight: wait for it, then send the call again once (marked retried); if it fails, raise
    #: :attr:`RecoveryDecision.error`.
    WAIT_AND_RETRY = "wait_and_retry"


@dataclass(frozen=True, slots=True, kw_only=True)
class RecoveryDecision:
    """The decision for one failed call (``API.md`` §8, ``protocol.md`` §7.8)."""

    action: RecoveryAction
    """What to do."""
    error: SurrealError
    """What to raise now (``RAISE``) or when re-authentication fails. For an expiry with
    nothing to renew with, its message says which duration ran out and how to configure
    renewal; its ``__cause__`` is the server's error."""
    reauth: PlannedCall | None = None
    """For ``REAUTH_AND_RETRY``: the re-authentication to execute first."""
    session: UUID | None = None
    """The session concerned."""


def renew_at(exp: float, since: float, margin: float) -> float:
    """When to renew something that expires at ``exp``, learnt at ``since``.

    The JS SDK's rule (``protocol.md`` §7.8 item 5): renew after
    ``min(remaining, max(remaining - margin, margin))``, so a long duration is renewed
    ``margin`` seconds early, and a short one is never renewed more often than every
    ``margin`` seconds (or at expiry). An expiry already past gives ``exp`` (due now).
    """
    remaining = exp - since
    return since + min(remaining, max(remaining - margin, margin))


_HOW: Final = ("To renew automatically, keep the credentials given to signin() (the default), "
               "configure an auth= credentials provider, or sign in through an access method "
               "defined WITH REFRESH (protocol.md §7.7).")


def give_up_error(error: ServerError, *, http: bool) -> ServerError:
    """The error to raise when an expiry cannot be recovered from.

    Same class, code, kind and details as ``error`` (so ``except SessionExpiredError`` still
    works); the message adds which duration ran out and how to configure renewal; the
    original is the ``__cause__``. Other errors are returned unchanged.
    """
    if isinstance(error, SessionExpiredError):
        what = ("the SESSION duration ran out (DEFINE USER/ACCESS ... DURATION FOR SESSION; "
                "protocol.md §7.5) and there is nothing to renew it with.")
    elif isinstance(error, TokenExpiredError):
        where = "over HTTP every request is authenticated by its token" if http else \
            "the token was used after its expiry"
        what = ("the TOKEN duration ran out (DEFINE USER/ACCESS ... DURATION FOR TOKEN; "
                f"{where}, protocol.md §7.6) and there is nothing to renew it with.")
    else:
        return error
    new = type(error)(f"{error.message}: {what} {_HOW}", code=error.code, kind=error.kind,
                      details=error.details, cause=error.cause)
    new.__cause__ = error
    return new


def session_expiry_value(result: Any) -> tuple[bool, float | None]:
    """Read the reply to :data:`~._replay.SESSION_EXPIRY_SQL` (``protocol.md`` §7.8 step 2).

    Args:
        result: the raw ``query`` result: a list of statement maps (§6.5).

    Returns:
        ``(known, exp)``: ``exp`` in epoch seconds, ``None`` = the session never expires
        (NONE/NULL); ``known`` is ``False`` when the reply says nothing usable (a failed
        statement, an unexpected value).
    """
    if not isinstance(result, Sequence) or isinstance(result, str) or not result:
        return False, None
    statement = result[0]
    if not isinstance(statement, Mapping) or statement.get("status") != "OK":
        return False, None
    value = statement.get("result")
    if value is None or isinstance(value, NullType):
        return True, None
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return True, aware.timestamp()
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            exp = float(value)
        except OverflowError:
            return False, None
        return (True, exp) if math.isfinite(exp) else (False, None)
    return False, None
