"""The gateway's ``audit:`` section: segments, sinks, retention, masking key — and located errors
for combinations that cannot work."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import load_config
from gateway.credentials import resolve_secrets
from gateway.errors import ConfigError
from gateway.runtime import build_sinks
from governance.audit.sinks import DirectorySink, OtlpLogSink, S3Sink


def write(tmp_path: Path, audit: str) -> Path:
    p = tmp_path / "gw.yaml"
    p.write_text("auth:\n  keys_env: KEYS\naudit:\n" + audit)
    return p


def test_directory_with_sinks_and_retention_resolves(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, """\
  directory: audit
  max_segment_bytes: 1048576
  max_segment_age_s: 600
  compression: zstd
  retain_segments: 24
  mask_key_env: MASK_KEY
  sinks:
    - {kind: directory, path: shipped}
    - {kind: s3, bucket: audit-bucket, prefix: gw/, endpoint_url: "http://127.0.0.1:9000",
       access_key_env: AK, secret_key_env: SK}
    - {kind: otlp, endpoint: "http://127.0.0.1:4318", headers_env: OTLP_HEADERS}
"""))
    assert cfg.audit.location == tmp_path / "audit"
    assert cfg.audit.sinks[0].path == tmp_path / "shipped"
    secrets = resolve_secrets(cfg, {"KEYS": "k=t", "MASK_KEY": "m", "AK": "a", "SK": "s",
                                    "OTLP_HEADERS": "x-api-key=abc"})
    assert secrets.audit_mask_key.get_secret_value() == "m"
    sinks = build_sinks(cfg, secrets)
    assert [type(s) for s in sinks] == [DirectorySink, S3Sink, OtlpLogSink]
    assert sinks[2].headers["x-api-key"] == "abc" and sinks[2].url.endswith("/v1/logs")


@pytest.mark.parametrize(("audit", "field", "words"), [
    ("  path: a.jsonl\n  directory: d\n", "audit.path", "not both"),
    ("  max_segment_bytes: 1000\n", "audit.max_segment_bytes", "audit.directory"),
    ("  directory: d\n  retain_segments: 3\n", "audit.retain_segments", "audit.sinks"),
    ("  directory: d\n  on_failure: ignore\n", "audit.on_failure", ""),
    ("  directory: d\n  sinks: [{kind: ftp}]\n", "audit.sinks.0", ""),
    ("  directory: d\n  sinks: [{kind: s3}]\n", "audit.sinks.0.s3.bucket", ""),
])
def test_impossible_combinations_are_located(tmp_path: Path, audit: str, field: str,
                                             words: str) -> None:
    with pytest.raises(ConfigError) as exc:
        load_config(write(tmp_path, audit))
    assert exc.value.location.field == field, exc.value.location
    assert words in exc.value.message


def test_a_missing_secret_env_is_located(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, "  directory: d\n  mask_key_env: NOPE\n"))
    with pytest.raises(ConfigError) as exc:
        resolve_secrets(cfg, {"KEYS": "k=t"})
    assert exc.value.location.field == "audit.mask_key_env"


def test_default_is_one_file_acknowledged_durably(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, "  mask_fields: [messages]\n"))
    assert cfg.audit.location == tmp_path / "audit.jsonl"
    assert cfg.audit.ack == "durable" and cfg.audit.on_failure == "fail_closed"
