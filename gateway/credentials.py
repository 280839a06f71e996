"""Secrets of the gateway config, resolved at the edge: client API keys, upstream credentials,
audit mask key and sink credentials.

They are read from the keys file or the environment mapping the caller passes in, so inner code
never reads ``os.environ``; they are held as :class:`pydantic.SecretStr` and never appear in
``repr``, logs or error messages.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from gateway.config import GatewayConfig
from gateway.errors import ConfigError
from governance.errors import Location
from governance.strict_load import loads_yaml


class ResolvedSecrets(BaseModel):
    """Secrets resolved at the edge: API key → tenant, upstream name → bearer credential."""

    model_config = ConfigDict(frozen=True)

    api_keys: tuple[tuple[SecretStr, str], ...] = ()
    upstream_keys: dict[str, SecretStr] = Field(default_factory=dict)
    audit_mask_key: SecretStr | None = None
    # per sink index: environment-resolved values (S3 credentials, OTLP headers)
    audit_sinks: dict[int, dict[str, SecretStr]] = Field(default_factory=dict)



def _check_unique_keys(pairs: list[tuple[SecretStr, str]], where: str,
                       location: Callable[[int], Location]) -> None:
    """One key, one tenant: a key listed twice is an error naming both entries and tenants
    (never the key), not last-one-wins.

    Raises:
        ConfigError: at ``location(j)`` of the second entry.
    """
    first: dict[str, int] = {}
    for j, (key, tenant) in enumerate(pairs):
        i = first.setdefault(key.get_secret_value(), j)
        if i == j:
            continue
        other = pairs[i][1]
        what = (f"for tenants {other!r} and {tenant!r}" if other != tenant
                else f"twice for tenant {tenant!r}")
        raise ConfigError(f"one API key is listed {what} ({where} {i} and {j}); "
                          "each key must belong to exactly one tenant", location=location(j))


def _parse_env_keys(value: str, var: str) -> list[tuple[SecretStr, str]]:
    pairs = []
    for i, item in enumerate(p.strip() for p in value.split(",")):
        if not item:
            continue
        key, sep, tenant = item.partition("=")
        if not sep or not key.strip() or not tenant.strip():
            # never echo the item itself: it holds a secret
            raise ConfigError(
                f"entry {i} of ${var} is not key=tenant", location=Location(field="auth.keys_env")
            )
        pairs.append((SecretStr(key.strip()), tenant.strip()))
    _check_unique_keys(pairs, f"entries of ${var}", lambda j: Location(field="auth.keys_env"))
    return pairs


def _parse_keys_file(path: Path) -> list[tuple[SecretStr, str]]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read keys file: {exc.strerror}", location=Location(str(path))) from exc
    try:
        raw, _ = loads_yaml(data, str(path), ConfigError)
    except ConfigError as exc:
        # The parser's message could quote a key (a duplicate mapping key, a bad token): keep
        # only its kind and where it is.
        kind = ("not UTF-8 text" if exc.message.startswith("not UTF-8")
                else "a duplicate mapping key" if exc.message.startswith("duplicate key")
                else "not valid YAML")
        loc = exc.location or Location(str(path))
        raise ConfigError(f"keys file: {kind}", location=Location(
            str(path), loc.line, loc.column)) from None
    keys = raw.get("keys") if isinstance(raw, dict) else None
    if not isinstance(keys, list):
        raise ConfigError(
            "expected `keys:` as a list of {key, tenant}", location=Location(str(path), field="keys")
        )
    pairs = []
    for i, item in enumerate(keys):
        if not (
            isinstance(item, dict)
            and isinstance(item.get("key"), str)
            and item["key"]
            and isinstance(item.get("tenant"), str)
            and item["tenant"]
        ):
            raise ConfigError(
                "each entry needs a non-empty string `key` and `tenant`",
                location=Location(str(path), field=f"keys.{i}"),
            )
        pairs.append((SecretStr(item["key"]), item["tenant"]))
    _check_unique_keys(pairs, "entries", lambda j: Location(str(path), field=f"keys.{j}.key"))
    return pairs


def resolve_secrets(cfg: GatewayConfig, environ: Mapping[str, str]) -> ResolvedSecrets:
    """Read client API keys and upstream credentials from the keys file / ``environ``.

    Raises:
        ConfigError: a keys file or variable is missing or malformed (never quoting a secret).
    """
    if cfg.auth.keys_file is not None:
        pairs = _parse_keys_file(cfg.auth.keys_file)
    else:
        var = cfg.auth.keys_env or ""
        if var not in environ:
            raise ConfigError(
                f"environment variable ${var} is not set", location=Location(field="auth.keys_env")
            )
        pairs = _parse_env_keys(environ[var], var)
    upstream_keys = {}
    for i, up in enumerate(cfg.upstreams):
        if up.api_key_env:
            if up.api_key_env not in environ:
                raise ConfigError(
                    f"environment variable ${up.api_key_env} is not set",
                    location=Location(field=f"upstreams.{i}.api_key_env"),
                )
            upstream_keys[up.name] = SecretStr(environ[up.api_key_env])
    return ResolvedSecrets(api_keys=tuple(pairs), upstream_keys=upstream_keys,
                           **_audit_secrets(cfg, environ))


def _audit_secrets(cfg: GatewayConfig, environ: Mapping[str, str]) -> dict[str, Any]:
    def need(var: str, field: str) -> SecretStr:
        if var not in environ or not environ[var]:
            raise ConfigError(f"environment variable ${var} is not set",
                              location=Location(field=field))
        return SecretStr(environ[var])

    out: dict[str, Any] = {}
    if cfg.audit.mask_key_env:
        out["audit_mask_key"] = need(cfg.audit.mask_key_env, "audit.mask_key_env")
    sinks: dict[int, dict[str, SecretStr]] = {}
    for i, sink in enumerate(cfg.audit.sinks):
        values = {}
        for name in ("access_key_env", "secret_key_env", "headers_env"):
            var = getattr(sink, name, None)
            if var:
                values[name] = need(var, f"audit.sinks.{i}.{name}")
        if values:
            sinks[i] = values
    if sinks:
        out["audit_sinks"] = sinks
    return out
