"""Codec benchmark: encode + decode of 10,000 records of mixed SurrealDB types.

Run: ``python bench/bench_codec.py [--records N] [--repeat R] [--mix typical|dense|both]
[--mechanisms] [--wall]``. ``--mechanisms`` also times cbor2's extension points and each layer
of the codec on the typical mix (where the time goes).

For each payload mix it prints the median encode, decode and total time with the spread
(min-max) over ``R`` interleaved runs of the codec as selected at import (``native``: the C
extension ``surreal_proto._speedups``; ``cbor2`` when it is not built or
``SURREAL_PROTO_NO_SPEEDUPS=1``), of its cbor2 implementation (``cbor2_encode`` /
``cbor2_decode``, the reference), and the two ratios of issue 3:

* ``surreal_proto._codec`` against the official SDK 2.0.0's codec
  (``surrealdb.data.cbor.encode/decode``) on the same records built from the SDK's own types
  (goal: at least 10x faster);
* ``surreal_proto._codec`` against plain ``cbor2.dumps``/``loads`` with no hooks, on an
  equivalent payload where every SurrealDB value is replaced by a plain value of similar size:
  record ids as ``[table, key]``, datetimes and durations as ``[secs, nanos]``, UUIDs as 16
  bytes, decimals as text, points as ``[x, y]``, ranges as ``[lower, upper]``, sets as lists,
  NONE and NULL as null (the floor; goal: within 1.5x).

Mixes:

* ``typical``: a record as a SurrealDB table returns it: a record id, a datetime, a dozen
  plain fields (text, ints, floats, bools, an array, a nested object), and one more SurrealDB
  value that rotates through duration, UUID, decimal, point, NONE, NULL, record link, table,
  range and set;
* ``dense``: every record carries two record ids, a datetime, a duration, a UUID, a decimal,
  NONE, NULL and a point (half of its fields are tagged values): the worst case for a codec
  that must run Python code per SurrealDB value.

Timing pauses the garbage collector (as ``timeit`` does), measures the process's CPU time
(``--wall``: wall time; on a shared machine CPU time leaves out the waits for a CPU) and
interleaves the codecs so that they see the same machine load. This is a benchmark, not a
test; nothing here asserts.
"""

from __future__ import annotations

import argparse
import gc
import platform
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cbor2

from surreal_proto import (
    NULL,
    BoundExcluded,
    BoundIncluded,
    Datetime,
    Duration,
    GeometryPoint,
    Range,
    RecordID,
    SurrealSet,
    Table,
    _codec,
)

_EPOCH_2024 = 1_704_067_200
_BASE = datetime(2024, 1, 1, tzinfo=UTC)


def _instant(i: int) -> tuple[int, int]:
    return _EPOCH_2024 + i * 37, (i * 7919) % 1_000_000_000


def _uuid(i: int) -> uuid.UUID:
    return uuid.UUID(int=i * 0x9E3779B97F4A7C15 % (1 << 128))


