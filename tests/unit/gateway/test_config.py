"""Config loading: paths resolve against the file, errors name the file and field path,
secrets come from the keys file or the environment and never appear in messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import load_config
from gateway.credentials import resolve_secrets
from gateway.errors import ConfigError

REPO = Path(__file__).resolve().parents[3]
UP = "{name: a, base_url: 'http://127.0.0.1:1/v1', model: m}"


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "gw.yaml"
    p.write_text(text)
    return p


def test_shipped_example_loads_and_resolves_paths() -> None:
    cfg = load_config(REPO / "examples" / "gateway.yaml")
    assert cfg.policy.bundle.resolve() == (REPO / "policies").resolve()
    assert cfg.auth.keys_file.resolve() == (REPO / "examples" / "keys.yaml").resolve()
    secrets = resolve_secrets(cfg, {})
    assert {t for _, t in secrets.api_keys} == {"acme-health", "globex-retail", "initech-dev"}
    assert "sk-demo" not in repr(secrets)


@pytest.mark.parametrize("text,field", [
    (f"auth: {{keys_env: K}}\nupstreams: [{{name: a, base_url: ftp://x, model: m}}]", "upstreams.0.base_url"),
    (f"auth: {{keys_env: K}}\nupstreams: [{UP}]\nroutes: {{r: {{strategy: fastest}}}}", "routes.r.strategy"),
    (f"auth: {{keys_env: K}}\nupstreams: [{UP}]\nroutes: {{r: {{upstreams: [zz]}}}}", "routes.r.upstreams.0"),
    (f"auth: {{keys_env: K}}\nupstreams: [{UP}, {UP}]", "upstreams.1.name"),
    ("upstreams: []", "auth"),
    ("auth: {keys_env: K, keys_file: k.yaml}", "auth"),
    ("auth: {keys_env: K}\nbreaker: {failure_threshold: 0}", "breaker.failure_threshold"),
    ("auth: {keys_env: K}\ngpu: {source: nvlm}", "gpu.source"),
    ("auth: {keys_env: K}\nhang_detection: {quantile: 1.5}", "hang_detection.quantile"),
    ("auth: {keys_env: K}\nhang_detection: {hedge_budget_ratio: -0.1}", "hang_detection.hedge_budget_ratio"),
    ("auth: {keys_env: K}\nhang_detection: {window: 32, min_samples: 64}", "hang_detection.min_samples"),
    ("auth: {keys_env: K}\nsurprise: 1", "surprise"),
    (f"auth: {{keys_env: K}}\nupstreams: [{UP}]\nroutes: {{r: {{split: [{{model: zz, weight: 1}}]}}}}",
     "routes.r.split.0.model"),
    (f"auth: {{keys_env: K}}\nupstreams: [{UP}]\nroutes: {{r: {{split: [{{model: m, weight: 1}},"
     " {model: m, weight: 2}]}}", "routes.r.split.1.model"),
    (f"auth: {{keys_env: K}}\nupstreams: [{UP}]\nroutes: {{r: {{split: [{{model: m, weight: 0}}]}}}}",
     "routes.r.split"),
    (f"auth: {{keys_env: K}}\nupstreams: [{UP}]\nroutes: {{r: {{split: [{{model: m, weight: -1}}]}}}}",
     "routes.r.split.0.weight"),
    (f"auth: {{keys_env: K}}\nupstreams: [{UP}]\nroutes: {{r: {{sticky: user}}}}", "routes.r.sticky"),
    (f"auth: {{keys_env: K}}\nupstreams: [{UP}]\nroutes: {{r: {{shadow: {{model: zz, share: 0.1}}}}}}",
     "routes.r.shadow.model"),
    (f"auth: {{keys_env: K}}\nupstreams: [{UP}]\nroutes: {{r: {{shadow: {{model: m, share: 1.5}}}}}}",
     "routes.r.shadow.share"),
])
def test_invalid_fields_are_located(tmp_path: Path, text: str, field: str) -> None:
    with pytest.raises(ConfigError) as exc:
        load_config(write(tmp_path, text))
    assert exc.value.location.file == str(tmp_path / "gw.yaml")
    assert exc.value.location.field == field, exc.value.diagnostics()
    assert exc.value.exit_code == 2


def test_yaml_error_has_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        load_config(write(tmp_path, "auth:\n  keys_env: [unclosed\n"))
    assert exc.value.location.line is not None


def test_missing_file() -> None:
    with pytest.raises(ConfigError):
        load_config("/nonexistent/gw.yaml")


def test_schema_file_is_loaded_relative_to_config(tmp_path: Path) -> None:
    (tmp_path / "s.json").write_text('{"type": "object"}')
    cfg = load_config(write(tmp_path, f"auth: {{keys_env: K}}\nupstreams: [{UP}]\n"
                                      "routes: {r: {response_schema: s.json}}"))
    assert cfg.routes["r"].response_schema == {"type": "object"}


def test_a_missing_schema_file_is_located_in_the_config_that_names_it(tmp_path: Path) -> None:
    # found by tests/unit/gateway/test_fuzz_config_loading.py: the error had no file
    with pytest.raises(ConfigError, match="cannot load JSON Schema") as exc:
        load_config(write(tmp_path, f"auth: {{keys_env: K}}\nupstreams: [{UP}]\n"
                                    "routes: {r: {response_schema: missing.json}}"))
    assert exc.value.location.file == str(tmp_path / "gw.yaml")
    assert exc.value.location.field == "routes.r.response_schema"


def test_env_keys_and_errors_never_echo_secrets(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, "auth: {keys_env: K}"))
    s = resolve_secrets(cfg, {"K": "sk-1=acme, sk-2=globex"})
    assert [(k.get_secret_value(), t) for k, t in s.api_keys] == [("sk-1", "acme"), ("sk-2", "globex")]
    with pytest.raises(ConfigError) as exc:
        resolve_secrets(cfg, {"K": "sk-secret-no-tenant"})
    assert "sk-secret" not in exc.value.diagnostics()
    with pytest.raises(ConfigError):
        resolve_secrets(cfg, {})


def test_keys_file_entries_validated(tmp_path: Path) -> None:
    (tmp_path / "keys.yaml").write_text("keys: [{key: sk-x}]")
    cfg = load_config(write(tmp_path, "auth: {keys_file: keys.yaml}"))
    with pytest.raises(ConfigError) as exc:
        resolve_secrets(cfg, {})
    assert exc.value.location.field == "keys.0" and "sk-x" not in exc.value.diagnostics()


def test_upstream_credential_from_env(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, "auth: {keys_env: K}\nupstreams: [{name: a, base_url: 'http://h/v1', "
                                      "model: m, api_key_env: UPKEY}]"))
    assert resolve_secrets(cfg, {"K": "", "UPKEY": "tok"}).upstream_keys["a"].get_secret_value() == "tok"
    with pytest.raises(ConfigError) as exc:
        resolve_secrets(cfg, {"K": ""})
    assert exc.value.location.field == "upstreams.0.api_key_env"


def test_duplicate_keys_and_alias_bombs_are_located_errors(tmp_path) -> None:
    from gateway.config import load_config
    from gateway.errors import ConfigError

    dup = tmp_path / "dup.yaml"
    dup.write_text("limits: {max_body_bytes: 10}\nlimits: {max_body_bytes: 20}\n")
    with pytest.raises(ConfigError) as err:
        load_config(dup)
    assert "duplicate key 'limits'" in err.value.message and err.value.location.line == 2

    bomb = tmp_path / "bomb.yaml"
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]")
    bomb.write_text("\n".join(lines) + "\n")
    with pytest.raises(ConfigError) as err:
        load_config(bomb)
    assert "expands to more than" in err.value.message


def test_policy_engine_opa_go_builds_the_real_opa(tmp_path) -> None:
    from gateway.runtime import EMBEDDED_ENGINES, build_engine
    from governance.engine.opa_go_engine import OpaGoEngine

    cfg = load_config(write(tmp_path, f"auth: {{keys_env: K}}\npolicy: {{engine: opa-go, bundle: {REPO / 'policies'}}}\n"))
    engine = build_engine(cfg)
    assert isinstance(engine, OpaGoEngine) and engine.bundle.digest
    assert "opa-go" in EMBEDDED_ENGINES  # in-process and synchronous, like regorus


def test_non_utf8_config_is_a_located_error(tmp_path: Path) -> None:
    p = tmp_path / "gw.yaml"
    p.write_bytes(b"auth: {keys_env: K}\n# caf\xe9\n")
    with pytest.raises(ConfigError) as exc:
        load_config(p)
    assert exc.value.location.file == str(p) and exc.value.exit_code == 2
    assert "not UTF-8" in exc.value.message and "byte 25" in exc.value.message


def test_non_utf8_or_duplicated_keys_file_never_echoes_it(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, "auth: {keys_file: keys.yaml}"))
    keys = tmp_path / "keys.yaml"
    keys.write_bytes(b"keys: [{key: sk-caf\xe9, tenant: a}]\n")
    with pytest.raises(ConfigError) as exc:
        resolve_secrets(cfg, {})
    assert "not UTF-8" in exc.value.message and exc.value.location.file == str(keys)
    keys.write_text("keys:\n  - {key: sk-dup-secret, key: sk-other, tenant: a}\n")
    with pytest.raises(ConfigError) as exc:
        resolve_secrets(cfg, {})
    assert "duplicate mapping key" in exc.value.message and exc.value.location.line == 2
    assert "sk-" not in exc.value.diagnostics()


def test_one_key_for_two_tenants_is_an_error_naming_both(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, "auth: {keys_file: keys.yaml}"))
    keys = tmp_path / "keys.yaml"
    keys.write_text("keys:\n  - {key: sk-shared, tenant: acme-health}\n"
                    "  - {key: sk-other, tenant: initech-dev}\n"
                    "  - {key: sk-shared, tenant: globex-retail}\n")
    with pytest.raises(ConfigError) as exc:
        resolve_secrets(cfg, {})
    msg = exc.value.diagnostics()
    assert "'acme-health' and 'globex-retail'" in msg and "entries 0 and 2" in msg
    assert exc.value.location.file == str(keys) and exc.value.location.field == "keys.2.key"
    assert "sk-shared" not in msg
    keys.write_text("keys:\n  - {key: sk-twice, tenant: acme-health}\n"
                    "  - {key: sk-twice, tenant: acme-health}\n")
    with pytest.raises(ConfigError, match="twice for tenant 'acme-health'"):
        resolve_secrets(cfg, {})


def test_one_env_key_for_two_tenants_is_an_error(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, "auth: {keys_env: K}"))
    with pytest.raises(ConfigError) as exc:
        resolve_secrets(cfg, {"K": "sk-1=acme, sk-2=globex, sk-1=initech"})
    msg = exc.value.diagnostics()
    assert exc.value.location.field == "auth.keys_env" and "'acme' and 'initech'" in msg
    assert "sk-1" not in msg
