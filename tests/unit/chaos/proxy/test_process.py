"""The embedded fault proxy in its own process: ready signal, seed, proxying, stop by PID."""

from __future__ import annotations

import asyncio
import os

import pytest

from chaos.proxy.control import ToxicSpec
from chaos.proxy.errors import FaultProxyError
from chaos.proxy.process import fault_proxy_process


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0); the harness reaps it in _stop, so this is enough
    return True


async def test_process_proxies_bytes_and_stops_by_pid(echo, tmp_path) -> None:
    async with fault_proxy_process(seed=77, work_dir=tmp_path) as proxy:
        assert proxy.pid != os.getpid() and _alive(proxy.pid)
        assert proxy.seed == 77 and proxy.control.seed == 77
        assert (await proxy.control.version())["seed"] == 77
        info = await proxy.control.create_proxy("svc", upstream=echo.address)
        await proxy.control.add_toxic("svc", ToxicSpec(type="latency",
                                                       attributes={"latency": 30}))
        reader, writer = await asyncio.open_connection("127.0.0.1", info.listen_port)
        loop = asyncio.get_running_loop()
        t = loop.time()
        writer.write(b"hello")
        assert await asyncio.wait_for(reader.readexactly(5), 5.0) == b"hello"
        assert loop.time() - t >= 0.025  # the toxic ran in the other process
        writer.close()
        pid = proxy.pid
    assert not _alive(pid)
    assert "listening on http://127.0.0.1:" in (tmp_path / "fault-proxy.log").read_text()


async def test_process_that_cannot_start_is_a_fault_proxy_error(tmp_path, monkeypatch) -> None:
    # A python that exits at once: the ready wait must notice, not time out.
    monkeypatch.setattr("chaos.proxy.process.sys.executable", "/bin/false")
    with pytest.raises(FaultProxyError, match="exited with 1"):
        async with fault_proxy_process(seed=1, work_dir=tmp_path, ready_timeout_s=5.0):
            pass
