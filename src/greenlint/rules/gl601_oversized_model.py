"""GL601 oversized-model: a known large checkpoint loaded where a published distilled or smaller
checkpoint of the same family and task exists, or a general-purpose generative LLM loaded into a
classification pipeline."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from greenlint.diagnostics import Applicability, Fix
from greenlint.loading import load_of
from greenlint.rules.base import INCLUDE_TESTS, Invalid, Option, Rule, Valid, register
from greenlint.rules.gl601_model_table import (
    CLASSIFICATION_TASKS,
    alternatives,
    canonical,
    is_llm,
    lookup,
)
from greenlint.semantic import SemanticModel

if TYPE_CHECKING:
    from greenlint.engine import Context

_PIPELINE = "transformers.pipeline"
_SENTENCE_MODELS = frozenset({"sentence_transformers.SentenceTransformer", "sentence_transformers.CrossEncoder"})
_LOADERS = frozenset({_PIPELINE, *_SENTENCE_MODELS})
_LOADER_LAST = frozenset({name.rsplit(".", 1)[-1] for name in _LOADERS} | {"from_pretrained"})
# Names under which a large model is deliberately kept next to a small one.
_DELIBERATE_WORDS = ("teacher", "oracle", "reference", "baseline")


@register
class OversizedModel(Rule):
    """
    ## What it does
    Flags a string-literal Hub id passed to `from_pretrained`, `pipeline(model=...)` or
    `SentenceTransformer(...)` that greenlint's table lists as a large checkpoint with a published
    distilled or smaller sibling for the same family and task (bert -> distilbert, roberta ->
    distilroberta, gpt2-large -> distilgpt2, whisper-large -> distil-whisper, bart-large-cnn ->
    distilbart-cnn, ...), and a general-purpose generative LLM loaded into a classification or NER
    pipeline.

    ## Fix
    None automatic: the message names the smaller checkpoint and its published delta.
    """

    code = "GL601"
    name = "oversized-model"
    summary = "A large checkpoint is loaded where a published distilled/smaller one of the same family and task exists"
    impact = "high"
    evidence = (
        "Luccioni et al. (FAccT 2024, A100): multi-purpose generative models are orders of magnitude more expensive "
        "per inference than task-specific ones; DistilBERT: 40% smaller, 60% faster, 97% of BERT's GLUE (Sanh et al. 2019)."
    )
    frameworks = ("transformers", "sentence_transformers")
    # The loaders whose checkpoint argument is judged: `pipeline`, `from_pretrained`, and
    # sentence_transformers' SentenceTransformer/CrossEncoder (qualified: its import names it).
    requires = ("pipeline", "from_pretrained", "sentence_transformers")
    fix_applicability = Applicability.DISPLAY_ONLY
    options = {
        "include-tests": INCLUDE_TESTS,
        "extra-models": Option(
            dict,
            {},
            'More large checkpoints and what to suggest instead, as Hub id = suggestion ("my-org/big" = "my-org/small")',
            str,
        ),
    }

    VALID = [
        Valid(
            """
            from transformers import AutoModelForSequenceClassification

            model = AutoModelForSequenceClassification.from_pretrained("distilbert-base-uncased")
            """,
            why="already the distilled checkpoint",
        ),
        Valid(
            """
            from transformers import AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased")
            """,
            why="a tokenizer costs nothing to run; only model loads are reported",
        ),
        Valid(
            """
            from transformers import AutoModel

            def load(name="bert-large-uncased"):
                return AutoModel.from_pretrained(name)
            """,
            why="the id is a parameter the caller may change, not a literal",
        ),
        Valid(
            """
            from transformers import AutoModelForSequenceClassification

            teacher = AutoModelForSequenceClassification.from_pretrained("bert-base-uncased")
            student = AutoModelForSequenceClassification.from_pretrained("distilbert-base-uncased")
            """,
            why="distillation: the large model is the teacher of the small one",
        ),
        Valid(
            """
            from transformers import AutoModel

            for name in ["roberta-base", "distilroberta-base"]:
                model = AutoModel.from_pretrained("roberta-base")
                compare(model, AutoModel.from_pretrained("distilroberta-base"))
            """,
            why="the file already loads the smaller checkpoint: a size comparison",
        ),
        Valid(
            """
            from transformers import pipeline

            generator = pipeline("text-generation", model="meta-llama/Llama-3.1-8B-Instruct")
            """,
            why="an LLM used for generation, not through a classification pipeline",
        ),
        Valid(
            """
            from transformers import pipeline

            clf = pipeline("text-classification", model="distilbert-base-uncased-finetuned-sst-2-english")
            """,
            why="a task-specific classifier",
        ),
        Valid(
            """
            from transformers import AutoModel

            model = AutoModel.from_pretrained("my-org/bert-base-uncased-custom")
            """,
            why="a fine-tuned derivative: only the listed ids are reported",
        ),
        Valid(
            """
            from transformers import AutoModel

            baseline_model = AutoModel.from_pretrained("bert-large-uncased")
            """,
            why="named as a baseline on purpose",
        ),
    ]
    INVALID = [
        Invalid(
            """
            from transformers import AutoModelForSequenceClassification

            model = AutoModelForSequenceClassification.from_pretrained("bert-base-uncased", num_labels=2)
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="`distilbert-base-uncased`",
        ),
        Invalid(
            """
            import transformers as tf

            model = tf.AutoModel.from_pretrained("google-bert/bert-large-uncased")
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="340M parameters",
        ),
        Invalid(
            """
            from transformers import pipeline as hf_pipeline

            summarizer = hf_pipeline("summarization", model="facebook/bart-large-cnn")
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="sshleifer/distilbart-cnn-12-6",
        ),
        Invalid(
            """
            from transformers import pipeline

            asr = pipeline(model="openai/whisper-large-v3")
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="English speech only",
        ),
        Invalid(
            """
            from sentence_transformers import SentenceTransformer

            MODEL_ID = "all-mpnet-base-v2"
            encoder = SentenceTransformer(MODEL_ID)
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="all-MiniLM-L6-v2",
        ),
        Invalid(
            """
            from transformers import GPT2LMHeadModel

            lm = GPT2LMHeadModel.from_pretrained("openai-community/gpt2-xl")
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="distilgpt2",
        ),
        Invalid(
            """
            from transformers import pipeline

            classifier = pipeline("zero-shot-classification", model="meta-llama/Llama-3.1-8B-Instruct")
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="generative LLM",
        ),
        Invalid(
            """
            import transformers

            tagger = transformers.pipeline(task="ner", model="mistralai/Mistral-7B-v0.1")
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="`ner` pipeline",
        ),
        Invalid(
            """
            from transformers import AutoModel

            model = AutoModel.from_pretrained("acme/encoder-xxl")
            """,
            options={"extra-models": {"acme/encoder-xxl": "acme/encoder-small"}},
            applicability=Applicability.DISPLAY_ONLY,
            message="`acme/encoder-small`",
        ),
    ]

    def check(self, ctx: Context) -> None:
        semantic = ctx.semantic
        extra = self.settings.get("extra-models") or {}
        strings: set[str] | None = None
        # A qualified name's last part is the callee's attribute or the imported name.
        aliases = {local for scope in semantic.scopes.values() for local, target in scope.imports.items() if target in _LOADERS}
        for call in semantic.nodes(ast.Call):
            func = call.func
            if not (func.attr in _LOADER_LAST if isinstance(func, ast.Attribute) else isinstance(func, ast.Name) and func.id in aliases):
                continue  # not pipeline, a sentence-transformers model or from_pretrained
            found = _model_argument(semantic, call)
            if found is None:
                continue
            argument, task = found
            model_id = _string(semantic, argument)
            if model_id is None or _deliberate(semantic, call):
                continue
            shown = model_id if len(model_id) <= 80 else model_id[:77] + "..."
            if task in CLASSIFICATION_TASKS and is_llm(model_id):
                ctx.report(
                    argument,
                    f"`{shown}` is a general-purpose generative LLM loaded into a `{task}` pipeline: for "
                    "classification a fine-tuned task-specific model (an encoder of DistilBERT/RoBERTa size) is "
                    "typically orders of magnitude cheaper per inference (Luccioni et al., FAccT 2024)",
                    Fix(
                        Applicability.DISPLAY_ONLY,
                        "Use a task-specific classifier fine-tuned for this task, and check its accuracy on your data",
                    ),
                )
                continue
            row = lookup(model_id, extra)
            if row is None:
                continue
            if strings is None:
                strings = {canonical(c.value) for c in semantic.nodes(ast.Constant) if isinstance(c.value, str)}
            if any(alt in strings or alt.split("/")[-1] in strings for alt in alternatives(row)):
                continue  # the smaller checkpoint is in the file too: a comparison or distillation
            if row.delta:
                message = (
                    f"`{shown}` has a published smaller sibling for the same task, {_spelled(row.instead)}: "
                    f"{row.delta} ({row.source}); check accuracy on your task before switching"
                )
            else:
                message = f"`{shown}` is listed as oversized in the `extra-models` setting: try {_spelled(row.instead)}"
            ctx.report(argument, message, Fix(Applicability.DISPLAY_ONLY, f"Try {_spelled(row.instead)} and compare accuracy on your task"))


def _model_argument(semantic: SemanticModel, call: ast.Call) -> tuple[ast.AST, str | None] | None:
    """The argument naming the checkpoint of a model-loading call, and the pipeline's task (None
    for other loaders or when the task is not a literal)."""
    name = semantic.qualified_name(call.func)
    if name == _PIPELINE:
        task = call.args[0] if call.args else _keyword(call, "task")
        model = call.args[1] if len(call.args) > 1 else _keyword(call, "model")
        if model is None:
            return None
        task_text = _string(semantic, task) if task is not None else None
        return model, task_text.lower() if task_text else None
    if name in _SENTENCE_MODELS:
        model = call.args[0] if call.args else _keyword(call, "model_name_or_path") or _keyword(call, "model_name")
        return (model, None) if model is not None else None
    if isinstance(call.func, ast.Attribute) and call.func.attr == "from_pretrained":
        load = load_of(semantic, call)
        if load is None or load.kind != "model" or load.path is None:
            return None
        return load.path, None
    return None


def _spelled(instead: str) -> str:
    """`"distilgpt2 or gpt2"` -> "`distilgpt2` or `gpt2`"; a note in parentheses stays plain."""
    ids, _, note = instead.partition("(")
    spelled = " or ".join(f"`{part.strip()}`" for part in ids.split(" or ") if part.strip())
    return f"{spelled} ({note}" if note else spelled


def _keyword(call: ast.Call, name: str) -> ast.AST | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _string(semantic: SemanticModel, expr: ast.AST) -> str | None:
    """A string literal, or a name bound once, in this file, to one (`MODEL_ID = "..."`)."""
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return expr.value
    if isinstance(expr, ast.Name):
        value = semantic.single_value(expr)
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            return value.value
    return None


def _deliberate(semantic: SemanticModel, call: ast.Call) -> bool:
    """Stored under a name that says the large model is kept on purpose (`teacher`, `baseline`)."""
    stmt = semantic.enclosing_statement(call)
    targets: list[ast.AST] = []
    if isinstance(stmt, ast.Assign):
        targets = list(stmt.targets)
    elif isinstance(stmt, ast.AnnAssign):
        targets = [stmt.target]
    text = " ".join(ast.unparse(t).lower() for t in targets)
    return any(word in text for word in _DELIBERATE_WORDS)
