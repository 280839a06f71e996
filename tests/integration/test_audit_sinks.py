"""Shipping sealed audit segments: a local directory, a real S3-compatible server (moto's
standalone server on 127.0.0.1, driven through boto3), and OpenTelemetry logs over OTLP/HTTP to a
receiver started here that decodes the protobuf. Every shipment is verified after upload;
retention deletes only shipped segments and the deletion is an audit event the verifier accepts.
"""

from __future__ import annotations

import gzip
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
import pytest

from governance.audit import AuditLog, AuditSegmentError, SegmentPolicy, iter_events, verify_audit_log
from governance.audit.sinks import DirectorySink, OtlpLogSink, S3Sink, SegmentShipper
from governance.audit._segments import list_segments

COMPACT = ("input.candidates",)


async def make_log(directory: Path, records: int, *, max_bytes: int = 3000) -> AuditLog:
    policy = SegmentPolicy(max_segment_bytes=max_bytes, max_segment_age_s=None)
    log = await AuditLog.open(directory, segments=policy, compact=COMPACT, group_commit_ms=0)
    for i in range(records):
        await log.append({"kind": "decision", "request_id": f"r{i}",
                          "input": {"candidates": [{"id": "m1"}, {"id": "m2"}]}})
    return log


async def wait_sealed(directory: Path, at_least: int) -> None:
    """Until the sealer has caught up: every segment but the active (newest) one sealed, its
    plain file gone. Waiting for only ``at_least`` sealed would let a round ship a snapshot
    while the sealer still works through later segments (14 close in ``make_log(…, 120)``),
    so that more sealed segments are found after the round than it saw."""
    import asyncio

    for _ in range(3000):
        found, _ = list_segments(directory)
        newest = max(found, default=-1)
        closed = [f for index, f in found.items() if index != newest]
        if all(f.manifest is not None and f.active is None for f in closed):
            assert len(closed) >= at_least, f"only {len(closed)} segments closed"
            return
        await asyncio.sleep(0.01)
    raise AssertionError("segments not sealed in time")


async def test_directory_sink_ships_verifies_and_retention_is_recorded(tmp_path: Path) -> None:
    src, dst = tmp_path / "audit", tmp_path / "shipped"
    log = await make_log(src, 120)
    await wait_sealed(src, 4)
    shipper = SegmentShipper(log, src, [DirectorySink(dst)], retain_segments=2)
    result = await shipper.run_once()
    assert result.shipped and not result.failed and result.deleted
    sealed_left = [f for f in list_segments(src)[0].values() if f.manifest is not None]
    assert len(sealed_left) == 2
    # the shipped copies are intact segments with their manifests
    for name in result.deleted:
        assert (dst / f"{name}.jsonl.gz").exists() and (dst / f"{name}.manifest.json").exists()
    await log.append({"kind": "attempt", "request_id": "after"})
    await log.close()
    summary = verify_audit_log(src)  # older segments gone, accounted for by the retention record
    assert summary.first_seq > 0
    retention = [e for e in iter_events(src) if e["kind"] == "retention"]
    assert [d["segment"] for d in retention[0]["deleted"]] == list(result.deleted)
    assert all(d["shipped_to"][0].startswith("directory:") for d in retention[0]["deleted"])


async def test_a_segment_deleted_without_a_retention_record_still_fails(tmp_path: Path) -> None:
    src = tmp_path / "audit"
    log = await make_log(src, 80)
    await log.close()
    found, _ = list_segments(src)
    victim = found[min(found)]
    victim.sealed.unlink()  # type: ignore[union-attr]
    victim.manifest.unlink()  # type: ignore[union-attr]
    with pytest.raises(AuditSegmentError, match="no retention record"):
        verify_audit_log(src)


async def test_unshipped_segments_are_never_deleted(tmp_path: Path) -> None:
    src = tmp_path / "audit"
    log = await make_log(src, 80)
    await wait_sealed(src, 3)
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the sink wants a directory")
    shipper = SegmentShipper(log, src, [DirectorySink(blocked)], retain_segments=1)
    result = await shipper.run_once()
    assert result.failed and not result.shipped and not result.deleted
    await log.close()
    assert verify_audit_log(src).first_seq == 0


# -- S3: moto's standalone server ------------------------------------------------------------

@pytest.fixture
def s3_server() -> Any:
    moto_server = pytest.importorskip("moto.server")
    pytest.importorskip("boto3")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


