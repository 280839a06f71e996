"""Where a run's inputs came from: git state of the policy bundle and scenario, CI run identity.

>>> ci_from_env({"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/gw",
...              "GITHUB_RUN_ID": "42", "GITHUB_RUN_ATTEMPT": "2"}).run_url
'https://github.com/acme/gw/actions/runs/42/attempts/2'
>>> ci_from_env({}) is None
True

Inner code never reads ``os.environ``: the CLI passes the environment to :func:`ci_from_env`
and the runner records the result (``report.json`` ``provenance``, also in the signed
predicate). Git facts come from ``git`` itself, run read-only with a short timeout; a path that
is not in a git work tree (or no ``git`` on the machine) simply has no git provenance.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path

from chaos.report.model import CiInfo, GitInfo

GIT_TIMEOUT_S = 5.0


def _git(cwd: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, text=True,
                              timeout=GIT_TIMEOUT_S, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def git_info(path: str | Path) -> GitInfo | None:
    """Commit and dirty flag of ``path`` (a file or directory) in its git work tree, or None.

    ``dirty`` is true when ``path`` (or anything under it) differs from that commit: modified,
    staged or untracked files. ``path`` in the result is relative to the work tree's root.
    """
    target = Path(path).resolve()
    cwd = target if target.is_dir() else target.parent
    top = _git(cwd, "rev-parse", "--show-toplevel")
    if top is None:
        return None
    root = Path(top.strip())
    commit = _git(root, "rev-parse", "HEAD")
    try:
        relative = target.relative_to(root).as_posix() or "."
    except ValueError:
        relative = str(target)
    status = _git(root, "status", "--porcelain", "--untracked-files=all", "--", relative)
    return GitInfo(
        path=relative,
        commit=commit.strip() if commit else None,  # None: a repository with no commit yet
        dirty=None if status is None else bool(status.strip()),
    )


def ci_from_env(env: Mapping[str, str]) -> CiInfo | None:
    """The CI run that made this report, from its environment variables; None outside CI.

    GitHub Actions (``GITHUB_SERVER_URL``, ``GITHUB_REPOSITORY``, ``GITHUB_RUN_ID``, …), GitLab
    CI (``CI_JOB_URL``, ``CI_PIPELINE_URL``, …), Jenkins (``BUILD_URL``, …), and any other CI
    that sets ``CI`` (recorded as ``generic``).
    """
    def get(name: str) -> str | None:
        value = env.get(name)
        return value.strip() or None if isinstance(value, str) else None

    if get("GITHUB_RUN_ID") or get("GITHUB_ACTIONS"):
        server, repo, run = get("GITHUB_SERVER_URL"), get("GITHUB_REPOSITORY"), get("GITHUB_RUN_ID")
        attempt = get("GITHUB_RUN_ATTEMPT")
        url = f"{server.rstrip('/')}/{repo}/actions/runs/{run}" if server and repo and run else None
        if url and attempt:
            url += f"/attempts/{attempt}"
        return CiInfo(provider="github-actions", run_url=url, repository=repo, run_id=run,
                      run_attempt=attempt, workflow=get("GITHUB_WORKFLOW"), job=get("GITHUB_JOB"),
                      ref=get("GITHUB_REF"), commit=get("GITHUB_SHA"), actor=get("GITHUB_ACTOR"))
    if get("GITLAB_CI") or get("CI_JOB_URL"):
        return CiInfo(provider="gitlab-ci", run_url=get("CI_PIPELINE_URL"), job_url=get("CI_JOB_URL"),
                      repository=get("CI_PROJECT_PATH"), run_id=get("CI_PIPELINE_ID"),
                      job=get("CI_JOB_NAME"), ref=get("CI_COMMIT_REF_NAME"),
                      commit=get("CI_COMMIT_SHA"), actor=get("GITLAB_USER_LOGIN"))
    if get("JENKINS_URL") or get("BUILD_URL"):
        return CiInfo(provider="jenkins", run_url=get("BUILD_URL"), job=get("JOB_NAME"),
                      run_id=get("BUILD_NUMBER"), commit=get("GIT_COMMIT"), ref=get("GIT_BRANCH"))
    if (get("CI") or "").lower() in ("true", "1", "yes"):
        return CiInfo(provider="generic")
    return None
