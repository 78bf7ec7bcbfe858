"""Files greenlint cannot (or must be careful to) lint: each problem is one clear line naming the
file, the other files are still linted, the exit code says so, and no file is ever damaged."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest
from click.testing import CliRunner
from samples import EVAL, EVAL_FIXED, GENERATE, GENERATE_FIXED, write

from greenlint.cli import main

EVAL_MESSAGE = "`model(...)` runs with autograd on in `evaluate()`, an inference function; use `torch.no_grad()`"


SYNTAX_ERROR = "import torch\ndef f(:\n    pass\n"


def run(*args: str, input: bytes | None = None):
    result = CliRunner().invoke(main, list(args), input=input)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return result


def error_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("error: ")]


def finding(name: str, concise: bool = True) -> str:
    """GL101's finding line on EVAL: concise output ends it with the impact, text does not."""
    return f"{name}:6:21: GL101 [*] {EVAL_MESSAGE}" + (" (impact: medium)" if concise else "")


# --------------------------------------------------------------------------- syntax errors


SYNTAX_BLOCK = [
    "bad.py:2:7: SyntaxError: invalid syntax",
    "  |",
    "2 | def f(:",
    "  |       ^",
    "  |",
    "",
]


def test_syntax_error_is_a_finding_with_the_parsers_position(project):
    write(project, "bad.py", SYNTAX_ERROR)
    write(project, "good.py", EVAL)
    result = run(".")
    lines = [line.rstrip() for line in result.stdout.splitlines()]
    assert lines[: len(SYNTAX_BLOCK)] == SYNTAX_BLOCK
    assert finding("good.py", concise=False) in lines
    assert lines[-2:] == ["Found 2 errors.", "[*] 1 fixable with the `--fix` option."]
    assert result.stderr == ""
    assert result.exit_code == 1  # as in ruff: a syntax error is a finding, not a failure to run


def test_syntax_error_concise_and_json(project):
    write(project, "bad.py", SYNTAX_ERROR)
    result = run("--output-format", "concise", "-q", ".")
    assert result.stdout == "bad.py:2:7: SyntaxError: invalid syntax\n"
    import json

    (item,) = json.loads(run("--output-format", "json", ".").stdout)
    assert item["code"] is None
    assert item["message"] == "SyntaxError: invalid syntax"
    assert item["location"] == item["end_location"] == {"row": 2, "column": 7}
    assert item["fix"] is None
    assert item["url"] is None
    assert item["filename"] == str((project / "bad.py").resolve())


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import torch\nx = (1,\n", "bad.py:2:5: SyntaxError: '(' was never closed"),
        ("import torch\n  x = 1\n", "bad.py:2:2: SyntaxError: unexpected indent"),
        ("import torch\r\nx = 1\r\ny = = 2\r\n", "bad.py:3:5: SyntaxError: invalid syntax"),
        ('import torch\nx = "éé" $ 1\n', "bad.py:2:10: SyntaxError: invalid syntax"),
        ("import torch\nx = 1 +", "bad.py:2:8: SyntaxError: invalid syntax"),
    ],
    ids=["unclosed", "indent", "crlf", "non-ascii-column", "eof-no-newline"],
)
def test_syntax_error_positions(project, source, expected):
    write(project, "bad.py", source)
    result = run("--output-format", "concise", "-q", ".")
    assert result.stdout == expected + "\n"
    assert result.exit_code == 1


def test_fix_leaves_syntax_error_file_byte_identical(project):
    bad = write(project, "bad.py", SYNTAX_ERROR.replace("\n", "\r\n"))
    good = write(project, "good.py", EVAL)
    before = bad.read_bytes()
    mtime = os.stat(bad).st_mtime_ns
    result = run("--fix", ".")
    assert bad.read_bytes() == before
    assert os.stat(bad).st_mtime_ns == mtime
    assert good.read_text() == EVAL_FIXED
    assert result.exit_code == 1
    assert result.stdout.rstrip().endswith("Found 2 errors (1 fixed, 1 remaining).")


def test_diff_ignores_syntax_error_file(project):
    write(project, "bad.py", SYNTAX_ERROR)
    result = run("--diff", ".")
    assert result.stdout == ""
    assert result.exit_code == 0


# --------------------------------------------------------------------------- unreadable content


