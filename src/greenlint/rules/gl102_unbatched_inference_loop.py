"""GL102 unbatched-inference-loop: a model, pipeline, tokenizer or encoder called once per item."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from greenlint.diagnostics import Applicability, Edit, Fix
from greenlint.fixes import spell
from greenlint.rules.base import INCLUDE_TESTS, Invalid, Option, Rule, Valid, register
from greenlint.semantic import (
    FUNCTION_NODES,
    SemanticModel,
    forward_target,
)

if TYPE_CHECKING:
    from greenlint.engine import Context

_CODE = "GL102"
# Element-wise methods that keep one sample one sample (and commute with stacking).
_PASSTHROUGH = frozenset(
    {"to", "cuda", "cpu", "float", "half", "double", "bfloat16", "contiguous", "detach", "long", "int", "type", "astype", "clone"}
)
_PREDICT_METHODS = frozenset({"predict", "predict_proba", "predict_log_proba", "predict_on_batch", "decision_function"})
# Inference methods of torch models and sentence-transformers encoders.
_ENCODE_METHODS = frozenset(
    {"encode", "encode_image", "encode_text", "embed", "get_image_features", "get_text_features", "forward_features", "extract_features"}
)
_TOKENIZER_METHODS = frozenset({"encode", "encode_plus"})
# Loop-body calls that carry state from one item to the next (RL environments, training).
_STATEFUL_METHODS = frozenset({"step", "reset", "backward", "learn", "fit", "partial_fit", "observe", "zero_grad", "manual_backward"})
# Methods on the model itself that change what its next call computes.
_MODEL_STATE_METHOD = re.compile(r"^_*(reset|update|set|train|load|clear|init|observe|step|register|zero_grad|fit|learn|add|push|remember|store|append)")
_ITER_WRAPPERS = frozenset(
    {"builtins.enumerate", "builtins.zip", "builtins.list", "builtins.tuple", "builtins.sorted", "builtins.reversed", "builtins.iter"}
)
_TQDM = re.compile(r"^tqdm(\.(auto|notebook|rich|std))?\.(tqdm|trange)$")
# Iterables whose items are batches already, or that stream items one at a time.
_BATCHED_NAME = re.compile(r"batch|loader|chunk|bucket|shard|(^|_)dl($|_)|iterator|stream|queue", re.IGNORECASE)
_LOADER_NAME = re.compile(r"loader|(^|_)dl($|_)", re.IGNORECASE)
_DATASET_NAME = re.compile(r"^(dataset|ds|(test|val|valid|eval|train)_?(set|data|dataset|ds)|\w+_dataset|\w+_ds)$", re.IGNORECASE)
_TOKENIZER_NAME = re.compile(r"^(tokenizer|tok|processing_class|\w+_tokenizer)$", re.IGNORECASE)
_PREDICTOR_NAME = re.compile(r"^(clf|estimator|regressor|predictor|reg|\w+_(clf|estimator|regressor|predictor))$", re.IGNORECASE)
_TENSOR_FACTORIES = frozenset(
    {
        "tensor", "as_tensor", "from_numpy", "stack", "cat", "concat", "concatenate", "vstack", "hstack", "randn", "rand",
        "zeros", "ones", "empty", "arange", "linspace", "full", "randint", "normal", "randn_like", "rand_like", "zeros_like",
        "ones_like", "empty_like", "full_like",
    }
)
_TENSOR_METHODS = frozenset({*_PASSTHROUGH, "unsqueeze", "squeeze", "reshape", "view", "permute", "transpose", "flatten"})
_PREDICTOR_PREFIXES = (
    "keras.", "tensorflow.", "tf_keras.", "sklearn.", "xgboost.", "lightgbm.", "catboost.", "joblib.load", "pickle.load",
)
# Pipeline tasks whose __call__ on a list returns exactly [pipe(item) for item in list]
# (transformers Pipeline.__call__ / run_multi); text-classification wraps a single str's result
# in a list, so its rewrite re-wraps each result.
_PLAIN_TASKS = frozenset({"token-classification", "ner"})
_WRAPPED_TASKS = frozenset({"text-classification", "sentiment-analysis"})


@dataclass
class _Input:
    """How the call's input derives from a loop item."""

    loop: ast.AST  # the For or comprehension whose item it is
    generator: ast.comprehension | None
    arg: ast.AST  # the call's input argument
    wrapper: str | None  # "unsqueeze", "slice", "reshape", "list" or None (a bare item)
    wrap_node: ast.AST | None
    base: str  # "direct" (the loop target), "index" (xs[i] over range(len(xs))), "derived"
    base_node: ast.AST
    collection: ast.AST | None  # xs, for direct and index bases