async def test_s3_sink_uploads_and_reads_back(tmp_path: Path, s3_server: str) -> None:
    import boto3

    client = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1",
                          aws_access_key_id="test", aws_secret_access_key="test")
    client.create_bucket(Bucket="govchaos-audit")
    src = tmp_path / "audit"
    log = await make_log(src, 60)
    await wait_sealed(src, 2)
    sink = S3Sink("govchaos-audit", prefix="gw-1/", endpoint_url=s3_server,
                  access_key_id="test", secret_access_key="test")
    result = await SegmentShipper(log, src, [sink]).run_once()
    await log.close()
    assert result.shipped and not result.failed
    name = result.shipped[0][0]
    body = client.get_object(Bucket="govchaos-audit", Key=f"gw-1/{name}.jsonl.gz")["Body"].read()
    lines = gzip.decompress(body).splitlines()
    assert orjson.loads(lines[0])["segment"] == name
    manifest = orjson.loads(client.get_object(
        Bucket="govchaos-audit", Key=f"gw-1/{name}.manifest.json")["Body"].read())
    receipt = orjson.loads((src / f"{name}.shipped.json").read_bytes())["receipts"]["s3"]
    assert receipt["sha256"] == manifest["sha256"]
    assert receipt["location"] == f"s3://govchaos-audit/gw-1/{name}.jsonl.gz"


async def test_s3_sink_failure_is_a_sink_error_not_a_receipt(tmp_path: Path,
                                                             s3_server: str) -> None:
    src = tmp_path / "audit"
    log = await make_log(src, 40)
    await wait_sealed(src, 1)
    sink = S3Sink("no-such-bucket", endpoint_url=s3_server, access_key_id="t",
                  secret_access_key="t")
    result = await SegmentShipper(log, src, [sink]).run_once()
    await log.close()
    assert result.failed and not result.shipped
    assert "NoSuchBucket" in result.failed[0][2]
    assert not list(src.glob("*.shipped.json"))


# -- OTLP/HTTP: a receiver that decodes the protobuf ------------------------------------------

class _Receiver:
    def __init__(self, reject: int = 0) -> None:
        self.records: list[dict[str, Any]] = []
        self.reject = reject
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                from opentelemetry.proto.collector.logs.v1 import logs_service_pb2

                body = self.rfile.read(int(self.headers["Content-Length"]))
                ok = (self.path == "/v1/logs"
                      and self.headers["Content-Type"] == "application/x-protobuf")
                request = logs_service_pb2.ExportLogsServiceRequest()
                request.ParseFromString(body)
                for rl in request.resource_logs:
                    service = {a.key: a.value.string_value for a in rl.resource.attributes}
                    for sl in rl.scope_logs:
                        for lr in sl.log_records:
                            attrs = {a.key: (a.value.int_value if a.value.HasField("int_value")
                                             else a.value.string_value) for a in lr.attributes}
                            receiver.records.append({"body": lr.body.string_value,
                                                     "attrs": attrs, "service": service,
                                                     "scope": sl.scope.name,
                                                     "time": lr.time_unix_nano})
                answer = logs_service_pb2.ExportLogsServiceResponse()
                if receiver.reject:
                    answer.partial_success.rejected_log_records = receiver.reject
                    answer.partial_success.error_message = "quota"
                payload = answer.SerializeToString()
                self.send_response(200 if ok else 415)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


async def test_otlp_sink_sends_every_record_as_a_log_record(tmp_path: Path) -> None:
    pytest.importorskip("opentelemetry.proto")
    receiver = _Receiver()
    try:
        src = tmp_path / "audit"
        log = await make_log(src, 50)
        await wait_sealed(src, 2)
        sink = OtlpLogSink(receiver.url, batch_records=7)
        result = await SegmentShipper(log, src, [sink]).run_once()
        await log.close()
    finally:
        receiver.stop()
    assert result.shipped and not result.failed
    shipped = {seg for seg, _ in result.shipped}
    got = [r for r in receiver.records if r["attrs"]["govchaos.audit.segment"] in shipped]
    # the receiver can re-verify: bodies are the exact lines, in order, seq and hash attached
    seqs = [r["attrs"]["govchaos.audit.seq"] for r in got]
    assert seqs == sorted(seqs) and seqs[0] == 0
    first = orjson.loads(got[0]["body"])
    assert first["kind"] == "segment" and got[0]["attrs"]["govchaos.audit.hash"] == first["hash"]
    assert got[0]["service"] == {"service.name": "govchaos-gateway"}
    assert got[0]["scope"] == "govchaos.audit" and got[0]["time"] > 0


async def test_otlp_partial_rejection_is_not_a_receipt(tmp_path: Path) -> None:
    pytest.importorskip("opentelemetry.proto")
    receiver = _Receiver(reject=2)
    try:
        src = tmp_path / "audit"
        log = await make_log(src, 30)
        await wait_sealed(src, 1)
        result = await SegmentShipper(log, src, [OtlpLogSink(receiver.url)]).run_once()
        await log.close()
    finally:
        receiver.stop()
    assert result.failed and not result.shipped and "rejected 2" in result.failed[0][2]


