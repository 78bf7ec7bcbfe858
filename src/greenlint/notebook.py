"""Jupyter notebooks: lint the code cells as one Python text, write fixes back into the cells.

The code cells are joined, in order, into one "virtual" source (so an import in the first cell
resolves in the fifth), each cell after a marker comment line. IPython syntax — line magics
(`%time`), shell escapes (`!pip install`, `x = !ls`), help (`obj?`) — becomes a `pass` placeholder
of the same indentation, and a cell magic (`%%bash`) takes its whole cell out: they are not
Python, and guessing at them could only produce wrong findings.

A fix is written back only when every marker and placeholder survives it unchanged and in order,
and only into the cells whose code changed; the notebook's JSON is re-serialised in the layout
it was read in (which must reproduce the file byte for byte, else no fix is written), so
metadata, outputs and every other cell stay identical.
"""

from __future__ import annotations

import bisect
import difflib
import json
import re
from dataclasses import dataclass
from typing import Any

SUFFIX = ".ipynb"

_MARKER = "# greenlint: notebook cell {}"
_PLACEHOLDER = "pass  # greenlint: IPython line {}"
# `%magic`, `!shell`, `x = !shell`, `x = %magic`, `obj?`, `??obj`: not Python.
_IPYTHON_LINE = re.compile(r"^\s*(?:[%!]|\?\?|\w[\w.]*\s*=\s*[%!])|\?\s*$")
_NEWLINE = re.compile(r"\r\n|\r|\n")


class NotebookError(Exception):
    """The file is not a notebook greenlint can read, or a fix cannot go back into it."""


@dataclass(frozen=True)
class _Layout:
    indent: int | None
    ensure_ascii: bool
    final_newline: bool

    def dump(self, data: Any) -> str:
        text = json.dumps(data, indent=self.indent, ensure_ascii=self.ensure_ascii)
        return text + "\n" if self.final_newline else text


def _layout_of(text: str, data: Any) -> _Layout | None:
    """The json.dumps settings that reproduce `text` exactly (nbformat writes indent=1,
    ensure_ascii=False and a final newline), or None."""
    for indent in (1, 2, 4, None):
        for ensure_ascii in (False, True):
            for final_newline in (True, False):
                layout = _Layout(indent, ensure_ascii, final_newline)
                if layout.dump(data) == text:
                    return layout
    return None


@dataclass(frozen=True)
class CellMap:
    """Where a notebook's code cells sit in its virtual source (picklable: it travels with the
    findings from worker processes to the reporters)."""

    starts: tuple[int, ...]  # virtual row of each code cell's first line
    numbers: tuple[int, ...]  # that cell's number in the notebook, counting every cell from 1

    def where(self, row: int) -> tuple[int, int]:
        """(cell number, row within the cell) of a virtual source row."""
        if not self.starts:
            return 1, row
        i = max(bisect.bisect_right(self.starts, row) - 1, 0)
        return self.numbers[i], max(row - self.starts[i] + 1, 1)


@dataclass
class _Cell:
    index: int  # position in the notebook's "cells", 0-based
    lines: list[str]  # the cell's code lines, newline-free, IPython lines replaced
    ipython: dict[int, str]  # line number in the cell -> the original IPython line
    as_list: bool  # the source was stored as a list of lines (nbformat's usual form)

    @property
    def original_lines(self) -> list[str]:
        return [self.ipython.get(n, line) for n, line in enumerate(self.lines)]


