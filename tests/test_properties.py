"""Property tests: on generated programs (hypothesmith) and on mutated real files, linting never
raises, every position lies inside the file, and fixing never produces code that does not parse."""

from __future__ import annotations

import ast
import warnings
from pathlib import Path

import hypothesmith
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from greenlint.engine import lint_text
from greenlint.fixer import fix_text
from greenlint.rules.base import all_rules

RULES = [rule({"include-tests": True} if "include-tests" in rule.options else None) for rule in all_rules()]
ROOT = Path(__file__).resolve().parent.parent
REAL = [p.read_text() for folder in ("examples", "fixtures") for p in sorted((ROOT / folder).rglob("*.py"))]
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def check(text: str) -> None:
    result = lint_text(text, "generated.py", RULES, use_prefilter=False)
    for diagnostic in result.diagnostics:
        assert 0 <= diagnostic.start <= diagnostic.end <= len(text)
    assert not result.errors, result.errors
    fixed = fix_text(text, "generated.py", RULES, unsafe_fixes=True)
    assert not [e for e in fixed.errors if "internal error" in e], fixed.errors
    if fixed.changed:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)  # generated code's, not ours
            ast.parse(fixed.text)


@PROPERTY
@given(hypothesmith.from_grammar())
def test_generated_programs(source):
    check("import torch\n" + source)


@PROPERTY
@given(st.sampled_from(REAL), st.data())
def test_mutated_real_files(text, data):
    """Delete, duplicate or cut lines of real ML code: broken or odd code must not crash us."""
    lines = text.splitlines(keepends=True)
    start = data.draw(st.integers(0, len(lines) - 1))
    stop = data.draw(st.integers(start, min(len(lines), start + 8)))
    how = data.draw(st.sampled_from(["delete", "duplicate", "truncate", "dedent"]))
    if how == "delete":
        lines[start:stop] = []
    elif how == "duplicate":
        lines[start:start] = lines[start:stop]
    elif how == "truncate":
        lines = lines[:stop]
        if lines:
            lines[-1] = lines[-1][: len(lines[-1]) // 2]
    else:
        lines[start:stop] = [line.lstrip() for line in lines[start:stop]]
    check("".join(lines))
