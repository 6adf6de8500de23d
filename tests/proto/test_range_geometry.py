"""Ranges and bounds (tags 49-51) and the geometry types (tags 88-94)."""

from __future__ import annotations

import copy
import pickle
from typing import Any

import pytest

from surreal_proto import (
    BoundExcluded,
    BoundIncluded,
    Geometry,
    GeometryCollection,
    GeometryLine,
    GeometryMultiLine,
    GeometryMultiPoint,
    GeometryMultiPolygon,
    GeometryPoint,
    GeometryPolygon,
    Range,
)

# --------------------------------------------------------------------------- ranges


def test_bounds() -> None:
    inc, exc = BoundIncluded(1), BoundExcluded(1)
    assert inc.value == exc.value == 1
    assert inc == BoundIncluded(1)
    assert inc != exc
    assert inc != 1
    assert hash(inc) == hash(BoundIncluded(1))
    assert hash(BoundIncluded([1, {"a": 2}])) == hash(BoundIncluded([1, {"a": 2}]))
    assert repr(inc) == "BoundIncluded(1)"
    assert repr(exc) == "BoundExcluded(1)"
    assert pickle.loads(pickle.dumps(exc)) == exc
    with pytest.raises(AttributeError):
        inc.value = 2
    with pytest.raises(AttributeError):
        del inc.value
    match inc:
        case BoundIncluded(value):
            assert value == 1


@pytest.mark.parametrize(("rng", "text"), [
    (Range(BoundIncluded(1), BoundExcluded(5)), "1..5"),
    (Range(BoundIncluded(1), BoundIncluded(5)), "1..=5"),
    (Range(BoundExcluded(1), BoundExcluded(5)), "1>..5"),
    (Range(BoundExcluded("a"), BoundIncluded("b")), "'a'>..='b'"),
    (Range(None, BoundExcluded(5)), "..5"),
    (Range(BoundIncluded(1), None), "1.."),
    (Range(None, None), ".."),
    (Range(), ".."),
])
def test_range(rng: Range, text: str) -> None:
    assert str(rng) == text
    assert rng == Range(rng.begin, rng.end)
    assert hash(rng) == hash(Range(rng.begin, rng.end))
    assert pickle.loads(pickle.dumps(rng)) == rng
    assert copy.deepcopy(rng) == rng
    assert repr(rng) == f"Range({rng.begin!r}, {rng.end!r})"


def test_range_rejects_and_compares() -> None:
    with pytest.raises(TypeError, match="begin must be"):
        Range(1, None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="end must be"):
        Range(None, 5)  # type: ignore[arg-type]
    r = Range(BoundIncluded(1), None)
    assert r != Range(BoundIncluded(2), None)
    assert r != Range(BoundIncluded(1), BoundExcluded(2))
    assert r != "1.."
    with pytest.raises(AttributeError):
        r.begin = None
    with pytest.raises(AttributeError):
        del r.end
    match r:
        case Range(begin, end):
            assert (begin, end) == (BoundIncluded(1), None)


# --------------------------------------------------------------------------- geometry

P1, P2, P3 = GeometryPoint(1, 2), GeometryPoint(3, 4), GeometryPoint(5, 6)
LINE = GeometryLine(P1, P2, P3)
RING = GeometryLine(P1, P2, P3, P1)
POLY = GeometryPolygon(RING, RING)


def test_point() -> None:
    p = GeometryPoint(1, 2.5)
    assert (p.longitude, p.latitude) == (1.0, 2.5)
    assert (p.x, p.y) == (1.0, 2.5)
    assert type(p.longitude) is float
    assert p.get_coordinates() == (1.0, 2.5)
    assert p == GeometryPoint(1.0, 2.5)
    assert p != GeometryPoint(2.5, 1)
    assert p != GeometryPoint(1, 3)
    assert p != (1.0, 2.5)
    assert hash(p) == hash(GeometryPoint(1.0, 2.5))
    assert repr(p) == "GeometryPoint(1.0, 2.5)"
    assert pickle.loads(pickle.dumps(p)) == p
    assert isinstance(p, Geometry)
    with pytest.raises(TypeError, match="longitude must be a number"):
        GeometryPoint("1", 2)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="latitude must be a number"):
        GeometryPoint(1, True)
    with pytest.raises(AttributeError):
        p.x = 5  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del p.longitude
    match p:
        case GeometryPoint(x, y):
            assert (x, y) == (1.0, 2.5)


@pytest.mark.parametrize(("geometry", "parts", "coordinates"), [
    (LINE, (P1, P2, P3), ((1.0, 2.0), (3.0, 4.0), (5.0, 6.0))),
    (POLY, (RING, RING), (RING.get_coordinates(), RING.get_coordinates())),
    (GeometryMultiPoint(P1, P2), (P1, P2), ((1.0, 2.0), (3.0, 4.0))),
    (GeometryMultiPoint(), (), ()),
    (GeometryMultiLine(LINE), (LINE,), (LINE.get_coordinates(),)),
    (GeometryMultiPolygon(POLY), (POLY,), (POLY.get_coordinates(),)),
    (GeometryCollection(P1, LINE, POLY), (P1, LINE, POLY),
     (P1.get_coordinates(), LINE.get_coordinates(), POLY.get_coordinates())),
])
def test_composites(geometry: Any, parts: tuple[Any, ...], coordinates: Any) -> None:
    assert geometry.get_coordinates() == coordinates
    for attribute in ("geometry_points", "geometry_lines", "geometry_polygons", "geometries"):
        if hasattr(geometry, attribute):
            assert getattr(geometry, attribute) == parts
    clone = pickle.loads(pickle.dumps(geometry))
    assert clone == geometry
    assert hash(clone) == hash(geometry)
    assert repr(geometry) == f"{type(geometry).__name__}({', '.join(map(repr, parts))})"
    with pytest.raises(AttributeError):
        geometry._parts = ()
    assert geometry != GeometryCollection()


def test_composites_compare_by_type() -> None:
    assert GeometryMultiPoint(P1, P2) != GeometryLine(P1, P2)
    assert GeometryLine(P1, P2) == GeometryLine(P1, P2)
    assert GeometryLine(P1, P2) != GeometryLine(P2, P1)


def test_composites_check_their_parts() -> None:
    with pytest.raises(TypeError, match="GeometryLine takes GeometryPoint"):
        GeometryLine(P1, (3, 4))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="GeometryPolygon takes GeometryLine"):
        GeometryPolygon(P1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="GeometryCollection takes Geometry"):
        GeometryCollection(1)  # type: ignore[arg-type]



def test_geometry_spelling() -> None:
    from surreal_proto._recordid import to_surrealql

    assert to_surrealql(GeometryCollection(P1, GeometryMultiPoint(P1))) == (
        "{ type: 'GeometryCollection', geometries: [{ type: 'Point', coordinates: "
        "[1.0f, 2.0f] }, { type: 'MultiPoint', coordinates: [[1.0f, 2.0f]] }] }")
