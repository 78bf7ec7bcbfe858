#!/usr/bin/env python3
"""Build a pinned, reproducible corpus of real third-party PyTorch/ML code.

The corpus is used to review greenlint findings by hand and to benchmark
speed. It lives outside the repository (default ``~/.cache/greenlint/corpus``)
and is never committed: the packages have their own licenses (Apache-2.0,
MIT, BSD and, for ultralytics, AGPL-3.0).

Usage (with the project's venv so that ``sys.executable`` has pip)::

    .venv/bin/python scripts/build_corpus.py            # fill the default cache
    .venv/bin/python scripts/build_corpus.py --list     # show the pinned set
    .venv/bin/python scripts/build_corpus.py --subset 3 --dest /tmp/corpus

Layout::

    DEST/.archives/<file>            downloaded archives (sha256-verified)
    DEST/<name>-<version>/...        only the ``.py`` files of each archive
    DEST/<name>-<version>/.complete  marker with the sha256 and file/line counts

A second run with everything present reads only the markers: no network, no
archive is opened. A version bump gets a new ``<name>-<version>`` folder; old
folders are left alone (delete them by hand).

How archives are fetched without running any downloaded code
------------------------------------------------------------
``pip download`` is unusable for sdists here: for every sdist pip *prepares
metadata* before it saves the file (pip/_internal/distributions/sdist.py,
``prepare_distribution_metadata``), i.e. it installs the build backend and
calls its ``prepare_metadata_for_build_wheel`` hook, which runs the package's
setup.py / build backend. ``--no-deps`` and ``--no-build-isolation`` do not
skip that step (the latter only runs it in the current environment, and fails
when the backend is not installed, after which nothing is saved). PEP 658
metadata-only fetching is served for wheels only.
``pip download --no-deps --only-binary :all:`` never builds, but wheels drop
the tests/ and helper scripts that the sdists carry.

So this script runs a small helper in a subprocess of ``sys.executable`` that
uses pip's *own* machinery: the ``download`` command's PackageFinder (same
index-url / extra-index-url / find-links / certs / proxy config as
``pip download``) finds the link whose file name is pinned below, and pip's
PipSession streams the bytes to disk. Nothing is unpacked, imported or built
by pip. This script then checks the sha256 pinned below and reads the archive
with tarfile/zipfile, writing out only regular ``.py`` members (<= 2 MB, no
links, no absolute or ``..`` paths) as plain files. No downloaded code is ever
executed. The helper uses pip internals (``pip._internal``), checked with pip
26.3; if a future pip breaks it, the error says so and nothing is written.

All pinned entries are sdists (each one exists on PyPI and carries all the
package's ``.py`` files); an entry may also name a ``.whl`` file, which the
same helper fetches. None of these sdists ships an ``examples/`` tree; the
training code is in the packages themselves (timm, lightning loops,
trl/sentence-transformers/ultralytics trainers, accelerate's
``test_utils/scripts``, skorch's ``NeuralNet``) and in their tests.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import posixpath
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

MAX_FILE_BYTES = 2 * 1024 * 1024
MARKER = ".complete"
MARKER_FORMAT = 1

# (name, version, archive file name, sha256). Order matters for --subset:
# the most training-heavy packages come first. Roughly 620k lines of .py.
PINNED: list[tuple[str, str, str, str]] = [
    ("timm", "1.0.31", "timm-1.0.31.tar.gz",
     "baa0b333339c46d3d6d4965d99b69f5053afed71210e8f433d7ea5ee6a18f0ec"),
    ("accelerate", "1.15.0", "accelerate-1.15.0.tar.gz",
     "5654f8c5eaa0d4fa68b33e287a97765da6849bf6d51dcac874e73fbbddfb6134"),
    ("pytorch-lightning", "2.6.6", "pytorch_lightning-2.6.6.tar.gz",
     "52c52b20522dd3d3feb3bb3aae2dbe3f291e8e836d4111a74cfd72e9df018834"),
    ("trl", "1.16.0", "trl-1.16.0.tar.gz",
     "999bd4a85b08870b7bfa387e1efa5177d2a4b88fe82b2526a057ac5d3cc600cd"),
    ("sentence-transformers", "6.2.0", "sentence_transformers-6.2.0.tar.gz",
     "1e3cd8796ab7bcad4cfa2f51e2083d8b37b15d6b68e6fa6b91a147c67380574d"),
    ("peft", "0.21.2", "peft-0.21.2.tar.gz",
     "b803ccfb3f3f316004d850284306687833a2235ea278fb56abc856203456142e"),
    ("ultralytics", "8.4.190", "ultralytics-8.4.190.tar.gz",
     "c7a0ebb21d10f1de98682b6a4dc22bc0d1d0634b9398c086bd03b1e5bf40cbc3"),
    ("skorch", "1.4.0", "skorch-1.4.0.tar.gz",
     "f7a5d3c13a3aecf0a0fe689ff25188be1145a95268f8fe81f01aaa9fbd7cead1"),
    ("pytorch-metric-learning", "2.9.0", "pytorch-metric-learning-2.9.0.tar.gz",
     "27a626caf5e2876a0fd666605a78cb67ef7597e25d7a68c18053dd503830701f"),
]

# Runs in a subprocess of sys.executable: argv = dest_dir, then
# name, version, filename triples. Downloads each file into dest_dir using
# pip's finder and session only (no metadata preparation, no build).
_PIP_FETCH_HELPER = r"""
import json, os, shutil, sys
from pip._internal.commands import create_command