def test_empty_and_whitespace_files_are_fine(project):
    empty = write(project, "empty.py", b"")
    blank = write(project, "blank.py", b"\n\n   \n")
    comment = write(project, "comment.py", b"# torch\n")
    result = run("--fix", ".")
    assert result.stdout == "All checks passed!\n"
    assert result.stderr == ""
    assert result.exit_code == 0
    assert (empty.read_bytes(), blank.read_bytes(), comment.read_bytes()) == (b"", b"\n\n   \n", b"# torch\n")


def test_non_utf8_without_cookie(project):
    bad = write(project, "latin.py", b'import torch\nx = "\xff\xfe"\n')
    good = write(project, "good.py", EVAL)
    result = run("--output-format", "concise", "-q", ".")
    assert error_lines(result) == ["error: latin.py: not valid UTF-8 (byte 0xff at offset 18) and no coding cookie"]
    assert result.stdout == finding("good.py") + "\n"
    assert result.exit_code == 2
    result = run("--fix", ".")
    assert bad.read_bytes() == b'import torch\nx = "\xff\xfe"\n'
    assert good.read_text() == EVAL_FIXED
    assert result.exit_code == 2


def test_binary_file(project):
    data = b"import torch\x00\x01\x02\n"
    bad = write(project, "blob.py", data)
    write(project, "good.py", EVAL)
    result = run("--output-format", "concise", "-q", ".")
    assert error_lines(result) == ["error: blob.py: binary file (NUL byte at offset 12)"]
    assert result.stdout == finding("good.py") + "\n"
    assert result.exit_code == 2
    run("--fix", ".")
    assert bad.read_bytes() == data


def test_bad_coding_cookie(project):
    data = b"# -*- coding: bogus -*-\nimport torch\n"
    bad = write(project, "cookie.py", data)
    result = run(".")
    assert error_lines(result) == ["error: cookie.py: bad coding cookie (unknown encoding: bogus)"]
    assert result.exit_code == 2
    run("--fix", ".")
    assert bad.read_bytes() == data


def test_unreadable_file(project):
    bad = write(project, "locked.py", EVAL)
    write(project, "good.py", EVAL)
    bad.chmod(0)
    try:
        if os.access(bad, os.R_OK):
            pytest.skip("this user can read any file (root)")
        result = run("--output-format", "concise", "-q", ".")
        assert error_lines(result) == ["error: locked.py: permission denied"]
        assert result.stdout == finding("good.py") + "\n"
        assert result.exit_code == 2
    finally:
        bad.chmod(0o644)
    assert bad.read_text() == EVAL


def test_missing_path(project):
    write(project, "good.py", EVAL)
    result = run("--output-format", "concise", "-q", "missing.py", "good.py")
    assert error_lines(result) == ["error: missing.py: no such file or directory"]
    assert result.stdout == finding("good.py") + "\n"
    assert result.exit_code == 2


def test_explicit_symlink_loop(project):
    os.symlink("loop2.py", project / "loop1.py")
    os.symlink("loop1.py", project / "loop2.py")
    write(project, "good.py", EVAL)
    result = run("--output-format", "concise", "-q", "loop1.py", "good.py")
    assert error_lines(result) == ["error: loop1.py: symbolic link loop"]
    assert result.stdout == finding("good.py") + "\n"
    assert result.exit_code == 2


def test_symlink_loop_inside_a_walked_directory_does_not_stop_the_run(project):
    os.symlink("loop2.py", project / "loop1.py")
    os.symlink("loop1.py", project / "loop2.py")
    os.symlink(".", project / "here")  # a directory loop
    write(project, "good.py", EVAL)
    result = run("--output-format", "concise", "-q", ".")
    assert result.stdout == finding("good.py") + "\n"
    # Skipped silently (like a directory link, which is never followed), or one line per looping name.
    errors = error_lines(result)
    if errors:
        assert errors == ["error: loop1.py: symbolic link loop", "error: loop2.py: symbolic link loop"]
        assert result.exit_code == 2
    else:
        assert result.stderr == ""
        assert result.exit_code == 1


def test_fix_through_a_symlink_fixes_the_target_and_keeps_the_link(project):
    target = write(project, "real/model.py", EVAL)
    link = project / "alias.py"
    os.symlink(os.path.join("real", "model.py"), link)
    result = run("--fix", "alias.py")
    assert result.exit_code == 0
    assert link.is_symlink()
    assert target.read_text() == EVAL_FIXED


