"""Output formats: text (with source line and caret), concise, json (ruff-compatible fields)."""

from __future__ import annotations

import difflib
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from greenlint.diagnostics import (
    IMPACTS,
    Applicability,
    Diagnostic,
    FixUnavailable,
    LineIndex,
)
from greenlint.notebook import CellMap

# The last five are rendered by greenlint.formats (CI: SARIF, GitHub annotations, JUnit, GitLab).
FORMATS = ("text", "concise", "json", "json-lines", "sarif", "github", "gitlab", "junit")
SORTS = ("file", "impact")


@dataclass
class FileReport:
    """A file's remaining findings, with what is needed to show them."""

    filename: str  # as shown to the user
    absolute: str  # for json
    lines: LineIndex
    diagnostics: list[Diagnostic]
    cells: CellMap | None = None  # a notebook's: `lines` index its virtual source

    def where(self, offset: int) -> tuple[int | None, int, int]:
        """(cell number or None, row, column) as the user sees them: in a notebook, the row
        counts within the cell."""
        row, column = self.lines.row_col(offset)
        if self.cells is None:
            return None, row, column
        cell, row = self.cells.where(row)
        return cell, row, column

    def location(self, offset: int) -> str:
        """'row:column', or 'cell N:row:column' in a notebook (ruff's notation)."""
        cell, row, column = self.where(offset)
        return f"{row}:{column}" if cell is None else f"cell {cell}:{row}:{column}"


def by_impact(reports: Sequence[FileReport]) -> list[FileReport]:
    """Each finding as its own report, most energy wasted first, then by file and position:
    the order in which to fix them. Clean files' reports (JUnit lists them) come last."""
    rows = [(d.impact_rank, i, d.start, n, report, d) for i, report in enumerate(reports) for n, d in enumerate(report.diagnostics)]
    rows.sort(key=lambda row: row[:4])
    ranked = [FileReport(report.filename, report.absolute, report.lines, [d], report.cells) for *_, report, d in rows]
    return ranked + [report for report in reports if not report.diagnostics]


def with_impact(diagnostic: Diagnostic) -> str:
    """The message with the finding's impact after it: '... (impact: medium)'."""
    return f"{diagnostic.message} (impact: {diagnostic.impact})" if diagnostic.impact else diagnostic.message


def _fix_marker(diagnostic: Diagnostic, unsafe_fixes: bool) -> str:
    fix = diagnostic.fix
    return "[*] " if fix is not None and fix.applicability.allowed(unsafe_fixes) else ""


def _location(report: FileReport, offset: int) -> dict[str, int]:
    _, row, column = report.where(offset)
    return {"row": row, "column": column}


def unified_diff(old: str, new: str, filename: str) -> str:
    return "".join(
        difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True), f"a/{filename}", f"b/{filename}")
    )


def render_concise(reports: Sequence[FileReport], unsafe_fixes: bool) -> str:
    out = []
    for report in reports:
        for d in report.diagnostics:
            code = f"{d.code} " if d.code else ""
            out.append(f"{report.filename}:{report.location(d.start)}: {code}{_fix_marker(d, unsafe_fixes)}{with_impact(d)}\n")
    return "".join(out)


def render_text(reports: Sequence[FileReport], unsafe_fixes: bool, evidence: Mapping[str, str] | None = None) -> str:
    """Full output; `evidence` maps a rule code to its one-line measured evidence."""
    out = []
    for report in reports:
        lines = report.lines
        for d in report.diagnostics:
            row, column = lines.row_col(d.start)
            end_row, end_column = lines.row_col(d.end)
            code = f"{d.code} " if d.code else ""
            out.append(f"{report.filename}:{report.location(d.start)}: {code}{_fix_marker(d, unsafe_fixes)}{d.message}\n")
            source = lines.line_text(row).expandtabs(4) if row <= len(lines.line_starts) else ""
            shown_row = report.where(d.start)[1]
            gutter = " " * len(str(shown_row))
            width = (end_column - column) if end_row == row else len(lines.line_text(row)) - column + 1
            prefix = lines.line_text(row)[: column - 1].expandtabs(4)
            caret = f"{' ' * len(prefix)}{'^' * max(width, 1)} {d.code or ''}".rstrip()
            out.append(f"{gutter} |\n{shown_row} | {source}\n{gutter} | {caret}\n{gutter} |\n")
            if d.fix is not None:
                kind = {Applicability.SAFE: "", Applicability.UNSAFE: " (unsafe fix)", Applicability.DISPLAY_ONLY: " (suggestion)"}
                out.append(f"{gutter} = help: {d.fix.message}{kind[d.fix.applicability]}\n")
            if d.impact:
                out.append(f"{gutter} = impact: {d.impact}\n")
            if evidence and evidence.get(d.code or ""):
                out.append(f"{gutter} = evidence: {evidence[d.code]}\n")
            out.append("\n")
    return "".join(out)


