"""The gateway config file: YAML in, frozen pydantic models out.

Relative paths resolve against the config file's directory. Secrets (client API keys, upstream
credentials) are named here (``keys_env``, ``api_key_env``) and resolved at the edge by
:func:`gateway.credentials.resolve_secrets`; inner code never reads ``os.environ``.

>>> cfg = GatewayConfig.model_validate({"auth": {"keys_env": "KEYS"}})
>>> cfg.breaker.failure_threshold
5
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from gateway.errors import ConfigError
from gateway.gpu.config import GpuTelemetryConfig
from governance.errors import Location
from governance.strict_load import loads_yaml

Strategy = Literal["latency", "cost", "priority"]
Hosting = Literal["private", "cloud", "edge"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PolicyConfig(_Model):
    engine: str = "regorus"
    bundle: Path = Path("policies")
    opa_url: str | None = None
    decision_timeout_ms: float = Field(50.0, gt=0)


class DirectorySinkConfig(_Model):
    """Copy sealed segments (and manifests) into another directory, e.g. a mounted volume."""

    kind: Literal["directory"] = "directory"
    path: Path


class S3SinkConfig(_Model):
    """Upload sealed segments to an S3-compatible object store (needs the ``s3`` extra)."""

    kind: Literal["s3"]
    bucket: str = Field(min_length=3)
    prefix: str = ""
    endpoint_url: str | None = Field(None, pattern=r"^https?://")
    region: str = "us-east-1"
    # names of environment variables holding the credentials; unset: boto3's default chain
    access_key_env: str | None = None
    secret_key_env: str | None = None


class OtlpSinkConfig(_Model):
    """Send every record of a sealed segment as an OpenTelemetry log record, OTLP/HTTP protobuf
    (needs the ``otlp`` extra)."""

    kind: Literal["otlp"]
    endpoint: str = Field(pattern=r"^https?://")  # the collector base URL; /v1/logs is appended
    headers_env: str | None = None  # env var with "k=v,k2=v2" headers (e.g. an API key)
    timeout_s: float = Field(10.0, gt=0)
    batch_records: int = Field(1000, ge=1, le=100_000)


SinkConfig = Annotated[DirectorySinkConfig | S3SinkConfig | OtlpSinkConfig,
                       Field(discriminator="kind")]
_SEGMENT_FIELDS = ("max_segment_bytes", "max_segment_age_s", "compression", "retain_segments",
                   "retain_days", "sinks")


class AuditConfig(_Model):
    """The audit log: one file (``path``) or rotating segments in ``directory`` (docs/audit.md)."""

    path: Path | None = None  # a single hash-chained JSON Lines file (default audit.jsonl)
    directory: Path | None = None  # rotating, compressed, chained segments
    mask_fields: tuple[str, ...] = ("messages", "authorization", "api_key")
    # env var holding the per-deployment key of masked-field digests (HMAC-SHA256); unset: no
    # digest is written, only "[masked]"
    mask_key_env: str | None = None
    group_commit_ms: float = Field(2.0, ge=0)
    compact: bool = True  # candidate lists, decision results, bundle digest once per segment
    max_segment_bytes: int = Field(64 * 1024 * 1024, gt=0)
    max_segment_age_s: float = Field(3600.0, gt=0)
    compression: Literal["gzip", "zstd"] = "gzip"
    # durable: a response is sent only once its decision and attempt records are durable;
    # enqueued: records are durable within group_commit_ms of the response (faster, and a crash
    # in that window loses the records of answered requests)
    ack: Literal["durable", "enqueued"] = "durable"
    # fail_closed: while records cannot be made durable, requests get 503 audit_unavailable;
    # degrade: they are served unaudited (NOT compliant: the chain then lacks those requests,
    # counted in the audit_outage record written once the log can write again)
    on_failure: Literal["fail_closed", "degrade"] = "fail_closed"
    retry_ms: float = Field(250.0, gt=0)  # how often a failed write is retried
    retain_segments: int | None = Field(None, ge=1)
    retain_days: float | None = Field(None, gt=0)
    sinks: tuple[SinkConfig, ...] = ()
    ship_interval_s: float = Field(5.0, gt=0)

    @model_validator(mode="after")
    def _layout(self) -> "AuditConfig":
        if self.path is not None and self.directory is not None:
            raise ValueError("path: set either audit.path (one file) or audit.directory"
                             " (segments), not both")
        if self.directory is None:
            for name in _SEGMENT_FIELDS:
                # compared with the default, not "was it set": a dumped config sets every field
                if getattr(self, name) != type(self).model_fields[name].default:
                    raise ValueError(f"{name}: segments, retention and shipping need"
                                     " audit.directory")
        if (self.retain_segments is not None or self.retain_days is not None) and not self.sinks:
            raise ValueError("retain_segments: retention deletes only segments already shipped;"
                             " configure audit.sinks")
        return self

    @property
    def location(self) -> Path:
        """The file or directory the log lives in."""
        return self.directory if self.directory is not None else (self.path or Path("audit.jsonl"))


class LimitsConfig(_Model):
    """Bounds on what one client may make the gateway hold or compute (docs/gateway.md)."""

    max_body_bytes: int = Field(1_048_576, gt=0)
    # the HTTP server (gateway.protocol): slow or greedy clients are cut off
    max_connections: int = Field(1024, ge=1)  # per process; more → 503 at accept
    header_timeout_ms: float = Field(10_000.0, gt=0)  # request start → end of headers
    body_timeout_ms: float = Field(30_000.0, gt=0)  # end of headers → end of body
    keepalive_timeout_ms: float = Field(5_000.0, gt=0)  # idle between requests
    max_header_bytes: int = Field(65_536, ge=1024)  # request line + headers
    # the request body (gateway.request); 200 keeps clear of orjson's encoder limit (254)
    max_json_depth: int = Field(64, ge=4, le=200)
    max_messages: int = Field(4096, ge=1)
    max_data_classes: int = Field(32, ge=1)


class AuthConfig(_Model):
    keys_file: Path | None = None
    keys_env: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> "AuthConfig":
        if (self.keys_file is None) == (self.keys_env is None):
            raise ValueError("set exactly one of keys_file or keys_env")
        return self


class BreakerConfig(_Model):
    failure_threshold: int = Field(5, ge=1)
    # consecutive attempt timeouts that open the breaker (each cost a client the whole timeout)
    timeout_threshold: int = Field(2, ge=1)
    open_ms: float = Field(2000.0, gt=0)
    # background: the gateway probes a half-open upstream itself (no client data, marked
    # X-Govchaos-Probe: 1); request: the next client request is the probe
    probe: Literal["background", "request"] = "background"
    # probe timeout; default: the shortest attempt_timeout_ms of the routes using the upstream
    probe_timeout_ms: float | None = Field(None, gt=0)


class HangDetectionConfig(_Model):
    """Adaptive slow-failure detection (:mod:`gateway.watchdog`), on by default.

    An attempt unanswered for ``max(floor_ms, multiplier × quantile of the upstream's last
    window latencies)`` ejects that upstream (breaker open; the half-open probe restores it) and
    may start a hedge on the next allowed upstream, at most ``hedge_budget_ratio`` of requests
    (plus ``hedge_burst``) in the long run."""

    enabled: bool = True
    quantile: float = Field(0.99, gt=0.5, lt=1.0)
    multiplier: float = Field(3.0, ge=1.0)
    floor_ms: float = Field(250.0, gt=0)
    window: int = Field(256, ge=16, le=65536)  # successful attempts remembered per upstream
    min_samples: int = Field(20, ge=1)  # below this, no watchdog: the attempt timeout decides
    hedge: bool = True  # non-streaming calls, and streams before their first content
    hedge_budget_ratio: float = Field(0.05, ge=0.0, le=1.0)
    hedge_burst: int = Field(10, ge=0)
    # a probe of a latency-ejected upstream gives up after probe_multiplier × the threshold
    # (capped by the probe timeout); every 4th consecutive failed probe waits the full timeout,
    # so an upstream that became slower for good is not ejected for ever
    probe_multiplier: float = Field(4.0, ge=1.0)

    @model_validator(mode="after")
    def _samples(self) -> "HangDetectionConfig":
        if self.min_samples > self.window:
            raise ValueError(f"min_samples: {self.min_samples} is more than window {self.window}")
        return self


class UpstreamGpu(_Model):
    device: int = Field(ge=0)


class UpstreamConfig(_Model):
    name: str = Field(min_length=1)
    base_url: str = Field(pattern=r"^https?://")
    model: str = Field(min_length=1)
    provider: str = "openai-compatible"
    hosting: Hosting = "private"
    region: str = ""
    version: str = ""
    cost_per_1k_tokens: float = Field(0.0, ge=0)
    tags: tuple[str, ...] = ()
    api_key_env: str | None = None
    gpu: UpstreamGpu | None = None


class SplitMember(_Model):
    """One version of a weighted split (``routes.<r>.split``): a model id of the route and its
    weight (any non-negative number; weights are shares of their sum)."""

    model: str = Field(min_length=1)
    weight: float = Field(ge=0, allow_inf_nan=False)


class StickyHeader(_Model):
    header: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9-]+$")


class ShadowConfig(_Model):
    """``routes.<r>.shadow``: mirror ``share`` of the route's served requests to ``model``
    (asynchronously, after its own policy decision; the client only sees the primary answer)."""

    model: str = Field(min_length=1)
    share: float = Field(gt=0, le=1, allow_inf_nan=False)
    # shadow calls in flight at most (per gateway process); one more is dropped and counted
    max_in_flight: int = Field(16, ge=1, le=1024)
    timeout_ms: float | None = Field(None, gt=0)  # default: the route's attempt_timeout_ms


class RouteConfig(_Model):
    strategy: Strategy = "latency"
    upstreams: tuple[str, ...] | None = None
    attempt_timeout_ms: float = Field(2000.0, gt=0)
    retry_budget: int = Field(2, ge=0)
    response_schema: dict[str, Any] | str | None = None
    hedge_after_ms: float | None = Field(None, gt=0)
    # canary rollouts: weighted versions among the policy-allowed, healthy candidates
    split: tuple[SplitMember, ...] | None = None
    # which request key keeps a client on one version: the body's ``user`` or a header
    sticky: Literal["user"] | StickyHeader | None = None
    shadow: ShadowConfig | None = None

    @model_validator(mode="after")
    def _split(self) -> "RouteConfig":
        if self.split is not None:
            if not self.split:
                raise ValueError("split: give at least one {model, weight}")
            seen: dict[str, int] = {}
            for i, member in enumerate(self.split):
                first = seen.setdefault(member.model, i)
                if first != i:
                    raise ValueError(f"split.{i}.model: {member.model!r} is already split.{first}")
            if not any(m.weight > 0 for m in self.split):
                raise ValueError("split: every weight is 0 (at least one must be positive)")
        if self.sticky is not None and self.split is None:
            raise ValueError("sticky: only with split (it keeps a client on one split version)")
        return self


class BudgetConfig(_Model):
    """A spend budget (gateway.budget): US dollars per sliding hour for one tenant or route."""

    scope: Literal["tenant", "route"]
    name: str = Field(min_length=1)
    usd_per_hour: float = Field(gt=0, allow_inf_nan=False)


class GatewayConfig(_Model):
    policy: PolicyConfig = PolicyConfig()
    audit: AuditConfig = AuditConfig()
    limits: LimitsConfig = LimitsConfig()
    auth: AuthConfig  # required: a gateway without keys would serve anyone
    breaker: BreakerConfig = BreakerConfig()
    hang_detection: HangDetectionConfig = HangDetectionConfig()
    # GPU telemetry (gateway.gpu): simulated | nvml | injectable (+ control_file) | auto
    gpu: GpuTelemetryConfig = GpuTelemetryConfig(source="simulated")
    upstreams: tuple[UpstreamConfig, ...] = ()
    routes: dict[str, RouteConfig] = Field(default_factory=dict)
    default_route: str | None = None
    # HTTP client to upstreams: fast (gateway.http1; measured faster) or aiohttp
    upstream_client: Literal["fast", "aiohttp"] = "fast"
    budgets: tuple[BudgetConfig, ...] = ()

    @model_validator(mode="after")
    def _references(self) -> "GatewayConfig":
        names = [u.name for u in self.upstreams]
        seen: set[str] = set()
        for i, name in enumerate(names):
            if name in seen:
                raise ValueError(f"upstreams.{i}.name: duplicate upstream name {name!r}")
            seen.add(name)
        for route, rc in self.routes.items():
            for j, ref in enumerate(rc.upstreams or ()):
                if ref not in seen:
                    raise ValueError(
                        f"routes.{route}.upstreams.{j}: unknown upstream {ref!r}"
                        f" (known: {', '.join(sorted(seen)) or 'none'})"
                    )
            members = set(rc.upstreams) if rc.upstreams is not None else seen
            models = sorted({u.model for u in self.upstreams if u.name in members})
            for j, member in enumerate(rc.split or ()):
                if member.model not in models:
                    raise ValueError(
                        f"routes.{route}.split.{j}.model: {member.model!r} is no model of this"
                        f" route's upstreams (they serve: {', '.join(models) or 'none'})")
            if rc.shadow is not None and rc.shadow.model not in {u.model for u in self.upstreams}:
                raise ValueError(
                    f"routes.{route}.shadow.model: no upstream serves {rc.shadow.model!r}"
                    f" (configured models: {', '.join(sorted({u.model for u in self.upstreams})) or 'none'})")
        if self.default_route is not None and self.default_route not in self.routes:
            raise ValueError(f"default_route: unknown route {self.default_route!r}")
        budgets: dict[tuple[str, str], int] = {}
        for i, b in enumerate(self.budgets):
            first = budgets.setdefault((b.scope, b.name), i)
            if first != i:
                raise ValueError(f"budgets.{i}: duplicate budget for {b.scope} {b.name!r}"
                                 f" (budgets.{first} already sets one)")
            if b.scope == "route" and b.name not in self.routes:
                raise ValueError(f"budgets.{i}.name: unknown route {b.name!r}"
                                 f" (known: {', '.join(sorted(self.routes)) or 'none'})")
        return self


def _field_path(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "<root>"


def _resolve(base: Path, p: Path | None) -> Path | None:
    if p is None:
        return None
    return p if p.is_absolute() else (base / p)


def load_config(path: str | Path) -> GatewayConfig:
    """Read and validate a gateway config file; relative paths become absolute.

    Raises:
        ConfigError: the file is missing, is not YAML, or a field is invalid (names the file,
            the line for YAML errors, and the field path for validation errors).
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read config: {exc.strerror}", location=Location(str(path))) from exc
    # Strict YAML: not UTF-8, duplicate keys and alias bombs are located errors, not tracebacks
    # or silent surprises.
    raw, _ = loads_yaml(data, str(path), ConfigError)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError("top level must be a mapping", location=Location(str(path)))
    try:
        cfg = GatewayConfig.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        msg = err["msg"]
        field = _field_path(err["loc"])
        # model-level validators put the precise path at the front of their message
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
            if ": " in msg and " " not in msg.split(": ", 1)[0]:
                sub, msg = msg.split(": ", 1)
                field = f"{field}.{sub}" if field != "<root>" else sub
        more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
        raise ConfigError(f"{msg}{more}", location=Location(str(path), field=field)) from exc
    return resolve_paths(cfg, path.resolve().parent, source=path)


