"""Paired statistics for before/after energy trials (standard library only).

Every function takes two equal-length sequences, ``before[i]`` and ``after[i]`` being one
interleaved trial pair. Conventions:

* ``ratio`` is ``median(after) / median(before)``: below 1 means the fix saves.
* differences are ``after - before``; the Wilcoxon test drops zero differences (scipy's
  ``zero_method="wilcox"``) and is two-sided without continuity correction (scipy's defaults).
* the rank-biserial effect size is ``(W+ - W-) / (W+ + W-)`` over those differences, so -1
  means every "after" trial used less than its paired "before" trial, +1 every one used more.
"""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass
from typing import Sequence

SAVES = "saves energy"
NO_DIFFERENCE = "no measurable difference"
REGRESSION = "regression"

#: Largest number of non-zero differences for which the exact signed-rank distribution is used.
EXACT_MAX_N = 25


def median(values: Sequence[float]) -> float:
    data = sorted(values)
    n = len(data)
    if n == 0:
        raise ValueError("median of an empty sequence")
    mid = n // 2
    if n % 2:
        return float(data[mid])
    return (data[mid - 1] + data[mid]) / 2.0


def _check_pairs(before: Sequence[float], after: Sequence[float]) -> None:
    if len(before) != len(after):
        raise ValueError(f"paired samples differ in length: {len(before)} vs {len(after)}")
    if not before:
        raise ValueError("no trial pairs")


def _ratio(before: Sequence[float], after: Sequence[float]) -> float:
    b = median(before)
    a = median(after)
    if b == 0:
        return math.inf if a > 0 else (1.0 if a == 0 else -math.inf)
    return a / b


