"""GL101 inference-without-no-grad: a model forward pass in inference code with autograd on."""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING

from greenlint.diagnostics import Applicability, Edit, Fix
from greenlint.fixes import insert_line_above, spell
from greenlint.rules.base import INCLUDE_TESTS, Invalid, Option, Rule, Valid, register
from greenlint.semantic import SemanticModel, forward_target

if TYPE_CHECKING:
    from greenlint.engine import Context

_INFERENCE_WORDS = frozenset(
    "eval evaluate evaluation evaluating validate validation val valid test testing predict prediction "
    "predictions infer inference generate generation sample sampling serve serving".split()
)
_EVAL_LOADER = re.compile(r"(^|[_\W])(val|valid|validation|test|testing|eval|evaluation|dev|holdout)([_\W\d]|s?$)", re.IGNORECASE)
_ROUTE_METHODS = frozenset({"get", "post", "put", "patch", "delete", "route", "websocket", "api_route"})
# Model internals: calls of submodules there are part of someone else's forward or training.
_MODEL_INTERNALS = frozenset({"forward", "__call__", "training_step", "compute_loss", "loss", "train_step", "step"})
_GENERATION_OPS = frozenset({"cat", "stack", "multinomial", "argmax", "topk", "concat", "hstack"})
# Calls and attributes whose result carries no autograd graph, so values through them can escape.
_DETACHING_METHODS = frozenset(
    {"item", "tolist", "numpy", "detach", "argmax", "argmin", "eq", "ne", "lt", "gt", "le", "ge", "numel", "size", "dim", "long", "int", "bool"}
)
_DETACHING_FUNCTIONS = frozenset({"float", "int", "bool", "len", "round", "str", "print"})
_DETACHING_ATTRIBUTES = frozenset({"shape", "dtype", "device", "ndim"})


