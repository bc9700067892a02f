"""Finding and loading the wxnet shared library.

Search order (the first that exists wins):

1. ``$WXNET_LIBRARY``: an explicit path. If it is set but does not exist, loading
   fails instead of falling back, so a typo is never hidden.
2. The copy bundled inside this package (``wxnet/_native/libwxnet.so``), put there by
   ``pip install ./bindings/python`` (see ``setup.py``: it copies the most recently
   built of ``target/release`` and ``target/debug``).
3. Development paths: ``target/debug`` then ``target/release`` of the first parent
   directory of this file, or of the current directory, that holds the wxnet
   ``Cargo.toml`` (covers editable installs and a venv under ``target/``).
"""

from __future__ import annotations

import ctypes
import os
import sys
from pathlib import Path

_ENV_VAR = "WXNET_LIBRARY"


def library_file_name() -> str:
    """The platform's file name of the shared library."""
    if sys.platform == "darwin":
        return "libwxnet.dylib"
    if sys.platform == "win32":
        return "wxnet.dll"
    return "libwxnet.so"


def _workspace_roots() -> list[Path]:
    roots: list[Path] = []
    for start in (Path(__file__).resolve().parent, Path.cwd().resolve()):
        for parent in (start, *start.parents):
            manifest = parent / "Cargo.toml"
            if manifest.is_file() and 'name = "wxnet"' in manifest.read_text(errors="replace"):
                if parent not in roots:
                    roots.append(parent)
                break
    return roots


def candidate_paths() -> list[Path]:
    """Every path tried, in order (for error messages and diagnostics)."""
    name = library_file_name()
    paths = [Path(__file__).resolve().parent / "_native" / name]
    for root in _workspace_roots():
        paths += [root / "target" / "debug" / name, root / "target" / "release" / name]
    return paths


def find_library() -> Path:
    """Returns the path of the library to load; raises ``OSError`` when none is found."""
    explicit = os.environ.get(_ENV_VAR)
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise OSError(f"${_ENV_VAR} is set to {explicit!r}, which is not a file")
        return path.resolve()
    tried = candidate_paths()
    for path in tried:
        if path.is_file():
            return path
    listing = "\n  ".join(str(p) for p in tried)
    raise OSError(
        f"cannot find the wxnet shared library; set ${_ENV_VAR} or build it with "
        f"`cargo build`. Tried:\n  {listing}"
    )


def load_library() -> tuple[ctypes.CDLL, Path]:
    """Loads the library with ``ctypes.CDLL`` (which releases the GIL during calls:
    the library's dispatcher threads need it to run Python callbacks)."""
    path = find_library()
    return ctypes.CDLL(str(path)), path
