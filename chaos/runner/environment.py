"""Where a run happened: versions, host, and the GPUs NVML reports (if any)."""

from __future__ import annotations

import os
import platform
import socket

from chaos.report.model import EnvironmentInfo, GpuInfo


def _gpus() -> tuple[GpuInfo, ...]:
    try:
        import pynvml
    except ImportError:
        return ()
    try:
        pynvml.nvmlInit()
    except Exception:  # no driver / no GPU: the common case on CI
        return ()
    try:
        driver = pynvml.nvmlSystemGetDriverVersion()
        driver = driver.decode() if isinstance(driver, bytes) else str(driver)
        gpus = []
        for index in range(pynvml.nvmlDeviceGetCount()):
            name = pynvml.nvmlDeviceGetName(pynvml.nvmlDeviceGetHandleByIndex(index))
            name = name.decode() if isinstance(name, bytes) else str(name)
            gpus.append(GpuInfo(index=index, model=name, driver=driver))
        return tuple(gpus)
    except Exception:
        return ()
    finally:
        try:
            pynvml.nvmlShutdown()
        except Exception:
            pass


def capture_environment(
    *, toxiproxy_url: str | None = None, fault_proxy_seed: int | None = None
) -> EnvironmentInfo:
    """Versions, host and GPUs of this machine. Never raises."""
    # The installed distribution's version: chaos may not import the CLI package.
    version = _dist_version()
    return EnvironmentInfo(
        govchaos_version=version,
        python_version=platform.python_version(),
        platform=f"{platform.system()} {platform.release()} {platform.machine()}",
        host=socket.gethostname(),
        cpu_count=os.cpu_count(),
        gpus=_gpus(),
        toxiproxy=toxiproxy_url or "embedded",
        fault_proxy_seed=fault_proxy_seed,
    )


def _dist_version() -> str:
    try:
        from importlib.metadata import version

        return version("govchaos")
    except Exception:
        return "unknown"
