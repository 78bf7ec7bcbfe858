"""GL204 fp32-cpu-serving: a Linear/LSTM/transformer model served for inference on the CPU in
float32, with no int8 dynamic quantization or int8 export anywhere in the file."""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING

from greenlint.diagnostics import Applicability, Fix
from greenlint.loading import load_of, per_call_reason
from greenlint.rules.base import INCLUDE_TESTS, Invalid, Rule, Valid, register
from greenlint.semantic import SemanticModel

if TYPE_CHECKING:
    from greenlint.engine import Context

# Layers `quantize_dynamic` turns into int8 kernels by default (plain `nn.RNN` is not among
# them), transformer layers whose feed-forward Linear layers it converts, and layers that make a
# model not Linear-heavy (convolutions dominate a CNN's cost and stay in fp32).
_QUANTIZABLE = frozenset({"Linear"})
_RECURRENT = frozenset({"LSTM", "GRU", "LSTMCell", "GRUCell", "RNNCell"})
_SEQUENCE = frozenset({"Transformer", "TransformerEncoder", "TransformerDecoder",
                       "TransformerEncoderLayer", "TransformerDecoderLayer", "MultiheadAttention"})
_CONV = re.compile(r"^(Lazy)?Conv")
# Anything in the file that shows reduced precision, quantization or an export for another
# runtime: then the author has already chosen how to serve it.
_ALREADY = re.compile(r"quant|int8|qint|8bit|4bit|bfloat16|float16|fp16|bf16|^half$|onnx|openvino|tensorrt|ggml|gguf", re.IGNORECASE)
# Frameworks that pick or manage the device themselves.
_DEVICE_MANAGERS = ("lightning", "pytorch_lightning", "accelerate", "deepspeed", "torch_xla", "ray", "intel_extension_for_pytorch",
                    "optimum", "onnxruntime", "openvino", "ctranslate2", "bitsandbytes", "torchao", "vllm", "tensorflow", "keras", "jax")
_ACCELERATOR_WORDS = re.compile(r"^(cuda|gpu|mps|xpu|tpu|npu|hpu)(:\d+)?$", re.IGNORECASE)
# HF classes that are convolutional, or auto classes for vision tasks whose checkpoint may be a
# CNN (dynamic quantization leaves convolutions in fp32).
_CONV_HF = re.compile(r"^(ResNet|ConvNext|RegNet|EfficientNet|MobileNet|Yolos|Detr|Dinat|Swin2SR|UperNet|Segformer|Bit)|Image|Object|Segmentation|Depth|Backbone|Video|Vision")
_SERVING_WORDS = frozenset(
    {"predict", "prediction", "predictions", "infer", "inference", "serve", "serving", "classify", "score", "embed",
     "encode", "handle", "handler", "respond", "transcribe", "translate", "tag", "label"}
)
# Evaluation measures the float32 model (quantizing would change what is measured): loops over a
# validation/test split and functions named for evaluation are not serving.
_EVAL_SPLIT = re.compile(r"(^|[_\W])(val|valid|validation|test|testing|eval|evaluation|dev|holdout)([_\W\d]|s?$)", re.IGNORECASE)
_EVAL_WORDS = frozenset({"eval", "evaluate", "evaluation", "validate", "validation", "val", "test", "testing", "benchmark"})
_FORWARD_METHODS = frozenset({"forward", "generate"})
_MOVES = frozenset({"to", "cuda", "xpu", "mps", "ipu"})
_TOLERATED_DTYPES = frozenset({"float32", "float", "float64", "double"})


