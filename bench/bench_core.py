"""Core round-trip benchmark: one small query through ``WebSocketConnection``, in memory.

Run: ``python bench/bench_core.py [--iterations N] [--repeat R] [--quick] [--profile]``.

What one iteration does, in both columns (the server side is never measured: its reply frame
is built once, before timing, with a ``wsproto`` server connection):

* **core**: ``conn.query(sql, vars, now=...)`` (params built and checked, request id, pending
  map, CBOR envelope, WebSocket frame), ``conn.data_to_send()``, ``conn.receive_data(reply,
  now)`` (unframe, CBOR decode with the SurrealDB tag hooks, match the reply to the request),
  ``conn.events()`` (one ``ResponseReceived``).
* **floor**: what any client must do at least for the same bytes: ``cbor2.dumps`` of the same
  request map, ``wsproto`` client ``send(BytesMessage)``, ``receive_data`` of the same reply
  frame, ``events()``, and ``cbor2.loads`` of the reply payload (no tag hooks).

The request id of the core is pinned to 1 (``id_factory``) so that the one pre-built reply
frame answers every request; ids are only checked against the pending map, which is empty again
after each reply. The goal (issue 4): core <= 1.5x floor.

Also reported, for context: ``send_request("query", params)`` instead of the typed helper, and
the core loop with ``next_deadline()`` after each call, as a driver re-arming its timer does.

Each measurement times ``N`` iterations with ``time.perf_counter`` and the GC paused; the
columns are interleaved over ``R`` rounds after a warm-up; the table shows the median time per
round trip with the spread (min-max) over the rounds. ``--parts`` also times the pieces both
columns share, the same way: the CBOR codec (ours with the SurrealDB hooks, and plain cbor2)
and the WebSocket framing (the core's own, and wsproto's). ``--profile`` runs the core loop
under ``cProfile`` and prints where its time goes. This is a benchmark, not a test; nothing
asserts.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import platform
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cbor2
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, BytesMessage, Request

from surreal_proto import ResponseReceived, WebSocketConnection
from surreal_proto._codec import decode, encode
from surreal_proto._ws import _binary_frame  # private: only for --parts

HOST = "localhost:8000"
SQL = "SELECT * FROM person WHERE age > $age LIMIT 1"
VARS = {"age": 30}
#: The request map the core sends for ``query(SQL, VARS)`` with id 1 (``protocol.md`` §2.4).
REQUEST = {"id": 1, "method": "query", "params": [SQL, VARS]}
#: The reply: one statement result with one record (keys in the server's order, §11).
REPLY = {
    "id": 1,
    "result": [{
        "result": [{"age": 36, "id": cbor2.CBORTag(8, ["person", "ada"]), "name": "Ada"}],
        "status": "OK",
        "time": "41.6µs",
    }],
}
NOW = 1000.0


def _handshake(client_bytes: bytes) -> tuple[WSConnection, bytes]:
    """A wsproto server that accepted the upgrade in ``client_bytes``, and its 101 answer."""
    server = WSConnection(ConnectionType.SERVER)
    server.receive_data(client_bytes)
    request = next(e for e in server.events() if isinstance(e, Request))
    return server, server.send(AcceptConnection(subprotocol=request.subprotocols[0]))


def reply_frame(server: WSConnection) -> bytes:
    """The reply as the server sends it: one unmasked binary frame."""
    return server.send(BytesMessage(data=cbor2.dumps(REPLY)))


def open_core() -> tuple[WebSocketConnection, bytes]:
    """An open core connection (ids pinned to 1, no keepalive) and the reply frame."""
    conn = WebSocketConnection(HOST, keepalive_interval=None, id_factory=lambda: 1)
    conn.connect(NOW)
    server, accept = _handshake(conn.data_to_send())
    conn.receive_data(accept, NOW)
    conn.events()
    frame = reply_frame(server)
    # Check once that the loop below does what it claims: one reply resolves one request.
    request_id = conn.query(SQL, VARS, now=NOW)
    server.receive_data(conn.data_to_send())
    sent = next(e for e in server.events() if isinstance(e, BytesMessage))
    if cbor2.loads(sent.data) != REQUEST:
        raise SystemExit(f"unexpected request map: {cbor2.loads(sent.data)!r}")
    conn.receive_data(frame, NOW)
    events = conn.events()
    if not (len(events) == 1 and isinstance(events[0], ResponseReceived)
            and events[0].request_id == request_id and events[0].result[0]["status"] == "OK"):
        raise SystemExit(f"unexpected events: {events!r}")
    return conn, frame


def open_floor() -> tuple[WSConnection, bytes]:
    """An open plain wsproto client and the same reply frame."""
    client = WSConnection(ConnectionType.CLIENT)
    upgrade = client.send(Request(host=HOST, target="/rpc", subprotocols=["cbor"]))
    server, accept = _handshake(upgrade)
    client.receive_data(accept)
    list(client.events())
    return client, reply_frame(server)


def core_loop(iterations: int) -> Callable[[], None]:
    conn, frame = open_core()
    query, data_to_send = conn.query, conn.data_to_send
    receive_data, events = conn.receive_data, conn.events

    def run() -> None:
        for _ in range(iterations):
            query(SQL, VARS, now=NOW)
            data_to_send()
            receive_data(frame, NOW)
            events()

    return run


def core_send_request_loop(iterations: int) -> Callable[[], None]:
    conn, frame = open_core()
    send_request, data_to_send = conn.send_request, conn.data_to_send
    receive_data, events = conn.receive_data, conn.events
    params = [SQL, VARS]

    def run() -> None:
        for _ in range(iterations):
            send_request("query", params, now=NOW)
            data_to_send()
            receive_data(frame, NOW)
            events()

    return run


def core_deadline_loop(iterations: int) -> Callable[[], None]:
    conn, frame = open_core()
    query, data_to_send, next_deadline = conn.query, conn.data_to_send, conn.next_deadline
    receive_data, events = conn.receive_data, conn.events

    def run() -> None:
        for _ in range(iterations):
            query(SQL, VARS, now=NOW, timeout=30.0)
            data_to_send()
            next_deadline()
            receive_data(frame, NOW)
            events()
            next_deadline()

    return run


def floor_loop(iterations: int) -> Callable[[], None]:
    client, frame = open_floor()
    dumps, loads, send = cbor2.dumps, cbor2.loads, client.send
    receive_data, events = client.receive_data, client.events

    def run() -> None:
        for _ in range(iterations):
            send(BytesMessage(data=dumps(REQUEST)))
            receive_data(frame)
            for event in events():
                loads(event.data)  # type: ignore[attr-defined]

    return run


def parts(iterations: int) -> dict[str, Callable[[], None]]:
    """The pieces of one round trip, each alone (``--parts``). The framing pieces reach into
    the core's private functions: there is no public way to frame without a request."""
    request = cbor2.dumps(REQUEST)
    client, frame = open_floor()
    conn, core_frame = open_core()

    def nowhere(data: bytes, now: float, *, request_id: object = None) -> None:
        """Read frames only: the message goes nowhere."""

    conn._rpc.receive_message = nowhere  # type: ignore[method-assign]
    reply = cbor2.dumps(REPLY)
    key = b"\x01\x02\x03\x04"
    send, receive_data, events = client.send, client.receive_data, client.events
    read_frames = conn._read_frames

    def repeat(body: Callable[[], object]) -> Callable[[], None]:
        def run() -> None:
            for _ in range(iterations):
                body()
        return run

    def wsproto_read() -> None:
        receive_data(frame)
        for _ in events():
            pass

    return {
        "encode request: cbor2.dumps": repeat(lambda: cbor2.dumps(REQUEST)),
        "encode request: core encode": repeat(lambda: encode(REQUEST)),
        "decode reply: cbor2.loads": repeat(lambda: cbor2.loads(reply)),
        "decode reply: core decode": repeat(lambda: decode(reply)),
        "frame request: wsproto": repeat(lambda: send(BytesMessage(data=request))),
        "frame request: core": repeat(lambda: _binary_frame(request, key)),
        "read reply frame: wsproto": repeat(wsproto_read),
        "read reply frame: core": repeat(lambda: read_frames(core_frame, NOW)),
    }