@register
class InferenceWithoutNoGrad(Rule):
    """
    ## What it does
    Flags a model's forward pass in inference code (an evaluate/test/predict/generate function,
    code after `model.eval()`, a loop over a validation or test loader, an autoregressive
    generation loop, a web request handler) that runs with autograd enabled.

    ## Fix
    Decorates the inference function with `@torch.no_grad()`, or wraps the statements in
    `with torch.no_grad():`, spelled the way the file imports torch.
    """

    code = "GL101"
    name = "inference-without-no-grad"
    summary = "Model forward pass in inference code runs with autograd on"
    impact = "medium"
    evidence = "CPU (torch 2.13, 1 thread): time within noise; peak memory ~2x lower, ~9x when outputs are kept (greenlint's own run). No GPU measurement yet."
    frameworks = ("torch", "transformers", "timm", "lightning", "diffusers")
    fix_applicability = Applicability.SAFE
    options = {
        "include-tests": INCLUDE_TESTS,
        "extra-inference-names": Option(
            list, [], "More words that mark a function as inference (matched against its name's _-separated words)", str
        ),
    }

    VALID = [
        Valid(
            """
            import torch

            @torch.no_grad()
            def evaluate(model, loader):
                return [model(x) for x, _ in loader]
            """,
            why="decorated",
        ),
        Valid(
            """
            import torch as T

            def evaluate(model, loader):
                model.eval()
                with T.inference_mode():
                    for x, _ in loader:
                        model(x)
            """,
            why="aliased inference_mode",
        ),
        Valid(
            """
            from torch import set_grad_enabled

            def test(model, batch):
                with set_grad_enabled(False):
                    return model(batch)
            """
        ),
        Valid(
            """
            import torch

            def train(model, loader, optimizer):
                model.train()
                for x, y in loader:
                    loss = torch.nn.functional.mse_loss(model(x), y)
                    loss.backward()
                    optimizer.step()
            """,
            why="training",
        ),
        Valid(
            """
            import torch
            import lightning as L

            class Classifier(L.LightningModule):
                def validation_step(self, batch, batch_idx):
                    x, y = batch
                    return self.model(x)
            """,
            why="Lightning runs validation_step without grad",
        ),
        Valid(
            """
            import torch

            def predict(model, x):
                model.requires_grad_(False)
                return model(x)
            """,
            why="frozen parameters",
        ),
        Valid(
            """
            import torch

            def saliency(model, x):
                model.eval()
                x.requires_grad_()
                model(x).sum().backward()
                return x.grad
            """,
            why="gradient-based inference",
        ),
        Valid(
            """
            import torch

            @torch.no_grad()
            def evaluate(model, loader):
                return [run(model, x) for x in loader]

            def run(model, x):
                return model(x)
            """,
            why="only called under no_grad",
        ),
        Valid(
            """
            from transformers import AutoModelForCausalLM

            def generate_text(model, ids):
                return model.generate(ids, max_new_tokens=20)
            """,
            why="generate() disables grad itself",
        ),
        Valid(
            """
            import torch

            class Net(torch.nn.Module):
                def forward(self, x):
                    return self.encoder(x)
            """,
            why="a forward is not inference",
        ),
        Valid(
            """
            import torch
            torch.set_grad_enabled(False)

            def evaluate(model, x):
                return model(x)
            """,
            why="grad disabled for the whole script",
        ),
        Valid(
            """
            import torch

            def test_forward_shape():
                model = torch.nn.Linear(2, 2)
                model.eval()
                assert model(torch.zeros(1, 2)).shape == (1, 2)
            """,
            filename="tests/test_model.py",
            why="test files are skipped unless include-tests is set",
        ),
        Valid(
            """
            import torch
            from utils import smart_inference_mode

            @smart_inference_mode()
            def predict(model, x):
                return model(x)
            """,
            why="an unresolved decorator named like inference_mode",
        ),
        Valid(
            """
            import torch
            from contextlib import nullcontext

            def predict_minibatch(model, x, with_grad):
                grad_context = nullcontext if with_grad else torch.no_grad
                with grad_context():
                    return model(x)
            """,
            why="a local alias of no_grad",
        ),
        Valid(
            """
            import torch

            class MaskDecoder(torch.nn.Module):
                def forward(self, x):
                    return self.predict_masks(x)

                def predict_masks(self, x):
                    return self.transformer(x)
            """,
            why="a helper of the model's own forward",
        ),
        Valid(
            """
            from ultralytics import YOLO
            from transformers import AutoTokenizer

            def predict(path, texts):
                model = YOLO(path)
                tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased")
                return model(texts), tokenizer(texts)
            """,
            why="wrappers that disable grad themselves; tokenizers are not models",
        ),
        Valid(
            """
            import torch

            class Trainer:
                def evaluation_loop(self, batch):
                    return self.generate_from_model(batch)
            """,
            why="a method, not a model attribute",
        ),
    ]
    INVALID = [
        Invalid(
            """
            import torch

            def evaluate(model, loader):
                correct = 0
                for x, y in loader:
                    correct += (model(x).argmax(1) == y).sum().item()
                return correct
            """,
            fixed="""
            import torch

            @torch.no_grad()
            def evaluate(model, loader):
                correct = 0
                for x, y in loader:
                    correct += (model(x).argmax(1) == y).sum().item()
                return correct
            """,
            applicability=Applicability.SAFE,
            message="evaluate()",
        ),
        Invalid(
            """
            import torch as T

            def predict(net, xs):
                return [net(x) for x in xs]
            """,
            fixed="""
            import torch as T

            @T.no_grad()
            def predict(net, xs):
                return [net(x) for x in xs]
            """,
            applicability=Applicability.UNSAFE,
        ),
        Invalid(
            """
            import torch
            from model import Net

            model = Net()
            model.load_state_dict(torch.load("weights.pt"))
            model.eval()
            # score the held-out set
            for x in batches:
                out = model(x)  # logits
                print(out.argmax(1))
            """,
            fixed="""
            import torch
            from model import Net

            model = Net()
            model.load_state_dict(torch.load("weights.pt"))
            model.eval()
            # score the held-out set
            with torch.no_grad():
                for x in batches:
                    out = model(x)  # logits
                    print(out.argmax(1))
            """,
            applicability=Applicability.SAFE,
            message="model.eval()",
        ),
        Invalid(
            """
            from transformers import AutoModel

            def main(val_loader):
                model = AutoModel.from_pretrained("bert-base-uncased")
                for batch in val_loader:
                    report(model(**batch))
            """,
            fixed="""
            from transformers import AutoModel
            import torch

            def main(val_loader):
                model = AutoModel.from_pretrained("bert-base-uncased")
                with torch.no_grad():
                    for batch in val_loader:
                        report(model(**batch))
            """,
            applicability=Applicability.SAFE,
            message="val_loader",
        ),
        Invalid(
            """
            from torch import no_grad, cat

            async def handle(model, ids):
                for _ in range(10):
                    logits = model(ids)
                    ids = cat([ids, logits.argmax(-1)], dim=-1)
                await send(ids.tolist())
            """,
            fixed="""
            from torch import no_grad, cat

            async def handle(model, ids):
                with no_grad():
                    for _ in range(10):
                        logits = model(ids)
                        ids = cat([ids, logits.argmax(-1)], dim=-1)
                await send(ids.tolist())
            """,
            applicability=Applicability.SAFE,
            message="generation loop",
        ),
        Invalid(
            """
            import torch

            def sample(model, z):
                yield model(z)
            """,
            fixed="""
            import torch

            @torch.no_grad()
            def sample(model, z):
                yield model(z)
            """,
            applicability=Applicability.UNSAFE,
        ),
        Invalid(
            """
            import torch

            def test(model, a, b):
                model.eval()
                first = model(a)
                print(first)
                second = model(b)
                return (first - second).abs().max().item()
            """,
            count=2,
            fixed="""
            import torch

            @torch.no_grad()
            def test(model, a, b):
                model.eval()
                first = model(a)
                print(first)
                second = model(b)
                return (first - second).abs().max().item()
            """,
            applicability=Applicability.SAFE,
        ),
        Invalid(
            """
            import torch
            from torch import nn

            encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(64, 4), num_layers=2)

            def embed(batch):
                encoder.eval()
                print(encoder(batch).mean().item())
            """,
            fixed="""
            import torch
            from torch import nn

            encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(64, 4), num_layers=2)

            def embed(batch):
                encoder.eval()
                with torch.no_grad():
                    print(encoder(batch).mean().item())
            """,
            applicability=Applicability.UNSAFE,
            changes_numerics=True,
        ),
    ]

    def check(self, ctx: Context) -> None:
        semantic = ctx.semantic
        words = _INFERENCE_WORDS | set(self.settings["extra-inference-names"])
        findings: list[tuple[ast.Call, str, ast.AST, _Target]] = []
        def_of: dict[ast.AST, ast.AST | None] = {}
        for call in semantic.nodes(ast.Call):
            target = forward_target(call)
            if target is None:
                continue
            function = _enclosing_def(semantic, call, def_of)
            if function is not None and function.name in _MODEL_INTERNALS:
                continue
            # The cheap necessary condition for an inference context first: most calls are in
            # none, and asking whether their callee is a model is what costs.
            if not _could_be_inference(semantic, call, target, function, words):
                continue
            if not semantic.is_model(target) or semantic.is_grad_disabled(call):
                continue
            scope = function or semantic.tree
            if semantic.uses_autograd(scope) or _is_frozen(semantic, target, scope):
                continue
            found = self._inference_context(ctx, call, target, function, scope, words)
            if found is not None:
                findings.append((call, *found))
        self._report(ctx, findings)

    # ------------------------------------------------------------------ detection
    def _inference_context(self, ctx, call, target, function, scope, words):
        """(reason, scope, fix target) when the call runs in inference code, else None."""
        semantic = ctx.semantic
        if function is not None:
            parent = semantic.parent(function)
            in_class = isinstance(parent, ast.ClassDef)
            if in_class and semantic.is_module_class(parent) and _called_on_self(semantic, function.name):
                return None  # a helper of the model's own forward, e.g. SAM's predict_masks
            if _is_inference_name(function.name, words):
                return f"in `{function.name}()`, an inference function", scope, _Target.decorate(function)
            if _is_route_handler(function):
                return f"in request handler `{function.name}()`", scope, _Target.decorate(function)
            if in_class and semantic.is_module_class(semantic.parent(function)):
                return None  # a model's own helper methods run inside someone's forward
        eval_call = _eval_before(semantic, target, call, scope)
        if eval_call is not None:
            return f"after `{ast.unparse(eval_call.func.value)}.eval()`", scope, _Target.wrap_sibling_of(semantic, call, eval_call)
        for loop in semantic.enclosing_loops(call):
            iterable = getattr(loop, "iter", None) or (loop.generators[0].iter if hasattr(loop, "generators") else None)
            if iterable is not None and _mentions_eval_data(iterable):
                return f"in a loop over `{_short(iterable)}`", scope, _Target.wrap_loop(semantic, loop)
            if isinstance(loop, (ast.For, ast.While)) and _is_generation_loop(semantic, loop, call):
                return "in a generation loop", scope, _Target.wrap_loop(semantic, loop)
        return None

    # ------------------------------------------------------------------ fixing
    def _report(self, ctx: Context, findings) -> None:
        groups: dict[tuple, list[ast.Call]] = {}
        regions: dict[tuple, list[_Target]] = {}
        for call, _reason, _scope, target in findings:
            groups.setdefault(target.key, []).append(call)
            regions.setdefault(target.key, []).append(target)
        # Findings in one block share one with-block, from the first to the last flagged statement.
        for targets in regions.values():
            if targets[0].kind == "wrap":
                block = targets[0].block
                if block is None:
                    statements = [targets[0].node]
                else:
                    first = min(t.index for t in targets)
                    last = max(t.index for t in targets)
                    statements = block[first : last + 1]
                for t in targets:
                    t.statements = statements
        fixes: dict[tuple, Fix | None] = {}
        for call, reason, scope, target in findings:
            if target.key not in fixes:  # findings sharing a target share one fix
                fixes[target.key] = self._fix(ctx, target, groups[target.key], scope)
            fix = fixes[target.key]
            name = ast.unparse(call.func)
            ctx.report(call, f"`{name}(...)` runs with autograd on {reason}; use `torch.no_grad()`", fix)

    def _fix(self, ctx: Context, target: _Target, calls: list[ast.Call], scope: ast.AST) -> Fix | None:
        semantic = ctx.semantic
        region = target.statements
        if target.kind == "decorate":
            if isinstance(target.node, ast.AsyncFunctionDef) or isinstance(target.node, ast.Lambda):
                return None  # a decorator cannot cover a coroutine's body; handled by wrapping
            message = f"Decorate `{target.node.name}` with `@torch.no_grad()`"
        else:
            if region is None or any(isinstance(n, (ast.Yield, ast.YieldFrom, ast.Await)) for stmt in region for n in ast.walk(stmt)):
                return None  # grad mode would leak to the caller while suspended
            message = "Wrap in `with torch.no_grad():`"
        # Without autograd, PyTorch's transformer layers take a fused "fast path" whose results
        # differ in the last bits (and zero padded positions): that fix changes numerics.
        numerics = _uses_fast_path_layers(semantic)
        safe = not numerics and not _outputs_escape(semantic, scope, calls)
        applicability = Applicability.SAFE if safe else Applicability.UNSAFE

        def build() -> list[Edit]:
            spelling, import_edits = spell(ctx, "torch.no_grad")
            if target.kind == "decorate":
                edit = insert_line_above(ctx, target.node, f"@{spelling}()")
            else:
                first, last = region[0], region[-1]
                from greenlint import cstfix  # libcst only when a fix is built

                edit = cstfix.wrap_statements(ctx.cst(), ctx.text, first.lineno, last.lineno, [f"{spelling}()"])
            return [*import_edits, edit]

        return Fix(applicability, message, changes_numerics=numerics, build=build)


