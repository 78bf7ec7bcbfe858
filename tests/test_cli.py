"""End-to-end tests of the command line, ruff-compatible behaviour, on real files in tmp_path.

Most tests drive `greenlint.cli.main` through click's CliRunner (stdout and stderr kept
apart); a few run the real interpreter in a subprocess (`python -m greenlint.cli`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from samples import EVAL, EVAL_FIXED, GENERATE, GENERATE_FIXED, write

from greenlint import __version__
from greenlint.cli import main
from greenlint.rules.gl101_inference_without_no_grad import InferenceWithoutNoGrad

# --------------------------------------------------------------------------- sources

# A safe fix: the model's output never leaves the function.
# Each finding in text output carries its rule's one-line evidence.
EVIDENCE = f"  = impact: medium\n  = evidence: {InferenceWithoutNoGrad.evidence}\n"
EVAL_MESSAGE = "`model(...)` runs with autograd on in `evaluate()`, an inference function; use `torch.no_grad()`"
EVAL_HEAD = f"a.py:6:21: GL101 [*] {EVAL_MESSAGE}\n"
MEDIUM = " (impact: medium)"  # concise lines end with the rule's impact
EVAL_CONCISE = f"a.py:6:21: GL101 [*] {EVAL_MESSAGE}{MEDIUM}\n"
EVAL_BLOCK = (
    EVAL_HEAD
    + "  |\n"
    + "6 |         correct += (model(x).argmax(1) == y).sum().item()\n"
    + "  |                     ^^^^^^^^ GL101\n"
    + "  |\n"
    + "  = help: Decorate `evaluate` with `@torch.no_grad()`\n"
    + EVIDENCE
    + "\n"
)
EVAL_TEXT = EVAL_BLOCK + "Found 1 error.\n[*] 1 fixable with the `--fix` option.\n"

# An unsafe fix: the model's output is returned, so no_grad changes what callers get.
UNSAFE = """\
import torch as T

def predict(net, xs):
    return [net(x) for x in xs]
"""
UNSAFE_FIXED = """\
import torch as T

@T.no_grad()
def predict(net, xs):
    return [net(x) for x in xs]
"""
UNSAFE_MESSAGE = "`net(...)` runs with autograd on in `predict()`, an inference function; use `torch.no_grad()`"

# A wrap fix (libcst): a generation loop after lm.eval(), at module level.

# A fix that needs an import as well as a wrap: two edits in one fix.
TRANSFORMERS = """\
from transformers import AutoModel

def main(val_loader):
    model = AutoModel.from_pretrained("distilbert-base-uncased")
    for batch in val_loader:
        report(model(**batch))
"""
TRANSFORMERS_FIXED = """\
from transformers import AutoModel
import torch

def main(val_loader):
    model = AutoModel.from_pretrained("distilbert-base-uncased")
    with torch.no_grad():
        for batch in val_loader:
            report(model(**batch))
"""

CLEAN = """\
import torch

@torch.no_grad()
def evaluate(model, x):
    return model(x).argmax(1).tolist()
