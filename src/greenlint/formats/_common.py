"""What the CI formats share: run information, paths relative to the working folder, positions."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from greenlint.diagnostics import Applicability, Diagnostic, FixUnavailable
from greenlint.report import FileReport

SYNTAX_ERROR = "syntax-error"  # the id syntax errors (code None) get where a format needs one


@dataclass(frozen=True)
class RunInfo:
    cwd: Path  # paths are shown relative to it
    unsafe_fixes: bool = False
    errors: Sequence[str] = field(default_factory=tuple)  # files that could not be checked


def relative_path(report: FileReport, cwd: Path) -> str | None:
    """The report's file relative to cwd with forward slashes, or None when it lies outside
    cwd (or is stdin without --stdin-filename)."""
    shown = report.filename
    if shown == "-":
        return None
    full = shown if os.path.isabs(shown) else os.path.join(cwd, shown)
    try:
        rel = os.path.relpath(full, cwd)
    except ValueError:  # another drive on Windows
        return None
    if rel == os.pardir or rel.startswith(os.pardir + os.sep):
        return None
    return rel.replace(os.sep, "/")


def absolute_path(report: FileReport, cwd: Path) -> str:
    shown = report.filename
    return os.path.abspath(shown if os.path.isabs(shown) else os.path.join(cwd, shown))


def display_path(report: FileReport, cwd: Path) -> str:
    """Relative to cwd where possible (what CI systems resolve against the checkout), else absolute."""
    if report.filename == "-":
        return "-"
    return relative_path(report, cwd) or absolute_path(report, cwd).replace(os.sep, "/")


def span(report: FileReport, diagnostic: Diagnostic) -> tuple[int, int, int, int]:
    """1-based (row, column, end row, end column); the end column is exclusive (ruff's). In a
    notebook the rows count within the finding's cell."""
    _, row, column = report.where(diagnostic.start)
    _, end_row, end_column = report.where(diagnostic.end)
    return row, column, end_row, end_column


def rule_id(diagnostic: Diagnostic) -> str:
    return diagnostic.code or SYNTAX_ERROR


def title(diagnostic: Diagnostic) -> str:
    """'GL101 inference-without-no-grad', or 'syntax-error'."""
    return f"{diagnostic.code} {diagnostic.name}" if diagnostic.code else SYNTAX_ERROR




def applicable_edits(diagnostic: Diagnostic):
    """The edits of a fix greenlint can apply (safe or unsafe; the caller labels which); None
    for a display-only suggestion, no fix, or edits that were not resolved."""
    fix = diagnostic.fix
    if fix is None or fix.applicability is Applicability.DISPLAY_ONLY:
        return None
    try:
        return fix.edits
    except FixUnavailable:
        return None
