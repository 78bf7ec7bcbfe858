"""A real editor: headless Neovim's built-in LSP client attached to `greenlint server`.

Needs `nvim` on PATH (Debian/Ubuntu: `apt-get install neovim`; 0.7 or later). The Lua side is
tests/lsp_neovim.lua: it waits for the diagnostics, requests code actions at the first finding,
applies the preferred quick fix with Neovim's own workspace-edit code, and writes a JSON report
that this test checks.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from greenlint.fixer import fix_text
from greenlint.rules.base import all_rules

NVIM = shutil.which("nvim")
pytestmark = pytest.mark.skipif(NVIM is None, reason="nvim is not on PATH (Debian/Ubuntu: apt-get install neovim)")

TESTS = Path(__file__).resolve().parent
SOURCE = """\
import torch

def evaluate(model, loader):
    correct = 0
    for x, y in loader:
        tag = "🔥"; correct += (model(x).argmax(1) == y).sum().item()
    return correct
"""


def test_neovim_receives_diagnostics_and_applies_the_quick_fix(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text('[tool.greenlint]\nselect = ["GL101"]\n')
    (tmp_path / "evaluate.py").write_text(SOURCE, encoding="utf-8")
    out = tmp_path / "nvim-report.json"
    env = {
        **os.environ,
        "GREENLINT_NVIM_OUT": str(out),
        "GREENLINT_NVIM_CMD": json.dumps([sys.executable, "-m", "greenlint.cli", "server"]),
        "XDG_STATE_HOME": str(tmp_path / "state"),  # Neovim's lsp.log goes here, not to $HOME
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    proc = subprocess.run(
        [NVIM, "--headless", "-u", "NONE", "-i", "NONE", "-n", "evaluate.py", "-c", f"luafile {TESTS / 'lsp_neovim.lua'}"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert out.exists(), f"Neovim wrote no report (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    report = json.loads(out.read_text(encoding="utf-8"))
    assert "error" not in report, report
    assert report["attached"] and report["arrived"], report

    (d,) = report["diagnostics"]
    line = SOURCE.splitlines()[5]
    # Neovim keeps byte columns: it converted the server's UTF-16 columns (the emoji is two code
    # units there, four bytes here).
    column = len(line[: line.index("model(x)")].encode("utf-8"))
    assert (d["lnum"], d["col"], d["end_lnum"], d["end_col"]) == (5, column, 5, column + len("model(x)"))
    assert d["source"] == "greenlint"
    assert d["code"] == "GL101"
    assert d["severity"] == 2  # vim.diagnostic.severity.WARN
    assert "evaluate()" in d["message"]

    titles = [a["title"] for a in report["actions"]]
    assert "Disable GL101 for this line" in titles, titles
    assert any(a["isPreferred"] and "no_grad" in a["title"] for a in report["actions"]), titles
    expected = fix_text(SOURCE, "evaluate.py", [r() for r in all_rules() if r.code == "GL101"]).text
    assert report["fixed"] == expected
