"""Shipping sealed segments to every sink, then retention.

>>> # shipper = SegmentShipper(log, [DirectorySink("/mnt/audit")], retain_segments=24)
>>> # await shipper.run_once()   # or: task = asyncio.create_task(shipper.run())

One round: for each sealed segment (oldest first) and each sink without a receipt for it, ship
and verify (:meth:`SegmentSink.ship`), then write the receipt. A failed shipment is retried
next round; it never blocks the other sinks or later segments. A segment whose file no longer
has its manifest's sha256 (edited or damaged after sealing) is shipped nowhere: every sink
would receive bytes that do not verify, and a push sink (OTLP) could not tell.

Retention deletes only sealed segments that every sink has a receipt for, and never the
active one: those beyond the newest ``retain_segments``, and those sealed more than
``retain_days`` ago. A deletion is itself an audit event, appended **durably before** the files
go — ``{"kind": "retention", "deleted": [{segment, file, first_seq, last_seq, head_hash, sha256,
shipped_to}], "rule": …}`` — so a verifier can tell an authorised deletion from a lost segment
(:mod:`governance.audit._verify_dir`). If the event cannot be written, nothing is deleted.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict

from governance.audit._segments import (
    fsync_directory,
    list_segments,
    read_manifest,
    sha256_file,
    write_json_atomic,
)
from governance.audit.sinks._sink import SealedSegment, SegmentSink, ShipReceipt, SinkError

logger = logging.getLogger("govchaos.audit")


class ShipRound(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    shipped: tuple[tuple[str, str], ...] = ()  # (segment, sink)
    failed: tuple[tuple[str, str, str], ...] = ()  # (segment, sink, why)
    deleted: tuple[str, ...] = ()


class SegmentShipper:
    def __init__(self, log: Any, directory: Path, sinks: Sequence[SegmentSink], *,
                 retain_segments: int | None = None, retain_days: float | None = None,
                 interval_s: float = 5.0, clock: Callable[[], float] = time.time,
                 on_result: Callable[[str, bool], None] | None = None) -> None:
        names = [s.name for s in sinks]
        if len(set(names)) != len(names):
            raise ValueError(f"sink names must be unique: {names}")
        self.log = log
        self.directory = Path(directory)
        self.sinks = tuple(sinks)
        self.retain_segments = retain_segments
        self.retain_days = retain_days
        self.interval_s = interval_s
        self.clock = clock
        self.on_result = on_result
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def wake(self) -> None:
        """Ship soon (thread-safe: the sealer thread calls it when a segment is sealed)."""
        if self._loop is not None and self._wake is not None:
            try:
                self._loop.call_soon_threadsafe(self._wake.set)
            except RuntimeError:
                pass

    async def run(self) -> None:
        """Ship and apply retention every ``interval_s`` or when woken, until cancelled."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        while True:
            try:
                await self.run_once()
            except Exception:  # never let a round's bug stop shipping
                logger.exception("audit shipping round failed")
            self._wake.clear()
            try:
                async with asyncio.timeout(self.interval_s):
                    await self._wake.wait()
            except TimeoutError:
                pass

    async def run_once(self) -> ShipRound:
        shipped: list[tuple[str, str]] = []
        failed: list[tuple[str, str, str]] = []
        sealed = await asyncio.to_thread(self._sealed)
        for segment, receipts in sealed:
            pending = [sink for sink in self.sinks if sink.name not in receipts]
            if not pending:
                continue
            damaged = await asyncio.to_thread(self._damaged, segment)
            if damaged is not None:
                logger.error("audit segment %s not shipped: %s", segment.manifest.segment, damaged)
                for sink in pending:
                    failed.append((segment.manifest.segment, sink.name, damaged))
                    self._report(sink.name, False)
                continue
            for sink in pending:
                try:
                    receipt = await sink.ship(segment)
                except SinkError as exc:
                    failed.append((segment.manifest.segment, sink.name, exc.message))
                    logger.warning("audit segment %s not shipped to %s: %s",
                                   segment.manifest.segment, sink.name, exc.message)
                    self._report(sink.name, False)
                    continue
                receipts[sink.name] = receipt.model_dump(mode="json")
                await asyncio.to_thread(
                    write_json_atomic, self._receipt_path(segment), {"receipts": receipts})
                shipped.append((segment.manifest.segment, sink.name))
                self._report(sink.name, True)
        deleted = await self._retain(sealed)
        return ShipRound(shipped=tuple(shipped), failed=tuple(failed), deleted=tuple(deleted))

    def _report(self, sink: str, ok: bool) -> None:
        if self.on_result is not None:
            self.on_result(sink, ok)

    @staticmethod
    def _damaged(segment: SealedSegment) -> str | None:
        """Why the sealed file is not the one its manifest describes, or None."""
        try:
            digest = sha256_file(segment.path)
        except OSError as exc:
            return f"cannot read {segment.path.name}: {exc.strerror or exc}"
        if digest != segment.manifest.sha256:
            return (f"{segment.path.name} has sha256 {digest[:12]}…, not its manifest's"
                    f" {segment.manifest.sha256[:12]}…: it changed after sealing")
        return None

    def _receipt_path(self, segment: SealedSegment) -> Path:
        return self.directory / f"{segment.manifest.segment}.shipped.json"

    def _sealed(self) -> list[tuple[SealedSegment, dict[str, Any]]]:
        found, _ = list_segments(self.directory)
        out = []
        for index in sorted(found):
            files = found[index]
            if files.manifest is None or files.sealed is None:
                continue  # active, or being sealed
            try:
                manifest = read_manifest(files.manifest)
            except Exception:  # noqa: BLE001 - the verifier reports it; do not ship it
                continue
            receipts: dict[str, Any] = {}
            if files.shipped is not None:
                try:
                    receipts = dict(orjson.loads(files.shipped.read_bytes()).get("receipts", {}))
                except (OSError, orjson.JSONDecodeError, AttributeError):
                    receipts = {}
            out.append((SealedSegment(self.directory, manifest), receipts))
        return out

    async def _retain(self, sealed: list[tuple[SealedSegment, dict[str, Any]]]) -> list[str]:
        if self.retain_segments is None and self.retain_days is None:
            return []
        names = {s.name for s in self.sinks}
        doomed: list[tuple[SealedSegment, dict[str, Any], str]] = []
        now = self.clock()
        keep_from = len(sealed) - self.retain_segments if self.retain_segments else len(sealed)
        for position, (segment, receipts) in enumerate(sealed):
            rule = None
            if self.retain_segments is not None and position < keep_from:
                rule = f"retain_segments={self.retain_segments}"
            elif self.retain_days is not None and _age_days(segment, now) > self.retain_days:
                rule = f"retain_days={self.retain_days:g}"
            if rule is None:
                continue
            if not names.issubset(receipts):
                continue  # not shipped everywhere yet: never delete
            doomed.append((segment, receipts, rule))
        # delete oldest first and without holes: a later segment goes only with all before it
        prefix = []
        for position, item in enumerate(doomed):
            if item[0] is not sealed[position][0]:
                break
            prefix.append(item)
        if not prefix:
            return []
        event = {"kind": "retention", "rule": prefix[-1][2], "deleted": [
            {"segment": s.manifest.segment, "file": s.manifest.file,
             "first_seq": s.manifest.first_seq, "last_seq": s.manifest.last_seq,
             "head_hash": s.manifest.head_hash, "sha256": s.manifest.sha256,
             "shipped_to": sorted(f"{name}:{r.get('location')}" for name, r in receipts.items())}
            for s, receipts, _ in prefix]}
        try:
            await self.log.append(event)  # durable before anything is deleted
        except Exception as exc:  # noqa: BLE001 - unavailable log: delete nothing this round
            logger.warning("audit retention postponed: %s", exc)
            return []
        await asyncio.to_thread(self._delete, [s for s, _, _ in prefix])
        return [s.manifest.segment for s, _, _ in prefix]

    def _delete(self, segments: list[SealedSegment]) -> None:
        for segment in segments:
            for path in (segment.path, segment.manifest_path, self._receipt_path(segment)):
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass
        fsync_directory(self.directory)


def _age_days(segment: SealedSegment, now: float) -> float:
    try:
        sealed_at = datetime.fromisoformat(segment.manifest.sealed_at.replace("Z", "+00:00"))
    except ValueError:
        return 0.0
    return (now - sealed_at.timestamp()) / 86400.0


__all__ = ["SegmentShipper", "ShipReceipt", "ShipRound"]
