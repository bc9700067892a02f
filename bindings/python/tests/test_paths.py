"""wxfile:// <-> real paths through the C ABI (wxnet_app_resolve_path /
wxnet_app_virtual_path): a downloaded file is found on disk, and a file the host put in
userDataDir gets its wxfile:// path back."""

from __future__ import annotations

from pathlib import Path

import pytest

import wxnet
from conftest import CDN, run


def test_download_result_resolves_to_the_real_file_and_back(app: wxnet.App) -> None:
    res = run(app.download_file({"url": f"{CDN}/bytes/1000"}))
    real = Path(app.resolve_path(res["tempFilePath"]))
    assert real.is_file() and real.stat().st_size == 1000
    assert app.virtual_path(real) == res["tempFilePath"]


def test_user_files_map_both_ways_and_escapes_are_refused(app: wxnet.App, tmp_path: Path) -> None:
    usr = tmp_path / "usr"
    (usr / "pics").mkdir()
    (usr / "pics" / "cat.jpg").write_bytes(b"jpg")
    assert app.virtual_path(usr / "pics" / "cat.jpg") == "wxfile://usr/pics/cat.jpg"
    assert Path(app.resolve_path("wxfile://usr/pics/cat.jpg")) == (usr / "pics" / "cat.jpg").resolve()
    with pytest.raises(wxnet.InvalidArgumentError) as info:
        app.resolve_path("wxfile://usr/../secret")
    assert str(info.value) == ("wxnet_app_resolve_path: invalid argument (-2): "
                               "invalid file path: empty, '.' or '..' segment")
    with pytest.raises(wxnet.InvalidArgumentError, match="outside the app's tempDir and userDataDir"):
        app.virtual_path(tmp_path / "elsewhere.txt")
    with pytest.raises(TypeError):
        app.resolve_path(b"wxfile://tmp_x")  # type: ignore[arg-type]
