"""GL303 and GL304 behaviour the VALID/INVALID examples cannot express: fix layouts (comments,
newline styles), fixes that must give up, and that the GL304 rewrite computes the same values."""

from __future__ import annotations

import ast

import pytest

from greenlint.engine import lint_text
from greenlint.fixer import fix_text
from greenlint.rules.gl303_dataloader_misconfig import DataloaderMisconfig
from greenlint.rules.gl304_row_iteration import RowIteration

HEAD = "import torch\nfrom torch.utils.data import DataLoader\nmodel.cuda()\n"


@pytest.mark.parametrize(
    ("call", "fixed"),
    [
        # a trailing comment stays with the argument it follows
        (
            "loader = DataLoader(\n    ds,\n    num_workers=2,  # two\n)\n",
            "loader = DataLoader(\n    ds,\n    num_workers=2,  # two\n    pin_memory=True,\n)\n",
        ),
        (
            "loader = DataLoader(\n    ds,\n    num_workers=2  # two\n)\n",
            "loader = DataLoader(\n    ds,\n    num_workers=2,  # two\n    pin_memory=True\n)\n",
        ),
        # commented-out lines before the closing parenthesis stay where they are
        (
            "loader = DataLoader(\n    ds,\n    num_workers=2,\n    # shuffle=True,\n)\n",
            "loader = DataLoader(\n    ds,\n    num_workers=2,\n    # shuffle=True,\n    pin_memory=True,\n)\n",
        ),
        # aligned continuation lines
        (
            "loader = DataLoader(ds,\n                    num_workers=2)\n",
            "loader = DataLoader(ds,\n                    num_workers=2,\n                    pin_memory=True)\n",
        ),
        # arguments on one line, the closing parenthesis on the next
        (
            "loader = DataLoader(\n    ds, num_workers=2\n)\n",
            "loader = DataLoader(\n    ds, num_workers=2, pin_memory=True\n)\n",
        ),
        (
            "loader = DataLoader(\n    ds, num_workers=2,  # two\n)\n",
            "loader = DataLoader(\n    ds, num_workers=2, pin_memory=True,  # two\n)\n",
        ),
        # parenthesised, chained, several calls in one statement
        ("loader = (DataLoader(ds, num_workers=2))\n", "loader = (DataLoader(ds, num_workers=2, pin_memory=True))\n"),
        ("n = len(DataLoader(ds, num_workers=2).dataset)\n", "n = len(DataLoader(ds, num_workers=2, pin_memory=True).dataset)\n"),
        (
            "pair = [DataLoader(a, num_workers=2), DataLoader(b, num_workers=2)]\n",
            "pair = [DataLoader(a, num_workers=2, pin_memory=True), DataLoader(b, num_workers=2, pin_memory=True)]\n",
        ),
    ],
)
def test_gl303_fix_follows_the_call_layout(call, fixed):
    result = fix_text(HEAD + call, "train.py", [DataloaderMisconfig()])
    assert not result.errors
    assert result.text == HEAD + fixed


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_gl303_fix_keeps_the_file_newlines(newline):
    source = (HEAD + "loader = DataLoader(\n    ds,\n    num_workers=2,\n)\n").replace("\n", newline)
    result = fix_text(source, "train.py", [DataloaderMisconfig()])
    expected = (HEAD + "loader = DataLoader(\n    ds,\n    num_workers=2,\n    pin_memory=True,\n)\n").replace("\n", newline)
    assert result.text == expected


def test_gl303_num_workers_bound_to_zero_gets_advice_and_no_persistent_workers():
    source = HEAD + "w = 0\nloader = DataLoader(ds, num_workers=w, pin_memory=True)\nfor e in range(3):\n    for b in loader:\n        step(b.cuda())\n"
    messages = [d.message for d in lint_text(source, "train.py", [DataloaderMisconfig()]).diagnostics]
    assert len(messages) == 1 and "num_workers" in messages[0]


