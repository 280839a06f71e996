"""The child process that parses, compiles and evaluates one policy bundle for its parent.

Started by :class:`governance.engine.policy_process.PolicyProcess` as
``python -m governance.engine.policy_worker FD_IN FD_OUT MEMORY_MB``. It exists so that nothing a
policy does can hang, crash or exhaust the process that asked: the parent kills it at a
deadline, it dies alone if an engine segfaults, and its address space is capped at its size
once its engine is compiled plus ``MEMORY_MB`` (``RLIMIT_AS``), so an allocation storm during
evaluation ends in an error or the child's death, never the host's. (Compiling is bounded in
time by the parent, not by the cap: see :func:`main`.)

Frames both ways: 4-byte little-endian length, then one op byte, then the payload.

    C {"engine": "module:Class", "options": {...}, "root": ..., "modules": [[path, source]],
       "data_json": "..."}                  compile  -> K {"backend": "vm"} | X {error}
    Q {"root": ..., "modules": [...], "data_json": "...", "entry_points": [...],
       "require_decision": true}
                                            check    -> K {} | X {error}
    E <canonical input JSON>                evaluate -> V <value JSON> | U | R <error text>

``X`` carries ``{"code", "message", "file", "line", "column"}`` of a located error.
"""

from __future__ import annotations

import importlib
import os
import signal
import struct
import sys
from typing import Any

_HEADER = struct.Struct("<I")


def _read_exact(fd: int, n: int) -> bytes | None:
    chunks = []
    while n:
        chunk = os.read(fd, n)
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def _write(fd: int, op: bytes, payload: bytes) -> None:
    data = _HEADER.pack(len(payload) + 1) + op + payload
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _cap_memory(budget_mb: int) -> None:
    if budget_mb <= 0:
        return
    import resource

    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[0])
    limit = pages * os.sysconf("SC_PAGE_SIZE") + budget_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _die_with_parent() -> None:
    try:  # Linux: SIGKILL this process when the parent goes away, even mid-evaluation
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:  # pragma: no cover - other platforms: EOF on the pipe still ends it
        pass


def _error_json(exc: BaseException) -> bytes:
    import orjson

    from governance.errors import GovchaosError

    if isinstance(exc, GovchaosError):
        loc = exc.location
        return orjson.dumps({
            "code": exc.code, "message": exc.message,
            "file": loc.file if loc else None, "line": loc.line if loc else None,
            "column": loc.column if loc else None,
        })
    return orjson.dumps({"code": "policy_compile_error",
                         "message": f"{type(exc).__name__}: {exc}"[:2000]})


def _sets_as_arrays(obj: Any) -> Any:
    # The regorus interpreter hands back Rego sets as Python sets; JSON (and OPA) encode them
    # as arrays.
    if isinstance(obj, (set, frozenset)):
        try:
            return sorted(obj)
        except TypeError:
            return list(obj)
    raise TypeError(f"cannot encode {type(obj).__name__}")


class _Session:
    def __init__(self) -> None:
        self.evaluate: Any = None

    def compile(self, req: dict[str, Any]) -> bytes:
        import orjson

        from governance.engine.bundle import RegoModule, build_bundle

        module, _, name = req["engine"].partition(":")
        cls: Any = importlib.import_module(module)
        for part in name.split("."):
            cls = getattr(cls, part)
        bundle = build_bundle(req["root"], [RegoModule(p, s) for p, s in req["modules"]],
                              orjson.loads(req["data_json"]))
        engine = cls(bundle, isolation="inline", cache=False, **req.get("options", {}))
        self.evaluate = engine.evaluate_raw
        return orjson.dumps({"backend": getattr(engine, "backend", "")})

    @staticmethod
    def check(req: dict[str, Any]) -> bytes:
        import orjson

        from governance.engine.bundle import RegoModule, build_bundle
        from governance.engine.regorus_engine import check_modules_inline

        bundle = build_bundle(req["root"], [RegoModule(p, s) for p, s in req["modules"]],
                              orjson.loads(req["data_json"]))
        check_modules_inline(bundle, tuple(req.get("entry_points", ())),
                             require_decision=req.get("require_decision", True))
        return b"{}"


def main(argv: list[str]) -> int:
    fd_in, fd_out, budget_mb = int(argv[0]), int(argv[1]), int(argv[2])
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _die_with_parent()
    os.dup2(2, 1)  # native engines may print to fd 1; keep it away from the protocol
    import orjson

    session = _Session()
    capped = False
    while True:
        head = _read_exact(fd_in, 4)
        if head is None:
            return 0
        (size,) = _HEADER.unpack(head)
        frame = _read_exact(fd_in, size)
        if frame is None:
            return 0
        op, payload = frame[:1], frame[1:]
        if op == b"E":
            try:
                value = session.evaluate(payload)
            except MemoryError:
                _write(fd_out, b"R", b"MemoryError: evaluation exceeded the memory budget")
                continue
            except Exception as exc:  # the parent turns it into a fail-closed deny
                _write(fd_out, b"R", f"{type(exc).__name__}: {exc}"[:4000].encode())
                continue
            if value is None:
                _write(fd_out, b"U", b"")
            else:
                _write(fd_out, b"V", orjson.dumps(value, default=_sets_as_arrays))
            continue
        try:
            req = orjson.loads(payload)
            if op == b"Q" and not capped:  # a check runs regorus only: capped from the start
                _cap_memory(budget_mb)
                capped = True
            reply = session.compile(req) if op == b"C" else session.check(req)
            if op == b"C" and not capped:
                # Capped once the engine is up: allocators such as rego-cpp's snmalloc (and Go's)
                # reserve large address ranges when they start, which a cap set before would
                # refuse. From here on the cap is what this process has plus the budget.
                _cap_memory(budget_mb)
                capped = True
        except BaseException as exc:  # noqa: BLE001 - every failure goes back as a located error
            _write(fd_out, b"X", _error_json(exc))
            continue
        _write(fd_out, b"K", reply)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
