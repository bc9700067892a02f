"""Bundles the wxnet shared library into the package at build time.

The published wheel is built by ``scripts/build-python-wheel.sh`` (a fresh build
directory, then ``auditwheel repair --strip``: the manylinux tag and the stripped
library). Building here directly (``pip install ./bindings/python``) copies
``$WXNET_BUNDLE_LIBRARY`` or else the most recently built of
``target/release/libwxnet.so`` and ``target/debug/libwxnet.so`` (two directories up)
into ``wxnet/_native/``. With no library the build FAILS: a package without its
library would only fail later, at ``import wxnet``.

The wheel is tagged ``py3-none-<platform>``: the package loads the library with
ctypes, so it needs no CPython ABI, only the platform's.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.bdist_wheel import bdist_wheel
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

HERE = Path(__file__).resolve().parent
WORKSPACE = HERE.parent.parent
NAME = {"darwin": "libwxnet.dylib", "win32": "wxnet.dll"}.get(sys.platform, "libwxnet.so")


def _library_to_bundle() -> Path:
    explicit = os.environ.get("WXNET_BUNDLE_LIBRARY")
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise SystemExit(f"wxnet: $WXNET_BUNDLE_LIBRARY={explicit!r} is not a file")
        return path
    built = [p for p in (WORKSPACE / "target" / d / NAME for d in ("release", "debug")) if p.is_file()]
    if not built:
        raise SystemExit(
            f"wxnet: no {NAME} to bundle: build it first (`cargo build --release` in the wxnet "
            f"workspace) or set $WXNET_BUNDLE_LIBRARY to its path. Looked in "
            f"{WORKSPACE / 'target' / 'release'} and {WORKSPACE / 'target' / 'debug'}."
        )
    return max(built, key=lambda p: p.stat().st_mtime)


class BuildPyWithLibrary(build_py):
    """``build_py`` plus a copy of the shared library into ``wxnet/_native``. The
    ``_native`` directory is emptied first, so a library left in a stale build
    directory is never shipped."""

    def run(self) -> None:
        lib = _library_to_bundle()  # fail before doing anything else
        super().run()
        dest = Path(self.build_lib) / "wxnet" / "_native"
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        shutil.copy2(lib, dest / NAME)
        print(f"wxnet: bundled {lib}", file=sys.stderr)


class BinaryDistribution(Distribution):
    """Holds a native library: the wheel is a platform (platlib) wheel, not 'any'."""

    def has_ext_modules(self) -> bool:
        return True


class PlatformWheel(bdist_wheel):
    """Tags the wheel ``py3-none-<platform>``: one native library for the platform,
    no Python extension module, so any CPython 3 (or PyPy) can load it."""

    def get_tag(self) -> tuple[str, str, str]:
        _python, _abi, plat = super().get_tag()
        return "py3", "none", plat


setup(cmdclass={"build_py": BuildPyWithLibrary, "bdist_wheel": PlatformWheel}, distclass=BinaryDistribution)
