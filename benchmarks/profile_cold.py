"""Profile greenlint's cold run with pyinstrument and print where the time goes.

    pip install --target /tmp/pyinstrument-lib pyinstrument      # anywhere but greenlint's venv
    python benchmarks/profile_cold.py --pyinstrument-lib /tmp/pyinstrument-lib [--corpus DIR]

Runs `check --no-cache --select ALL -j 1 -q --exit-zero CORPUS` under pyinstrument (one process,
so every file is in the profile), saves the session and the text tree under --out, and prints two tables: the phases of the engine (cumulative time of a few functions:
reading files, the pre-filter, `ast.parse`, the semantic model, each rule's check, ...) and the
functions with the most self time.

pyinstrument samples the wall clock: on a machine shared with other jobs the seconds are
inflated, the shares much less so. Not a test; pytest never collects it.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import (  # noqa: E402
    DEFAULT_CORPUS,
    DEFAULT_WORKDIR,
    REPO,
    git_head,
    greenlint_env,
    machine,
    print_flush,
)

# (label, file suffix, function name): the cumulative time of that function (the largest, when
# several match). Imports run inside `<module>` frames.
PHASES = [
    ("the check command (all but the start-up imports)", "greenlint/cli.py", "check"),
    ("  import of the rule catalogue (greenlint.rules.*)", "greenlint/rules/catalog.py", "<module>"),
    ("    of which libcst (imported by a rule module for its fixes)", "libcst/__init__.py", "<module>"),
    ("  file discovery", "greenlint/discovery.py", "discover"),
    ("  check_files (every file)", "greenlint/run.py", "check_files"),
    ("    read + decode", "greenlint/source.py", "read_source"),
    ("    lint_text (the engine)", "greenlint/engine.py", "lint_text"),
    ("      ast.parse", "greenlint/engine.py", "parse"),
    ("      text pre-filter", "greenlint/engine.py", "prefilter"),
    ("      line index", "greenlint/diagnostics.py", "LineIndex.__init__"),
    ("      semantic model", "greenlint/semantic.py", "SemanticModel.__init__"),
    ("      noqa filter", "greenlint/engine.py", "_unsuppressed"),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--pyinstrument-lib", type=Path, help="a folder with pyinstrument installed (pip install --target)")
    parser.add_argument("--out", type=Path, default=DEFAULT_WORKDIR / "profile")
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--load", type=Path, help="summarise this saved .pyisession instead of profiling again")
    args = parser.parse_args(argv)
    out = args.out.expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    env = greenlint_env()
    if args.pyinstrument_lib:
        env["PYTHONPATH"] = env["PYTHONPATH"] + os.pathsep + str(args.pyinstrument_lib.expanduser().resolve())
    session = out / "cold.pyisession"
    corpus = str(args.corpus.expanduser().resolve())
    command = ["check", "--no-cache", "--select", "ALL", "-j", "1", "-q", "--exit-zero", corpus]
    print_flush(f"machine: {machine()}")
    print_flush(f"greenlint at {git_head()}: greenlint {' '.join(command)} under pyinstrument")
    if args.load:
        session = args.load.expanduser().resolve()
    else:
        subprocess.run([args.python, "-m", "pyinstrument", "-r", "pyisession", "-o", str(session), "-m", "greenlint.cli", *command],
                       env=env, check=True, stdout=subprocess.DEVNULL, cwd=out)
    pyi = [args.python, "-m", "pyinstrument", "--load", str(session)]
    subprocess.run([*pyi, "-r", "text", "--no-color", "--unicode", "-o", str(out / "cold.txt"),
                    "-p", "processor_options.filter_threshold=0.005"], env=env, check=True)
    if args.pyinstrument_lib:
        sys.path.insert(0, str(args.pyinstrument_lib.expanduser().resolve()))
    from pyinstrument.session import Session

    root = Session.load(str(session)).root_frame(trim_stem=False)
    total = root.time
    # Cumulative time per (file, function), counting a recursive function once; self time per
    # (file, line, function).
    cumulative: dict[tuple[str, str], float] = {}
    self_time: dict[tuple[str, int, str], float] = {}
    stack = [(root, frozenset())]
    while stack:
        frame, active = stack.pop()
        file = (frame.file_path or "").replace(os.sep, "/")
        name = f"{frame.class_name}.{frame.function}" if frame.class_name else frame.function
        key = (file, name)
        if key not in active:
            cumulative[key] = cumulative.get(key, 0.0) + frame.time
        if frame.is_synthetic:  # pyinstrument's "[self]" leaves: counted in their parent
            continue
        # A "[self]" child holds its parent's own time; other children are real calls.
        own = frame.time - sum(child.time for child in frame.children if not child.is_synthetic)
        if own > 0:
            at = (file, frame.line_no or 0, name)
            self_time[at] = self_time.get(at, 0.0) + own
        stack.extend((child, active | {key}) for child in frame.children)

    def cum(suffix: str, func: str) -> float:
        return sum(t for (f, fn), t in cumulative.items() if f.endswith(suffix) and fn == func)

    print_flush(f"\nprofile: {out / 'cold.txt'} (tree); total sampled {total:.2f} s (wall clock)")
    print_flush("\nphases (cumulative time):")
    print_flush("| phase | seconds | share |")
    print_flush("|---|---|---|")
    command_time = cum("greenlint/cli.py", "check")
    print_flush(f"| start-up: imports before the command runs | {total - command_time:.2f} | {(total - command_time) / total:.0%} |")
    for label, suffix, func in PHASES:
        seconds = cum(suffix, func)
        print_flush(f"| {label} | {seconds:.2f} | {seconds / total:.0%} |")
    rule_rows = sorted(
        ((f.rsplit("/", 1)[-1], t) for (f, fn), t in cumulative.items() if "/greenlint/rules/gl" in f and fn.endswith(".check")),
        key=lambda row: -row[1],
    )
    for module, seconds in rule_rows:
        print_flush(f"|      rule {module} check() | {seconds:.2f} | {seconds / total:.0%} |")
    print_flush(f"\ntop {args.top} functions by self time:")
    print_flush("| self s | share | cumulative s | function |")
    print_flush("|---|---|---|---|")
    for (f, line, fn), own in sorted(self_time.items(), key=lambda kv: -kv[1])[: args.top]:
        where = f.replace((str(REPO / "src") + os.sep).replace(os.sep, "/"), "")
        where = re.sub(r".*/(site-packages|python3\.\d+)/", "", where)
        print_flush(f"| {own:.2f} | {own / total:.0%} | {cumulative.get((f, fn), 0.0):.2f} | `{fn}` {where}:{line} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
