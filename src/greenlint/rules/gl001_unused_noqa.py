"""GL001 unused-noqa: a `# noqa: GLnnn` comment that suppresses nothing, so the next real
finding on its line would be hidden (ruff's RUF100)."""

from __future__ import annotations

import io
import re
import tokenize
from typing import TYPE_CHECKING

from greenlint.diagnostics import Applicability, Edit, Fix
from greenlint.engine import _NOQA
from greenlint.rules.base import Invalid, Rule, Valid, all_rules, register

if TYPE_CHECKING:
    from greenlint.engine import Context

_OURS = re.compile(r"^GL\d+$")
_GL_NOQA = re.compile(r"noqa\s*:[\s\w,]*\bGL\d", re.IGNORECASE)


def _noqa_comments(text: str):
    """(row, start offset in the line, comment text) of every real comment naming `noqa`."""
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.COMMENT and "noqa" in token.string.lower():
                yield token.start[0], token.start[1], token.string
    except (tokenize.TokenError, SyntaxError):  # the file parsed, so this is rare: say nothing
        return


@register
class UnusedNoqa(Rule):
    """
    ## What it does
    Flags a `# noqa: GLnnn` that names a greenlint rule which checked the file and found
    nothing on that line, or names no greenlint rule at all.

    ## Fix
    Safe: removes the unused codes, or the whole `# noqa` comment when none is left.
    """

    code = "GL001"
    name = "unused-noqa"
    summary = "`# noqa: GLnnn` that suppresses nothing"
    impact = "low"
    evidence = "Housekeeping, not an energy rule: a stale suppression hides the next real finding on its line."
    frameworks = ("noqa",)
    fix_applicability = Applicability.SAFE
    runs_last = True

    VALID = [
        Valid(
            """
            import torch
            x = torch.zeros(3).to("cuda")  # noqa: GL402
            """,
            why="the suppression is in use",
        ),
        Valid(
            """
            import torch
            import os, sys  # noqa: E401
            x = 1  # noqa
            """,
            why="other tools' codes and bare noqa are not ours to judge",
        ),
        Valid(
            """
            import torch
            NOTE = "# noqa: GL101 inside a string is not a comment"
            """,
            why="only real comments count",
        ),
    ]
    INVALID = [
        Invalid(
            """
            import torch
            x = torch.zeros(3, device="cuda")  # noqa: GL402
            """,
            fixed="""
            import torch
            x = torch.zeros(3, device="cuda")
            """,
            applicability=Applicability.SAFE,
            message="`# noqa: GL402` suppresses nothing",
        ),
        Invalid(
            """
            import torch
            x = torch.zeros(3).to("cuda")  # noqa: E501, GL402, GL101
            """,
            fixed="""
            import torch
            x = torch.zeros(3).to("cuda")  # noqa: E501, GL402
            """,
            message="`GL101`",
        ),
        Invalid(
            """
            import torch
            y = 2  # noqa: GL999  keep: explained elsewhere
            """,
            message="no greenlint rule is called GL999",
        ),
    ]

    @classmethod
    def could_fire(cls, text: str, seen: dict[str, bool] | None = None) -> bool:
        # Tokenizing a file costs more than most rules; the case-blind regex scans slowly, so
        # it only runs on files that mention noqa at all.
        return "noqa" in text.lower() and _GL_NOQA.search(text) is not None

    def check(self, ctx: Context) -> None:
        used: dict[int, set[str]] = {}
        for d in ctx.diagnostics:
            if d.code:
                for offset in (d.start, d.end):
                    used.setdefault(ctx.lines.row_col(offset)[0], set()).add(d.code)
        known = {rule.code for rule in all_rules()}
        for row, column, comment in _noqa_comments(ctx.text):
            match = _NOQA.search(comment)
            if match is None or not match.group("codes"):
                continue
            named = re.split(r"[\s,]+", match.group("codes").strip())
            unused = [
                code for code in named
                if _OURS.match(code.upper())
                and (code.upper() not in known or (code.upper() in ctx.ran_codes and code.upper() not in used.get(row, ())))
            ]
            if not unused:
                continue
            unknown = [code for code in unused if code.upper() not in known]
            start = ctx.lines.line_start(row) + column + match.start()
            end = ctx.lines.line_start(row) + column + match.end()
            listed = ", ".join(f"`{code}`" for code in unused)
            message = f"`{match.group(0)}` suppresses nothing: remove {listed}"
            if unknown:
                message += f" (no greenlint rule is called {', '.join(unknown)})"
            ctx.report_span(start, end, message, self._fix(ctx, row, column, comment, match, named, unused))

    @staticmethod
    def _fix(ctx: Context, row: int, column: int, comment: str, match: re.Match, named: list[str], unused: list[str]) -> Fix:
        kept = [code for code in named if code not in unused]
        line_start = ctx.lines.line_start(row)
        if kept:
            codes_start = line_start + column + match.start("codes")
            codes_end = line_start + column + match.end("codes")
            edit = Edit(codes_start, codes_end, ", ".join(kept))
            return Fix(Applicability.SAFE, f"Remove {', '.join(unused)} from the `# noqa`", build=lambda: [edit])
        if comment[match.end():].strip():
            # The comment says more after the codes: removing only the noqa part would leave a
            # stray remark, so the user decides.
            return Fix(Applicability.DISPLAY_ONLY, "Remove the unused `# noqa` codes")
        start = line_start + column + match.start()
        line = ctx.lines.line_text(row)
        while start > line_start and line[start - line_start - 1] in " \t":
            start -= 1
        end = line_start + column + len(comment)
        return Fix(Applicability.SAFE, "Remove the unused `# noqa`", build=lambda: [Edit(start, end, "")])
