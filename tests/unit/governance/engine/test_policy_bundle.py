from __future__ import annotations

import pytest

from governance.engine.bundle import load_bundle
from governance.errors import PolicyInputError


def test_loads_modules_data_and_cases(fixtures) -> None:
    b = load_bundle(fixtures / "basic")
    assert [m.path.rsplit("/", 1)[-1] for m in b.decision_modules] == ["gateway.rego"]
    assert [m.path.rsplit("/", 1)[-1] for m in b.test_modules] == ["gateway_test.rego"]
    assert "private-a" in b.data["govchaos"]["catalog"]["models"]
    assert b.data["govchaos"]["routes"]["chat"]["models"] == ["private-a", "cloud-a"]
    assert b.files == (
        "cases/basic.yaml",
        "data/catalog.yaml",
        "data/routes.json",
        "gateway.rego",
        "gateway_test.rego",
    )
    assert b.case_files and b.case_files[0].endswith("cases/basic.yaml")
    assert "cases" not in b.data


def test_digest_is_stable_and_content_sensitive(tmp_path, fixtures) -> None:
    import shutil

    a = load_bundle(fixtures / "basic")
    assert load_bundle(fixtures / "basic").digest == a.digest
    copy = tmp_path / "b"
    shutil.copytree(fixtures / "basic", copy)
    assert load_bundle(copy).digest == a.digest  # relative paths: location does not matter
    (copy / "gateway.rego").write_text((copy / "gateway.rego").read_text() + "\n")
    assert load_bundle(copy).digest != a.digest
    assert a.digest.startswith("sha256:")


def test_deep_merge_conflict_names_both_files(tmp_path) -> None:
    (tmp_path / "p.rego").write_text("package x\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.yaml").write_text("govchaos: {routes: {r: {max_tokens: 1}}}\n")
    (tmp_path / "data" / "b.json").write_text('{"govchaos": {"routes": {"r": {"max_tokens": 2}}}}')
    with pytest.raises(PolicyInputError) as err:
        load_bundle(tmp_path)
    text = err.value.diagnostics()
    assert "a.yaml" in text and "b.json" in text and "govchaos.routes.r.max_tokens" in text


def test_deep_merge_of_disjoint_keys(tmp_path) -> None:
    (tmp_path / "p.rego").write_text("package x\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.yaml").write_text("govchaos: {a: 1}\n")
    (tmp_path / "data" / "b.yaml").write_text("govchaos: {b: {c: 2}}\n")
    assert load_bundle(tmp_path).data == {"govchaos": {"a": 1, "b": {"c": 2}}}


@pytest.mark.parametrize(
    ("name", "text", "where"),
    [
        ("bad.yaml", "a: [1, 2\n", "bad.yaml:2"),
        ("bad.json", '{"a": 1,\n "b": }', "bad.json:2:7"),
        ("list.yaml", "- 1\n", "list.yaml"),
    ],
)
def test_bad_data_file_is_located(tmp_path, name, text, where) -> None:
    (tmp_path / "p.rego").write_text("package x\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / name).write_text(text)
    with pytest.raises(PolicyInputError) as err:
        load_bundle(tmp_path)
    assert where in err.value.diagnostics()


def test_missing_path_and_empty_dir(tmp_path) -> None:
    with pytest.raises(PolicyInputError, match="no such file"):
        load_bundle(tmp_path / "nope")
    with pytest.raises(PolicyInputError, match="no .rego modules"):
        load_bundle(tmp_path)


def test_root_reached_through_dotdot_or_a_dot_folder_still_loads(tmp_path) -> None:
    """Only hidden entries *inside* the bundle are skipped, not the root's own path."""
    root = tmp_path / ".config" / "policies"
    (root / "data").mkdir(parents=True)
    (root / "p.rego").write_text("package govchaos.gateway\n\ndecision := {}\n")
    (root / ".hidden.rego").write_text("not rego at all")
    (tmp_path / "examples").mkdir()
    for path in (root, tmp_path / "examples" / ".." / ".config" / "policies"):
        bundle = load_bundle(str(path))
        assert [m.path.rsplit("/", 1)[-1] for m in bundle.modules] == ["p.rego"]
