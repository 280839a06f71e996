"""Finishing a run's directory: render report.html, report.md and junit.xml, then sign it all.

>>> result = finalize_report(run_dir)  # ephemeral key   # doctest: +SKIP
>>> print(result.verify_command)                      # doctest: +SKIP
govchaos report verify reports/provider-outage-20250101T120000Z

Order matters: the signer is chosen first (a bad key or a missing OIDC token fails before any
file is written), then the ephemeral public key is written and the renderings (which say how the
report is signed), and the signature last, over every file of the directory.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from chaos.report.errors import ReportDirError
from chaos.report.html import render_html
from chaos.report.junit import render_junit
from chaos.report.markdown import render_markdown
from chaos.report.model import file_mode
from chaos.report.signing import (
    EPHEMERAL_PUBLIC_KEY,
    SigningInfo,
    make_signer,
    predicate_for,
    verify_command,
    write_ephemeral_key,
)
from chaos.report.view import load_view, read_report_file
from governance.attest import BUNDLE_FILENAME, StatementError, sign_directory
from governance.errors import Location

HTML_FILE = "report.html"
MARKDOWN_FILE = "report.md"
JUNIT_FILE = "junit.xml"


class FinalizeResult(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    run_dir: str
    rendered: tuple[str, ...]
    bundle: str
    signing: SigningInfo
    verify_command: str


def _write(path: Path, text: str) -> None:
    """Write via a temporary file. Raises :class:`ReportDirError` when it cannot be written."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)  # never leave a stray file that would then be signed
        raise ReportDirError(
            f"cannot write {path.name}: {exc.strerror or exc}", location=Location(str(path))
        ) from exc


def _same_mode(root: Path) -> None:
    """Give every file of the directory one mode (modes are not signed; mixed ones confuse).

    Files come from several writers (the gateway's audit log, ``mkstemp``, the signer), each
    with its own idea of a mode; the umask's mode for new files is the one they all get.
    """
    mode = file_mode()
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            try:
                os.chmod(path, mode)
            except OSError as exc:
                raise ReportDirError(f"cannot set the mode of {path.name}: {exc.strerror or exc}",
                                     location=Location(str(path))) from exc


def render_directory(run_dir: str | Path, signing: SigningInfo | None = None) -> tuple[str, ...]:
    """Write report.html, report.md and junit.xml into ``run_dir``; return their names.

    Raises :class:`~chaos.report.errors.ReportDirError` for a missing or invalid report.json.
    """
    root = Path(run_dir)
    # The rendered verify command is relative to the report directory ("."): it is read there
    # (report.html) or next to it (report.md in a PR), never on the machine that made it.
    view = load_view(root, signing, display_dir=".")
    _write(root / HTML_FILE, render_html(view))
    _write(root / MARKDOWN_FILE, render_markdown(view))
    _write(root / JUNIT_FILE, render_junit(view))
    return (HTML_FILE, MARKDOWN_FILE, JUNIT_FILE)


def finalize_report(
    run_dir: str | Path,
    *,
    key: str | os.PathLike[str] | None = None,
    keyless: bool = False,
    identity_token: str | None = None,
) -> FinalizeResult:
    """Render and sign ``run_dir`` (``key``: organisation key; ``keyless``; else ephemeral).

    Raises :class:`~chaos.report.errors.ReportDirError` (no valid report.json),
    :class:`~governance.attest.KeyFileError` (unusable key),
    :class:`~governance.attest.SigningError` (keyless without a usable token, Sigstore down),
    :class:`~chaos.report.errors.ReportDirError` also for a symbolic link in the directory.
    """
    root = Path(run_dir)
    report = read_report_file(root)
    signer, signing = make_signer(key=key, keyless=keyless, identity_token=identity_token)
    stale = root / EPHEMERAL_PUBLIC_KEY
    if not signing.ephemeral and stale.is_file():
        stale.unlink()  # left by an earlier ephemeral signing of this directory
    try:
        write_ephemeral_key(signer, root, signing)
    except OSError as exc:
        raise ReportDirError(
            f"cannot write {EPHEMERAL_PUBLIC_KEY}: {exc.strerror or exc}",
            location=Location(str(root / EPHEMERAL_PUBLIC_KEY)),
        ) from exc
    rendered = render_directory(root, signing)
    try:
        bundle = sign_directory(root, predicate_for(report, signing), signer, bundle_name=BUNDLE_FILENAME)
    except StatementError as exc:  # e.g. a symbolic link: bad input (exit 2), not a failed check
        raise ReportDirError(f"cannot sign this directory: {exc.message}", location=exc.location) from exc
    except OSError as exc:  # the bundle file cannot be written (read-only directory, a dir there)
        raise ReportDirError(
            f"cannot write {BUNDLE_FILENAME}: {exc.strerror or exc}",
            location=Location(str(root / BUNDLE_FILENAME)),
        ) from exc
    _same_mode(root)
    return FinalizeResult(
        run_dir=str(run_dir),
        rendered=rendered,
        bundle=bundle.name,
        signing=signing,
        verify_command=verify_command(str(run_dir), signing),
    )
