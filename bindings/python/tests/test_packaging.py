"""The built wheel (scripts/build-python-wheel.sh), as scripts/test-python.sh installs
it: tag, contents, the stripped library, and that the installed copy is the one in
use. Skipped (saying so) when $WXNET_WHEEL does not name a wheel."""

from __future__ import annotations

import os
import re
import struct
import zipfile
from pathlib import Path

import pytest

import wxnet

WHEEL = os.environ.get("WXNET_WHEEL", "")
SOURCE = Path(__file__).resolve().parents[1] / "src" / "wxnet"

pytestmark = pytest.mark.skipif(not WHEEL, reason="SKIPPED: $WXNET_WHEEL unset (run scripts/test-python.sh)")


def _elf_section_names(data: bytes) -> set[str]:
    """Section names of a 64-bit little-endian ELF file."""
    assert data[:4] == b"\x7fELF" and data[4] == 2 and data[5] == 1, "not an ELF64 LE file"
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    def header(i: int) -> tuple[int, int]:
        base = shoff + i * shentsize
        name, = struct.unpack_from("<I", data, base)
        offset, = struct.unpack_from("<Q", data, base + 0x18)
        return name, offset
    _, strtab = header(shstrndx)
    names = set()
    for i in range(shnum):
        name, _ = header(i)
        end = data.index(b"\0", strtab + name)
        names.add(data[strtab + name:end].decode())
    return names


def test_wheel_is_py3_none_manylinux() -> None:
    name = Path(WHEEL).name
    assert re.fullmatch(r"wxnet-0\.1\.0-py3-none-manylinux_2_\d+_x86_64(\.manylinux\w+)*\.whl", name), name
    with zipfile.ZipFile(WHEEL) as whl:
        meta = whl.read("wxnet-0.1.0.dist-info/WHEEL").decode()
    assert "Root-Is-Purelib: false" in meta
    tags = re.findall(r"^Tag: (.+)$", meta, re.M)
    assert tags and all(re.fullmatch(r"py3-none-manylinux_2_\d+_x86_64", t) for t in tags), tags


def test_wheel_holds_the_sources_and_one_stripped_library() -> None:
    with zipfile.ZipFile(WHEEL) as whl:
        files = {n for n in whl.namelist() if not n.startswith("wxnet-0.1.0.dist-info/") and not n.endswith("/")}
        library = whl.read("wxnet/_native/libwxnet.so")
    expected = {f"wxnet/{p.name}" for p in SOURCE.iterdir() if p.suffix in (".py", ".typed")}
    assert files == expected | {"wxnet/_native/libwxnet.so"}
    sections = _elf_section_names(library)
    assert ".dynsym" in sections and ".text" in sections
    assert ".symtab" not in sections, "library not stripped"
    assert not any(s.startswith(".debug") for s in sections), sorted(sections)


def test_the_installed_wheel_is_what_runs() -> None:
    assert "site-packages" in Path(wxnet.__file__).parts
    assert wxnet.LIBRARY_PATH == Path(wxnet.__file__).parent / "_native" / "libwxnet.so"
    with zipfile.ZipFile(WHEEL) as whl:
        assert wxnet.LIBRARY_PATH.read_bytes() == whl.read("wxnet/_native/libwxnet.so")
