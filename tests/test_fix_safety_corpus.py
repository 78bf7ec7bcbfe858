"""The CI slice of the fix-safety corpus check (issue: never break a user's code).

`scripts/fix_safety_check.py` runs `--fix --unsafe-fixes` over a copy of a corpus and checks
every file: changed files parse, compile, lose the fixed findings and are stable under a second
`--fix`; untouched files stay byte-identical. The full corpus (scripts/build_corpus.py) needs
downloads, so CI runs it on real ML code that is installed anyway: slices of torch's own Python
sources, plus the bundled examples and fixtures, which are full of fixable smells.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parent.parent
TORCH_SLICES = ("nn", "optim", "utils/data", "distributions", "amp")  # ~83k lines


def test_fix_safety_on_torch_slice_examples_and_fixtures(tmp_path):
    torch_dir = Path(torch.__file__).parent
    corpus = tmp_path / "corpus"
    for part in TORCH_SLICES:
        shutil.copytree(torch_dir / part, corpus / "torch" / part, ignore=shutil.ignore_patterns("__pycache__"))
    for bundled in ("examples", "fixtures"):
        shutil.copytree(ROOT / bundled, corpus / bundled, ignore=shutil.ignore_patterns("__pycache__"))
    originals = {p: p.read_bytes() for p in corpus.rglob("*.py")}

    completed = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "fix_safety_check.py"), str(corpus), "--all-files"],
        capture_output=True, text=True, timeout=900,
    )

    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    summary = re.search(r"(\d+) files, (\d+) changed by --fix --unsafe-fixes, 0 problem\(s\)", completed.stdout)
    assert summary, completed.stdout[-3000:]
    files, changed = map(int, summary.groups())
    assert files == len(originals)
    assert changed >= 10  # the examples and fixtures alone carry that many fixable smells
    # The script works on a copy: the corpus handed to it is never written.
    assert {p: p.read_bytes() for p in corpus.rglob("*.py")} == originals
