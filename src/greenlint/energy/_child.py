"""Child process entry point: ``python -m greenlint.energy._child SPEC.json RESULT.json``.

Runs one trial (``"mode": "trial"``: load a workload file, pin threads, warm up, loop ``run()``
over a window of at least ``min_window_s`` between two meter readings) or one idle
measurement (``"mode": "idle"``), and writes a JSON result. Started by :mod:`.runner`; the spec
is internal and may change. Imports only the standard library and ``greenlint.energy``; torch
when the workload mentions it (imported before the workload so its threads are pinned first).
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import math
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Callable

from . import meters, outputs
from .env import THREAD_ENV_VARS, torch_info

WORKLOAD_MODULE = "_greenlint_energy_workload"


def _peak_rss_bytes() -> int | None:
    try:
        import resource
    except ImportError:  # not POSIX
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def _pin_torch(torch: Any) -> dict[str, Any]:
    notes: dict[str, Any] = {}
    try:
        torch.set_num_threads(1)
    except Exception as exc:  # pragma: no cover - defensive
        notes["set_num_threads_error"] = str(exc)
    try:
        torch.set_num_interop_threads(1)
    except Exception as exc:  # RuntimeError once inter-op work has started
        notes["set_num_interop_threads_error"] = str(exc)
    return notes


def _wants_torch(spec: dict, source: str) -> bool:
    mode = spec.get("torch", "auto")
    if mode == "no":
        return False
    if mode == "yes" or spec.get("size") == "gpu":
        return True
    return "torch" in source


def _import_torch() -> Any:
    try:
        import torch  # type: ignore[import-not-found]
    except ImportError:
        return None
    return torch


class _Cuda:
    """CUDA synchronisation when the workload uses the GPU; a no-op otherwise."""

    def __init__(self) -> None:
        self.torch: Any = None
        self.active = False

    def refresh(self) -> None:
        torch = sys.modules.get("torch")
        if torch is None:
            return
        self.torch = torch
        try:
            self.active = bool(torch.cuda.is_available() and torch.cuda.is_initialized())
        except Exception:
            self.active = False

    def sync(self) -> None:
        if self.active:
            self.torch.cuda.synchronize()

    def uuid(self) -> str | None:
        if not self.active:
            return None
        try:
            return str(self.torch.cuda.get_device_properties(self.torch.cuda.current_device()).uuid)
        except Exception:
            return None


def _init_cuda(torch: Any) -> str | None:
    """Create the CUDA context (so NVML sees the right device and idle reflects a live context)."""
    try:
        if torch is not None and torch.cuda.is_available():
            torch.zeros(1, device="cuda")
            torch.cuda.synchronize()
            return None
        return "size 'gpu' but torch.cuda is not available"
    except Exception as exc:
        return f"CUDA initialisation failed: {exc}"


def _load_workload(path: Path) -> Any:
    sys.dont_write_bytecode = True  # fixture directories may be read-only; leave them untouched
    spec = importlib.util.spec_from_file_location(WORKLOAD_MODULE, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[WORKLOAD_MODULE] = module
    sys.path.insert(0, str(path.parent))  # helpers beside the workload are importable
    spec.loader.exec_module(module)
    if not callable(getattr(module, "run", None)):
        raise TypeError(f"{path} defines no callable run(size='cpu')")
    return module


def _caller(run: Callable, size: str) -> Callable[[], Any]:
    try:
        params = [
            p for p in inspect.signature(run).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
        ]
    except (TypeError, ValueError):
        params = [None]
    if params:
        return lambda: run(size)
    return run


def _detect(spec: dict, cuda: _Cuda) -> meters.Detection:
    return meters.detect(
        spec.get("size", "cpu"),
        prefer=spec.get("meter", "auto"),
        rapl_root=spec.get("rapl_root") or meters.DEFAULT_RAPL_ROOT,
        watts_per_busy_core=float(spec.get("watts_per_core", meters.DEFAULT_WATTS_PER_BUSY_CORE)),
        gpu_uuid=cuda.uuid(),
    )


def _nvml_of(det: meters.Detection) -> meters.NvmlMeter | None:
    for m in det.meters:
        if isinstance(m, meters.NvmlMeter):
            return m
    return None


def run_idle(spec: dict) -> dict[str, Any]:
    seconds = float(spec.get("idle_seconds", 1.0))
    warnings = []
    cuda = _Cuda()
    if spec.get("size") == "gpu":
        torch = _import_torch()
        problem = _init_cuda(torch)
        if problem:
            warnings.append(problem)
        cuda.refresh()
    det = _detect(spec, cuda)
    try:
        nvml = _nvml_of(det)
        state_before = nvml.gpu_state() if nvml else None
        cuda.sync()
        for m in det.meters:
            m.begin()
        t0 = time.perf_counter()
        time.sleep(seconds)
        elapsed = time.perf_counter() - t0
        joules = {m.kind: m.end() for m in det.meters}
        state_after = nvml.gpu_state() if nvml else None
        watts = {k: j / elapsed for k, j in joules.items() if k != meters.ESTIMATE}
        return {
            "ok": True, "mode": "idle", "seconds": elapsed, "idle_watts": watts,
            "meters": [m.describe() for m in det.meters], "primary": det.primary.kind,
            "unavailable": det.unavailable, "gpu_before": state_before, "gpu_after": state_after,
            "warnings": warnings,
        }
    finally:
        det.close()


def run_trial(spec: dict) -> dict[str, Any]:
    path = Path(spec["workload"]).resolve()
    size = spec.get("size", "cpu")
    min_window = float(spec.get("min_window_s", 1.0))
    warnings: list[str] = []
    for var in THREAD_ENV_VARS:
        os.environ[var] = "1"
    source = path.read_text(encoding="utf-8", errors="replace")
    pin_notes: dict[str, Any] = {}
    torch = None
    if _wants_torch(spec, source):
        torch = _import_torch()
        if torch is not None:
            pin_notes = _pin_torch(torch)
    cuda = _Cuda()
    if size == "gpu":
        problem = _init_cuda(torch)
        if problem:
            warnings.append(problem)
    rss_before_workload = _peak_rss_bytes()
    module = _load_workload(path)
    if torch is None and "torch" in sys.modules:  # imported by the workload after all
        torch = sys.modules["torch"]
        pin_notes = _pin_torch(torch)
    call = _caller(module.run, size)
    warmup = spec.get("warmup")
    if warmup is None:
        warmup = getattr(module, "WARMUP", 1)
    warmup = max(1, int(warmup))  # at least one: it also calibrates the window
    cuda.refresh()
    det = _detect(spec, cuda)
    try:
        nvml = _nvml_of(det)
        warm_s = 0.0
        for _ in range(warmup):
            cuda.sync()
            t = time.perf_counter()
            call()
            cuda.refresh()
            cuda.sync()
            warm_s = time.perf_counter() - t
        if nvml is None and cuda.active and size != "gpu":
            warnings.append("workload used CUDA with size 'cpu': no GPU meter was read")
        state_before = nvml.gpu_state() if nvml else None

        per_run = max(warm_s, 1e-7)
        runs = 0
        out: Any = None
        cuda.sync()
        for m in det.meters:
            m.begin()
        t0 = time.perf_counter()
        c0 = time.process_time()
        while True:
            remaining = min_window - (time.perf_counter() - t0)
            if remaining <= 0 and runs > 0:
                break
            batch = max(1, math.ceil(max(remaining, 0.0) / per_run))
            for _ in range(batch):
                out = call()
            runs += batch
            cuda.sync()
            per_run = max((time.perf_counter() - t0) / runs, 1e-7)
        window = time.perf_counter() - t0
        cpu = time.process_time() - c0
        readings = [(m, m.end()) for m in det.meters]
        state_after = nvml.gpu_state() if nvml else None
    finally:
        det.close()

    idle_watts = spec.get("idle_watts") or {}
    energy_all: dict[str, dict[str, Any]] = {}
    for m, joules in readings:
        entry: dict[str, Any] = {
            "kind": m.kind,
            "method": m.method,
            "joules_window": joules,
            "joules_per_run": joules / runs,
            "avg_watts": joules / window if window > 0 else None,
            "net_joules_per_run": None,
            "idle_watts": None,
        }
        idle_w = idle_watts.get(m.kind)
        if idle_w is not None and m.kind != meters.ESTIMATE:
            entry["idle_watts"] = idle_w
            entry["net_joules_per_run"] = (joules - idle_w * window) / runs
        if isinstance(m, meters.RaplMeter):
            entry["breakdown_joules_window"] = m.last_breakdown
        energy_all[m.kind] = entry

    cuda_peak = None
    if cuda.active:
        try:
            cuda_peak = int(torch.cuda.max_memory_allocated())
        except Exception:
            pass
    result: dict[str, Any] = {
        "ok": True,
        "mode": "trial",
        "workload": str(path),
        "size": size,
        "warmup": warmup,
        "warmup_last_s": warm_s,
        "runs": runs,
        "window_s": window,
        "seconds_per_run": window / runs,
        "cpu_seconds_per_run": cpu / runs,
        "energy": energy_all[det.primary.kind],
        "energy_all": energy_all,
        "unavailable_meters": det.unavailable,
        "peak_rss_bytes": _peak_rss_bytes(),
        "rss_before_workload_bytes": rss_before_workload,
        "cuda_max_allocated_bytes": cuda_peak,
        "cuda_used": cuda.active,
        "gpu_before": state_before,
        "gpu_after": state_after,
        "gpu": nvml.describe() if nvml else None,
        "output_digest": outputs.digest(out),
        "output_summary": outputs.summarize(out),
        "output_path": None,
        "tolerance": getattr(module, "TOLERANCE", None) if isinstance(getattr(module, "TOLERANCE", None), dict) else None,
        "threads": {
            "env": {var: os.environ.get(var) for var in THREAD_ENV_VARS},
            **({"torch_num_threads": torch.get_num_threads(),
                "torch_num_interop_threads": torch.get_num_interop_threads()} if torch is not None else {}),
            **pin_notes,
        },
        "torch": torch_info(torch) if torch is not None else None,
        "python": sys.version.split()[0],
        "pid": os.getpid(),
        "warnings": warnings,
    }
    if spec.get("output_path"):
        result["output_path"] = outputs.save(out, spec["output_path"])
    return result


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m greenlint.energy._child SPEC.json RESULT.json", file=sys.stderr)
        return 2
    spec_path, result_path = args
    try:
        with open(spec_path, encoding="utf-8") as handle:
            spec = json.load(handle)
        result = run_idle(spec) if spec.get("mode") == "idle" else run_trial(spec)
        code = 0
    except BaseException as exc:  # report everything, even SystemExit from a workload
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
        code = 1
    tmp = result_path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(result, handle, default=str)
    os.replace(tmp, result_path)
    return code


if __name__ == "__main__":
    sys.exit(main())
