"""What ``--workers N`` asks of a config: N in range, an audit log that splits into one chain per
worker, and each worker's own copy of the config (its chain under ``worker-<i>/``).

>>> cfg = GatewayConfig.model_validate({"auth": {"keys_env": "K"}, "audit": {"directory": "/a"}})
>>> worker_config(cfg, 1).audit.directory
PosixPath('/a/worker-1')

Only ``audit.directory`` splits: a single-file ``audit.path`` would be one file appended to by N
processes (its lock lets one in), and an OTLP sink would mix N chains' records with nothing in
them saying which worker wrote which. Directory sinks copy into ``<path>/worker-<i>/`` and S3
sinks upload under ``<prefix>worker-<i>/``, so every shipped chain stays apart.
"""

from __future__ import annotations

from pathlib import Path

from gateway.config import DirectorySinkConfig, GatewayConfig, S3SinkConfig
from gateway.errors import ConfigError
from governance.audit import (
    MAX_WORKERS,
    WORKERS_MANIFEST,
    holds_single_chain,
    worker_chain_name,
)
from governance.errors import Location


def check_workers(workers: int) -> None:
    """Raises ConfigError (field ``--workers``) unless ``1 <= workers <= MAX_WORKERS``."""
    if not 1 <= workers <= MAX_WORKERS:
        raise ConfigError(f"must be within 1..{MAX_WORKERS}, got {workers}",
                          location=Location(field="--workers"))


def check_splittable(cfg: GatewayConfig, source: Path | None = None) -> None:
    """Raises ConfigError, located at the config field, if the audit log of ``cfg`` cannot be
    split into one chain per worker (a single-file ``audit.path``, an OTLP sink)."""
    where = str(source) if source is not None else None
    if cfg.audit.directory is None:
        raise ConfigError(
            "--workers above 1 needs audit.directory (one chain per worker under"
            " worker-<i>/); a single audit file cannot be appended to by several processes",
            location=Location(where, field="audit.path"))
    for i, sink in enumerate(cfg.audit.sinks):
        if not isinstance(sink, DirectorySinkConfig | S3SinkConfig):
            raise ConfigError(
                f"a {sink.kind} sink cannot be split per worker (its records would not say which"
                " worker's chain they belong to); with --workers above 1 use directory or s3"
                " sinks", location=Location(where, field=f"audit.sinks.{i}"))


def check_layout(cfg: GatewayConfig, workers: int, source: Path | None = None) -> None:
    """Raises ConfigError (field ``audit.directory``) when ``audit.directory`` already holds the
    other layout: a worker set (``workers.json``) for one process, or one process's chain for
    several workers — mixing them would leave records no verification of either layout reads."""
    directory = cfg.audit.directory
    if directory is None:
        return
    where = Location(str(source) if source is not None else None, field="audit.directory")
    if workers == 1 and (directory / WORKERS_MANIFEST).exists():
        raise ConfigError(
            f"{directory} holds the chains of a --workers run ({WORKERS_MANIFEST}); serve it with"
            " --workers above 1, or point audit.directory elsewhere", location=where)
    if workers > 1 and holds_single_chain(directory):
        raise ConfigError(
            f"{directory} holds a single process's chain; --workers above 1 writes one chain per"
            " worker under worker-<i>/: point audit.directory at a new directory",
            location=where)


def worker_config(cfg: GatewayConfig, index: int, workers: int = 1) -> GatewayConfig:
    """``cfg`` as worker ``index`` of ``workers`` runs it: its audit chain and its shipped
    copies apart from the other workers', and 1/``workers`` of every spend budget (budget
    state is per worker: the workers together never spend more than the budget; a worker may
    refuse while a sibling still has room — fail closed). ``cfg`` must have passed
    :func:`check_splittable`."""
    assert cfg.audit.directory is not None
    name = worker_chain_name(index)
    sinks = []
    for sink in cfg.audit.sinks:
        if isinstance(sink, DirectorySinkConfig):
            sink = sink.model_copy(update={"path": sink.path / name})
        elif isinstance(sink, S3SinkConfig):
            sink = sink.model_copy(update={"prefix": f"{sink.prefix}{name}/"})
        sinks.append(sink)
    audit = cfg.audit.model_copy(update={"directory": cfg.audit.directory / name,
                                         "sinks": tuple(sinks)})
    budgets = tuple(b.model_copy(update={"usd_per_hour": b.usd_per_hour / workers})
                    for b in cfg.budgets)
    return cfg.model_copy(update={"audit": audit, "budgets": budgets})
