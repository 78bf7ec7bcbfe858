"""GL501's libcst transformer, imported only when a fix is built (libcst costs ~0.2 s to import)."""

from __future__ import annotations

import libcst as cst


class Unwrap(cst.CSTTransformer):
    """Removes item `index` of the `with` on line `line`; when it is the only item, replaces the
    `with` by its body one level out. Comments above the `with` stay above the body; comment
    lines at the end of its body go above the next statement (or to the block's footer)."""

    def __init__(self, positions, line: int, index: int) -> None:
        self.positions = positions
        self.line = line
        self.index = index
        self.target: cst.With | None = None
        self.footer: tuple = ()
        self.done = False

    def leave_With(self, original, updated):
        if self.target is not None or self.positions[original].start.line != self.line:
            return updated
        if len(updated.items) > 1:
            items = [item for i, item in enumerate(updated.items) if i != self.index]
            if self.index == len(updated.items) - 1:  # the new last item loses its comma
                items[-1] = items[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
            self.done = True
            return updated.with_changes(items=items)
        if isinstance(updated.body, cst.IndentedBlock) and updated.body.header.comment is None:
            self.target = updated
        return updated

    def _flatten(self, statements):
        if self.target is None or self.done:
            return None
        for index, statement in enumerate(statements):
            if statement is self.target:
                block = self.target.body
                inner = list(block.body)
                inner[0] = inner[0].with_changes(leading_lines=(*self.target.leading_lines, *inner[0].leading_lines))
                rest = list(statements[index + 1 :])
                if rest and block.footer:
                    rest[0] = rest[0].with_changes(leading_lines=(*block.footer, *rest[0].leading_lines))
                else:
                    self.footer = tuple(block.footer)
                self.done = True
                return [*statements[:index], *inner, *rest]
        return None

    def leave_IndentedBlock(self, original, updated):
        body = self._flatten(updated.body)
        if body is None:
            return updated
        return updated.with_changes(body=body, footer=(*self.footer, *updated.footer))

    def leave_Module(self, original, updated):
        body = self._flatten(updated.body)
        if body is None:
            return updated
        return updated.with_changes(body=body, footer=(*self.footer, *updated.footer))
