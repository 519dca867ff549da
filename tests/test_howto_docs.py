"""The how-to pages on presets and custom modules run as written."""

import re
from pathlib import Path

import pytest

HOWTO = Path(__file__).parent.parent / "docs" / "howto"


@pytest.mark.parametrize("page", ["presets.md", "custom_modules.md"])
def test_howto_page_runs(page, capsys):
    text = (HOWTO / page).read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 2
    namespace = {}
    for block in blocks:
        exec(compile(block, f"docs/howto/{page}", "exec"), namespace)
    if page == "presets.md":
        assert namespace["bpd"].shape == (16,)
        assert namespace["images"].min() >= 0 and namespace["images"].max() <= 16
    else:
        assert "checks passed" in capsys.readouterr().out
