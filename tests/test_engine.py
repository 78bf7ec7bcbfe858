"""greenlint.engine.lint_text: pre-filter, suppression comments, syntax errors, pathological and
large inputs."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest
from samples import EVAL

from greenlint.diagnostics import LineIndex
from greenlint.engine import (
    is_suppressed,
    lint_text,
    noqa_codes,
    prefilter,
    syntax_error_diagnostic,
)
from greenlint.rules.base import Rule, all_rules
from greenlint.rules.gl101_inference_without_no_grad import InferenceWithoutNoGrad
from greenlint.semantic import is_test_file


def gl101():
    return [InferenceWithoutNoGrad()]


class CountingRule(Rule):
    """Flags every `call()` of a bare name; counts how often it was asked to check."""

    code = "GLX09"
    name = "fake-calls"
    summary = "test rule"
    impact = "low"
    frameworks = ("mylib",)

    def __init__(self, options=None) -> None:
        super().__init__(options)
        self.checked = 0

    def check(self, ctx) -> None:
        self.checked += 1
        for node in ast.walk(ctx.tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                ctx.report(node, f"call of {node.func.id}")


# --------------------------------------------------------------------------- pre-filter


def test_prefilter_skips_files_that_mention_no_framework():
    rule = CountingRule()
    result = lint_text("import numpy\nf(1)\n", "a.py", [rule])
    assert result.skipped
    assert result.diagnostics == [] and result.errors == []
    assert rule.checked == 0


def test_prefilter_skips_without_parsing_even_broken_code():
    result = lint_text("def f(:\n", "a.py", [CountingRule()])
    assert result.skipped
    assert not result.syntax_error
    assert result.diagnostics == []


def test_prefilter_passes_on_any_mention():
    rule = CountingRule()
    result = lint_text("# uses mylib\nf(1)\n", "a.py", [rule])
    assert not result.skipped
    assert rule.checked == 1
    assert [d.message for d in result.diagnostics] == ["call of f"]


def test_prefilter_function():
    assert prefilter("import torch", gl101())
    assert prefilter("from transformers import AutoModel", gl101())
    assert not prefilter("import numpy as np", gl101())
    assert not prefilter("import torch", [])


def test_no_rules_means_skipped():
    result = lint_text(EVAL, "a.py", [])
    assert result.skipped and result.diagnostics == []


def test_gl101_finds_the_example():
    result = lint_text(EVAL, "a.py", gl101())
    assert not result.skipped
    assert result.errors == []
    (d,) = result.diagnostics
    assert d.code == "GL101"
    assert LineIndex(EVAL).row_col(d.start) == (6, 21)
    assert LineIndex(EVAL).row_col(d.end) == (6, 29)
    assert EVAL[d.start : d.end] == "model(x)"


def test_diagnostics_sorted_by_position():
    source = "import mylib\nb(1)\na(2); c(3)\n"
    result = lint_text(source, "a.py", [CountingRule()])
    assert [d.message for d in result.diagnostics] == ["call of b", "call of a", "call of c"]


def test_non_ascii_before_the_call_gives_character_offsets():
    source = EVAL.replace("        correct += (model(x)", "        ü = 'éé'; correct += (model(x)")
    (d,) = lint_text(source, "a.py", gl101()).diagnostics
    assert source[d.start : d.end] == "model(x)"


# --------------------------------------------------------------------------- skip-file


@pytest.mark.parametrize(
    ("header", "skipped"),
    [
        ("# greenlint: skip-file\n", True),
        ("#greenlint:skip-file\n", True),
        ("    # greenlint: skip-file\n", True),
        ("\t#  greenlint:  skip-file because generated\n", True),
        ("x = 1  # greenlint: skip-file\n", False),
        ("# greenlint: skip-files\n", False),
        ('s = """\n# greenlint: skip-file\n"""\n', True),  # a text-level marker, as in ruff's `# ruff: noqa`
    ],
)
def test_skip_file_marker(header, skipped):
    result = lint_text(header + EVAL, "a.py", gl101())
    assert result.skipped is skipped
    assert len(result.diagnostics) == (0 if skipped else 1)


