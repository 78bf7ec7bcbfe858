"""Energy meters (standard library only; pynvml is imported lazily and is optional).

Three kinds, and every joule figure carries its kind wherever it is reported:

* ``"nvml"``     -- NVIDIA GPU board energy from NVML: the total-energy counter
  (``nvmlDeviceGetTotalEnergyConsumption``, mJ since driver load) read at both ends of the
  window, or, where the counter is unsupported, power (``nvmlDeviceGetPowerUsage``, mW) sampled
  in a background thread and integrated (trapezoid rule). Read-only: no clock, power-limit or
  any other GPU setting is ever changed.
* ``"rapl"``     -- Linux powercap RAPL counters (``<root>/intel-rapl:*/energy_uj``), package
  and dram domains summed, with wraparound handled through ``max_energy_range_uj``.
* ``"estimate"`` -- NOT a measurement: CPU seconds of the measuring process multiplied by
  :data:`DEFAULT_WATTS_PER_BUSY_CORE` (overridable). The real TDP per core is not reliably
  knowable from ``/proc/cpuinfo``; the constant is a documented model, so every figure derived
  from it is labelled ``estimate``.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

NVML = "nvml"
RAPL = "rapl"
ESTIMATE = "estimate"
KINDS = (NVML, RAPL, ESTIMATE)

#: Watts charged per busy CPU core by the ``estimate`` meter (a model, not a measurement).
DEFAULT_WATTS_PER_BUSY_CORE = 10.0
#: Where Linux exposes RAPL; injectable everywhere for tests.
DEFAULT_RAPL_ROOT = "/sys/class/powercap"
#: RAPL domains summed by default ("package-N" zones and "dram" sub-zones; "core"/"uncore" are
#: parts of the package and "psys" overlaps everything, so they are left out).
DEFAULT_RAPL_DOMAINS = ("package", "dram")


class MeterUnavailable(RuntimeError):
    """Raised when a meter cannot be used here; the message says why."""


class Meter:
    """Measures the energy of one window: ``begin()`` ... ``end() -> joules``."""

    kind: str = ""
    method: str = ""

    def begin(self) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def end(self) -> float:  # pragma: no cover - interface
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "method": self.method}

    def close(self) -> None:
        pass


# --------------------------------------------------------------------------------------- RAPL


def rapl_delta_uj(start: int, end: int, max_range_uj: int) -> int:
    """Energy between two readings of a RAPL counter that wraps to 0 after ``max_range_uj``.

    One wrap at most is assumed between the readings (the counter's range is hundreds of kJ,
    minutes at full package power, far longer than a measurement window).
    """
    if end >= start:
        return end - start
    if max_range_uj <= 0:
        raise ValueError("RAPL counter went backwards and max_energy_range_uj is unknown")
    return end + max_range_uj - start


@dataclass(frozen=True)
class RaplZone:
    key: str  # directory name, e.g. "intel-rapl:0" or "intel-rapl:0:1"
    name: str  # content of the zone's "name" file, e.g. "package-0", "dram"
    path: Path
    max_range_uj: int

    def read_uj(self) -> int:
        return int((self.path / "energy_uj").read_text().strip())


def rapl_zones(root: str | os.PathLike = DEFAULT_RAPL_ROOT, domains=DEFAULT_RAPL_DOMAINS) -> list[RaplZone]:
    """Readable RAPL zones under ``root`` whose name starts with one of ``domains``.

    Raises :class:`MeterUnavailable` with a reason a person can act on.
    """
    base = Path(root)
    if not base.is_dir():
        raise MeterUnavailable(f"{base} does not exist (no powercap driver, a container, or not Linux)")
    try:
        entries = sorted(p for p in base.iterdir() if p.name.startswith("intel-rapl:"))
    except PermissionError:
        raise MeterUnavailable(f"{base} not readable (permission)") from None
    if not entries:
        raise MeterUnavailable(f"no intel-rapl:* zones under {base} (RAPL driver not loaded)")
    zones = []
    for entry in entries:
        try:
            name = (entry / "name").read_text().strip()
        except OSError:
            continue
        if not any(name.startswith(d) for d in domains):
            continue
        try:
            max_range = int((entry / "max_energy_range_uj").read_text().strip())
        except (OSError, ValueError):
            max_range = 0
        zone = RaplZone(entry.name, name, entry, max_range)
        try:
            zone.read_uj()
        except PermissionError:
            raise MeterUnavailable(
                f"{entry / 'energy_uj'} not readable (permission: root-only since Linux 5.10, "
                "CVE-2020-8694; run as root or grant read access)"
            ) from None
        except (OSError, ValueError) as exc:
            raise MeterUnavailable(f"{entry / 'energy_uj'} unreadable: {exc}") from None
        zones.append(zone)
    if not zones:
        raise MeterUnavailable(f"no RAPL zone named {'/'.join(domains)} under {base}")
    return zones


class RaplMeter(Meter):
    kind = RAPL

    def __init__(self, root: str | os.PathLike = DEFAULT_RAPL_ROOT, domains=DEFAULT_RAPL_DOMAINS):
        self.root = str(root)
        self.zones = rapl_zones(root, domains)
        self.method = "powercap " + "+".join(z.name for z in self.zones)
        self._start: dict[str, int] | None = None
        self.last_breakdown: dict[str, float] = {}

    def read(self) -> dict[str, int]:
        return {z.key: z.read_uj() for z in self.zones}

    def begin(self) -> None:
        self._start = self.read()

    def end(self) -> float:
        if self._start is None:
            raise RuntimeError("RaplMeter.end() before begin()")
        now = self.read()
        breakdown = {}
        for z in self.zones:
            breakdown[f"{z.key} ({z.name})"] = rapl_delta_uj(self._start[z.key], now[z.key], z.max_range_uj) / 1e6
        self.last_breakdown = breakdown
        self._start = None
        return sum(breakdown.values())

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "method": self.method,
            "root": self.root,
            "zones": [{"zone": z.key, "name": z.name, "max_energy_range_uj": z.max_range_uj} for z in self.zones],
        }


# --------------------------------------------------------------------------------------- NVML


def import_pynvml():
    """``import pynvml`` (package nvidia-ml-py), or :class:`MeterUnavailable` saying why not."""
    try:
        import pynvml  # type: ignore[import-not-found]
    except ImportError as exc:
        raise MeterUnavailable(f"pynvml not importable (pip install nvidia-ml-py): {exc}") from None
    return pynvml


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class NvmlMeter(Meter):
    """GPU board energy through NVML. ``module`` injects a pynvml stand-in (tests)."""

    kind = NVML

    def __init__(
        self,
        index: int | None = None,
        uuid: str | None = None,
        *,
        sample_interval_s: float = 0.02,
        force_sampling: bool = False,
        module: Any = None,
    ):
        self._thread: threading.Thread | None = None
        self._initialised = False
        nv = module if module is not None else import_pynvml()
        self.nv = nv
        try:
            nv.nvmlInit()
        except Exception as exc:  # NVMLError: driver not loaded, no GPU, ...
            raise MeterUnavailable(f"nvmlInit failed: {exc}") from None
        self._initialised = True
        try:
            self.handle = self._resolve_handle(index, uuid)
        except Exception as exc:
            self.close()
            raise MeterUnavailable(f"no NVML device: {exc}") from None
        self.index = index
        self.sample_interval_s = sample_interval_s
        self.method = "counter"
        self.counter_error: str | None = None
        if force_sampling:
            self.method = "sampling"
            self.counter_error = "sampling forced"
        else:
            try:
                nv.nvmlDeviceGetTotalEnergyConsumption(self.handle)
            except Exception as exc:  # NVML_ERROR_NOT_SUPPORTED on older boards
                self.method = "sampling"
                self.counter_error = f"{type(exc).__name__}: {exc}"
        if self.method == "sampling":
            try:
                nv.nvmlDeviceGetPowerUsage(self.handle)
            except Exception as exc:
                self.close()
                raise MeterUnavailable(
                    f"NVML supports neither the energy counter ({self.counter_error}) nor power readings ({exc})"
                ) from None
        self._start_mj: int | None = None
        self._samples: list[tuple[float, float]] = []
        self._stop = threading.Event()

    def _resolve_handle(self, index: int | None, uuid: str | None):
        nv = self.nv
        if uuid:
            uid = uuid if uuid.startswith(("GPU-", "MIG-")) else "GPU-" + uuid
            try:
                return nv.nvmlDeviceGetHandleByUUID(uid)
            except Exception:
                pass
        if index is None:
            visible = os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",")[0].strip()
            index = int(visible) if visible.isdigit() else 0
        return nv.nvmlDeviceGetHandleByIndex(index)

    # -- read-only queries -------------------------------------------------------------------
    def _query(self, fn_name: str, *args) -> Any:
        fn = getattr(self.nv, fn_name, None)
        if fn is None:
            return None
        try:
            return fn(self.handle, *args)
        except Exception:
            return None

    def power_w(self) -> float | None:
        mw = self._query("nvmlDeviceGetPowerUsage")
        return None if mw is None else mw / 1000.0

    def temperature_c(self) -> float | None:
        return self._query("nvmlDeviceGetTemperature", getattr(self.nv, "NVML_TEMPERATURE_GPU", 0))

    def power_limit_w(self) -> float | None:
        mw = self._query("nvmlDeviceGetEnforcedPowerLimit")
        if mw is None:
            mw = self._query("nvmlDeviceGetPowerManagementLimit")
        return None if mw is None else mw / 1000.0

    def name(self) -> str | None:
        value = self._query("nvmlDeviceGetName")
        return None if value is None else _text(value)

    def driver_version(self) -> str | None:
        try:
            return _text(self.nv.nvmlSystemGetDriverVersion())
        except Exception:
            return None

    def gpu_state(self) -> dict[str, Any]:
        return {"temperature_c": self.temperature_c(), "power_limit_w": self.power_limit_w(), "power_w": self.power_w()}

    # -- measuring ---------------------------------------------------------------------------
    def _sample_loop(self) -> None:
        while not self._stop.wait(self.sample_interval_s):
            w = self.power_w()
            if w is not None:
                self._samples.append((time.perf_counter(), w))

    def begin(self) -> None:
        if self.method == "counter":
            self._start_mj = self.nv.nvmlDeviceGetTotalEnergyConsumption(self.handle)
            return
        self._samples = []
        w = self.power_w()
        self._samples.append((time.perf_counter(), w if w is not None else 0.0))
        self._stop.clear()
        self._thread = threading.Thread(target=self._sample_loop, name="greenlint-nvml-sampler", daemon=True)
        self._thread.start()

    def end(self) -> float:
        if self.method == "counter":
            if self._start_mj is None:
                raise RuntimeError("NvmlMeter.end() before begin()")
            now = self.nv.nvmlDeviceGetTotalEnergyConsumption(self.handle)
            start, self._start_mj = self._start_mj, None
            return (now - start) / 1000.0
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        w = self.power_w()
        samples = list(self._samples)
        samples.append((time.perf_counter(), w if w is not None else samples[-1][1]))
        return integrate_power(samples)

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "method": self.method, "gpu": self.name(), "driver": self.driver_version()}
        if self.method == "sampling":
            out["sample_interval_s"] = self.sample_interval_s
            out["counter_unavailable"] = self.counter_error
        return out

    def close(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
        if self._initialised:
            self._initialised = False
            try:
                self.nv.nvmlShutdown()
            except Exception:
                pass


def integrate_power(samples: list[tuple[float, float]]) -> float:
    """Joules from ``(seconds, watts)`` samples by the trapezoid rule."""
    total = 0.0
    for (t0, w0), (t1, w1) in zip(samples, samples[1:]):
        total += (t1 - t0) * (w0 + w1) / 2.0
    return total


# ----------------------------------------------------------------------------------- estimate


class EstimateMeter(Meter):
    """CPU seconds of this process (all its threads) x watts per busy core. An ESTIMATE."""

    kind = ESTIMATE

    def __init__(self, watts_per_busy_core: float = DEFAULT_WATTS_PER_BUSY_CORE):
        self.watts_per_busy_core = float(watts_per_busy_core)
        self.method = f"cpu_time x {self.watts_per_busy_core:g} W per busy core (model, not measured)"
        self._start: float | None = None

    def begin(self) -> None:
        self._start = time.process_time()

    def end(self) -> float:
        if self._start is None:
            raise RuntimeError("EstimateMeter.end() before begin()")
        cpu = time.process_time() - self._start
        self._start = None
        return cpu * self.watts_per_busy_core

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "method": self.method, "watts_per_busy_core": self.watts_per_busy_core}


# ------------------------------------------------------------------------------------ detect


@dataclass
class Detection:
    """The meter whose joules drive the verdict, the others read alongside, and why any kind
    is missing."""

    primary: Meter
    others: list[Meter] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)

    @property
    def meters(self) -> list[Meter]:
        return [self.primary, *self.others]

    def close(self) -> None:
        for m in self.meters:
            m.close()


def detect(
    size: str = "cpu",
    *,
    prefer: str = "auto",
    rapl_root: str | os.PathLike = DEFAULT_RAPL_ROOT,
    watts_per_busy_core: float = DEFAULT_WATTS_PER_BUSY_CORE,
    nvml_module: Any = None,
    gpu_index: int | None = None,
    gpu_uuid: str | None = None,
) -> Detection:
    """Best meters for a workload of ``size`` ("cpu" or "gpu").

    gpu: NVML primary when usable, RAPL and the estimate alongside. cpu: RAPL primary when
    readable, else the estimate. ``prefer`` forces a kind (``MeterUnavailable`` if it cannot be
    had). The estimate meter is always present, primary or not.
    """
    if prefer not in ("auto", *KINDS):
        raise ValueError(f"unknown meter {prefer!r}; choose auto, {', '.join(KINDS)}")
    unavailable: dict[str, str] = {}
    found: dict[str, Meter] = {}
    if size == "gpu" or prefer == NVML:
        try:
            found[NVML] = NvmlMeter(gpu_index, gpu_uuid, module=nvml_module)
        except MeterUnavailable as exc:
            unavailable[NVML] = str(exc)
    else:
        unavailable[NVML] = "not used for cpu workloads"
    try:
        found[RAPL] = RaplMeter(rapl_root)
    except MeterUnavailable as exc:
        unavailable[RAPL] = str(exc)
    found[ESTIMATE] = EstimateMeter(watts_per_busy_core)
    if prefer != "auto":
        if prefer not in found:
            for m in found.values():
                m.close()
            raise MeterUnavailable(f"{prefer}: {unavailable.get(prefer, 'unavailable')}")
        primary_kind = prefer
    else:
        order = (NVML, RAPL, ESTIMATE) if size == "gpu" else (RAPL, ESTIMATE)
        primary_kind = next(k for k in order if k in found)
    primary = found.pop(primary_kind)
    return Detection(primary, list(found.values()), unavailable)


def meter_status(
    *, rapl_root: str | os.PathLike = DEFAULT_RAPL_ROOT, nvml_module: Any = None,
    watts_per_busy_core: float = DEFAULT_WATTS_PER_BUSY_CORE,
) -> list[dict[str, Any]]:
    """One dict per kind: ``{"kind", "available", "detail"}`` -- what ``info`` prints."""
    rows: list[dict[str, Any]] = []
    try:
        meter = NvmlMeter(module=nvml_module)
    except MeterUnavailable as exc:
        rows.append({"kind": NVML, "available": False, "detail": str(exc)})
    else:
        try:
            count = meter.nv.nvmlDeviceGetCount()
        except Exception:
            count = None
        detail = f"{meter.name()} (driver {meter.driver_version()}), energy {meter.method}"
        if meter.counter_error and meter.method == "sampling":
            detail += f" (counter unsupported: {meter.counter_error})"
        rows.append({"kind": NVML, "available": True, "detail": detail, "gpu": meter.name(),
                     "driver": meter.driver_version(), "method": meter.method, "gpu_count": count})
        meter.close()
    try:
        rapl = RaplMeter(rapl_root)
    except MeterUnavailable as exc:
        rows.append({"kind": RAPL, "available": False, "detail": str(exc)})
    else:
        rows.append({"kind": RAPL, "available": True, "detail": rapl.method, "zones": rapl.describe()["zones"]})
    est = EstimateMeter(watts_per_busy_core)
    rows.append({"kind": ESTIMATE, "available": True,
                 "detail": f"always: {est.method}; figures are labelled 'estimate'"})
    return rows
