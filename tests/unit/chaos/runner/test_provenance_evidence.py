"""Provenance (git state, CI identity) and the evidence tables of report.json."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from chaos.report.records import RequestRecord
from chaos.runner.evidence import data_class_matrix, shape_of, upstream_table
from chaos.runner.provenance import ci_from_env, git_info
from chaos.scenario.model import UpstreamSpec
from governance.decision import Decision


def test_github_actions_identity() -> None:
    ci = ci_from_env({"GITHUB_ACTIONS": "true", "GITHUB_SERVER_URL": "https://github.example",
                      "GITHUB_REPOSITORY": "acme/gw", "GITHUB_RUN_ID": "77", "GITHUB_SHA": "abc",
                      "GITHUB_WORKFLOW": "chaos", "GITHUB_REF": "refs/heads/main"})
    assert ci is not None and ci.provider == "github-actions"
    assert ci.run_url == "https://github.example/acme/gw/actions/runs/77"
    assert (ci.commit, ci.workflow, ci.ref) == ("abc", "chaos", "refs/heads/main")


def test_gitlab_jenkins_generic_and_none() -> None:
    gl = ci_from_env({"GITLAB_CI": "true", "CI_JOB_URL": "https://gl.example/j/1",
                      "CI_PIPELINE_URL": "https://gl.example/p/9", "CI_COMMIT_SHA": "def"})
    assert gl is not None and (gl.provider, gl.job_url, gl.run_url, gl.commit) == (
        "gitlab-ci", "https://gl.example/j/1", "https://gl.example/p/9", "def")
    jk = ci_from_env({"BUILD_URL": "https://ci.example/job/x/3/"})
    assert jk is not None and jk.provider == "jenkins" and jk.run_url == "https://ci.example/job/x/3/"
    assert ci_from_env({"CI": "true"}).provider == "generic"  # type: ignore[union-attr]
    assert ci_from_env({"CI": "", "HOME": "/root"}) is None


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_info_commit_and_dirty(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "policies").mkdir(parents=True)
    (repo / "policies" / "a.rego").write_text("package x\n")
    env = ["-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), *env, "add", "."], check=True)
    subprocess.run(["git", "-C", str(repo), *env, "commit", "-qm", "x"], check=True)
    info = git_info(repo / "policies")
    assert info is not None and info.path == "policies" and info.dirty is False
    assert info.commit and len(info.commit) == 40
    (repo / "policies" / "b.rego").write_text("package y\n")  # untracked counts as dirty
    assert git_info(repo / "policies").dirty is True  # type: ignore[union-attr]


def test_git_info_outside_a_work_tree(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text("x")
    assert git_info(tmp_path / "s.yaml") is None


def _record(rid: str, classes: tuple[str, ...], route: str = "r") -> RequestRecord:
    return RequestRecord(request_id=rid, sent_at_s=0.0, ended_at_s=0.1, route=route, tenant="t",
                         data_classes=classes, status=200, latency_ms=1.0)


def test_matrix_counts_received_and_marks_policy() -> None:
    records = {"a": _record("a", ("pii",), "claims"), "b": _record("b", ("public",), "chat")}
    decisions = {
        shape_of(records["a"]): Decision(allow=True, allowed=("private",)),
        shape_of(records["b"]): Decision(allow=True, allowed=("private", "cloud")),
    }
    entries = [
        SimpleNamespace(served_model="private", content_request_ids=("a",), request_id=None, user=None),
        SimpleNamespace(served_model="cloud", content_request_ids=("b",), request_id=None, user=None),
        SimpleNamespace(served_model="cloud", content_request_ids=(), request_id="a", user=None),
        SimpleNamespace(served_model="cloud", content_request_ids=(), request_id=None, user=None,
                        content_excerpt=None),  # a health probe: left out
        SimpleNamespace(served_model="cloud", content_request_ids=("zzz",), request_id=None, user=None),
    ]
    m = data_class_matrix(entries, records, decisions, ["private", "cloud"])
    cells = {(c.model, c.data_class): c for c in m.cells}
    assert m.data_classes == ("pii", "public")
    assert (cells[("private", "pii")].received, cells[("private", "pii")].policy) == (1, "allowed")
    # The cloud model received a PII request: a forbidden cell with a count is a violation.
    assert (cells[("cloud", "pii")].received, cells[("cloud", "pii")].policy) == (1, "forbidden")
    assert (cells[("cloud", "public")].received, cells[("cloud", "public")].policy) == (1, "allowed")
    assert m.unattributed == {"cloud": 1}


def test_upstream_table_prefers_the_catalog() -> None:
    specs = [UpstreamSpec(name="u1", model="m1", hosting="private", region="eu"),
             UpstreamSpec(name="u2", model="m2", hosting="cloud", region="us")]
    rows = upstream_table(specs, {"m1": {"hosting": "private", "region": "eu-central-1",
                                         "jurisdiction": "eu", "provider": "p"}})
    assert (rows[0].region, rows[0].jurisdiction, rows[0].source) == ("eu-central-1", "eu", "catalog")
    assert (rows[1].region, rows[1].jurisdiction, rows[1].source) == ("us", None, "scenario")
