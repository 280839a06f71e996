"""Ship sealed segments as OpenTelemetry logs over OTLP/HTTP (protobuf; extra ``otlp``).

Every record of the segment becomes one ``LogRecord``: the body is the record's exact line
(so a receiver can re-verify the chain, blobs and segment records included), attributes
``govchaos.audit.seq`` / ``.hash`` / ``.kind`` / ``.segment``, the time is the record's ``ts``.
Records go in batches of ``batch_records`` to ``<endpoint>/v1/logs``
(``Content-Type: application/x-protobuf``). OTLP is push-only, so "verified" means: every
request answered 200 with an ``ExportLogsServiceResponse`` that rejected no record, and as many
records were sent as the manifest lists.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import orjson

from governance.audit._records import utc_timestamp
from governance.audit._segments import open_lines
from governance.audit.sinks._sink import SealedSegment, ShipReceipt

SCOPE = "govchaos.audit"
_PROTOBUF = "application/x-protobuf"


def _nanos(ts: Any) -> int:
    if not isinstance(ts, str):
        return 0
    try:
        return int(datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp() * 1e9)
    except ValueError:
        return 0


class OtlpLogSink:
    def __init__(self, endpoint: str, *, headers: dict[str, str] | None = None,
                 timeout_s: float = 10.0, batch_records: int = 1000,
                 service_name: str = "govchaos-gateway", name: str = "otlp") -> None:
        self.url = endpoint.rstrip("/") + "/v1/logs"
        self.headers = {**(headers or {}), "Content-Type": _PROTOBUF}
        self.timeout_s = timeout_s
        self.batch_records = batch_records
        self.service_name = service_name
        self.name = name

    async def ship(self, segment: SealedSegment) -> ShipReceipt:
        """Raises :class:`SinkError` when a request fails or the receiver rejects records."""
        try:
            from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
        except ImportError as exc:
            raise segment.fail(f"{self.name}: opentelemetry-proto is not installed (pip install"
                               " 'govchaos[otlp]')") from exc
        import httpx

        sent = 0
        async with httpx.AsyncClient(timeout=self.timeout_s) as client:
            for batch in self._batches(segment):
                request = self._request(batch, segment.manifest.segment)
                try:
                    response = await client.post(self.url, content=request.SerializeToString(),
                                                 headers=self.headers)
                except httpx.HTTPError as exc:
                    raise segment.fail(f"{self.name}: POST {self.url} failed: {exc}") from exc
                if response.status_code != 200:
                    raise segment.fail(f"{self.name}: POST {self.url} answered"
                                       f" {response.status_code}: {response.text[:200]}")
                answer = logs_service_pb2.ExportLogsServiceResponse()
                try:
                    answer.ParseFromString(response.content)
                except Exception as exc:  # protobuf's DecodeError
                    raise segment.fail(f"{self.name}: the receiver's answer is not an"
                                       " ExportLogsServiceResponse") from exc
                rejected = answer.partial_success.rejected_log_records
                if rejected:
                    raise segment.fail(f"{self.name}: the receiver rejected {rejected} of"
                                       f" {len(batch)} records:"
                                       f" {answer.partial_success.error_message}")
                sent += len(batch)
        if sent != segment.manifest.records:
            raise segment.fail(f"{self.name}: sent {sent} records but the manifest lists"
                               f" {segment.manifest.records}")
        return ShipReceipt(sink=self.name, location=self.url, sha256=segment.manifest.sha256,
                           records=sent, verified="every record accepted (no partial_success"
                           " rejection)", shipped_at=utc_timestamp(time.time()))

    def _batches(self, segment: SealedSegment) -> Any:
        batch: list[bytes] = []
        with open_lines(segment.path) as handle:
            for line in handle:
                batch.append(line.rstrip(b"\n"))
                if len(batch) >= self.batch_records:
                    yield batch
                    batch = []
        if batch:
            yield batch

    def _request(self, lines: list[bytes], segment: str) -> Any:
        from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
        from opentelemetry.proto.common.v1 import common_pb2
        from opentelemetry.proto.logs.v1 import logs_pb2
        from opentelemetry.proto.resource.v1 import resource_pb2

        def attr(key: str, value: Any) -> Any:
            if isinstance(value, int):
                return common_pb2.KeyValue(key=key, value=common_pb2.AnyValue(int_value=value))
            return common_pb2.KeyValue(key=key, value=common_pb2.AnyValue(string_value=str(value)))

        records = []
        now = time.time_ns()
        for line in lines:
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                record = {}
            records.append(logs_pb2.LogRecord(
                time_unix_nano=_nanos(record.get("ts")), observed_time_unix_nano=now,
                severity_number=logs_pb2.SEVERITY_NUMBER_INFO, severity_text="INFO",
                body=common_pb2.AnyValue(string_value=line.decode("utf-8")),
                attributes=[attr("govchaos.audit.seq", record.get("seq", -1)),
                            attr("govchaos.audit.hash", record.get("hash", "")),
                            attr("govchaos.audit.kind", record.get("kind", "")),
                            attr("govchaos.audit.segment", segment)],
            ))
        return logs_service_pb2.ExportLogsServiceRequest(resource_logs=[logs_pb2.ResourceLogs(
            resource=resource_pb2.Resource(attributes=[attr("service.name", self.service_name)]),
            scope_logs=[logs_pb2.ScopeLogs(scope=common_pb2.InstrumentationScope(name=SCOPE),
                                           log_records=records)],
        )])
