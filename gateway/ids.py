"""Request and decision ids, and the audit timestamp format."""

from __future__ import annotations

import itertools
import os
import time
from datetime import datetime, timezone

# A per-process random prefix and a counter (24 hex characters). Unique across processes and
# restarts without a getrandom syscall per request; ids are not secrets.
_ID_PREFIX = os.urandom(6).hex()
_id_counter = itertools.count(1)


def new_id() -> str:
    return f"{_ID_PREFIX}{next(_id_counter) & 0xFFFFFFFFFFFF:012x}"


_iso_second: list = [-1, ""]  # (whole second, its formatted prefix): formatted once a second


def now_iso() -> str:
    """UTC now as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (the second's prefix is cached: this runs for
    every decision record)."""
    t = time.time()
    sec = int(t)
    cached = _iso_second
    if cached[0] != sec:
        cached[1] = datetime.fromtimestamp(sec, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
        cached[0] = sec
    return f"{cached[1]}.{int((t - sec) * 1e6):06d}Z"
