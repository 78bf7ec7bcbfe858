"""Test workload: a float64 numpy reduction (reference for np_f32.py)."""

import numpy as np

TOLERANCE = {"rtol": 1e-4, "atol": 1e-6}


def run(size: str = "cpu"):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 64))
    return {"row_sums": (x @ x.T).sum(axis=1), "n": 64}
