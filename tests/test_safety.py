"""Linting never imports or runs the analysed code and never opens a network connection; an
interrupted --fix never leaves a truncated or half-written file."""

from __future__ import annotations

import ast
import os
import signal
import subprocess
import sys
import textwrap
import time

from samples import EVAL, EVAL_FIXED

# Installed in the child through sitecustomize: any socket, any import of a module that lives in
# the linted project, and any exec/eval of its code fails loudly.
GUARD = textwrap.dedent(
    """
    import builtins, importlib.abc, os, socket, sys

    PROJECT = os.environ["GUARDED_PROJECT"]

    class NoNetwork(socket.socket):
        def __init__(self, *args, **kwargs):
            raise RuntimeError("greenlint opened a socket")

    socket.socket = NoNetwork
    socket.create_connection = lambda *a, **k: (_ for _ in ()).throw(RuntimeError("greenlint connected"))

    class NoProjectImports(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            top = name.split(".")[0]
            if os.path.exists(os.path.join(PROJECT, top + ".py")) or os.path.isdir(os.path.join(PROJECT, top)):
                raise RuntimeError(f"greenlint imported analysed module {name!r}")
            return None

    sys.meta_path.insert(0, NoProjectImports())
    """
)

# Analysed code that would be caught if greenlint ever ran it.
BOOBY_TRAP = """\
import socket
import torch
import trap_helper

socket.create_connection(("example.com", 80))
raise SystemExit("greenlint executed analysed code")

def evaluate(model, x):
    return model(x).sum().item()
"""


def test_linting_and_fixing_never_import_run_or_connect(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "trap.py").write_text(BOOBY_TRAP)
    (project / "trap_helper.py").write_text("raise SystemExit('imported')\n")
    (project / "torch.py").write_text("raise SystemExit('imported a local torch')\n")
    guard = tmp_path / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(GUARD)
    env = {**os.environ, "PYTHONPATH": str(guard), "GUARDED_PROJECT": str(project)}
    # The guard itself works: importing the analysed module in the child fails.
    probe = subprocess.run([sys.executable, "-c", "import trap_helper"], cwd=project, env=env, capture_output=True, text=True)
    assert "greenlint imported analysed module" in probe.stderr
    for args in (["check", "--no-cache", "."], ["check", "--no-cache", "--fix", "--unsafe-fixes", "."], ["check", "--output-format", "sarif", "."]):
        completed = subprocess.run([sys.executable, "-m", "greenlint.cli", *args], cwd=project, env=env, capture_output=True, text=True, timeout=120)
        assert "RuntimeError" not in completed.stderr, completed.stderr
        assert "executed analysed code" not in completed.stdout + completed.stderr
        assert completed.returncode in (0, 1), completed.stderr
    assert "@torch.no_grad()" in (project / "trap.py").read_text()  # it was fixed, not run


def test_sigkill_during_fix_never_leaves_a_half_written_file(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    big = EVAL + "\n" + "\n".join(f"def helper_{i}(x):\n    return x + {i}\n" for i in range(3000))
    fixed_big = EVAL_FIXED + "\n" + "\n".join(f"def helper_{i}(x):\n    return x + {i}\n" for i in range(3000))
    for i in range(40):
        (project / f"m{i:02}.py").write_text(big)
    for delay in (0.6, 0.9, 1.2, 1.5, 1.8, 2.1):  # kills land before, between and during writes
        process = subprocess.Popen(
            [sys.executable, "-m", "greenlint.cli", "check", "--no-cache", "-j", "1", "--fix", "."],
            cwd=project,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        for path in sorted(project.glob("*.py")):
            text = path.read_text()
            assert text in (big, fixed_big), f"{path.name} is neither the original nor the fixed file"
            ast.parse(text)
        assert not [p for p in project.iterdir() if p.suffix != ".py"], "temporary files left behind"
        for path in project.glob("*.py"):
            path.write_text(big)


def test_sigint_during_fix_leaves_whole_files(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    for i in range(40):
        (project / f"m{i:02}.py").write_text(EVAL * 1 + "\n" + "x = 1\n" * 5000)
    process = subprocess.Popen(
        [sys.executable, "-m", "greenlint.cli", "check", "--no-cache", "-j", "1", "--fix", "."],
        cwd=project,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.8)
    process.send_signal(signal.SIGINT)
    process.wait(timeout=60)
    for path in project.glob("*.py"):
        ast.parse(path.read_text())
    assert not [p for p in project.iterdir() if p.suffix != ".py"]
