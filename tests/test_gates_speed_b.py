"""The text gates (`requires`) of GL404, GL405, GL501-GL506, GL508, GL601-GL603 and GL701:
a rule whose words are all absent skips the file, so the gate must never hide a finding.

For each gated rule: `could_fire` is False on a realistic file without the words, True on
every INVALID example, and extra positives spelled unlike the examples (aliases, helpers,
other entry points) still fire through the gate.
"""

from __future__ import annotations

import textwrap

import pytest

from greenlint.engine import lint_text
from greenlint.rules.base import rule_by_selector

GATED = ("GL404", "GL405", "GL501", "GL502", "GL503", "GL504", "GL505", "GL506", "GL508", "GL601", "GL602", "GL603", "GL701")

# Realistic files that import the rule's framework but name none of its words.
WITHOUT_WORDS = {
    "GL404": """
        import torch
        from torch import nn

        class Block(nn.Module):
            def __init__(self, dim):
                super().__init__()
                self.proj = nn.Linear(dim, dim)

            def forward(self, x):
                return torch.relu(self.proj(x)) + x

        def evaluate(model, loader, device):
            model.eval()
            total = 0.0
            with torch.no_grad():
                for x, y in loader:
                    total += (model(x.to(device)).argmax(-1) == y.to(device)).sum().item()
            return total
    """,
    "GL405": """
        import torch
        from torch import nn

        class Head(nn.Module):
            def __init__(self, dim, classes):
                super().__init__()
                self.norm = nn.LayerNorm(dim)
                self.fc = nn.Linear(dim, classes)

            def forward(self, x):
                return self.fc(self.norm(x))

        @torch.no_grad()
        def predict(model, batches):
            outputs = []
            for x in batches:
                outputs.append(model(x).softmax(-1))
            return torch.cat(outputs)
    """,
    "GL501": """
        import torch
        import torch.nn.functional as F

        def train(model, loader, optimizer):
            model.train()
            for x, y in loader:
                optimizer.zero_grad()
                loss = F.cross_entropy(model(x), y)
                loss.backward()
                optimizer.step()
    """,
    "GL502": """
        import torch
        import torch.nn.functional as F

        def train(model, loader, optimizer, epochs):
            for epoch in range(epochs):
                for x, y in loader:
                    optimizer.zero_grad()
                    loss = F.cross_entropy(model(x), y)
                    loss.backward()
                    optimizer.step()
                print(f"epoch {epoch}: {loss.item():.3f}")
    """,
    "GL503": """
        import torch
        from torch import nn

        class MLP(nn.Module):
            def __init__(self, sizes):
                super().__init__()
                layers = []
                for a, b in zip(sizes, sizes[1:]):
                    layers += [nn.Linear(a, b), nn.GELU()]
                self.body = nn.Sequential(*layers)

            def forward(self, x):
                return self.body(x)
    """,
    "GL504": """
        import tensorflow as tf

        def build(units):
            inputs = tf.keras.Input((32,))
            hidden = tf.keras.layers.Dense(units, activation="relu")(inputs)
            return tf.keras.Model(inputs, tf.keras.layers.Dense(1)(hidden))

        model = build(64)
        model.compile("adam", "mse")
        model.evaluate(x_test, y_test)
    """,
    "GL505": """
        import torch
        from torch import nn

        model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
        for x, y in loader:
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            optimizer.step()
    """,
    "GL506": """
        import torch
        from torch import nn

        class Tagger(nn.Module):
            def __init__(self):
                super().__init__()
                self.rnn = nn.LSTM(128, 256, batch_first=True)
                self.out = nn.Linear(256, 20)

            def forward(self, x):
                return self.out(self.rnn(x)[0])

        model = Tagger().cuda()
        for x, y in loader:
            loss = nn.functional.cross_entropy(model(x.cuda()).flatten(0, 1), y.cuda().flatten())
            loss.backward()
            optimizer.step()
    """,
    "GL508": """
        import torch

        def train(model, loader, optimizer):
            model.cuda()
            for x, y in loader:
                for p in model.parameters():
                    p.grad = None
                loss = torch.nn.functional.mse_loss(model(x.cuda()), y.cuda())
                loss.backward()
                optimizer.step()
    """,
    "GL601": """
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_config(config)
        print(tokenizer("hello world"))
    """,
    "GL602": """
        import torch
        from torch import nn

        model = nn.Sequential(nn.Conv2d(3, 16, 3), nn.ReLU(), nn.Flatten(), nn.LazyLinear(10))
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        for images, labels in loader:
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(images), labels).backward()
            optimizer.step()
    """,
    "GL603": """
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained("gpt2")
        model = AutoModelForCausalLM.from_pretrained("gpt2").to("cuda").eval()
        with torch.no_grad():
            out = model.generate(**tokenizer("Hello", return_tensors="pt").to("cuda"))
    """,
    "GL701": """
        import tensorflow as tf

        dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(32)
        for features, labels in dataset:
            print(tf.reduce_mean(features), labels.shape)
    """,
}

