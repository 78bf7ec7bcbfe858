"""Test workload: the same sum as sum_fast.py, computed five times over (5x the work)."""

N = 20_000
REPEATS = 5


def run(size: str = "cpu") -> int:
    result = 0
    for _ in range(REPEATS):
        total = 0
        for i in range(N):
            total += i * i
        result = total
    return result
