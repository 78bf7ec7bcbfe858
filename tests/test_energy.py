"""greenlint.energy: meters, statistics, the subprocess runner, the report and the CLI.

Workloads live in tests/energy_workloads/ and are tiny (pure Python, numpy, one small torch
MLP); windows are 0.05 s and trials few, so this file runs in seconds. Energy on a machine
without RAPL/NVML is the labelled "estimate" (CPU time x W), which is what the measurement
tests see here; the meters themselves are tested against a fake sysfs tree and a fake pynvml.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from greenlint.energy import co2, meters, outputs, report, runner, stats
from greenlint.energy import env as energy_env
from greenlint.energy.__main__ import main as energy_main

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
WL = Path(__file__).resolve().parent / "energy_workloads"
NO_RAPL = "/nonexistent/powercap"  # so tests behave the same on a machine that has RAPL


# ----------------------------------------------------------------------------------- stats
# Reference values: scipy 1.17.1, computed once in a throwaway venv (scipy is NOT a dependency):
#   stats.wilcoxon(after, before, zero_method="wilcox", correction=False, method=...)
# method="exact" for tie-free data, method=stats.PermutationMethod(n_resamples=np.inf) (exact
# enumeration of all sign flips, which handles ties) for small data with ties, and
# method="approx" (normal, tie-corrected variance) for n > 25.

NOTIES_B = [12.0, 15.0, 11.0, 14.0, 13.0, 16.0, 10.0, 17.0, 18.0, 19.0]
NOTIES_A = [b + d for b, d in zip(NOTIES_B, [-0.5, -1.5, 0.25, -2.5, -3.0, 0.75, -4.0, -1.0, -2.0, -3.5])]
TIES_B = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
TIES_A = [1, 3, 1, 5, 7, 6, 5, 9, 12, 9]  # two zero differences, tied |d|
N30_B = [10.0, 10.3, 9.7, 9.1, 9.5, 9.0, 10.1, 11.3, 9.5, 9.4, 10.5, 10.4, 10.1, 9.1, 10.0, 10.7, 8.7, 9.5, 8.1,
         8.7, 8.2, 9.8, 8.7, 10.3, 10.2, 9.8, 7.5, 9.5, 10.0, 10.1]
N30_A = [8.9, 9.8, 8.9, 8.4, 9.7, 8.3, 9.8, 11.4, 8.9, 9.0, 10.3, 10.1, 9.2, 8.8, 10.4, 9.6, 8.8, 9.3, 7.5, 9.4,
         8.3, 8.9, 8.4, 10.3, 9.8, 9.8, 7.2, 9.5, 10.4, 9.5]
N40_B = [10.203139, 9.536692, 10.127268, 8.812805, 9.420698, 9.803804, 10.898764, 11.145222, 8.676472, 9.205358,
         10.646903, 8.00758, 9.53683, 9.902713, 11.257015, 10.689404, 9.672787, 9.631424, 9.749805, 11.523529,
         9.571975, 9.69632, 10.352589, 9.87923, 9.802716, 8.885933, 9.988479, 9.556419, 11.166128, 10.653089,
         9.975856, 10.668381, 9.66013, 11.052126, 9.9946, 10.583382, 8.709107, 10.34668, 8.311796, 7.964671]
N40_A = [9.803846, 8.993122, 9.873293, 9.141899, 8.903015, 9.326179, 10.63896, 10.975708, 8.370261, 8.872327,
         10.551868, 7.892249, 8.954986, 9.582108, 10.931221, 10.030567, 9.458004, 9.094581, 9.741634, 11.244457,
         9.310461, 9.233506, 10.005174, 8.990767, 9.175908, 8.71608, 9.05099, 9.512443, 10.24623, 10.575344,
         9.423544, 10.597647, 9.408277, 10.211004, 10.069305, 10.723625, 8.43064, 9.951256, 8.022579, 7.492728]


def test_median():
    assert stats.median([3, 1, 2]) == 2
    assert stats.median([4, 1, 3, 2]) == 2.5
    with pytest.raises(ValueError):
        stats.median([])


@pytest.mark.parametrize(
    "before, after, statistic, p_value, method",
    [
        (NOTIES_B, NOTIES_A, 4.0, 0.013671875, "exact"),  # scipy exact == permutation
        ([5.0, 6.0, 7.0, 8.0, 9.0, 10.0], [4.5, 5.4, 6.3, 7.2, 8.1, 9.0], 0.0, 0.03125, "exact"),
        (TIES_B, TIES_A, 14.5, 0.703125, "exact"),  # scipy PermutationMethod (exact, ties)
        (N30_B, N30_A, 61.0, 0.0020880015070416343, "normal"),  # scipy approx, tie-corrected
        (N40_B, N40_A, 34.0, 4.328153075749577e-07, "normal"),  # scipy approx
    ],
)
def test_wilcoxon_matches_scipy(before, after, statistic, p_value, method):
    res = stats.wilcoxon_signed_rank(before, after)
    assert res.statistic == statistic
    assert res.p_value == pytest.approx(p_value, rel=1e-9)
    assert res.method == method


def test_wilcoxon_edge_cases():
    same = stats.wilcoxon_signed_rank([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    assert (same.n, same.p_value) == (0, 1.0)
    # five pairs all in one direction: the smallest two-sided exact p is 2/32
    five = stats.wilcoxon_signed_rank([2, 3, 4, 5, 6], [1, 2, 3, 4, 5.5])
    assert five.p_value == pytest.approx(0.0625)
    with pytest.raises(ValueError):
        stats.wilcoxon_signed_rank([1, 2], [1])


def test_rank_biserial():
    # by hand: |d| ranks 1 (+0.25) and 3 (+0.75) are positive, the other eight negative:
    # W+ = 4, W- = 51, r = (4 - 51) / 55
    assert stats.rank_biserial(NOTIES_B, NOTIES_A) == pytest.approx(-47 / 55)
    assert stats.rank_biserial([1, 2, 3], [0.5, 1, 2]) == -1.0
    assert stats.rank_biserial([1, 2, 3], [2, 3, 4]) == 1.0
    assert stats.rank_biserial([1, 2], [1, 2]) == 0.0


def test_bootstrap_ratio_ci_is_paired_and_seeded():
    before = [10.0, 12.0, 9.0, 11.0, 10.5, 13.0, 9.5]
    half = [b / 2 for b in before]
    assert stats.bootstrap_ratio_ci(before, half) == (0.5, 0.5, 0.5)
    noisy = [5.1, 6.3, 4.2, 5.9, 5.0, 6.1, 4.9]
    first = stats.bootstrap_ratio_ci(before, noisy, seed=3)
    assert first == stats.bootstrap_ratio_ci(before, noisy, seed=3)  # reproducible
    ratio, lo, hi = first
    assert lo <= ratio <= hi and 0.3 < lo and hi < 0.7


def test_verdict_rules():
    assert stats.verdict(0.7, 0.9, 0.01) == stats.SAVES
    assert stats.verdict(1.1, 1.3, 0.01) == stats.REGRESSION
    assert stats.verdict(0.7, 0.9, 0.2) == stats.NO_DIFFERENCE  # CI below 1, test not significant
    assert stats.verdict(0.9, 1.1, 0.01) == stats.NO_DIFFERENCE  # CI straddles 1
    assert stats.verdict(0.5, 0.99, 0.049) == stats.SAVES


def test_compare_summary():
    cmp = stats.compare(NOTIES_B, NOTIES_A)
    assert cmp.n == 10 and cmp.test == "wilcoxon-exact"
    assert cmp.ratio == pytest.approx(stats.median(NOTIES_A) / stats.median(NOTIES_B))
    assert cmp.saving_pct == pytest.approx((1 - cmp.ratio) * 100)
    assert cmp.saving_ci_pct == pytest.approx(((1 - cmp.ci_high) * 100, (1 - cmp.ci_low) * 100))
    assert cmp.verdict == stats.verdict(cmp.ci_low, cmp.ci_high, cmp.p_value)
    json.dumps(cmp.to_dict(), allow_nan=False)


# ----------------------------------------------------------------------------------- RAPL


def _zone(root: Path, key: str, name: str, energy: int, max_range: int) -> Path:
    zone = root / key
    zone.mkdir(parents=True)
    (zone / "name").write_text(name + "\n")
    (zone / "energy_uj").write_text(f"{energy}\n")
    (zone / "max_energy_range_uj").write_text(f"{max_range}\n")
    return zone


def test_rapl_delta_wraparound_arithmetic():
    assert meters.rapl_delta_uj(100, 350, 1000) == 250
    assert meters.rapl_delta_uj(900, 50, 1000) == 150  # wrapped once
    assert meters.rapl_delta_uj(5, 5, 1000) == 0
    with pytest.raises(ValueError):
        meters.rapl_delta_uj(900, 50, 0)


def test_rapl_meter_on_fake_sysfs_with_wraparound(tmp_path):
    pkg_max, dram_max = 262_143_328_850, 65_712_999_613
    pkg = _zone(tmp_path, "intel-rapl:0", "package-0", pkg_max - 850, pkg_max)
    dram = _zone(tmp_path, "intel-rapl:0:1", "dram", 1_000, dram_max)
    _zone(tmp_path, "intel-rapl:0:0", "core", 7, 10_000)  # inside the package: not added again
    _zone(tmp_path, "intel-rapl-mmio:0", "package-0", 7, 10_000)  # MMIO duplicate of the package
    (tmp_path / "intel-rapl").mkdir()  # the control-type directory, no counter

    meter = meters.RaplMeter(tmp_path)
    assert sorted(z.name for z in meter.zones) == ["dram", "package-0"]
    meter.begin()
    (pkg / "energy_uj").write_text("500\n")  # wrapped: 850 + 500 uJ
    (dram / "energy_uj").write_text("3000\n")  # 2000 uJ
    assert meter.end() == pytest.approx((850 + 500 + 2000) / 1e6)
    assert meter.last_breakdown["intel-rapl:0 (package-0)"] == pytest.approx(1350e-6)

    det = meters.detect("cpu", rapl_root=tmp_path)
    assert det.primary.kind == meters.RAPL
    assert [m.kind for m in det.others] == [meters.ESTIMATE]


def test_rapl_unavailable_reasons(tmp_path, monkeypatch):
    with pytest.raises(meters.MeterUnavailable, match="does not exist"):
        meters.RaplMeter(tmp_path / "missing")
    with pytest.raises(meters.MeterUnavailable, match="no intel-rapl"):
        meters.RaplMeter(tmp_path)
    _zone(tmp_path, "intel-rapl:0", "package-0", 1, 100)

    def denied(self):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(meters.RaplZone, "read_uj", denied)
    with pytest.raises(meters.MeterUnavailable, match="permission"):
        meters.RaplMeter(tmp_path)
    status = {row["kind"]: row for row in meters.meter_status(rapl_root=tmp_path)}
    assert status["rapl"]["available"] is False and "permission" in status["rapl"]["detail"]
    det = meters.detect("cpu", rapl_root=tmp_path)
    assert det.primary.kind == meters.ESTIMATE and "permission" in det.unavailable["rapl"]


# ----------------------------------------------------------------------------------- NVML


class FakeNvml:
    """Enough of pynvml for NvmlMeter; every counter read advances the counter by 2.5 J."""

    NVML_TEMPERATURE_GPU = 0

    class NVMLError(Exception):
        pass

    def __init__(self, counter: bool = True, watts: float = 100.0):
        self.counter = counter
        self.watts = watts
        self.energy_mj = 1_000_000
        self.shut = False
        self.calls: list[str] = []

    def __getattr__(self, name):  # anything that would change a setting must never be called
        if name.startswith("nvmlDeviceSet") or name.startswith("nvmlDeviceReset"):
            raise AssertionError(f"{name} must never be called")
        raise AttributeError(name)

    def nvmlInit(self):
        self.calls.append("init")

    def nvmlShutdown(self):
        self.shut = True

    def nvmlDeviceGetHandleByIndex(self, index):
        return ("gpu", index)

    def nvmlDeviceGetHandleByUUID(self, uuid):
        raise self.NVMLError("Not Found")

    def nvmlDeviceGetCount(self):
        return 1

    def nvmlDeviceGetTotalEnergyConsumption(self, handle):
        if not self.counter:
            raise self.NVMLError("Not Supported")
        self.energy_mj += 2500
        return self.energy_mj

    def nvmlDeviceGetPowerUsage(self, handle):
        return int(self.watts * 1000)

    def nvmlDeviceGetTemperature(self, handle, sensor):
        return 41

    def nvmlDeviceGetEnforcedPowerLimit(self, handle):
        return 700_000

    def nvmlDeviceGetName(self, handle):
        return b"NVIDIA H100 80GB HBM3"

    def nvmlSystemGetDriverVersion(self):
        return "550.54.15"


def test_nvml_counter_meter_with_fake_pynvml():
    nv = FakeNvml(counter=True)
    meter = meters.NvmlMeter(module=nv)
    assert meter.method == "counter"
    meter.begin()
    assert meter.end() == pytest.approx(2.5)
    assert meter.gpu_state() == {"temperature_c": 41, "power_limit_w": 700.0, "power_w": 100.0}
    assert meter.describe()["gpu"] == "NVIDIA H100 80GB HBM3"
    meter.close()
    assert nv.shut


def test_nvml_without_device_is_unavailable_not_an_error():
    nv = FakeNvml()
    nv.nvmlDeviceGetHandleByIndex = lambda index: (_ for _ in ()).throw(FakeNvml.NVMLError("Invalid Argument"))
    with pytest.raises(meters.MeterUnavailable, match="no NVML device"):
        meters.NvmlMeter(module=nv)
    assert nv.shut  # NVML shut down again


def test_nvml_falls_back_to_power_sampling_without_counter():
    meter = meters.NvmlMeter(module=FakeNvml(counter=False, watts=100.0), sample_interval_s=0.005)
    assert meter.method == "sampling" and "Not Supported" in meter.counter_error
    t0 = time.perf_counter()
    meter.begin()
    time.sleep(0.1)
    joules = meter.end()
    outer = time.perf_counter() - t0
    assert 100 * 0.1 <= joules <= 100 * outer + 1e-9  # constant 100 W over the window
    meter.close()
    assert meters.integrate_power([(0.0, 10.0), (1.0, 30.0), (3.0, 30.0)]) == pytest.approx(20 + 60)


def test_detect_gpu_prefers_nvml_and_survives_its_absence(monkeypatch):
    det = meters.detect("gpu", rapl_root=NO_RAPL, nvml_module=FakeNvml())
    assert det.primary.kind == meters.NVML
    det.close()
    monkeypatch.setitem(sys.modules, "pynvml", None)  # `import pynvml` now raises ImportError
    det = meters.detect("gpu", rapl_root=NO_RAPL)
    assert det.primary.kind == meters.ESTIMATE
    assert "pynvml" in det.unavailable["nvml"]
    status = {row["kind"]: row for row in meters.meter_status(rapl_root=NO_RAPL)}
    assert status["nvml"]["available"] is False and "nvidia-ml-py" in status["nvml"]["detail"]
    with pytest.raises(meters.MeterUnavailable, match="nvml"):
        meters.detect("gpu", prefer="nvml", rapl_root=NO_RAPL)


def test_estimate_meter_is_labelled_and_proportional_to_cpu_time(monkeypatch):
    clock = iter([10.0, 10.25])
    monkeypatch.setattr(meters.time, "process_time", lambda: next(clock))
    meter = meters.EstimateMeter(watts_per_busy_core=12.0)
    meter.begin()
    assert meter.end() == pytest.approx(3.0)
    assert meter.kind == "estimate" and "not measured" in meter.method


# -------------------------------------------------------------------------------- outputs


def test_compare_values_nested_exact_and_tolerance():
    a = {"x": [1.0, 2.0, (3, "s")], "n": None}
    assert outputs.compare_values(a, {"x": [1.0, 2.0, (3, "s")], "n": None}, None, None)[0]
    ok, diff, msg = outputs.compare_values(a, {"x": [1.0, 2.0 + 1e-9, (3, "s")], "n": None}, None, None)
    assert not ok and diff == pytest.approx(1e-9) and "['x'][1]" in msg
    assert outputs.compare_values(a, {"x": [1.0, 2.0 + 1e-9, (3, "s")], "n": None}, 1e-6, 0.0)[0]
    assert not outputs.compare_values([1, 2], [1, 2, 3], 1e-3, 1e-3)[0]
    assert not outputs.compare_values({"a": 1}, {"b": 1}, None, None)[0]
    assert outputs.digest(a) == outputs.digest({"n": None, "x": [1.0, 2.0, (3, "s")]})
    assert outputs.digest([1, 2]) != outputs.digest((1, 2))


def test_compare_numpy_and_torch_values(tmp_path):
    np = pytest.importorskip("numpy")
    x = np.linspace(0, 1, 50)
    assert outputs.compare_values(x, x.astype(np.float32).astype(np.float64), 1e-6, 1e-7)[0]
    assert not outputs.compare_values(x, x.astype(np.float32), None, None)[0]  # dtype differs
    torch = pytest.importorskip("torch")
    t = torch.linspace(0, 1, 50, requires_grad=True) * 2
    saved = outputs.save({"t": t, "ids": torch.arange(4)}, tmp_path / "o.pkl")
    back = outputs.load(saved)
    assert not back["t"].requires_grad
    assert outputs.compare_values({"t": t.detach(), "ids": torch.arange(4)}, back, None, None)[0]
    assert outputs.digest(t) == outputs.digest(back["t"])
    assert not outputs.compare_values(t.detach(), t.detach() + 1e-3, 1e-5, 1e-6)[0]
    assert outputs.compare_values(t.detach(), t.detach().half(), 1e-2, 1e-3)[0]
    assert outputs.summarize(back) == "{'t': tensor(float32, [50]), 'ids': tensor(int64, [4])}"


# ---------------------------------------------------------------------------------- runner


def _assert_complete_json(d: dict) -> None:
    text = json.dumps(d, allow_nan=False)  # strict JSON
    assert json.loads(text) == d
    for key in ("rule", "verdict", "energy", "energy_kind", "time", "cpu_time", "memory", "agreement",
                "trials", "environment", "settings", "stop_reason", "warnings"):
        assert key in d, key
    for key in ("before_median", "after_median", "ratio", "ci_low", "ci_high", "saving_pct", "saving_ci_pct",
                "p_value", "effect_size", "verdict", "kind"):
        assert key in d["energy"], key
    env = d["environment"]
    for key in ("platform", "cpu_model", "python", "torch", "nvml_available", "nvml_detail", "rapl_available",
                "rapl_detail", "date", "meters"):
        assert key in env, key
    assert d["memory"]["peak_rss_before_bytes"] > 0
    for trial in d["trials"]:
        for which in ("before", "after"):
            t = trial[which]
            assert t["runs"] >= 1 and t["seconds_per_run"] > 0 and t["cpu_seconds_per_run"] >= 0
            assert t["energy"]["kind"] in meters.KINDS and t["energy"]["joules_per_run"] >= 0


def test_measure_pair_finds_the_5x_faster_variant():
    res = runner.measure_pair(WL / "sum_slow.py", WL / "sum_fast.py", min_window_s=0.05, min_trials=6,
                              max_trials=8, rapl_root=NO_RAPL, rule="FAST")
    assert res.energy.ratio < 0.5 and res.energy.ci_high < 1
    assert res.energy.p_value < 0.05 and res.energy.effect_size < 0
    assert res.verdict == stats.SAVES
    assert res.time.ratio < 1
    assert res.agreement.agree is True and res.agreement.mode == "exact"
    assert res.agreement.before_deterministic and res.agreement.after_deterministic
    assert [t["order"] for t in res.trials[:2]] == [["before", "after"], ["after", "before"]]
    assert res.energy_kind == "estimate" and any("ESTIMATE" in w for w in res.warnings)
    d = res.to_dict()
    _assert_complete_json(d)
    assert d["verdict"] == "saves energy" and d["energy_is_estimate"] is True
    table = report.format_table([res])
    assert "FAST" in table and "saves energy" in table and "[estimate]" in table


def test_measure_pair_flags_outputs_that_differ_and_honours_tolerance():
    res = runner.measure_pair(WL / "sum_fast.py", WL / "sum_wrong.py", min_window_s=0.02, min_trials=2,
                              max_trials=2, rapl_root=NO_RAPL)
    assert res.agreement.agree is False and "2666466670000 vs 2666466670001" in res.agreement.message
    assert res.verdict == stats.NO_DIFFERENCE  # two pairs can never be significant
    assert any("outputs differ" in w for w in res.warnings)
    assert "NO" in report.format_table([res])
    pytest.importorskip("numpy")
    close = runner.measure_pair(WL / "np_f64.py", WL / "np_f32.py", min_window_s=0.02, min_trials=1,
                                max_trials=1, rapl_root=NO_RAPL)
    assert close.agreement.agree is True and close.agreement.mode == "allclose"  # TOLERANCE in the files
    assert 0 < close.agreement.max_abs_diff < 1e-3
    exact = runner.measure_pair(WL / "np_f64.py", WL / "np_f32.py", min_window_s=0.02, min_trials=1,
                                max_trials=1, rapl_root=NO_RAPL, tolerance={"rtol": 0, "atol": 0})
    assert exact.agreement.agree is False


FAKE_PYNVML = textwrap.dedent('''
    """A stand-in for nvidia-ml-py: a board drawing 50 W idle plus 200 W per busy CPU second of
    the reading process (so idle and busy windows differ, deterministically enough)."""
    import time

    NVML_TEMPERATURE_GPU = 0

    class NVMLError(Exception):
        pass

    def nvmlInit(): pass
    def nvmlShutdown(): pass
    def nvmlDeviceGetCount(): return 1
    def nvmlDeviceGetHandleByIndex(i): return i
    def nvmlDeviceGetHandleByUUID(u): raise NVMLError("Not Found")
    def nvmlDeviceGetTotalEnergyConsumption(h): return int(time.time() * 50_000 + time.process_time() * 200_000)
    def nvmlDeviceGetPowerUsage(h): return 50_000
    def nvmlDeviceGetTemperature(h, sensor): return 40
    def nvmlDeviceGetEnforcedPowerLimit(h): return 700_000
    def nvmlDeviceGetName(h): return "Fake GPU"
    def nvmlSystemGetDriverVersion(): return "1.2.3"
''')


def test_nvml_path_end_to_end_with_fake_pynvml(tmp_path, monkeypatch):
    """The GPU-meter path of the children (idle first, counter around each window, idle-subtracted
    energy, temperature and power limit per trial) with a fake pynvml on their PYTHONPATH."""
    (tmp_path / "pynvml.py").write_text(FAKE_PYNVML)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    env_info = energy_env.environment_info(
        rapl_root=NO_RAPL, nvml_module=FakeNvml())
    res = runner.measure_pair(WL / "sum_slow.py", WL / "sum_fast.py", meter="nvml", min_window_s=0.05,
                              min_trials=2, max_trials=2, rapl_root=NO_RAPL, environment=env_info, rule="NV")
    assert res.energy_kind == "nvml" and not res.is_estimate
    assert 49 < res.idle["idle_watts"]["nvml"] < 60
    assert res.energy_net is not None and res.energy.ratio < 1 and res.energy_net.ratio < 1
    trial = res.trials[0]["before"]
    assert trial["energy"]["net_joules_per_run"] < trial["energy"]["joules_per_run"]
    assert trial["gpu_before"]["temperature_c"] == 40 and trial["energy_all"]["estimate"]["kind"] == "estimate"
    assert res.gpu_state() == {"temperature_c_min": 40, "temperature_c_max": 40,
                               "power_limit_w_min": 700.0, "power_limit_w_max": 700.0}
    assert not any("ESTIMATE" in w for w in res.warnings)
    table = report.format_table([res])
    assert "[nvml]" in table and "idle power" in table and "idle-subtracted" in table and "700" in table
    _assert_complete_json(res.to_dict())


def test_failing_workload_is_reported():
    with pytest.raises(runner.WorkloadError, match="broken on purpose"):
        runner.measure_pair(WL / "broken.py", WL / "sum_fast.py", min_window_s=0.02, max_trials=1,
                            rapl_root=NO_RAPL)


def test_torch_child_pins_threads_and_saves_tensor_outputs(tmp_path):
    pytest.importorskip("torch")
    out = tmp_path / "out.pkl"
    res = runner.run_child({"mode": "trial", "workload": str(WL / "torch_nograd.py"), "size": "cpu",
                            "min_window_s": 0.02, "output_path": str(out), "rapl_root": NO_RAPL}, tmp_path)
    assert res["threads"]["torch_num_threads"] == 1
    assert res["threads"]["torch_num_interop_threads"] == 1
    assert res["threads"]["env"]["OMP_NUM_THREADS"] == "1"
    assert res["torch"]["version"] and res["cuda_max_allocated_bytes"] is None
    assert res["output_summary"] == "tensor(float32, [16, 4])"
    assert res["energy"]["kind"] == "estimate" and res["energy"]["net_joules_per_run"] is None
    loaded = outputs.load(out)
    assert outputs.digest(loaded) == res["output_digest"]


def test_manifest_errors(tmp_path, capsys):
    with pytest.raises(FileNotFoundError):
        runner.load_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"pairs": [{"rule": "GL1", "before": "nope.py",
                                                                   "after": "nope.py"}]}))
    with pytest.raises(FileNotFoundError, match="nope.py"):
        runner.load_manifest(tmp_path)
    assert energy_main(["run", str(tmp_path)]) == 2
    assert "nope.py" in capsys.readouterr().err


def test_info_command_says_why_meters_are_missing(capsys):
    assert energy_main(["info", "--no-torch", "--rapl-root", NO_RAPL]) == 0
    text = capsys.readouterr().out
    assert "estimate" in text and "/nonexistent/powercap does not exist" in text
    assert energy_main(["info", "--json", "--no-torch", "--rapl-root", NO_RAPL]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["rapl_available"] is False and {row["kind"] for row in info["meters"]} == set(meters.KINDS)


# ------------------------------------------------------------------- stdlib-only, bare machine

BLOCKER = textwrap.dedent('''
    """Test sitecustomize: a bare machine. Blocks every import outside the standard library and
    greenlint.energy (greenlint itself allowed), and logs what each process imported."""
    import atexit, os, sys

    BLOCKED = {"libcst", "click", "pathspec", "torch", "numpy", "pynvml", "codecarbon", "pygls"}

    class _Blocker:
        def find_spec(self, name, path=None, target=None):
            top = name.split(".")[0]
            energy = name == "greenlint.energy" or name.startswith("greenlint.energy.")
            if top in BLOCKED or (name.startswith("greenlint.") and not energy):
                raise ImportError(f"blocked on this bare machine: {name}")
            return None

    sys.meta_path.insert(0, _Blocker())

    @atexit.register
    def _log():
        with open(os.path.join(os.environ["GL_IMPORT_LOG"], f"{os.getpid()}.txt"), "w") as handle:
            handle.write("\\n".join(sorted(sys.modules)))
''')


def test_stdlib_only_imports():
    """Every module of the package imports with the standard library alone (python -S: no
    site-packages at all) and pulls in nothing else."""
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(SRC)!r})
        import greenlint.energy as e
        for m in ("stats", "meters", "outputs", "env", "co2", "runner", "report", "_child", "__main__"):
            __import__("greenlint.energy." + m)
        e.measure_pair, e.format_table, e.detect, e.co2_grams
        extra = sorted(m for m in sys.modules
                       if m.split(".")[0] not in sys.stdlib_module_names | {{"greenlint", "__main__"}}
                       or (m.startswith("greenlint.") and not m.startswith("greenlint.energy")))
        print(extra)
    """)
    proc = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_cli_runs_a_manifest_on_a_bare_machine(tmp_path):
    """``python -m greenlint.energy run DIR`` with libcst, click, the rest of greenlint, torch,
    numpy and pynvml all unimportable -- in the parent and in every child."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BLOCKER)
    log = tmp_path / "imports"
    log.mkdir()
    fixtures = tmp_path / "fixtures"
    (fixtures / "GL900").mkdir(parents=True)
    for name in ("sum_slow.py", "sum_fast.py", "sum_wrong.py"):
        (fixtures / "GL900" / name).write_text((WL / name).read_text())
    (fixtures / "manifest.json").write_text(json.dumps({"pairs": [
        {"rule": "GL900", "before": "GL900/sum_slow.py", "after": "GL900/sum_fast.py", "notes": "5x less work"},
        {"rule": "GL901", "before": "GL900/sum_fast.py", "after": "GL900/sum_wrong.py", "tolerance": {"rtol": 0}},
    ]}))
    out_json = tmp_path / "result.json"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(PYTHONPATH=f"{site}{os.pathsep}{SRC}", GL_IMPORT_LOG=str(log))
    proc = subprocess.run(
        [sys.executable, "-m", "greenlint.energy", "run", str(fixtures), "--json", str(out_json),
         "--min-window", "0.03", "--min-trials", "2", "--max-trials", "2", "--rapl-root", NO_RAPL],
        capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "GL900" in proc.stdout and "GL901" in proc.stdout and "[estimate]" in proc.stdout
    assert "pair 2/2" in proc.stderr  # progress
    data = json.loads(out_json.read_text())
    assert data["schema"] == report.SCHEMA
    gl900, gl901 = data["pairs"]
    assert gl900["rule"] == "GL900" and gl900["notes"] == "5x less work" and gl900["n_pairs"] == 2
    assert gl900["energy"]["ratio"] < 1 and gl900["agreement"]["agree"] is True
    assert gl901["agreement"]["agree"] is False
    assert gl901["environment"]["torch"] is None  # no child imported torch
    logs = list(log.glob("*.txt"))
    assert len(logs) == 1 + 2 * 2 * 2  # the parent and eight trial children
    forbidden = {"libcst", "click", "pathspec", "torch", "numpy", "pynvml", "codecarbon"}
    for f in logs:
        modules = set(f.read_text().split())
        assert not {m.split(".")[0] for m in modules} & forbidden, f
        assert not [m for m in modules if m.startswith("greenlint.") and not m.startswith("greenlint.energy")]


# -------------------------------------------------------------------------------------- CO2


def test_co2_is_optional_and_offline(tmp_path, monkeypatch):
    co2._energy_mix.cache_clear()
    assert co2.co2_grams(3.6e6, intensity_g_per_kwh=500.0) == pytest.approx(500.0)
    monkeypatch.setitem(sys.modules, "codecarbon", None)
    monkeypatch.setattr(co2.importlib.util, "find_spec", lambda name: None)
    assert co2.co2_grams(1000.0, "FRA") is None  # codecarbon absent: no number, no error
    monkeypatch.undo()
    co2._energy_mix.cache_clear()
    # a stand-in codecarbon whose __init__ would fail if imported: co2 only reads its data file
    pkg = tmp_path / "codecarbon"
    (pkg / "data" / "private_infra").mkdir(parents=True)
    (pkg / "__init__.py").write_text("raise RuntimeError('codecarbon must not be imported')\n")
    (pkg / "data" / "private_infra" / "global_energy_mix.json").write_text(json.dumps(
        {"FRA": {"carbon_intensity": 56.0, "country_name": "France", "iso_code": "FRA"}}))
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        assert co2.carbon_intensity("fra") == 56.0 and co2.carbon_intensity("France") == 56.0
        assert co2.co2_grams(3.6e6, "FRA") == pytest.approx(56.0)
        assert co2.carbon_intensity("XXX") is None
        assert "codecarbon" not in sys.modules
    finally:
        co2._energy_mix.cache_clear()
