"""`builtin:` names: the shipped content addressed without a path (govchaos/builtin.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from govchaos import builtin
from govchaos.builtin import BuiltinError, resolve
from govchaos.cli import main

REPO = Path(__file__).resolve().parents[3]


def test_source_checkout_is_the_content_root() -> None:
    # No govchaos/_builtin in a checkout: the checkout's own folders are used (edits show up).
    assert builtin.content_root() == REPO


def test_resolve_forms() -> None:
    assert resolve("builtin:policies", kind="bundle") == REPO / "policies"
    assert resolve("builtin:private-gpu-loss-pii", kind="scenario") == (
        REPO / "scenarios" / "private-gpu-loss-pii.yaml")
    assert resolve("builtin:scenarios/provider-outage.yaml", kind="scenario") == (
        REPO / "scenarios" / "provider-outage.yaml")
    assert resolve("builtin:examples/gateway.yaml") == REPO / "examples" / "gateway.yaml"
    assert resolve("builtin:schemas/scenario.schema.json").is_file()
    # Anything else is the path it names, unchanged (paths on disk work as before).
    assert resolve("scenarios/x.yaml", kind="scenario") == Path("scenarios/x.yaml")
    assert resolve("policies", kind="bundle") == Path("policies")


@pytest.mark.parametrize(("ref", "kind", "expected"), [
    ("builtin:private-gpu-los", "scenario", "did you mean 'private-gpu-loss-pii'"),
    ("builtin:polices", "bundle", "did you mean 'policies'"),
    ("builtin:examples/gateway.yml", "file", "did you mean 'examples/gateway.yaml'"),
    ("builtin:../pyproject.toml", "file", "stays inside the shipped content"),
    ("builtin:", "bundle", "builtin:policies"),
    ("builtin:policies", "file", "names no shipped file"),  # a folder is not a file
    ("builtin:policies/gateway.rego", "bundle", "names no shipped policy bundle"),
])
def test_unknown_names_are_located_errors_with_suggestions(ref: str, kind: str, expected: str) -> None:
    with pytest.raises(BuiltinError) as err:
        resolve(ref, kind=kind)  # type: ignore[arg-type]
    assert expected in err.value.message
    assert err.value.exit_code == 2 and err.value.location.file == ref


def test_scenario_names_are_the_standard_suite() -> None:
    names = builtin.scenario_names()
    assert "private-gpu-loss-pii" in names and "gateway.template" not in names
    assert names == sorted(p.stem for p in (REPO / "scenarios").glob("*.yaml")
                           if not p.name.endswith(".template.yaml"))


def test_chaos_list_names_each_scenario_and_what_it_proves(capsys) -> None:
    assert main(["chaos", "list"]) == 0
    out = capsys.readouterr().out
    assert "govchaos chaos run builtin:NAME" in out
    for s in builtin.load_builtin_scenarios():
        assert f"\n{s.name}\n" in out
        assert s.proves and s.proves.split()[0] in out
    assert main(["chaos", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [e["name"] for e in listed] == builtin.scenario_names()
    assert all(e["proves"] and e["run"] == f"govchaos chaos run builtin:{e['name']}" for e in listed)


def test_chaos_list_of_a_directory(tmp_path: Path, capsys) -> None:
    assert main(["chaos", "list", str(REPO / "scenarios"), "--json"]) == 0
    assert [e["name"] for e in json.loads(capsys.readouterr().out)] == builtin.scenario_names()
    assert main(["chaos", "list", str(tmp_path)]) == 2
    assert "no scenario files" in capsys.readouterr().err
    assert main(["chaos", "list", str(tmp_path / "missing")]) == 2


def test_cli_commands_accept_builtin_names(capsys) -> None:
    assert main(["chaos", "validate", "builtin:private-gpu-loss-pii"]) == 0
    assert "builtin:private-gpu-loss-pii: ok" in capsys.readouterr().out
    assert main(["policy", "check", "builtin:policies"]) == 0
    capsys.readouterr()
    assert main(["policy", "eval", "--input", "builtin:examples/pii-to-cloud.json",
                 "--bundle", "builtin:policies"]) == 0
    decision = json.loads(capsys.readouterr().out)
    assert "gpt-4o-cloud-us" in decision["denied"]


def test_cli_rejects_unknown_builtin_names(capsys) -> None:
    assert main(["chaos", "run", "builtin:no-such-scenario"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error[unknown_builtin]: builtin:no-such-scenario:")
    assert "private-gpu-loss-pii" in err  # lists what exists
    assert main(["policy", "test", "builtin:polices"]) == 2
    assert "did you mean 'policies'" in capsys.readouterr().err
    assert main(["chaos", "validate", "builtin:nope"]) == 2


def test_missing_content_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = tmp_path / "govchaos" / "builtin.py"
    fake.parent.mkdir()
    monkeypatch.setattr(builtin, "__file__", str(fake))
    with pytest.raises(BuiltinError) as err:
        builtin.content_root()
    assert err.value.code == "builtin_content_missing" and "reinstall" in err.value.message
    (fake.parent / "_builtin").mkdir()
    assert builtin.content_root() == fake.parent / "_builtin"  # an installed wheel's copy wins
