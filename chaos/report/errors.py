"""Errors of report rendering, signing orchestration and verification.

    ChaosError
     └── ReportError              (exit 2) stable ``code``
          ├── ReportDirError      the directory is not a report directory, or report.json is unreadable
          └── ReportUsageError    the verification options do not fit the report (e.g. no key given)

A report that *does not verify* is not an error here: :func:`chaos.report.verify_report` returns a
:class:`~chaos.report.verify.Verification` whose checks say what failed (exit 1 in the CLI).
Signing failures are :class:`governance.attest.SigningError` / ``KeyFileError`` (exit 2).
"""

from __future__ import annotations

from chaos.errors import ChaosError


class ReportError(ChaosError):
    code = "report_error"
    exit_code = 2


class ReportDirError(ReportError):
    code = "report_dir_invalid"


class ReportUsageError(ReportError):
    code = "report_usage"