# --------------------------------------------------------------------------- noqa


@pytest.mark.parametrize(
    ("line", "codes"),
    [
        ("x = 1", None),
        ("x = 1  # a comment", None),
        ("x = 1  # noqa", frozenset()),
        ("x = 1  #noqa", frozenset()),
        ("x = 1  # NOQA", frozenset()),
        ("x = 1  # noqa: GL101", frozenset({"GL101"})),
        ("x = 1  # noqa:GL101", frozenset({"GL101"})),
        ("x = 1  # noqa: gl101", frozenset({"GL101"})),
        ("x = 1  # noqa: GL101,GL102", frozenset({"GL101", "GL102"})),
        ("x = 1  # noqa: GL101, GL102", frozenset({"GL101", "GL102"})),
        ("x = 1  # noqa: GL101 GL102", frozenset({"GL101", "GL102"})),
        ("x = 1  # noqa: E501", frozenset({"E501"})),
        ("x = 1  # noqa: GL101 -- why", frozenset({"GL101"})),
        ("x = 1  # type: int  # noqa: GL101", frozenset({"GL101"})),
    ],
)
def test_noqa_codes(line, codes):
    assert noqa_codes(line) == codes


def _with_comment(comment: str) -> str:
    return EVAL.replace(".sum().item()\n", f".sum().item()  {comment}\n")


@pytest.mark.parametrize("comment", ["# noqa", "# noqa: GL101", "# noqa:GL102,GL101", "# noqa: gl101"])
def test_noqa_suppresses(comment):
    assert lint_text(_with_comment(comment), "a.py", gl101()).diagnostics == []


@pytest.mark.parametrize("comment", ["# noqa: GL999", "# noqa: E501", "# no qa", "# noqa:GL1010"])
def test_noqa_for_other_codes_does_not_suppress(comment):
    assert len(lint_text(_with_comment(comment), "a.py", gl101()).diagnostics) == 1


@pytest.mark.parametrize("comment", ["# NOQA", "# NoQA: GL101"])
def test_uppercase_noqa_suppresses(comment):
    assert lint_text(_with_comment(comment), "a.py", gl101()).diagnostics == []


@pytest.mark.parametrize(
    ("source", "remaining"),
    [
        ("import mylib\nf(\n    1,\n)  # noqa: GLX09\ng(\n    2,\n)\n", ["call of g"]),  # last line
        ("import mylib\nf(  # noqa: GLX09\n    1,\n)\ng(\n    2,\n)\n", ["call of g"]),  # first line
        ("import mylib\nf(\n    1,  # noqa: GLX09\n)\ng(\n    2,\n)\n", ["call of f", "call of g"]),  # middle: no
    ],
    ids=["last-line", "first-line", "middle-line"],
)
def test_noqa_on_a_multiline_finding(source, remaining):
    result = lint_text(source, "a.py", [CountingRule()])
    assert [d.message for d in result.diagnostics] == remaining


def test_is_suppressed_reads_the_diagnostics_rows():
    source = "import mylib\nf(1)  # noqa\ng(2)\n"
    plain = source.replace("  # noqa", " " * len("  # noqa"))  # same length: same offsets
    assert len(plain) == len(source)
    flagged = lint_text(plain, "a.py", [CountingRule()]).diagnostics
    assert [is_suppressed(d, LineIndex(source)) for d in flagged] == [True, False]


def test_noqa_inside_a_string_on_the_line_counts_as_text():
    # Like flake8, noqa is matched on the raw line; documented here so a change is deliberate.
    source = "import mylib\nf('# noqa')\n"
    assert lint_text(source, "a.py", [CountingRule()]).diagnostics == []


# --------------------------------------------------------------------------- syntax errors


