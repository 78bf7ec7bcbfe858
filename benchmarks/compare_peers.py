"""greenlint beside the linters a user would pick instead, on the same corpus sample, in one run.

    python benchmarks/compare_peers.py --peers-venv /path/to/peers-venv
    python benchmarks/compare_peers.py --peers-venv VENV --sample-lines 200000 --repeats 3 \
        --peer-time-limit 60 [--only greenlint,hotpath-ai] [--json results.json]

The peers live in their own virtual environment, never in greenlint's (their pins clash: TorchFix
wants an older libcst). Make one with

    python3 -m venv VENV && VENV/bin/pip install hotpath-ai torch-preflight fixit torchfix pylint ruff

A peer whose executable is not in VENV/bin is reported as "not installed" and skipped.

What runs (every tool on a copy of the same sample, its output written to a file):
  greenlint cold -j1      check --no-cache --select ALL -j 1       (every rule, one process)
  greenlint cold          check --no-cache --select ALL            (default -j: one per core)
  greenlint warm          check --select ALL, cache filled by an earlier untimed run
  ast.parse floor         read + ast.parse every file and nothing else, same interpreter: the
                          floor under any linter built on the stdlib parser
  hotpath-ai              hotpath analyze --include-heuristics DIR (stdlib ast; single process)
  torch-preflight         torch-preflight check -q DIR             (libcst; default -j = cores)
  TorchFix                torchfix --select ALL DIR                (libcst; default -j = cores)
  Fixit                   fixit lint DIR                           (libcst; built-in rules, one
                                                                    process per core)
  pylint                  pylint --recursive=y DIR                 (astroid; default checks, -j 1)
  ruff                    ruff check --no-cache DIR                (native; default rules)
  ruff ALL                ruff check --no-cache --select ALL DIR   (native; every rule)

Each tool first runs once on the smallest nested sub-sample (1/16 of the sample): untimed, it
warms the page cache and byte-code, and gives a rate. A tool whose projected CPU time on the whole
sample is over --peer-time-limit runs the largest nested sub-sample (1/4, 1/16) that fits; its
lines/s is then measured on fewer lines and the table says so ("sub-sample"). Then --repeats
rounds, each running every tool once, in a rotated order (interleaved, so load from other jobs on
a shared machine spreads over all tools); the table shows medians.

Reported per tool: the lines it ran on, median wall seconds, lines per wall second, median CPU
seconds (user + system of the whole process tree, workers included: wait4), lines per CPU second
("per core": the rate independent of how many cores a tool uses), and greenlint's ratio to the
tool, both per wall second and per CPU second, with `greenlint cold` (default -j) as greenlint.

Not a test: pytest never collects it (not named test_*), and it takes minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import (  # noqa: E402
    DEFAULT_CORPUS,
    DEFAULT_WORKDIR,
    Run,
    corpus_files,
    fmt_int,
    git_head,
    greenlint_argv,
    greenlint_env,
    greenlint_rule_count,
    greenlint_version,
    lines_of,
    machine,
    materialise,
    measure,
    median,
    prefix_by_lines,
    print_flush,
)

# A run is killed after this many times --peer-time-limit of wall clock: generous, because on
# a shared machine wall time can be several times the CPU time.
WALL_SLACK = 8


@dataclass
class Tool:
    name: str
    engine: str
    argv: list[str]  # "{dir}" is replaced by the sample folder
    ok_codes: tuple[int, ...]
    env: dict[str, str] | None = None
    cwd: Path | None = None
    before_repeats: list[str] | None = None  # an untimed run before the rounds (cache fill)
    missing: str | None = None
    # filled while running
    sample_index: int = 0  # 0: the whole sample, 1: 1/4, 2: 1/16
    runs: list[Run] = field(default_factory=list)
    note: str = ""


def peer_tools(venv: Path, workdir: Path) -> list[Tool]:
    bin_ = venv / "bin"

    def exe(name: str) -> str:
        return str(bin_ / name)

    tools = [
        Tool("hotpath-ai", "stdlib ast", [exe("hotpath"), "analyze", "--include-heuristics", "{dir}"], (0, 1)),
        Tool("torch-preflight", "libcst", [exe("torch-preflight"), "check", "-q", "--no-color", "{dir}"], (0, 1)),
        Tool("TorchFix", "libcst", [exe("torchfix"), "--select", "ALL", "{dir}"], (0, 1)),
        Tool("Fixit", "libcst", [exe("fixit"), "lint", "{dir}"], (0, 1)),
        # pylint's exit status is a bit mask: 1 fatal, 32 usage error; 2/4/8/16 are findings.
        Tool("pylint", "astroid", [exe("pylint"), "--recursive=y", "--score=n", "{dir}"], tuple(c for c in range(64) if not c & 32)),
        Tool("ruff", "native (Rust)", [exe("ruff"), "check", "--no-cache", "--exit-zero", "{dir}"], (0,)),
        Tool("ruff ALL", "native (Rust)", [exe("ruff"), "check", "--no-cache", "--exit-zero", "--select", "ALL", "{dir}"], (0,)),
    ]
    for tool in tools:
        if not Path(tool.argv[0]).is_file():
            tool.missing = f"not installed ({tool.argv[0]} not found)"
        # Peers run from a neutral folder: no project config of ours applies to them.
        tool.cwd = workdir
    return tools


# Read and `ast.parse` every file, nothing else: the floor under any linter built on the stdlib's
# parser (greenlint, hotpath-ai), in the same interpreter as greenlint.
FLOOR = """
import ast, pathlib, sys, warnings
warnings.simplefilter("ignore")
for path in sorted(pathlib.Path(sys.argv[1]).rglob("*.py")):
    try:
        ast.parse(path.read_text(encoding="utf-8"), str(path))
    except (SyntaxError, ValueError, UnicodeDecodeError):
        pass