def bootstrap_ratio_ci(
    before: Sequence[float],
    after: Sequence[float],
    *,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Paired percentile-bootstrap CI of ``median(after) / median(before)``.

    Trial pairs are resampled together (indices with replacement), with a fixed seed so the
    same data always gives the same interval. Returns ``(ratio, low, high)``.
    """
    _check_pairs(before, after)
    point = _ratio(before, after)
    n = len(before)
    rng = random.Random(seed)
    ratios = []
    for _ in range(n_boot):
        idx = [rng.randrange(n) for _ in range(n)]
        ratios.append(_ratio([before[i] for i in idx], [after[i] for i in idx]))
    ratios.sort()
    alpha = (1.0 - level) / 2.0
    lo_i = max(0, min(n_boot - 1, int(math.floor(alpha * n_boot))))
    hi_i = max(0, min(n_boot - 1, int(math.ceil((1.0 - alpha) * n_boot)) - 1))
    return point, ratios[lo_i], ratios[hi_i]


@dataclass(frozen=True)
class WilcoxonResult:
    statistic: float  # min(W+, W-), as scipy reports for the two-sided test
    p_value: float
    n: int  # non-zero differences used
    w_plus: float
    w_minus: float
    method: str  # "exact" or "normal"
    z: float | None = None


def _doubled_ranks(values: Sequence[float]) -> list[int]:
    """Twice the average (mid-)ranks of ``values``, 1-based: always integers."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        doubled = (i + 1) + (j + 1)  # 2 * mean of ranks i+1 .. j+1
        for k in range(i, j + 1):
            ranks[order[k]] = doubled
        i = j + 1
    return ranks


def _tie_sizes(values: Sequence[float]) -> list[int]:
    counts: dict[float, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    return [c for c in counts.values() if c > 1]


def wilcoxon_signed_rank(before: Sequence[float], after: Sequence[float]) -> WilcoxonResult:
    """Two-sided Wilcoxon signed-rank test on ``after - before``.

    Exact: for up to :data:`EXACT_MAX_N` non-zero differences the p-value comes from the exact
    distribution of W+ over all 2**n sign assignments, computed by dynamic programming on the
    (doubled, hence integral) mid-ranks, so ties are handled exactly too. Above that, the normal
    approximation with the tie-corrected variance ``n(n+1)(2n+1)/24 - sum(t^3 - t)/48``.
    """
    _check_pairs(before, after)
    diffs = [a - b for a, b in zip(after, before) if a - b != 0]
    n = len(diffs)
    if n == 0:
        return WilcoxonResult(0.0, 1.0, 0, 0.0, 0.0, "exact")
    abs_d = [abs(d) for d in diffs]
    ranks2 = _doubled_ranks(abs_d)
    w_plus2 = sum(r for r, d in zip(ranks2, diffs) if d > 0)
    total2 = sum(ranks2)
    w_minus2 = total2 - w_plus2
    w_plus, w_minus = w_plus2 / 2.0, w_minus2 / 2.0
    stat2 = min(w_plus2, w_minus2)
    if n <= EXACT_MAX_N:
        counts = [0] * (total2 + 1)
        counts[0] = 1
        reach = 0
        for r in ranks2:
            for s in range(reach, -1, -1):
                if counts[s]:
                    counts[s + r] += counts[s]
            reach += r
        tail = sum(counts[: stat2 + 1])
        p = min(1.0, 2.0 * tail / float(2**n))
        return WilcoxonResult(stat2 / 2.0, p, n, w_plus, w_minus, "exact")
    mean = n * (n + 1) / 4.0
    var = n * (n + 1) * (2 * n + 1) / 24.0
    var -= sum(t**3 - t for t in _tie_sizes(abs_d)) / 48.0
    if var <= 0:
        return WilcoxonResult(stat2 / 2.0, 1.0, n, w_plus, w_minus, "normal", 0.0)
    z = (w_plus - mean) / math.sqrt(var)
    p = min(1.0, math.erfc(abs(z) / math.sqrt(2.0)))
    return WilcoxonResult(stat2 / 2.0, p, n, w_plus, w_minus, "normal", z)


def rank_biserial(before: Sequence[float], after: Sequence[float]) -> float:
    """Matched-pairs rank-biserial correlation of ``after - before`` (zeros dropped), in [-1, 1]."""
    res = wilcoxon_signed_rank(before, after)
    total = res.w_plus + res.w_minus
    if total == 0:
        return 0.0
    return (res.w_plus - res.w_minus) / total


def verdict(ci_low: float, ci_high: float, p_value: float, *, alpha: float = 0.05) -> str:
    """``"saves energy"`` when the whole ratio CI lies below 1 and p < alpha, ``"regression"``
    when it lies above 1 and p < alpha, else ``"no measurable difference"``."""
    if p_value < alpha and ci_high < 1.0:
        return SAVES
    if p_value < alpha and ci_low > 1.0:
        return REGRESSION
    return NO_DIFFERENCE


@dataclass(frozen=True)
class Comparison:
    """Everything the report needs about one paired metric (energy, time, ...)."""

    n: int
    before_median: float
    after_median: float
    ratio: float
    ci_low: float
    ci_high: float
    saving_pct: float  # (1 - ratio) * 100: positive = less after
    saving_ci_pct: tuple[float, float]  # (low, high) in percent
    p_value: float
    test: str  # "wilcoxon-exact" / "wilcoxon-normal"
    statistic: float
    effect_size: float  # rank-biserial, negative = after smaller
    verdict: str

    @property
    def ci_width(self) -> float:
        return self.ci_high - self.ci_low

    def to_dict(self) -> dict:
        out = asdict(self)
        out["saving_ci_pct"] = list(self.saving_ci_pct)
        out["ci_width"] = self.ci_width
        for key, value in list(out.items()):
            if isinstance(value, float) and not math.isfinite(value):
                out[key] = None  # JSON has no inf/nan
        return out


def compare(
    before: Sequence[float],
    after: Sequence[float],
    *,
    n_boot: int = 2000,
    seed: int = 0,
    level: float = 0.95,
    alpha: float = 0.05,
) -> Comparison:
    ratio, lo, hi = bootstrap_ratio_ci(before, after, n_boot=n_boot, seed=seed, level=level)
    w = wilcoxon_signed_rank(before, after)
    total = w.w_plus + w.w_minus
    effect = 0.0 if total == 0 else (w.w_plus - w.w_minus) / total
    return Comparison(
        n=len(before),
        before_median=median(before),
        after_median=median(after),
        ratio=ratio,
        ci_low=lo,
        ci_high=hi,
        saving_pct=(1.0 - ratio) * 100.0,
        saving_ci_pct=((1.0 - hi) * 100.0, (1.0 - lo) * 100.0),
        p_value=w.p_value,
        test=f"wilcoxon-{w.method}",
        statistic=w.statistic,
        effect_size=effect,
        verdict=verdict(lo, hi, w.p_value, alpha=alpha),
    )
