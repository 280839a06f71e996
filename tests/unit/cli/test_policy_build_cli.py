"""`govchaos policy build`, `policy test --engines`, and `policy check` with opa-go."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import jwt

from govchaos.cli import main

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "fixtures" / "policies"


def test_build_writes_an_opa_bundle(tmp_path, capsys) -> None:
    out = tmp_path / "bundle.tar.gz"
    assert main(["policy", "build", str(REPO / "policies"), "--out", str(out), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["signed"] is False and doc["roots"] == ["govchaos"] and doc["revision"].startswith("sha256:")
    with tarfile.open(out) as tar:
        names = set(tar.getnames())
    assert {".manifest", "data.json", "gateway.rego"} <= names and ".signatures.json" not in names


def test_build_signed_with_a_generated_key(tmp_path, capsys) -> None:
    assert main(["keys", "generate", "--out", str(tmp_path / "k")]) == 0
    out = tmp_path / "bundle.tar.gz"
    key = tmp_path / "k" / "govchaos-signing.key"
    assert main(["policy", "build", str(REPO / "policies"), "--out", str(out),
                 "--signing-key", str(key), "--key-id", "fleet"]) == 0
    assert "signed" in capsys.readouterr().out
    with tarfile.open(out) as tar:
        token = json.loads(tar.extractfile(".signatures.json").read())["signatures"][0]
    public = (tmp_path / "k" / "govchaos-signing.pub").read_bytes()
    assert jwt.decode(token, public, algorithms=["ES256"])["files"]


def test_build_with_a_public_key_is_a_usage_error(tmp_path, capsys) -> None:
    assert main(["keys", "generate", "--out", str(tmp_path / "k")]) == 0
    out = tmp_path / "b.tar.gz"
    code = main(["policy", "build", str(REPO / "policies"), "--out", str(out),
                 "--signing-key", str(tmp_path / "k" / "govchaos-signing.pub")])
    assert code == 2 and "public key" in capsys.readouterr().err and not out.exists()


def test_build_refuses_a_bundle_that_does_not_compile(tmp_path, capsys) -> None:
    out = tmp_path / "b.tar.gz"
    assert main(["policy", "build", str(FIXTURES / "broken"), "--out", str(out)]) == 2
    assert "bad.rego:7:1" in capsys.readouterr().err and not out.exists()


def test_build_into_a_missing_directory_names_it(tmp_path, capsys) -> None:
    out = tmp_path / "nope" / "b.tar.gz"
    assert main(["policy", "build", str(FIXTURES / "basic"), "--out", str(out)]) == 2
    assert str(out) in capsys.readouterr().err


def test_check_compiles_with_opa_go_and_locates_recursion(tmp_path, capsys) -> None:
    (tmp_path / "p.rego").write_text("package govchaos.gateway\n\na if b\n\nb if a\n\ndecision := {\"allow\": a}\n")
    assert main(["policy", "check", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"{(tmp_path / 'p.rego').as_posix()}:3:1: rule data.govchaos.gateway.a is recursive" in err
    assert main(["policy", "check", str(FIXTURES / "basic")]) == 0
    assert "compiled by regorus, opa-go" in capsys.readouterr().out


def test_test_engines_reports_a_difference(tmp_path, capsys) -> None:
    # The trap of issue 9, in miniature: OPA evaluates is_string's argument outside `not`.
    (tmp_path / "p_test.rego").write_text(
        "package p_test\n\ntest_missing_field_is_not_a_string if {\n\tnot is_string(input.x)\n}\n\n"
        "test_ok if { true }\n")
    assert main(["policy", "test", "--engines", "regorus,opa-go", str(tmp_path)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "DIFF data.p_test.test_missing_field_is_not_a_string: regorus PASS; opa-go FAIL (undefined)",
        "PASS data.p_test.test_ok",
        "regorus: 2 passed, 0 failed, 0 errors; opa-go: 1 passed, 1 failed, 0 errors; "
        "1 test differs between engines",
    ]
    assert main(["policy", "test", "--engines", "regorus,opa-go", "--json", str(tmp_path)]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["differences"] == [{"name": "data.p_test.test_missing_field_is_not_a_string",
                                   "outcomes": {"regorus": "PASS", "opa-go": "FAIL"},
                                   "details": {"opa-go": "undefined"}}]


def test_test_engines_all_agree_exits_zero(capsys) -> None:
    assert main(["policy", "test", "-q", "--engines", "regorus,opa-go", str(REPO / "policies")]) == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith("0 tests differ between engines")


def test_test_engines_bad_lists_are_usage_errors(capsys) -> None:
    for value, want in [("regorus", "two or more"), ("regorus,regorus", "twice"),
                        ("regorus,opa", "policy tests run on"), ("regorus,opa-og", "did you mean 'opa-go'")]:
        assert main(["policy", "test", "--engines", value, str(FIXTURES / "basic")]) == 2
        assert want in capsys.readouterr().err, value
    assert main(["policy", "test", "--engine", "regorus", "--engines", "regorus,opa-go"]) == 2


def test_eval_with_opa_go(capsys) -> None:
    assert main(["policy", "eval", "--engine", "opa-go", "--input", str(REPO / "examples" / "pii-to-cloud.json")]) == 0
    assert json.loads(capsys.readouterr().out)["allow"] is not None