@register
class UnbatchedInferenceLoop(Rule):
    """
    ## What it does
    Flags a model forward, `predict`, Hugging Face pipeline, tokenizer or `encode` call made once
    per sample inside a loop or comprehension (`model(x.unsqueeze(0))`, `model.predict(x[None])`,
    `[pipe(t) for t in texts]`, `tokenizer(t)` per item) whose items are independent.

    ## Fix
    Unsafe, for the plain collect shapes: a list comprehension or a loop that appends, rewritten
    to call the model on stacked chunks and split the outputs back, or to pass the list to the
    pipeline with `batch_size=`. Display-only advice otherwise.
    """

    code = _CODE
    name = "unbatched-inference-loop"
    summary = "Model, pipeline or tokenizer called once per sample in a loop instead of on batches"
    impact = "high"
    evidence = 'HF pipeline docs: 13.6x items/s from batching (GTX 970); greenlint CPU re-run of its fix: 4.6-7.5x (MLP). No GPU measurement yet.'
    frameworks = ("torch", "transformers", "keras", "tensorflow", "sklearn", "sentence_transformers", "diffusers")
    fix_applicability = Applicability.UNSAFE
    options = {
        "batch-size": Option(int, 32, "Items per call in the batched rewrite the fix writes"),
        "include-tests": INCLUDE_TESTS,
    }

    VALID = [
        Valid(
            """
            import torch

            def predict(model, loader):
                return [model(x) for x, _ in loader]
            """,
            why="a DataLoader yields batches",
        ),
        Valid(
            """
            import torch

            def generate(model, ids, steps):
                for _ in range(steps):
                    logits = model(ids)
                    next_id = logits[:, -1].argmax(-1, keepdim=True)
                    ids = torch.cat([ids, next_id], dim=1)
                return ids
            """,
            why="autoregressive: each step consumes the previous output",
        ),
        Valid(
            """
            import torch

            def encode_sequence(rnn, xs):
                h = None
                outs = []
                for x in xs:
                    out, h = rnn(x.unsqueeze(0), h)
                    outs.append(out)
                return outs
            """,
            why="the hidden state carries from one item to the next",
        ),
        Valid(
            """
            import torch

            def rollout(policy, env, observations):
                for obs in observations:
                    action = policy(obs.unsqueeze(0)).argmax()
                    env.step(action)
            """,
            why="RL environment steps",
        ),
        Valid(
            """
            import torch

            def train(model, samples, optimizer):
                for x, y in samples:
                    loss = (model(x.unsqueeze(0)) - y).pow(2).mean()
                    loss.backward()
                    optimizer.step()
            """,
            why="a training loop",
        ),
        Valid(
            """
            import torch

            def ensemble(models, x):
                return [model(x.unsqueeze(0)) for model in models]
            """,
            why="iterates models, not samples",
        ),
        Valid(
            """
            import torch

            def embed(model, xs):
                return [model(x) for x in xs]
            """,
            why="a bare item of an unknown collection may already be a batch",
        ),
        Valid(
            """
            import torch

            def sample(unet, scheduler, latents):
                for t in scheduler.timesteps:
                    noise = unet(latents, t[None])
                    latents = scheduler.step(noise, t, latents).prev_sample
                return latents
            """,
            why="a diffusion sampling loop: latents carry over",
        ),
        Valid(
            """
            from transformers import pipeline

            classifier = pipeline("sentiment-analysis")

            def label(batches):
                return [classifier(batch) for batch in batches]
            """,
            why="each item is a batch already",
        ),
        Valid(
            """
            import torch

            def score(model, loader):
                for batch in loader:
                    for x in batch:
                        model.update_memory(x)
                        model(x.unsqueeze(0))
            """,
            why="the loop mutates the model between items",
        ),
        Valid(
            """
            import torch
            from torch.utils.data import DataLoader

            def run(model, data):
                for x in DataLoader(data, batch_size=64):
                    model(x[None])
            """,
            why="a DataLoader's items are batches",
        ),
        Valid(
            """
            import torch

            tokenizer = lambda text: text.split()

            def words(texts):
                return [tokenizer(t) for t in texts]
            """,
            why="a plain function named tokenizer",
        ),
        Valid(
            """
            from transformers import AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained("gpt2")

            def collate(examples):
                ids = []
                for example in examples:
                    prompt = tokenizer.apply_chat_template(example["messages"], tokenize=False)
                    ids.append(tokenizer(prompt)["input_ids"])
                return ids
            """,
            why="text built per item (chat templates): batching the tokenizer means restructuring",
        ),
        Valid(
            """
            import torch

            async def serve(model, requests):
                async for x in requests:
                    yield model(x.unsqueeze(0))
            """,
            why="a stream: items arrive one at a time",
        ),
        Valid(
            """
            import torch

            def attribute(model, xs):
                grads = []
                for x in xs:
                    x.requires_grad_()
                    model(x.unsqueeze(0)).max().backward()
                    grads.append(x.grad)
                return grads
            """,
            why="per-sample gradients",
        ),
        Valid(
            """
            import torch

            def test_batch_invariance(model, xs):
                for x in xs:
                    assert model(x.unsqueeze(0)).shape[0] == 1
            """,
            filename="tests/test_model.py",
            why="test files are skipped unless include-tests is set",
        ),
    ]
    INVALID = [
        Invalid(
            """
            import torch

            def predict(model, xs):
                return [model(x.unsqueeze(0)) for x in xs]
            """,
            fixed="""
            import torch

            def predict(model, xs):
                return [out for start in range(0, len(xs), 32) for out in model(torch.stack(list(xs[start:start + 32]))).split(1)]
            """,
            applicability=Applicability.UNSAFE,
            changes_numerics=True,
            message="once per item",
        ),
        Invalid(
            """
            import torch as T

            def predict(net, xs, device):
                preds = []
                for x in xs:  # one image at a time
                    preds.append(net(x[None].to(device)).argmax(1))
                return preds
            """,
            fixed="""
            import torch as T

            def predict(net, xs, device):
                preds = []
                for start in range(0, len(xs), 32):  # one image at a time
                    preds.extend(out.argmax(1) for out in net(T.stack(list(xs[start:start + 32])).to(device)).split(1))
                return preds
            """,
            applicability=Applicability.UNSAFE,
            changes_numerics=True,
        ),
        Invalid(
            """
            import torch

            X = torch.randn(1000, 16)
            model = torch.nn.Linear(16, 4)
            scores = [model(X[i:i + 1]).sum().item() for i in range(len(X))]
            """,
            fixed="""
            import torch

            X = torch.randn(1000, 16)
            model = torch.nn.Linear(16, 4)
            scores = [out.sum().item() for start in range(0, len(X), 64) for out in model(X[start:start + 64]).split(1)]
            """,
            options={"batch-size": 64},
            applicability=Applicability.UNSAFE,
            changes_numerics=True,
        ),
        Invalid(
            """
            import torch

            X = torch.randn(1000, 16)
            model = torch.nn.Linear(16, 4)
            outs = torch.cat([model(x.unsqueeze(dim=0)) for x in X])
            """,
            fixed="""
            import torch

            X = torch.randn(1000, 16)
            model = torch.nn.Linear(16, 4)
            outs = torch.cat([out for start in range(0, len(X), 32) for out in model(X[start:start + 32]).split(1)])
            """,
            applicability=Applicability.UNSAFE,
            changes_numerics=True,
        ),
        Invalid(
            """
            from transformers import pipeline

            ner = pipeline("ner", model="dslim/bert-base-NER")
            texts = ["Ada lives in London", "Alan worked in Manchester"]
            entities = [ner(t) for t in texts]
            """,
            fixed="""
            from transformers import pipeline

            ner = pipeline("ner", model="dslim/bert-base-NER")
            texts = ["Ada lives in London", "Alan worked in Manchester"]
            entities = list(ner((t for t in texts), batch_size=32))
            """,
            applicability=Applicability.UNSAFE,
            changes_numerics=True,
        ),
        Invalid(
            """
            import transformers

            def label(reviews):
                clf = transformers.pipeline(task="sentiment-analysis")
                labels = []
                for review in reviews:
                    labels.append(clf(review["text"], truncation=True)[0]["label"])
                return labels
            """,
            fixed="""
            import transformers

            def label(reviews):
                clf = transformers.pipeline(task="sentiment-analysis")
                labels = []
                for out in clf((review["text"] for review in reviews), truncation=True, batch_size=32):
                    labels.append(out["label"])
                return labels
            """,
            applicability=Applicability.UNSAFE,
            changes_numerics=True,
        ),
        Invalid(
            """
            from transformers import pipeline

            sentiment = pipeline("sentiment-analysis")
            results = [sentiment(text) for text in open("reviews.txt")]
            """,
            fixed="""
            from transformers import pipeline

            sentiment = pipeline("sentiment-analysis")
            results = [[out] for out in sentiment((text for text in open("reviews.txt")), batch_size=32)]
            """,
            applicability=Applicability.UNSAFE,
            changes_numerics=True,
        ),
        Invalid(
            """
            from torch import nn


            class Scorer:
                def __init__(self):
                    self.model = nn.Sequential(nn.Linear(8, 8), nn.ReLU())

                def score(self, frames):
                    return [self.model.forward(frame[None, ...]) for frame in frames]
            """,
            fixed="""
            from torch import nn
            import torch


            class Scorer:
                def __init__(self):
                    self.model = nn.Sequential(nn.Linear(8, 8), nn.ReLU())

                def score(self, frames):
                    return [out for start in range(0, len(frames), 32) for out in self.model.forward(torch.stack(list(frames[start:start + 32]))).split(1)]
            """,
            applicability=Applicability.UNSAFE,
            changes_numerics=True,
        ),
        Invalid(
            """
            import torch as th

            def embed(encoder, images: th.Tensor):
                return th.cat([encoder(th.unsqueeze(img, 0)) for img in images])
            """,
            fixed="""
            import torch as th

            def embed(encoder, images: th.Tensor):
                return th.cat([out for start in range(0, len(images), 32) for out in encoder(images[start:start + 32]).split(1)])
            """,
            applicability=Applicability.UNSAFE,
            changes_numerics=True,
        ),
        Invalid(
            """
            from PIL import Image
            import torch

            def classify(model, paths, transform):
                labels = []
                for path in paths:
                    image = transform(Image.open(path))
                    labels.append(model(image.unsqueeze(0)).argmax().item())
                return labels
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="once per item of `paths`",
        ),
        Invalid(
            """
            import numpy as np
            from tensorflow import keras

            model = keras.models.load_model("model.keras")
            images = np.load("images.npy")
            preds = [model.predict(img[np.newaxis]) for img in images]
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="predict",
        ),
        Invalid(
            """
            from transformers import AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased")

            def encode_all(texts):
                return [tokenizer(t, truncation=True)["input_ids"] for t in texts]
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="tokenizer",
        ),
        Invalid(
            """
            from sentence_transformers import SentenceTransformer

            encoder = SentenceTransformer("all-MiniLM-L6-v2")
            vectors = {}
            for doc_id, text in documents.items():
                vectors[doc_id] = encoder.encode(text)
            """,
            applicability=Applicability.DISPLAY_ONLY,
        ),
        Invalid(
            """
            import torch

            model = torch.jit.load("model.pt")
            X = torch.randn(100, 3, 32, 32)
            for x in X:
                print(model(x))
            """,
            applicability=Applicability.DISPLAY_ONLY,
        ),
        Invalid(
            """
            import torch
            from sklearn.ensemble import RandomForestClassifier

            forest = RandomForestClassifier().fit(X, y)
            labels = []
            for i in range(len(X_test)):
                labels.append(forest.predict(X_test[i].reshape(1, -1))[0])
            """,
            applicability=Applicability.DISPLAY_ONLY,
        ),
    ]

    def check(self, ctx: Context) -> None:
        semantic = ctx.semantic
        for call in semantic.nodes(ast.Call):
            # An input argument (cheap) before the loops around the call.
            if not (call.args or call.keywords) or not _callable_shape(call) or _input_arg(call) is None:
                continue
            loops = semantic.enclosing_loops(call)
            if not loops:
                continue
            callee = _callee(semantic, call)
            if callee is None or not _reads_loop_names(semantic, call, loops):
                continue
            kind, receiver = callee
            found = _sample_input(semantic, call, kind, loops)
            if found is None or not _independent(semantic, found.loop, call, kind, receiver):
                continue
            ctx.report(call, _message(call, kind, found), self._fix(ctx, call, kind, receiver, found))

    # ------------------------------------------------------------------ fixing
    def _fix(self, ctx: Context, call: ast.Call, kind: str, receiver: ast.AST, found: _Input) -> Fix:
        size = int(self.settings["batch-size"])
        shape = _collect_shape(ctx.semantic, call, found)
        if shape is not None:
            if kind == "model" and found.wrapper in ("unsqueeze", "slice") and found.base in ("direct", "index"):
                build = _torch_build(ctx, call, found, shape, size)
                if build is not None:
                    message = f"Call `{_text(ctx, receiver)}` on chunks of {size} stacked items and split the outputs back"
                    return Fix(Applicability.UNSAFE, message, changes_numerics=True, build=build)
            if kind == "pipeline" and found.wrapper is None:
                build = _pipeline_build(ctx, call, receiver, found, shape, size)
                if build is not None:
                    message = f"Pass the whole list to `{_text(ctx, receiver)}` with `batch_size={size}`"
                    return Fix(Applicability.UNSAFE, message, changes_numerics=True, build=build)
        return Fix(Applicability.DISPLAY_ONLY, _ADVICE[kind])


_ADVICE = {
    "model": "Stack the items and call the model once per batch (e.g. on `torch.stack(items).split(32)`), then split the outputs",
    "predict": "Call `predict` once on all items stacked into one array (`np.stack(items)`), with `batch_size=`",
    "pipeline": "Pass the whole list (or a `KeyDataset`) to the pipeline in one call, with `batch_size=`",
    "tokenizer": "Tokenize the whole list in one call (`tokenizer(texts, padding=True, truncation=True)`)",
    "encode": "Encode the whole list in one call (`encode(items, batch_size=32)`)",
}


def _message(call: ast.Call, kind: str, found: _Input) -> str:
    name = _short(call.func)
    iterable = found.collection if found.base == "index" else _loop_iter(found.loop, found.generator)
    what = {"model": "model", "predict": "model", "pipeline": "pipeline", "tokenizer": "tokenizer", "encode": "encoder"}[kind]
    return f"`{name}(...)` runs the {what} once per item of `{_short(iterable)}`; batch the items into one call"


# ---------------------------------------------------------------------- detection
def _callable_shape(call: ast.Call) -> bool:
    """Cheap pre-check before any name resolution."""
    func = call.func
    if isinstance(func, ast.Name):
        return True
    if isinstance(func, ast.Attribute):
        attr = func.attr
        if attr == "forward" or attr in _PREDICT_METHODS or attr in _ENCODE_METHODS or attr in _TOKENIZER_METHODS:
            return True
        return isinstance(func.value, ast.Name) and func.value.id == "self"
    return False


def _reads_loop_names(semantic: SemanticModel, call: ast.Call, loops: list[ast.AST]) -> bool:
    """Cheap filter: the input reads a name some enclosing for-loop or comprehension binds."""
    arg = _input_arg(call)
    if arg is None:
        return False
    names = {n.id for n in ast.walk(arg) if isinstance(n, ast.Name)}
    # The loops are nested in one another and a loop's bound names include those of every loop
    # inside it, so asking the outermost non-while loop alone gives the same answer.
    outermost = next((loop for loop in reversed(loops) if not isinstance(loop, ast.While)), None)
    return outermost is not None and not names.isdisjoint(semantic.names_bound_in(outermost))


def _callee(semantic: SemanticModel, call: ast.Call) -> tuple[str, ast.AST] | None:
    """(kind, the receiver) for a call of a model, predictor, pipeline, tokenizer or encoder."""
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr != "forward" and not _is_self_attribute(func):
        receiver = func.value
        if func.attr in _PREDICT_METHODS and _is_predictor(semantic, receiver):
            return "predict", receiver
        if func.attr in _TOKENIZER_METHODS and _is_tokenizer(semantic, receiver):
            return "tokenizer", receiver
        if func.attr in _ENCODE_METHODS and (_is_sentence_encoder(semantic, receiver) or semantic.is_model(receiver)):
            return "encode", receiver
        return None
    target = forward_target(call)
    if target is not None and semantic.is_model(target):
        return "model", target
    if _is_pipeline(semantic, func) is not None:
        return "pipeline", func
    if _is_tokenizer(semantic, func):
        return "tokenizer", func
    return None


def _is_self_attribute(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self"


def _input_arg(call: ast.Call) -> ast.AST | None:
    if call.args:
        first = call.args[0]
        return None if isinstance(first, ast.Starred) else first
    for keyword in call.keywords:
        if keyword.arg in ("input", "inputs", "x", "input_ids", "pixel_values", "input_values", "images", "text", "sentences"):
            return keyword.value
    return None


def _sample_input(semantic: SemanticModel, call: ast.Call, kind: str, loops: list[ast.AST]) -> _Input | None:
    """The loop whose single items the call's input is, with the evidence that they are single."""
    arg = _input_arg(call)
    if arg is None:
        return None
    names_in_arg = {n.id for n in ast.walk(arg) if isinstance(n, ast.Name)}
    if not names_in_arg:
        return None
    for loop in loops:
        if isinstance(loop, ast.AsyncFor):
            return None  # items arrive one at a time
        if isinstance(loop, ast.While):
            continue
        for generator, targets in _loop_targets(loop):
            derived = _derived_names(loop, call, targets) if generator is None else set()
            if not names_in_arg & (targets | derived):
                continue
            return _classify(semantic, call, kind, loop, generator, arg, targets, derived)
    return None


def _loop_targets(loop: ast.AST) -> list[tuple[ast.comprehension | None, set[str]]]:
    if isinstance(loop, ast.For):
        return [(None, _target_names(loop.target))]
    return [(g, _target_names(g.target)) for g in reversed(loop.generators)]


def _target_names(target: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}


def _derived_names(loop: ast.For, call: ast.Call, targets: set[str]) -> set[str]:
    """Names the loop body assigns, before the call, from an expression of the loop item."""
    derived: set[str] = set()
    end = (call.lineno, call.col_offset)
    for stmt in loop.body:
        for node in ast.walk(stmt):
            if not (isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None and _end(node) < end):
                continue
            if {n.id for n in ast.walk(node.value) if isinstance(n, ast.Name)} & (targets | derived):
                for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                    derived |= _bound_names(target)
    return derived - targets


def _classify(semantic, call, kind, loop, generator, arg, targets, derived) -> _Input | None:
    iterable = _loop_iter(loop, generator)
    wrapper, wrap_node, inner = _unwrap(semantic, arg, targets, iterable)
    base, collection = _base(semantic, inner, targets, derived, iterable)
    if base is None:
        return None
    found = _Input(loop, generator, arg, wrapper, wrap_node, base, inner, collection)
    if _is_loader(semantic, iterable):
        return None
    if wrapper is not None:
        return found
    # A bare item: only when neither the loop variable nor the iterable says "batch".
    if any(_BATCHED_NAME.search(n) for n in targets) or _looks_batched(iterable):
        return None
    if kind == "model":
        return found if base in ("direct", "index") and _per_sample_collection(semantic, iterable, collection) else None
    if kind in ("pipeline", "tokenizer") or (kind == "encode" and _is_sentence_encoder(semantic, call.func.value)):
        if kind == "tokenizer" and not _stored_item(inner, targets):
            return None  # text built per item (chat templates, formatting): batching means restructuring
        return found
    return None


def _stored_item(node: ast.AST, targets: set[str]) -> bool:
    """The loop item itself or a constant field of it: `t`, `ex["text"]`, `row.text`."""
    while isinstance(node, (ast.Subscript, ast.Attribute)):
        if isinstance(node, ast.Subscript) and not isinstance(node.slice, ast.Constant):
            return False
        node = node.value
    return isinstance(node, ast.Name) and node.id in targets


def _unwrap(semantic, arg, targets, iterable) -> tuple[str | None, ast.AST | None, ast.AST]:
    """Peel element-wise methods and one batch-of-one wrapper off the input."""
    node = _peel(arg)
    kind, inner = _batch_of_one(semantic, node, targets, iterable)
    if kind is None:
        return None, None, node
    return kind, node, _peel(inner)


def _peel(node: ast.AST) -> ast.AST:
    while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _PASSTHROUGH:
        node = node.func.value
    return node


def _batch_of_one(semantic, node, targets, iterable) -> tuple[str | None, ast.AST | None]:
    """`x.unsqueeze(0)`, `x[None]`, `np.expand_dims(x, 0)`: ("unsqueeze", x); `x.reshape(1, -1)`:
    ("reshape", x); `[x]`, `np.array([x])`: ("list", x); `X[i:i + 1]` over an index: ("slice", X[i])."""
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "unsqueeze" and _zero_dim(node, "dim"):
            return "unsqueeze", func.value
        if isinstance(func, ast.Attribute) and func.attr in ("reshape", "view") and _leading_one(node):
            return "reshape", func.value
        name = semantic.qualified_name(func)
        if name in ("torch.unsqueeze", "numpy.expand_dims", "tensorflow.expand_dims") and len(node.args) >= 1:
            rest = ast.Call(func=func, args=node.args[1:], keywords=node.keywords)
            if _zero_dim(rest, "dim" if name.startswith("torch") else "axis"):
                return "unsqueeze", node.args[0]
        if name in ("numpy.array", "numpy.asarray", "torch.tensor", "torch.stack", "numpy.stack") and node.args:
            first = node.args[0]
            if isinstance(first, ast.List) and len(first.elts) == 1 and not isinstance(first.elts[0], ast.Starred):
                return "list", first.elts[0]
        return None, None
    if isinstance(node, ast.List) and len(node.elts) == 1 and not isinstance(node.elts[0], ast.Starred):
        return "list", node.elts[0]
    if isinstance(node, ast.Subscript):
        index = node.slice
        elements = index.elts if isinstance(index, ast.Tuple) else [index]
        if elements and _is_newaxis(semantic, elements[0]) and all(_is_full_slice(e) for e in elements[1:]):
            return "unsqueeze", node.value
        lower = index.lower if isinstance(index, ast.Slice) and index.step is None else None
        if isinstance(lower, ast.Name) and lower.id in targets and _is_plus_one(index.upper, lower.id):
            if _range_len_of(semantic, iterable) is not None:
                return "slice", ast.Subscript(value=node.value, slice=lower, ctx=ast.Load())
    return None, None


def _zero_dim(call: ast.Call, keyword: str) -> bool:
    value = call.args[0] if len(call.args) == 1 and not call.keywords else None
    if value is None and not call.args and len(call.keywords) == 1 and call.keywords[0].arg == keyword:
        value = call.keywords[0].value
    return isinstance(value, ast.Constant) and value.value == 0 and not isinstance(value.value, bool)


def _leading_one(call: ast.Call) -> bool:
    args = call.args[0].elts if len(call.args) == 1 and isinstance(call.args[0], ast.Tuple) else call.args
    first = args[0] if args else None
    return len(args) >= 2 and isinstance(first, ast.Constant) and first.value == 1 and not isinstance(first.value, bool)


def _is_newaxis(semantic: SemanticModel, node: ast.AST) -> bool:
    if isinstance(node, ast.Constant) and node.value is None:
        return True
    return semantic.qualified_name(node) in ("numpy.newaxis", "torch.newaxis", "tensorflow.newaxis")


def _is_full_slice(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant) and node.value is Ellipsis:
        return True
    return isinstance(node, ast.Slice) and node.lower is None and node.upper is None and node.step is None


def _is_plus_one(node: ast.AST | None, name: str) -> bool:
    if not isinstance(node, ast.BinOp) or not isinstance(node.op, ast.Add):
        return False
    pair = (node.left, node.right)
    return any(
        isinstance(a, ast.Name) and a.id == name and isinstance(b, ast.Constant) and b.value == 1 and not isinstance(b.value, bool)
        for a, b in (pair, pair[::-1])
    )


def _base(semantic, inner, targets, derived, iterable) -> tuple[str | None, ast.AST | None]:
    if isinstance(inner, ast.Name) and inner.id in targets:
        return "direct", _direct_collection(iterable)
    if isinstance(inner, ast.Subscript) and isinstance(inner.slice, ast.Name) and inner.slice.id in targets:
        collection = _range_len_of(semantic, iterable)
        if collection is not None and ast.dump(collection) == ast.dump(inner.value):
            return "index", collection
    if {n.id for n in ast.walk(inner) if isinstance(n, ast.Name)} & (targets | derived):
        return "derived", None
    return None, None


def _direct_collection(iterable: ast.AST) -> ast.AST | None:
    """xs for `for x in xs`; None when the loop iterates something that is not the item list."""
    if isinstance(iterable, ast.Call):
        return None  # enumerate, zip, tqdm, a generator...: not one plain collection
    return iterable


def _range_len_of(semantic: SemanticModel, iterable: ast.AST) -> ast.AST | None:
    """X for `range(len(X))`, `range(X.shape[0])`, `range(X.size(0))`."""
    if not (isinstance(iterable, ast.Call) and semantic.qualified_name(iterable.func) == "builtins.range"):
        return None
    if len(iterable.args) != 1 or iterable.keywords:
        return None
    bound = iterable.args[0]
    if isinstance(bound, ast.Call) and semantic.qualified_name(bound.func) == "builtins.len" and len(bound.args) == 1:
        return bound.args[0]
    if isinstance(bound, ast.Subscript) and isinstance(bound.value, ast.Attribute) and bound.value.attr == "shape" and _is_zero(bound.slice):
        return bound.value.value
    if isinstance(bound, ast.Call) and isinstance(bound.func, ast.Attribute) and bound.func.attr == "size" and _zero_dim(bound, "dim"):
        return bound.func.value
    return None


def _iterated(semantic: SemanticModel, iterable: ast.AST) -> list[ast.AST]:
    """The collections a loop really walks: through enumerate/zip/tqdm/list/sorted."""
    if isinstance(iterable, ast.Call):
        name = semantic.qualified_name(iterable.func)
        if name in _ITER_WRAPPERS or (name is not None and _TQDM.match(name)):
            return [inner for arg in iterable.args for inner in _iterated(semantic, arg)]
    return [iterable]


def _identifiers(node: ast.AST) -> list[str]:
    return [n.id if isinstance(n, ast.Name) else n.attr for n in ast.walk(node) if isinstance(n, (ast.Name, ast.Attribute))]


def _looks_batched(iterable: ast.AST) -> bool:
    if isinstance(iterable, ast.Call) and isinstance(iterable.func, ast.Attribute) and iterable.func.attr in ("split", "chunk", "tensor_split"):
        return True
    return any(_BATCHED_NAME.search(name) for name in _identifiers(iterable))


def _is_loader(semantic: SemanticModel, iterable: ast.AST) -> bool:
    for node in _iterated(semantic, iterable):
        if any(_LOADER_NAME.search(name) for name in _identifiers(node)):
            return True
        for value in [node, *(_values(semantic, node) or [])]:
            name = semantic.call_name(value) if value is not None else None
            if name is not None and name.rsplit(".", 1)[-1] == "DataLoader":
                return True
    return False


def _per_sample_collection(semantic: SemanticModel, iterable: ast.AST, collection: ast.AST | None) -> bool:
    """Whether walking the iterable yields single samples: rows of a tensor, items of a dataset."""
    for node in _iterated(semantic, collection if collection is not None else iterable):
        if _is_tensor(semantic, node) or _is_dataset(semantic, node):
            return True
    return False


def _is_dataset(semantic: SemanticModel, node: ast.AST) -> bool:
    values = _values(semantic, node)
    if values is None:
        return False
    for value in values:
        name = semantic.call_name(value) if value is not None else None
        if name is not None and (name.startswith("torchvision.datasets.") or name in ("torch.utils.data.TensorDataset", "torch.utils.data.Subset")):
            return True
    return isinstance(node, ast.Name) and bool(_DATASET_NAME.match(node.id)) and all(v is None for v in values)


def _is_tensor(semantic: SemanticModel, node: ast.AST, depth: int = 0) -> bool:
    """A tensor by construction: a torch factory's result, a method of one, or a parameter
    annotated `torch.Tensor`."""
    if depth > 4:
        return False
    if isinstance(node, ast.Call):
        name = semantic.qualified_name(node.func)
        if name is not None and name.startswith("torch.") and name.rsplit(".", 1)[-1] in _TENSOR_FACTORIES:
            return True
        func = node.func
        return isinstance(func, ast.Attribute) and func.attr in _TENSOR_METHODS and _is_tensor(semantic, func.value, depth + 1)
    if not isinstance(node, ast.Name):
        return False
    found = semantic.lookup(node.id, node)
    if found is None or found[1] != "local":
        return False
    values = found[0].bindings[node.id]
    if not values:
        return False
    for value in values:
        if value is None:
            if not _annotated_tensor(semantic, found[0].node, node.id):
                return False
        elif value is node or not _is_tensor(semantic, value, depth + 1):
            return False
    return True


def _annotated_tensor(semantic: SemanticModel, scope_node: ast.AST, name: str) -> bool:
    if not isinstance(scope_node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    args = scope_node.args
    for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs):
        if arg.arg == name:
            return arg.annotation is not None and semantic.qualified_name(arg.annotation) == "torch.Tensor"
    return False


# ---------------------------------------------------------------------- what is called
def _values(semantic: SemanticModel, node: ast.AST) -> list[ast.AST | None] | None:
    """What a name or `self.attr` is assigned in this file (None entries: unknown values such as
    parameters); None when it is neither."""
    if isinstance(node, ast.Name):
        found = semantic.lookup(node.id, node)
        if found is None or found[1] != "local":
            return None
        return list(found[0].bindings[node.id])
    if _is_self_attribute(node):
        cls = next((a for a in semantic.ancestors(node) if isinstance(a, ast.ClassDef)), None)
        if cls is None:
            return None
        return list(_self_assignments(semantic, cls).get(node.attr, []))
    return None


def _self_assignments(semantic: SemanticModel, cls: ast.ClassDef) -> dict[str, list[ast.AST]]:
    """`self.X = value` assignments in a class's methods, indexed once per file."""
    cache = semantic.rule_cache.setdefault(_CODE, {})
    index = cache.get("self")
    if index is None:
        index = cache["self"] = {}
        for node in semantic.nodes(ast.Assign):
            for target in node.targets:
                if _is_self_attribute(target):
                    owner = next((a for a in semantic.ancestors(node) if isinstance(a, ast.ClassDef)), None)
                    if owner is not None:
                        index.setdefault(owner, {}).setdefault(target.attr, []).append(node.value)
    return index.get(cls, {})


def _value_names(semantic: SemanticModel, node: ast.AST) -> list[str]:
    values = _values(semantic, node) or []
    return [name for value in values if value is not None for name in [semantic.call_name(value)] if name is not None]


def _is_pipeline(semantic: SemanticModel, node: ast.AST) -> str | None:
    """For a transformers/diffusers pipeline: its task when written as a literal, else ''."""
    for value in _values(semantic, node) or []:
        name = semantic.call_name(value) if value is not None else None
        if name is None:
            continue
        if name in ("transformers.pipeline", "transformers.pipelines.pipeline"):
            task = value.args[0] if value.args else next((k.value for k in value.keywords if k.arg == "task"), None)
            return task.value if isinstance(task, ast.Constant) and isinstance(task.value, str) else ""
        if name.startswith(("transformers.", "diffusers.")) and "Pipeline" in name:
            return ""
    return None


def _is_tokenizer(semantic: SemanticModel, node: ast.AST, depth: int = 0) -> bool:
    """Bound to a transformers/tokenizers tokenizer; or, with no value in sight (a parameter,
    `self.tokenizer = tokenizer`), named like one."""
    values = _values(semantic, node)
    if values is None or depth > 3:
        return False
    unknown = True
    for value in values:
        if value is None:
            continue
        if isinstance(value, ast.Name) and value is not node:
            if _is_tokenizer(semantic, value, depth + 1):
                return True
            continue
        unknown = False
        name = semantic.call_name(value)
        if name is not None and name.startswith(("transformers.", "tokenizers.")) and "Tokenizer" in name:
            return True
    identifier = node.id if isinstance(node, ast.Name) else node.attr
    return unknown and bool(_TOKENIZER_NAME.match(identifier))


def _is_sentence_encoder(semantic: SemanticModel, node: ast.AST) -> bool:
    return any(n.startswith("sentence_transformers.") for n in _value_names(semantic, node))


def _is_predictor(semantic: SemanticModel, node: ast.AST) -> bool:
    if _is_sentence_encoder(semantic, node) or semantic.is_model(node):
        return True
    names = _value_names(semantic, node)
    if any(n.startswith(_PREDICTOR_PREFIXES) for n in names):
        return True
    for value in _values(semantic, node) or []:
        # `RandomForestClassifier().fit(X, y)` returns the estimator
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr == "fit":
            inner = value.func.value
            inner_name = semantic.call_name(inner)
            if inner_name is not None and inner_name.startswith(_PREDICTOR_PREFIXES):
                return True
    identifier = node.id if isinstance(node, ast.Name) else node.attr if _is_self_attribute(node) else ""
    return bool(_PREDICTOR_NAME.match(identifier)) and not names


# ---------------------------------------------------------------------- independence
def _independent(semantic: SemanticModel, loop: ast.AST, call: ast.Call, kind: str, receiver: ast.AST) -> bool:
    """Items do not depend on each other: no training, no environment or model state stepped
    in the loop, no value the call reads that the loop carries over from the last item."""
    if semantic.loop_body_trains(loop):
        return False
    function = semantic.enclosing_function(loop)
    if function is not None and _backpropagates(semantic, function):
        return False  # outputs feed a backward pass later (per-sample gradients, training steps)
    receiver_text = ast.dump(receiver)
    for node in ast.walk(loop):
        if isinstance(node, ast.NamedExpr):
            return False
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node is not call:
            if node.func.attr in _STATEFUL_METHODS:
                return False
            if kind != "tokenizer" and _MODEL_STATE_METHOD.match(node.func.attr) and ast.dump(node.func.value) == receiver_text:
                return False
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                if _assigns_into(target, receiver_text):
                    return False
    bound = semantic.names_bound_in(loop)
    if {n.id for n in ast.walk(receiver) if isinstance(n, ast.Name)} & (bound - {"self"}):
        return False
    if isinstance(loop, ast.For):
        carried = _carried(loop, call)
        read = {n.id for part in (*call.args, *(k.value for k in call.keywords)) for n in ast.walk(part) if isinstance(n, ast.Name)}
        if read & carried:
            return False
    return True


def _assigns_into(target: ast.AST, receiver_text: str) -> bool:
    while isinstance(target, (ast.Attribute, ast.Subscript)):
        target = target.value
        if ast.dump(target) == receiver_text:
            return True
    return False


def _carried(loop: ast.For, call: ast.Call) -> set[str]:
    """Names whose value at the call can come from the previous iteration: bound in the body at
    or after the call (or augmented), and names computed from those before it."""
    call_end = _end(call)
    earlier: list[tuple[set[str], set[str]]] = []
    carried: set[str] = set()
    for stmt in loop.body:
        for node in ast.walk(stmt):
            targets: list[ast.AST] = []
            value = None
            if isinstance(node, ast.Assign):
                targets, value = node.targets, node.value
            elif isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.NamedExpr)):
                targets, value = [node.target], node.value
            elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
                targets = [node.target]
            elif isinstance(node, ast.withitem) and node.optional_vars is not None:
                targets = [node.optional_vars]
            names = {name for t in targets for name in _bound_names(t)}
            if not names:
                continue
            position = _end(node) if hasattr(node, "end_lineno") else _end(targets[0])
            if position >= call_end or isinstance(node, ast.AugAssign):
                carried |= names
            elif value is not None:
                earlier.append((names, {n.id for n in ast.walk(value) if isinstance(n, ast.Name)}))
    changed = True
    while changed:
        changed = False
        for names, reads in earlier:
            if reads & carried and not names <= carried:
                carried |= names
                changed = True
    return carried


