"""greenlint.energy -- measure the energy a fix saves (standard library only).

This package imports nothing outside the standard library and ``greenlint.energy``: torch,
numpy, nvidia-ml-py (``pynvml``) and codecarbon are optional and imported lazily, so a bare GPU
machine with only torch + nvidia-ml-py runs ``PYTHONPATH=src python -m greenlint.energy run DIR``.

Workload protocol
-----------------
A workload is a Python file defining ``run(size: str = "cpu") -> object``: it builds its own
model and data (seeded, no network) and returns outputs (tensors, arrays, numbers, strings or
nested lists/tuples/dicts of them). Optional module constants: ``TOLERANCE = {"rtol": ...,
"atol": ...}`` (outputs compared with allclose instead of exactly) and ``WARMUP = 1``.

Each trial runs in a fresh ``python -m greenlint.energy._child`` with one thread
(``OMP/MKL/OPENBLAS/NUMEXPR/VECLIB_*_THREADS=1``, ``torch.set_num_threads(1)``,
``torch.set_num_interop_threads(1)``), warms up, then loops ``run()`` over a window of at least
``min_window_s`` seconds (default 2 on gpu, 1 on cpu) between two meter readings, with
``torch.cuda.synchronize()`` before each reading.

API
---
``measure_pair(before, after, *, size="cpu", min_trials=6, max_trials=30, budget_s=None,
min_window_s=None, ci_width=0.10, tolerance=None, warmup=None, idle_s=None, meter="auto",
watts_per_core=10.0, rapl_root=..., rule=None, notes=None, country=None, ...) -> PairResult``
    Interleaved trial pairs (before-first on even pairs, after-first on odd), stopping early
    when the 95% bootstrap CI of the energy ratio is narrower than ``ci_width``.
``PairResult``: ``.verdict``, ``.energy_kind``, ``.energy`` / ``.energy_net`` / ``.time`` /
    ``.cpu_time`` (:class:`stats.Comparison`), ``.memory``, ``.agreement``
    (:class:`outputs.Agreement`), ``.trials``, ``.warnings``, ``.environment``, ``.to_dict()``.
``load_manifest(DIR)`` / ``measure_manifest(DIR, rules=None, budget_s=None, **measure_pair_kwargs)``
    for ``DIR/manifest.json`` = ``{"pairs": [{"rule", "before", "after", "tolerance"?, "notes"?}]}``.
``format_table(results)``, ``results_to_json(results)``, ``write_json(results, path)``.
``detect(size)``, ``meter_status()``, ``NvmlMeter``, ``RaplMeter``, ``EstimateMeter``,
    ``rapl_delta_uj`` (module :mod:`.meters`); ``environment_info()`` (:mod:`.env`).
``stats``: ``median``, ``bootstrap_ratio_ci``, ``wilcoxon_signed_rank``, ``rank_biserial``,
    ``verdict``, ``compare``.
``co2_grams(joules, country_iso)``: optional, codecarbon's offline table, else None.

Verdicts: ``"saves energy"`` (CI of after/before entirely < 1 and Wilcoxon p < 0.05),
``"regression"`` (CI > 1 and p < 0.05), otherwise ``"no measurable difference"``. Energy kinds:
``"nvml"`` (GPU board, measured), ``"rapl"`` (CPU package+dram, measured), ``"estimate"``
(CPU time x 10 W per busy core -- a model, labelled as such everywhere).

CLI: ``python -m greenlint.energy run DIR [--json OUT] [--size cpu|gpu] [--budget S]
[--min-window S] ...`` and ``python -m greenlint.energy info``.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "measure_pair": "runner",
    "measure_manifest": "runner",
    "load_manifest": "runner",
    "PairResult": "runner",
    "WorkloadError": "runner",
    "format_table": "report",
    "results_to_json": "report",
    "write_json": "report",
    "detect": "meters",
    "meter_status": "meters",
    "MeterUnavailable": "meters",
    "NvmlMeter": "meters",
    "RaplMeter": "meters",
    "EstimateMeter": "meters",
    "rapl_delta_uj": "meters",
    "environment_info": "env",
    "co2_grams": "co2",
    "SAVES": "stats",
    "NO_DIFFERENCE": "stats",
    "REGRESSION": "stats",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    # Lazy so that ``python -m greenlint.energy._child`` loads only what a trial needs.
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'greenlint.energy' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module_name}"), name)
    globals()[name] = value
    return value
