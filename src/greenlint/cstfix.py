"""Building edits where concrete syntax matters, with libcst (imported only when fixing).

Each builder renders the changed module and returns the smallest text edit that turns the
old text into the new one, so everything outside the edit stays byte-for-byte.
"""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from greenlint.diagnostics import Edit, FixUnavailable, minimal_edit


def lf_view(text: str) -> str:
    """libcst does not round-trip bare-CR newlines: parse an LF view of the same length."""
    return text.replace("\r", "\n") if "\r" in text and "\n" not in text else text


def parse_with_positions(text: str):
    module = cst.parse_module(lf_view(text))
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    return module, positions


class _WrapStatements(cst.CSTTransformer):
    """Moves the statements of one block that start on lines first..last into `with ITEMS:`."""

    def __init__(self, positions, first: int, last: int, items: Sequence[str]) -> None:
        self.positions = positions
        self.first = first
        self.last = last
        self.items = items
        self.done = False

    def _wrap(self, body: Sequence[cst.BaseStatement]) -> list[cst.BaseStatement] | None:
        chosen = [i for i, stmt in enumerate(body) if self.first <= self.positions[stmt].start.line <= self.last]
        if not chosen or chosen != list(range(chosen[0], chosen[-1] + 1)):
            return None
        start, stop = chosen[0], chosen[-1] + 1
        moved = list(body[start:stop])
        # Comments above the first statement stay above the new `with`.
        leading = moved[0].leading_lines
        moved[0] = moved[0].with_changes(leading_lines=())
        wrapper = cst.With(
            items=[cst.WithItem(cst.parse_expression(item)) for item in self.items],
            body=cst.IndentedBlock(body=moved),
            leading_lines=leading,
        )
        self.done = True
        return [*body[:start], wrapper, *body[stop:]]

    def leave_Module(self, original, updated):
        if not self.done and original.body and self._contains(original.body):
            new_body = self._wrap(original.body)
            if new_body is not None:
                return updated.with_changes(body=new_body)
        return updated

    def leave_IndentedBlock(self, original, updated):
        if not self.done and self._contains(original.body):
            new_body = self._wrap(original.body)
            if new_body is not None:
                return updated.with_changes(body=new_body)
        return updated

    def _contains(self, body) -> bool:
        # The block itself, not a nested one: one of its statements starts the region.
        return any(self.positions[stmt].start.line == self.first for stmt in body)


def wrap_statements(parsed, text: str, first_line: int, last_line: int, items: Sequence[str]) -> Edit:
    """Edit that wraps the block's statements starting on first_line..last_line in a with-block."""
    module, positions = parsed
    transformer = _WrapStatements(positions, first_line, last_line, items)
    new_module = module.visit(transformer)
    if not transformer.done:
        raise FixUnavailable(f"no statements on lines {first_line}-{last_line} to wrap")
    view = lf_view(text)
    edit = minimal_edit(view, new_module.code)
    if edit is None:
        raise FixUnavailable("the wrap changed nothing")
    if view is not text:  # back to the file's bare-CR newlines; offsets are unchanged
        edit = Edit(edit.start, edit.end, edit.content.replace("\n", "\r"))
    return edit
