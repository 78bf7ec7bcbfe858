"""GL203 / GL506 / GL507: what their VALID/INVALID examples cannot express — where a finding is
anchored (the loop header, not the whole loop), how noqa on that line works, the shared CUDA-loop
notion (`rules/_cuda_loops.py`) and its loop-length arithmetic."""

from __future__ import annotations

import ast
import textwrap

import pytest

from greenlint.engine import lint_text
from greenlint.rules._cuda_loops import (
    LONG_LOOP,
    cuda_loops,
    framework_managed,
    is_long,
)
from greenlint.rules.base import rule_by_selector
from greenlint.semantic import SemanticModel

TRAIN = textwrap.dedent(
    """\
    import torch
    from torch import nn

    model = nn.Sequential(nn.Conv2d(3, 256, 3), nn.Flatten(), nn.LazyLinear(2)).cuda()
    for epoch in range(10):
        for x, y in loader:
            loss = nn.functional.cross_entropy(model(x.cuda()), y.cuda())
            loss.backward()
            optimizer.step()

    with torch.no_grad():
        for x in test_loader:
            model(x.cuda())
    """
)


def _lint(code: str, selector: str, filename: str = "train.py"):
    rule = rule_by_selector(selector)()
    return lint_text(code, filename, [rule])


def _model(code: str) -> SemanticModel:
    return SemanticModel(ast.parse(textwrap.dedent(code)), "example.py")


@pytest.mark.parametrize("selector", ["GL203", "GL506", "GL507"])
def test_findings_sit_on_the_loop_header(selector):
    result = _lint(TRAIN, selector)
    assert not result.errors
    header = "for x, y in loader"
    start = TRAIN.index(header)
    first = result.diagnostics[0]
    assert (first.start, first.end) == (start, start + len(header))


def test_gl203_reports_every_loop_gl506_and_gl507_once_per_file():
    assert len(_lint(TRAIN, "GL203").diagnostics) == 2  # training loop and inference loop
    assert len(_lint(TRAIN, "GL506").diagnostics) == 1  # training loops only
    [finding] = _lint(TRAIN, "GL507").diagnostics
    assert "and 1 more loop" in finding.message


def test_noqa_on_the_header_line_silences():
    code = TRAIN.replace("for x, y in loader:", "for x, y in loader:  # noqa: GL203, GL506")
    assert len(_lint(code, "GL203").diagnostics) == 1  # the inference loop is still reported
    assert _lint(code, "GL506").diagnostics == []


def test_a_setting_anywhere_in_the_file_silences_every_loop():
    code = TRAIN + "\ntorch.set_float32_matmul_precision('high')\n"
    assert _lint(code, "GL203").diagnostics == []


def test_fp32_variable_named_half_does_not_count_as_a_precision_setting():
    code = TRAIN.replace("for epoch in range(10):", "half = 8\nfor epoch in range(10):")
    assert len(_lint(code, "GL203").diagnostics) == 2


def test_re_compile_is_not_a_graph_compiler_but_model_compile_is():
    with_re = "import re\nWORD = re.compile('x')\n" + TRAIN
    assert len(_lint(with_re, "GL507").diagnostics) == 1
    compiled = TRAIN.replace(".cuda()\nfor epoch", ".cuda()\nmodel.compile()\nfor epoch")
    assert _lint(compiled, "GL507").diagnostics == []


def test_test_files_are_skipped_unless_asked():
    for selector in ("GL203", "GL506", "GL507"):
        assert _lint(TRAIN, selector, "tests/test_train.py").diagnostics == []
        rule = rule_by_selector(selector)({"include-tests": True})
        assert lint_text(TRAIN, "tests/test_train.py", [rule]).diagnostics


@pytest.mark.parametrize(
    ("header", "long"),
    [
        ("for i in range(10):", False),
        ("for i in range(0, 100, 10):", False),
        (f"for i in range({LONG_LOOP}):", True),
        ("for i in range(n):", True),
        ("for x in loader:", True),
        ("for i, x in enumerate([a, b, c]):", False),
        ("for x in ([a, b] if dynamic else [a]):", False),
        ("while True:", True),
    ],
)
def test_loop_length(header, long):
    semantic = _model(f"{header}\n    model(x)\n")
    loop = semantic.tree.body[0]
    assert is_long(semantic, loop) is long


def test_nested_literal_counts_multiply():
    semantic = _model("for epoch in range(10):\n    for i in range(10):\n        model(x)\n")
    inner = semantic.tree.body[0].body[0]
    assert is_long(semantic, inner)  # 100 iterations in all


def test_a_training_loop_with_an_evaluation_loop_inside_still_counts():
    semantic = _model(
        """
        import torch
        model = Net().cuda()
        for step, (x, y) in enumerate(loader):
            model(x).sum().backward()
            optimizer.step()
            if step % 100 == 0:
                for vx in val_loader:
                    model(vx)
        """
    )
    kinds = sorted(loop.kind for loop in cuda_loops(semantic))
    assert kinds == ["inference", "training"]


@pytest.mark.parametrize(
    "imports",
    [
        "import lightning as L",
        "from pytorch_lightning import Trainer",
        "from transformers import Trainer",
        "from trl import SFTTrainer",
        "import accelerate",
        "import deepspeed",
    ],
)
def test_framework_managed_files(imports):
    semantic = _model(f"{imports}\nimport torch\nx = torch.zeros(1).cuda()\n")
    assert framework_managed(semantic)
    assert cuda_loops(semantic) == []


def test_transformers_models_alone_are_not_framework_managed():
    semantic = _model("from transformers import AutoModel\nimport torch\n")
    assert not framework_managed(semantic)


def test_gl203_tiny_models_are_left_alone_but_not_for_gl507():
    tiny = TRAIN.replace("nn.Conv2d(3, 256, 3)", "nn.Conv2d(3, 16, 3)")
    assert _lint(tiny, "GL203").diagnostics == []
    assert len(_lint(tiny, "GL507").diagnostics) == 1  # compiling helps launch-bound models most
    unknown = TRAIN.replace("nn.Conv2d(3, 256, 3)", "nn.Conv2d(3, width, 3)")
    assert len(_lint(unknown, "GL203").diagnostics) == 2


@pytest.mark.parametrize(
    "header",
    ["def test_training_converges(model, loader):", "def run_model(model, loader, num_iterations=10, precision=1e-4):"],
)
def test_loops_in_tests_and_numerics_checks_do_not_count(header):
    code = f"""
import torch
{header}
    model.cuda()
    for x, y in loader:
        model(x.cuda()).sum().backward()
        optimizer.step()
"""
    assert cuda_loops(_model(code)) == []


def test_an_evaluation_function_named_test_still_counts():
    code = """
import torch
def test(model, device, test_loader):
    with torch.no_grad():
        for x, y in test_loader:
            model(x.to(device))
device = torch.device("cuda")
"""
    assert [loop.kind for loop in cuda_loops(_model(code))] == ["inference"]