@register
class Fp32CpuServing(Rule):
    """
    ## What it does
    Flags a Linear/LSTM/transformer model built or loaded in the file (from `nn.Linear`,
    `nn.LSTM`, `nn.Transformer*` layers, or a Hugging Face `from_pretrained`) that runs repeated
    inference (in a loop, a request handler or a predict-like function, with autograd off or the
    model in eval mode) on the CPU, in float32, when the file shows no int8 dynamic quantization,
    reduced precision or export to another runtime.

    ## Fix
    None automatic: quantization changes numerics and needs an accuracy check.
    """

    code = "GL204"
    name = "fp32-cpu-serving"
    summary = "A Linear/LSTM/transformer model is served on the CPU in float32 without int8 dynamic quantization"
    impact = "medium"
    evidence = "PyTorch BERT dynamic-quantization tutorial (CPU, 1 thread): 438 -> 184 MB, eval 188 -> 157 s, F1 0.901 -> 0.902; greenlint CPU re-run on an MLP: see rules/GL204.md."
    frameworks = ("torch", "transformers")
    # A finding's model is a transformers from_pretrained or is built from torch.nn layers named
    # so (a qualified name keeps its last part in the text: `nn.Linear`, `import Linear as L`).
    requires = ("Linear", "LSTM", "GRU", "RNNCell", "Transformer", "MultiheadAttention", "from_pretrained")
    fix_applicability = Applicability.DISPLAY_ONLY
    options = {"include-tests": INCLUDE_TESTS}

    VALID = [
        Valid(
            """
            import torch
            from torch import nn

            model = nn.Sequential(nn.Linear(512, 1024), nn.ReLU(), nn.Linear(1024, 10)).eval()
            model = torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)
            with torch.no_grad():
                for batch in batches:
                    predictions.append(model(batch).argmax(1))
            """,
            why="already quantized",
        ),
        Valid(
            """
            import torch
            from torch import nn

            model = nn.Sequential(nn.Linear(512, 1024), nn.ReLU(), nn.Linear(1024, 10)).eval()
            model.to("cuda")
            with torch.no_grad():
                for batch in batches:
                    model(batch.cuda())
            """,
            why="served on a GPU",
        ),
        Valid(
            """
            import torch
            from torch import nn

            def evaluate(model, loader, device):
                model.to(device).eval()
                with torch.no_grad():
                    return [model(x.to(device)) for x, _ in loader]

            model = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 10))
            """,
            why="the device is a parameter: CPU-only is not evident",
        ),
        Valid(
            """
            import torch
            from torch import nn

            model = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 10))
            optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
            for x, y in loader:
                loss = nn.functional.cross_entropy(model(x), y)
                loss.backward()
                optimizer.step()
            model.eval()
            with torch.no_grad():
                for x, _ in val_loader:
                    model(x)
            """,
            why="a training script's validation loop, not serving",
        ),
        Valid(
            """
            import torch
            from torch import nn

            class ConvNet(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.conv = nn.Conv2d(3, 64, 3)
                    self.fc1 = nn.Linear(64, 64)
                    self.fc2 = nn.Linear(64, 10)

                def forward(self, x):
                    return self.fc2(self.fc1(self.conv(x).mean((2, 3))))

            net = ConvNet().eval()
            with torch.no_grad():
                for images in batches:
                    net(images)
            """,
            why="a convolutional network: dynamic quantization leaves its convolutions in fp32",
        ),
        Valid(
            """
            import torch
            from transformers import AutoModelForCausalLM

            model = AutoModelForCausalLM.from_pretrained("gpt2", torch_dtype=torch.bfloat16)
            with torch.no_grad():
                for prompt in prompts:
                    model.generate(**prompt)
            """,
            why="already in reduced precision",
        ),
        Valid(
            """
            import torch
            from transformers import AutoModelForSequenceClassification

            model = AutoModelForSequenceClassification.from_pretrained("distilbert-base-uncased")
            with torch.no_grad():
                print(model(**inputs).logits)
            """,
            why="a single forward pass, not serving",
        ),
        Valid(
            """
            import torch
            from torch import nn

            model = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 10)).eval()
            with torch.no_grad():
                for x in batches:
                    model(x)
            torch.onnx.export(model, x, "model.onnx")
            """,
            why="exported to another runtime for serving",
        ),
        Valid(
            """
            import torch
            from torch import nn

            class Head(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.embed = nn.EmbeddingBag(50000, 256)
                    self.fc = nn.Linear(256, 4)

                def forward(self, tokens):
                    return self.fc(self.embed(tokens))

            head = Head().eval()
            with torch.no_grad():
                for tokens in requests:
                    head(tokens)
            """,
            why="one Linear layer after an embedding: not Linear-heavy",
        ),
        Valid(
            """
            import torch
            from torch import nn

            class Block(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.mlp = nn.Sequential(nn.Linear(256, 1024), nn.GELU(), nn.Linear(1024, 256))

                @torch.no_grad()
                def forward(self, x):
                    return [self.mlp(t) for t in x]
            """,
            why="a submodule inside a model class, not the served model",
        ),
        Valid(
            """
            import torch
            from transformers import AutoModel

            def main(val_loader):
                model = AutoModel.from_pretrained("distilbert-base-uncased")
                with torch.no_grad():
                    for batch in val_loader:
                        report(model(**batch))
            """,
            why="evaluation on a validation split measures the float32 model; it is not serving",
        ),
    ]
    INVALID = [
        Invalid(
            """
            import torch
            from torch import nn

            model = nn.Sequential(nn.Linear(512, 1024), nn.ReLU(), nn.Linear(1024, 10))
            model.eval()
            predictions = []
            with torch.no_grad():
                for batch in batches:
                    predictions.append(model(batch).argmax(1))
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="quantize_dynamic",
        ),
        Invalid(
            """
            import torch
            import torch.nn as nn

            class Tagger(nn.Module):
                def __init__(self, vocab, dim=256, tags=17):
                    super().__init__()
                    self.embed = nn.Embedding(vocab, dim)
                    self.lstm = nn.LSTM(dim, dim, num_layers=2, batch_first=True)
                    self.out = nn.Linear(dim, tags)

                def forward(self, tokens):
                    return self.out(self.lstm(self.embed(tokens))[0])

            tagger = Tagger(30000)
            tagger.load_state_dict(torch.load("tagger.pt", map_location="cpu"))
            tagger.eval()

            @torch.inference_mode()
            def tag(tokens):
                return tagger(tokens).argmax(-1)

            for sentence in sentences:
                print(tag(sentence))
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="{torch.nn.Linear, torch.nn.LSTM}",
        ),
        Invalid(
            """
            import torch
            from fastapi import FastAPI
            from transformers import AutoModelForSequenceClassification, AutoTokenizer

            app = FastAPI()
            tokenizer = AutoTokenizer.from_pretrained("distilbert-base-uncased-finetuned-sst-2-english")
            model = AutoModelForSequenceClassification.from_pretrained("distilbert-base-uncased-finetuned-sst-2-english")

            @app.post("/classify")
            def classify(text: str):
                with torch.no_grad():
                    logits = model(**tokenizer(text, return_tensors="pt")).logits
                return int(logits.argmax())
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="on the CPU in float32",
        ),
        Invalid(
            """
            import torch
            from torch import nn

            class Server:
                def __init__(self):
                    self.model = nn.TransformerEncoder(nn.TransformerEncoderLayer(256, 4), num_layers=6).eval()

                @torch.no_grad()
                def predict(self, x):
                    return self.model(x)
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="`self.model`",
        ),
    ]

    def check(self, ctx: Context) -> None:
        semantic = ctx.semantic
        candidates = list(_candidates(semantic))
        if not candidates or not _cpu_only_file(semantic) or _already_reduced(semantic) or _trains(semantic):
            return
        for target, value, kind in candidates:
            uses = _uses(semantic, target)
            if not uses or _moved_or_trained(semantic, uses):
                continue
            evaluated = any(_method(semantic, use) == "eval" for use in uses) or _ends_in_eval(value)
            served = [u for u in uses if _is_forward(semantic, u) and (evaluated or semantic.is_grad_disabled(u)) and _repeated(semantic, u)]
            if not served:
                continue
            recurrent = kind[4:].split(",") if kind.startswith("rnn:") else []
            layers = "{" + ", ".join(f"torch.nn.{name}" for name in ["Linear", *recurrent]) + "}"
            words = f"{'/'.join(recurrent)} and Linear layers" if recurrent else _KIND_WORDS[kind]
            shown = ast.unparse(target)
            where = served[0].lineno
            ctx.report(
                value,
                f"`{shown}` ({words}) serves inference on the CPU in float32 (line {where}) with no int8 "
                f"quantization: `torch.ao.quantization.quantize_dynamic({shown}, {layers}, dtype=torch.qint8)` stores "
                "those weights in int8 and runs int8 matmuls (PyTorch's BERT tutorial: 438 -> 184 MB, eval 188 -> 157 s, "
                "F1 0.901 -> 0.902); check accuracy on your data",
                Fix(
                    Applicability.DISPLAY_ONLY,
                    f"After loading, `{shown} = torch.ao.quantization.quantize_dynamic({shown}, {layers}, dtype=torch.qint8)`, "
                    "or export to an int8 runtime; compare accuracy before and after",
                ),
            )


