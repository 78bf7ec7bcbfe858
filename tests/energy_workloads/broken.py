"""Test workload whose run() raises: the runner must report it, not hang or fake a number."""


def run(size: str = "cpu"):
    raise ValueError("this workload is broken on purpose")
