"""The two implementations of the codec (the cbor2 reference and the native fast path), and a
fixture that runs a test module against each of them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from surreal_proto import _codec

# The native module even when SURREAL_PROTO_NO_SPEEDUPS made the codec pick cbor2.
NATIVE: Any = _codec._native if _codec._native is not None else _codec._load_speedups(False)

IMPLEMENTATIONS: dict[str, tuple[Callable[..., bytes], Callable[..., Any]]] = {
    "cbor2": (_codec.cbor2_encode, _codec.cbor2_decode),
}
if NATIVE is not None:
    IMPLEMENTATIONS["native"] = (NATIVE.encode, NATIVE.decode)

PARAMS = [
    pytest.param("cbor2"),
    pytest.param("native", marks=pytest.mark.skipif(
        NATIVE is None, reason="surreal_proto._speedups is not built")),
]


def both_implementations() -> Any:
    """A module-scoped autouse fixture that sets the module's ``encode`` and ``decode`` to
    each implementation in turn (module scope, so Hypothesis tests can use it)."""

    @pytest.fixture(scope="module", autouse=True, params=PARAMS)
    def implementation(request: pytest.FixtureRequest) -> Iterator[str]:
        module = request.module
        saved = module.encode, module.decode
        module.encode, module.decode = IMPLEMENTATIONS[request.param]
        try:
            yield request.param
        finally:
            module.encode, module.decode = saved

    return implementation
