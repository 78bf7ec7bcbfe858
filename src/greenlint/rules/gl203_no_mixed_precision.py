"""GL203 no-mixed-precision: a long CUDA training or inference loop in a file that never turns
on reduced precision (autocast, a bf16/fp16 model, TF32 matmuls, a Keras mixed-precision policy,
an fp16/bf16 training argument)."""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING

from greenlint.diagnostics import Applicability, Fix
from greenlint.rules._cuda_loops import (
    cuda_loops,
    identifiers,
    imports_package,
    loop_header,
    short_strings,
)
from greenlint.rules.base import INCLUDE_TESTS, Invalid, Rule, Valid, register
from greenlint.semantic import SemanticModel

if TYPE_CHECKING:
    from greenlint.engine import Context

# Any identifier like these shows the author already handles precision (or chose fp32 on
# purpose, `allow_tf32 = False`, `set_float32_matmul_precision("highest")`): stay silent.
_PRECISION_IDENTIFIER = re.compile(
    r"(?i)autocast|gradscaler|matmul_precision|fp32_precision|quantiz|bitsandbytes|"
    r"(^|_)(amp|apex|fp16|bf16|fp8|float16|bfloat16|half_precision|mixed_precision|tf32|int8|int4|4bit|8bit|"
    r"torchao|transformer_engine|fp16_opt_level)($|_)"
)
# Names that mean a precision setting only as an attribute or keyword (`x.half()`, `torch.half`,
# `half=True`); as plain variables they are ordinary words (`half = n // 2`).
_PRECISION_MEMBER = frozenset({"half", "torch_dtype", "to_fp16", "to_bf16"})
_PRECISION_STRING = re.compile(
    r"(?i)^-*(amp|apex|autocast|fp16|bf16|fp8|float16|bfloat16|half|tf32|int8|mixed_float16|mixed_bfloat16|"
    r"16-mixed|bf16-mixed|16-true|bf16-true)$"
)
_TF = ("tensorflow", "keras", "tf_keras")


