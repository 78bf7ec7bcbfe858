"""GL601's model table and GL204's gates: what the rules' own VALID/INVALID examples cannot say."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from greenlint.engine import lint_text
from greenlint.rules.gl204_fp32_cpu_serving import Fp32CpuServing
from greenlint.rules.gl601_model_table import (
    CHECKPOINTS,
    alternatives,
    canonical,
    is_llm,
    lookup,
)
from greenlint.rules.gl601_oversized_model import OversizedModel

ROOT = Path(__file__).resolve().parent.parent
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def _messages(rule, code: str, options: dict | None = None, filename: str = "app.py") -> list[str]:
    return [d.message for d in lint_text(code, filename, [rule(options or {})]).diagnostics]


# -- GL601's table --------------------------------------------------------------------------


@pytest.mark.parametrize("model_id", sorted(CHECKPOINTS))
def test_every_row_has_a_source_and_its_numbers_are_in_the_catalogue(model_id):
    """The catalogue entry is the human-readable copy of the table: every number a message can
    quote must appear there, next to its reference, so neither drifts from the other."""
    row = CHECKPOINTS[model_id]
    assert row.instead and row.source, model_id
    assert model_id == model_id.lower() == canonical(model_id), "keys are canonical lower-case ids"
    catalogue = (ROOT / "rules" / "GL601.md").read_text()
    bare = model_id.split("/")[-1]
    assert bare in catalogue, f"{model_id} is not in rules/GL601.md's table"
    missing = [n for n in _NUMBER.findall(row.delta) if n not in catalogue]
    assert not missing, f"{model_id}: numbers {missing} are not in rules/GL601.md"


def test_first_alternative_is_not_itself_listed_as_oversized():
    for model_id, row in CHECKPOINTS.items():
        first = alternatives(row)[0]
        assert lookup(first) is None, (model_id, first)


@pytest.mark.parametrize(
    ("spelled", "expected"),
    [
        ("google-bert/bert-base-uncased", "bert-base-uncased"),
        ("FacebookAI/roberta-large", "roberta-large"),
        ("openai-community/gpt2-xl", "gpt2-xl"),
        ("google-t5/t5-large", "t5-large"),
        ("all-mpnet-base-v2", "sentence-transformers/all-mpnet-base-v2"),
        ("OpenAI/Whisper-Large-V3", "openai/whisper-large-v3"),
    ],
)
def test_lookup_matches_moved_and_bare_ids(spelled, expected):
    assert lookup(spelled) is CHECKPOINTS[expected]


@pytest.mark.parametrize("model_id", ["bert-base-uncased-finetuned-sst2", "my-org/bert-large-uncased", "gpt2", "t5-small"])
def test_lookup_ignores_derivatives_and_small_models(model_id):
    assert lookup(model_id) is None


def test_alternatives_parse_or_and_notes():
    assert alternatives(CHECKPOINTS["gpt2-xl"]) == ["distilgpt2", "gpt2"]
    assert alternatives(CHECKPOINTS["openai/whisper-large-v3"]) == ["distil-whisper/distil-large-v3"]


@pytest.mark.parametrize(
    "model_id",
    ["meta-llama/Llama-3.1-8B-Instruct", "mistralai/Mixtral-8x7B-v0.1", "Qwen/Qwen2.5-7B-Instruct", "google/gemma-2-9b", "someone/llama-3-8b-sentiment"],
)
def test_llm_ids(model_id):
    assert is_llm(model_id)


@pytest.mark.parametrize("model_id", ["distilbert-base-uncased", "google/electra-small-discriminator", "facebook/bart-large-mnli", "dslim/bert-base-NER"])
def test_not_llm_ids(model_id):
    assert not is_llm(model_id)


def test_gl601_user_mapping_overrides_and_is_case_insensitive():
    code = 'from transformers import AutoModel\nm = AutoModel.from_pretrained("ACME/Big")\n'
    [message] = _messages(OversizedModel, code, {"extra-models": {"acme/big": "acme/small"}})
    assert "`acme/small`" in message


def test_gl601_reports_on_the_id_not_the_call():
    code = 'from transformers import pipeline\np = pipeline("summarization", model="facebook/bart-large-cnn")\n'
    [diagnostic] = lint_text(code, "app.py", [OversizedModel()]).diagnostics
    assert code[diagnostic.start : diagnostic.end] == '"facebook/bart-large-cnn"'


def test_gl601_stays_silent_in_tests_by_default():
    code = 'from transformers import AutoModel\nm = AutoModel.from_pretrained("bert-large-uncased")\n'
    assert _messages(OversizedModel, code, filename="tests/test_model.py") == []
    assert len(_messages(OversizedModel, code, {"include-tests": True}, filename="tests/test_model.py")) == 1


# -- GL204's gates --------------------------------------------------------------------------

_SERVED = """
import torch
from torch import nn

model = nn.Sequential(nn.Linear(512, 1024), nn.ReLU(), nn.Linear(1024, 10)).eval()
{extra}
with torch.no_grad():
    for batch in batches:
        print(model(batch).argmax(1))
"""


@pytest.mark.parametrize(
    "extra",
    [
        'device = "cuda" if torch.cuda.is_available() else "cpu"',
        "model.to(args.device)",
        "model.to(batches[0].device)",
        'model = model.to("mps")',
        "model.half()",
        "from optimum.onnxruntime import ORTModelForSequenceClassification",
        "torch.backends.quantized.engine = 'qnnpack'",
        "loss = model(x).sum(); loss.backward()",
        "import lightning as L",
    ],
)
def test_gl204_each_gate_silences(extra):
    assert _messages(Fp32CpuServing, _SERVED.format(extra=extra)) == []


@pytest.mark.parametrize("extra", ["", 'model.to("cpu")', 'model = model.to(torch.device("cpu"))', "model.to(torch.float32)"])
def test_gl204_cpu_stays_cpu(extra):
    assert len(_messages(Fp32CpuServing, _SERVED.format(extra=extra))) == 1


def test_gl204_fixture_fires_before_and_not_after():
    folder = ROOT / "fixtures" / "GL204"
    assert len(_messages(Fp32CpuServing, (folder / "workload.py").read_text(), filename="workload.py")) == 1
    assert _messages(Fp32CpuServing, (folder / "after_handwritten.py").read_text(), filename="after.py") == []


def test_gl204_names_the_recurrent_layers_to_quantize():
    code = """
import torch
from torch import nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(64, 64)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        h = torch.zeros(1, x.size(1), 64, device=x.device)
        return self.fc(self.rnn(x, h)[0])

net = Net().eval()

def predict(x):
    with torch.no_grad():
        return net(x)
"""
    [message] = _messages(Fp32CpuServing, code)
    assert "{torch.nn.Linear, torch.nn.GRU}" in message and "GRU and Linear layers" in message


def test_gl204_vision_auto_classes_may_be_cnns():
    code = """
import torch
from transformers import AutoModelForImageClassification

model = AutoModelForImageClassification.from_pretrained("microsoft/resnet-50")
with torch.no_grad():
    for batch in batches:
        model(batch)
"""
    assert _messages(Fp32CpuServing, code) == []
