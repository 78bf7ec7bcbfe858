"""Test workload: as fast as sum_fast.py but off by one (outputs must be flagged as differing)."""

N = 20_000


def run(size: str = "cpu") -> int:
    total = 1
    for i in range(N):
        total += i * i
    return total
