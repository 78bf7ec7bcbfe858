"""Test workload: the np_f64.py reduction in float32: close, not bit-identical."""

import numpy as np

TOLERANCE = {"rtol": 1e-4, "atol": 1e-6}


def run(size: str = "cpu"):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 64)).astype(np.float32)
    return {"row_sums": (x @ x.T).sum(axis=1).astype(np.float64), "n": 64}
