"""GL505/GL602/GL603 (helper h6): behaviour the rules' own examples cannot express."""

from __future__ import annotations

import pytest

from greenlint.engine import lint_text
from greenlint.rules.gl505_full_finetune_no_freeze import (
    FullFinetuneNoFreeze,
    checkpoint_size,
    describe_size,
)
from greenlint.rules.gl603_over_parallel_inference import OverParallelInference


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("meta-llama/Llama-2-7b-hf", (7000.0, False)),
        ("Qwen/Qwen2.5-0.5B-Instruct", (500.0, False)),
        ("mistralai/Mixtral-8x7B-v0.1", (56000.0, False)),
        ("EleutherAI/pythia-160m", (160.0, False)),
        ("gpt2", (124.0, False)),
        ("openai-community/gpt2-xl", (1558.0, False)),
        ("bert-large-uncased", (300.0, True)),
        ("google/flan-t5-xxl", (11000.0, True)),
        ("resnet50.a1_in1k", (25.6, False)),
        ("mobilenetv3_large_100", (5.5, False)),  # "large" inside a small family
        ("vit_h_14", (632.0, False)),
        ("yolov8m", None),  # a model-size letter, not a parameter count
        ("my-checkpoint", None),
        ("", None),
    ],
)
def test_checkpoint_size(name, expected):
    assert checkpoint_size(name) == expected


def test_describe_size():
    assert describe_size("meta-llama/Llama-2-7b-hf") == "~7B parameters"
    assert describe_size("roberta-large") == "300M+ parameters"
    assert describe_size("resnet50") == "~25.6M parameters"
    assert describe_size(None) == ""


def _codes(code: str, rule, options=None) -> list[str]:
    return [d.code for d in lint_text(code, "train.py", [rule(options)]).diagnostics]


def test_gl505_min_params_option_flags_base_models():
    code = (
        "import torch\n"
        "from transformers import AutoModelForSequenceClassification\n"
        'model = AutoModelForSequenceClassification.from_pretrained("bert-base-cased")\n'
        "optimizer = torch.optim.AdamW(params=model.parameters(), lr=2e-5)\n"
    )
    assert _codes(code, FullFinetuneNoFreeze) == []
    assert _codes(code, FullFinetuneNoFreeze, {"min-params": 100}) == ["GL505"]


def test_gl505_freezing_anywhere_in_the_file_silences_it():
    base = (
        "import torch\n"
        "from transformers import AutoModel\n"
        'model = AutoModel.from_pretrained("roberta-large")\n'
        "optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)\n"
    )
    assert _codes(base, FullFinetuneNoFreeze) == ["GL505"]
    for extra in (
        "model.embeddings.requires_grad_(False)\n",
        "for p in model.encoder.layer[:12].parameters():\n    p.requires_grad = False\n",
        "freeze_layers(model, 12)\n",
        'config = {"lora_r": 8}\n',
    ):
        assert _codes(base + extra, FullFinetuneNoFreeze) == [], extra


def test_gl505_exploration_is_not_lora():
    code = (
        "import torch\n"
        "from transformers import AutoModel\n"
        'model = AutoModel.from_pretrained("roberta-large")\n'
        "exploration_rate = 0.1\n"
        "optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)\n"
    )
    assert _codes(code, FullFinetuneNoFreeze) == ["GL505"]


def test_gl603_max_params_option():
    code = (
        "from transformers import AutoModelForCausalLM\n"
        'model = AutoModelForCausalLM.from_pretrained("Qwen/Qwen2.5-7B-Instruct", device_map="auto")\n'
        "out = model.generate(**inputs)\n"
    )
    assert _codes(code, OverParallelInference) == []
    assert _codes(code, OverParallelInference, {"max-params": 8000}) == ["GL603"]


def test_gl505_reads_checkpoint_names_from_constants_and_argparse_defaults():
    constant = (
        "import torch\n"
        "from transformers import AutoModel\n"
        'MODEL_ID = "bert-base-uncased"\n'
        "model = AutoModel.from_pretrained(MODEL_ID)\n"
        "optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)\n"
    )
    assert _codes(constant, FullFinetuneNoFreeze) == []  # base size: below min-params
    argparse_default = (
        "import argparse\n"
        "import torch\n"
        "from transformers import AutoModel\n"
        "parser = argparse.ArgumentParser()\n"
        'parser.add_argument("--model-name", default="roberta-large")\n'
        "args = parser.parse_args()\n"
        "model = AutoModel.from_pretrained(args.model_name)\n"
        "optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)\n"
    )
    messages = [d.message for d in lint_text(argparse_default, "train.py", [FullFinetuneNoFreeze()]).diagnostics]
    assert len(messages) == 1 and "`roberta-large`" in messages[0]


def test_gl505_local_trainer_subclass():
    code = (
        "from transformers import AutoModelForSequenceClassification, Trainer\n"
        "class WeightedTrainer(Trainer):\n"
        "    def compute_loss(self, model, inputs, return_outputs=False):\n"
        "        return model(**inputs).loss\n"
        'model = AutoModelForSequenceClassification.from_pretrained("microsoft/deberta-v3-large")\n'
        "trainer = WeightedTrainer(model=model, train_dataset=train_ds)\n"
    )
    assert _codes(code, FullFinetuneNoFreeze) == ["GL505"]