def render_json(reports: Sequence[FileReport]) -> str:
    items = []
    for report in reports:
        for d in report.diagnostics:
            items.append(
                {
                    "cell": report.where(d.start)[0],
                    "code": d.code,
                    "name": d.name,
                    "message": d.message,
                    "filename": report.absolute,
                    "location": _location(report, d.start),
                    "end_location": _location(report, d.end),
                    "fix": _json_fix(d, report),
                    "noqa_row": report.where(d.start)[1],
                    "url": d.url,
                    "impact": d.impact,
                }
            )
    return json.dumps(items, indent=2) + "\n"


def _json_fix(diagnostic: Diagnostic, report: FileReport) -> dict | None:
    fix = diagnostic.fix
    if fix is None:
        return None
    try:
        edits = [] if fix.applicability is Applicability.DISPLAY_ONLY and fix.build is None else fix.edits
    except FixUnavailable:
        return None
    return {
        "applicability": fix.applicability.value,
        "message": fix.message,
        "changes_numerics": fix.changes_numerics,
        "edits": [
            {"content": e.content, "location": _location(report, e.start), "end_location": _location(report, e.end)} for e in edits
        ],
    }


def render_statistics(reports: Sequence[FileReport], unsafe_fixes: bool, output_format: str) -> str:
    counts: Counter = Counter()
    names: dict[str, str] = {}
    impacts: dict[str, str] = {}
    fixable: Counter = Counter()
    for report in reports:
        for d in report.diagnostics:
            key = d.code or "syntax-error"
            counts[key] += 1
            names[key] = d.name
            impacts[key] = d.impact or ""
            if d.fix is not None and d.fix.applicability.allowed(unsafe_fixes):
                fixable[key] += 1
    if output_format == "json":
        rows = [{"code": c, "name": names[c], "impact": impacts[c] or None, "count": n, "fixable": fixable[c] > 0} for c, n in counts.most_common()]
        return json.dumps(rows, indent=2) + "\n"
    width = max((len(str(n)) for n in counts.values()), default=1)
    return "".join(
        f"{n:>{width}}\t{code}\t{impacts[code]:<6}\t{'[*] ' if fixable[code] else '    '}{names[code]}\n" for code, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    )


def failing(reports: Sequence[FileReport], fail_on: str = IMPACTS[-1]) -> int:
    """How many findings make the run fail: those of impact `fail_on` or higher."""
    return sum(1 for r in reports for d in r.diagnostics if d.at_least(fail_on))


def summary(reports: Sequence[FileReport], fixed: int, unsafe_fixes: bool, failed: int = 0, fail_on: str = IMPACTS[-1]) -> str:
    """The closing lines of text output, ruff-style. `failed`: files or fixes that errored,
    after which "All checks passed!" would be a lie. `fail_on`: the least impact that fails."""
    remaining = [d for r in reports for d in r.diagnostics]
    total = len(remaining)
    lines = []
    if total == 0 and fixed == 0:
        return "" if failed else "All checks passed!\n"
    noun = "error" if total + fixed == 1 else "errors"
    if fixed:
        lines.append(f"Found {total + fixed} {noun} ({fixed} fixed, {total} remaining).")
    else:
        lines.append(f"Found {total} {noun}.")
    fixable = sum(1 for d in remaining if d.fix is not None and d.fix.applicability.allowed(unsafe_fixes))
    hidden = sum(1 for d in remaining if d.fix is not None and d.fix.applicability is Applicability.UNSAFE and not unsafe_fixes)
    if fixable or hidden:
        parts = []
        if fixable:
            parts.append(f"[*] {fixable} fixable with the `--fix` option")
        if hidden:
            prefix = "" if fixable else "No fixes available "
            parts.append(f"{prefix}({hidden} hidden fix{'es' if hidden != 1 else ''} can be enabled with the `--unsafe-fixes` option)")
        lines.append(" ".join(parts) + ".")
    below = total - failing(reports, fail_on)
    if below:
        lines.append(f"{below} below the fail-on impact (\"{fail_on}\") do not fail the run.")
    return "\n".join(lines) + "\n"
