"""The GPU telemetry control file: the harness writes it, the gateway's injectable source reads it.

Format (ARCHITECTURE.md, binding)::

    {"devices": {"0": {"state": "lost", "xid": 79, "reason": "Xid 79 injected"}}}

A device absent from ``devices`` reads through to the underlying source. Writers replace the
file atomically (temp file in the same directory + ``os.replace``), so a reader sees either the
old or the new document. The reader still tolerates garbage (a hand-edited or truncated file): it
keeps the last document that parsed and logs the problem once. A missing file means nothing is
injected.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "gpu.json"
>>> ctl = GpuControlFile(path)
>>> ctl.set(0, "lost", xid=79, reason="injected")
>>> ctl.overrides()[0].state
'lost'
>>> ctl.clear_all(); ctl.overrides()
{}
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gateway.gpu.errors import GpuControlFileError
from gateway.gpu.health import GpuState

log = logging.getLogger(__name__)

# A control file is a handful of devices; anything far bigger is not one of ours.
MAX_CONTROL_FILE_BYTES = 1 << 20


class GpuOverride(BaseModel):
    """What the control file says about one device."""

    # Unknown per-device keys are ignored so newer harnesses can add fields.
    model_config = ConfigDict(frozen=True, extra="ignore", strict=True)

    state: GpuState
    xid: int | None = Field(default=None, ge=0)
    reason: str = ""


def parse_control_file(text: str | bytes, *, file: str = "<control file>") -> dict[int, GpuOverride]:
    """Parse a control document into ``{device: override}``.

    Raises:
        GpuControlFileError: not JSON, not the documented shape, a device key that is not a
            non-negative decimal integer, or an invalid entry (the message names the field).
    """
    try:
        doc = json.loads(text)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise GpuControlFileError(f"{file}: not valid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise GpuControlFileError(f"{file}: expected a JSON object with a 'devices' object")
    devices = doc.get("devices", {})
    if not isinstance(devices, dict):
        raise GpuControlFileError(f"{file}: 'devices' must be an object mapping device index to state")
    result: dict[int, GpuOverride] = {}
    for key, entry in devices.items():
        if not (isinstance(key, str) and key.isascii() and key.isdecimal() and len(key) <= 6):
            raise GpuControlFileError(f"{file}: devices.{key!r}: device key must be a decimal index like \"0\"")
        if not isinstance(entry, dict):
            raise GpuControlFileError(f"{file}: devices.{key}: expected an object with 'state'")
        try:
            result[int(key)] = GpuOverride.model_validate(entry)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            raise GpuControlFileError(f"{file}: devices.{key}.{where}: {first.get('msg')}") from exc
    return result


def render_control_file(overrides: Mapping[int, GpuOverride]) -> str:
    return json.dumps(
        {"devices": {str(d): o.model_dump(exclude_none=True) for d, o in sorted(overrides.items())}},
        indent=1,
    )


class GpuControlFile:
    """Both sides of the control file.

    Harness side: :meth:`set`, :meth:`clear`, :meth:`clear_all` (read-modify-write under an
    advisory lock on ``PATH.lock``, then an atomic replace). Gateway side: :meth:`overrides`,
    which re-parses only when the file's bytes changed, so polling it every 50 ms costs one small
    read.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._last_good: dict[int, GpuOverride] = {}
        self._last_bytes: bytes | None = None
        self._warned: object = None

    # -- reader (gateway side) -------------------------------------------------------------

    def overrides(self) -> dict[int, GpuOverride]:
        """The current overrides; never raises.

        A missing file means no overrides. A file that does not parse leaves the last good
        overrides in force and is logged once per distinct content.
        """
        # Compare bytes, not (inode, mtime, size): inodes are reused after os.replace and
        # mtimes are coarse, so two quick writes can look identical. A control file is a few
        # hundred bytes; reading it every poll costs microseconds.
        try:
            with open(self.path, "rb") as fh:
                data = fh.read(MAX_CONTROL_FILE_BYTES + 1)
        except FileNotFoundError:
            self._last_bytes = None
            self._last_good = {}
            return {}
        except OSError as exc:  # permissions, a directory in the way: keep what we had
            if self._warned != repr(exc):
                self._warned = repr(exc)
                log.warning("GPU control file %s unreadable (%s); keeping last good state", self.path, exc)
            return dict(self._last_good)
        if data == self._last_bytes:
            return dict(self._last_good)
        try:
            if len(data) > MAX_CONTROL_FILE_BYTES:
                raise GpuControlFileError(f"{self.path}: too large for a control file")
            parsed = parse_control_file(data, file=str(self.path))
        except GpuControlFileError as exc:
            if self._warned != data:
                self._warned = data
                log.warning("ignoring GPU control file update: %s; keeping last good state", exc)
            return dict(self._last_good)
        self._last_bytes = data
        self._last_good = parsed
        return dict(parsed)

    # -- writer (harness side) -------------------------------------------------------------

    def set(self, device: int, state: GpuState, xid: int | None = None, reason: str = "") -> None:
        """Inject ``state`` for ``device``.

        Raises:
            GpuControlFileError: invalid device, state or xid; the existing file is unparseable.
            OSError: the directory is not writable.
        """
        if not isinstance(device, int) or device < 0:
            raise GpuControlFileError(f"device must be a non-negative integer, not {device!r}")
        try:
            override = GpuOverride(state=state, xid=xid, reason=reason)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            raise GpuControlFileError(f"{self.path}: devices.{device}.{where}: {first.get('msg')}") from exc
        with self._locked() as current:
            current[device] = override
            self._replace(current)

    def clear(self, device: int) -> None:
        """Stop injecting for ``device`` (it reads through to the underlying source again)."""
        with self._locked() as current:
            current.pop(device, None)
            self._replace(current)

    def clear_all(self) -> None:
        with self._locked() as current:
            current.clear()
            self._replace(current)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[dict[int, GpuOverride]]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Serialises writers in different processes; readers never take it.
        with open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                try:
                    current = parse_control_file(self.path.read_bytes(), file=str(self.path))
                except FileNotFoundError:
                    current = {}
                yield current
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _replace(self, overrides: Mapping[int, GpuOverride]) -> None:
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(render_control_file(overrides))
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