def _backpropagates(semantic: SemanticModel, function: ast.AST) -> bool:
    """The function calls backward or autograd.grad (unlike semantic.uses_autograd, an sklearn
    `.fit()` before predicting does not count)."""
    cache = semantic.rule_cache.setdefault(_CODE, {}).setdefault("backprop", {})
    found = cache.get(function)
    if found is None:
        found = cache[function] = any(
            (isinstance(c.func, ast.Attribute) and c.func.attr in ("backward", "manual_backward"))
            or semantic.qualified_name(c.func) in ("torch.autograd.grad", "torch.autograd.backward")
            for c in semantic.scope_calls(function)
        )
    return found


def _bound_names(target: ast.AST) -> set[str]:
    """Names an assignment target rebinds (not those read in `a[i] = ...` or `a.b = ...`)."""
    if isinstance(target, ast.Name):
        return {target.id}
    if isinstance(target, (ast.Tuple, ast.List)):
        return {name for element in target.elts for name in _bound_names(element)}
    if isinstance(target, ast.Starred):
        return _bound_names(target.value)
    return set()


def _end(node: ast.AST) -> tuple[int, int]:
    return node.end_lineno or node.lineno, node.end_col_offset or 0


# ---------------------------------------------------------------------- fix shapes
@dataclass
class _Shape:
    """A plain collect: `[ELT for x in xs]`, or `for x in xs: acc.append(ELT)`."""

    kind: str  # "comprehension" or "loop"
    element: ast.AST  # ELT, which holds the call
    append: ast.Call | None  # acc.append(ELT) for loops


