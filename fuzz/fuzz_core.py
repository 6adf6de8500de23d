"""A long fuzz run of the core with mutated real server bytes.

The same targets and invariants as ``tests/security/test_fuzz.py`` (the vectors and checks
of ``tests/security/replay.py``), for as long as asked, with the standard library's random
generator instead of Hypothesis (no shrinking, many more inputs per second):

* ``ws``: a :class:`WebSocketConnection` fed a mutated real session, split at random points,
  then timeouts and the peer's EOF; every request ends with exactly one outcome;
* ``http``: an :class:`HttpConnection` (h11) fed mutated real responses, then EOF;
* ``httpx``: an :class:`HttpRequestConnection` given mutated real (status, headers, body);
* ``cbor``: ``decode`` of mutated real payloads raises nothing but ``RemoteProtocolError``.

An input that makes the core raise, or breaks an invariant, is a crash: it is written to
``fuzz/crashes/`` and counted. Usage::

    .venv/bin/python -m fuzz.fuzz_core --seconds 300 [--seed N]

It prints the inputs tried per target every ``--report`` seconds and a summary at the end,
and exits 1 if there was a crash.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from surreal_proto._codec import decode
from surreal_proto._errors import RemoteProtocolError
from surreal_proto._http_context import HttpContext
from surreal_proto._http_requests import HttpRequestConnection
from surreal_proto._state import ConnectionState
from tests.security import replay

CRASHES = Path(__file__).parent / "crashes"
#: The input being tried (written out if it crashes).
_current: list[bytes] = [b""]


def mutate(rng: random.Random, data: bytes, start: int = 0) -> bytes:
    """``data`` truncated, with bytes flipped, inserted, deleted or repeated, or random."""
    mode = rng.choice(["truncate", "flip", "insert", "delete", "splice", "random", "mix"])
    if mode == "random" or len(data) <= start:
        return rng.randbytes(rng.randrange(400))
    body = bytearray(data)
    if mode == "truncate":
        return bytes(body[:rng.randint(start, len(body))])
    for _ in range(rng.randint(1, 8)):
        if len(body) <= start:
            break
        at = rng.randrange(start, len(body))
        kind = rng.choice(["flip", "insert", "delete", "splice"]) if mode == "mix" else mode
        if kind == "flip":
            body[at] ^= rng.randrange(1, 256)
        elif kind == "insert":
            body[at:at] = rng.randbytes(rng.randint(1, 8))
        elif kind == "delete":
            del body[at:at + rng.randint(1, 8)]
        else:
            other = rng.randrange(start, len(body))
            body[at:at] = body[other:other + rng.randint(1, 64)]
    return bytes(body)


def cuts(rng: random.Random) -> list[int]:
    return [rng.randrange(1 << 16) for _ in range(rng.randrange(12))]


def fuzz_ws(rng: random.Random) -> bytes:
    client, _ = replay.ws_replay(max_message_size=rng.choice([None, 256, 4096]))
    start = replay.WS_BODY_START if rng.random() < 0.8 else 0
    data = _current[0] = mutate(rng, replay.WS_BYTES, start)
    events = replay.feed(client, data, cuts(rng))
    client.handle_timeout(1000.0)
    events += client.events()
    client.receive_eof()
    events += client.events()
    replay.check_events(client, events)
    replay.one_outcome_each(events, 1 + len(replay.WS_CALLS))
    return data


def fuzz_http(rng: random.Random) -> bytes:
    client = replay.http_client(max_response_size=rng.choice([None, 256, 1 << 20]))
    client.data_to_send()
    events = client.events()
    data = _current[0] = mutate(rng, replay.HTTP_BYTES)
    events += replay.feed(client, data, cuts(rng))
    client.receive_eof()
    events += client.events()
    replay.check_events(client, events)
    assert client.state is ConnectionState.CLOSED
    replay.one_outcome_each(events, len(replay.HTTP_CALLS))
    return data


def fuzz_httpx(rng: random.Random) -> bytes:
    client = HttpRequestConnection(context=HttpContext(namespace=replay.NS))
    client.connect(0.0)
    for method, params in replay.HTTP_CALLS:
        client.send_request(method, params, now=0.0, timeout=5.0)
    handed = client.requests_to_send()
    tried = b""
    for index, (request_id, _) in enumerate(handed):
        status, headers, body = replay.HTTP_REPLIES[index]
        if rng.random() < 0.3:
            status = rng.randint(100, 599)
        if rng.random() < 0.3:
            headers = [(k, rng.choice([v, b"", b"text/plain", b"\xff\xfe"]))
                       for k, v in headers]
        body = mutate(rng, body) if body else body
        tried += body
        _current[0] = tried
        client.receive_response(request_id, status, headers, body, 1.0)
    client.handle_timeout(10.0)
    events = client.events()
    replay.check_events(client, events)
    outcomes = [e for e in events if isinstance(e, replay.OUTCOMES)]
    assert sorted(e.request_id for e in outcomes) == sorted(r for r, _ in handed)
    return tried


def fuzz_cbor(rng: random.Random) -> bytes:
    data = _current[0] = mutate(rng, rng.choice(replay.PAYLOADS))
    with contextlib.suppress(RemoteProtocolError):
        decode(data)
    return data


TARGETS: dict[str, Callable[[random.Random], bytes]] = {
    "ws": fuzz_ws, "http": fuzz_http, "httpx": fuzz_httpx, "cbor": fuzz_cbor}


def run(seconds: float, seed: int, report: float) -> tuple[dict[str, int], int]:
    rng = random.Random(seed)
    tried = dict.fromkeys(TARGETS, 0)
    crashes = 0
    started = time.monotonic()
    next_report = started + report
    while (now := time.monotonic()) - started < seconds:
        name = rng.choice(list(TARGETS))
        try:
            TARGETS[name](rng)
        except Exception:
            crashes += 1
            CRASHES.mkdir(exist_ok=True)
            data = _current[0]
            path = CRASHES / f"{name}-{seed}-{tried[name]}.txt"
            path.write_text(f"target {name}, seed {seed}, input #{tried[name]}\n"
                            f"{traceback.format_exc()}\n{data!r}\n")
            print(f"CRASH in {name}: {path}", flush=True)
        tried[name] += 1
        if now >= next_report:
            next_report = now + report
            print(f"{now - started:6.0f} s  tried {sum(tried.values()):>9,}  {tried}  "
                  f"crashes {crashes}", flush=True)
    return tried, crashes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--report", type=float, default=30.0)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 32)
    print(f"fuzzing the core for {args.seconds:g} s, seed {seed}", flush=True)
    started = time.monotonic()
    tried, crashes = run(args.seconds, seed, args.report)
    elapsed = time.monotonic() - started
    total = sum(tried.values())
    print(f"inputs tried: {total:,} in {elapsed:.0f} s ({total / elapsed:,.0f}/s): "
          + ", ".join(f"{k} {v:,}" for k, v in tried.items()))
    print(f"crashes: {crashes}")
    raise SystemExit(1 if crashes else 0)


if __name__ == "__main__":
    main()