@register
class NoMixedPrecision(Rule):
    """
    ## What it does
    Flags a long CUDA training or inference loop in a file that shows no reduced-precision
    setting at all: no autocast, no bf16/fp16 model or dtype, no TF32 matmuls, no Keras
    mixed-precision policy, no fp16/bf16 flag.

    ## Fix
    None automatic (display-only): wrap the forward pass and the loss in
    `torch.autocast("cuda", dtype=torch.bfloat16)`.
    """

    code = "GL203"
    name = "no-mixed-precision"
    summary = "CUDA training or inference loop in full float32: no autocast, bf16/fp16 or TF32"
    impact = "high"
    evidence = "PyTorch tuning guide: mixed precision offers up to 3x overall speedup on Volta and newer GPUs; Dörrich et al. 2023: up to 1.9x vs float32."
    frameworks = ("torch", "tensorflow", "keras")
    fix_applicability = Applicability.DISPLAY_ONLY
    options = {"include-tests": INCLUDE_TESTS}

    VALID = [
        Valid(
            """
            import torch

            def train(model, loader, optimizer):
                model.cuda()
                for x, y in loader:
                    with torch.autocast("cuda", dtype=torch.bfloat16):
                        loss = torch.nn.functional.cross_entropy(model(x.cuda()), y.cuda())
                    loss.backward()
                    optimizer.step()
                    optimizer.zero_grad()
            """,
            why="autocast around the forward pass",
        ),
        Valid(
            """
            import torch
            from torch.cuda.amp import autocast, GradScaler

            scaler = GradScaler()
            for x, y in loader:
                with autocast():
                    loss = model(x.cuda()).sum()
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
            """,
            why="legacy torch.cuda.amp",
        ),
        Valid(
            """
            import torch

            model = Net().cuda().half()
            with torch.no_grad():
                for batch in loader:
                    print(model(batch.cuda().half()).argmax(1))
            """,
            why="fp16 model",
        ),
        Valid(
            """
            import torch
            from transformers import AutoModelForCausalLM

            model = AutoModelForCausalLM.from_pretrained("gpt2", torch_dtype=torch.bfloat16).to("cuda")
            for batch in loader:
                out = model(**batch)
            """,
            why="bf16 weights through torch_dtype",
        ),
        Valid(
            """
            import torch

            torch.set_float32_matmul_precision("high")
            for x, y in loader:
                loss = model(x.to("cuda")).sum()
                loss.backward()
                optimizer.step()
            """,
            why="TF32 matmuls",
        ),
        Valid(
            """
            import torch

            torch.backends.cuda.matmul.allow_tf32 = True
            for x, y in loader:
                model(x.to("cuda")).sum().backward()
                optimizer.step()
            """,
            why="TF32 through the backend flag",
        ),
        Valid(
            """
            import torch

            def train(model, loader, optimizer, use_amp):
                for x, y in loader:
                    with torch.autocast("cuda", enabled=use_amp):
                        loss = model(x.cuda()).sum()
                    loss.backward()
                    optimizer.step()
            """,
            why="AMP behind a flag: the author already decided",
        ),
        Valid(
            """
            import torch
            import lightning as L

            trainer = L.Trainer(accelerator="gpu", max_epochs=10)
            trainer.fit(model, datamodule)
            for batch in predict_loader:
                print(model(batch.cuda()))
            """,
            why="Lightning sets precision on its Trainer",
        ),
        Valid(
            """
            import torch
            from transformers import Trainer, TrainingArguments

            args = TrainingArguments(output_dir="out")
            Trainer(model=model, args=args, train_dataset=ds).train()
            for batch in loader:
                model(**{k: v.to("cuda") for k, v in batch.items()})
            """,
            why="HF Trainer: precision is a TrainingArguments setting",
        ),
        Valid(
            """
            import torch

            for x, y in loader:
                loss = model(x).sum()
                loss.backward()
                optimizer.step()
            """,
            why="no CUDA in sight: mixed precision is a GPU matter",
        ),
        Valid(
            """
            import torch

            model.cuda()
            for _ in range(10):
                model(torch.randn(8, 16, device="cuda"))
            """,
            why="a ten-step warm-up is not a long loop",
        ),
        Valid(
            """
            import tensorflow as tf
            from tensorflow.keras import mixed_precision

            mixed_precision.set_global_policy("mixed_float16")
            gpus = tf.config.list_physical_devices("GPU")
            model = tf.keras.Sequential([tf.keras.layers.Dense(10)])
            for x, y in dataset:
                with tf.GradientTape() as tape:
                    loss = loss_fn(y, model(x, training=True))
                grads = tape.gradient(loss, model.trainable_variables)
                optimizer.apply_gradients(zip(grads, model.trainable_variables))
            """,
            why="Keras mixed-precision policy",
        ),
        Valid(
            """
            import torch
            from accelerate import Accelerator

            accelerator = Accelerator()
            print(torch.cuda.device_count())
            model, optimizer, loader = accelerator.prepare(model, optimizer, loader)
            for x, y in loader:
                loss = model(x).sum()
                accelerator.backward(loss)
                optimizer.step()
            """,
            why="Accelerate takes mixed precision from its launch config",
        ),
        Valid(
            """
            import torch

            model = PhysicsNet().double().cuda()
            for step in range(10_000):
                loss = residual(model, collocation_points.cuda()).pow(2).mean()
                loss.backward()
                optimizer.step()
            """,
            why="float64 on purpose: the author wants more precision, not less",
        ),
        Valid(
            """
            import torch
            from torch import nn

            model = nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Linear(64, 1)).cuda()
            for x, y in loader:
                nn.functional.mse_loss(model(x.cuda()), y.cuda()).backward()
                optimizer.step()
            """,
            why="a tiny model (every width under 256): launch-bound, tensor cores have nothing to speed up",
        ),
        Valid(
            """
            import torch

            policy = PolicyNet().cuda()
            obs = env.reset()
            for t in range(100_000):
                with torch.no_grad():
                    action = policy(torch.as_tensor(obs, device="cuda")).argmax().item()
                obs, reward, done, info = env.step(action)
            """,
            why="a reinforcement-learning rollout: one tiny forward pass per simulator step",
        ),
        Valid(
            """
            import torch

            def test_training_runs():
                for x, y in loader:
                    model(x.cuda()).sum().backward()
                    optimizer.step()
            """,
            filename="tests/test_train.py",
            why="test file",
        ),
    ]
    INVALID = [
        Invalid(
            """
            import torch
            import torch.nn.functional as F

            def train(model, loader, optimizer, epochs):
                model.cuda()
                for epoch in range(epochs):
                    for x, y in loader:
                        optimizer.zero_grad()
                        loss = F.cross_entropy(model(x.cuda()), y.cuda())
                        loss.backward()
                        optimizer.step()
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="training loop",
        ),
        Invalid(
            """
            import torch as T

            device = T.device("cuda" if T.cuda.is_available() else "cpu")
            model = Net().to(device).eval()
            with T.inference_mode():
                for images in loader:
                    preds = model(images.to(device)).argmax(1)
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="inference loop",
        ),
        Invalid(
            """
            import torch

            def fit(model, train_loader, val_loader, optimizer):
                for x, y in train_loader:
                    model(x.cuda()).sum().backward()
                    optimizer.step()

            @torch.no_grad()
            def evaluate(model, val_loader):
                return [model(x.cuda()) for x in val_loader if x is not None] + [model(x.cuda()) for x in range(3)]

            def predict(model, loader):
                with torch.no_grad():
                    for x in loader:
                        yield model(x.cuda())
            """,
            count=2,
            applicability=Applicability.DISPLAY_ONLY,
        ),
        Invalid(
            """
            import torch

            model = Net().cuda()
            half = len(data) // 2
            for step in range(1000):
                loss = model(data[:half].cuda()).sum()
                loss.backward()
                optimizer.step()
            """,
            applicability=Applicability.DISPLAY_ONLY,
        ),
        Invalid(
            """
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")
            model = tf.keras.Sequential([tf.keras.layers.Dense(10)])
            for x, y in dataset:
                with tf.GradientTape() as tape:
                    loss = loss_fn(y, model(x, training=True))
                grads = tape.gradient(loss, model.trainable_variables)
                optimizer.apply_gradients(zip(grads, model.trainable_variables))
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="mixed_precision",
        ),
    ]

    def check(self, ctx: Context) -> None:
        semantic = ctx.semantic
        loops = cuda_loops(semantic)
        if not loops or _has_precision_setting(semantic) or _tiny_model_file(semantic):
            return
        keras = imports_package(semantic, _TF) and not imports_package(semantic, ("torch",))
        advice = (
            'Set `keras.mixed_precision.set_global_policy("mixed_float16")` (or "mixed_bfloat16") before building the model'
            if keras
            else 'Wrap the forward pass and loss in `with torch.autocast("cuda", dtype=torch.bfloat16):` '
            '(fp16 also needs `torch.amp.GradScaler`), or at least `torch.set_float32_matmul_precision("high")`'
        )
        how = "a Keras `mixed_precision` policy" if keras else "`torch.autocast`"
        for loop in loops:
            ctx.report(
                loop_header(loop.node),
                f"this CUDA {loop.kind} loop runs in full float32: nothing in the file turns on mixed precision, "
                f"bf16/fp16 weights or TF32; {how} uses the GPU's tensor cores and moves half the bytes",
                Fix(Applicability.DISPLAY_ONLY, advice, changes_numerics=True),
            )


# Layers whose first two arguments are widths (in/out features or channels).
_SIZED_LAYERS = frozenset(
    f"torch.nn.{name}"
    for name in ("Linear", "Bilinear", "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d", "LSTM", "GRU", "RNN")
)
_TINY_WIDTH = 256


def _tiny_model_file(semantic: SemanticModel) -> bool:
    """Every layer the file builds has literal widths under 256 and no other model comes in
    (torchvision, timm, from_pretrained, torch.load): matmuls that small are launch-bound, and
    tensor cores have nothing to speed up (autocast's casts may even cost more)."""
    widths: list[int] = []
    for call in semantic.nodes(ast.Call):
        name = semantic.qualified_name(call.func)
        if name is None:
            continue
        if name in _SIZED_LAYERS:
            sizes = call.args[:2]
            if len(sizes) < 2 or not all(isinstance(a, ast.Constant) and isinstance(a.value, int) for a in sizes):
                return False
            widths.extend(a.value for a in sizes)
        elif semantic.is_model_source(call) and not name.startswith("torch.nn."):
            return False  # a pretrained or loaded model of unknown size
    return bool(widths) and max(widths) < _TINY_WIDTH


def _has_precision_setting(semantic: SemanticModel) -> bool:
    cache = semantic.rule_cache.setdefault("GL203", {})
    found = cache.get("setting")
    if found is None:
        found = cache["setting"] = _precision_setting(semantic)
    return found


def _precision_setting(semantic: SemanticModel) -> bool:
    for word, node in identifiers(semantic):
        if _PRECISION_IDENTIFIER.search(word):
            return True
        if word in _PRECISION_MEMBER and not isinstance(node, ast.Name):
            return True
    if any(_PRECISION_STRING.match(text) for text in short_strings(semantic)):
        return True
    for call in semantic.nodes(ast.Call):
        func = call.func
        # `model.to(device, dtype=dtype)`, `model.to(weight_dtype)`, `torch.set_default_dtype(...)`
        # The dtype argument (cheap) before whether the receiver is a model.
        if isinstance(func, ast.Attribute) and func.attr in ("to", "type"):
            if (
                any(k.arg == "dtype" for k in call.keywords)
                or any(
                    isinstance(a, (ast.Name, ast.Attribute)) and "dtype" in (a.id if isinstance(a, ast.Name) else a.attr).lower()
                    for a in call.args
                )
            ) and semantic.is_model(func.value):
                return True
        # A resolved name ends with the attribute called (a plain name may be an alias).
        if (func.attr == "set_default_dtype" if isinstance(func, ast.Attribute) else isinstance(func, ast.Name)) and (
            semantic.qualified_name(func) == "torch.set_default_dtype"
        ):
            return True
    # float64 on purpose (`.double()`, `torch.float64`): the author wants more precision, not less.
    for node in semantic.nodes(ast.Attribute):
        if node.attr in ("double", "float64"):
            qualified = semantic.qualified_name(node)
            called = isinstance(semantic.parent(node), ast.Call) and semantic.parent(node).func is node
            if (qualified is not None and qualified.startswith("torch.")) or (node.attr == "double" and called):
                return True
    return False
