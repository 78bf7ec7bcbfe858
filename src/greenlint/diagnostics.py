"""The values every layer passes around: findings, fixes and the edits that make them.

Positions inside greenlint are character offsets into the decoded source text; rows and
columns (1-based, like ruff's JSON) are derived only for output.
"""

from __future__ import annotations

import bisect
import enum
import functools
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field

DOCS_URL = "https://greenlint.dev/rules/{name}/"

# Energy impact classes, most energy wasted first: the order to fix findings in.
IMPACTS = ("high", "medium", "low")


class Applicability(enum.Enum):
    """How far a fix may be trusted (ruff's model)."""

    SAFE = "safe"  # keeps runtime behaviour; applied by --fix
    UNSAFE = "unsafe"  # may change behaviour; needs --unsafe-fixes
    DISPLAY_ONLY = "display-only"  # shown as advice, never applied

    def allowed(self, unsafe_fixes: bool) -> bool:
        if self is Applicability.SAFE:
            return True
        return self is Applicability.UNSAFE and unsafe_fixes


@dataclass(frozen=True)
class Edit:
    """Replace source[start:end] with content (an insertion when start == end)."""

    start: int
    end: int
    content: str = ""

    def position(self) -> tuple[int, int]:
        return self.start, self.end

    def overlaps(self, other: Edit) -> bool:
        if self.start == self.end == other.start == other.end:
            return True  # two insertions at one point: their order would be arbitrary
        return self.start < other.end and other.start < self.end


class FixUnavailable(Exception):
    """A rule could not build the edits it promised; the finding stays, unfixed."""


@dataclass
class Fix:
    """A fix whose edits may be built lazily: linting alone never pays for libcst."""

    applicability: Applicability
    message: str
    changes_numerics: bool = False
    build: Callable[[], list[Edit]] | None = field(default=None, repr=False)
    _edits: list[Edit] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.changes_numerics and self.applicability is Applicability.SAFE:
            raise ValueError("a fix that changes numerics is never safe")

    @property
    def edits(self) -> list[Edit]:
        """The edits, built on first use; raises FixUnavailable when they cannot be."""
        if self._edits is None:
            if self.build is None:
                raise FixUnavailable(self.message)
            # Stable by position: insertions at one offset keep the order the rule gave.
            self._edits = sorted(self.build(), key=Edit.position)
            if not self._edits:
                raise FixUnavailable(f"{self.message}: nothing to change")
        return self._edits


@dataclass
class Diagnostic:
    """One finding. `code` is None only for syntax errors, as in ruff."""

    code: str | None
    name: str
    message: str
    start: int
    end: int
    fix: Fix | None = None
    impact: str | None = None

    @property
    def url(self) -> str | None:
        return DOCS_URL.format(name=self.name) if self.code else None

    @property
    def impact_rank(self) -> int:
        """0 for the most energy wasted: syntax errors (nothing else can be checked) first,
        then high, medium, low impact."""
        if self.code is None:
            return 0
        return 1 + IMPACTS.index(self.impact) if self.impact in IMPACTS else 1 + len(IMPACTS)

    def at_least(self, impact: str) -> bool:
        """Whether this finding is as severe as `impact` (syntax errors always are)."""
        return self.impact_rank <= 1 + IMPACTS.index(impact)


def minimal_edit(old: str, new: str) -> Edit | None:
    """One edit turning `old` into `new`: the differing middle, after the common prefix and
    suffix; None when they are equal. Never splits a "\\r\\n" pair or a surrogate pair."""
    if old == new:
        return None
    limit = min(len(old), len(new))
    prefix = 0
    while prefix < limit and old[prefix] == new[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and old[len(old) - 1 - suffix] == new[len(new) - 1 - suffix]:
        suffix += 1
    start, old_end, new_end = prefix, len(old) - suffix, len(new) - suffix
    # Keep a CRLF pair whole: an LSP position cannot point between "\r" and "\n".
    if 0 < start and old[start - 1] == "\r" and start < len(old) and old[start] == "\n":
        start -= 1
    if old_end < len(old) and old[old_end] == "\n" and old_end > start and old[old_end - 1] == "\r":
        old_end += 1
        new_end += 1
    return Edit(start, old_end, new[start:new_end])


_NEWLINE = re.compile(r"\r\n|\r|\n")


class LineIndex:
    """Maps between character offsets, (row, column) pairs and the parser's byte columns."""

    def __init__(self, text: str) -> None:
        self.text = text

    @functools.cached_property
    def line_starts(self) -> list[int]:
        """Offset of each row's first character; built on first use (most files report nothing)."""
        text = self.text
        if "\r" in text:
            return [0] + [m.end() for m in _NEWLINE.finditer(text)]
        # The common case, without a Python-level step per line.
        return list(itertools.accumulate(map((1).__add__, map(len, text.split("\n")[:-1])), initial=0))

    def row_col(self, offset: int) -> tuple[int, int]:
        """1-based row and 1-based character column of an offset."""
        row = bisect.bisect_right(self.line_starts, offset) - 1
        return row + 1, offset - self.line_starts[row] + 1

    def line_start(self, row: int) -> int:
        return self.line_starts[row - 1]

    def line_end(self, row: int) -> int:
        """Offset just past the last character of the row, newline excluded."""
        end = self.line_starts[row] if row < len(self.line_starts) else len(self.text)
        text = self.text
        while end > self.line_starts[row - 1] and text[end - 1] in "\r\n":
            end -= 1
        return end

    def line_text(self, row: int) -> str:
        return self.text[self.line_start(row) : self.line_end(row)]

    def offset(self, row: int, byte_col: int) -> int:
        """Offset of the parser's (1-based line, UTF-8 byte column) position."""
        if row > len(self.line_starts):
            return len(self.text)
        start = self.line_starts[row - 1]
        if byte_col == 0:
            return start
        line = self.text[start : start + byte_col]
        if line.isascii():
            return start + byte_col
        return start + len(self.line_text(row).encode("utf-8")[:byte_col].decode("utf-8", "replace"))

    def node_range(self, node) -> tuple[int, int]:
        """Character range of an `ast` node."""
        start = self.offset(node.lineno, node.col_offset)
        end_line = getattr(node, "end_lineno", None) or node.lineno
        end_col = getattr(node, "end_col_offset", None)
        end = self.offset(end_line, end_col) if end_col is not None else start
        return start, end
