"""The 'Training at scale' guide's single-process examples run (torchrun-only ones are marked)."""

import re
from pathlib import Path

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "howto" / "training_at_scale.md"


def test_guide_examples_run(capsys):
    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(), flags=re.S)
    runnable = [b for b in blocks if not b.startswith("# run under torchrun")]
    assert len(runnable) >= 3 and len(blocks) > len(runnable)
    namespace = {}
    for block in runnable:
        exec(compile(block, str(GUIDE), "exec"), namespace)
    assert capsys.readouterr().out.split() == ["3", "12", "4"]
