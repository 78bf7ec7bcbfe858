"""Plain-text table and JSON for :class:`~greenlint.energy.runner.PairResult` lists."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Iterable

from . import meters
from .runner import PairResult, _fmt_j, _json_safe

SCHEMA = "greenlint-energy/1"


def _fmt_s(s: float | None) -> str:
    if s is None or not math.isfinite(s):
        return "n/a"
    if s >= 1:
        return f"{s:.3g} s"
    if s >= 1e-3:
        return f"{s * 1e3:.3g} ms"
    return f"{s * 1e6:.3g} us"


def _fmt_bytes(b: float | None) -> str:
    if b is None:
        return "n/a"
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if b >= size:
            return f"{b / size:.3g} {unit}"
    return f"{b:.0f} B"


def _fmt_p(p: float) -> str:
    return f"{p:.2g}" if p >= 0.001 else f"{p:.1e}"


def _saving(cmp) -> str:
    lo, hi = cmp.saving_ci_pct
    return f"{cmp.saving_pct:+.1f}% [{lo:+.1f}, {hi:+.1f}]"


def _memory_cell(r: PairResult) -> str:
    m = r.memory
    if m.get("cuda_max_allocated_before_bytes") is not None:
        return (f"GPU {_fmt_bytes(m['cuda_max_allocated_before_bytes'])} -> "
                f"{_fmt_bytes(m['cuda_max_allocated_after_bytes'])}")
    return f"RSS {_fmt_bytes(m.get('peak_rss_before_bytes'))} -> {_fmt_bytes(m.get('peak_rss_after_bytes'))}"


def _agree_cell(r: PairResult) -> str:
    a = r.agreement
    if a.agree is None:
        return "unknown"
    if not a.agree:
        return "NO"
    if a.mode == "exact" or (a.max_abs_diff == 0):
        return "yes (exact)"
    return f"yes (max diff {a.max_abs_diff:.2g})"


HEADERS = ("rule", "energy/run before", "energy/run after", "saving [95% CI]", "p", "effect r",
           "time/run before -> after", "peak memory", "outputs agree", "verdict")


def rows(results: Iterable[PairResult]) -> list[tuple[str, ...]]:
    out = []
    for r in results:
        label = f"[{r.energy_kind}]"
        out.append((
            r.rule or Path(r.before).stem,
            f"{_fmt_j(r.energy.before_median)} {label}",
            f"{_fmt_j(r.energy.after_median)} {label}",
            _saving(r.energy),
            _fmt_p(r.energy.p_value),
            f"{r.energy.effect_size:+.2f}",
            f"{_fmt_s(r.time.before_median)} -> {_fmt_s(r.time.after_median)}",
            _memory_cell(r),
            _agree_cell(r),
            r.verdict,
        ))
    return out


def format_table(results: list[PairResult]) -> str:
    """The table, then one block of details per rule, then the environment."""
    body = rows(results)
    widths = [max(len(h), *(len(row[i]) for row in body)) if body else len(h) for i, h in enumerate(HEADERS)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    lines = [line(HEADERS), line(tuple("-" * w for w in widths))]
    lines += [line(row) for row in body]
    for r in results:
        lines.append("")
        lines.append(f"{r.rule or Path(r.before).stem}: {r.verdict} -- {len(r.trials)} interleaved pairs "
                     f"(stopped: {r.stop_reason}), {r.settings['min_window_s']:g} s windows, {r.elapsed_s:.1f} s")
        e = r.energy
        lines.append(f"  energy [{r.energy_kind}]: ratio after/before {e.ratio:.3f} [95% CI {e.ci_low:.3f}, "
                     f"{e.ci_high:.3f}], Wilcoxon {e.test.split('-')[-1]} p={_fmt_p(e.p_value)}, "
                     f"rank-biserial r={e.effect_size:+.2f}")
        if r.idle and r.idle.get("idle_watts"):
            watts = ", ".join(f"{k} {w:.3g} W" for k, w in r.idle["idle_watts"].items())
            lines.append(f"  idle power (measured first, {r.idle['seconds']:.2g} s): {watts}")
        if r.energy_net is not None:
            n = r.energy_net
            lines.append(f"  idle-subtracted energy [{r.energy_kind}]: {_fmt_j(n.before_median)} -> "
                         f"{_fmt_j(n.after_median)} per run, saving {_saving(n)}")
        t = r.time
        lines.append(f"  time: {_fmt_s(t.before_median)} -> {_fmt_s(t.after_median)} per run, saving {_saving(t)}; "
                     f"CPU time {_fmt_s(r.cpu_time.before_median)} -> {_fmt_s(r.cpu_time.after_median)}")
        lines.append(f"  outputs: {r.agreement.message} ({r.agreement.mode}"
                     + (f", rtol={r.agreement.rtol:g}, atol={r.agreement.atol:g}" if r.agreement.mode == "allclose" else "")
                     + ")")
        gpu = r.gpu_state()
        if gpu:
            lines.append(f"  GPU: {gpu['temperature_c_min']}-{gpu['temperature_c_max']} C, power limit "
                         f"{gpu['power_limit_w_min']}-{gpu['power_limit_w_max']} W (read only, never changed)")
        if r.co2 and r.co2.get("before_grams_per_run") is not None:
            tag = " [estimate]" if r.is_estimate else ""
            lines.append(f"  CO2 ({r.co2['country']}, {r.co2['grams_per_kwh']:g} g/kWh){tag}: "
                         f"{r.co2['before_grams_per_run']:.3g} -> {r.co2['after_grams_per_run']:.3g} g per run")
        elif r.co2:
            lines.append(f"  CO2: {r.co2.get('detail')}")
        if r.notes:
            lines.append(f"  notes: {r.notes}")
        for w in r.warnings:
            lines.append(f"  warning: {w}")
    if results:
        env = results[0].environment
        torch = env.get("torch") or {}
        lines.append("")
        lines.append(
            f"environment: {env.get('cpu_model')} ({env.get('cpu_count')} CPUs), {env.get('platform')}, "
            f"Python {env.get('python')}, torch {torch.get('version', 'not used')}"
            + (f" (CUDA {torch.get('cuda_build')})" if torch.get("cuda_build") else "")
            + (f", GPU {env.get('gpu')} driver {env.get('driver')}" if env.get("gpu") else "")
        )
        lines.append(f"meters: NVML {'yes' if env.get('nvml_available') else 'no'}"
                     f"{'' if env.get('nvml_available') else ' (' + str(env.get('nvml_detail')) + ')'}; "
                     f"RAPL {'yes' if env.get('rapl_available') else 'no'}"
                     f"{'' if env.get('rapl_available') else ' (' + str(env.get('rapl_detail')) + ')'}")
        if any(r.energy_kind == meters.ESTIMATE for r in results):
            lines.append("[estimate] = CPU time x watts per busy core, a model -- not a measurement of energy")
    return "\n".join(lines) + "\n"


def results_to_json(results: list[PairResult], *, environment: dict[str, Any] | None = None) -> dict[str, Any]:
    env = environment if environment is not None else (results[0].environment if results else {})
    return _json_safe({"schema": SCHEMA, "environment": env, "pairs": [r.to_dict() for r in results]})


def write_json(results: list[PairResult], path: str | Path, **kwargs: Any) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results_to_json(results, **kwargs), indent=2, allow_nan=False) + "\n", encoding="utf-8")
    return path