def test_syntax_error_diagnostic():
    source = "import torch\ndef f(:\n    pass\n"
    result = lint_text(source, "a.py", gl101())
    assert result.syntax_error
    assert result.errors == []
    (d,) = result.diagnostics
    assert d.code is None
    assert d.name == "syntax-error"
    assert d.message == "SyntaxError: invalid syntax"
    assert d.fix is None and d.url is None
    assert d.start == d.end
    assert LineIndex(source).row_col(d.start) == (2, 7)


@pytest.mark.parametrize(
    ("source", "row_col", "message"),
    [
        ("import torch\nx = (1,\n", (2, 5), "SyntaxError: '(' was never closed"),
        ("import torch\nx = 1 +", (2, 8), "SyntaxError: invalid syntax"),
        ("import torch\r\nx = 1\r\ny = = 2\r\n", (3, 5), "SyntaxError: invalid syntax"),
        ('import torch\nx = "éé" $ 1\n', (2, 10), "SyntaxError: invalid syntax"),
        ("import torch\nif x:\n", (2, 6), "SyntaxError: expected an indented block after 'if' statement on line 2"),
    ],
)
def test_syntax_error_positions_match_the_parser(source, row_col, message):
    (d,) = lint_text(source, "a.py", gl101()).diagnostics
    assert d.message == message
    assert LineIndex(source).row_col(d.start) == row_col
    with pytest.raises(SyntaxError) as info:
        compile(source, "a.py", "exec")
    assert row_col == (info.value.lineno, info.value.offset)


def test_syntax_error_diagnostic_clamps_to_the_text():
    source = "import torch\n"
    lines = LineIndex(source)
    error = SyntaxError("unexpected EOF", ("a.py", 9, 40, ""))
    d = syntax_error_diagnostic(error, lines)
    assert 0 <= d.start <= len(source)
    value = syntax_error_diagnostic(ValueError("source code string cannot contain null bytes"), lines)
    assert (value.start, value.message) == (0, "SyntaxError: source code string cannot contain null bytes")


def test_null_byte_in_text_is_a_syntax_error_not_a_crash():
    result = lint_text("import torch\nx = 1\x00\n", "a.py", gl101())
    assert result.syntax_error
    assert result.diagnostics[0].message.startswith("SyntaxError: ")


# --------------------------------------------------------------------------- pathological input


def test_deeply_nested_parentheses():
    source = "import torch\nx = " + "(" * 5000 + "1" + ")" * 5000 + "\n"
    result = lint_text(source, "deep.py", gl101())
    assert result.syntax_error
    (d,) = result.diagnostics
    assert d.message == "SyntaxError: too many nested parentheses"


@pytest.mark.parametrize("expression", ["-" * 5000 + "1", "not " * 5000 + "x", "1" + "+1" * 100000, "a." * 20000 + "b"])
def test_deep_expressions_are_an_error_line(expression):
    result = lint_text("import torch\nx = " + expression + "\n", "deep.py", gl101())
    assert result.errors == ["deep.py: too deeply nested for the parser; skipped"]
    assert result.diagnostics == []