_KIND_WORDS = {"linear": "Linear layers", "transformer": "transformer layers", "hf": "a Hugging Face transformer"}


# ----------------------------------------------------------------------------------- the file


def _cpu_only_file(semantic: SemanticModel) -> bool:
    """No CUDA or other accelerator anywhere, no framework that places the model itself, and
    every `.to(...)`/`torch.device(...)`/`device=` outside model classes names the CPU or a
    dtype: the model stays on the CPU."""
    if semantic.uses_cuda() or _imports(semantic, _DEVICE_MANAGERS):
        return False
    for constant in semantic.nodes(ast.Constant):
        if isinstance(constant.value, str) and _ACCELERATOR_WORDS.match(constant.value):
            return False
    for keyword in semantic.nodes(ast.keyword):
        if keyword.arg in ("device_map", "accelerator", "devices", "gpus"):
            return False
        if keyword.arg == "device" and not _is_cpu(semantic, keyword.value) and not _in_module_class(semantic, keyword):
            return False
    for call in semantic.nodes(ast.Call):
        if _in_module_class(semantic, call):
            continue  # a model's own code follows its inputs' device (`torch.zeros(..., device=x.device)`)
        func = call.func
        name = semantic.qualified_name(func) or ""
        if name == "torch.device" and not (call.args and _is_cpu(semantic, call.args[0])):
            return False
        if isinstance(func, ast.Attribute) and func.attr in _MOVES and func.attr != "to":
            return False
        if isinstance(func, ast.Attribute) and func.attr == "to":
            if any(not _is_cpu(semantic, a) and not _is_dtype(semantic, a) for a in call.args):
                return False
            if any(k.arg == "device" and not _is_cpu(semantic, k.value) for k in call.keywords):
                return False
    return True


