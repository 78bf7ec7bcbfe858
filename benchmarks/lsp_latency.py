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

HEADER = '''"""Training and evaluation utilities for a family of image and text models."""

import math
import os
import random

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset
'''

BLOCKS = [
    '''

class ResidualBlock{i}(nn.Module):
    """A residual MLP block."""

    def __init__(self, width: int = 256, dropout: float = 0.1) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.fc1 = nn.Linear(width, 4 * width)
        self.fc2 = nn.Linear(4 * width, width)
        self.drop = nn.Dropout(dropout)

    def forward(self, x):
        h = self.norm(x)
        h = F.gelu(self.fc1(h))
        h = self.drop(self.fc2(h))
        return x + h
''',
    '''

class Encoder{i}(nn.Module):
    def __init__(self, vocab: int = 32000, width: int = 256, depth: int = 4) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, width)
        self.blocks = nn.ModuleList([nn.Linear(width, width) for _ in range(depth)])
        self.head = nn.Linear(width, 2)

    def forward(self, ids, mask=None):
        h = self.embed(ids)
        for block in self.blocks:
            h = torch.relu(block(h))
        if mask is not None:
            h = h * mask.unsqueeze(-1)
        return self.head(h.mean(dim=1))
''',
    '''

class CsvDataset{i}(Dataset):
    def __init__(self, rows, labels, transform=None):
        self.rows = rows
        self.labels = labels
        self.transform = transform

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, index):
        row = self.rows[index]
        if self.transform is not None:
            row = self.transform(row)
        return torch.as_tensor(row, dtype=torch.float32), int(self.labels[index])
''',
    '''

def build_optimizer_{i}(model, lr=3e-4, weight_decay=0.01, betas=(0.9, 0.95)):
    decay, no_decay = [], []
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        (no_decay if parameter.ndim < 2 or "norm" in name else decay).append(parameter)
    groups = [
        {{"params": decay, "weight_decay": weight_decay}},
        {{"params": no_decay, "weight_decay": 0.0}},
    ]
    return torch.optim.AdamW(groups, lr=lr, betas=betas)


def cosine_schedule_{i}(step, total, warmup=100, base=3e-4, floor=3e-5):
    if step < warmup:
        return base * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return floor + 0.5 * (base - floor) * (1 + math.cos(math.pi * progress))
''',
    '''

def train_epoch_{i}(model, loader, optimizer, device, clip=1.0):
    model.train()
    total_loss = 0.0
    for step, (x, y) in enumerate(loader):
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        optimizer.zero_grad(set_to_none=True)
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        total_loss += loss.detach()
    return total_loss / max(1, len(loader))
''',
    '''

@torch.no_grad()
def evaluate_clean_{i}(model, loader, device):
    model.eval()
    correct = total = 0
    for x, y in loader:
        logits = model(x.to(device))
        correct += (logits.argmax(1) == y.to(device)).sum()
        total += y.numel()
    return (correct / max(1, total)).item()
''',
    '''

def seed_everything_{i}(seed: int = 0) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)


def make_loaders_{i}(n=1024, features=32, classes=10, batch_size=64):
    data = TensorDataset(torch.randn(n, features), torch.randint(0, classes, (n,)))
    train = DataLoader(data, batch_size=batch_size, shuffle=True, num_workers=2, pin_memory=True)
    val = DataLoader(data, batch_size=4 * batch_size, num_workers=2, pin_memory=True)
    return train, val
''',
]

# A few smells, as in real code: one in about every ten blocks.
SMELLY = '''

def evaluate_{i}(model, loader):
    model.eval()
    correct = 0
    for x, y in loader:
        correct += (model(x).argmax(1) == y).sum().item()
    return correct
'''


def ml_file(lines: int = 2000) -> str:
    parts = [HEADER]
    i = 0
    while sum(p.count("\n") for p in parts) < lines:
        template = SMELLY if i % 10 == 9 else BLOCKS[i % len(BLOCKS)]
        parts.append(template.format(i=i))
        i += 1
    return "".join(parts)


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
