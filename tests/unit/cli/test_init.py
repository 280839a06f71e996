"""`govchaos init DIR`: the scaffolded governance repository (govchaos/scaffold, cli/init.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos.faults import default_registry
from chaos.scenario import load_scenario
from gateway.config import load_config
from govchaos.builtin import scenario_names
from govchaos.cli import main
from govchaos.scaffold import plan, rewrite_paths

REPO = Path(__file__).resolve().parents[3]
TOP_LEVEL = {"gateway.yaml", "keys.yaml", "README.md", ".gitignore", ".gitlab-ci.yml",
             ".github/workflows/govchaos.yml"}


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def demo(tmp_path: Path, capsys) -> Path:
    dest = tmp_path / "demo"
    assert main(["init", str(dest)]) == 0
    assert f"{len(_files(dest))} files ({len(_files(dest))} created)" in capsys.readouterr().out
    return dest


def test_layout_is_the_shipped_content_plus_repo_files(demo: Path) -> None:
    policies = {f"policies/{p}" for p in _files(REPO / "policies")}
    scenarios = {f"scenarios/{p.name}" for p in (REPO / "scenarios").glob("*.yaml")}
    assert _files(demo) == policies | scenarios | TOP_LEVEL
    for rel in policies:  # the bundle, its tests and cases, byte for byte
        assert (demo / rel).read_bytes() == (REPO / rel).read_bytes()


def test_scaffolded_bundle_passes_its_tests_and_scenarios_point_at_it(demo: Path, capsys) -> None:
    assert main(["policy", "test", "-q", str(demo / "policies")]) == 0
    assert "0 failed, 0 errors" in capsys.readouterr().out
    for name in scenario_names():
        loaded = load_scenario(demo / "scenarios" / f"{name}.yaml", faults=default_registry())
        assert loaded.resolve(loaded.scenario.policy.bundle) == (demo / "policies").resolve()
        assert loaded.resolve(loaded.scenario.target.config_template).parent == (
            demo / "scenarios").resolve()
    cfg = load_config(demo / "gateway.yaml")
    assert cfg.policy.bundle.resolve() == (demo / "policies").resolve()
    assert cfg.auth.keys_file.resolve() == (demo / "keys.yaml").resolve()
    assert cfg.audit.path.resolve().is_relative_to((demo / "reports").resolve())
    text = (demo / "gateway.yaml").read_text()
    assert "examples/" not in text.split("upstreams:")[0]
    assert "  bundle: policies             # Rego modules" in text  # aligned comment kept


def test_readme_explains_the_layout_and_lists_every_scenario(demo: Path) -> None:
    readme = (demo / "README.md").read_text()
    assert "@" not in readme.replace("@v", "")  # every template token was filled
    for item in ("policies/", "cases/*.yaml", "scenarios/", "gateway.yaml", ".gitlab-ci.yml",
                 ".github/workflows/govchaos.yml", "govchaos policy test policies/"):
        assert item in readme
    for name in scenario_names():
        assert f"`scenarios/{name}.yaml`" in readme
    assert "*.key" in (demo / ".gitignore").read_text()


def test_never_clobbers_without_force(demo: Path, capsys) -> None:
    (demo / "README.md").write_text("my own readme\n")
    (demo / "policies" / "cost.rego").unlink()
    assert main(["init", str(demo)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error[init_conflict]: ") and "--force" in err and "README.md" in err
    assert (demo / "README.md").read_text() == "my own readme\n"
    assert not (demo / "policies" / "cost.rego").exists()  # nothing at all was written


def test_force_overwrites_and_restores(demo: Path, capsys) -> None:
    (demo / "README.md").write_text("my own readme\n")
    (demo / "policies" / "cost.rego").unlink()
    (demo / "notes.txt").write_text("kept\n")
    assert main(["init", str(demo), "--force"]) == 0
    out = capsys.readouterr().out
    assert f"1 created, {len(plan(demo)) - 1} overwrote" in out
    assert (demo / "README.md").read_text() != "my own readme\n"
    assert (demo / "policies" / "cost.rego").read_bytes() == (REPO / "policies/cost.rego").read_bytes()
    assert (demo / "notes.txt").read_text() == "kept\n"  # files init does not own stay


def test_force_replaces_a_symlink_instead_of_writing_through_it(demo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text("not govchaos's\n")
    (demo / "keys.yaml").unlink()
    (demo / "keys.yaml").symlink_to(outside)
    assert main(["init", str(demo)]) == 2
    assert main(["init", str(demo), "--force"]) == 0
    assert not (demo / "keys.yaml").is_symlink()
    assert outside.read_text() == "not govchaos's\n"


def test_things_in_the_way_are_errors_even_with_force(tmp_path: Path, capsys) -> None:
    blocker = tmp_path / "a"
    (blocker / "gateway.yaml").mkdir(parents=True)
    assert main(["init", str(blocker), "--force"]) == 2
    assert "gateway.yaml (a folder is in the way of a file)" in capsys.readouterr().err
    assert _files(blocker) == set()
    b = tmp_path / "b"
    b.mkdir()
    (b / "policies").write_text("a file\n")
    assert main(["init", str(b), "--force"]) == 2
    assert "policies/ (a file is in the way of a folder)" in capsys.readouterr().err
    f = tmp_path / "file"
    f.write_text("x")
    assert main(["init", str(f)]) == 2
    assert "exists and is not a directory" in capsys.readouterr().err


def test_rewrite_paths_follows_the_new_layout(tmp_path: Path) -> None:
    root, dest = tmp_path / "shipped", tmp_path / "repo"
    text = ("# a scenario\npolicy: {bundle: ../policies}\n"
            "target: {kind: reference, config_template: gateway.template.yaml}\n")
    source = root / "scenarios" / "a.yaml"
    moved = rewrite_paths(text, (("policy", "bundle"), ("target", "config_template")), source,
                          dest / "suites" / "chaos" / "a.yaml", root, dest)
    assert moved == ("# a scenario\npolicy: {bundle: ../../policies}\n"
                     "target: {kind: reference, config_template: ../../scenarios/gateway.template.yaml}\n")
    # A path to something of the user's own is left alone; odd characters get quoted.
    own = "policy:\n  bundle: /srv/policies   # theirs\n"
    assert rewrite_paths(own, (("policy", "bundle"),), source, dest / "s" / "a.yaml", root, dest) == own
    spaced = rewrite_paths("policy: {bundle: ../policies}\n", (("policy", "bundle"),), source,
                           dest / "my suites" / "a.yaml", root, dest / "x y")
    assert 'bundle: "../x y/policies"' in spaced
