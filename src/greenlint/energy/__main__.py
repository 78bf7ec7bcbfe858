"""``python -m greenlint.energy run DIR`` / ``python -m greenlint.energy info``.

Needs only the standard library (plus torch / nvidia-ml-py for the workloads and the GPU meter):
on a bare GPU machine ``PYTHONPATH=src python -m greenlint.energy run DIR`` works.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from . import meters


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m greenlint.energy",
                                     description="Measure the energy of before/after workload pairs.")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="measure the pairs listed in DIR/manifest.json")
    run.add_argument("directory", metavar="DIR")
    run.add_argument("--json", metavar="OUT", help="write the full results as JSON to OUT ('-' for stdout)")
    run.add_argument("--size", choices=("tiny", "cpu", "gpu"), default="cpu", help="passed to run(size); gpu reads NVML; tiny is for quick checks")
    run.add_argument("--budget", type=_positive, metavar="S", help="total seconds for all pairs (shared equally)")
    run.add_argument("--min-window", type=_positive, metavar="S",
                     help="seconds of looped runs per trial (default 2 on gpu, 1 on cpu)")
    run.add_argument("--min-trials", type=int, default=6, metavar="N", help="pairs before early stopping (default 6)")
    run.add_argument("--max-trials", type=int, default=30, metavar="N", help="most pairs per rule (default 30)")
    run.add_argument("--ci-width", type=_positive, default=0.10, metavar="W",
                     help="stop once the 95%% CI of the energy ratio is narrower than W (default 0.10)")
    run.add_argument("--rule", action="append", metavar="RULE", help="only this rule (repeatable)")
    run.add_argument("--meter", choices=("auto", *meters.KINDS), default="auto")
    run.add_argument("--watts-per-core", type=_positive, default=meters.DEFAULT_WATTS_PER_BUSY_CORE, metavar="W",
                     help="model for the 'estimate' meter (default %(default)s W per busy core)")
    run.add_argument("--idle", type=float, metavar="S", help="seconds of idle-power measurement (default: window)")
    run.add_argument("--warmup", type=int, metavar="N", help="override each workload's WARMUP")
    run.add_argument("--country", metavar="ISO3", help="CO2 via codecarbon's offline data, if installed")
    run.add_argument("--rapl-root", default=meters.DEFAULT_RAPL_ROOT, help=argparse.SUPPRESS)
    run.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")

    info = sub.add_parser("info", help="which meters work here, and why not")
    info.add_argument("--json", action="store_true", help="print JSON")
    info.add_argument("--no-torch", action="store_true", help="do not import torch to report its version")
    info.add_argument("--rapl-root", default=meters.DEFAULT_RAPL_ROOT, help=argparse.SUPPRESS)
    return parser


def cmd_info(args: argparse.Namespace) -> int:
    from .env import environment_info

    env = environment_info(probe_torch=not args.no_torch, rapl_root=args.rapl_root)
    if args.json:
        print(json.dumps(env, indent=2, default=str))
        return 0
    print("greenlint.energy meters:")
    for row in env["meters"]:
        state = "available  " if row["available"] else "unavailable"
        print(f"  {row['kind']:<9} {state} {row['detail']}")
    avail = {row["kind"] for row in env["meters"] if row["available"]}
    cpu_best = meters.RAPL if meters.RAPL in avail else meters.ESTIMATE
    gpu_best = meters.NVML if meters.NVML in avail else cpu_best
    print(f"energy for --size cpu: {cpu_best}; for --size gpu: {gpu_best}"
          + ("  (estimate = model, not a measurement)" if meters.ESTIMATE in (cpu_best, gpu_best) else ""))
    print(f"cpu: {env['cpu_model']} ({env['cpu_count']} CPUs, {env['affinity_cpus']} usable)")
    print(f"platform: {env['platform']}; Python {env['python']} ({env['python_implementation']})")
    torch = env.get("torch")
    if torch is not None:
        if torch.get("available"):
            print(f"torch: {torch.get('version')} (CUDA build {torch.get('cuda_build')}, "
                  f"CUDA available: {torch.get('cuda_available')})")
        else:
            print(f"torch: not importable ({torch.get('detail')})")
    if env.get("gpu"):
        print(f"gpu: {env['gpu']}, driver {env['driver']}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from . import report
    from .runner import WorkloadError, load_manifest, measure_manifest

    try:
        load_manifest(args.directory)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    failures: list[str] = []

    def on_error(pair: Any, exc: Exception) -> None:
        failures.append(pair.rule)
        print(f"error: {pair.rule}: {exc}", file=sys.stderr)

    progress = None if args.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    try:
        results = measure_manifest(
            args.directory, rules=args.rule, budget_s=args.budget, progress=progress, on_error=on_error,
            size=args.size, min_window_s=args.min_window, min_trials=args.min_trials,
            max_trials=args.max_trials, ci_width=args.ci_width, meter=args.meter,
            watts_per_core=args.watts_per_core, idle_s=args.idle, warmup=args.warmup,
            country=args.country, rapl_root=args.rapl_root,
        )
    except (WorkloadError, meters.MeterUnavailable, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json == "-":
        print(json.dumps(report.results_to_json(results), indent=2, allow_nan=False))
    else:
        print(report.format_table(results), end="")
        if args.json:
            report.write_json(results, args.json)
            print(f"wrote {args.json}")
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "info":
        return cmd_info(args)
    return cmd_run(args)


if __name__ == "__main__":
    sys.exit(main())