"""


# --------------------------------------------------------------------------- helpers


def run(*args: str, input: str | bytes | None = None):
    result = CliRunner().invoke(main, list(args), input=input)
    # A traceback is never an acceptable way for the CLI to fail.
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return result


def run_subprocess(*args: str, cwd: Path, input: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "greenlint.cli", *args],
        cwd=cwd,
        input=input,
        capture_output=True,
        check=False,
        timeout=120,
    )


def apply_json_edits(text: str, edits: list[dict]) -> str:
    """Apply ruff-style JSON edits (1-based row/column, end exclusive) to text."""
    lines = text.splitlines(keepends=True) or [""]
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def offset(location: dict) -> int:
        row, column = location["row"], location["column"]
        if row > len(lines):
            return len(text)
        return starts[row - 1] + column - 1

    spans = sorted({(offset(e["location"]), offset(e["end_location"]), e["content"]) for e in edits})
    out, cursor = [], 0
    for start, end, content in spans:
        assert start >= cursor, "JSON edits overlap"
        out.append(text[cursor:start])
        out.append(content)
        cursor = end
    out.append(text[cursor:])
    return "".join(out)


# --------------------------------------------------------------------------- check: text output


@pytest.mark.parametrize("command", [["check", "."], ["."], ["check"], []], ids=["check-dir", "default-dir", "check-cwd", "bare"])
def test_finding_text_output_exact(project, command):
    write(project, "a.py", EVAL)
    result = run(*command)
    assert result.stdout == EVAL_TEXT
    assert result.stderr == ""
    assert result.exit_code == 1


def test_text_output_with_tabs_and_a_multiline_finding(project):
    write(project, "t.py", EVAL.replace("    ", "\t"))
    write(project, "m.py", "import torch\n\ndef evaluate(model, x):\n    return model(\n        x\n    ).argmax(1).item()\n")
    result = run("-q", ".")
    assert result.stdout == (
        f"m.py:4:12: GL101 [*] {EVAL_MESSAGE}\n"
        "  |\n"
        "4 |     return model(\n"
        "  |            ^^^^^^ GL101\n"
        "  |\n"
        "  = help: Decorate `evaluate` with `@torch.no_grad()`\n"
        f"{EVIDENCE}"
        "\n"
        f"t.py:6:15: GL101 [*] {EVAL_MESSAGE}\n"
        "  |\n"
        "6 |         correct += (model(x).argmax(1) == y).sum().item()\n"
        "  |                     ^^^^^^^^ GL101\n"
        "  |\n"
        "  = help: Decorate `evaluate` with `@torch.no_grad()`\n"
        f"{EVIDENCE}"
        "\n"
    )


def test_explicit_file_path_and_subdirectory_display_names(project):
    write(project, "pkg/a.py", EVAL)
    result = run("check", "pkg", "--output-format", "concise", "-q")
    assert result.stdout == f"{os.path.join('pkg', 'a.py')}:6:21: GL101 [*] {EVAL_MESSAGE}{MEDIUM}\n"
    result = run("check", "pkg/a.py", "--output-format", "concise", "-q")
    assert result.stdout == f"pkg/a.py:6:21: GL101 [*] {EVAL_MESSAGE}{MEDIUM}\n"
    assert result.exit_code == 1


def test_clean_directory_passes(project):
    write(project, "clean.py", CLEAN)
    write(project, "plain.py", "print('no framework here')\n")
    result = run("check", ".")
    assert result.stdout == "All checks passed!\n"
    assert result.stderr == ""
    assert result.exit_code == 0


def test_exit_zero_keeps_output(project):
    write(project, "a.py", EVAL)
    result = run("check", "--exit-zero", ".")
    assert result.stdout == EVAL_TEXT
    assert result.exit_code == 0


def test_quiet_prints_findings_only(project):
    write(project, "a.py", EVAL)
    result = run("check", "-q", ".")
    assert result.stdout == EVAL_BLOCK
    assert result.exit_code == 1


def test_several_files_sorted_and_counted(project):
    write(project, "b.py", EVAL)
    write(project, "a.py", EVAL)
    write(project, "sub/c.py", UNSAFE)
    result = run("--output-format", "concise", ".")
    assert result.stdout == (
        f"a.py:6:21: GL101 [*] {EVAL_MESSAGE}{MEDIUM}\n"
        f"b.py:6:21: GL101 [*] {EVAL_MESSAGE}{MEDIUM}\n"
        f"{os.path.join('sub', 'c.py')}:4:13: GL101 {UNSAFE_MESSAGE}{MEDIUM}\n"
        "Found 3 errors.\n"
        "[*] 2 fixable with the `--fix` option (1 hidden fix can be enabled with the `--unsafe-fixes` option).\n"
    )
    assert result.exit_code == 1


def test_default_excludes_skip_venv_and_build_dirs(project):
    write(project, ".venv/lib/a.py", EVAL)
    write(project, "node_modules/a.py", EVAL)
    write(project, "src/ok.py", CLEAN)
    result = run(".")
    assert result.stdout == "All checks passed!\n"
    assert result.exit_code == 0


def test_help(project):
    result = run("--help")
    assert result.exit_code == 0
    assert "check" in result.stdout and "rules" in result.stdout


# --------------------------------------------------------------------------- --fix / --diff


def test_fix_rewrites_file_exactly(project):
    path = write(project, "a.py", EVAL)
    result = run("check", "--fix", ".")
    assert path.read_text() == EVAL_FIXED
    assert result.stdout == "Found 1 error (1 fixed, 0 remaining).\n"
    assert result.stderr == ""
    assert result.exit_code == 0


def test_fix_via_default_command(project):
    path = write(project, "a.py", EVAL)
    result = run("--fix", ".")
    assert path.read_text() == EVAL_FIXED
    assert result.exit_code == 0


@pytest.mark.parametrize(
    ("source", "fixed"),
    [(GENERATE, GENERATE_FIXED), (TRANSFORMERS, TRANSFORMERS_FIXED)],
    ids=["wrap", "import-and-wrap"],
)
def test_fix_wrap_and_import(project, source, fixed):
    path = write(project, "m.py", source)
    result = run("--fix", "m.py")
    assert path.read_text() == fixed
    assert result.stdout == "Found 1 error (1 fixed, 0 remaining).\n"
    assert result.exit_code == 0


def test_fix_is_idempotent_and_does_not_touch_fixed_files(project):
    path = write(project, "a.py", EVAL)
    assert run("--fix", ".").exit_code == 0
    first = path.read_bytes()
    before = os.stat(path)
    result = run("--fix", ".")
    assert path.read_bytes() == first == EVAL_FIXED.encode()
    after = os.stat(path)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns), "an unchanged file was rewritten"
    assert result.stdout == "All checks passed!\n"
    assert result.exit_code == 0


def test_fix_leaves_clean_files_alone(project):
    path = write(project, "clean.py", CLEAN)
    before = os.stat(path)
    result = run("--fix", ".")
    after = os.stat(path)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert result.stdout == "All checks passed!\n"
    assert result.exit_code == 0


def test_show_fixes_lists_what_was_fixed(project):
    write(project, "a.py", EVAL)
    result = run("--fix", "--show-fixes", ".")
    assert "- a.py:\n    1 × GL101 (inference-without-no-grad)\n" in result.stdout
    assert result.stdout.endswith("Found 1 error (1 fixed, 0 remaining).\n")
    assert result.exit_code == 0


def test_show_fixes_singular(project):
    write(project, "a.py", EVAL)
    result = run("--fix", "--show-fixes", ".")
    assert result.stdout == (
        "\nFixed 1 error:\n- a.py:\n    1 × GL101 (inference-without-no-grad)\n\n"
        "Found 1 error (1 fixed, 0 remaining).\n"
    )


EVAL_DIFF = """\
--- a/a.py
+++ b/a.py
@@ -1,5 +1,6 @@
 import torch
 
+@torch.no_grad()
 def evaluate(model, loader):
     correct = 0
     for x, y in loader:
"""


def test_diff_prints_unified_diff_and_writes_nothing(project):
    path = write(project, "a.py", EVAL)
    before = os.stat(path)
    result = run("check", "--diff", ".")
    assert result.stdout == EVAL_DIFF
    assert result.stderr == "Would fix 1 error.\n"
    assert result.exit_code == 1
    assert path.read_text() == EVAL
    assert os.stat(path).st_mtime_ns == before.st_mtime_ns


def test_diff_with_fix_still_writes_nothing(project):
    path = write(project, "a.py", EVAL)
    result = run("--fix", "--diff", ".")
    assert result.stdout == EVAL_DIFF
    assert result.exit_code == 1
    assert path.read_text() == EVAL


def test_diff_applies_cleanly_as_a_patch(project):
    """The diff's + lines and context reconstruct exactly what --fix writes."""
    write(project, "m.py", TRANSFORMERS)
    result = run("--diff", "m.py")
    assert result.exit_code == 1
    added = [line[1:] for line in result.stdout.splitlines(keepends=True)[3:] if line.startswith(("+", " "))]
    assert "".join(added) in TRANSFORMERS_FIXED
    assert result.stdout.startswith("--- a/m.py\n+++ b/m.py\n@@ ")