def _is_cpu(semantic: SemanticModel, expr: ast.AST) -> bool:
    if isinstance(expr, ast.Constant):
        return expr.value == "cpu" or expr.value == -1
    if isinstance(expr, ast.Call) and semantic.qualified_name(expr.func) == "torch.device":
        return bool(expr.args) and _is_cpu(semantic, expr.args[0])
    if isinstance(expr, ast.Name):
        value = semantic.single_value(expr)
        return value is not None and value is not expr and _is_cpu(semantic, value)
    return False


def _in_module_class(semantic: SemanticModel, node: ast.AST) -> bool:
    cls = next((a for a in semantic.ancestors(node) if isinstance(a, ast.ClassDef)), None)
    return cls is not None and semantic.is_module_class(cls)


def _is_dtype(semantic: SemanticModel, expr: ast.AST) -> bool:
    name = semantic.qualified_name(expr) or ""
    return name.startswith("torch.") and name.rsplit(".", 1)[-1] in _TOLERATED_DTYPES


def _imports(semantic: SemanticModel, modules: tuple[str, ...]) -> bool:
    for scope in semantic.scopes.values():
        for qualified in scope.imports.values():
            if qualified.split(".", 1)[0] in modules:
                return True
    return False


def _already_reduced(semantic: SemanticModel) -> bool:
    """Quantization, int8/half precision or an export for another runtime anywhere in the file."""
    for node in ast.walk(semantic.tree):
        if isinstance(node, ast.Name):
            text = node.id
        elif isinstance(node, ast.Attribute):
            text = node.attr
        elif isinstance(node, ast.keyword):
            text = node.arg or ""
        elif isinstance(node, (ast.alias, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            text = node.name
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value) <= 40:
            text = node.value
        else:
            continue
        if _ALREADY.search(text):
            return True
    return _exports(semantic)


def _exports(semantic: SemanticModel) -> bool:
    for call in semantic.nodes(ast.Call):
        name = semantic.qualified_name(call.func) or ""
        if name.startswith(("torch.onnx.", "torch.export.", "torch.jit.save", "coremltools.")) or name == "torch.export":
            return True
    return False


def _trains(semantic: SemanticModel) -> bool:
    if semantic.uses_autograd(semantic.tree):
        return True
    return any(semantic.uses_autograd(f) for kind in (ast.FunctionDef, ast.AsyncFunctionDef) for f in semantic.nodes(kind))


# ----------------------------------------------------------------------------------- models


def _candidates(semantic: SemanticModel):
    """(target, value, kind) for every `name = <model>` / `self.x = <model>` whose model is
    evidently Linear/LSTM/transformer-heavy, outside `nn.Module` subclasses."""
    for node in semantic.nodes(ast.Assign):
        if len(node.targets) != 1:
            continue
        target = node.targets[0]
        is_self = isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self"
        if not (isinstance(target, ast.Name) or is_self):
            continue
        if not _may_build_model(semantic, node.value):
            continue  # cheap: most assigned values are no model constructor or load at all
        owner = next((a for a in semantic.ancestors(node) if isinstance(a, ast.ClassDef)), None)
        if owner is not None and semantic.is_module_class(owner):
            continue  # a submodule of a bigger model, not the served model
        kind = _model_kind(semantic, node.value)
        if kind is not None:
            yield target, node.value, kind


def _may_build_model(semantic: SemanticModel, value: ast.AST) -> bool:
    """False only when _model_kind(value) must be None: the (unwrapped) value is no call of a
    transformers from_pretrained, of a torch.nn name or of a plain name."""
    while isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr in ("eval", "cpu", "float", "requires_grad_"):
        value = value.func.value
    if not isinstance(value, ast.Call):
        return False
    if isinstance(value.func, ast.Name):
        return True
    name = semantic.qualified_name(value.func)
    return name is not None and (name.startswith(("torch.nn.", "transformers.")))


def _model_kind(semantic: SemanticModel, value: ast.AST) -> str | None:
    """"linear", "transformer", "rnn:<layers>" or "hf" when `value` builds or loads such a model."""
    while isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr in ("eval", "cpu", "float", "requires_grad_"):
        value = value.func.value
    if not isinstance(value, ast.Call):
        return None
    name = semantic.qualified_name(value.func) or ""
    last = name.rsplit(".", 1)[-1]
    if last == "from_pretrained" and name.startswith("transformers."):
        load = load_of(semantic, value)
        owner = name.rsplit(".", 2)[-2]
        if load is None or load.kind != "model" or _CONV_HF.search(owner) or owner.startswith(("TF", "Flax")):
            return None
        return "hf"
    if name.startswith("torch.nn."):
        return _layers_kind(semantic, [value])
    if isinstance(value.func, ast.Name):
        cls = _local_module_class(semantic, value.func)
        if cls is not None:
            # The same for every construction of the class: once per class and file.
            cache = semantic.rule_cache.setdefault("GL204.class_kind", {})
            if cls not in cache:
                cache[cls] = _layers_kind(semantic, [cls], seen={cls.name})
            return cache[cls]
    return None


def _local_module_class(semantic: SemanticModel, name: ast.Name) -> ast.ClassDef | None:
    found = semantic.lookup(name.id, name)
    if found is None or found[0] is not semantic.module_scope or found[1] != "local":
        return None
    values = found[0].bindings[name.id]
    if len(values) == 1 and isinstance(values[0], ast.ClassDef) and semantic.is_module_class(values[0]):
        return values[0]
    return None


def _layers_kind(semantic: SemanticModel, roots: list[ast.AST], seen: set[str] | None = None) -> str | None:
    """Count the torch.nn layers constructed under `roots` (local module classes they build are
    followed): Linear-heavy when it has a recurrent/transformer layer or at least two Linear
    constructions (or one inside a loop), and no convolution. Returns "linear", "transformer"
    or "rnn:<layers>" (the recurrent layers `quantize_dynamic` converts, e.g. "rnn:GRU,LSTM")."""
    seen = set() if seen is None else seen
    linear = 0
    recurrent: set[str] = set()
    transformer = False
    stack = list(roots)
    while stack:
        root = stack.pop()
        for node in ast.walk(root):
            if not isinstance(node, ast.Call):
                continue
            name = semantic.qualified_name(node.func) or ""
            if name.startswith("torch.nn.") and name.count(".") == 2:
                layer = name.rsplit(".", 1)[-1]
                if _CONV.match(layer):
                    return None
                if layer in _RECURRENT:
                    recurrent.add(layer)
                elif layer in _SEQUENCE:
                    transformer = True
                elif layer in _QUANTIZABLE:
                    linear += 2 if semantic.enclosing_loops(node) else 1
            elif isinstance(node.func, ast.Name) and node.func.id not in seen:
                cls = _local_module_class(semantic, node.func)
                if cls is not None:
                    seen.add(cls.name)
                    stack.append(cls)
    if recurrent:
        return "rnn:" + ",".join(sorted(recurrent))
    if transformer:
        return "transformer"
    return "linear" if linear >= 2 else None


# ----------------------------------------------------------------------------------- uses


def _uses(semantic: SemanticModel, target: ast.AST) -> list[ast.AST]:
    """Every load of the model's name in its scope (`self.x` anywhere in its class)."""
    if isinstance(target, ast.Name):
        found = semantic.lookup(target.id, target)
        if found is None:
            return []
        scope = found[0]
        uses = []
        for node in semantic.nodes(ast.Name):
            if node.id == target.id and isinstance(node.ctx, ast.Load):
                where = semantic.lookup(node.id, node)
                if where is not None and where[0] is scope:
                    uses.append(node)
        return uses
    cls = next((a for a in semantic.ancestors(target) if isinstance(a, ast.ClassDef)), None)
    if cls is None:
        return []
    return [
        n
        for n in ast.walk(cls)
        if isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Load) and n.attr == target.attr
        and isinstance(n.value, ast.Name) and n.value.id == "self"
    ]