def test_every_problem_reported_once_in_one_run(project):
    write(project, "bad.py", SYNTAX_ERROR)
    write(project, "blob.py", b"\x00\x01")
    write(project, "latin.py", b"import torch\n\xe9\n")
    write(project, "empty.py", b"")
    write(project, "good.py", EVAL)
    write(project, "z/good.py", EVAL)
    result = run("--output-format", "concise", "-q", ".", "nowhere")
    assert sorted(error_lines(result)) == [
        "error: blob.py: binary file (NUL byte at offset 0)",
        "error: latin.py: not valid UTF-8 (byte 0xe9 at offset 13) and no coding cookie",
        "error: nowhere: no such file or directory",
    ]
    assert result.stdout == (
        "bad.py:2:7: SyntaxError: invalid syntax\n"
        + finding("good.py")
        + "\n"
        + finding(os.path.join("z", "good.py"))
        + "\n"
    )
    assert result.exit_code == 2


def test_no_all_checks_passed_when_a_file_could_not_be_checked(project):
    write(project, "latin.py", b"import torch\n\xe9\n")
    write(project, "clean.py", "x = 1\n")
    result = run(".")
    assert result.exit_code == 2
    assert "All checks passed!" not in result.stdout


# --------------------------------------------------------------------------- writing fixes


def test_read_only_file_is_not_written_and_others_are(project):
    ro = write(project, "ro.py", EVAL)
    rw = write(project, "rw.py", EVAL)
    ro.chmod(0o444)
    try:
        result = run("--fix", ".")
        assert error_lines(result) == ["error: ro.py: read-only; fix not written"]
        assert ro.read_text() == EVAL
        assert stat.S_IMODE(os.stat(ro).st_mode) == 0o444
        assert rw.read_text() == EVAL_FIXED
        assert result.exit_code == 2
        assert not [p for p in os.listdir(project) if p.endswith(".greenlint-tmp")]
    finally:
        ro.chmod(0o644)


def test_read_only_file_findings_are_still_reported(project):
    ro = write(project, "ro.py", EVAL)
    write(project, "rw.py", EVAL)
    ro.chmod(0o444)
    try:
        result = run("--fix", "--output-format", "concise", ".")
    finally:
        ro.chmod(0o644)
    assert result.stdout == finding("ro.py") + "\nFound 2 errors (1 fixed, 1 remaining).\n[*] 1 fixable with the `--fix` option.\n"


def test_crlf_file_keeps_crlf_everywhere(project):
    path = write(project, "a.py", EVAL.replace("\n", "\r\n"))
    wrap = write(project, "g.py", GENERATE.replace("\n", "\r\n"))
    result = run("--fix", ".")
    assert result.exit_code == 0
    assert path.read_bytes() == EVAL_FIXED.replace("\n", "\r\n").encode()
    assert wrap.read_bytes() == GENERATE_FIXED.replace("\n", "\r\n").encode()


def test_crlf_diff_and_positions(project):
    write(project, "a.py", EVAL.replace("\n", "\r\n"))
    result = run("--output-format", "concise", "-q", ".")
    assert result.stdout == finding("a.py") + "\n"


def test_cr_only_file_keeps_its_final_newline(project):
    path = write(project, "g.py", GENERATE.replace("\n", "\r"))
    result = run("--fix", ".")
    assert result.exit_code == 0
    assert path.read_bytes() == GENERATE_FIXED.replace("\n", "\r").encode()


def test_cr_only_file_decorator_fix(project):
    path = write(project, "a.py", EVAL.replace("\n", "\r"))
    assert run("--fix", ".").exit_code == 0
    assert path.read_bytes() == EVAL_FIXED.replace("\n", "\r").encode()


def test_bom_is_kept(project):
    path = write(project, "a.py", b"\xef\xbb\xbf" + EVAL.encode())
    result = run("--output-format", "concise", "-q", ".")
    assert result.stdout == finding("a.py") + "\n"  # the BOM does not shift columns
    assert run("--fix", ".").exit_code == 0
    assert path.read_bytes() == b"\xef\xbb\xbf" + EVAL_FIXED.encode()


def test_latin1_file_with_cookie_keeps_its_encoding(project):
    source = "# -*- coding: latin-1 -*-\n" + EVAL.replace("correct = 0\n", "correct = 0  # café\n")
    path = write(project, "a.py", source.encode("latin-1"))
    assert b"caf\xe9" in path.read_bytes()
    result = run("--fix", ".")
    assert result.exit_code == 0
    expected = source.replace("def evaluate", "@torch.no_grad()\ndef evaluate")
    assert path.read_bytes() == expected.encode("latin-1")


