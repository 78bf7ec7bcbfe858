"""Every rule's own VALID / INVALID examples (Fixit's pattern), with exact fix output."""

from __future__ import annotations

import ast

import pytest
from samples import example_rules

from greenlint.diagnostics import Applicability
from greenlint.engine import lint_text
from greenlint.fixer import fix_text
from greenlint.rules.base import all_rules

RULES = all_rules()
VALID = [pytest.param(rule, example, id=f"{rule.code}-valid-{i}") for rule in RULES for i, example in enumerate(rule.VALID)]
INVALID = [pytest.param(rule, example, id=f"{rule.code}-invalid-{i}") for rule in RULES for i, example in enumerate(rule.INVALID)]


def test_every_rule_has_examples():
    for rule in RULES:
        assert rule.VALID and rule.INVALID, f"{rule.code} needs VALID and INVALID examples"
        assert rule.evidence, f"{rule.code} needs one line of evidence with its provenance"
        if rule.fix_applicability in (Applicability.SAFE, Applicability.UNSAFE):
            assert any(e.fixed is not None for e in rule.INVALID), f"{rule.code} offers a fix but no example shows it"
        else:
            assert all(e.fixed is None for e in rule.INVALID), f"{rule.code} declares no applicable fix but an example shows one"


@pytest.mark.parametrize(("rule", "example"), VALID)
def test_valid(rule, example):
    ast.parse(example.code)
    result = lint_text(example.code, example.filename, example_rules(rule, example.options))
    assert not result.errors
    assert [d.message for d in result.diagnostics if d.code == rule.code] == [], example.why


@pytest.mark.parametrize(("rule", "example"), INVALID)
def test_invalid(rule, example):
    ast.parse(example.code)
    rules = example_rules(rule, example.options)
    result = lint_text(example.code, example.filename, rules)
    assert not result.errors
    own = [d for d in result.diagnostics if d.code == rule.code]
    assert len(own) == example.count, [d.message for d in result.diagnostics]
    for diagnostic in own:
        assert diagnostic.code == rule.code
        if example.message is not None:
            assert example.message in diagnostic.message
        if example.applicability is not None:
            assert diagnostic.fix is not None and diagnostic.fix.applicability is example.applicability
        if example.changes_numerics is not None:
            assert diagnostic.fix is not None and diagnostic.fix.changes_numerics is example.changes_numerics
    fixed = fix_text(example.code, example.filename, rules, unsafe_fixes=True)
    assert not fixed.errors
    if example.fixed is None:
        assert fixed.text == example.code, "expected no applicable fix"
        return
    assert fixed.text == example.fixed
    ast.parse(fixed.text)
    assert [d for d in lint_text(fixed.text, example.filename, rules).diagnostics if d.code == rule.code] == []
    assert fix_text(fixed.text, example.filename, rules, unsafe_fixes=True).text == fixed.text
