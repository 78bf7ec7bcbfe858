"""GL103 model-load-per-call: a model, pipeline, tokenizer or checkpoint loaded inside a function
that runs once per item, batch or request."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from greenlint.diagnostics import Applicability, Fix
from greenlint.loading import (
    IN_PLACE_ADAPTERS,
    MODEL_KINDS,
    MODEL_LOAD_WORDS,
    load_of,
    model_load_candidates,
    outermost_load,
    parameters,
    per_call_reason,
    root_name,
)
from greenlint.rules.base import Invalid, Rule, Valid, register
from greenlint.semantic import SemanticModel

if TYPE_CHECKING:
    from greenlint.engine import Context

# Functions that run once by convention: set-up hooks, constructors, entry points.
_ONCE = frozenset(
    {
        "__init__", "__post_init__", "__new__", "__enter__", "__aenter__", "__set_name__", "setup", "setUp",
        "setUpClass", "setup_class", "setup_method", "on_startup", "startup", "lifespan", "main", "prepare_data",
        "configure_model", "on_fit_start", "on_train_start", "on_validation_start", "on_test_start",
        "on_predict_start", "initialize", "init", "warmup", "load", "reload",
    }
)
# Decorators that make a function run its body once (per argument set) or at start-up.
_CACHING = ("functools.lru_cache", "functools.cache", "functools.cached_property", "cachetools.", "streamlit.cache")
_STARTUP_EVENTS = frozenset({"on_event", "before_first_request", "before_serving", "on_startup", "listener", "before_server_start"})
_SAVES = ("save", "push_to_hub", "export")
_TRAINER = ("Trainer", "SFTTrainer", "DPOTrainer", "GRPOTrainer", "PPOTrainer", "RewardTrainer")


@register
class ModelLoadPerCall(Rule):
    """
    ## What it does
    Flags a model, pipeline, tokenizer or checkpoint loaded inside a function that runs once per
    item, batch or request: a web request handler, a Gradio callback, a Dataset's
    `__getitem__`, a module's `forward`, or a function this file calls in a loop.

    ## Fix
    None automatic: load once at module level, in `__init__`, or behind `functools.lru_cache`.
    """

    code = "GL103"
    name = "model-load-per-call"
    summary = "A model, pipeline, tokenizer or checkpoint is loaded on every call of a per-item or per-request function"
    impact = "high"
    evidence = 'greenlint CPU re-run: loading the model per request cost 5.5-6.8x the CPU time of loading it once.'
    frameworks = (
        "torch", "transformers", "sentence_transformers", "diffusers", "joblib", "pickle", "sklearn", "keras",
        "tensorflow", "ultralytics", "timm", "whisper", "spacy", "onnxruntime", "open_clip", "safetensors",
    )
    # Every finding is a model-kind load, whose name's last part (or pretrained keyword) the text spells.
    requires = MODEL_LOAD_WORDS
    # Findings carry display-only advice; no edit is ever applied.
    fix_applicability = Applicability.DISPLAY_ONLY

    VALID = [
        Valid(
            """
            from fastapi import FastAPI
            from transformers import pipeline

            app = FastAPI()
            classifier = pipeline("sentiment-analysis")

            @app.post("/predict")
            def predict(text: str):
                return classifier(text)
            """,
            why="loaded once at module level",
        ),
        Valid(
            """
            import torch

            class Predictor:
                def __init__(self, path):
                    self.model = torch.jit.load(path)

                def predict(self, x):
                    return self.model(x)

            predictor = Predictor("model.pt")
            for x in inputs:
                predictor.predict(x)
            """,
            why="loaded in __init__",
        ),
        Valid(
            """
            from functools import lru_cache
            from flask import Flask
            from transformers import AutoModel

            app = Flask(__name__)

            @lru_cache(maxsize=None)
            def get_model():
                return AutoModel.from_pretrained("bert-base-uncased")

            @app.route("/embed")
            def embed():
                return get_model()(**inputs())
            """,
            why="cached loader",
        ),
        Valid(
            """
            import joblib
            from flask import Flask

            app = Flask(__name__)
            _model = None

            @app.post("/score")
            def score():
                global _model
                if _model is None:
                    _model = joblib.load("model.joblib")
                return _model.predict(features())
            """,
            why="global-cached singleton",
        ),
        Valid(
            """
            from contextlib import asynccontextmanager
            from fastapi import FastAPI
            from transformers import pipeline

            models = {}

            @asynccontextmanager
            async def lifespan(app: FastAPI):
                models["qa"] = pipeline("question-answering")
                yield

            app = FastAPI(lifespan=lifespan)

            @app.on_event("startup")
            def on_startup():
                models["ner"] = pipeline("ner")
            """,
            why="start-up and lifespan handlers",
        ),
        Valid(
            """
            import torch
            from transformers import AutoModel

            def main():
                model = AutoModel.from_pretrained("bert-base-uncased")
                for batch in batches:
                    model(**batch)

            if __name__ == "__main__":
                main()
            """,
            why="main() runs once",
        ),
        Valid(
            """
            import torch

            def evaluate(checkpoint):
                model = torch.load(checkpoint)
                return score(model)

            for path in ["a.pt", "b.pt"]:
                evaluate(path)
            """,
            why="a different checkpoint on each call",
        ),
        Valid(
            """
            import torch
            from transformers import AutoModelForSequenceClassification

            def run_fold(fold):
                model = AutoModelForSequenceClassification.from_pretrained("bert-base-uncased")
                optimizer = torch.optim.AdamW(model.parameters())
                for batch in folds[fold]:
                    model(**batch).loss.backward()
                    optimizer.step()

            for fold in range(5):
                run_fold(fold)
            """,
            why="fine-tuning needs fresh pretrained weights per call",
        ),
        Valid(
            """
            from transformers import AutoModel

            def build_model():
                return AutoModel.from_pretrained("bert-base-uncased")

            models = [build_model() for _ in range(3)]
            """,
            why="a factory that hands the loaded model to its caller",
        ),
        Valid(
            """
            import torch
            from torch.utils.data import Dataset
            from transformers import AutoTokenizer

            class TextDataset(Dataset):
                def __init__(self, texts):
                    self.texts = texts
                    self.tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased")

                def __getitem__(self, i):
                    return self.tokenizer(self.texts[i])
            """,
            why="tokenizer built once per dataset",
        ),
        Valid(
            """
            import torch

            class Server:
                def predict(self, x):
                    if self._model is None:
                        self._model = torch.jit.load("model.pt")
                    return self._model(x)

            server = Server()
            for x in requests:
                server.predict(x)
            """,
            why="lazily cached on the object",
        ),
        Valid(
            """
            import torch

            @app.get("/health")
            def health():
                return {"ok": True}

            def load_weights():
                return torch.load("weights.pt")
            """,
            why="no web framework imported; and a loader function that is not called per item",
        ),
        Valid(
            """
            from peft import LoraConfig, get_peft_model
            from transformers import AutoModelForCausalLM

            def create_adapter(out_dir, rank):
                model = AutoModelForCausalLM.from_pretrained("gpt2")
                get_peft_model(model, LoraConfig(r=rank)).save_pretrained(out_dir)

            for i in range(3):
                create_adapter(f"adapter-{i}", 4)
            """,
            why="adapts the model in place and saves it: each call needs fresh weights",
        ),
    ]
    INVALID = [
        Invalid(
            """
            from fastapi import FastAPI
            from transformers import AutoModelForSequenceClassification, AutoTokenizer

            app = FastAPI()

            @app.post("/predict")
            def predict(req: Request):
                tok = AutoTokenizer.from_pretrained("distilbert-base-uncased")
                model = AutoModelForSequenceClassification.from_pretrained("distilbert-base-uncased")
                return model(**tok(req.text, return_tensors="pt")).logits.argmax().item()
            """,
            count=2,
            applicability=Applicability.DISPLAY_ONLY,
            message="request handler `predict()`",
        ),
        Invalid(
            """
            import pickle
            import flask

            app = flask.Flask(__name__)

            @app.route("/score", methods=["POST"])
            def score():
                with open("model.pkl", "rb") as f:
                    model = pickle.load(f)
                return str(model.predict([flask.request.json["x"]]))
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="loads a checkpoint",
        ),
        Invalid(
            """
            import gradio as gr
            from transformers import pipeline as hf_pipeline

            def transcribe(audio):
                asr = hf_pipeline("automatic-speech-recognition", model="openai/whisper-small")
                return asr(audio)["text"]

            gr.Interface(fn=transcribe, inputs="audio", outputs="text").launch()
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="Gradio callback",
        ),
        Invalid(
            """
            import torch
            from sentence_transformers import SentenceTransformer

            def embed(text):
                encoder = SentenceTransformer("all-MiniLM-L6-v2")
                return encoder.encode(text)

            vectors = []
            for doc in docs:
                vectors.append(embed(doc))
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="called in a loop at line 10",
        ),
        Invalid(
            """
            import torch
            from torch.utils.data import Dataset
            from transformers import AutoTokenizer

            class TextDataset(Dataset):
                def __init__(self, texts):
                    self.texts = texts

                def __getitem__(self, i):
                    tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased")
                    return tokenizer(self.texts[i])
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="`__getitem__`",
        ),
        Invalid(
            """
            import torch as T

            class Scorer:
                def score(self, x):
                    head = T.load(self.head_path)
                    return head(x)

                def score_all(self, xs):
                    return [self.score(x) for x in xs]
            """,
            applicability=Applicability.DISPLAY_ONLY,
        ),
        Invalid(
            """
            import torch
            from transformers import pipeline

            def summarize(text):
                return pipeline("summarization")(text)[0]["summary_text"]

            summaries = list(map(summarize, articles))
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="mapped over items",
        ),
    ]

    def check(self, ctx: Context) -> None:
        semantic = ctx.semantic
        # Cheap: most calls cannot load a model whatever their names resolve to.
        for call in model_load_candidates(semantic):
            load = load_of(semantic, call)
            if load is None or load.kind not in MODEL_KINDS:
                continue
            function = semantic.enclosing_def(call, through_lambdas=False)
            if function is None or function.name in _ONCE or _runs_once(semantic, function):
                continue
            if not outermost_load(semantic, call):
                continue
            reason = per_call_reason(semantic, function)
            if reason is None or _deliberate(semantic, call, function):
                continue
            spelled = ast.unparse(call.func)
            message = f"`{spelled}(...)` {load.phrase} on every call of `{function.name}()` ({reason})"
            fix = Fix(Applicability.DISPLAY_ONLY, "Load it once at module level, in `__init__` or a start-up hook, or behind `functools.lru_cache`")
            ctx.report(call, f"{message}; load it once and reuse it", fix)


