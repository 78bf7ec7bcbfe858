"""Interleaved (ABAB) before/after trials in fresh subprocesses, and their statistics."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from . import co2 as _co2
from . import meters, outputs, stats
from .env import THREAD_ENV_VARS, environment_info

#: The directory holding the ``greenlint`` package: put first on the children's PYTHONPATH so
#: they import this very ``greenlint.energy`` even when nothing is installed.
PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])

DEFAULT_MIN_WINDOW_S = {"gpu": 2.0, "cpu": 1.0}
#: Six pairs is the fewest with which an exact two-sided Wilcoxon test can reach p < 0.05
#: (p = 2/2**6 = 0.031 when all six differ in the same direction; five pairs give 0.0625).
DEFAULT_MIN_TRIALS = 6


class WorkloadError(RuntimeError):
    """A child process failed: the workload raised, or the child crashed or timed out."""


@dataclass
class PairResult:
    rule: str | None
    before: str
    after: str
    size: str
    trials: list[dict[str, Any]]
    idle: dict[str, Any] | None
    energy_kind: str
    energy: stats.Comparison
    energy_net: stats.Comparison | None
    time: stats.Comparison
    cpu_time: stats.Comparison
    memory: dict[str, Any]
    agreement: outputs.Agreement
    stop_reason: str
    elapsed_s: float
    environment: dict[str, Any]
    settings: dict[str, Any]
    notes: str | None = None
    warnings: list[str] = field(default_factory=list)
    co2: dict[str, Any] | None = None

    @property
    def verdict(self) -> str:
        return self.energy.verdict

    @property
    def is_estimate(self) -> bool:
        return self.energy_kind == meters.ESTIMATE

    def gpu_state(self) -> dict[str, Any] | None:
        """Range of GPU temperature and power limit (NVML) over all trials, or None."""
        temps, limits = [], []
        for t in self.trials:
            for which in ("before", "after"):
                for key in ("gpu_before", "gpu_after"):
                    state = t[which].get(key) or {}
                    if state.get("temperature_c") is not None:
                        temps.append(state["temperature_c"])
                    if state.get("power_limit_w") is not None:
                        limits.append(state["power_limit_w"])
        if not temps and not limits:
            return None
        return {"temperature_c_min": min(temps, default=None), "temperature_c_max": max(temps, default=None),
                "power_limit_w_min": min(limits, default=None), "power_limit_w_max": max(limits, default=None)}

    def to_dict(self) -> dict[str, Any]:
        energy = self.energy.to_dict()
        energy["kind"] = self.energy_kind
        energy["unit"] = "joules per run"
        net = None
        if self.energy_net is not None:
            net = self.energy_net.to_dict()
            net["kind"] = self.energy_kind
            net["unit"] = "joules per run, idle power subtracted"
        time_d = self.time.to_dict()
        time_d["unit"] = "seconds per run"
        cpu_d = self.cpu_time.to_dict()
        cpu_d["unit"] = "CPU seconds per run"
        for d in (time_d, cpu_d):
            d.pop("verdict")  # verdicts are about energy only
        return _json_safe({
            "rule": self.rule,
            "before": self.before,
            "after": self.after,
            "size": self.size,
            "verdict": self.verdict,
            "energy_kind": self.energy_kind,
            "energy_is_estimate": self.is_estimate,
            "energy": energy,
            "energy_net": net,
            "time": time_d,
            "cpu_time": cpu_d,
            "memory": self.memory,
            "gpu_state": self.gpu_state(),
            "agreement": self.agreement.to_dict(),
            "co2": self.co2,
            "n_pairs": len(self.trials),
            "stop_reason": self.stop_reason,
            "elapsed_s": self.elapsed_s,
            "idle": self.idle,
            "notes": self.notes,
            "warnings": self.warnings,
            "settings": self.settings,
            "environment": self.environment,
            "trials": self.trials,
        })


def _json_safe(obj: Any) -> Any:
    """Replace non-finite floats (not JSON) by None, recursively."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    return obj


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    for var in THREAD_ENV_VARS:
        env[var] = "1"
    env["PYTHONHASHSEED"] = "0"
    existing = env.get("PYTHONPATH")
    env["PYTHONPATH"] = PACKAGE_ROOT + (os.pathsep + existing if existing else "")
    return env


