"""Fix safety at scale: run `greenlint check --fix --unsafe-fixes` over a copy of a corpus of
real code and prove nothing was damaged.

    python scripts/fix_safety_check.py [CORPUS] [--all-files]

CORPUS defaults to ~/.cache/greenlint/corpus (scripts/build_corpus.py). The corpus is copied to
a temporary folder first; the original is never written. With --all-files, test files are
checked and fixed too (every rule's include-tests option is set). Checks, for every file:
  - a changed file still parses and compile()s, and no longer has the findings that were fixed;
  - a second --fix pass changes nothing (idempotence);
  - a file that had no fixable finding is byte-identical afterwards.
Exit status 1 and one line per problem when any check fails.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

from greenlint.engine import lint_text
from greenlint.rules.base import all_rules


def snapshot(root: Path) -> dict[Path, bytes]:
    return {path: path.read_bytes() for path in sorted(root.rglob("*.py"))}


def greenlint_fix(root: Path) -> None:
    command = [sys.executable, "-m", "greenlint.cli", "check", "--fix", "--unsafe-fixes", "--no-cache", "-q", "--exit-zero", "."]
    completed = subprocess.run(command, cwd=root, capture_output=True, text=True)
    if completed.returncode not in (0, 1):
        print(completed.stderr.strip()[-2000:])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", default=str(Path.home() / ".cache/greenlint/corpus"))
    parser.add_argument("--all-files", action="store_true", help="include test files")
    options = parser.parse_args()
    source = Path(options.corpus)
    if not source.is_dir():
        print(f"{source}: no such corpus; run scripts/build_corpus.py first")
        return 2
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="greenlint-fix-safety-") as scratch:
        root = Path(scratch) / "corpus"
        shutil.copytree(source, root)
        if options.all_files:
            tables = [f"[tool.greenlint.rules.{r.code}]\ninclude-tests = true\n" for r in all_rules() if "include-tests" in r.options]
            (root / "pyproject.toml").write_text("[tool.greenlint]\n\n" + "\n".join(tables), encoding="utf-8")
        before = snapshot(root)
        greenlint_fix(root)
        after = snapshot(root)
        changed = [path for path in before if before[path] != after.get(path)]
        rules = [rule({"include-tests": True} if options.all_files and "include-tests" in rule.options else None) for rule in all_rules()]
        for path in changed:
            text = after[path].decode("utf-8", "surrogateescape")
            name = str(path.relative_to(root))
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    compile(text, name, "exec")
            except (SyntaxError, ValueError) as error:
                problems.append(f"{name}: does not compile after --fix: {error}")
                continue
            old_text = before[path].decode("utf-8", "surrogateescape")
            fixable_before = {(d.code, d.message) for d in lint_text(old_text, name, rules).diagnostics if d.fix and d.fix.applicability.value != "display-only"}
            still = {(d.code, d.message) for d in lint_text(text, name, rules).diagnostics if d.fix and d.fix.applicability.value != "display-only"}
            if not fixable_before:
                problems.append(f"{name}: changed although it had no fixable finding")
            if still & fixable_before:
                problems.append(f"{name}: fixable findings left after --fix: {sorted(c for c, _ in still & fixable_before)}")
        greenlint_fix(root)
        again = snapshot(root)
        for path in after:
            if after[path] != again.get(path):
                problems.append(f"{path.relative_to(root)}: a second --fix changed it again (not idempotent)")
        print(f"{len(before)} files, {len(changed)} changed by --fix --unsafe-fixes, {len(problems)} problem(s)")
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