"""


def greenlint_tools(python: str, workdir: Path) -> list[Tool]:
    env = greenlint_env()
    cold = ["check", "--no-cache", "--select", "ALL", "-q", "--exit-zero"]
    warm_dir = workdir / "greenlint-warm-root"  # the cache lives under the cwd (the project root)
    warm_dir.mkdir(parents=True, exist_ok=True)
    warm = ["check", "--select", "ALL", "-q", "--exit-zero", "{dir}"]
    return [
        Tool("greenlint cold -j1", "stdlib ast", greenlint_argv(python, *cold, "-j", "1", "{dir}"), (0,), env, workdir),
        Tool("greenlint cold", "stdlib ast", greenlint_argv(python, *cold, "{dir}"), (0,), env, workdir),
        Tool("greenlint warm", "stdlib ast + cache", greenlint_argv(python, *warm), (0,), env, warm_dir, before_repeats=["fill"]),
        Tool("ast.parse floor", "stdlib ast", [python, "-c", FLOOR, "{dir}"], (0,), None, workdir),
    ]


def run_tool(tool: Tool, folder: Path, out: Path, timeout: float | None) -> Run:
    argv = [str(folder) if a == "{dir}" else a for a in tool.argv]
    return measure(argv, cwd=tool.cwd, env=tool.env, timeout=timeout, stdout_path=out)


def check_run(tool: Tool, run: Run) -> str | None:
    if run.timed_out:
        return "killed at the time limit"
    if run.rc not in tool.ok_codes:
        return f"exit status {run.rc}: {run.stderr_tail.strip()[-600:]}"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peers-venv", type=Path, required=True, help="virtual environment with the peers installed")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="scripts/build_corpus.py's folder")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR, help="where the sample copies and outputs go")
    parser.add_argument("--sample-lines", type=int, default=200_000, help="lines in the sample (a fixed prefix of the corpus in hash order)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--peer-time-limit", type=float, default=60.0,
                        help="CPU seconds one tool may take on the sample (projected from the probe) before it runs a sub-sample; "
                             f"a run is killed after {WALL_SLACK}x this in wall seconds")
    parser.add_argument("--python", default=sys.executable, help="the interpreter that runs greenlint (with its dependencies)")
    parser.add_argument("--only", help="comma-separated tool names to run (greenlint's are always run)")
    parser.add_argument("--json", type=Path, help="also write the raw runs here")
    args = parser.parse_args(argv)

    corpus = args.corpus.expanduser().resolve()
    workdir = args.workdir.expanduser().resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    files = corpus_files(corpus)
    sample = prefix_by_lines(files, args.sample_lines)
    nested = [sample, prefix_by_lines(files, args.sample_lines // 4), prefix_by_lines(files, args.sample_lines // 16)]
    folders = [materialise(corpus, part, workdir / f"sample-{args.sample_lines}-{1 << (2 * i)}") for i, part in enumerate(nested)]
    sizes = [lines_of(part) for part in nested]
    counts = [len(part) for part in nested]

    tools = greenlint_tools(args.python, workdir) + peer_tools(args.peers_venv.expanduser(), workdir)
    if args.only:
        wanted = {n.strip().lower() for n in args.only.split(",")}
        tools = [t for t in tools if t.name.startswith(("greenlint", "ast.parse")) or t.name.lower() in wanted]
    outputs = workdir / "outputs"
    outputs.mkdir(exist_ok=True)

    rules = greenlint_rule_count(args.python)
    print_flush(f"machine: {machine()}")
    print_flush(f"greenlint: {greenlint_version(args.python)} at {git_head()}, {rules} rules enabled (--select ALL)")
    print_flush(
        f"sample: {counts[0]} files, {fmt_int(sizes[0])} lines of {len(files)} corpus files "
        f"({fmt_int(lines_of(files))} lines) in {corpus}; sub-samples 1/4: {fmt_int(sizes[1])} lines, "
        f"1/16: {fmt_int(sizes[2])} lines"
    )

    # Probe: every tool once on the 1/16 sub-sample, untimed; pick the sample size that fits.
    for tool in tools:
        if tool.missing:
            print_flush(f"  {tool.name}: {tool.missing}; skipped")
            continue
        slug = tool.name.replace(" ", "_")
        probe = run_tool(tool, folders[2], outputs / f"{slug}.probe.out", args.peer_time_limit * WALL_SLACK)
        problem = check_run(tool, probe)
        if problem:
            tool.missing = f"failed on the probe: {problem}"
            print_flush(f"  {tool.name}: {tool.missing}")
            continue
        # CPU seconds, not wall: on a shared machine the wall clock depends on the other jobs.
        rate = sizes[2] / max(probe.cpu, 1e-3)
        tool.sample_index = 2
        for index in (0, 1):
            if sizes[index] / rate <= args.peer_time_limit:
                tool.sample_index = index
                break
        if tool.sample_index:
            tool.note = f"sub-sample 1/{1 << (2 * tool.sample_index)}: projected {sizes[0] / rate:,.0f} CPU s on the sample > {args.peer_time_limit:.0f} s limit"
        print_flush(f"  probe {tool.name}: {probe.wall:.2f} s wall, {probe.cpu:.2f} s CPU on {fmt_int(sizes[2])} lines -> runs on {fmt_int(sizes[tool.sample_index])} lines")
        if tool.before_repeats:
            fill = run_tool(tool, folders[tool.sample_index], outputs / f"{slug}.fill.out", None)
            print_flush(f"  {tool.name}: cache filled in {fill.wall:.2f} s")

    active = [t for t in tools if not t.missing]
    for round_ in range(args.repeats):
        shift = round_ % max(1, len(active))
        order = active[shift:] + active[:shift]
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print_flush(f"round {round_ + 1}/{args.repeats} (load average {load}): " + ", ".join(t.name for t in order))
        for tool in order:
            slug = tool.name.replace(" ", "_")
            run = run_tool(tool, folders[tool.sample_index], outputs / f"{slug}.{round_}.out", args.peer_time_limit * WALL_SLACK)
            problem = check_run(tool, run)
            if problem:
                print_flush(f"    {tool.name}: {problem}")
                continue
            tool.runs.append(run)
            print_flush(f"    {tool.name:20s} {run.wall:8.2f} s wall {run.cpu:8.2f} s CPU  ({run.stdout_lines} output lines)")

    print_table(tools, sizes, args)
    if args.json:
        args.json.write_text(json.dumps({
            "machine": machine(), "rules": rules, "sizes": sizes, "files": counts,
            "tools": [{"name": t.name, "engine": t.engine, "argv": t.argv, "missing": t.missing, "note": t.note,
                       "lines": sizes[t.sample_index], "runs": [asdict(r) for r in t.runs]} for t in tools],
        }, indent=1))
    return 0


def print_table(tools: list[Tool], sizes: list[int], args: argparse.Namespace) -> None:
    def rates(tool: Tool) -> tuple[float, float, float, float] | None:
        if not tool.runs:
            return None
        lines = sizes[tool.sample_index]
        wall = median([r.wall for r in tool.runs])
        cpu = median([r.cpu for r in tool.runs])
        return wall, cpu, lines / wall, lines / cpu

    reference = next((t for t in tools if t.name == "greenlint cold"), None)
    ref = rates(reference) if reference else None
    print_flush("")
    print_flush(f"medians of {args.repeats} interleaved rounds; per core = lines per CPU second of the whole process tree")
    header = f"| {'tool':20s} | {'engine':18s} | {'lines':>8s} | {'wall s':>7s} | {'lines/s':>9s} | {'CPU s':>7s} | {'lines/s/core':>12s} | {'greenlint x (wall)':>18s} | {'greenlint x (per core)':>22s} |"
    print_flush(header)
    print_flush("|" + "|".join("-" * (len(cell)) for cell in header.split("|")[1:-1]) + "|")
    notes = []
    for tool in tools:
        got = rates(tool)
        if got is None:
            reason = tool.missing or "no successful run"
            print_flush(f"| {tool.name:20s} | {tool.engine:18s} | {'-':>8s} | not measured: {reason[:120]}")
            continue
        wall, cpu, per_wall, per_cpu = got
        if ref and not tool.name.startswith("greenlint"):
            ratio_wall = f"{ref[2] / per_wall:,.1f}x"
            ratio_cpu = f"{ref[3] / per_cpu:,.1f}x"
        else:
            ratio_wall = ratio_cpu = ""
        mark = " *" if tool.sample_index else ""
        print_flush(
            f"| {tool.name:20s} | {tool.engine:18s} | {fmt_int(sizes[tool.sample_index]) + mark:>8s} | {wall:7.2f} | {per_wall:9,.0f} | {cpu:7.2f} | {per_cpu:12,.0f} | {ratio_wall:>18s} | {ratio_cpu:>22s} |"
        )
        if tool.note:
            notes.append(f"* {tool.name}: {tool.note}; its rates are extrapolated to the sample from this sub-sample")
    for note in notes:
        print_flush(note)


if __name__ == "__main__":
    sys.exit(main())
