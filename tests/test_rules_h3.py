"""GL404, GL405 and GL508: behaviour the rules' VALID/INVALID examples cannot express (other
rules alongside, newline styles, end of file, options)."""

from __future__ import annotations

import ast
import textwrap

from greenlint.engine import lint_text
from greenlint.fixer import fix_text
from greenlint.rules.base import rule_by_selector


def _rule(code: str, **options):
    return rule_by_selector(code)(options)


def _codes(text: str, *codes: str, filename: str = "train.py") -> list[str]:
    return [d.code for d in lint_text(text, filename, [_rule(c) for c in codes]).diagnostics]


def test_gl405_leaves_total_plus_equals_loss_to_gl401():
    """`total += loss` is GL401's: GL405 only reports what GL401 does not (collected values)."""
    text = textwrap.dedent(
        """
        import torch

        def train(model, loader, optimizer, criterion):
            model.cuda()
            total, history = 0.0, []
            for x, y in loader:
                loss = criterion(model(x.cuda()), y.cuda())
                loss.backward()
                optimizer.step()
                total += loss
                history.append(loss)
            return total, history
        """
    )
    diagnostics = lint_text(text, "train.py", [_rule("GL401"), _rule("GL405")]).diagnostics
    found = sorted((d.code, text[d.start : d.end]) for d in diagnostics)
    assert found == [("GL401", "total += loss"), ("GL405", "history.append(loss)")]


def test_gl404_move_keeps_crlf_newlines():
    text = (
        "import gc\r\nimport torch\r\n\r\n"
        "def train(model, loader, optimizer):\r\n"
        "    for x, y in loader:\r\n"
        "        model(x).sum().backward()\r\n"
        "        optimizer.step()\r\n"
        "        gc.collect()\r\n"
        "    return model\r\n"
    )
    fixed = fix_text(text, "train.py", [_rule("GL404")], unsafe_fixes=True).text
    assert fixed == (
        "import gc\r\nimport torch\r\n\r\n"
        "def train(model, loader, optimizer):\r\n"
        "    for x, y in loader:\r\n"
        "        model(x).sum().backward()\r\n"
        "        optimizer.step()\r\n"
        "    gc.collect()\r\n"
        "    return model\r\n"
    )


def test_gl404_move_at_end_of_file_without_newline():
    text = "import gc\nimport torch\n\nfor x in loader:\n    model(x).sum().backward()\n    optimizer.step()\n    gc.collect()"
    fixed = fix_text(text, "train.py", [_rule("GL404")], unsafe_fixes=True).text
    assert fixed == "import gc\nimport torch\n\nfor x in loader:\n    model(x).sum().backward()\n    optimizer.step()\ngc.collect()"
    ast.parse(fixed)


def test_gl404_group_is_one_fix_in_one_pass():
    """Adjacent calls move together, in their order, whichever finding is fixed first."""
    text = textwrap.dedent(
        """
        import gc
        import torch

        def train(model, loader, optimizer):
            for x, y in loader:
                model(x).sum().backward()
                gc.collect()
                torch.cuda.empty_cache()
                optimizer.step()
        """
    )
    result = fix_text(text, "train.py", [_rule("GL404")], unsafe_fixes=True)
    assert result.fixed["GL404"] == 2
    assert result.text.endswith("        optimizer.step()\n    gc.collect()\n    torch.cuda.empty_cache()\n")


def test_gl404_safe_fixes_only_leaves_the_file_alone():
    text = "import gc\nimport torch\n\nfor x in loader:\n    model(x).sum().backward()\n    optimizer.step()\n    gc.collect()\n"
    assert fix_text(text, "train.py", [_rule("GL404")], unsafe_fixes=False).text == text


def test_gl508_silent_under_torch_compile_reduce_overhead():
    text = textwrap.dedent(
        """
        import torch

        def train(model, loader, optimizer):
            step = torch.compile(model.cuda(), mode="reduce-overhead")
            for x, y in loader:
                optimizer.zero_grad(set_to_none=False)
                step(x).sum().backward()
                optimizer.step()
        """
    )
    assert _codes(text, "GL508") == []
    assert _codes(text.replace('mode="reduce-overhead"', 'mode="default"'), "GL508") == ["GL508"]


def test_include_tests_option_turns_test_files_on():
    text = "import torch\n\ndef test_zero(opt):\n    torch.cuda.synchronize()\n    opt.zero_grad(set_to_none=False)\n"
    assert _codes(text, "GL508", filename="tests/test_opt.py") == []
    rule = _rule("GL508", **{"include-tests": True})
    assert [d.code for d in lint_text(text, "tests/test_opt.py", [rule]).diagnostics] == ["GL508"]


def test_gl405_drops_keyword_between_other_arguments():
    text = textwrap.dedent(
        """
        import torch

        for x, y in batches:
            loss = ((net(x) - y) ** 2).mean()
            torch.autograd.backward(loss, retain_graph=True, inputs=list(net.parameters()))
            opt.step()
        """
    )
    fixed = fix_text(text, "train.py", [_rule("GL405")], unsafe_fixes=True).text
    assert "torch.autograd.backward(loss, inputs=list(net.parameters()))" in fixed