def run_child(spec: dict[str, Any], workdir: Path, *, python: str | None = None,
              timeout_s: float = 600.0, cwd: str | None = None) -> dict[str, Any]:
    """Run one child with ``spec``; return its JSON result or raise :class:`WorkloadError`."""
    fd, spec_path = tempfile.mkstemp(prefix="spec-", suffix=".json", dir=workdir)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(spec, handle)
    result_path = spec_path[: -len(".json")] + "-result.json"
    cmd = [python or sys.executable, "-m", "greenlint.energy._child", spec_path, result_path]
    what = spec.get("workload") or "idle measurement"
    try:
        proc = subprocess.run(cmd, env=child_env(), cwd=cwd, capture_output=True, text=True,
                              timeout=timeout_s, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise WorkloadError(f"{what}: timed out after {timeout_s:g} s") from None
    try:
        with open(result_path, encoding="utf-8") as handle:
            result = json.load(handle)
    except (OSError, ValueError):
        tail = (proc.stderr or "")[-2000:]
        raise WorkloadError(f"{what}: child exited {proc.returncode} without a result\n{tail}") from None
    finally:
        for p in (spec_path, result_path):
            try:
                os.unlink(p)
            except OSError:
                pass
    if not result.get("ok"):
        raise WorkloadError(f"{what}: {result.get('error')}\n{result.get('traceback', '')}")
    return result


def _default_window(size: str) -> float:
    return DEFAULT_MIN_WINDOW_S.get(size, DEFAULT_MIN_WINDOW_S["cpu"])


def _slim(trial: dict[str, Any]) -> dict[str, Any]:
    """A child result without fields repeated in every trial."""
    drop = {"ok", "mode", "torch", "python", "threads", "unavailable_meters", "gpu", "workload", "size",
            "output_path"}  # the saved outputs live in a temporary directory removed afterwards
    return {k: v for k, v in trial.items() if k not in drop}


def measure_pair(
    before: str | os.PathLike,
    after: str | os.PathLike,
    *,
    size: str = "cpu",
    min_trials: int = DEFAULT_MIN_TRIALS,
    max_trials: int = 30,
    budget_s: float | None = None,
    min_window_s: float | None = None,
    ci_width: float = 0.10,
    tolerance: dict[str, float] | None = None,
    warmup: int | None = None,
    idle_s: float | None = None,
    meter: str = "auto",
    watts_per_core: float = meters.DEFAULT_WATTS_PER_BUSY_CORE,
    rapl_root: str = meters.DEFAULT_RAPL_ROOT,
    rule: str | None = None,
    notes: str | None = None,
    country: str | None = None,
    python: str | None = None,
    child_timeout_s: float = 600.0,
    n_boot: int = 2000,
    seed: int = 0,
    environment: dict[str, Any] | None = None,
    progress: Callable[[str], None] | None = None,
) -> PairResult:
    """Measure ``before`` against ``after`` (workload files defining ``run(size)``).

    Trial pair *i* runs both variants, each in a fresh subprocess, before-first when *i* is
    even and after-first when odd (ABBA... interleaving cancels drift). After ``min_trials``
    pairs it stops as soon as the 95% bootstrap CI of the energy ratio is narrower than
    ``ci_width`` (and, when the CI excludes 1, the Wilcoxon test agrees at p < 0.05); else at
    ``max_trials`` pairs, or when the next pair would overrun
    ``budget_s`` (at least one pair always runs). ``ci_width`` is in units of the ratio: 0.10
    means the saving is known to within 10 percentage points. Idle power is measured first (a child that
    sleeps ``idle_s``, default the window length) whenever a power meter (NVML/RAPL) exists.
    """
    started = time.monotonic()
    before_p, after_p = Path(before).resolve(), Path(after).resolve()
    for p in (before_p, after_p):
        if not p.is_file():
            raise FileNotFoundError(p)
    if not size or not size.isidentifier():
        raise ValueError(f"size must be a workload size name such as 'cpu', 'gpu' or 'tiny', not {size!r}")
    if min_trials < 1 or max_trials < 1:
        raise ValueError("min_trials and max_trials must be >= 1")
    max_trials = max(max_trials, min_trials)
    window = _default_window(size) if min_window_s is None else float(min_window_s)
    say = progress or (lambda _msg: None)
    env_info = dict(environment) if environment is not None else environment_info(
        rapl_root=rapl_root, watts_per_busy_core=watts_per_core)
    warnings: list[str] = []

    base_spec: dict[str, Any] = {
        "size": size, "min_window_s": window, "warmup": warmup, "meter": meter,
        "watts_per_core": watts_per_core, "rapl_root": rapl_root,
    }
    workdir = Path(tempfile.mkdtemp(prefix="greenlint-energy-"))
    try:
        idle = None
        power_meter_possible = size == "gpu" or meter in (meters.NVML, meters.RAPL) or env_info.get("rapl_available")
        if meter != meters.ESTIMATE and power_meter_possible:
            idle_seconds = window if idle_s is None else float(idle_s)
            say(f"{rule or before_p.name}: measuring idle power for {idle_seconds:g} s")
            idle = run_child({**base_spec, "mode": "idle", "idle_seconds": idle_seconds}, workdir,
                             python=python, timeout_s=child_timeout_s)
            for w in idle.get("warnings", []):
                warnings.append(f"idle: {w}")
        idle_watts = (idle or {}).get("idle_watts", {})

        trials: list[dict[str, Any]] = []
        saved: dict[str, str] = {}
        digests: dict[str, set[str]] = {"before": set(), "after": set()}
        first: dict[str, dict[str, Any]] = {}
        stop_reason = "max_trials"
        trial_started = time.monotonic()
        for i in range(max_trials):
            if budget_s is not None and i >= 1:
                spent = time.monotonic() - started
                per_pair = (time.monotonic() - trial_started) / i
                if spent + per_pair > budget_s:
                    stop_reason = "budget"
                    break
            order = ("before", "after") if i % 2 == 0 else ("after", "before")
            pair: dict[str, Any] = {"index": i, "order": list(order)}
            for which in order:
                path = before_p if which == "before" else after_p
                spec = {**base_spec, "mode": "trial", "workload": str(path), "idle_watts": idle_watts}
                if which not in saved:
                    spec["output_path"] = str(workdir / f"{which}-output.pkl")
                res = run_child(spec, workdir, python=python, timeout_s=child_timeout_s, cwd=str(path.parent))
                if res.get("output_path"):
                    saved[which] = res["output_path"]
                first.setdefault(which, res)
                digests[which].add(res["output_digest"])
                pair[which] = _slim(res)
            trials.append(pair)
            b_e, a_e = pair["before"]["energy"], pair["after"]["energy"]
            say(f"{rule or before_p.name}: pair {i + 1}/{max_trials} ({'AB' if i % 2 == 0 else 'BA'}): "
                f"{_fmt_j(b_e['joules_per_run'])} -> {_fmt_j(a_e['joules_per_run'])} per run ({b_e['kind']})")
            if max(min_trials, 2) <= i + 1 < max_trials:  # a 1-pair "CI" is a point, not a stop signal
                cmp = stats.compare(*_series(trials, "energy"), n_boot=n_boot, seed=seed)
                # Narrow is not enough when the interval excludes 1: keep going until the
                # paired test agrees, or a real difference ends as "no measurable difference".
                settled = cmp.ci_low <= 1 <= cmp.ci_high or cmp.p_value < 0.05
                if cmp.ci_width < ci_width and settled:
                    stop_reason = "ci"
                    break

        energy_kind = trials[0]["before"]["energy"]["kind"]
        kinds = {t[w]["energy"]["kind"] for t in trials for w in ("before", "after")}
        if len(kinds) > 1:
            raise WorkloadError(f"trials used different meters {sorted(kinds)}; cannot compare")
        energy = stats.compare(*_series(trials, "energy"), n_boot=n_boot, seed=seed)
        energy_net = None
        net_b, net_a = _series(trials, "energy_net")
        if net_b and None not in net_b and None not in net_a:
            energy_net = stats.compare(net_b, net_a, n_boot=n_boot, seed=seed)
            if min(net_b + net_a) <= 0:
                warnings.append("idle-subtracted energy is <= 0 in some trials: the workload draws "
                                "about idle power; trust the gross figures")
        time_cmp = stats.compare(*_series(trials, "seconds_per_run"), n_boot=n_boot, seed=seed)
        cpu_cmp = stats.compare(*_series(trials, "cpu_seconds_per_run"), n_boot=n_boot, seed=seed)

        tol = tolerance if tolerance is not None else (first["after"].get("tolerance") or first["before"].get("tolerance"))
        agreement = _agreement(saved, digests, tol)
        memory = _memory(trials)

        if energy_kind == meters.ESTIMATE:
            warnings.append(f"energy is an ESTIMATE (CPU time x {watts_per_core:g} W per busy core), "
                            "not a measurement; no RAPL/NVML meter was usable")
        if len(trials) < min_trials:
            warnings.append(f"only {len(trials)} pair(s) before the budget ran out (min_trials={min_trials})")
        if len(trials) < 6:
            warnings.append(f"{len(trials)} pair(s): the exact Wilcoxon test cannot reach p < 0.05 with fewer "
                            "than 6, so the verdict cannot be 'saves energy' or 'regression'")
        if agreement.agree is False:
            warnings.append(f"outputs differ: {agreement.message}")
        for which in ("before", "after"):
            if len(digests[which]) > 1:
                warnings.append(f"{which}: outputs vary between trials (nondeterministic workload)")
        min_runs = min(t[w]["runs"] for t in trials for w in ("before", "after"))
        if min_runs < 3:
            warnings.append(f"a window held only {min_runs} run(s); per-run figures are coarse")
        for which in ("before", "after"):
            for w in first[which].get("warnings", []):
                warnings.append(f"{which}: {w}")
            for note, text in first[which].get("threads", {}).items():
                if note.endswith("_error"):
                    warnings.append(f"{which}: thread pinning: {text}")

        torch_meta = first["before"].get("torch") or first["after"].get("torch")
        env_info = {**env_info, "torch": torch_meta, "python_child": first["before"].get("python"),
                    "threads": first["before"].get("threads"), "meter": first["before"].get("energy", {}).get("method"),
                    "gpu_meter": first["before"].get("gpu")}
        co2 = _co2_summary(energy, energy_kind, country) if country else None
        settings = {
            "min_trials": min_trials, "max_trials": max_trials, "budget_s": budget_s, "min_window_s": window,
            "ci_width": ci_width, "warmup": warmup, "meter": meter, "watts_per_core": watts_per_core,
            "tolerance": tol, "n_boot": n_boot, "seed": seed, "interleaving": "ABBA (alternating first)",
            "isolation": "fresh subprocess per trial", "threads": 1,
        }
        return PairResult(
            rule=rule, before=str(before_p), after=str(after_p), size=size, trials=trials, idle=idle,
            energy_kind=energy_kind, energy=energy, energy_net=energy_net, time=time_cmp, cpu_time=cpu_cmp,
            memory=memory, agreement=agreement, stop_reason=stop_reason,
            elapsed_s=time.monotonic() - started, environment=env_info, settings=settings, notes=notes,
            warnings=warnings, co2=co2,
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _series(trials: list[dict[str, Any]], metric: str) -> tuple[list, list]:
    def value(res: dict[str, Any]) -> Any:
        if metric == "energy":
            return res["energy"]["joules_per_run"]
        if metric == "energy_net":
            return res["energy"]["net_joules_per_run"]
        return res[metric]

    return [value(t["before"]) for t in trials], [value(t["after"]) for t in trials]


def _median_or_none(values: list[Any]) -> float | None:
    vals = [v for v in values if v is not None]
    return stats.median(vals) if vals else None


def _memory(trials: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, name in (("peak_rss_bytes", "peak_rss"), ("cuda_max_allocated_bytes", "cuda_max_allocated"),
                      ("rss_before_workload_bytes", "rss_before_workload")):
        b = _median_or_none([t["before"].get(key) for t in trials])
        a = _median_or_none([t["after"].get(key) for t in trials])
        out[f"{name}_before_bytes"] = b
        out[f"{name}_after_bytes"] = a
        if b is not None and a is not None and name != "rss_before_workload":
            out[f"{name}_saving_pct"] = (1 - a / b) * 100 if b else None
    return out


def _agreement(saved: dict[str, str], digests: dict[str, set[str]], tol: dict | None) -> outputs.Agreement:
    b_digest = next(iter(sorted(digests["before"])), None)
    a_digest = next(iter(sorted(digests["after"])), None)
    exact_equal = digests["before"] == digests["after"] and len(digests["before"]) == 1
    mode = "allclose" if tol else "exact"
    rtol = float(tol.get("rtol", 0.0)) if tol else None
    atol = float(tol.get("atol", 0.0)) if tol else None
    if exact_equal:
        agree, max_diff, msg = True, 0.0, "outputs are bit-identical"
    else:
        agree, max_diff, msg = outputs.compare_files(saved["before"], saved["after"], tol)
        if mode == "exact" and agree is None:
            agree, msg = False, "digests differ and exact agreement was required; " + msg
    return outputs.Agreement(
        agree=agree, mode=mode, rtol=rtol, atol=atol, max_abs_diff=max_diff, message=msg,
        before_digest=b_digest, after_digest=a_digest,
        before_deterministic=len(digests["before"]) == 1, after_deterministic=len(digests["after"]) == 1,
    )


def _co2_summary(energy: stats.Comparison, kind: str, country: str) -> dict[str, Any]:
    intensity = _co2.carbon_intensity(country)
    out: dict[str, Any] = {"country": country, "kind": kind, "grams_per_kwh": intensity}
    if intensity is None:
        out["detail"] = "codecarbon not installed or country unknown: no CO2 figures"
        return out
    out["before_grams_per_run"] = _co2.co2_grams(energy.before_median, country)
    out["after_grams_per_run"] = _co2.co2_grams(energy.after_median, country)
    out["source"] = "codecarbon offline data (global_energy_mix.json)"
    return out


def _fmt_j(j: float | None) -> str:
    if j is None or not math.isfinite(j):
        return "n/a"
    a = abs(j)
    if a >= 1:
        return f"{j:.3g} J"
    if a >= 1e-3:
        return f"{j * 1e3:.3g} mJ"
    return f"{j * 1e6:.3g} uJ"


# ----------------------------------------------------------------------------- manifests


@dataclass
class ManifestPair:
    rule: str
    before: Path
    after: Path
    tolerance: dict[str, float] | None = None
    notes: str | None = None


def load_manifest(directory: str | os.PathLike) -> list[ManifestPair]:
    """``DIR/manifest.json``: ``{"pairs": [{"rule", "before", "after", "tolerance"?, "notes"?}]}``,
    paths relative to DIR."""
    base = Path(directory)
    path = base / "manifest.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{path} not found") from None
    except ValueError as exc:
        raise ValueError(f"{path}: invalid JSON: {exc}") from None
    pairs = data.get("pairs") if isinstance(data, dict) else None
    if not isinstance(pairs, list):
        raise ValueError(f"{path}: expected {{\"pairs\": [...]}}")
    out = []
    for i, item in enumerate(pairs):
        try:
            rule = str(item["rule"])
            before = base / item["before"]
            after = base / item["after"]
        except (KeyError, TypeError):
            raise ValueError(f"{path}: pair {i} needs 'rule', 'before' and 'after'") from None
        tol = item.get("tolerance")
        if tol is not None and not isinstance(tol, dict):
            raise ValueError(f"{path}: pair {i} ({rule}): tolerance must be an object like {{\"rtol\": 1e-5}}")
        for p in (before, after):
            if not p.is_file():
                raise FileNotFoundError(f"{path}: pair {i} ({rule}): {p} not found")
        out.append(ManifestPair(rule, before, after, tol, item.get("notes")))
    return out


def measure_manifest(
    directory: str | os.PathLike,
    *,
    rules: list[str] | None = None,
    budget_s: float | None = None,
    progress: Callable[[str], None] | None = None,
    on_error: Callable[[ManifestPair, Exception], None] | None = None,
    **kwargs: Any,
) -> list[PairResult]:
    """:func:`measure_pair` for every (selected) pair of ``DIR/manifest.json``. ``budget_s`` is
    the total, shared equally among the pairs still to run. A pair that fails raises, unless
    ``on_error`` is given (then it is called and the pair skipped)."""
    pairs = load_manifest(directory)
    if rules:
        wanted = set(rules)
        pairs = [p for p in pairs if p.rule in wanted]
    started = time.monotonic()
    env_info = kwargs.pop("environment", None) or environment_info(
        rapl_root=kwargs.get("rapl_root", meters.DEFAULT_RAPL_ROOT),
        watts_per_busy_core=kwargs.get("watts_per_core", meters.DEFAULT_WATTS_PER_BUSY_CORE))
    results = []
    for n, pair in enumerate(pairs):
        share = None
        if budget_s is not None:
            share = max(0.0, (budget_s - (time.monotonic() - started)) / (len(pairs) - n))
        try:
            results.append(measure_pair(
                pair.before, pair.after, rule=pair.rule, tolerance=pair.tolerance, notes=pair.notes,
                budget_s=share, environment=env_info, progress=progress, **kwargs))
        except Exception as exc:
            if on_error is None:
                raise
            on_error(pair, exc)
    return results
