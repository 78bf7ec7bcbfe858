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


def test_prefilter_drops_no_finding_on_torch_slice_examples_and_fixtures():
    """The cheap text checks (each rule's frameworks and required words) may skip a rule or a
    whole file only where the full analysis finds nothing: checked on real code here, and on
    the full corpus by benchmarks/engine_speed.py."""
    from greenlint.engine import lint_text
    from greenlint.rules.base import all_rules

    rules = [rule() for rule in all_rules()]
    torch_dir = Path(torch.__file__).parent
    paths = [p for part in TORCH_SLICES for p in sorted((torch_dir / part).rglob("*.py"))]
    paths += sorted((ROOT / "examples").rglob("*.py")) + sorted((ROOT / "fixtures").rglob("*.py"))
    findings = skipped_rules = 0
    for path in paths:
        text = path.read_text(encoding="utf-8")
        full = lint_text(text, str(path), rules, use_prefilter=False).diagnostics
        gated = lint_text(text, str(path), rules).diagnostics
        assert [(d.code, d.start, d.message) for d in gated] == [(d.code, d.start, d.message) for d in full], path
        findings += len(full)
        skipped_rules += sum(not rule.could_fire(text) for rule in rules)
    assert findings >= 50 and skipped_rules > 0  # the check saw findings, and the filter did skip
