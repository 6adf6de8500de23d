"""The seven SurrealDB geometry types (CBOR tags 88-94, ``protocol.md`` §5.1).

Constructors follow the official SDK: ``GeometryPoint(longitude, latitude)``,
``GeometryLine(p1, p2, *more)``, ``GeometryPolygon(exterior, *interiors)``,
``GeometryMultiPoint(*points)``, ``GeometryMultiLine(*lines)``,
``GeometryMultiPolygon(*polygons)`` and ``GeometryCollection(*geometries)``. All are
immutable and hashable; their parts are kept as tuples. Coordinates are floats (the server
accepts ints and sends floats; ``protocol.md`` §5.1 row 88).

The server closes polygon rings that are not closed; this client sends what it is given.
"""

from __future__ import annotations

from typing import Any, ClassVar, Final

__all__ = [
    "Geometry",
    "GeometryCollection",
    "GeometryLine",
    "GeometryMultiLine",
    "GeometryMultiPoint",
    "GeometryMultiPolygon",
    "GeometryPoint",
    "GeometryPolygon",
]

_object_new: Final = object.__new__


class Geometry:
    """Base class of the geometry types (for ``isinstance`` checks)."""

    __slots__ = ()

    #: The CBOR tag of this geometry type.
    TAG: ClassVar[int] = 0

    def get_coordinates(self) -> Any:
        """The GeoJSON-style coordinates (nested tuples of floats)."""
        raise NotImplementedError  # pragma: no cover - every subclass overrides it

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")


def _to_float(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{what} must be a number, not {type(value).__name__}")
    return float(value)


class GeometryPoint(Geometry):
    """A point (tag 88 with ``[longitude, latitude]``).

    Args:
        longitude: x, in degrees.
        latitude: y, in degrees.
    """

    __slots__ = ("latitude", "longitude")
    __match_args__ = ("longitude", "latitude")
    TAG = 88

    longitude: float
    latitude: float

    def __init__(self, longitude: float, latitude: float) -> None:
        _set_lon(self, _to_float(longitude, "longitude"))
        _set_lat(self, _to_float(latitude, "latitude"))

    @property
    def x(self) -> float:
        """The longitude."""
        return self.longitude

    @property
    def y(self) -> float:
        """The latitude."""
        return self.latitude

    def get_coordinates(self) -> tuple[float, float]:
        """``(longitude, latitude)``."""
        return (self.longitude, self.latitude)

    def __eq__(self, other: object) -> bool:
        if type(other) is GeometryPoint:
            return self.longitude == other.longitude and self.latitude == other.latitude
        return NotImplemented

    def __hash__(self) -> int:
        return hash((GeometryPoint, self.longitude, self.latitude))

    def __repr__(self) -> str:
        return f"GeometryPoint({self.longitude!r}, {self.latitude!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (GeometryPoint, (self.longitude, self.latitude))

    def _surql(self) -> str:
        from ._recordid import to_surrealql

        return f"({to_surrealql(self.longitude)}, {to_surrealql(self.latitude)})"


_set_lon: Final = GeometryPoint.__dict__["longitude"].__set__
_set_lat: Final = GeometryPoint.__dict__["latitude"].__set__


def _new_point(longitude: float, latitude: float) -> GeometryPoint:
    p = _object_new(GeometryPoint)
    _set_lon(p, longitude)
    _set_lat(p, latitude)
    return p


class _Composite(Geometry):
    """A geometry made of other geometries, kept in the tuple ``_parts``."""

    __slots__ = ("_parts",)

    _parts: tuple[Any, ...]
    #: The part type (``None`` for any geometry), for validation.
    _PART: ClassVar[Any] = None
    _GEOJSON: ClassVar[str] = ""

    def _init(self, parts: tuple[Any, ...]) -> None:
        part_type = self._PART or Geometry
        for part in parts:
            if not isinstance(part, part_type):
                raise TypeError(f"{type(self).__name__} takes {part_type.__name__} values, "
                                f"not {type(part).__name__}")
        _set_parts(self, parts)

    def get_coordinates(self) -> Any:
        return tuple(p.get_coordinates() for p in self._parts)

    def __eq__(self, other: object) -> bool:
        if type(other) is type(self):
            return self._parts == other._parts
        return NotImplemented

    def __hash__(self) -> int:
        return hash((type(self), self._parts))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(repr(p) for p in self._parts)})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), self._parts)

    def _surql(self) -> str:
        from ._recordid import to_surrealql

        return to_surrealql(_geojson(self))