def test_gl303_persistent_workers_only_with_a_known_positive_count():
    source = HEAD + "loader = DataLoader(ds, num_workers=args.workers, pin_memory=True)\nfor e in range(3):\n    for b in loader:\n        step(b.cuda())\n"
    assert lint_text(source, "train.py", [DataloaderMisconfig()]).diagnostics == []


def test_gl303_safe_fix_alone_adds_only_pin_memory():
    source = HEAD + "loader = DataLoader(ds, num_workers=2)\nfor e in range(3):\n    for b in loader:\n        step(b.cuda())\n"
    safe = fix_text(source, "train.py", [DataloaderMisconfig()], unsafe_fixes=False)
    assert "pin_memory=True)" in safe.text and "persistent_workers" not in safe.text
    both = fix_text(source, "train.py", [DataloaderMisconfig()], unsafe_fixes=True)
    assert "num_workers=2, pin_memory=True, persistent_workers=True)" in both.text


FRAME = 'import pandas as pd\n\ndf = pd.read_csv("x.csv")\n'


def test_gl304_multiline_lambda_body_is_parenthesised():
    source = FRAME + 'df["t"] = df.apply(lambda r: (r["a"]\n                              + r["b"]), axis=1)\n'
    result = fix_text(source, "prep.py", [RowIteration()], unsafe_fixes=True)
    assert result.text == FRAME + 'df["t"] = (df["a"]\n                              + df["b"])\n'
    ast.parse(result.text)


def test_gl304_multiline_body_without_parentheses_gets_them():
    source = FRAME + 'df["t"] = df.apply(\n    lambda r: r["a"]\n    + r["b"],\n    axis=1,\n)\n'
    result = fix_text(source, "prep.py", [RowIteration()], unsafe_fixes=True)
    assert result.text == FRAME + 'df["t"] = (df["a"]\n    + df["b"])\n'


def test_gl304_no_fix_when_a_comment_would_be_dropped():
    source = FRAME + 'df["t"] = df.apply(\n    lambda r: r["a"] + r["b"],  # per row\n    axis=1,\n)\n'
    result = fix_text(source, "prep.py", [RowIteration()], unsafe_fixes=True)
    assert result.text == source
    assert len(lint_text(source, "prep.py", [RowIteration()]).diagnostics) == 1


def test_gl304_unsafe_fix_is_not_applied_without_unsafe_fixes():
    source = FRAME + 'df["t"] = df.apply(lambda r: r["a"] * 2, axis=1)\n'
    assert fix_text(source, "prep.py", [RowIteration()], unsafe_fixes=False).text == source


def test_gl304_rewrite_gives_the_same_values_on_float_columns():
    np = pytest.importorskip("numpy")
    pd = pytest.importorskip("pandas")
    source = FRAME + 'df["t"] = df.apply(lambda r: -r["a"] * r["b"] / (r["c"] + 2) - 1, axis=1)\n'
    fixed = fix_text(source, "prep.py", [RowIteration()], unsafe_fixes=True).text
    assert 'df["t"] = -df["a"] * df["b"] / (df["c"] + 2) - 1\n' in fixed
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"a": rng.normal(size=500), "b": rng.normal(size=500), "c": rng.uniform(size=500)})
    before = frame.apply(lambda r: -r["a"] * r["b"] / (r["c"] + 2) - 1, axis=1)
    after = -frame["a"] * frame["b"] / (frame["c"] + 2) - 1
    assert before.dtype == after.dtype and np.array_equal(before.to_numpy(), after.to_numpy())


def test_gl304_element_loop_in_outer_loop_reported_once():
    source = (
        "import numpy as np\n\nx = np.random.rand(300)\ny = np.random.rand(300)\no = np.zeros((300, 300))\n"
        "for i in range(len(x)):\n    for j in range(len(y)):\n        o[i][j] = x[i] * y[j]\n"
    )
    diagnostics = lint_text(source, "outer.py", [RowIteration()]).diagnostics
    assert len(diagnostics) == 1 and source[diagnostics[0].start : diagnostics[0].end] == "range(len(x))"
