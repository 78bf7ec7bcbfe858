"""Lines per second of greenlint's engine (parse + semantic model + every rule) on a corpus,
against the standard library's bare `ast.parse` in the same process: a ratio that survives a
noisy shared machine better than seconds do.

    python benchmarks/engine_speed.py [CORPUS]   # default ~/.cache/greenlint/corpus
                                                 # (scripts/build_corpus.py fills it)

It also checks, on the whole corpus, that the cheap text pre-filter never drops a finding.
"""

from __future__ import annotations

import ast
import sys
import time
import warnings
from pathlib import Path

from greenlint.engine import lint_text
from greenlint.rules.base import all_rules


def main() -> None:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else Path.home() / ".cache/greenlint/corpus")
    texts = []
    for path in sorted(root.rglob("*.py")):
        try:
            texts.append((str(path), path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError):
            continue
    lines = sum(t.count("\n") for _, t in texts)
    rules = [rule() for rule in all_rules()]

    def parse_only() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for name, text in texts:
                try:
                    ast.parse(text, name)
                except SyntaxError:
                    pass

    def engine() -> None:
        for name, text in texts:
            lint_text(text, name, rules)

    timings = {}
    for label, job in (("ast.parse", parse_only), ("greenlint", engine)):
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            job()
            best = min(best, time.perf_counter() - started)
        timings[label] = best
    print(f"corpus: {len(texts)} files, {lines} lines, {len(rules)} rules, one process")
    for label, seconds in timings.items():
        print(f"{label:>10}: {seconds:6.2f} s  {lines / seconds:9,.0f} lines/s")
    print(f"greenlint costs {timings['greenlint'] / timings['ast.parse']:.1f}x a bare ast.parse")
    # The text pre-filter may only skip files where the full analysis finds nothing.
    def findings(name: str, text: str, use_prefilter: bool) -> list[tuple]:
        return [(d.code, d.start, d.end, d.message) for d in lint_text(text, name, rules, use_prefilter).diagnostics]

    dropped = [name for name, text in texts if findings(name, text, True) != findings(name, text, False)]
    skipped = sum(1 for name, text in texts if lint_text(text, name, rules).skipped)
    print(f"pre-filter: skipped {skipped} files without parsing; findings it dropped: {len(dropped)} {dropped[:5]}")


if __name__ == "__main__":
    main()
