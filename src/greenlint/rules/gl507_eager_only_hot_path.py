"""GL507 eager-only-hot-path: long CUDA training or inference loops in PyTorch with no
`torch.compile` anywhere in the file, and TensorFlow custom training steps (a `GradientTape`
run per batch) outside `tf.function`."""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING

from greenlint.diagnostics import Applicability, Fix
from greenlint.rules._cuda_loops import (
    Span,
    cuda_loops,
    identifiers,
    imports_package,
    is_long,
    loop_header,
    short_strings,
)
from greenlint.rules.base import INCLUDE_TESTS, Invalid, Rule, Valid, register
from greenlint.semantic import SemanticModel

if TYPE_CHECKING:
    from greenlint.engine import Context

_STATEMENT_LOOPS = (ast.For, ast.AsyncFor, ast.While)
# Any of these shows the file already compiles, traces or exports its model (or makes that a
# switch): stay silent.
_COMPILE_IDENTIFIER = re.compile(
    r"(?i)(^|_)(compiled?|jit|dynamo|inductor|cudagraphs?|cuda_graphs?|tensorrt|trt|onnx|onnxruntime|openvino"
    r"|torchscript|aot|triton|thunder)($|_)|make_graphed_callables|cudagraph"
)
_COMPILE_STRING = re.compile(
    r"(?i)^-*(compile|torch[-_]compile|inductor|reduce-overhead|max-autotune(-no-cudagraphs)?|cudagraphs|aot_eager|tensorrt|onnx)$"
)
_NOT_TORCH_COMPILE = frozenset({"re.compile", "regex.compile", "builtins.compile", "fnmatch.compile"})
_TAPES = frozenset({"tensorflow.GradientTape", "tensorflow.python.eager.backprop.GradientTape"})
_TF_FUNCTION = ("tensorflow.function", "tensorflow.python.eager.def_function.function", "tensorflow.compat.v2.function")
# Keras calls these overrides from `fit`/`evaluate`/`predict`, which wrap them in a tf.function.
_KERAS_STEP_OVERRIDES = frozenset({"train_step", "test_step", "predict_step"})
_STEP_FUNCTION = re.compile(r"^_?(train|training|distributed_train|eval|evaluation|val|validation|test)_?(step|batch|one_step)$|^_?step_fn$")