class _Target:
    """Where the fix goes: a def to decorate, or a run of statements in one block to wrap."""

    def __init__(self, kind: str, node: ast.AST, block: list | None = None, index: int = 0) -> None:
        self.kind = kind
        self.node = node
        self.block = block
        self.index = index
        self.statements: list[ast.stmt] | None = None

    @property
    def key(self) -> tuple:
        return ("decorate", id(self.node)) if self.kind == "decorate" else ("wrap", id(self.block))

    @classmethod
    def decorate(cls, function: ast.AST) -> _Target:
        return cls("decorate", function)

    @classmethod
    def wrap_statement(cls, semantic: SemanticModel, stmt: ast.stmt) -> _Target:
        found = semantic.body_containing(stmt)
        if found is None:
            return cls("wrap", stmt)
        block, index = found
        return cls("wrap", stmt, block, index)

    @classmethod
    def wrap_loop(cls, semantic: SemanticModel, loop: ast.AST) -> _Target:
        stmt = loop if isinstance(loop, ast.stmt) else semantic.enclosing_statement(loop)
        return cls.wrap_statement(semantic, stmt)

    @classmethod
    def wrap_sibling_of(cls, semantic: SemanticModel, call: ast.Call, eval_call: ast.Call) -> _Target:
        """The statement holding `call` that sits in the same block as the `.eval()` call."""
        eval_stmt = semantic.enclosing_statement(eval_call)
        found = semantic.body_containing(eval_stmt)
        stmt = semantic.enclosing_statement(call)
        if found is not None:
            block = found[0]
            for ancestor in (stmt, *semantic.ancestors(stmt)):
                if any(ancestor is item for item in block):
                    return cls.wrap_statement(semantic, ancestor)
        return cls.wrap_statement(semantic, stmt)