def _runs_once(semantic: SemanticModel, function: ast.AST) -> bool:
    """Cached or start-up functions: `@lru_cache`, `@cache`, `@cached_property`, `@st.cache_resource`,
    `@app.on_event("startup")`, `@asynccontextmanager` lifespans, or a decorator named like a cache."""
    for decorator in function.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        name = semantic.qualified_name(target) or ""
        if name.startswith(_CACHING) or name == "contextlib.asynccontextmanager":
            return True
        last = target.attr if isinstance(target, ast.Attribute) else target.id if isinstance(target, ast.Name) else ""
        if "cache" in last.lower() or "memo" in last.lower() or last in _STARTUP_EVENTS:
            return True
    return False


def _deliberate(semantic: SemanticModel, call: ast.Call, function: ast.AST) -> bool:
    """Loads that are cached, depend on the call's arguments, are handed back to the caller, or
    feed training (which needs fresh weights every time)."""
    stmt = semantic.enclosing_statement(call)
    targets = _targets(stmt)
    if targets and _guarded(semantic, call, function, stmt, targets):
        return True
    if _depends_on_arguments(semantic, call, function):
        return True
    if _returned(function, call, targets):
        return True
    if semantic.uses_autograd(function):
        return True
    for node in semantic.scope_calls(function):
        func = node.func
        last = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        # Training, adapting in place or saving: a job that needs fresh weights each time.
        if last in _TRAINER or last in IN_PLACE_ADAPTERS or last.startswith(_SAVES):
            return True
    return False


