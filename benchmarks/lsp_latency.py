"""Latency of `greenlint server`: from a `textDocument/didChange` on a ~2,000-line ML file to the
`textDocument/publishDiagnostics` for that version. Not a test; prints the numbers.

    .venv/bin/python benchmarks/lsp_latency.py            # 50 edits, debounce 0 and the default
    .venv/bin/python benchmarks/lsp_latency.py --runs 200 --debounce-ms 0

With `--debounce-ms 0` the number is the server's own work (apply the change, lint, convert,
send); with the default debounce (200 ms) it includes the quiet period an editor waits for
while the user types. Target: a median under 100 ms for the former.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient
from pygls.uris import from_fs_path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _synthetic import ml_file  # noqa: E402


async def measure(runs: int, debounce_ms: int | None, text: str) -> tuple[list[float], int]:
    published: dict[int, float] = {}
    counts: dict[int, int] = {}
    client = LanguageClient("lsp-latency", "1")

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def on_publish(params: types.PublishDiagnosticsParams) -> None:
        if params.version is not None:
            published.setdefault(params.version, time.perf_counter())
            counts[params.version] = len(params.diagnostics)

    await client.start_io(sys.executable, "-m", "greenlint.cli", "server")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        path = root / "train.py"
        uri = from_fs_path(str(path))
        options = {} if debounce_ms is None else {"debounceMs": debounce_ms}
        await client.initialize_async(
            types.InitializeParams(
                capabilities=types.ClientCapabilities(),
                root_uri=from_fs_path(folder),
                initialization_options=options,
            )
        )
        client.initialized(types.InitializedParams())
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text))
        )
        await _wait(published, 1)
        target = text.count("\n") // 2  # edit the middle of the file: a comment grows
        latencies = []
        for run in range(runs):
            version = run + 2
            change = types.TextDocumentContentChangePartial(
                range=types.Range(start=types.Position(target, 0), end=types.Position(target, 0)),
                text="#",
            )
            started = time.perf_counter()
            client.text_document_did_change(
                types.DidChangeTextDocumentParams(
                    text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                    content_changes=[change],
                )
            )
            await _wait(published, version)
            latencies.append((published[version] - started) * 1000)
        findings = counts[runs + 1]
        await client.shutdown_async(None)
        client.exit(None)
        await client.stop()
    return latencies, findings


async def _wait(published: dict[int, float], version: int, timeout: float = 30.0) -> None:
    deadline = time.perf_counter() + timeout
    while version not in published:
        if time.perf_counter() > deadline:
            raise TimeoutError(f"no diagnostics for version {version}")
        await asyncio.sleep(0.0005)


def engine_only(runs: int, text: str) -> list[float]:
    """The engine alone, in this process, on the same text and rules: what the server cannot
    go below."""
    from greenlint.engine import lint_text
    from greenlint.rules.base import all_rules

    rules = [rule() for rule in all_rules()]
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        lint_text(text, "train.py", rules)
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--lines", type=int, default=2000)
    parser.add_argument("--debounce-ms", type=int, action="append", help="repeatable; default: 0 and the server default")
    args = parser.parse_args()
    text = ml_file(args.lines)
    settings = args.debounce_ms if args.debounce_ms else [0, None]
    print(f"file: {text.count(chr(10))} lines, {len(text):,} characters")
    engine = engine_only(args.runs, text)
    print(f"{'engine alone (lint_text)':>33}: median {statistics.median(engine):7.1f} ms")
    for debounce in settings:
        latencies, findings = asyncio.run(measure(args.runs, debounce, text))
        label = "server default (200 ms)" if debounce is None else f"{debounce} ms"
        q = statistics.quantiles(latencies, n=10)
        print(
            f"debounce {label:>24}: median {statistics.median(latencies):7.1f} ms   p10 {q[0]:7.1f}   p90 {q[-1]:7.1f}   "
            f"max {max(latencies):7.1f}   ({args.runs} edits, {findings} findings)"
        )


if __name__ == "__main__":
    main()