def test_diff_with_nothing_to_fix_exits_zero(project):
    write(project, "clean.py", CLEAN)
    result = run("--diff", ".")
    assert result.stdout == ""
    assert result.stderr == "No fixes would be applied.\n"
    assert result.exit_code == 0


def test_diff_ignores_unsafe_fixes_unless_enabled(project):
    path = write(project, "u.py", UNSAFE)
    result = run("--diff", ".")
    assert result.stdout == ""
    assert result.exit_code == 0
    result = run("--diff", "--unsafe-fixes", ".")
    assert "+@T.no_grad()\n" in result.stdout
    assert result.stderr == "Would fix 1 error.\n"
    assert result.exit_code == 1
    assert path.read_text() == UNSAFE


# --------------------------------------------------------------------------- safe vs unsafe


UNSAFE_BLOCK = (
    f"u.py:4:13: GL101 {UNSAFE_MESSAGE}\n"
    "  |\n"
    "4 |     return [net(x) for x in xs]\n"
    "  |             ^^^^^^ GL101\n"
    "  |\n"
    "  = help: Decorate `predict` with `@torch.no_grad()` (unsafe fix)\n"
    f"{EVIDENCE}"
    "\n"
)


def test_unsafe_finding_has_no_marker_and_summary_mentions_hidden_fix(project):
    write(project, "u.py", UNSAFE)
    result = run(".")
    assert result.stdout == UNSAFE_BLOCK + (
        "Found 1 error.\nNo fixes available (1 hidden fix can be enabled with the `--unsafe-fixes` option).\n"
    )
    assert result.exit_code == 1


def test_unsafe_fix_not_applied_by_fix(project):
    path = write(project, "u.py", UNSAFE)
    result = run("--fix", ".")
    assert path.read_text() == UNSAFE
    assert result.stdout == UNSAFE_BLOCK + (
        "Found 1 error.\nNo fixes available (1 hidden fix can be enabled with the `--unsafe-fixes` option).\n"
    )
    assert result.exit_code == 1


def test_mixed_safe_and_unsafe_summary_after_fix(project):
    write(project, "a.py", EVAL)
    u = write(project, "u.py", UNSAFE)
    result = run("--fix", ".")
    assert u.read_text() == UNSAFE
    assert result.stdout == UNSAFE_BLOCK + (
        "Found 2 errors (1 fixed, 1 remaining).\n"
        "No fixes available (1 hidden fix can be enabled with the `--unsafe-fixes` option).\n"
    )
    assert result.exit_code == 1


def test_unsafe_fixes_flag_applies_it(project):
    path = write(project, "u.py", UNSAFE)
    result = run("--fix", "--unsafe-fixes", ".")
    assert path.read_text() == UNSAFE_FIXED
    assert result.stdout == "Found 1 error (1 fixed, 0 remaining).\n"
    assert result.exit_code == 0


def test_unsafe_fixes_flag_shows_marker_when_checking(project):
    write(project, "u.py", UNSAFE)
    result = run("--unsafe-fixes", "--output-format", "concise", ".")
    assert result.stdout == (
        f"u.py:4:13: GL101 [*] {UNSAFE_MESSAGE}{MEDIUM}\nFound 1 error.\n[*] 1 fixable with the `--fix` option.\n"
    )


def test_unsafe_fixes_from_config_and_overridden_on_command_line(project):
    path = write(project, "u.py", UNSAFE)
    write(project, "pyproject.toml", "[tool.greenlint]\nunsafe-fixes = true\n")
    result = run("--fix", "--no-unsafe-fixes", ".")
    assert path.read_text() == UNSAFE
    assert result.exit_code == 1
    result = run("--fix", ".")
    assert path.read_text() == UNSAFE_FIXED
    assert result.exit_code == 0


# --------------------------------------------------------------------------- json


def test_json_fields_and_values(project):
    write(project, "a.py", EVAL)
    write(project, "u.py", UNSAFE)
    result = run("check", "--output-format", "json", ".")
    assert result.exit_code == 1
    assert result.stderr == ""
    items = json.loads(result.stdout)
    assert len(items) == 2
    required = {"code", "message", "filename", "location", "end_location", "fix", "noqa_row", "url"}
    for item in items:
        assert required <= item.keys()
        assert Path(item["filename"]).is_absolute()
    first, second = items
    assert first == {
        "cell": None,
        "code": "GL101",
        "name": "inference-without-no-grad",
        "message": EVAL_MESSAGE,
        "filename": str((project / "a.py").resolve()),
        "location": {"row": 6, "column": 21},
        "end_location": {"row": 6, "column": 29},
        "fix": {
            "applicability": "safe",
            "message": "Decorate `evaluate` with `@torch.no_grad()`",
            "changes_numerics": False,
            "edits": [
                {"content": "@torch.no_grad()\n", "location": {"row": 3, "column": 1}, "end_location": {"row": 3, "column": 1}}
            ],
        },
        "noqa_row": 6,
        "url": "https://greenlint.dev/rules/inference-without-no-grad/",
        "impact": "medium",
    }
    assert second["filename"] == str((project / "u.py").resolve())
    assert second["fix"]["applicability"] == "unsafe"
    assert (second["location"], second["end_location"]) == ({"row": 4, "column": 13}, {"row": 4, "column": 19})


def test_json_empty_when_clean(project):
    write(project, "clean.py", CLEAN)
    result = run("--output-format", "json", ".")
    assert json.loads(result.stdout) == []
    assert result.exit_code == 0


