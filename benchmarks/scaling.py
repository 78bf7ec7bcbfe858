"""How greenlint's cold run grows with the corpus, its peak memory, and what `--fix` costs.

    python benchmarks/scaling.py [--corpus DIR] [--repeats 3] [--fix-share 0.05] [--only lin,mem,fix]

1. Linearity: `check --no-cache --select ALL` (default -j, and -j 1) on nested prefixes of the
   corpus in a fixed hash order (1/4, 1/2 and all of its lines: each prefix mixes all packages),
   repeated and interleaved; medians of wall and CPU seconds (CPU: the whole process tree).
2. Peak memory of the whole run, workers included, on the full corpus: the live process tree's
   RSS and PSS summed every 50 ms (PSS splits the pages that forked workers share with the parent,
   so it is the honest total; the RSS sum counts shared pages once per process).
3. `--fix` on a copy of the corpus where a fixed 5% of the files have fixable findings: two small
   functions are appended to each chosen file (non-test, parseable), one with a safe GL402 fix
   (`torch.zeros(b, 16).to(device)`) and one with a safe GL101 fix (an evaluate() loop without
   no_grad). Each round copies the planted tree afresh, times the cold check, then `--fix` on the
   same unfixed tree, then checks that no planted finding is left and that every fixed file still
   parses. Target: `--fix` under 2x the cold check.
4. Warm re-run with nothing changed on the full corpus (cache filled by a first run), beside the
   start-up cost alone (a check of an empty folder).

Not a test: pytest never collects it (not named test_*), and it takes minutes.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import shutil
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import (  # noqa: E402
    DEFAULT_CORPUS,
    DEFAULT_WORKDIR,
    REPO,
    corpus_files,
    fmt_int,
    git_head,
    greenlint_argv,
    greenlint_env,
    greenlint_rule_count,
    lines_of,
    machine,
    materialise,
    measure,
    median,
    prefix_by_lines,
    print_flush,
)

sys.path.insert(0, str(REPO / "src"))
from greenlint.semantic import is_test_file  # noqa: E402

CHECK = ["check", "--no-cache", "--select", "ALL", "-q", "--exit-zero"]

PLANTED = '''


import torch as _greenlint_bench_torch


def _greenlint_bench_zeros(batch, device):
    return _greenlint_bench_torch.zeros(batch, 16).to(device)


def _greenlint_bench_evaluate(model, loader):
    model.eval()
    correct = 0
    for x, y in loader:
        correct += (model(x).argmax(1) == y).sum().item()
    return correct
'''
PLANTED_FUNCTIONS = ("_greenlint_bench_zeros", "_greenlint_bench_evaluate")


def linearity(corpus: Path, workdir: Path, python: str, repeats: int) -> None:
    files = corpus_files(corpus)
    total = lines_of(files)
    parts = [(label, prefix_by_lines(files, total * num // den)) for label, num, den in (("1/4", 1, 4), ("1/2", 1, 2), ("all", 1, 1))]
    folders = [(label, materialise(corpus, part, workdir / f"corpus-{label.replace('/', 'of')}"), lines_of(part), len(part)) for label, part in parts]
    env = greenlint_env()
    variants = [("default -j", []), ("-j 1", ["-j", "1"])]
    jobs = [(label, folder, lines, count, vlabel, extra) for label, folder, lines, count in folders for vlabel, extra in variants]
    for job in jobs:  # warm-up: page cache, byte-code
        measure(greenlint_argv(python, *CHECK, *job[5], str(job[1])), cwd=workdir, env=env)
    runs: dict[tuple[str, str], list] = {}
    for round_ in range(repeats):
        shift = round_ % len(jobs)
        for label, folder, lines, count, vlabel, extra in jobs[shift:] + jobs[:shift]:
            run = measure(greenlint_argv(python, *CHECK, *extra, str(folder)), cwd=workdir, env=env)
            assert run.rc == 0, run.stderr_tail
            runs.setdefault((label, vlabel), []).append(run)
    print_flush(f"\n1. linearity: cold check, --select ALL, medians of {repeats} interleaved rounds")
    print_flush("| share | files | lines | workers | wall s | CPU s | lines/s (wall) | wall s per 100k lines | CPU s per 100k lines |")
    print_flush("|---|---|---|---|---|---|---|---|---|")
    for label, folder, lines, count in folders:
        for vlabel, _ in variants:
            got = runs[(label, vlabel)]
            wall, cpu = median([r.wall for r in got]), median([r.cpu for r in got])
            print_flush(f"| {label} | {count} | {fmt_int(lines)} | {vlabel} | {wall:.2f} | {cpu:.2f} | {fmt_int(lines / wall)} | {wall / lines * 1e5:.2f} | {cpu / lines * 1e5:.2f} |")


def memory(corpus: Path, workdir: Path, python: str, repeats: int) -> None:
    files = corpus_files(corpus)
    folder = materialise(corpus, files, workdir / "corpus-all")
    env = greenlint_env()
    print_flush(f"\n2. peak memory, cold check of the full corpus ({len(files)} files, {fmt_int(lines_of(files))} lines), --select ALL; max over {repeats} runs")
    print_flush("| workers | peak PSS sum (whole tree) | peak RSS sum | largest single process RSS | processes | wall s |")
    print_flush("|---|---|---|---|---|---|")
    for vlabel, extra in (("default -j", []), ("-j 1", ["-j", "1"])):
        got = [measure(greenlint_argv(python, *CHECK, *extra, str(folder)), cwd=workdir, env=env, sample_memory=True) for _ in range(repeats)]
        mb = 1 << 20
        print_flush(
            f"| {vlabel} | {max(r.peak_pss_sum for r in got) / mb:.0f} MB | {max(r.peak_rss_sum for r in got) / mb:.0f} MB | "
            f"{max(r.max_rss_one for r in got) / mb:.0f} MB | {max(r.peak_procs for r in got)} | {median([r.wall for r in got]):.2f} |"
        )


def warm(corpus: Path, workdir: Path, python: str, repeats: int) -> None:
    files = corpus_files(corpus)
    folder = materialise(corpus, files, workdir / "corpus-all")
    root = workdir / "warm-root"  # the cache lives under the project root: the cwd here
    if root.exists():
        shutil.rmtree(root)
    (root / "empty").mkdir(parents=True)
    env = greenlint_env()
    warm_check = greenlint_argv(python, "check", "--select", "ALL", "-q", "--exit-zero", str(folder))
    fill = measure(warm_check, cwd=root, env=env)
    runs = [measure(warm_check, cwd=root, env=env) for _ in range(repeats)]
    empty = [measure(greenlint_argv(python, "check", "--no-cache", "-q", "--exit-zero", str(root / "empty")), cwd=root, env=env) for _ in range(repeats)]
    print_flush(f"\n4. warm re-run, nothing changed, full corpus ({len(files)} files, {fmt_int(lines_of(files))} lines), default -j; medians of {repeats}")
    print_flush("| run | wall s | CPU s |")
    print_flush("|---|---|---|")
    print_flush(f"| cache fill (first run) | {fill.wall:.2f} | {fill.cpu:.2f} |")
    print_flush(f"| warm | {median([r.wall for r in runs]):.2f} | {median([r.cpu for r in runs]):.2f} |")
    print_flush(f"| start-up only (check of an empty folder) | {median([r.wall for r in empty]):.2f} | {median([r.cpu for r in empty]):.2f} |")


def plant(corpus: Path, workdir: Path, share: float) -> tuple[Path, int, int, int]:
    """A copy of the corpus with PLANTED appended to `share` of its files; returns the folder,
    the file and line counts, and how many files were planted."""
    files = corpus_files(corpus)
    master = workdir / f"fix-master-{share}"
    want = round(len(files) * share)

    def eligible(rel: str) -> bool:
        if is_test_file(rel):
            return False
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                ast.parse((corpus / rel).read_bytes())
            except (SyntaxError, ValueError):
                return False
        return True

    # Another fixed order than the samples' (a salt), so the planted files are not the 1/4 prefix.
    order = sorted((f.rel for f in files), key=lambda rel: hashlib.sha256(b"plant:" + rel.encode()).hexdigest())
    chosen = []
    for rel in order:
        if len(chosen) == want:
            break
        if eligible(rel):
            chosen.append(rel)
    listing = "\n".join(chosen)
    marker = master / ".planted"
    if not (marker.is_file() and marker.read_text() == listing):
        if master.exists():
            shutil.rmtree(master)
        materialise(corpus, files, master)
        for rel in chosen:
            path = master / rel
            data = path.read_bytes()
            path.write_bytes(data + (b"" if data.endswith(b"\n") or not data else b"\n") + PLANTED.encode())
        marker.write_text(listing)
    planted_lines = lines_of(files) + len(chosen) * PLANTED.count("\n")
    return master, len(files), planted_lines, len(chosen)


def findings(python: str, folder: Path, workdir: Path, *select: str) -> list[dict]:
    out = workdir / "fix-findings.json"
    run = measure(greenlint_argv(python, "check", "--no-cache", "--exit-zero", "--select", ",".join(select) or "ALL", "--output-format", "json", str(folder)),
                  cwd=workdir, env=greenlint_env(), stdout_path=out)
    assert run.rc == 0, run.stderr_tail
    return json.loads(out.read_text() or "[]")


def fix(corpus: Path, workdir: Path, python: str, repeats: int, share: float) -> None:
    master, nfiles, nlines, nplanted = plant(corpus, workdir, share)
    before = findings(python, master, workdir)
    safe_files = {f["filename"] for f in before if f.get("fix") and f["fix"]["applicability"] == "safe"}
    planted_hits = [f for f in before if any(name in f["message"] for name in PLANTED_FUNCTIONS) or "_greenlint_bench_torch.zeros" in f["message"]]
    env = greenlint_env()
    tree = workdir / "fix-tree"
    checks, fixes = [], []
    for round_ in range(repeats + 1):  # round 0 warms up and is not counted
        if tree.exists():
            shutil.rmtree(tree)
        shutil.copytree(master, tree)
        check = measure(greenlint_argv(python, *CHECK, str(tree)), cwd=workdir, env=env)
        fixed = measure(greenlint_argv(python, *CHECK, "--fix", str(tree)), cwd=workdir, env=env)
        assert check.rc == 0 and fixed.rc == 0, (check.stderr_tail, fixed.stderr_tail)
        if round_:
            checks.append(check)
            fixes.append(fixed)
    after = findings(python, tree, workdir, "GL101", "GL402")
    left = [f for f in after if any(name in f["message"] for name in PLANTED_FUNCTIONS) or "_greenlint_bench_torch.zeros" in f["message"]]
    broken = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in tree.rglob("*.py"):
            try:
                ast.parse(path.read_bytes())
            except (SyntaxError, ValueError):
                if (master / path.relative_to(tree)).is_file():
                    try:
                        ast.parse((master / path.relative_to(tree)).read_bytes())
                        broken.append(str(path))
                    except (SyntaxError, ValueError):
                        pass
    check_wall, fix_wall = median([r.wall for r in checks]), median([r.wall for r in fixes])
    check_cpu, fix_cpu = median([r.cpu for r in checks]), median([r.cpu for r in fixes])
    print_flush(
        f"\n3. --fix: {nfiles} files, {fmt_int(nlines)} lines; planted {nplanted} files ({nplanted / nfiles:.1%}); "
        f"{len(safe_files)} files have a safe fix ({len(safe_files) / nfiles:.1%}, planted included); "
        f"{len(planted_hits)} planted findings; medians of {repeats} rounds (default -j, --select ALL, --no-cache)"
    )
    print_flush("| run | wall s | CPU s |")
    print_flush("|---|---|---|")
    print_flush(f"| cold check | {check_wall:.2f} | {check_cpu:.2f} |")
    print_flush(f"| --fix (safe fixes) | {fix_wall:.2f} | {fix_cpu:.2f} |")
    print_flush(f"| ratio --fix / check | {fix_wall / check_wall:.2f}x | {fix_cpu / check_cpu:.2f}x |")
    print_flush(f"after --fix: planted findings left: {len(left)}; files that parsed before and not after: {len(broken)} {broken[:3]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--fix-share", type=float, default=0.05, help="share of the files that get planted fixable findings")
    parser.add_argument("--python", default=sys.executable, help="the interpreter that runs greenlint")
    parser.add_argument("--only", default="lin,mem,fix,warm", help="which parts: lin, mem, fix, warm (comma-separated)")
    args = parser.parse_args(argv)
    corpus = args.corpus.expanduser().resolve()
    workdir = args.workdir.expanduser().resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    parts = {p.strip() for p in args.only.split(",")}
    print_flush(f"machine: {machine()}")
    print_flush(f"greenlint at {git_head()}, {greenlint_rule_count(args.python)} rules enabled (--select ALL); corpus {corpus}")
    if "lin" in parts:
        linearity(corpus, workdir, args.python, args.repeats)
    if "mem" in parts:
        memory(corpus, workdir, args.python, args.repeats)
    if "fix" in parts:
        fix(corpus, workdir, args.python, args.repeats, args.fix_share)
    if "warm" in parts:
        warm(corpus, workdir, args.python, args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
