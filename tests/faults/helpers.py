"""What the fault tests of the three adapters share: definitions, bounds, and checks made on
the server directly (through :class:`~tests.rawws.RawWs`, not the client under test).

Each adapter's module (``test_sync.py``, ``test_asyncio.py``, ``test_trio.py``) runs the same
scenarios; the figures and the checks of their outcomes live here.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

from surreal_proto import OutcomeUnknownError, ReconnectPolicy, RecordID
from tests.conftest import DbInfo
from tests.faults.proxy import Proxy
from tests.rawws import RawWs, RpcError

#: Calls in flight at the cut: this many reads and as many writes.
IN_FLIGHT = 100
#: How a cut happens: reset at once, or after this many more bytes of replies (replies are
#: 40-120 bytes: the reset falls inside a frame, after some replies got through whole).
CUTS = ("now", "mid-frame")
MID_FRAME_BYTES = 4001
#: The corrupted-byte scenario: the calls' deadline, and the offset in a short reply frame
#: (2 header bytes, then the CBOR map of 2 entries and the text "id" of its first key) of a
#: byte that, flipped, makes the message undecodable (invalid UTF-8).
CORRUPT_TIMEOUT = 2.0
FIRST_KEY_OFFSET = 4
#: Seconds of steady calls in the refresh-token scenario (session 2 s: renewed twice or more).
REFRESH_SECONDS = 5.5
#: Keepalive of the black-hole scenario: ping after this much silence, then wait this long.
KEEPALIVE_INTERVAL = 0.2
KEEPALIVE_TIMEOUT = 0.5
#: The bound within which a black hole must be detected (the keepalive's own bound, plus
#: slack for a loaded 2-core machine).
DETECTION_BOUND = KEEPALIVE_INTERVAL + KEEPALIVE_TIMEOUT + 2.0
#: The slow-link scenario: each chunk held this long either way, well within the keepalive's
#: timeout (KEEPALIVE_INTERVAL, SLOW_LINK_TIMEOUT), and idle for a few keepalive periods.
SLOW_LINK_DELAY = 0.15
SLOW_LINK_TIMEOUT = 1.0
SLOW_LINK_IDLE = 0.8
#: Reconnects that give up quickly (refused-reconnect scenario).
SHORT_POLICY = ReconnectPolicy(attempts=3, initial_delay=0.2, max_delay=0.3, jitter=0.1)
#: Reconnects that keep trying while a server restarts.
PATIENT_POLICY = ReconnectPolicy(attempts=None, initial_delay=0.1, max_delay=0.5)
#: Reconnects that keep trying, quickly (the calls-wait-for-a-reconnect scenario), and that
#: scenario's call deadline.
EAGER_POLICY = ReconnectPolicy(attempts=None, initial_delay=0.05, max_delay=0.1)
WAIT_TIMEOUT = 1.5
#: How long the expiry scenarios make steady calls (token 1 s, session 2 s).
STEADY_SECONDS = 6.0
#: The pause between two steady calls.
STEADY_PAUSE = 0.1

#: A database user whose tokens last 1 s and whose sessions last 2 s.
EXPIRING_USER = "expiring"
EXPIRING_PASSWORD = "expiring-password"
EXPIRING_USER_SQL = (
    f"DEFINE USER {EXPIRING_USER} ON DATABASE PASSWORD '{EXPIRING_PASSWORD}' ROLES EDITOR "
    "DURATION FOR TOKEN 1s, FOR SESSION 2s")
#: A record access method with refresh tokens, token 1 s, session 2 s.
REFRESH_ACCESS = "account"
REFRESH_ACCESS_SQL = (
    "DEFINE TABLE person SCHEMALESS PERMISSIONS FULL; "
    f"DEFINE ACCESS {REFRESH_ACCESS} ON DATABASE TYPE RECORD "
    "SIGNUP (CREATE person SET name = $name, pass = crypto::argon2::generate($pass)) "
    "SIGNIN (SELECT * FROM person WHERE name = $name "
    "AND crypto::argon2::compare(pass, $pass)) "
    "WITH REFRESH DURATION FOR GRANT 1h, FOR TOKEN 1s, FOR SESSION 2s")
#: The user of the restart scenario.
EDITOR_USER = "editor"
EDITOR_PASSWORD = "editor-password"
EDITOR_USER_SQL = f"DEFINE USER {EDITOR_USER} ON DATABASE PASSWORD '{EDITOR_PASSWORD}' ROLES EDITOR"


def define(info: DbInfo, sql: str, server: Any = None) -> None:
    """Run definitions as root on the test's database (``server``: another server than
    ``info.server``, with ``ws_url``, ``user`` and ``password``)."""
    target = server or info.server
    with RawWs(target.ws_url) as ws:
        ws.signin_root(target.user, target.password)
        ws.use(info.namespace, info.database)
        for statement in ws.query(sql):
            assert statement["status"] == "OK", statement


def fresh_db(server: Any) -> DbInfo:
    """A namespace/database pair of its own on ``server`` (a ReferenceServer)."""
    suffix = uuid.uuid4().hex[:12]
    return DbInfo(server, namespace=f"faults_ns_{suffix}", database=f"faults_db_{suffix}")


def root_options(info: DbInfo) -> dict[str, Any]:
    """Client options: root credentials, the test's namespace/database, a 10 s deadline."""
    return {"namespace": info.namespace, "database": info.database, "timeout": 10.0,
            "auth": {"username": info.server.user, "password": info.server.password}}