def test_json_columns_are_characters_not_bytes(project):
    source = EVAL.replace("correct = 0\n", "correct = 0  # précision\n").replace(
        "        correct += (model(x)", "        ç = 1; correct += (model(x)"
    )
    write(project, "a.py", source)
    item = json.loads(run("--output-format", "json", ".").stdout)[0]
    line = source.splitlines()[5]
    assert item["location"] == {"row": 6, "column": line.index("model(x)") + 1}
    assert item["end_location"] == {"row": 6, "column": line.index("model(x)") + len("model(x)") + 1}


@pytest.mark.parametrize(
    "source",
    [EVAL, GENERATE, TRANSFORMERS, EVAL.replace("\n", "\r\n")],
    ids=["decorate", "wrap", "import-and-wrap", "crlf"],
)
def test_json_edits_reproduce_fix(project, source):
    path = project / "m.py"
    path.write_bytes(source.encode())
    items = json.loads(run("--output-format", "json", "m.py").stdout)
    assert items and all(i["fix"]["applicability"] == "safe" for i in items)
    edits = [e for item in items for e in item["fix"]["edits"]]
    from_json = apply_json_edits(source, edits)
    assert run("--fix", "m.py").exit_code == 0
    assert path.read_bytes().decode() == from_json


# --------------------------------------------------------------------------- concise / statistics


def test_concise_output_exact(project):
    write(project, "a.py", EVAL)
    result = run("--output-format", "concise", ".")
    assert result.stdout == EVAL_CONCISE + "Found 1 error.\n[*] 1 fixable with the `--fix` option.\n"
    assert result.exit_code == 1


def test_statistics_text(project):
    write(project, "a.py", EVAL)
    write(project, "b.py", EVAL)
    write(project, "u.py", UNSAFE)
    result = run("--statistics", ".")
    assert result.stdout == "3\tGL101\tmedium\t[*] inference-without-no-grad\n"
    assert result.exit_code == 1


def test_statistics_text_unfixable(project):
    write(project, "u.py", UNSAFE)
    assert run("--statistics", ".").stdout == "1\tGL101\tmedium\t    inference-without-no-grad\n"
    assert run("--statistics", "--unsafe-fixes", ".").stdout == "1\tGL101\tmedium\t[*] inference-without-no-grad\n"


def test_statistics_json(project):
    write(project, "a.py", EVAL)
    write(project, "u.py", UNSAFE)
    result = run("--statistics", "--output-format", "json", ".")
    assert json.loads(result.stdout) == [{"code": "GL101", "name": "inference-without-no-grad", "impact": "medium", "count": 2, "fixable": True}]
    assert result.exit_code == 1


def test_statistics_clean_is_empty(project):
    write(project, "clean.py", CLEAN)
    result = run("--statistics", ".")
    assert result.stdout == ""
    assert result.exit_code == 0


# --------------------------------------------------------------------------- rule selection


@pytest.mark.parametrize("selector", ["GL101", "GL1", "GL", "inference-without-no-grad", "ALL", "GL101,GL1"])
def test_select_enables(project, selector):
    write(project, "a.py", EVAL)
    result = run("--select", selector, "--output-format", "concise", "-q", ".")
    assert result.stdout == EVAL_CONCISE
    assert result.exit_code == 1


@pytest.mark.parametrize("selector", ["GL101", "GL1", "inference-without-no-grad", "ALL"])
def test_ignore_disables(project, selector):
    write(project, "a.py", EVAL)
    result = run("--ignore", selector, ".")
    assert result.stdout == "All checks passed!\n"
    assert result.exit_code == 0


def test_select_then_ignore_prefix(project):
    write(project, "a.py", EVAL)
    assert run("--select", "GL101", "--ignore", "GL1", ".").exit_code == 0


@pytest.mark.parametrize("selector", ["GL101", "GL1", "inference-without-no-grad"])
def test_extend_select_on_top_of_config_select(project, selector):
    write(project, "a.py", EVAL)
    # The config selects nothing that fires; --extend-select adds GL101 back.
    write(project, "pyproject.toml", '[tool.greenlint]\nselect = []\n')
    assert run(".").exit_code == 0
    result = run("--extend-select", selector, "--output-format", "concise", "-q", ".")
    assert result.stdout == EVAL_CONCISE
    assert result.exit_code == 1


def test_cli_select_replaces_config_select(project):
    write(project, "a.py", EVAL)
    write(project, "pyproject.toml", '[tool.greenlint]\nselect = []\n')
    assert run("--select", "GL101", ".").exit_code == 1


@pytest.mark.parametrize(
    ("flag", "selector", "message"),
    [
        ("--select", "GL999", 'error: --select: unknown rule selector "GL999"\n'),
        ("--select", "gl101", 'error: --select: unknown rule selector "gl101" (did you mean "GL101"?)\n'),
        ("--ignore", "nope", 'error: --ignore: unknown rule selector "nope"\n'),
        ("--extend-select", "XYZ", 'error: --extend-select: unknown rule selector "XYZ"\n'),
        ("--select", "GL9", 'error: --select: unknown rule selector "GL9"\n'),
    ],
)
def test_unknown_selector_is_a_one_line_error(project, flag, selector, message):
    write(project, "a.py", EVAL)
    result = run(flag, selector, ".")
    assert result.exit_code == 2
    assert result.stderr == message
    assert result.stdout == ""


# --------------------------------------------------------------------------- configuration


def test_config_ignore_silences(project):
    write(project, "a.py", EVAL)
    write(project, "pyproject.toml", '[tool.greenlint]\nignore = ["GL101"]\n')
    result = run(".")
    assert result.stdout == "All checks passed!\n"
    assert result.exit_code == 0


def test_pyproject_without_greenlint_table_is_passed_over(project):
    write(project, "a.py", EVAL)
    write(project, "pyproject.toml", '[tool.greenlint]\nignore = ["GL101"]\n')
    write(project, "sub/pyproject.toml", '[project]\nname = "x"\n')
    write(project, "sub/a.py", EVAL)
    assert run(".").stdout == "All checks passed!\n"


