"""`greenlint check --add-noqa`: suppress every current finding with a `# noqa: GLnnn` comment.

A finding is suppressed by a `# noqa` on its first or its last line (greenlint.engine). The
directive goes on the first of those lines that can end in a comment: not one whose end lies
inside a multi-line string, nor one continued with a backslash. So a finding that starts inside
a triple-quoted string gets its directive on the line where the string (and the finding) ends,
as in ruff. Codes merge into a `# noqa: ...` comment already on the line. Files with a syntax
error are skipped. Every file is written atomically (greenlint.source.write_source), and only
after checking that the new text really suppresses each finding it was meant to.
"""

from __future__ import annotations

import io
import tokenize
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from greenlint.diagnostics import Diagnostic, LineIndex
from greenlint.engine import _NOQA, noqa_codes
from greenlint.notebook import Notebook, NotebookError
from greenlint.report import FileReport
from greenlint.source import SourceError, read_source, write_source


@dataclass
class NoqaOutcome:
    added: int = 0  # lines given (or extended with) a directive
    errors: list[str] = field(default_factory=list)


def add_noqa(reports: Sequence[FileReport]) -> NoqaOutcome:
    outcome = NoqaOutcome()
    for report in reports:
        if not report.diagnostics or any(d.code is None for d in report.diagnostics):
            continue  # nothing to do, or a syntax error: positions mean nothing
        try:
            source = read_source(Path(report.absolute), report.filename)
        except SourceError as error:
            outcome.errors.append(str(error))
            continue
        try:
            # A notebook's findings point into its cells' code, which goes back into its JSON.
            notebook = Notebook(source.text, report.filename) if report.cells is not None else None
        except NotebookError as error:
            outcome.errors.append(str(error))
            continue
        code = notebook.source if notebook else source.text
        if code != report.lines.text:
            outcome.errors.append(f"{report.filename}: changed on disk since it was checked; no noqa added")
            continue
        new_text, changed, problems = add_noqa_to_text(code, report.diagnostics)
        outcome.errors.extend(f"{report.filename}:{problem}" for problem in problems)
        if not changed:
            continue
        try:
            write_source(source, notebook.apply(new_text) if notebook else new_text)
        except (SourceError, NotebookError) as error:
            outcome.errors.append(str(error))
            continue
        outcome.added += changed
    return outcome


def add_noqa_to_text(text: str, diagnostics: Iterable[Diagnostic]) -> tuple[str, int, list[str]]:
    """The text with directives added, how many lines changed, and one 'row: problem' line per
    finding that could not be suppressed."""
    lines = LineIndex(text)
    layout = _Layout(text, lines)
    wanted: dict[int, set[str]] = {}
    problems: list[str] = []
    placed: list[tuple[Diagnostic, tuple[int, ...]]] = []
    for d in diagnostics:
        if d.code is None:
            continue
        rows = _candidate_rows(d, lines)
        row = next((r for r in rows if layout.can_end_with_comment(r)), None)
        if row is None:
            problems.append(f"{rows[0]}: no line of the {d.code} finding can take a `# noqa` comment")
            continue
        wanted.setdefault(row, set()).add(d.code)
        placed.append((d, rows))
    new_lines = {row: _with_codes(lines.line_text(row), codes, layout.comment_column(row)) for row, codes in wanted.items()}
    new_lines = {row: line for row, line in new_lines.items() if line is not None and line != lines.line_text(row)}
    # Apply from the bottom so earlier offsets stay valid.
    out = text
    for row in sorted(new_lines, reverse=True):
        out = out[: lines.line_start(row)] + new_lines[row] + out[lines.line_end(row) :]
    after = LineIndex(out)
    for d, rows in placed:
        if not any(_suppresses(after.line_text(r), d.code) for r in rows):
            problems.append(f"{rows[0]}: could not add a `# noqa: {d.code}` that greenlint would honour on this line")
    return out, len(new_lines), problems


def _candidate_rows(d: Diagnostic, lines: LineIndex) -> tuple[int, ...]:
    start_row, _ = lines.row_col(d.start)
    end_row, _ = lines.row_col(d.end)
    return (start_row,) if end_row == start_row else (start_row, end_row)


def _suppresses(line: str, code: str) -> bool:
    codes = noqa_codes(line)
    return codes is not None and (not codes or code in codes)


def _with_codes(line: str, codes: set[str], comment_column: int | None) -> str | None:
    """The line with `codes` added to its directive; None when that cannot be done safely."""
    match = _NOQA.search(line)
    if match is not None:
        if comment_column is None or match.start() < comment_column:
            return None  # the text the engine reads as a directive is not in a comment (a string)
        existing = noqa_codes(line)
        if not existing:
            return line  # a bare `# noqa` already covers everything
        merged = sorted(existing | codes)
        return f"{line[: match.start()]}# noqa: {', '.join(merged)}{line[match.end():]}"
    body = line.rstrip(" \t\f")
    return f"{body}  # noqa: {', '.join(sorted(codes))}"


class _Layout:
    """Which physical lines end outside any token (so a comment may follow), and where each
    line's comment starts, from the tokenizer."""

    def __init__(self, text: str, lines: LineIndex) -> None:
        self.ends_clean: set[int] = set()
        self.comments: dict[int, int] = {}  # row -> 0-based column of its comment
        rows = len(lines.line_starts)
        physical = [lines.line_text(row) + "\n" for row in range(1, rows + 1)]
        try:
            for token in tokenize.generate_tokens(io.StringIO("".join(physical)).readline):
                if token.type in (tokenize.NEWLINE, tokenize.NL):
                    self.ends_clean.add(token.start[0])
                elif token.type == tokenize.COMMENT:
                    self.comments.setdefault(token.start[0], token.start[1])
        except (tokenize.TokenError, SyntaxError):
            pass  # rows found before the error stay usable; the rest get no directive

    def can_end_with_comment(self, row: int) -> bool:
        return row in self.ends_clean

    def comment_column(self, row: int) -> int | None:
        return self.comments.get(row)
