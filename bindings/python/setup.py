"""Bundles the wxnet shared library into the package at build time.

``pip install ./bindings/python`` runs this: it copies the most recently built of
``target/release/libwxnet.so`` and ``target/debug/libwxnet.so`` (two directories up
from here) into ``wxnet/_native/``, or ``$WXNET_BUNDLE_LIBRARY`` when that is set.
Build the library first (``cargo build`` or ``cargo build --release``). When no library
is found the package installs without one and finds it at run time instead (see
``wxnet/_loader.py``); set ``WXNET_REQUIRE_BUNDLE=1`` to make that an error.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

HERE = Path(__file__).resolve().parent
WORKSPACE = HERE.parent.parent
NAME = {"darwin": "libwxnet.dylib", "win32": "wxnet.dll"}.get(sys.platform, "libwxnet.so")


def _library_to_bundle() -> Path | None:
    explicit = os.environ.get("WXNET_BUNDLE_LIBRARY")
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise SystemExit(f"$WXNET_BUNDLE_LIBRARY={explicit!r} is not a file")
        return path
    built = [p for p in (WORKSPACE / "target" / d / NAME for d in ("release", "debug")) if p.is_file()]
    return max(built, key=lambda p: p.stat().st_mtime) if built else None


class BuildPyWithLibrary(build_py):
    """``build_py`` plus a copy of the shared library into ``wxnet/_native``."""

    def run(self) -> None:
        super().run()
        lib = _library_to_bundle()
        if lib is None:
            if os.environ.get("WXNET_REQUIRE_BUNDLE") == "1":
                raise SystemExit(f"no {NAME} under {WORKSPACE / 'target'}: run `cargo build` first")
            print(f"wxnet: no {NAME} to bundle; it will be searched at run time", file=sys.stderr)
            return
        dest = Path(self.build_lib) / "wxnet" / "_native"
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy2(lib, dest / NAME)
        print(f"wxnet: bundled {lib}", file=sys.stderr)


class BinaryDistribution(Distribution):
    """The wheel holds a native library: tag it for this platform, not 'any'."""

    def has_ext_modules(self) -> bool:
        return True


setup(cmdclass={"build_py": BuildPyWithLibrary}, distclass=BinaryDistribution)