def test_nearest_config_applies_per_file(project):
    write(project, "a.py", EVAL)
    write(project, "sub/a.py", EVAL)
    write(project, "sub/pyproject.toml", '[tool.greenlint]\nignore = ["GL101"]\n')
    result = run("--output-format", "concise", "-q", ".")
    assert result.stdout == EVAL_CONCISE
    assert result.exit_code == 1


def test_per_file_ignores(project):
    write(project, "a.py", EVAL)
    write(project, "b.py", EVAL)
    write(project, "legacy/old.py", EVAL)
    write(
        project,
        "pyproject.toml",
        '[tool.greenlint.per-file-ignores]\n"a.py" = ["GL101"]\n"legacy/**" = ["GL1"]\n',
    )
    result = run("--output-format", "concise", "-q", ".")
    assert result.stdout == f"b.py:6:21: GL101 [*] {EVAL_MESSAGE}{MEDIUM}\n"
    assert result.exit_code == 1


def test_per_file_ignored_finding_is_not_fixed(project):
    path = write(project, "a.py", EVAL)
    write(project, "pyproject.toml", '[tool.greenlint.per-file-ignores]\n"a.py" = ["GL101"]\n')
    assert run("--fix", ".").exit_code == 0
    assert path.read_text() == EVAL


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            '[tool.greenlint]\nignroe = ["GL101"]\n',
            'error: pyproject.toml: [tool.greenlint] unknown key "ignroe" (did you mean "ignore"?)\n',
        ),
        (
            '[tool.greenlint]\nselect = ["GL9"]\n',
            'error: pyproject.toml: [tool.greenlint] "select": unknown rule selector "GL9"\n',
        ),
        (
            "[tool.greenlint.rules.GL101]\ninclude-tests = 1\n",
            'error: pyproject.toml: [tool.greenlint.rules.GL101] "include-tests" must be a boolean, got int\n',
        ),
        (
            "[tool.greenlint.rules.GL101]\nno-such-option = true\n",
            'error: pyproject.toml: [tool.greenlint.rules.GL101] unknown option "no-such-option"',
        ),
    ],
    ids=["unknown-key", "bad-selector", "bad-option-type", "unknown-option"],
)
def test_bad_config_exits_2_naming_file_and_key(project, toml, message):
    write(project, "a.py", EVAL)
    write(project, "pyproject.toml", toml)
    result = run(".")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(message)
    assert result.stderr.count("\n") == 1


def test_invalid_toml_is_a_one_line_error(project):
    write(project, "a.py", EVAL)
    write(project, "pyproject.toml", "[tool.greenlint\nignore = 1\n")
    result = run(".")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: pyproject.toml: invalid TOML: ")
    assert result.stderr.count("\n") == 1


def test_explicit_config_file(project):
    write(project, "a.py", EVAL)
    write(project, "conf/greenlint.toml", 'ignore = ["GL101"]\n')
    result = run("--config", "conf/greenlint.toml", ".")
    assert result.stdout == "All checks passed!\n"
    assert result.exit_code == 0


def test_explicit_config_wins_over_discovered_pyproject(project):
    write(project, "a.py", EVAL)
    write(project, "pyproject.toml", '[tool.greenlint]\nignore = ["GL101"]\n')
    write(project, "conf/greenlint.toml", 'select = ["GL101"]\n')
    assert run(".").exit_code == 0
    result = run("--config", "conf/greenlint.toml", "--output-format", "concise", "-q", ".")
    assert result.stdout == EVAL_CONCISE
    assert result.exit_code == 1


@pytest.mark.parametrize(
    ("config", "content", "message"),
    [
        ("conf/greenlint.toml", "bogus = 1\n", 'error: conf/greenlint.toml: unknown key "bogus"\n'),
        ("missing.toml", None, "error: missing.toml: cannot read: No such file or directory\n"),
    ],
    ids=["bad-key", "missing"],
)
def test_bad_explicit_config_exits_2(project, config, content, message):
    write(project, "a.py", EVAL)
    if content is not None:
        write(project, config, content)
    result = CliRunner().invoke(main, ["--config", config, "."])
    assert result.exit_code == 2
    assert result.stderr == message


def test_bad_selector_with_explicit_config_exits_2(project):
    write(project, "a.py", EVAL)
    write(project, "greenlint.toml", "")
    result = CliRunner().invoke(main, ["--config", "greenlint.toml", "--select", "GL999", "."])
    assert result.exit_code == 2
    assert result.stderr == 'error: --select: unknown rule selector "GL999"\n'


def test_include_tests_option(project):
    write(project, "tests/test_x.py", EVAL)
    write(project, "src/a.py", EVAL)
    result = run("--output-format", "concise", "-q", ".")
    assert result.stdout == f"{os.path.join('src', 'a.py')}:6:21: GL101 [*] {EVAL_MESSAGE}{MEDIUM}\n"
    write(project, "pyproject.toml", "[tool.greenlint.rules.GL101]\ninclude-tests = true\n")
    result = run("--output-format", "concise", "-q", ".")
    assert result.stdout == (
        f"{os.path.join('src', 'a.py')}:6:21: GL101 [*] {EVAL_MESSAGE}{MEDIUM}\n"
        f"{os.path.join('tests', 'test_x.py')}:6:21: GL101 [*] {EVAL_MESSAGE}{MEDIUM}\n"
    )
    assert result.exit_code == 1


def test_rule_options_by_name(project):
    write(project, "tests/test_x.py", EVAL)
    write(project, "pyproject.toml", "[tool.greenlint.rules.inference-without-no-grad]\ninclude-tests = true\n")
    assert run(".").exit_code == 1