@pytest.mark.parametrize("mode", [0o755, 0o600, 0o640])
def test_file_mode_preserved(project, mode):
    path = write(project, "a.py", EVAL)
    path.chmod(mode)
    assert run("--fix", ".").exit_code == 0
    assert path.read_text() == EVAL_FIXED
    assert stat.S_IMODE(os.stat(path).st_mode) == mode


def test_no_trailing_newline_kept(project):
    path = write(project, "g.py", GENERATE.rstrip("\n"))
    assert run("--fix", ".").exit_code == 0
    assert path.read_text() == GENERATE_FIXED.rstrip("\n")


def test_tab_indented_file_fixed_with_tabs(project):
    path = write(project, "a.py", EVAL.replace("    ", "\t"))
    assert run("--fix", ".").exit_code == 0
    assert path.read_text() == EVAL_FIXED.replace("    ", "\t")


# --------------------------------------------------------------------------- stdin


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'import torch\nx = "\xff"\n', "error: s.py: not valid UTF-8 (byte 0xff at offset 18) and no coding cookie\n"),
        (b"import torch\x00\n", "error: s.py: binary file (NUL byte at offset 12)\n"),
    ],
    ids=["non-utf8", "binary"],
)
def test_undecodable_stdin_is_an_error_line(project, data, message):
    result = CliRunner().invoke(main, ["-", "--stdin-filename", "s.py"], input=data)
    assert result.exit_code == 2
    assert result.stderr == message


def test_stdin_crlf_and_bom_fix(project):
    result = CliRunner().invoke(main, ["-", "--fix"], input=EVAL.replace("\n", "\r\n").encode())
    assert result.stdout_bytes == EVAL_FIXED.replace("\n", "\r\n").encode()
    assert result.exit_code == 0


# --------------------------------------------------------------------------- pathological sources


def test_deeply_nested_parentheses_do_not_crash(project):
    write(project, "deep.py", "import torch\nx = " + "(" * 5000 + "1" + ")" * 5000 + "\n")
    write(project, "good.py", EVAL)
    result = run("--output-format", "concise", "-q", ".")
    assert result.stdout.splitlines()[0].startswith("deep.py:2:")
    assert "SyntaxError: too many nested parentheses" in result.stdout
    assert finding("good.py") in result.stdout


def test_deep_expression_is_one_error_line(project):
    write(project, "deep.py", "import torch\nx = " + "-" * 5000 + "1\n")
    write(project, "good.py", EVAL)
    result = run("--output-format", "concise", "-q", ".")
    assert error_lines(result) == ["error: deep.py: too deeply nested for the parser; skipped"]
    assert result.stdout == finding("good.py") + "\n"
    assert result.exit_code == 2


def test_very_deep_expression_does_not_kill_the_process(tmp_path):
    write(tmp_path, "deep.py", "import torch\nx = " + "-" * 20000 + "1\n")
    write(tmp_path, "good.py", EVAL)
    proc = subprocess.run(
        [sys.executable, "-m", "greenlint.cli", "--output-format", "concise", "-q", "."],
        cwd=tmp_path,
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert b"Traceback" not in proc.stderr
    assert proc.stderr.startswith(b"error: deep.py: ")
    assert proc.stdout.decode() == finding("good.py") + "\n"
    assert proc.returncode == 2


def test_five_megabyte_single_line_file(project):
    """Embedded data (here 5 MB of base64 'weights') on the same line as a smell: the finding's
    column is exact, --fix rewrites only its span, and the data survives byte for byte."""
    import base64

    data = base64.b64encode(bytes(range(256)) * 15_000).decode()[:5_000_000]
    line = f'import torch; x = torch.tensor([1.0]).to("cuda"); WEIGHTS = "{data}"\n'
    path = write(project, "weights.py", line)
    assert path.stat().st_size > 5_000_000 and line.count("\n") == 1
    result = run("--output-format", "concise", "-q", ".")
    assert result.stdout.startswith("weights.py:1:19: GL402 [*] ")
    assert result.exit_code == 1
    assert run("--fix", "-q", ".").exit_code == 0
    assert path.read_text() == line.replace('torch.tensor([1.0]).to("cuda")', 'torch.tensor([1.0], device="cuda")')
