"""Passwords, tokens, refresh tokens and bearer keys never show (API.md §7, DESIGN "secrets").

For each adapter, over WebSocket (through a proxy that cuts the connection, so the client
reconnects and authenticates again) and over HTTP, a client signs up, signs in (record user,
database user, bearer key), authenticates, refreshes, fails to sign in with a wrong password,
and presents a garbage token, while every logger records at DEBUG. Then no
secret, and no token the server returned, appears in the log output, in the ``repr``/``str``
of the client or of the returned ``Tokens``, or in any exception message.

The core's own redaction (reprs of its states, scrubbed HTTP failures) is unit-tested in
``tests/proto`` (``test_auth.py``, ``test_client_ws.py``, ``test_http_requests.py``...),
the expired-token answers included: the server accepts a token for a minute past its
expiry (JWT leeway), too long to wait for here.
"""

from __future__ import annotations

import logging
import traceback
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from surreal_proto import AuthError, ServerError, SurrealError, Tokens
from surreal_sync import Surreal
from tests.conftest import DbInfo, ServerInfo
from tests.faults.proxy import Proxy

from .adapters import Kit, run

pytestmark = pytest.mark.integration

#: Per-run secrets: distinctive, so that a match can only be a leak.
SUFFIX = uuid.uuid4().hex[:10]
RECORD_PASSWORD = f"RecordPw-{SUFFIX}"
WRONG_PASSWORD = f"WrongPw-{SUFFIX}"
USER_PASSWORD = f"UserPw-{SUFFIX}"
GARBAGE_TOKEN = f"eyJhbGciOiJIUzUxMiJ9.eyJzdWIiOiJ4In0.GarbageSig{SUFFIX}"

SCHEMA = f"""
DEFINE ACCESS account ON DATABASE TYPE RECORD
    SIGNUP (CREATE user SET email = $email, pass = crypto::argon2::generate($pass))
    SIGNIN (SELECT * FROM user WHERE email = $email AND crypto::argon2::compare(pass, $pass))
    WITH REFRESH DURATION FOR TOKEN 1h, FOR SESSION 1d;
DEFINE TABLE user SCHEMALESS PERMISSIONS FOR select WHERE id = $auth.id;
DEFINE USER owner ON DATABASE PASSWORD '{USER_PASSWORD}' ROLES OWNER;
DEFINE USER api_user ON DATABASE PASSWORD '{USER_PASSWORD}' ROLES VIEWER;
DEFINE ACCESS api ON DATABASE TYPE BEARER FOR USER DURATION FOR GRANT 1d, FOR TOKEN 1h;
"""


@pytest.fixture
def secured(surreal_db: DbInfo) -> tuple[DbInfo, str]:
    """The test's database with the access methods above, and a bearer key for api_user."""
    server = surreal_db.server
    with Surreal(server.ws_url, namespace=surreal_db.namespace, database=surreal_db.database,
                 auth={"username": server.user, "password": server.password}) as db:
        db.query(SCHEMA)
        (grant,) = db.query("ACCESS api ON DATABASE GRANT FOR USER api_user")
    key: str = grant["grant"]["key"]
    assert key.startswith("surreal-bearer-")
    return surreal_db, key


@pytest.fixture(params=["ws", "http"])
def transport(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


@pytest.fixture
def proxy(surreal_server: ServerInfo) -> Iterator[Proxy]:
    with Proxy(surreal_server.host, surreal_server.port) as made:
        yield made


def test_no_secret_in_logs_reprs_or_errors(adapter: str, transport: str,
                                           secured: tuple[DbInfo, str], proxy: Proxy,
                                           caplog: pytest.LogCaptureFixture) -> None:
    info, bearer_key = secured
    ns, db_name = info.namespace, info.database
    url = f"{transport}://127.0.0.1:{proxy.port}"
    email = f"{SUFFIX}@example.com"
    record = {"namespace": ns, "database": db_name, "access": "account",
              "variables": {"email": email, "pass": RECORD_PASSWORD}}
    secrets = [RECORD_PASSWORD, WRONG_PASSWORD, USER_PASSWORD, GARBAGE_TOKEN, bearer_key]
    shown: list[str] = []  # every repr, str and exception text the user could see
    caplog.set_level(logging.DEBUG)
    for name in ("surreal_proto", "surreal_sync", "surreal_asyncio", "surreal_trio",
                 "httpx", "httpcore"):
        caplog.set_level(logging.DEBUG, logger=name)

    def remember(tokens: Tokens) -> Tokens:
        for token in (tokens.access, tokens.refresh):
            if token:
                secrets.append(token)
        shown.extend([repr(tokens), str(tokens)])
        return tokens

    async def failing(call: Any, expected: type[SurrealError]) -> None:
        with pytest.raises(expected) as caught:
            await call
        error = caught.value
        shown.extend([str(error), repr(error), "".join(traceback.format_exception(error))])

    async def scenario(kit: Kit) -> None:
        async with kit.open(url, namespace=ns, database=db_name, timeout=10.0) as db:
            remember(await db.signup(record))
            tokens = remember(await db.signin(record))
            assert await db.query("RETURN $auth.email") == [email]
            await db.authenticate(tokens.access)
            remember(await db.refresh())
            assert await db.query("RETURN $auth.email") == [email]
            if transport == "ws":
                accepted = proxy.accepted
                proxy.cut()  # the client reconnects and authenticates again
                await kit.sleep(0.2)
                await db.ping()  # read-only: sent again after the reconnect if need be
                assert await db.query("RETURN $auth.email") == [email]
                assert proxy.accepted > accepted
            await failing(db.signin({**record, "variables": {"email": email,
                                                             "pass": WRONG_PASSWORD}}),
                          ServerError)
            await failing(db.authenticate(GARBAGE_TOKEN), AuthError)
            remember(await db.signin({"namespace": ns, "database": db_name,
                                      "username": "owner", "password": USER_PASSWORD}))
            remember(await db.signin({"namespace": ns, "database": db_name, "access": "api",
                                      "key": bearer_key}))
            if transport == "ws":
                # Over HTTP the reference engine answers 401 to the next call after a
                # bearer signin ("Parse error ... api_user"): a server matter, left out.
                assert await db.query("RETURN 1") == [1]
            shown.extend([repr(db), str(db)])

    run(adapter, scenario)
    assert len(secrets) >= 9
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert logged  # DEBUG logging was on and recorded something
    for secret in secrets:
        assert secret not in logged, f"a secret was logged: {secret[:12]}…"
        for text in shown:
            assert secret not in text, f"a secret is shown: {secret[:12]}… in {text[:80]!r}"