def _collect_shape(semantic: SemanticModel, call: ast.Call, found: _Input) -> _Shape | None:
    loop = found.loop
    if isinstance(loop, ast.ListComp):
        generator = loop.generators[0]
        if len(loop.generators) != 1 or generator.ifs or generator.is_async or not isinstance(generator.target, ast.Name):
            return None
        shape = _Shape("comprehension", loop.elt, None)
    elif isinstance(loop, ast.For):
        if loop.orelse or len(loop.body) != 1 or not isinstance(loop.target, ast.Name):
            return None
        stmt = loop.body[0]
        if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)):
            return None
        append = stmt.value
        func = append.func
        if not (isinstance(func, ast.Attribute) and func.attr == "append" and isinstance(func.value, ast.Name)):
            return None
        if len(append.args) != 1 or append.keywords or _leaks_target(semantic, loop):
            return None
        shape = _Shape("loop", append.args[0], append)
    else:
        return None
    item = _target_names(found.generator.target if found.generator else loop.target)
    # The item may only feed the call's input; nothing else in the element may vary.
    outside = [n for n in ast.walk(shape.element) if isinstance(n, ast.Name) and n.id in item and not _inside(n, found.arg)]
    if outside or any(isinstance(n, (ast.Await, ast.Yield, ast.YieldFrom, ast.NamedExpr, ast.Lambda)) for n in ast.walk(shape.element)):
        return None
    if shape.append is not None and shape.append.func.value.id in {n.id for n in ast.walk(shape.element) if isinstance(n, ast.Name)}:
        return None
    # The call runs exactly once per element: not under a condition or in a nested comprehension.
    node = call
    while node is not shape.element:
        node = semantic.parent(node)
        if isinstance(node, (ast.IfExp, ast.BoolOp, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            return None
    return shape


def _inside(node: ast.AST, container: ast.AST) -> bool:
    return any(n is node for n in ast.walk(container))


def _leaks_target(semantic: SemanticModel, loop: ast.For) -> bool:
    """Whether the loop variable is read anywhere outside the loop (its last value would change)."""
    name = loop.target.id
    function = semantic.enclosing_function(loop)
    nodes = semantic.scope_body(function) if function is not None else semantic.nodes(ast.Name)
    inside = {id(n) for n in ast.walk(loop)}
    for node in nodes:
        if isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Load) and id(node) not in inside:
            if function is None:
                found = semantic.lookup(name, node)
                if found is None or found[0] is not semantic.module_scope:
                    continue  # another function's own variable
            if not _rebound_around(semantic, node, name):
                return True
    return False


def _rebound_around(semantic: SemanticModel, node: ast.AST, name: str) -> bool:
    """The read sits in another loop or comprehension that binds the name itself."""
    for ancestor in semantic.ancestors(node):
        if isinstance(ancestor, FUNCTION_NODES):
            return False
        if isinstance(ancestor, (ast.For, ast.AsyncFor)) and name in _target_names(ancestor.target):
            return True
        comprehension = isinstance(ancestor, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp))
        if comprehension and any(name in _target_names(g.target) for g in ancestor.generators):
            return True
    return False