def test_extra_inference_names_option(project):
    source = EVAL.replace("def evaluate", "def score_batches").replace("evaluate", "score_batches")
    write(project, "a.py", source)
    assert run(".").exit_code == 0
    write(project, "pyproject.toml", '[tool.greenlint.rules.GL101]\nextra-inference-names = ["score"]\n')
    result = run("--output-format", "concise", "-q", ".")
    assert result.stdout.startswith("a.py:6:21: GL101 [*] `model(...)` runs with autograd on in `score_batches()`")
    assert result.exit_code == 1


# --------------------------------------------------------------------------- suppression


@pytest.mark.parametrize(
    "comment",
    ["# noqa", "# noqa: GL101", "#noqa:GL101", "# noqa: GL999, GL101", "# noqa:GL101,GL102", "# noqa: gl101"],
)
def test_noqa_suppresses_and_is_never_fixed(project, comment):
    source = EVAL.replace(".sum().item()\n", f".sum().item()  {comment}\n")
    path = write(project, "a.py", source)
    result = run("--ignore", "GL001", ".")  # GL001 judges the unused codes some of these name
    assert result.stdout == "All checks passed!\n"
    assert result.exit_code == 0
    result = run("--ignore", "GL001", "--fix", ".")
    assert result.exit_code == 0
    assert path.read_text() == source


@pytest.mark.parametrize("comment", ["# noqa: GL999", "# noqa: E501", "# noqa:GL102"])
def test_noqa_for_other_codes_does_not_suppress(project, comment):
    source = EVAL.replace(".sum().item()\n", f".sum().item()  {comment}\n")
    path = write(project, "a.py", source)
    result = run("--ignore", "GL001", "--output-format", "concise", "-q", ".")
    assert result.stdout == EVAL_CONCISE
    assert result.exit_code == 1
    assert run("--ignore", "GL001", "--fix", ".").exit_code == 0
    assert path.read_text() == source.replace("def evaluate", "@torch.no_grad()\ndef evaluate")


def test_unused_noqa_after_adoption_is_reported_and_removed(project):
    """--add-noqa to adopt, fix the smell by hand, and GL001 says the suppression is stale."""
    path = write(project, "a.py", EVAL)
    assert run("--add-noqa", ".").exit_code == 0
    suppressed = path.read_text()
    assert "  # noqa: GL101\n" in suppressed
    assert run(".").exit_code == 0  # the suppression is used: no GL001
    path.write_text(suppressed.replace("def evaluate", "@torch.no_grad()\ndef evaluate"))
    result = run("--output-format", "concise", "-q", ".")
    assert result.stdout == "a.py:7:60: GL001 [*] `# noqa: GL101` suppresses nothing: remove `GL101` (impact: low)\n"
    assert result.exit_code == 1
    assert run("--fix", ".").exit_code == 0
    assert path.read_text() == EVAL.replace("def evaluate", "@torch.no_grad()\ndef evaluate")


def test_noqa_on_another_line_does_not_suppress(project):
    source = EVAL.replace("def evaluate(model, loader):", "def evaluate(model, loader):  # noqa: GL101")
    write(project, "a.py", source)
    assert run(".").exit_code == 1


@pytest.mark.parametrize("comment", ["# NOQA", "# NoQA: GL101"])
def test_uppercase_noqa_suppresses(project, comment):
    source = EVAL.replace(".sum().item()\n", f".sum().item()  {comment}\n")
    write(project, "a.py", source)
    assert run(".").exit_code == 0


@pytest.mark.parametrize("header", ["# greenlint: skip-file\n", "#greenlint:skip-file\n", "  # greenlint: skip-file  (generated)\n"])
def test_skip_file(project, header):
    source = header + EVAL
    path = write(project, "a.py", source)
    result = run(".")
    assert result.stdout == "All checks passed!\n"
    assert result.exit_code == 0
    assert run("--fix", ".").exit_code == 0
    assert path.read_text() == source


def test_skip_file_in_a_trailing_comment_does_not_skip(project):
    write(project, "a.py", "x = 1  # greenlint: skip-file\n" + EVAL)
    assert run(".").exit_code == 1


# --------------------------------------------------------------------------- stdin


def test_stdin_with_filename(project):
    result = run("check", "-", "--stdin-filename", "a.py", input=EVAL)
    assert result.stdout == EVAL_TEXT
    assert result.exit_code == 1


def test_stdin_without_filename(project):
    result = run("check", "-", "--output-format", "concise", "-q", input=EVAL)
    assert result.stdout == f"-:6:21: GL101 [*] {EVAL_MESSAGE}{MEDIUM}\n"
    assert result.exit_code == 1


def test_stdin_fix_writes_exactly_the_fixed_source(project):
    result = run("check", "-", "--stdin-filename", "a.py", "--fix", input=EVAL)
    assert result.stdout == EVAL_FIXED
    assert result.stderr == "Found 1 error (1 fixed, 0 remaining).\n"
    assert result.exit_code == 0
    assert not (project / "a.py").exists()


def test_stdin_fix_with_remaining_findings_reports_on_stderr(project):
    result = run("-", "--stdin-filename", "u.py", "--fix", "--output-format", "concise", input=UNSAFE)
    assert result.stdout == UNSAFE
    assert result.stderr.startswith(f"u.py:4:13: GL101 {UNSAFE_MESSAGE}{MEDIUM}\n")
    assert result.exit_code == 1


@pytest.mark.parametrize("source", [CLEAN, "", "import torch\ndef f(:\n", EVAL.replace("\n", "\r\n")], ids=["clean", "empty", "syntax-error", "crlf"])
def test_stdin_fix_passes_unfixable_input_through(project, source):
    if "\r\n" in source:
        expected = EVAL_FIXED.replace("\n", "\r\n")
    else:
        expected = source
    result = CliRunner().invoke(main, ["-", "--fix"], input=source.encode())
    assert result.stdout_bytes == expected.encode()


def test_stdin_diff(project):
    result = run("-", "--stdin-filename", "a.py", "--diff", input=EVAL)
    assert result.stdout == EVAL_DIFF
    assert result.exit_code == 1


