"""Synthetic source files for the benchmarks: an ML module that reads like a training
repository (models, datasets, optimisers, loops, with a smell now and then) and a module with no
ML framework in it. Generated, so they need no download and stay the same from run to run."""

from __future__ import annotations

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


# The smells greenlint looks for, denser: a loop syncing with .item(), evaluation with autograd
# on, per-sample inference.
SMELL_BLOCKS = [
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



def ml_file(lines: int = 2000, smells: list[str] | None = None, smell_every: int = 10) -> str:
    """About `lines` lines of clean blocks, every `smell_every`-th block a smelly one."""
    smells = smells or [SMELLY]
    parts = [HEADER]
    i = 0
    while sum(p.count("\n") for p in parts) < lines:
        if i % smell_every == smell_every - 1:
            template = smells[(i // smell_every) % len(smells)]
        else:
            template = BLOCKS[i % len(BLOCKS)]
        parts.append(template.format(i=i))
        i += 1
    return "".join(parts)


def plain_file(lines: int = 1500) -> str:
    parts, i = ['"""Configuration tables."""\n\nimport os\nimport re\n'], 0
    while sum(p.count("\n") for p in parts) < lines:
        parts.append(PLAIN_BLOCK.format(i=i))
        i += 1
    return "".join(parts)