def _method(semantic: SemanticModel, use: ast.AST) -> str | None:
    """`m.eval()` -> "eval"; None when the use is not a method call on the model."""
    parent = semantic.parent(use)
    if isinstance(parent, ast.Attribute) and parent.value is use:
        grand = semantic.parent(parent)
        if isinstance(grand, ast.Call) and grand.func is parent:
            return parent.attr
    return None


def _ends_in_eval(value: ast.AST) -> bool:
    while isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute):
        if value.func.attr == "eval":
            return True
        value = value.func.value
    return False


def _moved_or_trained(semantic: SemanticModel, uses: list[ast.AST]) -> bool:
    for use in uses:
        method = _method(semantic, use)
        if method in ("train", "half", "bfloat16", "to_empty") or (method in _MOVES and method != "to"):
            return True
        parent = semantic.parent(use)
        # Handed to an unknown function (`evaluate(model, ...)`, `trainer.fit(model)`) is fine;
        # but given to an optimizer it is trained.
        if isinstance(parent, ast.Attribute) and parent.attr == "parameters":
            grand = semantic.parent(semantic.parent(parent))
            if isinstance(grand, ast.Call) and "optim" in (semantic.qualified_name(grand.func) or ""):
                return True
    return False


def _is_forward(semantic: SemanticModel, use: ast.AST) -> bool:
    parent = semantic.parent(use)
    if isinstance(parent, ast.Call) and parent.func is use:
        return True
    return _method(semantic, use) in _FORWARD_METHODS


def _repeated(semantic: SemanticModel, use: ast.AST) -> bool:
    """Runs many times as serving: in a loop or comprehension, or in a function that is a request
    handler, is called in a loop, or is named like a predict/serve entry point. Evaluation (a
    loop over a validation/test split, a function named evaluate/validate/test) is not serving."""
    function = semantic.enclosing_def(use, through_lambdas=False)
    if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)) and set(function.name.lower().split("_")) & _EVAL_WORDS:
        return False
    loops = semantic.enclosing_loops(use)
    if loops:
        return not any(_EVAL_SPLIT.search(ast.unparse(_iterable(loop))) for loop in loops)
    if function is None or not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    if per_call_reason(semantic, function) is not None:
        return True
    words = set(function.name.lower().strip("_").split("_"))
    return bool(words & _SERVING_WORDS) or function.name == "__call__"


def _iterable(loop: ast.AST) -> ast.AST:
    if isinstance(loop, (ast.For, ast.AsyncFor)):
        return loop.iter
    if isinstance(loop, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
        return loop.generators[0].iter
    return loop.test if isinstance(loop, ast.While) else loop