def test_stdin_json(project):
    result = run("-", "--stdin-filename", "a.py", "--output-format", "json", input=EVAL)
    (item,) = json.loads(result.stdout)
    assert item["filename"].endswith("a.py")
    assert item["location"] == {"row": 6, "column": 21}
    assert item["fix"]["edits"][0]["content"] == "@torch.no_grad()\n"


def test_stdin_json_filename_is_absolute(project):
    result = run("-", "--stdin-filename", "sub/a.py", "--output-format", "json", input=EVAL)
    (item,) = json.loads(result.stdout)
    assert item["filename"] == str((project / "sub" / "a.py").resolve())


def test_stdin_filename_drives_config_and_test_exemption(project):
    write(project, "pyproject.toml", '[tool.greenlint.per-file-ignores]\n"legacy/*" = ["GL101"]\n')
    assert run("-", "--stdin-filename", "legacy/a.py", input=EVAL).exit_code == 0
    assert run("-", "--stdin-filename", "tests/test_a.py", input=EVAL).exit_code == 0
    assert run("-", "--stdin-filename", "src/a.py", input=EVAL).exit_code == 1


# --------------------------------------------------------------------------- rules / rule / version

RULES_HEADER = f"{'code':<7} {'name':<34} {'impact':<7} {'fix':<13} summary"
GL101_ROW = f"{'GL101':<7} {'inference-without-no-grad':<34} {'medium':<7} {'safe':<13} Model forward pass in inference code runs with autograd on"


def test_rules_lists_gl101(project):
    result = run("rules")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == RULES_HEADER
    assert GL101_ROW in lines


def test_rules_json(project):
    result = run("rules", "--output-format", "json")
    rows = json.loads(result.stdout)
    assert {
        "code": "GL101",
        "name": "inference-without-no-grad",
        "summary": "Model forward pass in inference code runs with autograd on",
        "impact": "medium",
        "fix": "safe",
    } in rows


def test_rule_by_code_and_name_print_the_same_entry(project):
    by_code = CliRunner().invoke(main, ["rule", "GL101"])
    by_name = CliRunner().invoke(main, ["rule", "inference-without-no-grad"])
    lower = CliRunner().invoke(main, ["rule", "gl101"])
    assert by_code.exit_code == by_name.exit_code == lower.exit_code == 0
    assert by_code.stdout == by_name.stdout == lower.stdout
    assert by_code.stdout.splitlines()[0] == "# GL101 inference-without-no-grad"
    assert "no_grad" in by_code.stdout


@pytest.mark.parametrize("selector", ["GL999", "no-such-rule"])
def test_unknown_rule_exits_2(project, selector):
    result = CliRunner().invoke(main, ["rule", selector])
    assert result.exit_code == 2
    assert result.stderr == f"error: unknown rule {selector!r}; `greenlint rules` lists them\n"


def test_version(project):
    result = run("--version")
    assert result.stdout == f"greenlint, version {__version__}\n"
    assert result.exit_code == 0


# --------------------------------------------------------------------------- cross-cutting bugs


def test_fix_adds_import_above_decorator_when_function_is_first(project):
    """Regression: the import and the decorator, inserted at one offset, once came out in the wrong order."""
    source = "# a torch model\ndef evaluate(model, x):\n    model.eval()\n    return model(x).argmax(1).item()\n"
    path = write(project, "a.py", source)
    result = run("--fix", ".")
    assert result.stderr == ""
    assert path.read_text() == (
        "# a torch model\nimport torch\n@torch.no_grad()\ndef evaluate(model, x):\n"
        "    model.eval()\n    return model(x).argmax(1).item()\n"
    )


# --------------------------------------------------------------------------- real subprocess


def test_subprocess_check(tmp_path):
    write(tmp_path, "a.py", EVAL)
    proc = run_subprocess("check", ".", cwd=tmp_path)
    assert proc.stdout.decode() == EVAL_TEXT
    assert proc.stderr == b""
    assert proc.returncode == 1


def test_subprocess_default_command_clean(tmp_path):
    write(tmp_path, "clean.py", CLEAN)
    proc = run_subprocess(".", cwd=tmp_path)
    assert proc.stdout == b"All checks passed!\n"
    assert proc.returncode == 0


def test_subprocess_fix_and_json(tmp_path):
    path = write(tmp_path, "a.py", EVAL)
    proc = run_subprocess("--output-format", "json", "a.py", cwd=tmp_path)
    assert proc.returncode == 1
    (item,) = json.loads(proc.stdout)
    assert item["filename"] == str(path.resolve())
    proc = run_subprocess("--fix", "a.py", cwd=tmp_path)
    assert proc.returncode == 0
    assert path.read_text() == EVAL_FIXED
    assert proc.stdout == b"Found 1 error (1 fixed, 0 remaining).\n"


def test_subprocess_stdin_fix(tmp_path):
    proc = run_subprocess("check", "-", "--stdin-filename", "a.py", "--fix", cwd=tmp_path, input=EVAL.encode())
    assert proc.stdout == EVAL_FIXED.encode()
    assert proc.stderr == b"Found 1 error (1 fixed, 0 remaining).\n"
    assert proc.returncode == 0


