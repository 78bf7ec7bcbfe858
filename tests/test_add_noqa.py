"""`greenlint check --add-noqa`: every current finding gets a `# noqa: GLnnn` that the engine
honours, so the next check is clean; nothing else in the file changes."""

from __future__ import annotations

import ast
import os
import stat

import pytest
from click.testing import CliRunner
from samples import write

from greenlint.add_noqa import add_noqa_to_text
from greenlint.cli import main
from greenlint.diagnostics import Diagnostic

EVAL = """\
import torch

def evaluate(model, loader):
    correct = 0
    for x, y in loader:
        correct += (model(x).argmax(1) == y).sum().item()  # count hits   
    return correct

def predict(model, xs):
    return [model(x.unsqueeze(0)) for x in xs]

def validate(model, xs):
    return model(xs)  # noqa:E501 (long line)
"""
EVAL_NOQA = """\
import torch

def evaluate(model, loader):
    correct = 0
    for x, y in loader:
        correct += (model(x).argmax(1) == y).sum().item()  # count hits  # noqa: GL101
    return correct

def predict(model, xs):
    return [model(x.unsqueeze(0)) for x in xs]  # noqa: GL101, GL102

def validate(model, xs):
    return model(xs)  # noqa: E501, GL101 (long line)
"""
# The finding starts on a line that ends inside a triple-quoted string: a comment there would be
# string content, so the directive goes where the string (and the finding) ends.
IN_STRING = '''\
import torch

def predict(model, xs):
    out = model(xs, """
    # a prompt, not code""")
    return out
'''
IN_STRING_NOQA = '''\
import torch

def predict(model, xs):
    out = model(xs, """
    # a prompt, not code""")  # noqa: GL101
    return out
'''
SYNTAX_ERROR = "import torch\ndef broken(:\n    model(x)\n"


def run(*args: str):
    result = CliRunner().invoke(main, ["check", "--no-cache", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return result


def test_add_noqa_suppresses_every_finding_and_then_check_is_clean(project):
    write(project, "eval.py", EVAL)
    write(project, "pkg/strings.py", IN_STRING)
    write(project, "clean.py", "import torch\nx = torch.ones(2)\n")
    assert run(".").exit_code == 1
    result = run("--add-noqa", ".")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == "Added 4 noqa directives.\n"
    assert result.stdout == ""
    assert (project / "eval.py").read_text() == EVAL_NOQA
    assert (project / "pkg/strings.py").read_text() == IN_STRING_NOQA
    assert (project / "clean.py").read_text() == "import torch\nx = torch.ones(2)\n"
    after = run(".")
    assert after.exit_code == 0, after.stdout
    assert after.stdout == "All checks passed!\n"


def test_string_contents_are_never_touched(project):
    write(project, "strings.py", IN_STRING)
    run("--add-noqa", "strings.py")
    before = [n.value for n in ast.walk(ast.parse(IN_STRING)) if isinstance(n, ast.Constant)]
    after = [n.value for n in ast.walk(ast.parse((project / "strings.py").read_text())) if isinstance(n, ast.Constant)]
    assert after == before
    assert ast.dump(ast.parse(IN_STRING)) == ast.dump(ast.parse((project / "strings.py").read_text()))


def test_second_run_adds_nothing(project):
    write(project, "eval.py", EVAL)
    run("--add-noqa", "eval.py")
    again = run("--add-noqa", "eval.py")
    assert again.exit_code == 0
    assert again.stderr == "Added 0 noqa directives.\n"
    assert (project / "eval.py").read_text() == EVAL_NOQA


def test_one_directive_is_singular(project):
    write(project, "strings.py", IN_STRING)
    assert run("--add-noqa", "strings.py").stderr == "Added 1 noqa directive.\n"


def test_syntax_error_files_are_skipped(project):
    write(project, "broken.py", SYNTAX_ERROR)
    write(project, "strings.py", IN_STRING)
    result = run("--add-noqa", ".")
    assert result.exit_code == 0
    assert result.stderr == "Added 1 noqa directive.\n"
    assert (project / "broken.py").read_text() == SYNTAX_ERROR


def test_crlf_and_bom_survive(project):
    data = b"\xef\xbb\xbf" + IN_STRING.replace("\n", "\r\n").encode()
    write(project, "strings.py", data)
    assert run("--add-noqa", "strings.py").exit_code == 0
    assert (project / "strings.py").read_bytes() == b"\xef\xbb\xbf" + IN_STRING_NOQA.replace("\n", "\r\n").encode()
    assert run("strings.py").exit_code == 0


def test_finding_no_line_of_which_can_take_a_comment_is_an_error(project):
    # Starts inside a string, ends on a backslash continuation: neither line may end in a comment.
    source = 'import torch\n\ndef predict(model, xs):\n    out = model(xs, """\n    a""") + \\\n        1\n    return out\n'
    write(project, "cont.py", source)
    assert run("cont.py").exit_code == 1
    result = run("--add-noqa", "cont.py")
    assert result.exit_code == 2
    assert "cont.py:4: no line of the GL101 finding can take a `# noqa` comment" in result.stderr
    assert result.stderr.endswith("Added 0 noqa directives.\n")
    assert (project / "cont.py").read_text() == source


def test_directive_text_inside_a_string_is_not_edited(project):
    # greenlint reads the first `# noqa` on the line, here inside a string: no comment after it
    # could suppress the finding, and the string must not be rewritten either.
    source = 'import torch\n\ndef predict(model, xs):\n    print("# noqa: E501"); return model(xs)\n'
    write(project, "s.py", source)
    result = run("--add-noqa", "s.py")
    assert result.exit_code == 2
    assert "s.py:4: could not add a `# noqa: GL101`" in result.stderr
    assert (project / "s.py").read_text() == source


def test_read_only_file_is_left_alone(project):
    path = write(project, "eval.py", EVAL)
    os.chmod(path, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    try:
        result = run("--add-noqa", "eval.py")
    finally:
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    assert result.exit_code == 2
    assert "eval.py: read-only" in result.stderr
    assert path.read_text() == EVAL
    assert not [p for p in project.iterdir() if p.name.endswith(".greenlint-tmp")]


@pytest.mark.parametrize("extra", [["--fix"], ["--diff"]])
def test_add_noqa_does_not_combine_with_fixing(project, extra):
    write(project, "eval.py", EVAL)
    result = run("--add-noqa", *extra, "eval.py")
    assert result.exit_code == 2
    assert "--add-noqa cannot be combined with" in result.stderr
    assert (project / "eval.py").read_text() == EVAL


def test_add_noqa_rejects_stdin(project):
    result = CliRunner().invoke(main, ["check", "--add-noqa", "-"], input=EVAL)
    assert result.exit_code == 2
    assert "--add-noqa cannot be combined with stdin" in result.stderr


def test_merge_keeps_other_codes_and_sorts(project):
    text = "x = f()  # noqa:GL102,E501\n"
    diagnostic = Diagnostic("GL101", "inference-without-no-grad", "m", 4, 7, impact="medium")
    new, changed, problems = add_noqa_to_text(text, [diagnostic])
    assert (new, changed, problems) == ("x = f()  # noqa: E501, GL101, GL102\n", 1, [])