def test_deep_nesting_in_a_subprocess_does_not_kill_the_interpreter(tmp_path):
    script = (
        "from greenlint.engine import lint_text\n"
        "from greenlint.rules.base import all_rules\n"
        "rules = [r() for r in all_rules()]\n"
        "for src in ['x = ' + '(' * 5000 + '1' + ')' * 5000, 'x = ' + '[' * 5000 + ']' * 5000, 'x = ' + '-' * 5000 + '1']:\n"
        "    r = lint_text('import torch\\n' + src + '\\n', 'deep.py', rules)\n"
        "    print(bool(r.diagnostics or r.errors))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=300, cwd=tmp_path, check=False)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    assert proc.stdout.decode().split() == ["True", "True", "True"]


def test_very_deep_unary_chain_is_an_error_line():
    result = lint_text("import torch\nx = " + "-" * 20000 + "1\n", "deep.py", gl101())
    assert result.errors == ["deep.py: too deeply nested for the parser; skipped"]


def test_deeply_nested_model_calls_still_lint():
    source = "import torch\ndef evaluate(model, x):\n    model.eval()\n    y = " + "model(" * 150 + "x" + ")" * 150 + "\n"
    result = lint_text(source, "a.py", gl101())
    assert result.errors == []
    assert len(result.diagnostics) == 150


def test_fifty_thousand_line_file():
    block = EVAL.split("\n", 1)[1]  # the function without the import
    parts = ["import torch\n"]
    for i in range(5000):
        parts.append(f"def train_{i}(model, x, opt):\n    loss = model(x).sum()\n    loss.backward()\n    opt.step()\n\n")
        parts.append(f"CONSTANT_{i} = {i}\n" * 5)
    parts.append(block)
    source = "".join(parts)
    lines = source.count("\n")
    assert lines >= 50_000
    result = lint_text(source, "big.py", gl101())
    assert result.errors == []
    (d,) = result.diagnostics
    assert LineIndex(source).row_col(d.start) == (lines - 1, 21)


def test_registered_rules_all_run_on_the_example():
    rules = [rule() for rule in all_rules()]
    result = lint_text(EVAL, "a.py", rules)
    assert result.errors == []
    assert "GL101" in [d.code for d in result.diagnostics]


def test_prefilter_never_drops_a_finding_the_full_analysis_reports():
    """Every rule example, fixture and bundled example linted with and without the cheap text
    pre-filter gives the same findings (the corpus-wide check is benchmarks/engine_speed.py's)."""
    from pathlib import Path

    from greenlint.rules.base import all_rules

    root = Path(__file__).resolve().parent.parent
    rules = [rule() for rule in all_rules()]
    sources = [(e.filename, e.code) for r in all_rules() for e in (*r.VALID, *r.INVALID)]
    sources += [(str(p), p.read_text()) for folder in ("fixtures", "examples") for p in sorted((root / folder).rglob("*.py"))]
    assert len(sources) > 200
    for name, text in sources:
        fast = [(d.code, d.start, d.message) for d in lint_text(text, name, rules).diagnostics]
        full = [(d.code, d.start, d.message) for d in lint_text(text, name, rules, use_prefilter=False).diagnostics]
        assert fast == full, name


@pytest.mark.parametrize(
    ("filename", "is_test"),
    [
        ("tests/models/test_vit.py", True),
        ("pkg/tests/helpers.py", True),
        ("test/util.py", True),
        ("torch/testing/_internal/common_utils.py", True),  # test helpers
        ("conftest.py", True),
        ("src/model_test.py", True),
        ("src/testing_utils.py", False),
        ("src/attestation/model.py", False),
        ("src/contest/train.py", False),
        ("train.py", False),
    ],
)
def test_is_test_file(filename, is_test):
    assert is_test_file(filename) is is_test


def test_unused_noqa_judges_a_rule_the_prefilter_ruled_out():
    """GL701 (Keras) cannot fire on a PyTorch-only file: its suppression there is unused. A
    rule that skips test files is not judged in one."""
    rules = [rule() for rule in all_rules()]
    text = "import torch\n\nx = torch.ones(3)  # noqa: GL701\n"
    assert [d.code for d in lint_text(text, "train.py", rules).diagnostics] == ["GL001"]
    assert lint_text(text, "tests/test_train.py", rules).diagnostics == []


@pytest.mark.parametrize(
    ("line", "uses_cuda"),
    [
        ('device = "cuda"', True),
        ('device = "CUDA:1"', True),
        ('device = "gpu"', True),
        ("x = x.cuda()", True),
        ("torch.cuda.synchronize()", True),
        ('config = {"gpus": 2}', False),  # a config key, not a device
        ('ids = args["gpu_ids"]', False),
        ('device = "cpu"', False),
    ],
)
def test_uses_cuda_reads_device_strings_not_config_keys(line, uses_cuda):
    from greenlint.semantic import SemanticModel

    tree = ast.parse(f"import torch\n{line}\n")
    assert SemanticModel(tree).uses_cuda() is uses_cuda
