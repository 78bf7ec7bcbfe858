"""Character offsets (greenlint's positions) to and from LSP positions.

An LSP position is a 0-based line and a column counted in the code units of the negotiated
position encoding: UTF-16 by default, so a character outside the Basic Multilingual Plane (an
emoji, say) counts twice. LSP lines end at "\\n", "\\r\\n" or "\\r", and nowhere else (unlike
`str.splitlines`, which also breaks at form feeds, U+2028 and friends).

Pure Python, no pygls: the mapping is tested on its own.
"""

from __future__ import annotations

import bisect
import re

UTF8, UTF16, UTF32 = "utf-8", "utf-16", "utf-32"
_NEWLINE = re.compile(r"\r\n|\r|\n")


def _units(encoding: str, text: str) -> int:
    """Code units `text` takes in `encoding`."""
    if encoding == UTF32 or text.isascii():
        return len(text)
    if encoding == UTF8:
        return len(text.encode("utf-8", "surrogatepass"))
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _char_units(encoding: str, char: str) -> int:
    code = ord(char)
    if encoding == UTF16:
        return 2 if code > 0xFFFF else 1
    if encoding == UTF8:
        return 1 if code < 0x80 else 2 if code < 0x800 else 3 if code < 0x10000 else 4
    return 1


class PositionMap:
    """Offsets <-> (line, column in code units) for one text."""

    def __init__(self, text: str, encoding: str = UTF16) -> None:
        self.text = text
        self.encoding = encoding if encoding in (UTF8, UTF16, UTF32) else UTF16
        self.line_starts = [0] + [m.end() for m in _NEWLINE.finditer(text)]

    def _content_end(self, line: int) -> int:
        """Offset just past the last character of `line`, its line break excluded."""
        end = self.line_starts[line + 1] if line + 1 < len(self.line_starts) else len(self.text)
        start = self.line_starts[line]
        while end > start and self.text[end - 1] in "\r\n":
            end -= 1
        return end

    def position(self, offset: int) -> tuple[int, int]:
        """(line, character) of a character offset. An offset inside a "\\r\\n" pair maps to
        the end of its line."""
        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(self.line_starts, offset) - 1
        start = self.line_starts[line]
        offset = min(offset, self._content_end(line))
        return line, _units(self.encoding, self.text[start:offset])

    def offset(self, line: int, character: int) -> int:
        """Character offset of an LSP position. A line past the end means the end of the text;
        a column past the line's end means its end (as the protocol asks); a column in the middle
        of a character's code units means the start of that character."""
        if line < 0:
            return 0
        if line >= len(self.line_starts):
            return len(self.text)
        start = self.line_starts[line]
        end = self._content_end(line)
        character = max(character, 0)
        if self.encoding == UTF32 or self.text[start:end].isascii():
            return min(start + character, end)
        units = 0
        for index in range(start, end):
            units += _char_units(self.encoding, self.text[index])
            if units > character:
                return index
        return end

    def range(self, start: int, end: int) -> tuple[tuple[int, int], tuple[int, int]]:
        return self.position(start), self.position(end)
