"""Applying fixes: non-overlapping edits per pass, re-lint, repeat to a fixed point, and never
keep a result that does not parse."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from greenlint.diagnostics import Diagnostic, Edit, FixUnavailable
from greenlint.engine import LintResult, lint_text, parse

if TYPE_CHECKING:
    from greenlint.rules.base import Rule

MAX_ITERATIONS = 100


@dataclass
class FixResult:
    text: str
    fixed: Counter = field(default_factory=Counter)  # rule code -> findings fixed
    remaining: LintResult = field(default_factory=LintResult)
    errors: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return sum(self.fixed.values()) > 0


def apply_edits(text: str, edits: Sequence[Edit]) -> str:
    """Apply sorted, non-overlapping edits."""
    parts = []
    cursor = 0
    for edit in sorted(edits, key=Edit.position):
        parts.append(text[cursor : edit.start])
        parts.append(edit.content)
        cursor = edit.end
    parts.append(text[cursor:])
    return "".join(parts)


def _parses(text: str, filename: str) -> bool:
    try:
        parse(text, filename)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _fingerprint(diagnostic: Diagnostic, text: str) -> tuple:
    """Identifies a finding across passes (offsets move as earlier fixes land)."""
    return diagnostic.code, diagnostic.message, text[diagnostic.start : diagnostic.end]


def fix_text(text: str, filename: str, rules: Sequence[Rule], unsafe_fixes: bool = False) -> FixResult:
    """Apply every allowed fix until none is left. On failure to converge, keep `text` as is."""
    original = text
    result = FixResult(text)
    rejected: set[tuple] = set()
    for _ in range(MAX_ITERATIONS):
        lint = lint_text(text, filename, rules)
        result.remaining = lint
        result.errors.extend(e for e in lint.errors if e not in result.errors)
        if lint.syntax_error:
            break
        chosen: list[tuple[list[Diagnostic], list[Edit]]] = []
        taken: list[Edit] = []
        for diagnostic in lint.diagnostics:
            fix = diagnostic.fix
            if fix is None or not fix.applicability.allowed(unsafe_fixes) or _fingerprint(diagnostic, text) in rejected:
                continue
            try:
                edits = fix.edits
            except FixUnavailable:
                rejected.add(_fingerprint(diagnostic, text))
                continue
            except Exception as error:  # a fix builder bug: report it, keep the finding
                rejected.add(_fingerprint(diagnostic, text))
                result.errors.append(f"{filename}: internal error building the {diagnostic.code} fix: {type(error).__name__}: {error}")
                continue
            same = next((c for c in chosen if c[1] == edits), None)
            if same is not None:  # several findings share one fix (e.g. one decorator)
                same[0].append(diagnostic)
                continue
            if any(e.overlaps(t) for e in edits for t in taken):
                continue  # next pass, against the updated text
            chosen.append(([diagnostic], edits))
            taken.extend(edits)
        if not chosen:
            return result
        new_text = apply_edits(text, taken)
        if not _parses(new_text, filename):
            # Find the culprits one by one; keep the fixes that parse on their own.
            good = []
            for diagnostics, edits in chosen:
                if _parses(apply_edits(text, edits), filename):
                    good.append((diagnostics, edits))
                else:
                    for d in diagnostics:
                        rejected.add(_fingerprint(d, text))
                    row = text.count("\n", 0, diagnostics[0].start) + 1
                    result.errors.append(f"{filename}:{row}: the {diagnostics[0].code} fix would produce invalid code; not applied")
            chosen = good[:1]  # fixes valid alone may still clash together: take one, re-lint
            if not chosen:
                continue
            new_text = apply_edits(text, chosen[0][1])
        for diagnostics, _edits in chosen:
            for d in diagnostics:
                result.fixed[d.code] += 1
        text = new_text
        result.text = text
    else:
        result.errors.append(f"{filename}: fixes did not converge after {MAX_ITERATIONS} passes; file left unchanged")
        result.text = original
        result.fixed.clear()
        result.remaining = lint_text(original, filename, rules)
    return result

