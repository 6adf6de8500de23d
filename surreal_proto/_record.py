"""The base of the core's event classes: frozen, slotted, keyword-only records.

They behave as ``@dataclass(frozen=True, slots=True, kw_only=True)`` classes do: keyword
construction, ``repr`` and ``==`` over their fields (some kept out of one or both), a hash
from the compared fields, no assignment (``dataclasses.FrozenInstanceError``), pickling and
copying. :func:`dataclasses.is_dataclass`, :func:`~dataclasses.fields`,
:func:`~dataclasses.replace` and :func:`~dataclasses.asdict` work on them too.

Why not ``@dataclass``: it compiles each class's methods from generated source when the module
is imported, about a millisecond a class, and the core has a few dozen event classes. Here
each class writes its own ``__init__`` (the fast path: events are made on every call), lists
its fields in ``__slots__``, and the shared methods below do the rest; the dataclass field
table is built the first time something asks for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, dataclass_transform

if TYPE_CHECKING:
    from dataclasses import Field

__all__ = ["Record"]


class _DataclassTable:
    """``__dataclass_fields__`` and ``__dataclass_params__`` of a record class, built on first
    access by applying :func:`dataclasses.make_dataclass` to its field list, then stored on
    the class."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, instance: object, owner: type[Record]) -> Any:
        import dataclasses
        import inspect

        kwdefaults = getattr(owner.__init__, "__kwdefaults__", None) or {}
        annotations: dict[str, Any] = {}
        for klass in reversed(owner.__mro__):
            annotations.update(inspect.get_annotations(klass))
        spec = [(name, annotations[name],
                 dataclasses.field(default=kwdefaults.get(name, dataclasses.MISSING),
                                   repr=name in owner._repr_fields,
                                   compare=name in owner._compare_fields))
                for name in owner._fields]
        model = dataclasses.make_dataclass(owner.__name__, spec, frozen=True, kw_only=True)
        for attr in ("__dataclass_fields__", "__dataclass_params__"):
            setattr(owner, attr, model.__dict__[attr])  # the table, no longer this descriptor
        return owner.__dict__[self.name]


@dataclass_transform(kw_only_default=True, frozen_default=True)  # frozen for type checkers
class Record:
    """A frozen, slotted, keyword-only record (see the module docstring).

    A subclass names its own fields in ``__slots__`` and takes all its fields, in order, as
    the keyword-only parameters of its ``__init__``, which sets each with ``_set(self, name,
    value)``. It may name fields to keep out of ``repr`` (``_hidden``) and out of ``==`` and
    ``hash`` (``_uncompared``).
    """

    __slots__ = ()
    __match_args__: ClassVar[tuple[str, ...]] = ()

    #: Every field, in order: the keyword-only parameters of ``__init__``.
    _fields: ClassVar[tuple[str, ...]] = ()
    #: The fields ``repr`` shows and ``==`` compares (``hash`` hashes those).
    _repr_fields: ClassVar[tuple[str, ...]] = ()
    _compare_fields: ClassVar[tuple[str, ...]] = ()
    #: Set by a subclass: its fields left out of ``repr``, and out of ``==``.
    _hidden: ClassVar[frozenset[str]] = frozenset()
    _uncompared: ClassVar[frozenset[str]] = frozenset()

    if TYPE_CHECKING:
        __dataclass_fields__: ClassVar[dict[str, Field[Any]]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for attr in _TABLES:  # each class its own: a base's table would shadow it
            setattr(cls, attr, _DataclassTable(attr))
        code = getattr(cls.__init__, "__code__", None)
        if code is not None:
            cls._fields = code.co_varnames[1:1 + code.co_kwonlyargcount]
        cls._repr_fields = tuple(f for f in cls._fields if f not in cls._hidden)
        cls._compare_fields = tuple(f for f in cls._fields if f not in cls._uncompared)

    def _key(self) -> tuple[Any, ...]:
        return tuple([getattr(self, name) for name in self._compare_fields])

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._repr_fields)
        return f"{type(self).__qualname__}({shown})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return self._key() == other._key()
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._key())

    def __setattr__(self, name: str, value: Any) -> None:
        from dataclasses import FrozenInstanceError

        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        from dataclasses import FrozenInstanceError

        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __getstate__(self) -> list[Any]:
        return [getattr(self, name) for name in self._fields]

    def __setstate__(self, state: list[Any]) -> None:
        for name, value in zip(self._fields, state, strict=True):
            _set(self, name, value)


#: The two attributes :mod:`dataclasses` looks for.
_TABLES = ("__dataclass_fields__", "__dataclass_params__")
for _attr in _TABLES:
    setattr(Record, _attr, _DataclassTable(_attr))

#: Sets a field of a record under construction (records refuse ``setattr``).
_set = object.__setattr__