_FAST_PATH_LAYERS = frozenset(
    {"torch.nn.TransformerEncoder", "torch.nn.TransformerEncoderLayer", "torch.nn.MultiheadAttention", "torch.nn.Transformer"}
)


_FAST_PATH_LAST_PARTS = frozenset(name.rsplit(".", 1)[-1] for name in _FAST_PATH_LAYERS)


def _uses_fast_path_layers(semantic: SemanticModel) -> bool:
    cache = semantic.rule_cache.setdefault("GL101", {})
    if "fast_path" not in cache:
        # A resolved name ends with the attribute called; a plain name may be an alias.
        cache["fast_path"] = any(
            semantic.call_name(c) in _FAST_PATH_LAYERS
            for c in semantic.nodes(ast.Call)
            if (c.func.attr in _FAST_PATH_LAST_PARTS if isinstance(c.func, ast.Attribute) else isinstance(c.func, ast.Name))
        )
    return cache["fast_path"]


def _enclosing_def(semantic: SemanticModel, node: ast.AST, memo: dict) -> ast.AST | None:
    """semantic.enclosing_def(node), memoised along the way: every non-def node passed on the
    way up has the same innermost def above it, so later calls stop at the first one seen."""
    path = [node]
    current = semantic.parent(node)
    while current is not None:
        if isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found = current
            break
        if current in memo:
            found = memo[current]
            break
        path.append(current)
        current = semantic.parent(current)
    else:
        found = None
    for passed in path:
        memo[passed] = found
    return found