def _is_list_value(semantic: SemanticModel, name: ast.Name) -> bool:
    values = _values(semantic, name)
    if not values:
        return False
    for value in values:
        if isinstance(value, (ast.List, ast.ListComp)):
            continue
        if isinstance(value, ast.Call) and semantic.qualified_name(value.func) == "builtins.list":
            continue
        return False
    return True


# ---------------------------------------------------------------------- fix builders
def _text(ctx: Context, node: ast.AST) -> str:
    start, end = ctx.lines.node_range(node)
    return ctx.text[start:end]


def _replace(ctx: Context, node: ast.AST, replacements: list[tuple[ast.AST, str]]) -> str:
    """The node's source with some of its sub-nodes' source replaced."""
    start, end = ctx.lines.node_range(node)
    text = ctx.text
    pieces = []
    cursor = start
    for sub, new in sorted(replacements, key=lambda r: ctx.lines.node_range(r[0])[0]):
        sub_start, sub_end = ctx.lines.node_range(sub)
        pieces.append(text[cursor:sub_start])
        pieces.append(new)
        cursor = sub_end
    pieces.append(text[cursor:end])
    return "".join(pieces)


def _fresh(ctx: Context, candidates: tuple[str, ...], taken: set[str]) -> str:
    """The first candidate name the file does not use, else the first one numbered."""
    cache = ctx.semantic.rule_cache.setdefault(_CODE, {})
    used = cache.get("names")
    if used is None:
        used = cache["names"] = _all_names(ctx.tree)
    for candidate in candidates:
        if candidate not in used and candidate not in taken:
            return candidate
    counter = 2
    while f"{candidates[0]}{counter}" in used or f"{candidates[0]}{counter}" in taken:
        counter += 1
    return f"{candidates[0]}{counter}"


