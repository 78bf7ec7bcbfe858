"""The `requires` gates of GL103, GL201, GL202, GL204, GL302 and GL303 (issue #8, speed): each
rule's could_fire is False on realistic code that lacks its words, True on every INVALID
example, and findings spelled differently from the examples (aliases, helpers) still come
through the pre-filter."""

from __future__ import annotations

import textwrap

import pytest

from greenlint.engine import lint_text
from greenlint.rules.base import rule_by_selector

GATED = ("GL103", "GL201", "GL202", "GL204", "GL302", "GL303")

# Realistic library code that names its frameworks but none of the gated words.
_PLAIN = {
    "GL103": """
        import torch
        from torch import nn

        class Block(nn.Module):
            def __init__(self, dim):
                super().__init__()
                self.norm = nn.LayerNorm(dim)
                self.proj = nn.Conv2d(dim, dim, 3)

            def forward(self, x):
                return self.proj(self.norm(x))
        """,
    "GL201": """
        import torch

        def train(model, loader, optimizer):
            for x, y in loader:
                loss = torch.nn.functional.mse_loss(model(x.float()), y)
                loss.backward()
                optimizer.step()
        """,
    "GL202": """
        import torch

        def features(model, batch):
            x = torch.tensor(batch, dtype=torch.float32)
            return model(x)
        """,
    "GL204": """
        import torch
        from torch import nn

        net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten())
        net.eval()

        @torch.no_grad()
        def predict(images):
            return [net(image) for image in images]
        """,
    "GL302": """
        import torch

        def train(model, loader, optimizer, epochs):
            for _ in range(epochs):
                for batch in loader:
                    model(batch).sum().backward()
                    optimizer.step()
        """,
    "GL303": """
        import torch

        def train(model, batches, optimizer):
            model.cuda()
            for x, y in batches:
                loss = torch.nn.functional.cross_entropy(model(x.cuda()), y.cuda())
                loss.backward()
                optimizer.step()
        """,
}

# Findings the rules' own examples do not spell the same way: aliases, helpers, other entry points.
_POSITIVE = {
    "GL103": [
        """
        from fastapi import FastAPI
        from transformers import pipeline as make_pipe

        app = FastAPI()

        @app.post("/classify")
        def classify(text: str):
            classifier = make_pipe("sentiment-analysis")
            return classifier(text)
        """,
        """
        import torch
        import joblib as jl
        from torch.utils.data import Dataset

        class Features(Dataset):
            def __getitem__(self, index):
                scaler = jl.load("scaler.pkl")
                return torch.tensor(scaler.transform(self.rows[index]))
        """,
        """
        import torch
        import timm

        def embed(images):
            backbone = timm.create_model("resnet50", pretrained=True)
            return backbone(images)

        for batch in stream():
            embed(batch)
        """,
    ],
    "GL201": [
        """
        import torch
        from torch import float64 as F64

        def run(model, n):
            x = torch.randn(n, 4, dtype=F64)
            return model(x)
        """,
        """
        import torch as T

        def score(net, rows):
            x = T.DoubleTensor(rows)
            return net(x)
        """,
        """
        import torch

        def load(path):
            model = torch.load(path)
            model = model.double()
            return model
        """,
    ],
    "GL202": [
        """
        import numpy as onp
        import torch as T

        def step(model, n):
            x = T.from_numpy(onp.random.rand(n, 3))
            return model(x)
        """,
        """
        import pandas as pd
        import torch

        def fit(model, path):
            frame = pd.read_csv(path)
            x = torch.tensor(frame.values)
            return model(x)
        """,
        """
        import numpy as np
        from torch import as_tensor as at

        def forward(model):
            grid = np.linspace(0.0, 1.0, 64)
            return model(at(grid))
        """,
    ],
    "GL204": [
        """
        import torch
        from torch.nn import LSTM as Recurrent, Linear as Dense

        class Tagger(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.rnn = Recurrent(128, 256)
                self.head = Dense(256, 10)

        tagger = Tagger()
        tagger.eval()

        def predict(sentences):
            return [tagger(s) for s in sentences]
        """,
        """
        import torch
        from transformers import AutoModelForSequenceClassification

        model = AutoModelForSequenceClassification.from_pretrained("distilbert-base-uncased").eval()

        def classify(batches):
            with torch.no_grad():
                return [model(**b).logits for b in batches]
        """,
    ],
    "GL302": [
        """
        import torch

        class Loop:
            def batch(self):
                return next(iter(self.val_dl))

            def run(self, steps):
                for _ in range(steps):
                    self.evaluate(self.batch())
        """,
        """
        import torch

        step = 0
        while step < 1000:
            stream = iter(train_loader)
            update(next(stream))
            step += 1
        """,
    ],
    "GL303": [
        """
        import torch
        from torch.utils.data import DataLoader as DL

        loader = DL(images_on_disk, batch_size=64, shuffle=True)
        for x in loader:
            model(x.cuda())
        """,
        """
        import torch.utils.data as tud

        loader = tud.DataLoader(folder_dataset, batch_size=16)
        device = "CUDA:0"
        for x, y in loader:
            train_step(x.to(device), y.to(device))
        """,
    ],
}


def _rule(code):
    return rule_by_selector(code)


@pytest.mark.parametrize("code", GATED)
def test_gate_skips_text_without_the_words(code):
    rule = _rule(code)
    text = textwrap.dedent(_PLAIN[code])
    assert any(f in text for f in rule.frameworks), "the text must pass the framework filter"
    assert not rule.could_fire(text)
    assert not [d for d in lint_text(text, "module.py", [rule()], use_prefilter=False).diagnostics if d.code == code]


@pytest.mark.parametrize("code", GATED)
def test_gate_keeps_every_invalid_example(code):
    rule = _rule(code)
    for example in rule.INVALID:
        assert rule.could_fire(example.code), example.code


@pytest.mark.parametrize(
    ("code", "snippet"), [pytest.param(code, s, id=f"{code}-{i}") for code in GATED for i, s in enumerate(_POSITIVE[code])]
)
def test_findings_spelled_otherwise_still_fire(code, snippet):
    rule = _rule(code)
    text = textwrap.dedent(snippet)
    assert rule.could_fire(text)
    found = [d for d in lint_text(text, "module.py", [rule()]).diagnostics if d.code == code]
    assert found, f"{code} should fire on:\n{text}"
