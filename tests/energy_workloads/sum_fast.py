"""Test workload: a sum of squares computed once (the "after" of a 5x-saving pair)."""

N = 20_000


def run(size: str = "cpu") -> int:
    total = 0
    for i in range(N):
        total += i * i
    return total
