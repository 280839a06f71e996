"""The default sink: copy sealed segments and their manifests into another directory (a
mounted volume, a backup disk), durably, and verify the copy's sha256."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from pathlib import Path

from governance.audit._records import utc_timestamp
from governance.audit._segments import fsync_directory, sha256_file
from governance.audit.sinks._sink import SealedSegment, ShipReceipt


class DirectorySink:
    def __init__(self, path: str | os.PathLike[str], *, name: str = "directory") -> None:
        self.path = Path(path)
        self.name = name

    async def ship(self, segment: SealedSegment) -> ShipReceipt:
        """Raises :class:`SinkError` when the copy fails or does not verify."""
        try:
            return await asyncio.to_thread(self._ship, segment)
        except OSError as exc:
            raise segment.fail(f"{self.name}: cannot copy to {self.path}: "
                               f"{exc.strerror or exc}") from exc

    def _ship(self, segment: SealedSegment) -> ShipReceipt:
        self.path.mkdir(parents=True, exist_ok=True)
        target = self.path / segment.manifest.file
        for source, dest in ((segment.path, target),
                             (segment.manifest_path, self.path / segment.manifest_path.name)):
            tmp = dest.with_name(dest.name + ".tmp")
            shutil.copyfile(source, tmp)
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
            os.replace(tmp, dest)
        fsync_directory(self.path)
        digest = sha256_file(target)
        if digest != segment.manifest.sha256:
            raise segment.fail(f"{self.name}: the copy at {target} has sha256 {digest[:12]}…, not"
                               f" the manifest's {segment.manifest.sha256[:12]}…")
        return ShipReceipt(sink=self.name, location=str(target), sha256=digest,
                           records=segment.manifest.records, verified="sha256 of the copy",
                           shipped_at=utc_timestamp(time.time()))
