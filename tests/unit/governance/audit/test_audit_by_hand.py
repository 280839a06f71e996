"""The hand-verification snippet in docs/verifying-reports.md agrees with our writer."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from governance.audit import AuditLog, MaskingRules

DOC = Path(__file__).resolve().parents[4] / "docs" / "verifying-reports.md"


def _snippet() -> str:
    section = DOC.read_text().split("## The audit chain by hand", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]


async def test_documented_snippet_verifies_our_log(tmp_path: Path, capsys) -> None:
    path = tmp_path / "audit.jsonl"
    async with await AuditLog.open(path, mask=MaskingRules(fields=("prompt",))) as log:
        for i in range(20):
            await log.append({"kind": "attempt", "i": i, "x": 1.5e20, "s": "é\u2028", "prompt": "p"})
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        exec(compile(_snippet(), "verifying-reports.md", "exec"), {})
        assert f"head 19 {log.head.hash}" in capsys.readouterr().out
        path.write_bytes(path.read_bytes().replace(b'"i":7', b'"i":8', 1))
        with pytest.raises(AssertionError, match="line 8: edited"):
            exec(compile(_snippet(), "verifying-reports.md", "exec"), {})
    finally:
        os.chdir(cwd)