# Findings spelled unlike the rule's own examples: through an alias, a helper, another entry point.
EXTRA_POSITIVES = {
    "GL404": [
        """
        import torch
        from gc import collect as full_collect

        for x, y in loader:
            loss = torch.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            full_collect()
        """,
        """
        import torch
        from torch.cuda import empty_cache

        def train(model, loader, optimizer):
            for batch in loader:
                optimizer.zero_grad()
                model(**batch).loss.backward()
                optimizer.step()
                empty_cache()
        """,
    ],
    "GL405": [
        """
        import torch
        from torch.autograd import backward as run_backward

        def train(model, loader, optimizer, criterion):
            for x, y in loader:
                optimizer.zero_grad()
                loss = criterion(model(x), y)
                run_backward(loss, retain_graph=True)
                optimizer.step()
        """,
        """
        import torch

        def train(model, loader, optimizer, criterion):
            losses = []
            for x, y in loader:
                optimizer.zero_grad()
                loss = criterion(model(x), y)
                loss.backward()
                optimizer.step()
                losses += [loss]
            return losses
        """,
    ],
    "GL501": [
        """
        import torch
        from torch.autograd import set_detect_anomaly as detect

        detect(True)
        for x, y in loader:
            loss = model(x, y)
            loss.backward()
            optimizer.step()
        """,
        """
        import pytorch_lightning as pl

        trainer = pl.Trainer(max_epochs=10, profiler="advanced")
        trainer.fit(model, datamodule=data)
        """,
        """
        import torch
        from torch import autograd

        def train(model, loader, optimizer):
            with autograd.detect_anomaly():
                for x, y in loader:
                    loss = model(x, y)
                    loss.backward()
                    optimizer.step()
        """,
    ],
    "GL502": [
        """
        import torch
        from torch import save as persist

        for batch in loader:
            loss = model(batch)
            loss.backward()
            optimizer.step()
            persist(model.state_dict(), "last.pt")
        """,
        """
        import torch

        class Runner:
            def _dump(self):
                torch.save({"model": self.model.state_dict()}, "ckpt.pt")

            def run(self, loader):
                for x, y in loader:
                    loss = self.model(x, y)
                    loss.backward()
                    self.optimizer.step()
                    self._dump()
        """,
        """
        import lightning as L

        class Module(L.LightningModule):
            def training_step(self, batch, batch_idx):
                loss = self.model(batch).loss
                self.trainer.save_checkpoint("latest.ckpt")
                return loss
        """,
    ],
    "GL503": [
        """
        from sklearn import model_selection as ms
        from sklearn.svm import SVC

        search = ms.GridSearchCV(SVC(), {"C": [0.1, 1, 10, 100], "gamma": [1e-3, 1e-2, 0.1, 1]}, cv=5)
        search.fit(x, y)
        """,
        """
        from sklearn.model_selection import cross_val_score as cvs
        from sklearn.ensemble import RandomForestClassifier

        for depth in [4, 8, 16, 32]:
            for trees in [50, 100, 200, 400]:
                scores = cvs(RandomForestClassifier(max_depth=depth, n_estimators=trees), x, y, cv=5)
        """,
        """
        import optuna

        sampler = optuna.samplers.GridSampler({"lr": [1e-4, 3e-4, 1e-3, 3e-3, 1e-2], "batch": [16, 32, 64, 128, 256], "wd": [0, 0.01, 0.1]})
        study = optuna.create_study(sampler=sampler)
        study.optimize(objective)
        """,
    ],
    "GL504": [
        """
        from tensorflow import keras as K

        net = K.Sequential([K.layers.Dense(32), K.layers.Dense(1)])
        net.compile("adam", "mse")
        net.fit(x, y, epochs=300)
        """,
        """
        from sklearn import ensemble

        clf = ensemble.GradientBoostingClassifier(n_estimators=1000)
        clf.fit(x, y)
        """,
    ],
    "GL505": [
        """
        import torch
        from timm import create_model as build

        model = build("vit_huge_patch14_224", pretrained=True)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
        """,
        """
        import torch
        import transformers as hf

        model = hf.AutoModelForCausalLM.from_pretrained("gpt2-xl")
        opt = torch.optim.AdamW(model.parameters(), lr=2e-5)
        """,
        """
        import torch
        from transformers import AutoModelForSequenceClassification, Trainer

        class WeightedTrainer(Trainer):
            pass

        model = AutoModelForSequenceClassification.from_pretrained("roberta-large", num_labels=2)
        trainer = WeightedTrainer(model=model, args=args, train_dataset=train)
        trainer.train()
        """,
    ],
    "GL506": [
        """
        import torch
        from torch import nn
        from torch.backends import cudnn

        cudnn.deterministic = True
        model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU()).cuda()
        """,
        """
        import torch
        from torchvision import models

        model = models.resnet34(num_classes=100).cuda()
        for images, labels in train_loader:
            loss = torch.nn.functional.cross_entropy(model(images.cuda()), labels.cuda())
            loss.backward()
            optimizer.step()
        """,
    ],
    "GL508": [
        """
        import torch

        def step(model, batch, opt):
            model.cuda()
            opt.zero_grad(set_to_none=False)
            model(batch.cuda()).sum().backward()
            opt.step()
        """,
        """
        import torch

        model = torch.nn.Linear(8, 1).to("cuda")
        optim = torch.optim.Adam(model.parameters())
        for x in batches:
            model.zero_grad(False)
            model(x).mean().backward()
            optim.step()
        """,
    ],
    "GL601": [
        """
        from transformers import AutoModel

        MODEL_ID = "bert-large-uncased"
        model = AutoModel.from_pretrained(MODEL_ID)
        """,
        """
        import transformers

        classifier = transformers.pipeline("sentiment-analysis", model="meta-llama/Llama-2-7b-chat-hf")
        """,
    ],
    "GL602": [
        """
        import torch
        from torchvision import models
        from torch.utils.data import DataLoader

        loader = DataLoader(train_set, batch_size=64, shuffle=True)
        model = models.resnet50(weights=None, num_classes=10)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        for images, labels in loader:
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(images), labels).backward()
            optimizer.step()
        """,
        """
        import timm
        import torch
        from torch.utils.data import DataLoader

        loader = DataLoader(dataset, batch_size=32)
        net = timm.create_model("resnet50", pretrained=False, num_classes=10)
        opt = torch.optim.AdamW(net.parameters())
        for x, y in loader:
            torch.nn.functional.cross_entropy(net(x), y).backward()
            opt.step()
        """,
    ],
    "GL603": [
        """
        import torch
        from torch.nn import DataParallel as DP

        wrapped = DP(model).cuda()
        wrapped.eval()
        with torch.no_grad():
            outputs = wrapped(batch)
        """,
        """
        import torch
        import transformers

        generator = transformers.pipeline("text-generation", model="gpt2-medium", device_map="auto")
        print(generator("Hello")[0]["generated_text"])
        """,
        """
        from vllm import LLM

        llm = LLM(model="facebook/opt-1.3b", tensor_parallel_size=4)
        outputs = llm.generate(prompts)
        """,
    ],
    "GL701": [
        """
        import tensorflow as tf

        def make(units):
            inputs = tf.keras.Input((16,))
            return tf.keras.Model(inputs, tf.keras.layers.Dense(units)(inputs))

        for units in [8, 16, 32]:
            model = make(units)
            model.compile("adam", "mse")
            model.fit(x, y, epochs=5)
        """,
        """
        import tensorflow as tf

        for step in range(100):
            @tf.function
            def train_step(x):
                return model(x)

            train_step(batch)
        """,
    ],
}


def _code(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def test_every_gated_rule_is_covered():
    for code in GATED:
        rule = rule_by_selector(code)
        assert rule is not None and rule.requires, code
        assert code in WITHOUT_WORDS and code in EXTRA_POSITIVES, code


@pytest.mark.parametrize("code", GATED)
def test_gate_closed_without_the_words(code):
    rule = rule_by_selector(code)
    text = _code(WITHOUT_WORDS[code])
    assert any(framework in text for framework in rule.frameworks), "the text must pass the framework check"
    assert not rule.could_fire(text)


@pytest.mark.parametrize("code", GATED)
def test_gate_open_on_every_invalid_example(code):
    rule = rule_by_selector(code)
    for example in rule.INVALID:
        assert rule.could_fire(example.code), example.code


@pytest.mark.parametrize(("code", "index"), [(code, i) for code in GATED for i in range(len(EXTRA_POSITIVES[code]))])
def test_extra_positive_still_fires(code, index):
    rule = rule_by_selector(code)
    text = _code(EXTRA_POSITIVES[code][index])
    assert rule.could_fire(text)
    result = lint_text(text, "train.py", [rule()])
    assert not result.errors
    assert [d.code for d in result.diagnostics] and all(d.code == code for d in result.diagnostics), text
