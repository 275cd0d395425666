"""The README's Python example runs as written and prints what it says."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_api_example_runs() -> None:
    text = README.read_text()
    match = re.search(r"## Python API\n\n```python\n(.*?)```", text, re.S)
    assert match is not None
    result = subprocess.run([sys.executable, "-c", match.group(1)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["5", "hello"]