def interleaved(fns: dict[str, Callable[[], None]], repeat: int) -> dict[str, list[float]]:
    """Time each function ``repeat`` times, one of each per round, with the GC paused."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            gc.collect()
            gc.disable()
            try:
                start = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - start)
            finally:
                gc.enable()
    return times


def _profiled(run: Callable[[], None]) -> pstats.Stats:
    run()  # warm-up
    profiler = cProfile.Profile()
    profiler.runcall(run)
    return pstats.Stats(profiler)


def _calls(stats: pstats.Stats) -> int:
    # The stats table is untyped in typeshed: {(file, line, name): (cc, nc, tt, ct, callers)}.
    table: dict[tuple[str, int, str], tuple[int, int, float, float, object]]
    table = stats.stats  # type: ignore[attr-defined]
    return sum(row[1] for row in table.values())


def profile(iterations: int, top: int = 25) -> None:
    """Where the core's time goes: calls per round trip (a noise-free measure of the work
    done in Python, next to the floor's), then cProfile's tables for the core loop."""
    floor_stats = _profiled(floor_loop(iterations))
    stats = _profiled(core_loop(iterations))
    print(f"\nfunction calls per round trip (cProfile): floor "
          f"{_calls(floor_stats) / iterations:.0f}, core {_calls(stats) / iterations:.0f}")
    print(f"\ncProfile of the core loop ({iterations} round trips), by own time:")
    stats.sort_stats("tottime").print_stats(top)
    print("by cumulative time:")
    stats.sort_stats("cumulative").print_stats(top)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--iterations", type=int, default=20_000,
                        help="round trips per measurement (default 20000)")
    parser.add_argument("--repeat", type=int, default=15, help="rounds (default 15)")
    parser.add_argument("--quick", action="store_true",
                        help="a few thousand round trips, for a smoke test")
    parser.add_argument("--parts", action="store_true",
                        help="also time the codec and the framing alone")
    parser.add_argument("--profile", action="store_true", help="also profile the core loop")
    args = parser.parse_args(argv)
    iterations, repeat = (1_000, 3) if args.quick else (args.iterations, args.repeat)

    print(f"Python {platform.python_version()} ({platform.python_implementation()}), "
          f"cbor2 {version('cbor2')}, wsproto {version('wsproto')}, "
          f"{platform.machine()}, {os.cpu_count()} CPUs")
    print(f"{iterations} round trips per measurement, {repeat} rounds, median [min-max]\n")
    fns = {
        "floor": floor_loop(iterations),
        "core": core_loop(iterations),
        "core send_request": core_send_request_loop(iterations),
        "core + next_deadline": core_deadline_loop(iterations),
    }
    for fn in fns.values():  # warm-up
        fn()
    times = interleaved(fns, repeat)
    per_op = {name: [t / iterations * 1e6 for t in values] for name, values in times.items()}
    floor = statistics.median(per_op["floor"])
    for name, values in per_op.items():
        median = statistics.median(values)
        print(f"{name:22} {median:6.2f} µs [{min(values):6.2f}-{max(values):6.2f}]"
              f"  {median / floor:5.2f}x floor")
    ratio = statistics.median(per_op["core"]) / floor
    verdict = "met" if ratio <= 1.5 else "MISSED"
    print(f"\nratio core/floor: {ratio:.2f} (target <= 1.50: {verdict})")
    if args.parts:
        print("\nthe pieces alone, per round trip:")
        pieces = parts(iterations)
        for fn in pieces.values():
            fn()
        for name, values in interleaved(pieces, repeat).items():
            micros = [t / iterations * 1e6 for t in values]
            print(f"{name:30} {statistics.median(micros):6.2f} µs "
                  f"[{min(micros):6.2f}-{max(micros):6.2f}]")
    if args.profile:
        profile(iterations)
    return 0


if __name__ == "__main__":
    sys.exit(main())
