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


AUDIT_DOC = DOC.parent / "audit.md"


def _directory_snippet() -> str:
    section = AUDIT_DOC.read_text().split("### By hand", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]


async def test_documented_directory_snippet_verifies_our_segments(tmp_path: Path, capsys) -> None:
    import gzip

    from governance.audit import SegmentPolicy

    candidates = [{"id": f"m{i}", "provider": "p", "hosting": "private", "region": "eu-central-1",
                   "version": "1", "cost_per_1k_tokens": 0.0004 * (i + 1), "healthy": True,
                   "tags": ["é"]} for i in range(4)]
    result = {"allow": True, "allowed": ["m0"], "denied": {"m1": ["pii: no"]}, "reasons": []}
    policy = SegmentPolicy(max_segment_bytes=3000, max_segment_age_s=None)
    log = await AuditLog.open(tmp_path / "audit", segments=policy, compact=(
        "input.candidates", "result", "policy"), mask=MaskingRules(fields=("messages",)))
    for i in range(40):
        log.append_nowait({"kind": "decision", "request_id": f"r{i}", "result": result,
                           "input": {"route": "claims-triage", "candidates": candidates},
                           "policy": {"bundle_digest": "sha256:ab"}, "messages": ["hi"]})
        log.append_nowait({"kind": "attempt", "request_id": f"r{i}", "latency_ms": 12.5})
    await log.close()
    segments = sorted((tmp_path / "audit").glob("audit-*.jsonl.gz"))
    assert len(segments) >= 3
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        exec(compile(_directory_snippet(), "audit.md", "exec"), {})
        assert f"head {log.head.seq} {log.head.hash}" in capsys.readouterr().out
        # an edit inside the second segment, re-compressed (so the gzip stream is valid)
        victim = segments[1]
        victim.write_bytes(gzip.compress(gzip.decompress(victim.read_bytes()).replace(
            b'"latency_ms":12.5', b'"latency_ms":1.5', 1)))
        with pytest.raises(AssertionError, match="replaced"):
            exec(compile(_directory_snippet(), "audit.md", "exec"), {})
        # ... and with the manifest's digest forged too, the record itself is named
        import hashlib
        import json

        manifest = victim.with_name(victim.name.replace(".jsonl.gz", ".manifest.json"))
        data = json.loads(manifest.read_text())
        data["sha256"] = hashlib.sha256(victim.read_bytes()).hexdigest()
        manifest.write_text(json.dumps(data))
        with pytest.raises(AssertionError, match=r"audit-\d+\.jsonl\.gz line \d+: edited"):
            exec(compile(_directory_snippet(), "audit.md", "exec"), {})
    finally:
        os.chdir(cwd)