def _targets(stmt: ast.stmt) -> list[str]:
    """Texts of what the load is stored into: `model`, `self._model`, `_cache[key]`'s `_cache`."""
    if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
    elif isinstance(stmt, ast.With):
        targets = [item.optional_vars for item in stmt.items if item.optional_vars is not None]
    else:
        return []
    found = []
    for target in targets:
        while isinstance(target, ast.Subscript):
            target = target.value
        if isinstance(target, (ast.Name, ast.Attribute)):
            found.append(ast.unparse(target))
    return found


def _guarded(semantic: SemanticModel, call: ast.Call, function: ast.AST, stmt: ast.stmt, targets: list[str]) -> bool:
    """The store is read before the load in this function (`if _model is None:`, `if key in
    cache: return cache[key]`), or the load sits in an `or` after it: a cache."""
    position = (stmt.lineno, stmt.col_offset)
    for node in ast.walk(function):
        if not isinstance(node, (ast.Name, ast.Attribute)) or not isinstance(node.ctx, ast.Load):
            continue
        if (node.lineno, node.col_offset) >= position and not _in_test_above(semantic, node, stmt):
            continue
        if ast.unparse(node) in targets:
            return True
    parent = semantic.parent(call)
    return isinstance(parent, ast.BoolOp) and parent.values[0] is not call


