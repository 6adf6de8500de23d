"""Build step for the optional C extension ``surreal_proto._speedups``, the codec's native
fast path (the rest of the configuration is in pyproject.toml).

The extension is optional: without a C compiler or Python headers the build warns and goes on,
and ``surreal_proto._codec`` uses its cbor2 implementation instead.
"""

from __future__ import annotations

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "surreal_proto._speedups",
            sources=["surreal_proto/_speedups.c"],
            optional=True,
        ),
    ],
)