def _name_words(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return [w for w in spaced.lower().split("_") if w]


def _is_inference_name(name: str, words: frozenset[str] | set[str]) -> bool:
    return any(word in words for word in _name_words(name))


def _called_on_self(semantic: SemanticModel, name: str) -> bool:
    return any(isinstance(c.func, ast.Attribute) for c in semantic.call_sites(name))


def _is_route_handler(function) -> bool:
    for decorator in function.decorator_list:
        func = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(func, ast.Attribute) and func.attr in _ROUTE_METHODS and isinstance(decorator, ast.Call):
            return True
    return False


def _eval_before(semantic: SemanticModel, target: ast.AST, call: ast.Call, scope: ast.AST) -> ast.Call | None:
    position = (call.lineno, call.col_offset)
    wanted = ast.dump(target)
    for node in semantic.scope_calls(scope):
        if (node.lineno, node.col_offset) >= position:
            break
        if isinstance(node.func, ast.Attribute) and node.func.attr == "eval" and not node.args and ast.dump(node.func.value) == wanted:
            return node
    return None


def _mentions_eval_data(iterable: ast.AST) -> bool:
    for node in ast.walk(iterable):
        text = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None
        if text and _EVAL_LOADER.search(text):
            return True
    return False


def _short(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 40 else text[:37] + "..."


def _is_generation_loop(semantic: SemanticModel, loop: ast.AST, call: ast.Call) -> bool:
    """Each step feeds the model's last output back in: an argument of the call is re-assigned
    in the loop from a cat/stack/argmax/multinomial of something."""
    fed_back = _file_facts(semantic).generated.get(loop)
    return bool(fed_back) and not fed_back.isdisjoint(_argument_names(call))


def _argument_names(call: ast.Call) -> set[str]:
    return {n.id for arg in (*call.args, *(k.value for k in call.keywords)) for n in ast.walk(arg) if isinstance(n, ast.Name)}


class _FileFacts:
    """Per-file facts gathered in one pass, so each call asks dictionaries, not subtrees:
    `eval_at`: ast.dump of each `X` in a no-argument `X.eval()` -> the earliest such call's
    position; `generated`: each for/while loop -> the names assigned (anywhere inside it) from
    a cat/stack/argmax/multinomial-like call; `eval_loops`: loops over evaluation data."""

    __slots__ = ("eval_at", "generated", "eval_loops")

    def __init__(self, semantic: SemanticModel) -> None:
        self.eval_at: dict[str, tuple[int, int]] = {}
        self.generated: dict[ast.AST, set[str]] = {}
        self.eval_loops: set[ast.AST] = set()
        for node in semantic.nodes(ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr == "eval" and not node.args:
                key = ast.dump(func.value)
                position = (node.lineno, node.col_offset)
                if key not in self.eval_at or position < self.eval_at[key]:
                    self.eval_at[key] = position
        # An assignment whose value calls a generation op: found from the (few) such calls up
        # to their statement, instead of walking every assignment's value.
        assigns: dict[ast.Assign, None] = {}
        for node in semantic.nodes(ast.Call):
            func = node.func
            attr = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if attr not in _GENERATION_OPS:
                continue
            child, parent = node, semantic.parent(node)
            while parent is not None and not isinstance(child, ast.stmt):
                child, parent = parent, semantic.parent(parent)
                if isinstance(child, ast.Assign):
                    break
            if isinstance(child, ast.Assign) and child not in assigns and _inside(semantic, node, child.value):
                assigns[child] = None
        for node in assigns:
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            if names:
                for ancestor in semantic.ancestors(node):
                    if isinstance(ancestor, (ast.For, ast.AsyncFor, ast.While)):
                        self.generated.setdefault(ancestor, set()).update(names)
        for kind in (ast.For, ast.AsyncFor):
            for loop in semantic.nodes(kind):
                if _mentions_eval_data(loop.iter):
                    self.eval_loops.add(loop)
        for kind in (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp):
            for loop in semantic.nodes(kind):
                if _mentions_eval_data(loop.generators[0].iter):
                    self.eval_loops.add(loop)


def _inside(semantic: SemanticModel, node: ast.AST, root: ast.AST) -> bool:
    """Whether `node` is `root` or lies within it."""
    while node is not None:
        if node is root:
            return True
        node = semantic.parent(node)
    return False


def _file_facts(semantic: SemanticModel) -> _FileFacts:
    cache = semantic.rule_cache.setdefault("GL101", {})
    facts = cache.get("facts")
    if facts is None:
        facts = cache["facts"] = _FileFacts(semantic)
    return facts


def _could_be_inference(semantic: SemanticModel, call: ast.Call, target: ast.AST, function, words) -> bool:
    """False only when _inference_context must return None for this call: no inference-named
    or route-handler def around it, no earlier `.eval()` of its callee anywhere in the file,
    and no enclosing loop over evaluation data or feeding outputs back in."""
    if function is not None:
        named = semantic.rule_cache.setdefault("GL101.named", {})
        found = named.get(function)
        if found is None:
            found = named[function] = _is_inference_name(function.name, words) or _is_route_handler(function)
        if found:
            return True
    facts = _file_facts(semantic)
    if facts.eval_at:
        earliest = facts.eval_at.get(ast.dump(target))
        if earliest is not None and earliest < (call.lineno, call.col_offset):
            return True
    if facts.eval_loops or facts.generated:
        for loop in semantic.enclosing_loops(call):
            if loop in facts.eval_loops:
                return True
            if isinstance(loop, (ast.For, ast.While)) and _is_generation_loop(semantic, loop, call):
                return True
    return False


def _is_frozen(semantic: SemanticModel, target: ast.AST, scope: ast.AST) -> bool:
    """`model.requires_grad_(False)` or `for p in model.parameters(): p.requires_grad = False`,
    in this scope or at module level."""
    wanted = ast.dump(target)
    return wanted in _frozen_targets(semantic, scope) or wanted in _frozen_targets(semantic, semantic.tree)


def _frozen_targets(semantic: SemanticModel, scope: ast.AST) -> set[str]:
    cache = semantic.rule_cache.setdefault("GL101.frozen", {})
    found = cache.get(scope)
    if found is not None:
        return found
    found = set()
    for node in semantic.scope_body(scope):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "requires_grad_":
            if node.args and isinstance(node.args[0], ast.Constant) and node.args[0].value is False:
                found.add(ast.dump(node.func.value))
        elif isinstance(node, ast.For) and isinstance(node.iter, ast.Call) and isinstance(node.iter.func, ast.Attribute):
            if node.iter.func.attr == "parameters":
                for inner in ast.walk(node):
                    if isinstance(inner, ast.Assign) and any(isinstance(t, ast.Attribute) and t.attr == "requires_grad" for t in inner.targets):
                        found.add(ast.dump(node.iter.func.value))
    cache[scope] = found
    return found


def _outputs_escape(semantic: SemanticModel, scope: ast.AST, calls: list[ast.Call]) -> bool:
    """Whether a value computed from the model's output can leave the function still attached
    to an autograd graph (returned, yielded, stored on an object, global): then no_grad changes
    what callers receive, and the fix is unsafe. Module-level scripts keep their values."""
    if isinstance(scope, ast.Module):
        return False
    forward_calls = {id(c) for c in calls}
    # scope_body of a def is ast.walk of it, in the same order, cached.
    forward_calls.update(
        id(n) for n in semantic.scope_body(scope) if isinstance(n, ast.Call) and forward_target(n) is not None and semantic.is_model(forward_target(n))
    )
    tainted: set[str] = set()

    def carries(expr: ast.AST | None) -> bool:
        if expr is None:
            return False
        if isinstance(expr, ast.Call):
            func = expr.func
            if isinstance(func, ast.Attribute) and func.attr in _DETACHING_METHODS:
                return False
            if isinstance(func, ast.Name) and func.id in _DETACHING_FUNCTIONS:
                return False
            if id(expr) in forward_calls:
                return True
        if isinstance(expr, ast.Attribute) and expr.attr in _DETACHING_ATTRIBUTES:
            return False
        if isinstance(expr, ast.Compare):
            return False
        if isinstance(expr, ast.Name):
            return expr.id in tainted
        return any(carries(child) for child in ast.iter_child_nodes(expr))

    def taint(target: ast.AST) -> bool:
        """Taint a target; True when that lets the value escape."""
        if isinstance(target, ast.Name):
            tainted.add(target.id)
        elif isinstance(target, (ast.Tuple, ast.List, ast.Starred)):
            return any(taint(t) for t in (target.elts if not isinstance(target, ast.Starred) else [target.value]))
        elif isinstance(target, ast.Subscript):
            return taint(target.value)
        elif isinstance(target, ast.Attribute):
            return True
        return False

    nodes = [n for n in semantic.scope_body(scope) if isinstance(n, ast.stmt) or isinstance(n, (ast.Yield, ast.YieldFrom))]
    nodes.sort(key=lambda n: (n.lineno, n.col_offset))
    for _ in range(2):  # a second pass carries taint around loops
        for node in nodes:
            if isinstance(node, (ast.Global, ast.Nonlocal)):
                return True
            if isinstance(node, (ast.Return, ast.Yield, ast.YieldFrom)) and carries(node.value):
                return True
            if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and carries(node.value):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if any(taint(t) for t in targets):
                    return True
            if isinstance(node, (ast.For, ast.AsyncFor)) and carries(node.iter) and taint(node.target):
                return True
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
                func = node.value.func
                if isinstance(func, ast.Attribute) and func.attr in ("append", "extend", "add", "insert", "update", "put"):
                    if any(carries(a) for a in node.value.args) and taint(func.value):
                        return True
    return False