def _in_test_above(semantic: SemanticModel, node: ast.AST, stmt: ast.stmt) -> bool:
    """The node is in the test of an `if`/`while` that holds the load statement."""
    for ancestor in semantic.ancestors(stmt):
        if isinstance(ancestor, (ast.If, ast.While)) and any(n is node for n in ast.walk(ancestor.test)):
            return True
    return False


def _depends_on_arguments(semantic: SemanticModel, call: ast.Call, function: ast.AST) -> bool:
    """Whether what is loaded can differ between calls: an argument reads a parameter (other
    than self/cls), directly or through a local assigned from one."""
    tainted = set(parameters(function)) - {"self", "cls"}
    if not tainted:
        return False
    assignments = sorted(
        (n for n in ast.walk(function) if isinstance(n, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.For, ast.With))),
        key=lambda n: (n.lineno, n.col_offset),
    )
    for _ in range(2):  # a second pass carries taint around loops
        for node in assignments:
            if isinstance(node, ast.With):
                pairs = [(item.context_expr, item.optional_vars) for item in node.items if item.optional_vars is not None]
            elif isinstance(node, ast.For):
                pairs = [(node.iter, node.target)]
            else:
                pairs = [(node.value, t) for t in (node.targets if isinstance(node, ast.Assign) else [node.target])]
            for value, target in pairs:
                if value is not None and _reads(value, tainted):
                    tainted.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return any(_reads(arg, tainted) for arg in (*call.args, *(k.value for k in call.keywords)))


def _reads(expr: ast.AST, names: set[str]) -> bool:
    return any(isinstance(n, ast.Name) and n.id in names for n in ast.walk(expr))


def _returned(function: ast.AST, call: ast.Call, targets: list[str]) -> bool:
    """A factory: the loaded object itself is returned or yielded."""
    for node in ast.walk(function):
        if isinstance(node, (ast.Return, ast.Yield)) and node.value is not None:
            value = node.value
            if value is call or (isinstance(value, (ast.Name, ast.Attribute)) and ast.unparse(value) in targets):
                return True
            if isinstance(value, ast.Tuple) and any(
                e is call or (isinstance(e, (ast.Name, ast.Attribute)) and ast.unparse(e) in targets) for e in value.elts
            ):
                return True
    return _returned_through(function, call, targets)


def _returned_through(function: ast.AST, call: ast.Call, targets: list[str]) -> bool:
    """`return AutoModel.from_pretrained(...).to(device)`: the load is the root of what is returned."""
    for node in ast.walk(function):
        if isinstance(node, ast.Return) and node.value is not None:
            inner = node.value
            while isinstance(inner, ast.Call) and isinstance(inner.func, ast.Attribute):
                if inner is call:
                    return True
                inner = inner.func.value
            if inner is call:
                return True
            if root_name(node.value) in targets and isinstance(node.value, ast.Call):
                method = node.value.func.attr if isinstance(node.value.func, ast.Attribute) else ""
                if method in ("to", "eval", "cuda", "half", "float", "cpu", "bfloat16", "requires_grad_"):
                    return True
    return False
