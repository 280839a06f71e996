"""Invariant 6 for `govchaos policy`: bad input is a located error and exit 2, never a traceback."""

from __future__ import annotations

import io
import shutil
import subprocess
import time
import sys
from pathlib import Path

import pytest

from govchaos.cli import main

POLICIES = Path(__file__).resolve().parents[3] / "policies"
OK_REGO = "package govchaos.gateway\nimport rego.v1\ndecision := {\"allow\": false}\n"


def _bundle(tmp_path: Path, data: dict[str, bytes | str]) -> Path:
    root = tmp_path / "b"
    (root / "data").mkdir(parents=True)
    (root / "p.rego").write_text(OK_REGO)
    for name, content in data.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
    return root


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("data/x.yaml", "a: 1\na: 2\n", "x.yaml:2:1: duplicate key 'a' (first on line 1)"),
        ("data/x.yaml", "a: &a [1,1,1,1,1,1,1,1,1,1]\n" + "".join(
            f"{c}: &{c} [{','.join(['*' + p] * 10)}]\n" for p, c in zip("abcde", "bcdef")),
         "alias bomb"),
        ("data/x.json", '{"a": NaN}', "x.json: invalid JSON: NaN is not valid JSON"),
        ("data/x.json", '{"a": ' + "1" * 5000 + "}", "more than 4300 digits"),
        ("data/x.json", "[" * 50000 + "]" * 50000, "nested too deeply"),
        ("data/x.json", b"\xff\xfe", "not UTF-8"),
        ("cases/c.yaml", "cases:\n  - name: a\n    name: b\n", "c.yaml:3:5: duplicate key 'name'"),
        ("cases/c.yaml", b"cases: [\xff]", "not UTF-8"),
    ],
)
def test_check_bad_data_and_case_files(tmp_path, capsys, name, content, needle) -> None:
    root = _bundle(tmp_path, {name: content})
    assert main(["policy", "check", str(root)]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err


def test_check_missing_decision_rule_says_which_rule(tmp_path, capsys) -> None:
    (tmp_path / "p.rego").write_text("package govchaos.gateway\nimport rego.v1\nother := 1\n")
    assert main(["policy", "check", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "data.govchaos.gateway.decision" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("stdin", "needle"),
    [
        ("", "<stdin>: empty input"),
        ("not json", "<stdin>:1:1: invalid JSON"),
        ('{"a": NaN}', "NaN is not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"route": "chat", "tenant": "acme", "data_classes": "pii"}',
         "input.data_classes: Input should be a list"),
    ],
)
def test_eval_bad_stdin(monkeypatch, capsys, stdin, needle) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin.encode())))
    assert main(["policy", "eval", "--bundle", str(POLICIES), "--input", "-"]) == 2
    assert needle in capsys.readouterr().err


