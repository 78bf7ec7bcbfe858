"""Formatting fidelity: a fix changes its own span and nothing else.

Every rule's INVALID examples with an exact `fixed` output are re-run with the code dressed in
what real files carry — CRLF line endings, tab indentation, comments, blank lines, trailing
whitespace, both quote styles, backslash continuations — and the result must be the expected fix
dressed the same way, byte for byte. On disk, a UTF-8 BOM and a non-UTF-8 coding cookie must
survive `--fix` too. New rules are covered as soon as their examples show a fix.
"""

from __future__ import annotations

import ast
import json

import pytest
from click.testing import CliRunner
from samples import example_rules

from greenlint.cli import main
from greenlint.fixer import fix_text
from greenlint.rules.base import all_rules

FIXED_EXAMPLES = [
    pytest.param(rule, example, id=f"{rule.code}-invalid-{i}")
    for rule in all_rules()
    for i, example in enumerate(rule.INVALID)
    if example.fixed is not None and example.fixed != example.code
]

# Code a fix must leave alone: trailing whitespace, a tab-indented block, both quote styles, a
# backslash continuation, a comment-only line, blank lines, an unterminated last line.
SUFFIX = (
    "\n\n# a comment that must survive   \n"
    "if True:\n\tnote = 'single' + \"double\"  \t\n"
    "TOTAL = 1 + \\\n    2\n"
    "\n"
    'DOC = """trailing spaces inside   \n   a string"""'
)


def _fix(rule, example, text: str) -> str:
    result = fix_text(text, example.filename, example_rules(rule, example.options), unsafe_fixes=True)
    assert not result.errors
    ast.parse(result.text)
    return result.text


@pytest.mark.parametrize(("rule", "example"), FIXED_EXAMPLES)
def test_untouched_code_after_the_fix_is_byte_identical(rule, example):
    assert _fix(rule, example, example.code + SUFFIX) == example.fixed + SUFFIX


@pytest.mark.parametrize(("rule", "example"), FIXED_EXAMPLES)
def test_crlf_survives_and_new_lines_use_it(rule, example):
    crlf = (example.code + SUFFIX).replace("\n", "\r\n")
    assert _fix(rule, example, crlf) == (example.fixed + SUFFIX).replace("\n", "\r\n")


@pytest.mark.parametrize(("rule", "example"), FIXED_EXAMPLES)
def test_bom_and_coding_cookie_survive_on_disk(rule, example, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cookie, cafe = "# -*- coding: latin-1 -*-\n", "\nCAFE = 'caf\u00e9'\n"
    cases = {
        "bom.py": ("\ufeff".encode() + (example.code + SUFFIX).encode(), "\ufeff".encode() + (example.fixed + SUFFIX).encode()),
        "latin.py": ((cookie + example.code + cafe).encode("latin-1"), (cookie + example.fixed + cafe).encode("latin-1")),
    }
    for name, (before, _) in cases.items():
        (tmp_path / name).write_bytes(before)
    args = ["check", "--fix", "--unsafe-fixes", "--no-cache", "-q", "--exit-zero", "--select", "ALL" if rule.runs_last else rule.code]
    if example.options:  # options come from a config file; JSON spells these TOML values alike
        table = "".join(f"{key} = {json.dumps(value)}\n" for key, value in example.options.items())
        (tmp_path / "pyproject.toml").write_text(f"[tool.greenlint.rules.{rule.code}]\n{table}")
    result = CliRunner().invoke(main, [*args, *cases])
    assert result.exit_code == 0, result.output
    for name, (_, expected) in cases.items():
        assert (tmp_path / name).read_bytes() == expected, name
