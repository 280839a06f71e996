from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from govchaos.cli import main

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "policies"


def test_check_ok(capsys) -> None:
    assert main(["policy", "check", str(FIXTURES / "basic")]) == 0
    assert capsys.readouterr().out.startswith("ok: 2 modules, 3 cases")


def test_check_broken_rego_prints_path_line_col(capsys) -> None:
    assert main(["policy", "check", str(FIXTURES / "broken")]) == 2
    err = capsys.readouterr().err
    assert f"{(FIXTURES / 'broken' / 'bad.rego').as_posix()}:7:1: expecting expression" in err
    assert "Traceback" not in err and "backtrace" not in err


def test_test_prints_lines_and_summary(capsys) -> None:
    assert main(["policy", "test", str(FIXTURES / "basic")]) == 1
    out = capsys.readouterr().out.splitlines()
    assert "PASS data.govchaos.gateway_test.test_cloud_denied_for_pii" in out
    assert "FAIL data.govchaos.gateway_test.test_deliberately_failing: undefined" in out
    assert out[-1] == "5 passed, 1 failed, 0 errors"


def test_test_quiet_keeps_only_failures_and_the_summary(capsys) -> None:
    assert main(["policy", "test", "-q", str(FIXTURES / "basic")]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "FAIL data.govchaos.gateway_test.test_deliberately_failing: undefined",
        "5 passed, 1 failed, 0 errors",
    ]


def test_test_json(capsys) -> None:
    assert main(["policy", "test", "--json", str(FIXTURES / "basic")]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["summary"] == {"passed": 5, "failed": 1, "errors": 0}
    assert doc["bundle_digest"].startswith("sha256:")


def test_test_all_pass_exits_zero(tmp_path, capsys) -> None:
    (tmp_path / "a_test.rego").write_text("package a\nimport rego.v1\ntest_ok if { true }\n")
    assert main(["policy", "test", str(tmp_path)]) == 0
    assert capsys.readouterr().out.splitlines() == ["PASS data.a.test_ok", "1 passed, 0 failed, 0 errors"]


def test_test_compile_error_exits_2(capsys) -> None:
    assert main(["policy", "test", str(FIXTURES / "broken")]) == 2
    assert "bad.rego:7:1" in capsys.readouterr().err


def test_unknown_engine_suggests(capsys) -> None:
    assert main(["policy", "test", "--engine", "regopi", str(FIXTURES / "basic")]) == 2
    assert "did you mean 'regopy'" in capsys.readouterr().err


def test_eval_from_stdin(monkeypatch, capsys) -> None:
    doc = {"route": "chat", "tenant": "t", "data_classes": ["pii"], "candidates": ["private-a", "cloud-a"]}
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(doc)))
    assert main(["policy", "eval", "--input", "-", "--bundle", str(FIXTURES / "basic")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["allowed"] == ["private-a"] and out["denied"] == {"cloud-a": ["data_class_ceiling"]}


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('{"route": "chat",\n "tenant": }', "in.json:2:12: invalid JSON"),
        ('{"route": "chat", "tenant": "t", "max_tokens": "many"}', "in.json: input.max_tokens"),
        ('[1, 2]', "in.json: the decision input must be a JSON object"),
    ],
)
def test_eval_invalid_input(tmp_path, capsys, text, where) -> None:
    path = tmp_path / "in.json"
    path.write_text(text)
    assert main(["policy", "eval", "--input", str(path), "--bundle", str(FIXTURES / "basic")]) == 2
    assert where in capsys.readouterr().err


def test_eval_missing_file(tmp_path, capsys) -> None:
    assert main(["policy", "eval", "--input", str(tmp_path / "nope.json")]) == 2
    assert "nope.json" in capsys.readouterr().err