def test_subprocess_unknown_selector(tmp_path):
    write(tmp_path, "a.py", EVAL)
    proc = run_subprocess("--select", "GL999", ".", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr == b'error: --select: unknown rule selector "GL999"\n'


def test_subprocess_version(tmp_path):
    proc = run_subprocess("--version", cwd=tmp_path)
    assert proc.stdout.decode() == f"greenlint, version {__version__}\n"
    assert proc.returncode == 0


# --------------------------------------------------------------------------- result cache


@pytest.mark.parametrize("fmt", ["text", "concise"])
def test_second_run_from_cache_prints_the_same(project, fmt):
    write(project, "a.py", EVAL)
    write(project, "u.py", UNSAFE)
    first = run("--output-format", fmt, ".")
    assert (project / ".greenlint_cache").is_dir()
    second = run("--output-format", fmt, ".")
    assert second.stdout == first.stdout
    assert second.exit_code == first.exit_code == 1
    # A cached finding is still fixable.
    assert run("--fix", "a.py").exit_code == 0
    assert (project / "a.py").read_text() == EVAL_FIXED


def test_cache_follows_content_changes(project):
    path = write(project, "a.py", EVAL)
    assert run(".").exit_code == 1
    path.write_text(CLEAN)
    assert run(".").stdout == "All checks passed!\n"
    path.write_text(EVAL)
    assert run(".").stdout == EVAL_TEXT


def test_no_cache_writes_no_cache_folder(project):
    write(project, "a.py", EVAL)
    result = run("--no-cache", ".")
    assert result.stdout == EVAL_TEXT
    assert not (project / ".greenlint_cache").exists()


def test_force_exclude_applies_exclusions_to_named_files(project):
    write(project, "pyproject.toml", '[tool.greenlint]\nextend-exclude = ["generated"]\n')
    write(project, "generated/a.py", EVAL)
    assert run("generated/a.py").exit_code == 1  # named explicitly: linted, as ruff does
    result = run("--force-exclude", "generated/a.py")
    assert result.exit_code == 0
    assert "GL101" not in result.stdout


# --------------------------------------------------------------------------- impact: sort and gate

# One finding of each impact: GL301 (high) in a.py, GL101 (medium) and GL402 (low) in b.py.
HIGH_IMPACT = """\
import pandas as pd

for epoch in range(3):
    frame = pd.read_csv("data.csv")
    print(frame.shape)
"""
MEDIUM_AND_LOW = """\
import torch

def evaluate(model, xs):
    scale = torch.ones(3).to("cuda")
    return sum((model(x) * scale).sum().item() for x in xs)
"""


def _codes(concise: str) -> list[str]:
    return [line.split()[1] for line in concise.splitlines() if line.endswith(")") and ": GL" in line]


def test_sort_impact_orders_across_files(project):
    write(project, "b.py", MEDIUM_AND_LOW)
    write(project, "a.py", HIGH_IMPACT)
    by_file = run("--output-format", "concise", "-q", "--select", "GL101,GL301,GL402", ".")
    by_impact = run("--output-format", "concise", "-q", "--select", "GL101,GL301,GL402", "--sort", "impact", "b.py", "a.py")
    assert [line.split(":")[0] for line in by_file.stdout.splitlines()] == ["a.py", "b.py", "b.py"]
    assert _codes(by_file.stdout) == ["GL301", "GL402", "GL101"]  # b.py in line order
    assert _codes(by_impact.stdout) == ["GL301", "GL101", "GL402"]
    assert [line.rsplit("(impact: ", 1)[1] for line in by_impact.stdout.splitlines()] == ["high)", "medium)", "low)"]


def test_sort_impact_puts_syntax_errors_first(project):
    write(project, "a.py", HIGH_IMPACT)
    write(project, "z.py", "import torch\ndef f(:\n")
    result = run("--output-format", "concise", "-q", "--sort", "impact", ".")
    assert result.stdout.splitlines()[0].startswith("z.py:2:7: SyntaxError")


@pytest.mark.parametrize(("fail_on", "exit_code", "below"), [("low", 1, 0), ("medium", 1, 1), ("high", 0, 2)])
def test_fail_on_gates_the_exit_status_not_the_output(project, fail_on, exit_code, below):
    write(project, "b.py", MEDIUM_AND_LOW)
    result = run("--select", "GL101,GL402", "--fail-on", fail_on, ".")
    assert result.exit_code == exit_code
    assert result.stdout.count("= impact: ") == 2  # every finding is still shown
    note = f'{below} below the fail-on impact ("{fail_on}") do not fail the run.\n'
    assert result.stdout.endswith(note) == bool(below)


def test_fail_on_from_config_and_cli_override(project):
    write(project, "b.py", MEDIUM_AND_LOW)
    write(project, "pyproject.toml", '[tool.greenlint]\nfail-on = "high"\n')
    assert run("--select", "GL101,GL402", ".").exit_code == 0
    assert run("--select", "GL101,GL402", "--fail-on", "medium", ".").exit_code == 1


def test_fail_on_never_hides_a_syntax_error(project):
    write(project, "z.py", "import torch\ndef f(:\n")
    assert run("--fail-on", "high", ".").exit_code == 1


def test_fail_on_bad_config_value_is_one_error_line(project):
    write(project, "b.py", MEDIUM_AND_LOW)
    write(project, "pyproject.toml", '[tool.greenlint]\nfail-on = "hihg"\n')
    result = run(".")
    assert result.exit_code == 2
    assert result.stderr == (
        'error: pyproject.toml: [tool.greenlint] "fail-on" must be one of "high", "medium", "low", '
        'got "hihg" (did you mean "high"?)\n'
    )


def test_parallel_run_reports_like_a_serial_one_in_path_order(tmp_path, monkeypatch):
    """Workers take the largest files first; the report is still in path order, as with -j 1."""
    monkeypatch.chdir(tmp_path)
    smelly = "import torch\n\ndef evaluate(model, x):\n    return model(x).sum().item()\n"
    for index in range(48):
        padding = "\n".join(f"CONSTANT_{n} = {n}" for n in range((index * 37) % 400))
        (tmp_path / f"m{index:02d}.py").write_text(smelly + padding + "\n" if index % 3 else "import torch\n" + padding)
    runs = [CliRunner().invoke(main, ["check", ".", "--no-cache", "--output-format", "concise", "-j", jobs]) for jobs in ("1", "2")]
    assert runs[0].exit_code == runs[1].exit_code == 1
    assert runs[0].output == runs[1].output
    files = [line.split(":")[0] for line in runs[1].output.splitlines() if "GL101" in line]
    assert len(files) == 32 and files == sorted(files)