def _lists(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_lists(v) for v in value]
    return value


def _geojson(geometry: Geometry) -> dict[str, Any]:
    if isinstance(geometry, GeometryPoint):
        return {"type": "Point", "coordinates": list(geometry.get_coordinates())}
    if isinstance(geometry, GeometryCollection):
        return {"type": "GeometryCollection",
                "geometries": [_geojson(p) for p in geometry.geometries]}
    assert isinstance(geometry, _Composite)
    return {"type": geometry._GEOJSON, "coordinates": _lists(geometry.get_coordinates())}


_set_parts: Final = _Composite.__dict__["_parts"].__set__


class GeometryLine(_Composite):
    """A line (tag 89 with an array of points).

    Args:
        point1, point2, *other_points: the points, at least two.
    """

    __slots__ = ()
    TAG = 89
    _PART = GeometryPoint
    _GEOJSON = "LineString"

    def __init__(self, point1: GeometryPoint, point2: GeometryPoint,
                 *other_points: GeometryPoint) -> None:
        self._init((point1, point2, *other_points))

    @property
    def geometry_points(self) -> tuple[GeometryPoint, ...]:
        """The points."""
        return self._parts


class GeometryPolygon(_Composite):
    """A polygon (tag 90 with an array of lines: the exterior ring, then any holes).

    Args:
        exterior_ring: the outer boundary.
        *interior_rings: holes.
    """

    __slots__ = ()
    TAG = 90
    _PART = GeometryLine
    _GEOJSON = "Polygon"

    def __init__(self, exterior_ring: GeometryLine, *interior_rings: GeometryLine) -> None:
        self._init((exterior_ring, *interior_rings))

    @property
    def geometry_lines(self) -> tuple[GeometryLine, ...]:
        """The rings, exterior first."""
        return self._parts


class GeometryMultiPoint(_Composite):
    """Several points (tag 91)."""

    __slots__ = ()
    TAG = 91
    _PART = GeometryPoint
    _GEOJSON = "MultiPoint"

    def __init__(self, *geometry_points: GeometryPoint) -> None:
        self._init(geometry_points)

    @property
    def geometry_points(self) -> tuple[GeometryPoint, ...]:
        """The points."""
        return self._parts


class GeometryMultiLine(_Composite):
    """Several lines (tag 92)."""

    __slots__ = ()
    TAG = 92
    _PART = GeometryLine
    _GEOJSON = "MultiLineString"

    def __init__(self, *geometry_lines: GeometryLine) -> None:
        self._init(geometry_lines)

    @property
    def geometry_lines(self) -> tuple[GeometryLine, ...]:
        """The lines."""
        return self._parts


class GeometryMultiPolygon(_Composite):
    """Several polygons (tag 93)."""

    __slots__ = ()
    TAG = 93
    _PART = GeometryPolygon
    _GEOJSON = "MultiPolygon"

    def __init__(self, *geometry_polygons: GeometryPolygon) -> None:
        self._init(geometry_polygons)

    @property
    def geometry_polygons(self) -> tuple[GeometryPolygon, ...]:
        """The polygons."""
        return self._parts


class GeometryCollection(_Composite):
    """Any geometries together (tag 94)."""

    __slots__ = ()
    TAG = 94
    _GEOJSON = "GeometryCollection"

    def __init__(self, *geometries: Geometry) -> None:
        self._init(geometries)

    @property
    def geometries(self) -> tuple[Geometry, ...]:
        """The geometries."""
        return self._parts


def _new_composite(cls: type[_Composite], parts: tuple[Any, ...]) -> Any:
    """Build a composite geometry without validation (decoder fast path)."""
    g = _object_new(cls)
    _set_parts(g, parts)
    return g
