"""The hand-written ctypes declarations (wxnet/_ffi.py) match include/wxnet.h: every
exported function with its return and parameter types, struct wxnet_event's fields,
and the constants (event kinds, status codes, ABI version). Skipped, saying so, when
the header is not there (the tests run outside a checkout)."""

from __future__ import annotations

import ctypes
import re
from pathlib import Path

import pytest

import wxnet
from wxnet import _ffi
from wxnet.errors import STATUS_ERRORS

HEADER = Path(__file__).resolve().parents[3] / "include" / "wxnet.h"

pytestmark = pytest.mark.skipif(not HEADER.is_file(), reason=f"SKIPPED: {HEADER} not found")

# C type -> a coarse kind that both sides can be reduced to.
# Integers are compared by signedness and width (ctypes.c_size_t IS c_uint64 on LP64).
_SIZE_T = f"u{8 * ctypes.sizeof(ctypes.c_size_t)}"
_C_KINDS = {"void": "void", "int32_t": "i32", "wxnet_status": "i32", "uint64_t": "u64",
            "wxnet_task_id": "u64", "size_t": _SIZE_T, "bool": "bool"}
_CALLBACK_TYPES = {"wxnet_event_callback", "wxnet_log_callback"}


def _c_kind(decl: str, is_return: bool = False) -> str:
    """``const char *name`` -> ``"str"`` (returns) / ``"ptr"``; ``int32_t x`` -> ``"i32"``..."""
    decl = decl.strip()
    if "(*" in decl:
        return "fn"
    words = decl.replace("*", " * ").split()
    if words and words[0] in _CALLBACK_TYPES:
        return "fn"
    if "*" in words:
        return "str" if is_return and words[:2] == ["const", "char"] else "ptr"
    base = [w for w in words if w != "const"][0]
    return _C_KINDS[base]


def _split_params(params: str) -> list[str]:
    out, depth, cur = [], 0, ""
    for ch in params:
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
            continue
        depth += ch == "("
        depth -= ch == ")"
        cur += ch
    out.append(cur)
    return [p for p in (x.strip() for x in out) if p and p != "void"]


def header_functions() -> dict[str, tuple[str, list[str]]]:
    text = re.sub(r"//[^\n]*|/\*.*?\*/", "", HEADER.read_text(), flags=re.S)
    # Android-only declarations (wxnet_android_init) are not part of a desktop binding.
    text = re.sub(r"#if defined\(__ANDROID__\).*?#endif", "", text, flags=re.S)
    funcs = {}
    for m in re.finditer(r"^([A-Za-z_][\w ]*?\**)\s*(wxnet_\w+)\(((?:[^()]|\([^()]*\))*)\);", text, re.M):
        ret, name, params = m.groups()
        funcs[name] = (_c_kind(ret, is_return=True), [_c_kind(p) for p in _split_params(params)])
    return funcs


def header_defines() -> dict[str, int]:
    return {m[1]: int(m[2]) for m in re.finditer(r"#define (WXNET_\w+) (-?\d+)", HEADER.read_text())}


def _ctypes_kind(t: object, is_return: bool = False) -> str:
    if t is None:
        return "void"
    if isinstance(t, type) and issubclass(t, ctypes._CFuncPtr):  # type: ignore[attr-defined]
        return "fn"
    if t is ctypes.c_bool:
        return "bool"
    if t is ctypes.c_void_p:
        return "ptr"
    if isinstance(t, type) and issubclass(t, ctypes._SimpleCData) and t._type_ in "bBhHiIlLqQ":  # type: ignore[attr-defined]
        signed = t(-1).value < 0
        return f"{'i' if signed else 'u'}{8 * ctypes.sizeof(t)}"
    if t is ctypes.c_char_p:
        return "str" if is_return else "ptr"
    if isinstance(t, type) and issubclass(t, ctypes._Pointer):  # type: ignore[attr-defined]
        return "ptr"
    raise AssertionError(f"unexpected ctypes type {t!r}")


def test_every_header_function_is_declared_with_its_signature() -> None:
    funcs = header_functions()
    assert len(funcs) >= 17, sorted(funcs)  # the parser found the API
    declared = {name for name in vars(_ffi.lib) if name.startswith("wxnet_")}
    assert declared == set(funcs), f"missing: {set(funcs) - declared}, unknown: {declared - set(funcs)}"
    for name, (ret, params) in funcs.items():
        fn = getattr(_ffi.lib, name)
        assert fn.argtypes is not None, f"{name}: no argtypes"
        got = (_ctypes_kind(fn.restype, is_return=True), [_ctypes_kind(a) for a in fn.argtypes])
        assert got == (ret, params), f"{name}: ctypes {got} != header {(ret, params)}"


def test_event_struct_matches_the_header() -> None:
    text = HEADER.read_text()
    body = re.search(r"typedef struct wxnet_event \{(.*?)\} wxnet_event;", text, re.S)
    assert body
    fields = [(m[3], _c_kind(f"{m[1]} {m[2]}"))
              for m in re.finditer(r"^\s*((?:const\s+)?\w+)\s*(\**)\s*(\w+);", re.sub(r"//[^\n]*", "", body[1]), re.M)]
    got = [(name, _ctypes_kind(t)) for name, t in _ffi.wxnet_event._fields_]
    assert got == fields


def test_constants_match_the_header() -> None:
    defines = header_defines()
    events = {k[len("WXNET_EVENT_"):]: v for k, v in defines.items() if k.startswith("WXNET_EVENT_")}
    assert {k.name: int(k) for k in wxnet.EventKind} == events
    statuses = {v for k, v in defines.items() if k.startswith("WXNET_E_")}
    assert set(STATUS_ERRORS) == statuses
    assert _ffi.WXNET_OK == defines["WXNET_OK"]
    assert wxnet.ABI_VERSION == defines["WXNET_ABI_VERSION"]
    assert _ffi.lib.wxnet_abi_version() == defines["WXNET_ABI_VERSION"]
    assert wxnet.version() == "{WXNET_VERSION_MAJOR}.{WXNET_VERSION_MINOR}.{WXNET_VERSION_PATCH}".format(**defines)