def _all_names(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
    return names


def _loop_iter(loop: ast.AST, generator: ast.comprehension | None) -> ast.AST:
    return generator.iter if generator is not None else loop.iter


def _header_range(ctx: Context, loop: ast.AST, generator: ast.comprehension | None) -> tuple[int, int]:
    """From the loop target's start to the iterable's end: `x in xs`."""
    target = generator.target if generator is not None else loop.target
    iterable = _loop_iter(loop, generator)
    return ctx.lines.node_range(target)[0], ctx.lines.node_range(iterable)[1]


def _torch_build(ctx: Context, call: ast.Call, found: _Input, shape: _Shape, size: int):
    """`[ELT(model(W(x))) for x in xs]` -> `[ELT(out) for start in range(0, len(xs), n) for out
    in model(torch.stack(list(xs[start:start + n]))).split(1)]`, and a loop that appends ->
    `for start in ...: acc.extend(...)`. Slicing keeps an empty `xs` giving an empty list."""
    if any(not isinstance(k.value, ast.Constant) for k in call.keywords) or len(call.args) > 1:
        return None
    if not any(t == "torch" or t.startswith("torch.") for t in ctx.semantic.module_scope.imports.values()):
        return None  # not a torch file: a model(...) here may be Keras or anything else
    collection = found.collection
    if collection is None or not _plain_reference(collection):
        return None  # `len()` and slices re-evaluate it: only a name or attribute is stable
    if shape.kind == "loop":
        acc = shape.append.func.value
        if not _is_list_value(ctx.semantic, acc) or acc.id in {n.id for n in ast.walk(collection) if isinstance(n, ast.Name)}:
            return None
    loop, generator = found.loop, found.generator
    iterable = _loop_iter(loop, generator)

    def build() -> list[Edit]:
        taken = {n.id for n in ast.walk(loop) if isinstance(n, ast.Name)}
        out = _fresh(ctx, ("out", "output", "result"), taken)
        start = _fresh(ctx, ("start", "begin", "offset"), taken | {out})
        edits: list[Edit] = []
        items = _text(ctx, collection)
        bound = f"len({items})" if found.base == "direct" else _text(ctx, iterable.args[0])
        chunk = f"{items}[{start}:{start} + {size}]"
        if found.wrapper != "slice" and not _is_tensor(ctx.semantic, collection):
            stack, import_edits = spell(ctx, "torch.stack")
            edits.extend(import_edits)
            chunk = f"{stack}(list({chunk}))"
        header = f"{start} in range(0, {bound}, {size})"
        new_arg = _replace(ctx, found.arg, [(found.wrap_node, chunk)])
        new_call = _replace(ctx, call, [(found.arg, new_arg)]) + ".split(1)"
        if shape.kind == "comprehension":
            edits.append(Edit(*ctx.lines.node_range(call), out))
            edits.append(Edit(*_header_range(ctx, loop, generator), f"{header} for {out} in {new_call}"))
        else:
            edits.append(Edit(*_header_range(ctx, loop, None), header))
            acc = _text(ctx, shape.append.func.value)
            if shape.element is call:
                body = f"{acc}.extend({new_call})"
            else:
                body = f"{acc}.extend({_replace(ctx, shape.element, [(call, out)])} for {out} in {new_call})"
            edits.append(Edit(*ctx.lines.node_range(shape.append), body))
        return edits

    return build


def _plain_reference(node: ast.AST) -> bool:
    while isinstance(node, ast.Attribute):
        node = node.value
    return isinstance(node, ast.Name)


def _pipeline_build(ctx: Context, call: ast.Call, receiver: ast.AST, found: _Input, shape: _Shape, size: int):
    """`[pipe(t) for t in texts]` -> `list(pipe((t for t in texts), batch_size=n))`: given a
    generator, a pipeline yields what it returns per item, in order. A generator rather than a
    list: transformers 5 raises on an empty list and reads a list of chat messages as one chat."""
    task = _is_pipeline(ctx.semantic, receiver)
    if task not in _PLAIN_TASKS and task not in _WRAPPED_TASKS:
        return None
    if len(call.args) != 1 or any(k.arg is None for k in call.keywords):
        return None
    if task in _WRAPPED_TASKS and any(k.arg == "top_k" for k in call.keywords):
        return None  # top_k changes how a single input's result is nested
    loop, generator = found.loop, found.generator
    items = _target_names(generator.target if generator else loop.target)
    if any(n.id in items for k in call.keywords for n in ast.walk(k.value) if isinstance(n, ast.Name)):
        return None
    iterable = _loop_iter(loop, generator)
    target = generator.target if generator else loop.target

    def build() -> list[Edit]:
        taken = {n.id for n in ast.walk(loop) if isinstance(n, ast.Name)}
        out = _fresh(ctx, ("out", "output", "result"), taken)
        inputs = f"({_text(ctx, found.arg)} for {_text(ctx, target)} in {_text(ctx, iterable)})"
        original = _text(ctx, call)
        origin = ctx.lines.node_range(call)[0]
        arg_start, arg_end = (offset - origin for offset in ctx.lines.node_range(found.arg))
        cut = max(ctx.lines.node_range(n)[1] for n in (*call.args, *call.keywords)) - origin
        extra = "" if any(k.arg == "batch_size" for k in call.keywords) else f", batch_size={size}"
        new_call = f"{original[:arg_start]}{inputs}{original[arg_end:cut]}{extra}{original[cut:]}"
        # A text-classification pipeline wraps a single string's result in a list.
        parent = ctx.semantic.parent(call)
        if task in _WRAPPED_TASKS and isinstance(parent, ast.Subscript) and parent.value is call and _is_zero(parent.slice):
            replaced, replacement = parent, out
        else:
            replaced, replacement = call, f"[{out}]" if task in _WRAPPED_TASKS else out
        if shape.kind == "comprehension" and shape.element is call and task in _PLAIN_TASKS:
            return [Edit(*ctx.lines.node_range(loop), f"list({new_call})")]
        start_, end_ = _header_range(ctx, loop, generator)
        return [Edit(*ctx.lines.node_range(replaced), replacement), Edit(start_, end_, f"{out} in {new_call}")]

    return build


def _is_zero(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value == 0 and not isinstance(node.value, bool)


def _short(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 40 else text[:37] + "..."
