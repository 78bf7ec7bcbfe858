"""Lines per second of greenlint's engine (parse + semantic model + every rule) on a corpus,
against the standard library's bare `ast.parse` in the same process: a ratio that survives a
noisy shared machine better than seconds do.

    python benchmarks/engine_speed.py [CORPUS]   # default ~/.cache/greenlint/corpus
                                                 # (scripts/build_corpus.py fills it)
    python benchmarks/engine_speed.py --by-rule  # where the time goes: parse, model, each rule

It also checks, on the whole corpus, that the cheap text pre-filter never drops a finding.
"""

from __future__ import annotations

import argparse
import ast
import time
import warnings
from collections import Counter
from pathlib import Path

from greenlint.diagnostics import LineIndex
from greenlint.engine import Context, lint_text, parse, prefilter
from greenlint.rules.base import all_rules


def by_rule(texts: list[tuple[str, str]], rules: list, repeats: int) -> None:
    """CPU seconds per phase and per rule (best of `repeats` for each), the engine's steps
    taken one by one; files the pre-filter skips count only towards `prefilter`."""
    best: dict[str, float] = {}
    clock = time.process_time
    for _ in range(repeats):
        spent: Counter = Counter()
        for name, text in texts:
            started = clock()
            if not prefilter(text, rules):
                spent["prefilter"] += clock() - started
                continue
            parsed = clock()
            spent["prefilter"] += parsed - started
            try:
                tree = parse(text, name)
            except (SyntaxError, ValueError):
                continue
            modelled = clock()
            spent["parse"] += modelled - parsed
            ctx = Context(text, name, tree, LineIndex(text))
            spent["semantic model"] += clock() - modelled
            for rule in rules:
                if rule.could_fire(text):
                    ctx.rule = rule
                    began = clock()
                    rule.check(ctx)
                    spent[rule.code] += clock() - began
        for key, seconds in spent.items():
            best[key] = min(best.get(key, seconds), seconds)
    total = sum(best.values())
    print(f"CPU seconds by phase, best of {repeats}: {total:.2f} s in all")
    for key, seconds in sorted(best.items(), key=lambda item: -item[1]):
        print(f"{key:>15} {seconds:6.2f} s {100 * seconds / total:5.1f} %")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=Path.home() / ".cache/greenlint/corpus")
    parser.add_argument("--by-rule", action="store_true", help="time each phase and rule instead")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    root = args.corpus
    texts = []
    for path in sorted(root.rglob("*.py")):
        try:
            texts.append((str(path), path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError):
            continue
    lines = sum(t.count("\n") for _, t in texts)
    rules = [rule() for rule in all_rules()]
    if args.by_rule:
        by_rule(texts, rules, args.repeats)
        return

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
        for _ in range(args.repeats):
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