class Notebook:
    """A parsed notebook, its virtual Python source and the way back."""

    def __init__(self, text: str, name: str) -> None:
        try:
            data = json.loads(text)
        except ValueError as error:
            raise NotebookError(f"{name}: not a valid notebook (invalid JSON: {error})") from None
        if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
            raise NotebookError(f'{name}: not a valid notebook (no "cells" list)')
        metadata = data.get("metadata")
        language = metadata.get("language_info") if isinstance(metadata, dict) else None
        python = not isinstance(language, dict) or language.get("name") in (None, "python")
        self.name = name
        self.text = text
        self.data = data
        self.layout = _layout_of(text, data)
        self.cells: list[_Cell] = []
        for index, cell in enumerate(data["cells"] if python else ()):  # an R notebook has nothing for us
            if not isinstance(cell, dict) or cell.get("cell_type") != "code":
                continue
            source = cell.get("source", "")
            as_list = isinstance(source, list)
            joined = "".join(source) if as_list else source
            if not isinstance(joined, str):
                raise NotebookError(f"{name}: cell {index + 1} has a source that is not text")
            if joined.lstrip().startswith("%%"):
                continue
            lines = _NEWLINE.split(joined)
            if lines and lines[-1] == "":
                lines.pop()
            ipython = {}
            for n, line in enumerate(lines):
                if _IPYTHON_LINE.search(line) and not line.lstrip().startswith("#"):
                    ipython[n] = line
                    indent = line[: len(line) - len(line.lstrip())]
                    lines[n] = indent + _PLACEHOLDER.format(len(self.cells) * 10_000 + n)
            self.cells.append(_Cell(index, lines, ipython, as_list))
        parts, starts, row = [], [], 1
        for number, cell in enumerate(self.cells):
            parts.append(_MARKER.format(number))
            starts.append(row + 1)
            parts.extend(cell.lines)
            row += 1 + len(cell.lines)
        self.source = "\n".join(parts) + "\n" if parts else ""
        self.cell_map = CellMap(tuple(starts), tuple(cell.index + 1 for cell in self.cells))

    def apply(self, fixed: str) -> str:
        """The notebook's text with `fixed` (the virtual source after fixes) in its cells."""
        if fixed == self.source:
            return self.text
        if self.layout is None:
            raise NotebookError(f"{self.name}: the notebook's JSON layout cannot be reproduced exactly; fixes not written")
        cells = self.data["cells"]
        for cell, new_lines in zip(self.cells, self._cell_lines(fixed), strict=True):
            if new_lines == cell.original_lines:
                continue
            source = "\n".join(new_lines)
            old = cells[cell.index]["source"]
            old_text = "".join(old) if isinstance(old, list) else old
            if old_text.endswith("\n"):  # Jupyter stores no final newline; keep whatever was there
                source += "\n"
            cells[cell.index]["source"] = source.splitlines(keepends=True) if cell.as_list else source
        try:
            return self.layout.dump(self.data)
        finally:
            self.data = json.loads(self.text)  # keep self consistent with the text it came from

    def diff(self, fixed: str) -> str:
        """A unified diff per changed cell, headed 'a/NAME:cell N'."""
        out = []
        for cell, new_lines in zip(self.cells, self._cell_lines(fixed), strict=True):
            if new_lines != cell.original_lines:
                label = f"{self.name}:cell {cell.index + 1}"
                old = [line + "\n" for line in cell.original_lines]
                new = [line + "\n" for line in new_lines]
                out.extend(difflib.unified_diff(old, new, f"a/{label}", f"b/{label}"))
        return "".join(out)

    def _cell_lines(self, fixed: str) -> list[list[str]]:
        """Each code cell's lines in `fixed`, IPython syntax put back; NotebookError when a fix
        crossed a cell boundary or moved IPython syntax."""
        lines = _NEWLINE.split(fixed)
        if lines and lines[-1] == "":
            lines.pop()
        bounds = []
        for number in range(len(self.cells)):
            try:
                bounds.append(lines.index(_MARKER.format(number), bounds[-1] + 1 if bounds else 0))
            except ValueError:
                raise NotebookError(f"{self.name}: a fix crossed a cell boundary; not written") from None
        if bounds and bounds[0] != 0:
            raise NotebookError(f"{self.name}: a fix added code above the first cell; not written")
        bounds.append(len(lines))
        result = []
        for number, cell in enumerate(self.cells):
            new_lines = lines[bounds[number] + 1 : bounds[number + 1]]
            if new_lines != cell.lines:
                for n, original in cell.ipython.items():
                    placeholder = _PLACEHOLDER.format(number * 10_000 + n)
                    hits = [i for i, line in enumerate(new_lines) if line.strip() == placeholder]
                    if len(hits) != 1:
                        raise NotebookError(f"{self.name}: a fix moved IPython syntax in cell {cell.index + 1}; not written")
                    new_lines[hits[0]] = original
            else:
                new_lines = cell.original_lines
            result.append(new_lines)
        return result