def resolve_paths(cfg: GatewayConfig, base: Path, *, source: Path | None = None) -> GatewayConfig:
    """Make every relative path in ``cfg`` absolute against ``base``; JSON Schema files loaded.
    ``source`` (the config file) locates an error about a path the config names."""
    routes = {}
    for name, rc in cfg.routes.items():
        schema = rc.response_schema
        if isinstance(schema, str):
            schema_path = _resolve(base, Path(schema))
            try:
                schema, _ = loads_yaml(
                    schema_path.read_bytes(), str(schema_path), ConfigError)
            except OSError as exc:
                raise ConfigError(
                    f"cannot load JSON Schema {schema_path}: {exc.strerror}",
                    location=Location(str(source) if source is not None else None,
                                      field=f"routes.{name}.response_schema"),
                ) from exc
            if not isinstance(schema, dict):
                raise ConfigError(
                    "JSON Schema must be a mapping",
                    location=Location(str(schema_path), field=f"routes.{name}.response_schema"),
                )
        routes[name] = rc.model_copy(update={"response_schema": schema})
    auth = cfg.auth
    if auth.keys_file is not None:
        auth = auth.model_copy(update={"keys_file": _resolve(base, auth.keys_file)})
    return cfg.model_copy(
        update={
            "policy": cfg.policy.model_copy(update={"bundle": _resolve(base, cfg.policy.bundle)}),
            "audit": cfg.audit.model_copy(update={
                "path": _resolve(base, cfg.audit.path if cfg.audit.directory is not None
                                 else cfg.audit.location),
                "directory": _resolve(base, cfg.audit.directory),
                "sinks": tuple(
                    s.model_copy(update={"path": _resolve(base, s.path)})
                    if isinstance(s, DirectorySinkConfig) else s for s in cfg.audit.sinks),
            }),
            "gpu": cfg.gpu.model_copy(update={"control_file": _resolve(base, cfg.gpu.control_file)}),
            "auth": auth,
            "routes": routes,
        }
    )

