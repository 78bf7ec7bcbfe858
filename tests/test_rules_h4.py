"""GL501 debug-mode-left-on and GL502 checkpoint-every-step: behaviour the rules' own
VALID/INVALID examples cannot express (newline styles, option handling, edit shapes)."""

from __future__ import annotations

import ast

import pytest

from greenlint.engine import lint_text
from greenlint.fixer import fix_text
from greenlint.rules.gl501_debug_mode_left_on import DebugModeLeftOn
from greenlint.rules.gl502_checkpoint_every_step import CheckpointEveryStep


def _fixed(code: str, filename: str = "train.py") -> str:
    result = fix_text(code, filename, [DebugModeLeftOn()], unsafe_fixes=True)
    assert not result.errors
    ast.parse(result.text)
    return result.text


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        ("Trainer(detect_anomaly=True)", "Trainer()"),
        ("Trainer(detect_anomaly=True, max_epochs=3)", "Trainer(max_epochs=3)"),
        ("Trainer(max_epochs=3, detect_anomaly=True)", "Trainer(max_epochs=3)"),
        ("Trainer(max_epochs=3, detect_anomaly=True, devices=1)", "Trainer(max_epochs=3, devices=1)"),
        ("Trainer(max_epochs=3, detect_anomaly=True,)", "Trainer(max_epochs=3,)"),
        ("Trainer(\n    max_epochs=3,\n    detect_anomaly=True\n)", "Trainer(\n    max_epochs=3,\n)"),
        ("Trainer(\n    detect_anomaly=True,  # NaN hunt\n)", "Trainer(\n)"),
        ("Trainer(\n    max_epochs=3,  # long\n    detect_anomaly=True,\n)", "Trainer(\n    max_epochs=3,  # long\n)"),
    ],
)
def test_lightning_keyword_removal_shapes(call, expected):
    code = f"from lightning.pytorch import Trainer\n\ntrainer = {call}\ntrainer.fit(model)\n"
    assert _fixed(code) == f"from lightning.pytorch import Trainer\n\ntrainer = {expected}\ntrainer.fit(model)\n"


def test_keyword_with_a_comment_in_the_gap_is_display_only():
    code = "import lightning as L\n\nt = L.Trainer(max_epochs=3, detect_anomaly=True  # x\n    , devices=1)\n"
    [finding] = lint_text(code, "train.py", [DebugModeLeftOn()]).diagnostics
    assert finding.fix.applicability.value == "display-only"


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_fixes_keep_the_files_newlines(newline):
    code = newline.join(
        [
            "import torch",
            "",
            "torch.autograd.set_detect_anomaly(True)",
            "def train(model, loader, optimizer):",
            "    with torch.autograd.detect_anomaly():",
            "        for x in loader:",
            "            model(x).backward()",
            "            optimizer.step()",
            "",
        ]
    )
    expected = newline.join(
        [
            "import torch",
            "",
            "def train(model, loader, optimizer):",
            "    for x in loader:",
            "        model(x).backward()",
            "        optimizer.step()",
            "",
        ]
    )
    assert _fixed(code) == expected


def test_unwrap_at_module_end_keeps_trailing_comments():
    code = (
        "import torch\n\n"
        "with torch.autograd.detect_anomaly():\n"
        "    for x in loader:\n"
        "        model(x).backward()\n"
        "        optimizer.step()\n"
        "    # done\n"
    )
    assert _fixed(code) == (
        "import torch\n\n"
        "for x in loader:\n"
        "    model(x).backward()\n"
        "    optimizer.step()\n"
        "# done\n"
    )


def test_multiline_strings_in_an_unwrapped_block_keep_their_value():
    code = (
        "import torch\n\n"
        "def train(model, loader, optimizer):\n"
        "    with torch.autograd.detect_anomaly():\n"
        "        for x in loader:\n"
        "            model(x).backward()\n"
        "            optimizer.step()\n"
        '            log("""a\n'
        '    b""")\n'
    )
    fixed = _fixed(code)
    strings = [n.value for n in ast.walk(ast.parse(fixed)) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    assert strings == ["a\n    b"]


def test_include_tests_option():
    code = "import torch\n\ntorch.autograd.set_detect_anomaly(True)\ntrain()\n"
    assert lint_text(code, "tests/test_train.py", [DebugModeLeftOn()]).diagnostics == []
    assert len(lint_text(code, "tests/test_train.py", [DebugModeLeftOn({"include-tests": True})]).diagnostics) == 1
    saving = (
        "import torch\n\nfor x, y in loader:\n    model(x, y).backward()\n    optimizer.step()\n"
        "    torch.save(model.state_dict(), 'm.pt')\n"
    )
    assert lint_text(saving, "tests/test_loop.py", [CheckpointEveryStep()]).diagnostics == []
    assert len(lint_text(saving, "tests/test_loop.py", [CheckpointEveryStep({"include-tests": True})]).diagnostics) == 1


def test_profiler_module_and_benchmark_files_are_skipped():
    code = (
        "import torch\n\n"
        "with torch.profiler.profile():\n"
        "    for x in loader:\n"
        "        model(x).backward()\n"
        "        optimizer.step()\n"
    )
    assert len(lint_text(code, "train.py", [DebugModeLeftOn()]).diagnostics) == 1
    for name in ("profile_training.py", "benchmarks/train.py", "tools/debug/train.py", "train_bench.py", "/home/x/bench/debug_run.py"):
        assert lint_text(code, name, [DebugModeLeftOn()]).diagnostics == [], name


def test_checkpoint_helper_is_reported_once_at_the_call():
    code = (
        "import torch\n\n"
        "class Trainer:\n"
        "    def save_checkpoint(self, path):\n"
        "        torch.save({'model': self.model.state_dict()}, path)\n\n"
        "    def fit(self, loader):\n"
        "        for batch in loader:\n"
        "            self.model(batch).backward()\n"
        "            self.optimizer.step()\n"
        "            self.save_checkpoint('last.pt')\n"
    )
    [finding] = lint_text(code, "trainer.py", [CheckpointEveryStep()]).diagnostics
    assert finding.message.startswith("`self.save_checkpoint(...)` (defined at line 4")
    assert finding.fix.applicability.value == "display-only"


def test_rank_only_condition_is_not_an_interval_guard():
    body = "    if {test}:\n        torch.save(model.state_dict(), 'm.pt')\n"
    head = "import torch\n\nfor step, (x, y) in enumerate(loader):\n    model(x, y).backward()\n    optimizer.step()\n"
    for test, count in [
        ("dist.get_rank() == 0", 1),
        ("args.local_rank in (-1, 0)", 1),
        ("accelerator.is_main_process", 1),
        ("self.trainer.is_global_zero", 1),
        ("step % 100 == 0", 0),
        ("accelerator.is_main_process and step % 100 == 0", 0),
        ("args.save_every_step", 0),
    ]:
        code = head + body.format(test=test)
        assert len(lint_text(code, "train.py", [CheckpointEveryStep()]).diagnostics) == count, test


def test_only_the_nearest_folder_marks_a_debugging_file():
    code = "import torch\n\ntorch.autograd.set_detect_anomaly(True)\ntrain()\n"
    assert len(lint_text(code, "/home/me/benchmarks-repo/src/train.py", [DebugModeLeftOn()]).diagnostics) == 1
