"""Shared pieces of the speed scripts (compare_peers.py, scaling.py, profile_cold.py): corpus
samples that are the same on every machine, running a command while measuring wall time, the
CPU time of its whole process tree and its memory, and the command line of greenlint itself.

Not a test module: nothing here runs under pytest.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = Path.home() / ".cache" / "greenlint" / "corpus"
DEFAULT_WORKDIR = Path(os.environ.get("TMPDIR", "/tmp")) / "greenlint-bench"
PAGE = os.sysconf("SC_PAGE_SIZE")


# --- corpus samples -------------------------------------------------------------------------


def count_lines(data: bytes) -> int:
    """The same count as scripts/build_corpus.py: newlines, plus a last line without one."""
    if not data:
        return 0
    return data.count(b"\n") + (0 if data.endswith(b"\n") else 1)


@dataclass(frozen=True)
class CorpusFile:
    rel: str  # path relative to the corpus root, posix
    lines: int


def corpus_files(corpus: Path) -> list[CorpusFile]:
    """Every .py file of the corpus, in a fixed pseudo-random order: sorted by the sha256 of
    its relative path. A prefix of this list mixes all packages, and is the same everywhere."""
    files = []
    for path in corpus.rglob("*.py"):
        rel = path.relative_to(corpus).as_posix()
        if any(part.startswith(".") for part in rel.split("/")):
            continue  # .archives and the like
        files.append(CorpusFile(rel, count_lines(path.read_bytes())))
    if not files:
        raise SystemExit(f"no .py files under {corpus}; run scripts/build_corpus.py first")
    return sorted(files, key=lambda f: hashlib.sha256(f.rel.encode()).hexdigest())


def prefix_by_lines(files: list[CorpusFile], lines: int) -> list[CorpusFile]:
    """The shortest prefix of `files` with at least `lines` lines (all of them if fewer)."""
    out, total = [], 0
    for f in files:
        if total >= lines:
            break
        out.append(f)
        total += f.lines
    return out


def materialise(corpus: Path, files: list[CorpusFile], dest: Path) -> Path:
    """Copy `files` (keeping their relative paths) into `dest`, once: a marker lists what is
    there, and a tree whose marker differs is rebuilt. Copies, not links: some tools skip links."""
    listing = "\n".join(f.rel for f in files)
    marker = dest / ".sample"
    if marker.is_file() and marker.read_text() == listing:
        return dest
    if dest.exists():
        shutil.rmtree(dest)
    for f in files:
        target = dest / f.rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(corpus / f.rel, target)
    marker.write_text(listing)
    return dest


def lines_of(files: list[CorpusFile]) -> int:
    return sum(f.lines for f in files)


# --- running and measuring ------------------------------------------------------------------


@dataclass
class Run:
    wall: float  # seconds
    cpu: float  # user + system seconds of the process and every descendant it waited for
    rc: int | None  # None: killed at the time limit
    max_rss_one: int  # bytes, the largest single process of the tree (getrusage)
    peak_rss_sum: int = 0  # bytes, the largest sum of RSS over the live tree (sampled; 0 if not)
    peak_pss_sum: int = 0  # bytes, the same with PSS (shared pages split between processes)
    peak_procs: int = 0
    stdout_lines: int = 0
    stderr_tail: str = ""

    @property
    def timed_out(self) -> bool:
        return self.rc is None


def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        kids.setdefault(ppid, []).append(int(entry.name))
    return kids


def _tree(pid: int) -> list[int]:
    kids = _children_map()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, ()))
    return out


def _memory_of(pids: list[int]) -> tuple[int, int]:
    rss = pss = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/statm", "rb") as fh:
                rss += int(fh.read().split()[1]) * PAGE
            with open(f"/proc/{p}/smaps_rollup", "rb") as fh:
                for line in fh:
                    if line.startswith(b"Pss:"):
                        pss += int(line.split()[1]) * 1024
                        break
        except (OSError, ValueError, IndexError):
            continue
    return rss, pss


def measure(
    argv: list[str],
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float | None = None,
    sample_memory: bool = False,
    stdout_path: Path | None = None,
) -> Run:
    """Run argv to completion (or kill its process group at `timeout`) and measure it.

    CPU time comes from wait4() on the child: it includes every descendant the child waited for
    (process-pool workers), so it is the work done whatever the parallelism. With
    `sample_memory`, the live process tree's RSS and PSS are summed every 50 ms.
    """
    out_path = stdout_path or Path(os.devnull)
    with open(out_path, "wb") as out, subprocess.Popen(
        argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.PIPE, start_new_session=True
    ) as proc:
        started = time.perf_counter()
        done: dict = {}
        err_chunks: list[bytes] = []

        def reap() -> None:
            _, status, usage = os.wait4(proc.pid, 0)
            done["wall"] = time.perf_counter() - started
            done["status"] = status
            done["usage"] = usage

        def drain() -> None:
            assert proc.stderr is not None
            for chunk in iter(lambda: proc.stderr.read(65536), b""):
                err_chunks.append(chunk)
                if len(err_chunks) > 64:
                    del err_chunks[:32]

        waiter = threading.Thread(target=reap, daemon=True)
        reader = threading.Thread(target=drain, daemon=True)
        waiter.start()
        reader.start()
        peak_rss = peak_pss = peak_procs = 0
        killed = False
        while waiter.is_alive():
            if timeout is not None and time.perf_counter() - started > timeout and not killed:
                killed = True
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            if sample_memory:
                pids = _tree(proc.pid)
                rss, pss = _memory_of(pids)
                peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
                peak_procs = max(peak_procs, len(pids))
            waiter.join(0.05 if sample_memory else 0.02)
        reader.join(5)
        proc.returncode = 0  # reaped above; keep Popen.__exit__ from waiting again
    usage = done["usage"]
    status = done["status"]
    rc = None if killed else (os.waitstatus_to_exitcode(status))
    stdout_lines = 0
    if stdout_path is not None:
        with open(stdout_path, "rb") as fh:
            stdout_lines = sum(1 for _ in fh)
    return Run(
        wall=done["wall"],
        cpu=usage.ru_utime + usage.ru_stime,
        rc=rc,
        max_rss_one=usage.ru_maxrss * 1024,
        peak_rss_sum=peak_rss,
        peak_pss_sum=peak_pss,
        peak_procs=peak_procs,
        stdout_lines=stdout_lines,
        stderr_tail=b"".join(err_chunks)[-1500:].decode("utf-8", "replace"),
    )


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


# --- greenlint ------------------------------------------------------------------------------


def greenlint_env() -> dict[str, str]:
    """This checkout's src/ first on the path, whatever greenlint the interpreter has installed."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")]))
    # An installed greenlint, like the peers pip installed, runs from byte-code compiled once;
    # without this a checkout would compile every module on every start (~0.2 s).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def greenlint_argv(python: str, *args: str) -> list[str]:
    # `python -m greenlint.cli`: the package has no __main__ module.
    return [python, "-m", "greenlint.cli", *args]


def greenlint_rule_count(python: str) -> int:
    code = "from greenlint.rules.base import all_rules; print(len(all_rules()))"
    out = subprocess.run([python, "-c", code], env=greenlint_env(), capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


def greenlint_version(python: str) -> str:
    out = subprocess.run(greenlint_argv(python, "--version"), env=greenlint_env(), capture_output=True, text=True, check=False)
    return out.stdout.strip()


def git_head() -> str:
    try:
        out = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--", "src"], capture_output=True, text=True, check=False)
        return out.stdout.strip() + ("+dirty src" if dirty.stdout.strip() else "")
    except OSError:
        return "?"


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{platform.node()}: {os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d %H:%M %Z')}, load average at start {load}"
    )


def fmt_int(n: float) -> str:
    return f"{n:,.0f}"


def print_flush(*args: object) -> None:
    print(*args, flush=True)
    sys.stdout.flush()
