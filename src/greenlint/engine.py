"""Lint one source text: pre-filter, parse once with `ast`, build the semantic model, run the
enabled rules, drop suppressed findings."""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from greenlint.diagnostics import Diagnostic, Fix, LineIndex
from greenlint.semantic import SemanticModel, is_test_file

if TYPE_CHECKING:
    from greenlint.rules.base import Rule

_SKIP_FILE = re.compile(r"^[ \t]*#[ \t]*greenlint:[ \t]*skip-file\b", re.MULTILINE)
_NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?", re.IGNORECASE)


@dataclass
class LintResult:
    diagnostics: list[Diagnostic] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # one line each: a rule that crashed
    skipped: bool = False  # the pre-filter ruled the file out (or skip-file)
    syntax_error: bool = False


class Context:
    """What a rule sees while checking one file."""

    def __init__(self, text: str, filename: str, tree: ast.Module, lines: LineIndex) -> None:
        self.text = text
        self.filename = filename
        self.tree = tree
        self.lines = lines
        self.semantic = SemanticModel(tree, filename)
        self.rule: Rule | None = None
        self.diagnostics: list[Diagnostic] = []
        self.ran_codes: set[str] = set()  # rules that checked this file to the end
        self._cst_cache: dict[str, Any] = {}

    def report(self, node: ast.AST, message: str, fix: Fix | None = None) -> Diagnostic:
        start, end = self.lines.node_range(node)
        return self.report_span(start, end, message, fix)

    def report_span(self, start: int, end: int, message: str, fix: Fix | None = None) -> Diagnostic:
        """Report offsets [start, end) of the text: for what has no node, such as a comment."""
        rule = self.rule
        assert rule is not None
        diagnostic = Diagnostic(rule.code, rule.name, message, start, end, fix, rule.impact)
        self.diagnostics.append(diagnostic)
        return diagnostic

    def cst(self):
        """The libcst module and positions of this text, parsed once and only when a fix needs it."""
        if "module" not in self._cst_cache:
            from greenlint import cstfix

            self._cst_cache["module"] = cstfix.parse_with_positions(self.text)
        return self._cst_cache["module"]


def prefilter(text: str, rules: Sequence[Rule]) -> bool:
    """True when some rule could fire on the text (each rule's cheap `could_fire` check)."""
    seen: dict[str, bool] = {}
    return any(rule.could_fire(text, seen) for rule in rules)


def parse(text: str, filename: str) -> ast.Module:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # invalid escape sequences etc. are not ours to report
        return ast.parse(text, filename=filename, type_comments=False)


def syntax_error_diagnostic(error: SyntaxError | ValueError, lines: LineIndex) -> Diagnostic:
    if isinstance(error, SyntaxError) and error.lineno:
        row = min(error.lineno, len(lines.line_starts))
        column = max((error.offset or 1) - 1, 0)
        start = min(lines.line_start(row) + column, lines.line_end(row))
        message = f"SyntaxError: {error.msg}"
    else:
        start, message = 0, f"SyntaxError: {error}"
    return Diagnostic(None, "syntax-error", message, start, start)


def lint_text(text: str, filename: str, rules: Sequence[Rule], use_prefilter: bool = True) -> LintResult:
    result = LintResult()
    ruled_out: list[Rule] = []  # by the pre-filter: they cannot fire on this text
    if use_prefilter:
        seen: dict[str, bool] = {}
        active = []
        for rule in rules:  # e.g. no Keras rule on a PyTorch file
            (active if rule.could_fire(text, seen) else ruled_out).append(rule)
        rules = active
    if not rules or ("skip-file" in text and _SKIP_FILE.search(text)):
        result.skipped = True
        return result
    lines = LineIndex(text)
    try:
        tree = parse(text, filename)
    except (SyntaxError, ValueError) as error:  # ValueError: null bytes
        result.syntax_error = True
        result.diagnostics.append(syntax_error_diagnostic(error, lines))
        return result
    except (RecursionError, MemoryError):  # CPython raises either for very deep nesting
        result.errors.append(f"{filename}: too deeply nested for the parser; skipped")
        return result
    ctx = Context(text, filename, tree, lines)
    test_file = is_test_file(filename)
    # A rule the pre-filter ruled out has, in effect, checked the file and found nothing.
    ctx.ran_codes.update(rule.code for rule in ruled_out if not (test_file and rule.settings.get("include-tests") is False))
    # Housekeeping rules (unused noqa) judge the others' findings, so they run last.
    for rule in sorted(rules, key=lambda r: r.runs_last):
        if test_file and rule.settings.get("include-tests") is False:
            continue
        ctx.rule = rule
        before = len(ctx.diagnostics)
        try:
            rule.check(ctx)
        except Exception as error:  # a broken rule must not take the others down
            del ctx.diagnostics[before:]
            result.errors.append(f"{filename}: internal error in {rule.code} ({rule.name}): {type(error).__name__}: {error}")
        else:
            ctx.ran_codes.add(rule.code)
    result.diagnostics = sorted(_unsuppressed(ctx.diagnostics, lines), key=lambda d: (d.start, d.code or "", d.end))
    return result


def noqa_codes(line: str) -> frozenset[str] | None:
    """The codes a line's `# noqa` names; an empty set for a bare `# noqa`; None if none."""
    match = _NOQA.search(line)
    if match is None:
        return None
    codes = match.group("codes")
    return frozenset(c.upper() for c in re.split(r"[\s,]+", codes) if c) if codes else frozenset()


def is_suppressed(diagnostic: Diagnostic, lines: LineIndex) -> bool:
    start_row, _ = lines.row_col(diagnostic.start)
    end_row, _ = lines.row_col(diagnostic.end)
    for row in {start_row, end_row}:
        codes = noqa_codes(lines.line_text(row))
        if codes is not None and (not codes or diagnostic.code in codes):
            return True
    return False


def _unsuppressed(diagnostics: list[Diagnostic], lines: LineIndex) -> Iterable[Diagnostic]:
    if not diagnostics or "noqa" not in lines.text.lower():  # the cheap common case
        return diagnostics
    return [d for d in diagnostics if not (d.code and is_suppressed(d, lines))]
