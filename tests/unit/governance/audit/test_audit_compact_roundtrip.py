"""Compaction loses nothing (hypothesis): whatever decision-shaped events are written, with any
segment size and any compacted paths, every reader gets back exactly the events as emitted,
and the directory verifies."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from governance.audit import AuditLog, SegmentPolicy, iter_events, verify_audit_log

CHAIN_FIELDS = ("seq", "ts", "prev_hash", "hash")
scalars = st.one_of(st.none(), st.booleans(), st.integers(-1000, 1000), st.text(max_size=8))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text("abcxyz", min_size=1, max_size=4),
                                                 inner, max_size=3)), max_leaves=8)
# a few distinct candidate lists and results, reused (what compaction is for), plus odd ones
candidates = st.sampled_from([[{"id": "m1", "healthy": True}], [{"id": "m2"}, {"id": "m3"}], []])
events = st.fixed_dictionaries(
    {"kind": st.sampled_from(["decision", "attempt", "probe"]),
     "request_id": st.text("0123456789abcdef", min_size=1, max_size=6),
     "input": st.one_of(st.fixed_dictionaries({"route": st.text(max_size=4),
                                               "candidates": st.one_of(candidates, values)}),
                        values),
     "result": st.one_of(st.sampled_from([{"allow": True, "allowed": ["m1"]}, {"allow": False}]),
                         values)},
    optional={"policy": st.sampled_from([{"engine": "regorus", "bundle_digest": "sha256:ab"}]),
              "refs_like": values})
PATHS = st.sampled_from([("input.candidates", "result", "policy"), ("input.candidates",),
                         ("result", "input"), ()])


async def _write(directory: Path, batch: list[dict], paths: tuple[str, ...], seg: int) -> None:
    log = await AuditLog.open(directory, segments=SegmentPolicy(max_segment_bytes=seg,
                                                                 max_segment_age_s=None),
                              compact=paths, group_commit_ms=0)
    for event in batch:
        log.append_nowait(event)
    await log.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(events, min_size=1, max_size=25), paths=PATHS,
       seg=st.sampled_from([300, 1500, 1 << 20]))
def test_every_event_reads_back_as_emitted_and_the_directory_verifies(
        batch: list[dict], paths: tuple[str, ...], seg: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "audit"
        asyncio.run(_write(directory, [dict(e) for e in batch], paths, seg))
        back = [{k: v for k, v in e.items() if k not in CHAIN_FIELDS}
                for e in iter_events(directory)]
        assert back == batch
        summary = verify_audit_log(directory)
        assert summary.count >= len(batch) and summary.segments >= 1
