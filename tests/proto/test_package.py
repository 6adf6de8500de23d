"""The package's names: each in ``__all__`` resolves, the lazily imported ones (PEP 562) to
their module's own object, kept after the first access; ``tests/test_import_cost.py`` checks
what a fresh ``import surreal_proto`` loads."""

from __future__ import annotations

import sys

import pytest

import surreal_proto


@pytest.mark.parametrize("name", surreal_proto.__all__)
def test_every_public_name_resolves(name: str) -> None:
    value = getattr(surreal_proto, name)
    assert name in dir(surreal_proto)
    module = getattr(value, "__module__", None)
    if isinstance(value, type) and module is not None and module.startswith("surreal_proto."):
        assert getattr(sys.modules[module], name) is value


def test_lazy_names_are_the_modules_own_objects() -> None:
    from surreal_proto import _calls, _client, _client_events, calls

    assert calls is _calls
    assert surreal_proto.ClientEngine is _client.ClientEngine
    assert surreal_proto.ReconnectPolicy is _client_events.ReconnectPolicy
    assert "ClientEngine" in vars(surreal_proto)  # kept after the first access


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'NoSuchName'"):
        _ = surreal_proto.NoSuchName
    with pytest.raises(ImportError):
        from surreal_proto import NoSuchName  # noqa: F401


def test_star_import_gives_every_name() -> None:
    namespace: dict[str, object] = {}
    exec("from surreal_proto import *", namespace)
    assert set(surreal_proto.__all__) <= set(namespace)