class Kinds:
    """The value constructors of one codec (ours, plain, or the official SDK's)."""

    def __init__(self, flavour: str) -> None:
        self.flavour = flavour
        if flavour == "sdk":
            from surrealdb.data.types.duration import Duration as SdkDuration
            from surrealdb.data.types.geometry import GeometryPoint as SdkPoint
            from surrealdb.data.types.range import BoundExcluded as SdkExcluded
            from surrealdb.data.types.range import BoundIncluded as SdkIncluded
            from surrealdb.data.types.range import Range as SdkRange
            from surrealdb.data.types.record_id import RecordID as SdkRecordID
            from surrealdb.data.types.table import Table as SdkTable

            self.sdk = (SdkDuration, SdkPoint, SdkExcluded, SdkIncluded, SdkRange, SdkRecordID,
                        SdkTable)

    def record_id(self, table: str, key: int) -> Any:
        if self.flavour == "ours":
            return RecordID(table, key)
        if self.flavour == "sdk":
            return self.sdk[5](table, key)
        return [table, key]

    def datetime(self, i: int) -> Any:
        secs, nanos = _instant(i)
        if self.flavour == "ours":
            return Datetime.from_timestamp_ns(secs * 1_000_000_000 + nanos)
        if self.flavour == "sdk":  # the SDK keeps microseconds only
            return _BASE + timedelta(seconds=secs - _EPOCH_2024, microseconds=nanos // 1000)
        return [secs, nanos]

    def duration(self, ns: int) -> Any:
        if self.flavour == "ours":
            return Duration(ns)
        if self.flavour == "sdk":
            return self.sdk[0](ns)
        return [ns // 1_000_000_000, ns % 1_000_000_000]

    def uuid(self, i: int) -> Any:
        return _uuid(i).bytes if self.flavour == "plain" else _uuid(i)

    def decimal(self, text: str) -> Any:
        return text if self.flavour == "plain" else Decimal(text)

    def point(self, x: float, y: float) -> Any:
        if self.flavour == "ours":
            return GeometryPoint(x, y)
        if self.flavour == "sdk":
            return self.sdk[1](x, y)
        return [x, y]

    def none(self) -> Any:
        return None

    def null(self) -> Any:
        return NULL if self.flavour == "ours" else None  # the SDK has no NULL

    def table(self, name: str) -> Any:
        if self.flavour == "ours":
            return Table(name)
        if self.flavour == "sdk":
            return self.sdk[6](name)
        return name

    def range(self, lo: int, hi: int) -> Any:
        if self.flavour == "ours":
            return Range(BoundIncluded(lo), BoundExcluded(hi))
        if self.flavour == "sdk":
            return self.sdk[4](self.sdk[3](lo), self.sdk[2](hi))
        return [lo, hi]

    def set(self, items: list[int]) -> Any:
        if self.flavour == "ours":
            return SurrealSet(items)
        if self.flavour == "sdk":
            return set(items)  # the SDK sends CBOR tag 258 (which the server rejects)
        return items


def typical(k: Kinds, n: int) -> list[dict[str, Any]]:
    extras: list[Callable[[int], Any]] = [
        lambda i: k.duration(i * 1_000_000 + 1),
        k.uuid,
        lambda i: k.decimal(f"{i}.50"),
        lambda i: k.point(2.35 + i * 1e-6, 48.85),
        lambda i: k.none(),
        lambda i: k.null(),
        lambda i: k.record_id("company", i % 97),
        lambda i: k.table("person"),
        lambda i: k.range(i, i + 10),
        lambda i: k.set([i, i + 1, i + 2]),
    ]
    return [{
        "id": k.record_id("person", i),
        "name": f"user-{i}",
        "email": f"user{i}@example.com",
        "bio": f"Person number {i}, who likes CBOR, SurrealDB and long walks.",
        "age": 18 + i % 60,
        "visits": i * 3,
        "score": i * 0.25,
        "ratio": i / 7,
        "active": i % 2 == 0,
        "created_at": k.datetime(i),
        "tags": ["alpha", "beta", f"t{i % 7}"],
        "address": {"city": "Paris", "street": f"{i} rue de Rivoli", "zip": f"{75000 + i % 20}"},
        "extra": extras[i % len(extras)](i),
    } for i in range(n)]


def dense(k: Kinds, n: int) -> list[dict[str, Any]]:
    return [{
        "id": k.record_id("person", i),
        "name": f"user-{i}",
        "email": f"user{i}@example.com",
        "age": 18 + i % 60,
        "score": i * 0.25,
        "active": i % 2 == 0,
        "created_at": k.datetime(i),
        "ttl": k.duration(i * 1_000_000 + 1),
        "uid": k.uuid(i),
        "balance": k.decimal(f"{i}.50"),
        "tags": ["alpha", "beta", f"t{i % 7}"],
        "manager": k.record_id("person", i // 10),
        "nickname": k.none(),
        "deleted_at": k.null(),
        "address": {"city": "Paris", "zip": f"{75000 + i % 20}"},
        "location": k.point(2.35 + i * 1e-6, 48.85),
    } for i in range(n)]


# The process's CPU time, not wall time: the benchmark machine is shared, and CPU time does not
# count the time the process waits for a CPU (--wall measures wall time instead).
_clock = time.process_time


def interleaved(fns: dict[str, Callable[[], Any]], repeat: int) -> dict[str, list[float]]:
    """Time each function ``repeat`` times, one of each per round, with the GC paused."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            gc.collect()
            gc.disable()
            try:
                start = _clock()
                fn()
                times[name].append(_clock() - start)
            finally:
                gc.enable()
    return times


def row(name: str, enc: list[float], dec: list[float]) -> float:
    total = [e + d for e, d in zip(enc, dec, strict=True)]

    def fmt(values: list[float]) -> str:
        return (f"{statistics.median(values) * 1e3:7.1f} ms "
                f"[{min(values) * 1e3:6.1f}-{max(values) * 1e3:6.1f}]")

    print(f"  {name:<30} encode {fmt(enc)}  decode {fmt(dec)}  total {fmt(total)}")
    return statistics.median(total)


def run_mix(name: str, build: Callable[[Kinds, int], list[dict[str, Any]]], n: int,
            repeat: int, sdk_repeat: int) -> None:
    mine = build(Kinds("ours"), n)
    data = _codec.encode(mine)
    assert _codec.decode(data) == mine, "round trip failed"
    floor = build(Kinds("plain"), n)
    floor_data = cbor2.dumps(floor)
    print(f"\n{name} mix: {n} records, {len(data)} bytes (plain: {len(floor_data)} bytes)")

    assert _codec.cbor2_encode(mine) == data, "the implementations differ"
    timings = interleaved({
        "ours_enc": lambda: _codec.encode(mine),
        "ours_dec": lambda: _codec.decode(data),
        "ref_enc": lambda: _codec.cbor2_encode(mine),
        "ref_dec": lambda: _codec.cbor2_decode(data),
        "plain_enc": lambda: cbor2.dumps(floor),
        "plain_dec": lambda: cbor2.loads(floor_data),
    }, repeat)
    t_ours = row(f"surreal_proto ({_codec.IMPLEMENTATION})", timings["ours_enc"],
                 timings["ours_dec"])
    t_ref = row("surreal_proto (cbor2 path)", timings["ref_enc"], timings["ref_dec"])
    t_plain = row("plain cbor2, no hooks (floor)", timings["plain_enc"], timings["plain_dec"])
    print(f"  -> surreal_proto / floor: {t_ours / t_plain:.2f}x (goal <= 1.5x); "
          f"cbor2 path / floor: {t_ref / t_plain:.2f}x")

    try:
        from surrealdb.data.cbor import decode as sdk_decode
        from surrealdb.data.cbor import encode as sdk_encode

        sdk = build(Kinds("sdk"), n)
    except ImportError:
        print("  (surrealdb 2.0.0 is not installed: no SDK comparison)")
        return
    sdk_data = sdk_encode(sdk)
    sdk_timings = interleaved({
        "sdk_enc": lambda: sdk_encode(sdk),
        "sdk_dec": lambda: sdk_decode(sdk_data),
        "ours_enc": lambda: _codec.encode(mine),
        "ours_dec": lambda: _codec.decode(data),
    }, sdk_repeat)
    t_sdk = row("official SDK 2.0.0 codec", sdk_timings["sdk_enc"], sdk_timings["sdk_dec"])
    t_ours_2 = row(f"surreal_proto ({_codec.IMPLEMENTATION}, same runs)",
                   sdk_timings["ours_enc"], sdk_timings["ours_dec"])
    print(f"  -> official SDK / surreal_proto: {t_sdk / t_ours_2:.1f}x (goal >= 10x)")


def _count(value: Any, counts: dict[str, int]) -> None:
    counts["values"] += 1
    if type(value) is int:
        counts["ints"] += 1
    elif type(value) is dict:
        counts["maps"] += 1
        for item in value.values():
            counts["values"] += 1  # the key
            _count(item, counts)
    elif type(value) is list:
        for item in value:
            _count(item, counts)


def mechanisms(n: int, repeat: int) -> None:
    """Where the time goes, layer by layer, on the typical mix (the account in RESULTS.md):
    what each of cbor2 6.3's extension points costs, then what each layer of the codec adds."""
    mine = typical(Kinds("ours"), n)
    data = _codec.encode(mine)
    wrapped = b"\x82" + data + b"\xf8\xff"
    floor = typical(Kinds("plain"), n)
    floor_data = cbor2.dumps(floor)
    counts = {"values": 0, "maps": 0, "ints": 0}
    _count(floor, counts)
    values, maps = counts["values"], counts["maps"]
    tags = 0

    def count_tag(tag: Any, immutable: bool) -> Any:
        nonlocal tags
        tags += 1
        return tag

    cbor2.loads(data, tag_hook=count_tag)

    enc = cbor2.CBOREncoder
    # Every type of the floor payload mapped to cbor2's own C method: hits, no Python.
    native: dict[type, Callable[[Any, Any], Any]] = {
        str: enc.encode_string, bytes: enc.encode_bytes, bool: enc.encode_bool,
        float: enc.encode_float, list: enc.encode_array, int: enc.encode_int,
        dict: enc.encode_map, type(None): _codec._enc_null}
    int_checked = dict(native)
    int_checked[int] = _codec._ENCODERS[int]
    checked = dict(int_checked)
    checked[dict] = _codec._ENCODERS[dict]

    def ident(tag: Any, immutable: bool) -> Any:
        return tag

    def noop(obj: Any, immutable: bool) -> Any:
        return obj

    def hook(encoder: Any, value: Any) -> None:
        encoder.encode_none()

    print(f"\ncbor2 6.3 mechanisms and codec layers, typical mix ({n} records: {values} values "
          f"counting map keys, {counts['ints']} ints, {maps} maps, {tags} tags; median of "
          f"{repeat}; each line adds one thing to the line above it, except encoders={{}}):")
    steps = [
        ("encode", [
            ("cbor2.dumps, floor payload", lambda: cbor2.dumps(floor), None),
            ("+ default= hook (plain values never reach it)",
             lambda: cbor2.dumps(floor, default=hook), None),
            ("+ encoders={} instead (every value misses)",
             lambda: cbor2.dumps(floor, encoders={}), values),
            ("+ encoders: cbor2's C methods (every value hits)",
             lambda: cbor2.dumps(floor, encoders=native), values),
            ("+ int range check (a Python hook per int)",
             lambda: cbor2.dumps(floor, encoders=int_checked), counts["ints"]),
            ("+ map key check (a Python hook per map)",
             lambda: cbor2.dumps(floor, encoders=checked), maps),
            ("surreal_proto encode, SurrealDB payload", lambda: _codec.cbor2_encode(mine), tags),
        ]),
        ("decode", [
            ("cbor2.loads, floor payload", lambda: cbor2.loads(floor_data), None),
            ("cbor2.loads, SurrealDB payload, no hooks", lambda: cbor2.loads(data), tags),
            ("+ tag_hook returning the CBORTag", lambda: cbor2.loads(wrapped, tag_hook=ident),
             tags),
            ("+ building the SurrealDB values",
             lambda: cbor2.loads(wrapped, tag_hook=_codec._tag_hook), tags),
            ("+ object_hook returning the map",
             lambda: cbor2.loads(wrapped, tag_hook=_codec._tag_hook, object_hook=noop), maps),
            ("+ NULL/NONE swap = surreal_proto decode", lambda: _codec.cbor2_decode(data),
             values),
        ]),
    ]
    for direction, ladder in steps:
        timings = interleaved({name: fn for name, fn, _ in ladder}, repeat)
        previous = None
        for name, _, per in ladder:
            median = statistics.median(timings[name])
            line = f"  {direction} {name:<50} {median * 1e3:7.1f} ms"
            if previous is not None:
                delta = median - previous
                line += f"  {delta * 1e3:+6.1f}"
                if per:
                    line += f" ({delta / per * 1e9:4.0f} ns per {_UNIT[name]})"
            print(line)
            if not name.startswith("+ encoders={}"):
                previous = median

    def semantic(value: Any, immutable: bool) -> Any:
        return None

    def tag_hook(tag: Any, immutable: bool) -> Any:
        return None

    nones = cbor2.dumps([cbor2.CBORTag(6, None)] * (10 * n))
    timings = interleaved({
        "native": lambda: cbor2.loads(nones),
        "tag_hook": lambda: cbor2.loads(nones, tag_hook=tag_hook),
        "semantic": lambda: cbor2.loads(nones, semantic_decoders={6: semantic}),
        "semantic_miss": lambda: cbor2.loads(nones, tag_hook=tag_hook,
                                             semantic_decoders={999: semantic}),
    }, repeat)
    med = {name: statistics.median(values) for name, values in timings.items()}
    per_tag = 1e9 / (10 * n)
    print(f"  per tag 6(null): cbor2 alone {med['native'] * per_tag:.0f} ns, with a tag_hook "
          f"{med['tag_hook'] * per_tag:.0f} ns, with a semantic_decoders callback "
          f"{med['semantic'] * per_tag:.0f} ns, tag_hook plus a semantic_decoders miss "
          f"{med['semantic_miss'] * per_tag:.0f} ns")


_UNIT = {
    "+ encoders={} instead (every value misses)": "value",
    "+ encoders: cbor2's C methods (every value hits)": "value",
    "+ int range check (a Python hook per int)": "int",
    "+ map key check (a Python hook per map)": "map",
    "surreal_proto encode, SurrealDB payload": "tag",
    "cbor2.loads, SurrealDB payload, no hooks": "tag",
    "+ tag_hook returning the CBORTag": "tag",
    "+ building the SurrealDB values": "tag",
    "+ object_hook returning the map": "map",
    "+ NULL/NONE swap = surreal_proto decode": "value",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=11)
    parser.add_argument("--sdk-repeat", type=int, default=5)
    parser.add_argument("--mix", choices=("typical", "dense", "both"), default="both")
    parser.add_argument("--mechanisms", action="store_true",
                        help="also time cbor2's mechanisms and each layer of the codec")
    parser.add_argument("--wall", action="store_true",
                        help="measure wall time instead of the process's CPU time")
    args = parser.parse_args()
    if args.wall:
        global _clock
        _clock = time.perf_counter

    print(f"Python {platform.python_version()} ({platform.machine()}), cbor2 {_version('cbor2')}, "
          f"surrealdb {_version('surrealdb')}; median [min-max] of {args.repeat} runs "
          f"({args.sdk_repeat} with the SDK)")
    if args.mix in ("typical", "both"):
        run_mix("typical", typical, args.records, args.repeat, args.sdk_repeat)
    if args.mix in ("dense", "both"):
        run_mix("dense", dense, args.records, args.repeat, args.sdk_repeat)
    if args.mechanisms:
        mechanisms(args.records, args.repeat)


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "not installed"


if __name__ == "__main__":
    main()
