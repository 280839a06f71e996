"""The report contract, and rendering, signing and verifying report directories.

>>> from chaos.report import finalize_report, verify_report, render_directory

- :mod:`chaos.report.model` — ``report.json`` (:class:`~chaos.report.model.Report`), its JSON
  Schema and atomic write; :mod:`chaos.report.records` — the records it is made of and the lines
  of ``requests.jsonl``. The runner produces them; nothing here imports the runner.
- :func:`finalize_report` — render ``report.html``, ``report.md``, ``junit.xml`` into a run
  directory and sign every file of it (organisation key, ephemeral key, or keyless).
- :func:`verify_report` — the checks behind ``govchaos report verify`` (signature, subject
  digests, completeness, audit chain, report schema, predicate consistency).
- :func:`load_view` / :func:`render_html` / :func:`render_markdown` / :func:`render_junit` — the
  renderers on their own.
"""

from chaos.report.errors import ReportDirError, ReportError, ReportUsageError
from chaos.report.finalize import (
    HTML_FILE,
    JUNIT_FILE,
    MARKDOWN_FILE,
    FinalizeResult,
    finalize_report,
    render_directory,
)
from chaos.report.html import render_html
from chaos.report.junit import render_junit
from chaos.report.markdown import render_markdown
from chaos.report.signing import EPHEMERAL_PUBLIC_KEY, SigningInfo, make_signer, predicate_for, verify_command
from chaos.report.verify import CHECKS, Check, Verification, verify_report
from chaos.report.view import ReportView, load_view

__all__ = [
    "CHECKS",
    "EPHEMERAL_PUBLIC_KEY",
    "HTML_FILE",
    "JUNIT_FILE",
    "MARKDOWN_FILE",
    "Check",
    "FinalizeResult",
    "ReportDirError",
    "ReportError",
    "ReportUsageError",
    "ReportView",
    "SigningInfo",
    "Verification",
    "finalize_report",
    "load_view",
    "make_signer",
    "predicate_for",
    "render_directory",
    "render_html",
    "render_junit",
    "render_markdown",
    "verify_command",
    "verify_report",
]
