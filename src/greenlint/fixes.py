"""Text-level edit builders shared by rules: spelling a qualified name the way the file
imports it, adding a missing import, inserting a line above a statement."""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING

from greenlint.diagnostics import Edit, FixUnavailable

if TYPE_CHECKING:
    from greenlint.engine import Context

_NEWLINE = re.compile(r"\r\n|\r|\n")


def newline_of(text: str) -> str:
    match = _NEWLINE.search(text)
    return match.group() if match else "\n"


def spell(ctx: Context, qualified: str) -> tuple[str, list[Edit]]:
    """How to write `qualified` (e.g. 'torch.no_grad') here, and the import edit it needs:
    'T.no_grad' after `import torch as T`, 'no_grad' after `from torch import no_grad`, else
    'torch.no_grad' plus `import torch`."""
    binding = ctx.semantic.import_binding(qualified)
    if binding is not None:
        return binding, []
    top = qualified.split(".")[0]
    if top in ctx.semantic.module_scope.bindings or top in ctx.semantic.module_scope.imports:
        raise FixUnavailable(f"`{top}` is bound to something else in this file")
    return qualified, [import_edit(ctx, f"import {top}")]


def import_edit(ctx: Context, statement: str) -> Edit:
    """Insert `statement` after the module's leading imports (or its docstring), never above a
    shebang, coding cookie or `from __future__` import."""
    text, lines = ctx.text, ctx.lines
    newline = newline_of(text)
    anchor: ast.stmt | None = None
    body = ctx.tree.body
    for index, stmt in enumerate(body):
        is_docstring = index == 0 and isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)
        if isinstance(stmt, (ast.Import, ast.ImportFrom)) or is_docstring:
            anchor = stmt
            continue
        break
    if anchor is not None:
        offset = lines.line_end(anchor.end_lineno)
        return Edit(offset, offset, newline + statement)
    if body:
        offset = lines.line_start(body[0].lineno)
        return Edit(offset, offset, statement + newline)
    if text and not text.endswith(("\n", "\r")):
        return Edit(len(text), len(text), newline + statement + newline)
    return Edit(len(text), len(text), statement + newline)


def insert_line_above(ctx: Context, node: ast.stmt, content: str) -> Edit:
    """Insert `content` as its own line above `node`'s first line, at the node's indentation."""
    row = node.lineno
    start = ctx.lines.line_start(row)
    indent = ctx.text[start : ctx.lines.offset(row, node.col_offset)]
    if indent.strip():
        raise FixUnavailable("the statement does not start its line")
    return Edit(start, start, indent + content + newline_of(ctx.text))