def editor_credentials(info: DbInfo) -> dict[str, str]:
    """``signin`` credentials of the restart scenario's database user."""
    return {"namespace": info.namespace, "database": info.database,
            "username": EDITOR_USER, "password": EDITOR_PASSWORD}


def expiring_credentials(info: DbInfo) -> dict[str, str]:
    """``signin`` credentials of the user whose token lasts 1 s and session 2 s."""
    return {"namespace": info.namespace, "database": info.database,
            "username": EXPIRING_USER, "password": EXPIRING_PASSWORD}


def refresh_signup(info: DbInfo) -> dict[str, str]:
    """``signup`` variables for the refresh-token access method (a new person each time)."""
    return {"namespace": info.namespace, "database": info.database, "access": REFRESH_ACCESS,
            "name": f"p{uuid.uuid4().hex[:8]}", "pass": "person-password"}


def count_rows(info: DbInfo, sql: str) -> Any:
    """The result of the last statement of ``sql``, run as root on the test's database."""
    with RawWs(info.server.ws_url) as ws:
        ws.signin_root(info.server.user, info.server.password)
        ws.use(info.namespace, info.database)
        statements = ws.query(sql)
    assert statements[-1]["status"] == "OK", statements
    return statements[-1]["result"]


def write_count(info: DbInfo) -> int:
    """How many rows table ``w`` holds."""
    rows = count_rows(info, "SELECT count() AS n FROM w GROUP ALL")
    return int(rows[0]["n"]) if rows else 0


def cut_held_replies(proxy: Proxy, how: str) -> None:
    """Cut the connections whose replies the proxy holds (``proxy.delay(..., "down")``):
    ``"now"``, or ``"mid-frame"`` (the held replies go through up to MID_FRAME_BYTES bytes,
    then the reset). Then stop delaying (for the reconnect)."""
    if how == "now":
        proxy.cut()
    else:
        proxy.cut_after(MID_FRAME_BYTES, "down")
    proxy.delay(0)


@dataclass
class CutOutcome:
    """What the calls in flight at a cut ended with."""

    reads: list[Any]
    """Each read's result or exception, in order (read ``i`` selected ``r:i``)."""
    writes: list[Any]
    """Each write's result or exception, in order (write ``i`` created a row tagged ``i``)."""


def check_cut_outcome(info: DbInfo, outcome: CutOutcome, how: str) -> None:
    """Reads all completed with their own record; each write either succeeded or raised
    ``OutcomeUnknownError``; the database holds each write at most once, and exactly once
    when its call succeeded. A cut mid-frame let some writes complete first."""
    for i, read in enumerate(outcome.reads):
        assert not isinstance(read, BaseException), (i, read)
        assert read == {"id": RecordID("r", i), "n": i}, (i, read)
    unknown = [i for i, w in enumerate(outcome.writes) if isinstance(w, OutcomeUnknownError)]
    others = [(i, w) for i, w in enumerate(outcome.writes)
              if isinstance(w, BaseException) and not isinstance(w, OutcomeUnknownError)]
    assert not others, others
    tags = Counter(row["tag"] for row in count_rows(info, "SELECT tag FROM w"))
    duplicates = {tag: n for tag, n in tags.items() if n > 1}
    assert not duplicates, f"writes stored twice: {duplicates}"
    assert set(tags) <= set(range(IN_FLIGHT)), tags
    succeeded = {i for i, w in enumerate(outcome.writes) if not isinstance(w, BaseException)}
    assert succeeded <= set(tags), succeeded - set(tags)
    assert unknown, "no write was in flight at the cut"
    if how == "mid-frame":
        assert succeeded, "no write completed before the cut"


def refresh_refused(info: DbInfo, access: str, refresh: str) -> bool:
    """Whether the server refuses the refresh token ``refresh`` (single use, §7.7)."""
    with RawWs(info.server.ws_url) as ws:
        try:
            ws.ok("refresh", [{"access": access, "refresh": refresh}])
        except RpcError:
            return True
    return False


def renew_only_on_expiry_errors(client: Any) -> Any:
    """Turn off the client's renewal ahead of expiry (before it connects), so that only the
    reactive path keeps it working: re-authenticate on ``SessionExpired`` (WebSocket) or on a
    401 ``TokenExpired`` (HTTP) and retry the call once (protocol.md §7.8 items 3 and 4).
    Returns ``client``."""
    engine = client._driver.engine
    engine._learn_expiry = False  # the engine's learn_session_expiry option
    vars(engine._tracker).update(http_renewal_needed=lambda *args, **kwargs: None,
                                 renewals_due=lambda *args, **kwargs: [],
                                 next_renewal_deadline=lambda *args, **kwargs: None)
    return client


def check_refresh_pairs(info: DbInfo, pairs: list[tuple[str | None, str | None]]) -> None:
    """The client renewed at least twice, each time with a new refresh token, and the server
    refuses every refresh token it replaced (single use, protocol.md §7.7)."""
    assert len(pairs) >= 3, f"renewed {len(pairs) - 1} times, not at least twice"
    assert len({refresh for _, refresh in pairs}) == len(pairs), "a refresh token came back"
    for access, refresh in pairs[:-1]:
        assert access is not None
        assert refresh is not None
        assert refresh_refused(info, access, refresh), "a replaced refresh token still works"
