"""Text edits the server builds on its own: keeping a buffer in sync with the editor's
incremental changes, the smallest edit between two texts (fix-all), and `# noqa` comments
(disable a rule for a line). Pure Python, no pygls."""

from __future__ import annotations

import ast
import re

from greenlint.diagnostics import Edit, LineIndex
from greenlint.engine import _NOQA, parse
from greenlint.lsp.positions import PositionMap


def apply_change(text: str, change_range: tuple[tuple[int, int], tuple[int, int]] | None, new_text: str, encoding: str) -> str:
    """`text` after one `textDocument/didChange` content change (None: the whole text)."""
    if change_range is None:
        return new_text
    positions = PositionMap(text, encoding)
    (start_line, start_char), (end_line, end_char) = change_range
    start = positions.offset(start_line, start_char)
    end = max(start, positions.offset(end_line, end_char))
    return text[:start] + new_text + text[end:]


def _same_tree(before: str, after: str) -> bool:
    """Whether `after` parses to the same tree as `before`: the comment went nowhere it counts."""
    try:
        return ast.dump(parse(before, "<noqa>")) == ast.dump(parse(after, "<noqa>"))
    except (SyntaxError, ValueError, RecursionError):
        return False


def noqa_edit(text: str, code: str, start: int, end: int) -> Edit | None:
    """The edit that silences `code` for a finding at [start, end): `  # noqa: CODE` at the end of
    its first line, or CODE added to that line's `# noqa: ...` list. Falls back to the finding's
    last line where the first cannot take a comment (it ends with a line continuation, or inside
    a string). None when neither can."""
    lines = LineIndex(text)
    rows = [lines.row_col(start)[0]]
    last = lines.row_col(max(start, end - 1) if end > start else start)[0]
    if last != rows[0]:
        rows.append(last)
    for row in rows:
        edit = _noqa_on_row(text, lines, row, code)
        if edit is None:
            continue
        line = lines.line_text(row)
        risky = line.rstrip().endswith("\\") or "'" in line or '"' in line
        after = text[: edit.start] + edit.content + text[edit.end :]
        if not risky or _same_tree(text, after):
            return edit
    return None


def _noqa_on_row(text: str, lines: LineIndex, row: int, code: str) -> Edit | None:
    line_start = lines.line_start(row)
    line = lines.line_text(row)
    match = _NOQA.search(line)
    if match is not None:
        codes = match.group("codes")
        if not codes:
            return None  # a bare noqa comment silences every code already
        if code in {c.upper() for c in re.split(r"[\s,]+", codes) if c}:
            return None
        at = line_start + match.end("codes")
        return Edit(at, at, f", {code}")
    stripped = line.rstrip()
    return Edit(line_start + len(stripped), line_start + len(line), f"  # noqa: {code}")