@register
class EagerOnlyHotPath(Rule):
    """
    ## What it does
    Flags a long CUDA training or inference loop in a PyTorch file that never uses
    `torch.compile` (or another graph compiler), and a TensorFlow custom training step, a
    `tf.GradientTape` run once per batch, that is not inside a `@tf.function`.

    ## Fix
    None automatic (display-only): `model = torch.compile(model)`; `@tf.function` on the step.
    """

    code = "GL507"
    name = "eager-only-hot-path"
    summary = "Long CUDA training/inference loop run eagerly: no torch.compile / tf.function"
    impact = "medium"
    evidence = "Ansel et al. (ASPLOS 2024): TorchInductor 2.27x inference, 1.41x training geometric-mean speedup over 180+ models on an A100."
    frameworks = ("torch", "tensorflow")
    fix_applicability = Applicability.DISPLAY_ONLY
    options = {"include-tests": INCLUDE_TESTS}

    VALID = [
        Valid(
            """
            import torch

            model = torch.compile(Net().cuda())
            for x, y in loader:
                loss = torch.nn.functional.cross_entropy(model(x.cuda()), y.cuda())
                loss.backward()
                optimizer.step()
            """,
            why="compiled",
        ),
        Valid(
            """
            import torch

            def train(model, loader, optimizer, compile_model=False):
                if compile_model:
                    model = torch.compile(model)
                for x, y in loader:
                    model(x.cuda()).sum().backward()
                    optimizer.step()
            """,
            why="compile behind a flag: the author decided",
        ),
        Valid(
            """
            import torch

            model = torch.jit.load("model.pt").cuda().eval()
            with torch.no_grad():
                for x in loader:
                    model(x.cuda())
            """,
            why="a TorchScript model: already a graph",
        ),
        Valid(
            """
            import torch

            for x, y in loader:
                model(x).sum().backward()
                optimizer.step()
            """,
            why="no CUDA in sight",
        ),
        Valid(
            """
            import torch
            from transformers import Trainer

            Trainer(model=model, args=args).train()
            for batch in loader:
                model(**{k: v.cuda() for k, v in batch.items()})
            """,
            why="HF Trainer: torch_compile is a TrainingArguments setting",
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def train_step(x, y):
                with tf.GradientTape() as tape:
                    loss = loss_fn(y, model(x, training=True))
                grads = tape.gradient(loss, model.trainable_variables)
                optimizer.apply_gradients(zip(grads, model.trainable_variables))

            for x, y in dataset:
                train_step(x, y)
            """,
            why="tf.function on the step",
        ),
        Valid(
            """
            import tensorflow as tf

            def train_step(x, y):
                with tf.GradientTape() as tape:
                    loss = loss_fn(y, model(x, training=True))
                optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))

            step = tf.function(train_step, jit_compile=True)
            for x, y in dataset:
                step(x, y)
            """,
            why="wrapped with tf.function() where it is used",
        ),
        Valid(
            """
            import tensorflow as tf

            class Model(tf.keras.Model):
                def train_step(self, data):
                    x, y = data
                    with tf.GradientTape() as tape:
                        loss = self.compiled_loss(y, self(x, training=True))
                    self.optimizer.apply_gradients(zip(tape.gradient(loss, self.trainable_variables), self.trainable_variables))
                    return {"loss": loss}
            """,
            why="a Keras train_step override: fit() wraps it in a tf.function",
        ),
        Valid(
            """
            import tensorflow as tf

            x = tf.Variable(3.0)
            with tf.GradientTape() as tape:
                y = x * x
            print(tape.gradient(y, x))
            """,
            why="one gradient, not a training loop",
        ),
    ]
    INVALID = [
        Invalid(
            """
            import torch
            import torch.nn.functional as F

            def train(model, loader, optimizer, epochs):
                model = model.cuda()
                for epoch in range(epochs):
                    for x, y in loader:
                        optimizer.zero_grad()
                        F.cross_entropy(model(x.cuda()), y.cuda()).backward()
                        optimizer.step()

            @torch.no_grad()
            def predict(model, loader):
                return torch.cat([model(x.cuda()) for x in loader])
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="torch.compile",
        ),
        Invalid(
            """
            import re
            import torch

            WORD = re.compile(r"\\w+")
            device = torch.device("cuda")
            model = Net().to(device).eval()
            with torch.inference_mode():
                for batch in loader:
                    logits = model(batch.to(device))
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="inference loop",
        ),
        Invalid(
            """
            import tensorflow as tf

            model = tf.keras.Sequential([tf.keras.layers.Dense(10)])
            for epoch in range(10):
                for x, y in dataset:
                    with tf.GradientTape() as tape:
                        loss = loss_fn(y, model(x, training=True))
                    grads = tape.gradient(loss, model.trainable_variables)
                    optimizer.apply_gradients(zip(grads, model.trainable_variables))
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="tf.function",
        ),
        Invalid(
            """
            import tensorflow as tf

            def train_step(x, y):
                with tf.GradientTape() as tape:
                    loss = loss_fn(y, model(x, training=True))
                optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
                return loss

            def fit(dataset, epochs):
                for epoch in range(epochs):
                    for x, y in dataset:
                        train_step(x, y)
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="`train_step`",
        ),
        Invalid(
            """
            import tensorflow as tf

            def train_step(model, optimizer, x, y):
                with tf.GradientTape() as tape:
                    loss = tf.reduce_mean(tf.square(model(x) - y))
                optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
                return loss
            """,
            applicability=Applicability.DISPLAY_ONLY,
        ),
    ]

    def check(self, ctx: Context) -> None:
        semantic = ctx.semantic
        if imports_package(semantic, ("torch",)):
            self._check_torch(ctx)
        if imports_package(semantic, ("tensorflow",)):
            self._check_tf(ctx)

    def _check_torch(self, ctx: Context) -> None:
        semantic = ctx.semantic
        loops = cuda_loops(semantic)
        if not loops or _compiles(semantic):
            return
        first = loops[0]
        more = f" (and {len(loops) - 1} more loop{'s' if len(loops) > 2 else ''} in this file)" if len(loops) > 1 else ""
        ctx.report(
            loop_header(first.node),
            f"this CUDA {first.kind} loop{more} runs the model eagerly, one kernel launch per op: nothing in the file "
            "uses `torch.compile`, which fuses ops and cuts launches and memory traffic on every step",
            Fix(
                Applicability.DISPLAY_ONLY,
                "Compile the model once before the loop: `model = torch.compile(model)` (PyTorch >= 2.0; the first steps pay the compile time)",
                changes_numerics=True,
            ),
        )

    def _check_tf(self, ctx: Context) -> None:
        semantic = ctx.semantic
        reported: set[tuple[int, int]] = set()
        for with_node in (*semantic.nodes(ast.With), *semantic.nodes(ast.AsyncWith)):
            if not any(semantic.call_name(item.context_expr) in _TAPES for item in with_node.items):
                continue
            found = _eager_tf_step(semantic, with_node)
            if found is None:
                continue
            anchor, where = found
            key = (anchor.lineno, anchor.col_offset)
            if key in reported:
                continue
            reported.add(key)
            ctx.report(
                anchor,
                f"{where} runs a `tf.GradientTape` step eagerly, op by op from Python; "
                "decorate the step function with `@tf.function` to run it as one graph",
                Fix(Applicability.DISPLAY_ONLY, "Move the step into a function decorated with `@tf.function` (optionally `jit_compile=True`)"),
            )


def _compiles(semantic: SemanticModel) -> bool:
    cache = semantic.rule_cache.setdefault("GL507", {})
    found = cache.get("compiles")
    if found is None:
        found = cache["compiles"] = _compile_evidence(semantic)
    return found


def _compile_evidence(semantic: SemanticModel) -> bool:
    for word, node in identifiers(semantic):
        if not _COMPILE_IDENTIFIER.search(word):
            continue
        if word == "compile" and isinstance(node, (ast.Name, ast.Attribute)):
            if semantic.qualified_name(node) in _NOT_TORCH_COMPILE:
                continue
            if isinstance(node, ast.Name) and semantic.lookup(node.id, node) is None:
                continue  # the builtin
        return True
    return any(_COMPILE_STRING.match(text) for text in short_strings(semantic))


def _eager_tf_step(semantic: SemanticModel, with_node: ast.AST) -> tuple[object, str] | None:
    """Where an eager tape runs per batch: the loop around it, the loop calling its function,
    or the step function itself; None when it is traced, a Keras override, or a one-off."""
    defs = [a for a in semantic.ancestors(with_node) if isinstance(a, (ast.FunctionDef, ast.AsyncFunctionDef))]
    if any(_is_tf_function(semantic, d) for d in defs):
        return None
    func = defs[0] if defs else None
    if func is not None and func.name in _KERAS_STEP_OVERRIDES and isinstance(semantic.parent(func), ast.ClassDef):
        return None
    loop = next((l for l in semantic.enclosing_loops(with_node) if isinstance(l, _STATEMENT_LOOPS)), None)
    if loop is not None:
        return (loop_header(loop), "this loop") if is_long(semantic, loop) else None
    if func is None:
        return None
    for call in semantic.call_sites(func.name):
        loop = next((l for l in semantic.enclosing_loops(call) if isinstance(l, _STATEMENT_LOOPS)), None)
        if loop is not None and is_long(semantic, loop):
            return loop_header(loop), f"this loop calls `{func.name}`, which"
    if _STEP_FUNCTION.match(func.name) and not isinstance(semantic.parent(func), ast.ClassDef):
        prefix = "async def " if isinstance(func, ast.AsyncFunctionDef) else "def "
        return Span(func.lineno, func.col_offset, func.lineno, func.col_offset + len(prefix) + len(func.name)), f"`{func.name}`"
    return None


def _is_tf_function(semantic: SemanticModel, func: ast.AST) -> bool:
    """Decorated with `@tf.function` (with or without arguments), or passed to `tf.function(...)`
    somewhere in the file."""
    for decorator in func.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        name = semantic.qualified_name(target)
        if name is not None and name.startswith(_TF_FUNCTION):
            return True
    for call in semantic.nodes(ast.Call):
        name = semantic.qualified_name(call.func)
        if name is not None and name.startswith(_TF_FUNCTION) and call.args:
            first = call.args[0]
            if (isinstance(first, ast.Name) and first.id == func.name) or (isinstance(first, ast.Attribute) and first.attr == func.name):
                return True
    return False