dest = sys.argv[1]
triples = [sys.argv[i:i + 3] for i in range(2, len(sys.argv), 3)]
cmd = create_command("download")
options, _ = cmd.parse_args(["--no-deps", "--ignore-requires-python", "-q"])
with cmd.main_context():
    session = cmd.get_default_session(options)
    finder = cmd._build_package_finder(options, session, ignore_requires_python=True)
    for name, version, filename in triples:
        links = [c.link for c in finder.find_all_candidates(name)
                 if str(c.version) == version and c.link.filename == filename]
        if not links:
            print(json.dumps({"file": filename, "error": "not found on the index"}))
            continue
        link = links[0]
        part = os.path.join(dest, filename + ".part")
        try:
            resp = session.get(link.url_without_fragment, stream=True)
            resp.raise_for_status()
            with open(part, "wb") as fh:
                for chunk in resp.iter_content(chunk_size=1 << 20):
                    fh.write(chunk)
            os.replace(part, os.path.join(dest, filename))
            print(json.dumps({"file": filename, "ok": True}))
        except Exception as exc:
            if os.path.exists(part):
                os.remove(part)
            print(json.dumps({"file": filename, "error": repr(exc)}))
"""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def count_lines(data: bytes) -> int:
    if not data:
        return 0
    return data.count(b"\n") + (0 if data.endswith(b"\n") else 1)


def fetch(entries: list[tuple[str, str, str, str]], archives: Path) -> None:
    """Download the archives of `entries` into `archives` through pip."""
    archives.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-c", _PIP_FETCH_HELPER, str(archives)]
    for name, version, filename, _ in entries:
        argv += [name, version, filename]
    proc = subprocess.run(argv, capture_output=True, text=True)
    results = {}
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            rec = json.loads(line)
            results[rec["file"]] = rec
    failed = [f"{e[2]}: {results.get(e[2], {}).get('error', 'no result')}"
              for e in entries if not results.get(e[2], {}).get("ok")]
    if proc.returncode != 0 or failed:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(
            "download through pip failed (the helper uses pip._internal; "
            f"{sys.executable} must have a compatible pip):\n  " + "\n  ".join(failed))


def safe_relpath(member: str, strip_top: bool) -> str | None:
    """Return a safe relative posix path for an archive member, or None."""
    path = member.replace("\\", "/")
    if path.startswith("/") or ":" in path.split("/", 1)[0]:
        return None
    parts = [p for p in posixpath.normpath(path).split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        return None
    if strip_top:
        parts = parts[1:]
    return "/".join(parts) if parts else None


def iter_py_members(archive: Path):
    """Yield (relative path, bytes) for the .py files to keep; also skipped count."""
    name = archive.name
    if name.endswith((".tar.gz", ".tgz", ".tar.bz2", ".tar")):
        with tarfile.open(archive) as tar:
            for m in tar:
                if not m.isreg() or not m.name.endswith(".py"):
                    continue
                rel = safe_relpath(m.name, strip_top=True)
                if rel is None:
                    continue
                if m.size > MAX_FILE_BYTES:
                    yield rel, None
                    continue
                fh = tar.extractfile(m)
                yield rel, fh.read() if fh else None
    elif name.endswith((".zip", ".whl")):
        strip = name.endswith(".zip")  # sdist zips have a top folder, wheels don't
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                if info.is_dir() or not info.filename.endswith(".py"):
                    continue
                if (info.external_attr >> 16) & 0o170000 == 0o120000:  # symlink
                    continue
                rel = safe_relpath(info.filename, strip_top=strip)
                if rel is None:
                    continue
                if info.file_size > MAX_FILE_BYTES:
                    yield rel, None
                    continue
                yield rel, zf.read(info)
    else:
        raise SystemExit(f"unsupported archive type: {name}")


def unpack(archive: Path, target: Path, sha: str) -> dict:
    """Write the .py files of `archive` to `target` (atomically) and return stats."""
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{target.name}-", dir=target.parent))
    try:
        files = lines = skipped = 0
        for rel, data in iter_py_members(archive):
            if data is None:
                skipped += 1
                continue
            out = tmp / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(data)
            files += 1
            lines += count_lines(data)
        stats = {"format": MARKER_FORMAT, "archive": archive.name, "sha256": sha,
                 "files": files, "lines": lines, "skipped_large": skipped}
        (tmp / MARKER).write_text(json.dumps(stats, indent=1) + "\n")
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
        return stats
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def read_marker(target: Path, sha: str) -> dict | None:
    try:
        stats = json.loads((target / MARKER).read_text())
    except (OSError, ValueError):
        return None
    if stats.get("format") != MARKER_FORMAT or stats.get("sha256") != sha:
        return None
    return stats


def build(dest: Path, entries: list[tuple[str, str, str, str]]) -> int:
    start = time.monotonic()
    dest.mkdir(parents=True, exist_ok=True)
    archives = dest / ".archives"

    done: dict[str, dict] = {}
    todo = []
    for entry in entries:
        name, version, _, sha = entry
        stats = read_marker(dest / f"{name}-{version}", sha)
        if stats is not None:
            done[name] = stats
        else:
            todo.append(entry)

    missing = [e for e in todo
               if not (archives / e[2]).is_file() or sha256_of(archives / e[2]) != e[3]]
    if missing:
        print(f"downloading {len(missing)} archive(s) through pip ...", flush=True)
        fetch(missing, archives)

    for name, version, filename, sha in todo:
        archive = archives / filename
        got = sha256_of(archive)
        if got != sha:
            archive.unlink()
            raise SystemExit(f"sha256 mismatch for {filename}: got {got}, pinned {sha}")
        done[name] = unpack(archive, dest / f"{name}-{version}", sha)
        print(f"unpacked {name}-{version}: {done[name]['files']} files, "
              f"{done[name]['lines']} lines", flush=True)

    total_files = total_lines = 0
    for name, version, _, _ in entries:
        s = done[name]
        total_files += s["files"]
        total_lines += s["lines"]
        extra = f" ({s['skipped_large']} >2MB skipped)" if s["skipped_large"] else ""
        print(f"  {name + '-' + version:36s} {s['files']:6d} files {s['lines']:9d} lines{extra}")
    print(f"corpus: {len(entries)} packages, {total_files} files, {total_lines} lines "
          f"in {dest} ({time.monotonic() - start:.1f}s)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dest", type=Path,
                        default=Path.home() / ".cache" / "greenlint" / "corpus",
                        help="cache folder (default: ~/.cache/greenlint/corpus)")
    parser.add_argument("--list", action="store_true", help="print the pinned set and exit")
    parser.add_argument("--subset", type=int, metavar="N",
                        help="only the first N pinned packages")
    args = parser.parse_args(argv)

    entries = PINNED if args.subset is None else PINNED[: max(args.subset, 0)]
    if args.list:
        for name, version, filename, sha in entries:
            print(f"{name}=={version}  {filename}  sha256:{sha}")
        return 0
    return build(args.dest.expanduser().resolve(), entries)


if __name__ == "__main__":
    sys.exit(main())
