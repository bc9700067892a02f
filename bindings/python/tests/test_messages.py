"""The library's error texts as a person reads them, through the binding: the C
function is named once, JSON that is cut short blames no field, and no Rust type
name leaks."""

from __future__ import annotations

import pytest

import wxnet


@pytest.mark.parametrize(("config", "message"), [
    ('{"appId":"wx1","networkTimeout":{"request":5',
     "wxnet_app_new: invalid config (-3): the config is not complete JSON: it ends at line 1 column 44"),
    ('{"appId" "wx1"}',
     "wxnet_app_new: invalid config (-3): the config is not valid JSON: expected `:` at line 1 column 10"),
    ('{"appId":"wx1","networkTimeout":{"request":"5"}}',
     'wxnet_app_new: invalid config (-3): networkTimeout.request: invalid type: string "5", '
     "expected a whole number >= 0 at line 1 column 46"),
    ('{"appId":"wx1","domains":[]}',
     "wxnet_app_new: invalid config (-3): domains: must be an object, not an array"),
    ("[1]", "wxnet_app_new: invalid config (-3): the config must be a JSON object, not an array"),
])
def test_invalid_config_message_is_exact(config: str, message: str) -> None:
    with pytest.raises(wxnet.InvalidConfigError) as info:
        wxnet.App(config)
    assert str(info.value) == message
    assert info.value.detail == message.replace("invalid config (-3): ", "")  # the library's own text
    assert str(info.value).count("wxnet_app_new") == 1
