"""Environment facts recorded with every result (standard library; torch/pynvml optional)."""

from __future__ import annotations

import datetime as _dt
import os
import platform
import sys
from typing import Any

from . import meters


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def torch_info(torch: Any = None) -> dict[str, Any]:
    """Version facts about torch; imports it when not given (``{"available": False}`` if absent)."""
    if torch is None:
        try:
            import torch  # type: ignore[import-not-found]
        except ImportError as exc:
            return {"available": False, "detail": str(exc)}
    info: dict[str, Any] = {"available": True, "version": getattr(torch, "__version__", None)}
    version = getattr(torch, "version", None)
    info["cuda_build"] = getattr(version, "cuda", None)
    try:
        info["cudnn"] = torch.backends.cudnn.version()
    except Exception:
        info["cudnn"] = None
    try:
        info["num_threads"] = torch.get_num_threads()
        info["num_interop_threads"] = torch.get_num_interop_threads()
    except Exception:
        pass
    try:
        cuda = bool(torch.cuda.is_available())
    except Exception:
        cuda = False
    info["cuda_available"] = cuda
    if cuda and torch.cuda.is_initialized():
        try:
            idx = torch.cuda.current_device()
            props = torch.cuda.get_device_properties(idx)
            info["device"] = props.name
            info["device_capability"] = f"{props.major}.{props.minor}"
            info["device_memory_bytes"] = int(props.total_memory)
        except Exception:
            pass
    return info


THREAD_ENV_VARS = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
)


def environment_info(
    *, probe_torch: bool = False, rapl_root: str = meters.DEFAULT_RAPL_ROOT, nvml_module: Any = None,
    watts_per_busy_core: float = meters.DEFAULT_WATTS_PER_BUSY_CORE,
) -> dict[str, Any]:
    """Platform, CPU, Python, meter availability (with reasons) and, if asked, torch."""
    status = meters.meter_status(rapl_root=rapl_root, nvml_module=nvml_module, watts_per_busy_core=watts_per_busy_core)
    by_kind = {row["kind"]: row for row in status}
    nvml = by_kind[meters.NVML]
    info: dict[str, Any] = {
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "affinity_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "nvml_available": nvml["available"],
        "nvml_detail": nvml["detail"],
        "gpu": nvml.get("gpu"),
        "driver": nvml.get("driver"),
        "rapl_available": by_kind[meters.RAPL]["available"],
        "rapl_detail": by_kind[meters.RAPL]["detail"],
        "meters": status,
    }
    if probe_torch:
        info["torch"] = torch_info()
    return info