@pytest.mark.parametrize("content", [b"\xff\xfe{}", None])
def test_eval_bad_input_file(tmp_path, capsys, content) -> None:
    path = tmp_path / "in.json"
    if content is None:
        path.mkdir()  # a directory where a file was expected
    else:
        path.write_bytes(content)
    assert main(["policy", "eval", "--bundle", str(POLICIES), "--input", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "Traceback" not in err


def test_eval_stdin_closed_does_not_hang() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "govchaos", "policy", "eval", "--bundle", str(POLICIES), "--input", "-"],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 2 and "empty input" in proc.stderr


def test_eval_undefined_or_non_object_decision_denies(tmp_path, capsys) -> None:
    (tmp_path / "p.rego").write_text("package govchaos.gateway\nimport rego.v1\ndecision := \"x\"\n")
    (tmp_path / "in.json").write_text('{"route": "r", "tenant": "t", "data_classes": []}')
    assert main(["policy", "eval", "--bundle", str(tmp_path), "--input", str(tmp_path / "in.json")]) == 0
    assert '"allow": false' in capsys.readouterr().out


def test_unreadable_data_file(tmp_path, capsys) -> None:
    if shutil.which("id") and subprocess.run(["id", "-u"], capture_output=True, text=True).stdout.strip() == "0":
        pytest.skip("root reads everything")
    root = _bundle(tmp_path, {"data/x.yaml": "a: 1\n"})
    (root / "data" / "x.yaml").chmod(0)
    assert main(["policy", "check", str(root)]) == 2
    assert "cannot read" in capsys.readouterr().err


@pytest.mark.parametrize(("port", "needle"), [("-1", "out of range"), ("70000", "out of range"), ("x", "not a port")])
def test_serve_port_out_of_range_is_usage_error(capsys, port, needle) -> None:
    assert main(["policy", "serve", "--bundle", str(POLICIES), "--port", port]) == 2
    assert needle in capsys.readouterr().err


def test_serve_port_in_use_is_a_named_error(capsys) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["policy", "serve", "--bundle", str(POLICIES), "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"error[listen_failed]: cannot listen on 127.0.0.1:{port}" in err and "Traceback" not in err


def test_unexpected_exception_is_one_line_and_exit_2(monkeypatch, capsys) -> None:
    import governance.engine.bundle as bundle_mod

    def boom(*_a, **_k):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(bundle_mod, "load_bundle", boom)
    assert main(["policy", "check", str(POLICIES)]) == 2
    err = capsys.readouterr().err
    assert "error[internal_error]: RuntimeError: kaboom" in err and "Traceback" not in err


def test_yaml_nan_in_data_is_refused_at_load(tmp_path, capsys) -> None:
    root = _bundle(tmp_path, {"data/x.yaml": "a: .nan\n"})
    assert main(["policy", "check", str(root)]) == 2
    assert "x.yaml: a number is .nan or .inf" in capsys.readouterr().err


# -- issue 10: hostile bundles and inputs ----------------------------------------------------

RECURSIVE_REGO = "package govchaos.gateway\na := b\nb := a\ndecision := a\n"
NESTED_REGO = "package govchaos.gateway\ndecision := " + "[" * 30 + "1" + "]" * 30 + "\n"


@pytest.mark.parametrize(("source", "needle"), [
    (RECURSIVE_REGO, "p.rego:2:1: rule data.govchaos.gateway.a is recursive"),
    (NESTED_REGO, "p.rego:2:23: brackets nested 11 deep"),
])
@pytest.mark.parametrize("command", ["check", "test"])
def test_recursive_and_deeply_nested_bundles_answer_fast_with_exit_2(tmp_path, source, needle,
                                                                     command) -> None:
    """The probe: recursion segfaulted eval; 30-deep nesting did not parse in 120 s."""
    (tmp_path / "p.rego").write_text(source)
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "govchaos", "policy", command, str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert time.monotonic() - start < 10
    assert proc.returncode == 2, proc.stderr
    assert needle in proc.stderr and "Traceback" not in proc.stderr


def test_eval_of_recursive_bundle_is_exit_2_not_a_segfault(tmp_path) -> None:
    (tmp_path / "p.rego").write_text(RECURSIVE_REGO)
    (tmp_path / "in.json").write_text('{"route": "r", "tenant": "t"}')
    proc = subprocess.run([sys.executable, "-m", "govchaos", "policy", "eval", "--bundle",
                           str(tmp_path), "--input", str(tmp_path / "in.json")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "is recursive" in proc.stderr


@pytest.mark.parametrize(("source", "needle"), [
    ("package govchaos.other\nx := 1\n", "no module defines data.govchaos.gateway.decision"),
    ('package govchaos.gateway\ndecision := {"allow": true}\ndecision := {"allow": false}\n',
     "p.rego:3:1: rule data.govchaos.gateway.decision is defined unconditionally"),
    ("package govchaos.gateway\ndecision contains 1\n", "must be a complete rule"),
])
def test_check_refuses_what_the_gateway_would(tmp_path, capsys, source, needle) -> None:
    (tmp_path / "p.rego").write_text(source)
    assert main(["policy", "check", str(tmp_path)]) == 2
    assert needle in capsys.readouterr().err


def test_eval_input_with_duplicate_key_is_exit_2(tmp_path, capsys) -> None:
    path = tmp_path / "in.json"
    path.write_text('{"route": "customer-chat", "route": "x", "tenant": "globex-retail"}')
    assert main(["policy", "eval", "--bundle", str(POLICIES), "--input", str(path)]) == 2
    assert f"{path}:1:28: invalid JSON: duplicate key 'route'" in capsys.readouterr().err


def test_data_file_with_duplicate_key_is_exit_2_not_allow(tmp_path, capsys) -> None:
    """The probe: {"x": deny, "x": allow} in policies/data/*.json evaluated as allow."""
    root = _bundle(tmp_path, {"data/x.json": '{"x": {"allow": false},\n "x": {"allow": true}}'})
    assert main(["policy", "check", str(root)]) == 2
    assert "x.json:2:2: invalid JSON: duplicate key 'x' (first at line 1:2)" in capsys.readouterr().err
