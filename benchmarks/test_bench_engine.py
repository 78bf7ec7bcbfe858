"""pytest-benchmark cases for the per-file engine: one `ast` parse, the semantic model and every
rule, on a few files that look like the code greenlint meets.

    PYTHONPATH=src python -m pytest benchmarks/ --benchmark-enable
    PYTHONPATH=src python -m pytest benchmarks/ --benchmark-enable --benchmark-compare   # vs a saved run

The default test command (`python -m pytest`) never collects this folder: pyproject's testpaths
is ["tests"]. Without --benchmark-enable (pyproject's addopts has --benchmark-disable) each case
runs once, as a smoke test.

Files: generated here (a ~2,000-line ML module of models, datasets, training and evaluation
code; a ~1,500-line module with no ML framework in it), the repository's own rule fixtures
concatenated (dense with findings), and, when scripts/build_corpus.py has filled the cache, three
real files of the corpus (skipped otherwise: the corpus is third-party code and is not committed).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# Benchmark this checkout's engine, not whatever greenlint the interpreter has installed.
sys.path.insert(0, str(REPO / "src"))

from greenlint.engine import lint_text  # noqa: E402
from greenlint.fixer import fix_text  # noqa: E402
from greenlint.rules.base import all_rules  # noqa: E402

CORPUS = Path.home() / ".cache" / "greenlint" / "corpus"
CORPUS_FILES = {
    # A model zoo file (timm), a framework's core (accelerate), a trainer (trl).
    "corpus_timm_vision_transformer": "timm-1.0.31/timm/models/vision_transformer.py",
    "corpus_accelerate_accelerator": "accelerate-1.15.0/src/accelerate/accelerator.py",
    "corpus_trl_grpo_trainer": "trl-1.16.0/trl/trainer/grpo_trainer.py",
}

ML_HEADER = '''"""Training and evaluation utilities for a family of image and text models."""

import math
import random

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset
'''

# Clean code and the smells greenlint looks for, in the proportions of a training repository.
ML_BLOCKS = [
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
        return x + self.drop(self.fc2(h))
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

def build_optimizer_{i}(model, lr=3e-4, weight_decay=0.01):
    decay, no_decay = [], []
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        (no_decay if parameter.ndim < 2 or "norm" in name else decay).append(parameter)
    groups = [{{"params": decay, "weight_decay": weight_decay}}, {{"params": no_decay, "weight_decay": 0.0}}]
    return torch.optim.AdamW(groups, lr=lr)


def cosine_schedule_{i}(step, total, warmup=100, base=3e-4, floor=3e-5):
    if step < warmup:
        return base * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return floor + 0.5 * (base - floor) * (1 + math.cos(math.pi * progress))
''',
    '''

def train_epoch_{i}(model, loader, optimizer, device):
    model.train()
    total_loss = 0.0
    for step, (x, y) in enumerate(loader):
        x, y = x.to(device), y.to(device)
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        total_loss += loss.item()
        mask = torch.zeros(x.shape[0]).to(device)
    return total_loss / max(1, len(loader)), mask
''',
    '''

def evaluate_{i}(model, loader, device):
    model.eval()
    correct = total = 0
    for x, y in loader:
        logits = model(x.to(device))
        correct += (logits.argmax(1) == y.to(device)).sum().item()
        total += y.numel()
    return correct / max(1, total)
''',
    '''

@torch.no_grad()
def predict_{i}(model, samples, device):
    model.eval()
    outputs = []
    for sample in samples:
        batch = torch.tensor(np.asarray(sample)).unsqueeze(0).to(device)
        outputs.append(model(batch).cpu())
    return torch.cat(outputs)
''',
]

PLAIN_BLOCK = '''

class Record{i}:
    """A row of a configuration table."""

    def __init__(self, name: str, values: dict[str, float], tags: tuple[str, ...] = ()) -> None:
        self.name = name
        self.values = dict(values)
        self.tags = tuple(sorted(set(tags)))

    def merged(self, other: "Record{i}") -> "Record{i}":
        values = {{**self.values, **other.values}}
        return Record{i}(self.name, values, self.tags + other.tags)

    def describe(self) -> str:
        parts = [f"{{key}}={{value:.3g}}" for key, value in sorted(self.values.items())]
        return f"{{self.name}}({{', '.join(parts)}})"


def parse_rows_{i}(lines):
    rows = []
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, rest = line.partition(":")
        try:
            values = {{k: float(v) for k, v in (item.split("=") for item in rest.split(","))}}
        except ValueError as error:
            raise ValueError(f"line {{number}}: {{error}}") from None
        rows.append(Record{i}(name.strip(), values))
    return rows
'''


def _ml_module() -> str:
    parts, i = [ML_HEADER], 0
    while sum(p.count("\n") for p in parts) < 2000:
        parts.append(ML_BLOCKS[i % len(ML_BLOCKS)].format(i=i))
        i += 1
    return "".join(parts)


def _plain_module() -> str:
    parts, i = ['"""Configuration tables."""\n\nimport os\nimport re\n'], 0
    while sum(p.count("\n") for p in parts) < 1500:
        parts.append(PLAIN_BLOCK.format(i=i))
        i += 1
    return "".join(parts)


def _fixtures_concatenated() -> str:
    return "\n\n".join(path.read_text(encoding="utf-8") for path in sorted((REPO / "fixtures").glob("GL*/workload.py")))


SOURCES = {
    "generated_ml_module": _ml_module,
    "generated_plain_module": _plain_module,
    "fixtures_concatenated": _fixtures_concatenated,
}


@pytest.fixture(scope="module")
def rules():
    return [rule() for rule in all_rules()]


def _label(benchmark, text: str, rules: list) -> None:
    benchmark.extra_info["lines"] = text.count("\n")
    benchmark.extra_info["rules"] = len(rules)


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_engine(benchmark, rules, name):
    text = SOURCES[name]()
    _label(benchmark, text, rules)
    result = benchmark(lint_text, text, f"{name}.py", rules)
    assert not result.errors
    if name == "generated_plain_module":
        assert result.skipped  # the text pre-filter rules it out before parsing
    else:
        assert result.diagnostics and not result.skipped


def test_engine_without_prefilter(benchmark, rules):
    """The non-ML module parsed and checked in full: what the pre-filter saves."""
    text = _plain_module()
    _label(benchmark, text, rules)
    result = benchmark(lint_text, text, "generated_plain_module.py", rules, False)
    assert not result.errors and not result.skipped and not result.diagnostics


def test_fix_fixtures(benchmark, rules):
    """Lint + libcst fixes (safe and unsafe) on the smell-dense file."""
    text = _fixtures_concatenated()
    _label(benchmark, text, rules)
    result = benchmark(fix_text, text, "fixtures_concatenated.py", rules, unsafe_fixes=True)
    assert result.changed and not result.errors


@pytest.mark.parametrize("name", sorted(CORPUS_FILES))
def test_engine_corpus_file(benchmark, rules, name):
    path = CORPUS / CORPUS_FILES[name]
    if not path.is_file():
        pytest.skip(f"{path} missing: run scripts/build_corpus.py")
    text = path.read_text(encoding="utf-8")
    _label(benchmark, text, rules)
    result = benchmark(lint_text, text, path.name, rules)
    assert not result.errors and not result.skipped