# -- retention and verification after upload: the edges --------------------------------------

class _RefusingLog:
    """A log that cannot record anything (a full disk): retention must not delete."""

    def __init__(self, inner: AuditLog) -> None:
        self.inner = inner

    async def append(self, event: dict) -> int:
        from governance.audit import AuditLogUnavailable

        raise AuditLogUnavailable("disk full (test)")


class _FailingSink:
    name = "broken"

    async def ship(self, segment: Any) -> Any:
        raise segment.fail("broken: the store is down (test)")


async def test_retention_waits_until_every_sink_has_verified_a_segment(tmp_path: Path) -> None:
    src, dst = tmp_path / "audit", tmp_path / "shipped"
    log = await make_log(src, 100)
    await wait_sealed(src, 3)
    shipper = SegmentShipper(log, src, [DirectorySink(dst), _FailingSink()], retain_segments=1)
    result = await shipper.run_once()
    assert result.shipped and result.failed and not result.deleted
    await log.close()
    assert verify_audit_log(src).first_seq == 0
    assert not [e for e in iter_events(src) if e["kind"] == "retention"]


async def test_retention_is_postponed_when_the_deletion_cannot_be_recorded(tmp_path: Path) -> None:
    src, dst = tmp_path / "audit", tmp_path / "shipped"
    log = await make_log(src, 100)
    await wait_sealed(src, 3)
    sealed = {p.name for p in src.iterdir() if p.name.endswith((".gz", ".manifest.json"))}
    shipper = SegmentShipper(_RefusingLog(log), src, [DirectorySink(dst)], retain_segments=1)
    result = await shipper.run_once()
    assert result.shipped and not result.deleted
    assert sealed <= {p.name for p in src.iterdir()}  # nothing deleted
    await log.close()
    assert verify_audit_log(src).first_seq == 0


async def test_retain_days_deletes_only_old_shipped_segments_and_records_the_rule(
        tmp_path: Path) -> None:
    import time

    src, dst = tmp_path / "audit", tmp_path / "shipped"
    log = await make_log(src, 100)
    await wait_sealed(src, 3)
    young = SegmentShipper(log, src, [DirectorySink(dst)], retain_days=1)
    assert not (await young.run_once()).deleted  # sealed seconds ago: kept
    later = SegmentShipper(log, src, [DirectorySink(dst)], retain_days=1,
                           clock=lambda: time.time() + 2 * 86400)
    result = await later.run_once()
    assert result.deleted
    await log.append({"kind": "attempt", "request_id": "after"})
    await log.close()
    assert verify_audit_log(src).first_seq > 0  # the gap is accounted for
    retention = [e for e in iter_events(src) if e["kind"] == "retention"]
    assert retention[0]["rule"] == "retain_days=1"
    # the active segment and the last segment the log had open are never among the deleted
    assert all((dst / f"{name}.jsonl.gz").exists() for name in result.deleted)


async def test_a_segment_edited_after_sealing_is_shipped_nowhere(tmp_path: Path) -> None:
    pytest.importorskip("opentelemetry.proto")
    receiver = _Receiver()  # a push sink: it could not notice the edit itself
    src, dst = tmp_path / "audit", tmp_path / "shipped"
    try:
        log = await make_log(src, 60)
        await wait_sealed(src, 2)
        found, _ = list_segments(src)
        first = found[min(found)]
        data = gzip.decompress(first.sealed.read_bytes()).replace(b'"r0"', b'"rX"')  # type: ignore[union-attr]
        first.sealed.write_bytes(gzip.compress(data))  # type: ignore[union-attr]
        shipper = SegmentShipper(log, src, [DirectorySink(dst), OtlpLogSink(receiver.url)],
                                 retain_segments=1)
        result = await shipper.run_once()
        await log.close()
    finally:
        receiver.stop()
    refused = [(sink, why) for seg, sink, why in result.failed if seg == first.name]
    assert sorted(sink for sink, _ in refused) == ["directory", "otlp"]
    assert all("changed after sealing" in why for _, why in refused)
    assert not (src / f"{first.name}.shipped.json").exists()
    assert not (dst / f"{first.name}.jsonl.gz").exists()
    assert all(r["attrs"]["govchaos.audit.segment"] != first.name for r in receiver.records)
    assert result.shipped  # the intact later segments still went
    assert first.name not in result.deleted and not result.deleted  # no holes: nothing deleted
