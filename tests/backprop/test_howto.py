"""The code blocks of docs/howto/memory_efficient.md run and do what the page says."""

import re
from pathlib import Path

PAGE = Path(__file__).parents[2] / "docs" / "howto" / "memory_efficient.md"


def test_howto_examples_run(capsys):
    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(), flags=re.S)
    assert len(blocks) >= 3
    namespace = {}
    for block in blocks:
        exec(compile(block, str(PAGE), "exec"), namespace)
    report = namespace["report"]
    assert len(report.blocks) == len(namespace["net"]) == 49
    assert report.max_relative_error < 1e-4
    assert all(p.grad is not None for p in namespace["net"].parameters())
    assert capsys.readouterr().out.startswith("49 ")
