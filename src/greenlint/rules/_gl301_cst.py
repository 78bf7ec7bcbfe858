"""GL301's libcst transformer, imported only when a fix is built (libcst costs ~0.2 s to import)."""

from __future__ import annotations

import libcst as cst


class Hoist(cst.CSTTransformer):
    """Moves the one-statement line starting on `line` out of the loop starting on `loop_line`,
    to just above the loop (and above the comments that belong to the loop)."""

    def __init__(self, positions, loop_line: int, line: int) -> None:
        self.positions = positions
        self.loop_line = loop_line
        self.line = line
        self.moved: cst.SimpleStatementLine | None = None
        self.loop: cst.CSTNode | None = None
        self.done = False

    def leave_For(self, original, updated):
        return self._strip(original, updated)

    def leave_While(self, original, updated):
        return self._strip(original, updated)

    def _strip(self, original, updated):
        if self.loop is not None or self.positions[original].start.line != self.loop_line:
            return updated
        body = updated.body
        if not isinstance(body, cst.IndentedBlock) or not isinstance(original.body, cst.IndentedBlock):
            return updated
        kept = []
        # Positions are known for the original nodes only; children keep their order.
        for before, item in zip(original.body.body, body.body):
            if self.moved is None and isinstance(item, cst.SimpleStatementLine) and self.positions[before].start.line == self.line:
                if len(item.body) != 1:
                    return updated
                self.moved = item
                continue
            kept.append(item)
        if self.moved is None or not kept:
            return updated
        self.loop = updated.with_changes(body=body.with_changes(body=kept))
        return self.loop

    def leave_IndentedBlock(self, original, updated):
        body = self._insert(updated.body)
        return updated if body is None else updated.with_changes(body=body)

    def leave_Module(self, original, updated):
        body = self._insert(updated.body)
        return updated if body is None else updated.with_changes(body=body)

    def _insert(self, body):
        if self.done or self.loop is None or not any(item is self.loop for item in body):
            return None
        index = next(i for i, item in enumerate(body) if item is self.loop)
        lines = list(self.loop.leading_lines)
        # Comments directly above the loop stay with it; blank lines before them go above the load.
        split = len(lines)
        while split > 0 and lines[split - 1].comment is not None:
            split -= 1
        own = list(self.moved.leading_lines)
        while own and own[0].comment is None:
            own.pop(0)  # blank lines that separated it inside the loop
        moved = self.moved.with_changes(leading_lines=(*lines[:split], *own))
        loop = self.loop.with_changes(leading_lines=tuple(lines[split:]))
        self.done = True
        return [*body[:index], moved, loop, *body[index + 1 :]]
