"""Profile greenlint's cold run with pyinstrument and print where the time goes.

    pip install --target /tmp/pyinstrument-lib pyinstrument      # anywhere but greenlint's venv
    python benchmarks/profile_cold.py --pyinstrument-lib /tmp/pyinstrument-lib [--corpus DIR]

Runs `check --no-cache --select ALL -j 1 -q --exit-zero CORPUS` under pyinstrument (one process,
so every file is in the profile), saves the session, the text tree and a pstats file under
--out, and prints two tables: the phases of the engine (cumulative time of a few functions:
reading files, the pre-filter, `ast.parse`, the semantic model, each rule's check, ...) and the
functions with the most self time.

pyinstrument samples the wall clock: on a machine shared with other jobs the seconds are
inflated, the shares much less so. Not a test; pytest never collects it.
"""

from __future__ import annotations

import argparse
import os
import pstats
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import DEFAULT_CORPUS, DEFAULT_WORKDIR, REPO, git_head, greenlint_env, machine, print_flush  # noqa: E402

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
    ("      semantic model", "greenlint/semantic.py", "__init__"),
    ("      noqa filter", "greenlint/engine.py", "_unsuppressed"),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--pyinstrument-lib", type=Path, help="a folder with pyinstrument installed (pip install --target)")
    parser.add_argument("--out", type=Path, default=DEFAULT_WORKDIR / "profile")
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--top", type=int, default=15)
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
    subprocess.run([args.python, "-m", "pyinstrument", "-r", "pyisession", "-o", str(session), "-m", "greenlint.cli", *command],
                   env=env, check=True, stdout=subprocess.DEVNULL, cwd=out)
    pyi = [args.python, "-m", "pyinstrument", "--load", str(session)]
    subprocess.run([*pyi, "-r", "text", "--no-color", "--unicode", "-o", str(out / "cold.txt"),
                    "-p", "processor_options.filter_threshold=0.005"], env=env, check=True)
    subprocess.run([*pyi, "-r", "pstats", "-o", str(out / "cold.pstats")], env=env, check=True)
    stats = pstats.Stats(str(out / "cold.pstats"))
    raw = stats.stats  # {(file, line, func): (cc, nc, tottime, cumtime, callers)}
    total = max((v[3] for v in raw.values()), default=0.0)

    def cumulative(suffix: str, func: str) -> float:
        return max((v[3] for (f, _, fn), v in raw.items() if f.replace(os.sep, "/").endswith(suffix) and fn == func), default=0.0)

    print_flush(f"\nprofile: {out / 'cold.txt'} (tree), {out / 'cold.pstats'}; total sampled {total:.2f} s (wall clock)")
    print_flush("\nphases (cumulative time):")
    print_flush("| phase | seconds | share |")
    print_flush("|---|---|---|")
    command_time = cumulative("greenlint/cli.py", "check")
    print_flush(f"| start-up: imports before the command runs | {total - command_time:.2f} | {(total - command_time) / total:.0%} |")
    for label, suffix, func in PHASES:
        seconds = cumulative(suffix, func)
        print_flush(f"| {label} | {seconds:.2f} | {seconds / total:.0%} |")
    rule_rows = sorted(
        ((f.rsplit("/", 1)[-1], v[3]) for (f, _, fn), v in raw.items() if "/greenlint/rules/gl" in f.replace(os.sep, "/") and fn == "check"),
        key=lambda row: -row[1],
    )
    for module, seconds in rule_rows:
        print_flush(f"|      rule {module} check() | {seconds:.2f} | {seconds / total:.0%} |")
    print_flush(f"\ntop {args.top} functions by self time:")
    print_flush("| self s | share | cumulative s | function |")
    print_flush("|---|---|---|---|")
    rows = sorted(raw.items(), key=lambda kv: -kv[1][2])[: args.top]
    for (f, line, fn), (_, _, tottime, cumtime, _) in rows:
        where = f.replace(str(REPO / "src") + os.sep, "").replace(os.sep, "/")
        where = where.split("site-packages/")[-1].split("/lib/python3")[-1]
        print_flush(f"| {tottime:.2f} | {tottime / total:.0%} | {cumtime:.2f} | `{fn}` {where}:{line} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
