"""A configured route at run time: its upstreams, compiled response schema and attempt limits."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

from gateway.config import RouteConfig
from gateway.split import WeightedSplit
from gateway.upstream import Upstream
from gateway.validation import compile_schema


class RouteRuntime:
    __slots__ = ("name", "cfg", "upstreams", "validator", "timeout_s", "max_attempts", "hedge_s",
                 "by_model", "split", "shadow")

    def __init__(self, name: str, cfg: RouteConfig, upstreams: list[Upstream],
                 metrics: Any = None) -> None:
        self.name = name
        self.cfg = cfg
        self.upstreams = upstreams
        schema = cfg.response_schema
        self.validator: Draft202012Validator | None = (
            compile_schema(schema, name) if isinstance(schema, dict) else None
        )
        self.timeout_s = cfg.attempt_timeout_ms / 1000.0
        self.max_attempts = 1 + cfg.retry_budget
        self.hedge_s = cfg.hedge_after_ms / 1000.0 if cfg.hedge_after_ms else None
        self.by_model: dict[str, list[Upstream]] = {}
        for up in upstreams:
            self.by_model.setdefault(up.model, []).append(up)
        self.split = WeightedSplit(name, [(m.model, m.weight) for m in cfg.split], metrics) \
            if cfg.split else None
        self.shadow: Any = None  # gateway.shadow.ShadowMirror, set by the router

    @property
    def sticky(self) -> str | None:
        """``"user"``, the sticky header's name, or None."""
        sticky = self.cfg.sticky
        return sticky if sticky is None or isinstance(sticky, str) else sticky.header
