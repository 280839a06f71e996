"""The shell scripts in the CI files `govchaos init` writes, and the govchaos commands in them.

Shared by tests/integration/test_ci_workflows.py (every command parses with the real CLI) and
tests/integration/test_install.py (the GitHub chaos job's steps run for real).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")  # GitHub's ${{ matrix.scenario }}
_VARIABLE = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}|\$(\w+)")
_SEPARATORS = {";", "&&", "||", "|", "(", ")", "&"}
_KEYWORDS = {"if", "then", "else", "elif", "fi", "do", "done", "while", "until", "!"}


@dataclass(frozen=True)
class Script:
    """One shell script: a GitHub step's ``run`` or a GitLab job's script list, joined."""

    file: str
    job: str
    name: str
    text: str
    env: dict[str, str]
    step: dict[str, Any] | None = None


def load(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as fh:
        doc = yaml.safe_load(fh)
    assert isinstance(doc, dict), f"{path}: not a YAML mapping"
    return doc


def github_scripts(path: Path) -> list[Script]:
    doc = load(path)
    out = []
    for job_name, job in doc["jobs"].items():
        for index, step in enumerate(job["steps"]):
            if "run" in step:
                env = {**job.get("env", {}), **step.get("env", {})}
                out.append(Script(str(path), job_name, step.get("name", f"step {index}"),
                                  step["run"], {k: str(v) for k, v in env.items()}, step))
    return out


def gitlab_scripts(path: Path) -> list[Script]:
    doc = load(path)
    out = []
    default = doc.get("default", {})
    for job_name, job in doc.items():
        if not isinstance(job, dict) or "script" not in job:
            continue
        for part in ("before_script", "script", "after_script"):
            lines = job.get(part, default.get(part) if part != "script" else None)
            if lines:
                out.append(Script(str(path), job_name, part, "\n".join(lines),
                                  {k: str(v) for k, v in job.get("variables", {}).items()}))
    return out


def fill_expressions(text: str, context: dict[str, str]) -> str:
    """Replace GitHub ``${{ expr }}`` with values from ``context`` (keyed by the expression's
    text); an expression with no value fails the test."""

    def sub(match: re.Match[str]) -> str:
        key = match.group(1)
        assert key in context, f"no value for the expression ${{{{ {key} }}}}"
        return context[key]

    return _EXPRESSION.sub(sub, text)


def govchaos_commands(text: str, env: dict[str, str]) -> list[list[str]]:
    """Every ``govchaos ...`` simple command in a shell script, variables expanded from
    ``env`` (``${X:-default}`` honoured); a variable with no value fails the test."""
    commands: list[list[str]] = []
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|()")
        lexer.whitespace_split = True
        lexer.commenters = ""
        tokens = list(lexer)
        current: list[str] = []
        for token in tokens + [";"]:
            if token in _SEPARATORS:
                words = _without_redirections(current)
                while words and (words[0] in _KEYWORDS or re.match(r"^\w+=", words[0])):
                    words.pop(0)
                if words and words[0] == "govchaos":
                    commands.append([_expand(w, env) for w in words])
                current = []
            else:
                current.append(token)
    return commands


def _without_redirections(words: list[str]) -> list[str]:
    """Drop ``> file``, ``2>&1``, ``>> file``, ``< file`` (the shell's business, not argv)."""
    out: list[str] = []
    skip = False
    for word in words:
        if skip:
            skip = False
            continue
        match = re.fullmatch(r"\d*(>>|>|<)(&\d+)?(.*)", word)
        if match:
            skip = not match.group(2) and not match.group(3)  # the target is the next word
            continue
        out.append(word)
    return out


def _expand(word: str, env: dict[str, str]) -> str:
    def sub(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(3)
        if name in env:
            return env[name]
        assert match.group(2) is not None, f"the script uses ${name}, which has no value"
        return match.group(2)

    return _VARIABLE.sub(sub, word)
