"""GL502 checkpoint-every-step: a full checkpoint (`torch.save` of a state dict,
`save_pretrained`, Keras `model.save`, `trainer.save_checkpoint`, `accelerator.save_state`)
written on every step of a training loop, with no interval guard."""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING

from greenlint.diagnostics import Applicability, Fix
from greenlint.rules.base import INCLUDE_TESTS, Invalid, Rule, Valid, register
from greenlint.semantic import (
    FUNCTION_NODES,
    SemanticModel,
    looks_like_optimizer,
    step_loops,
)

if TYPE_CHECKING:
    from greenlint.engine import Context

# Functions that serialise the object they are given; what is saved decides whether it is a
# checkpoint (a state dict, a model) or a small metrics file.
_SAVE_FUNCTIONS = frozenset(
    {
        "torch.save",
        "safetensors.torch.save_file",
        "torch.distributed.checkpoint.save",
        "torch.distributed.checkpoint.save_state_dict",
    }
)
# Functions that always save a whole model.
_MODEL_SAVE_FUNCTIONS = frozenset({"safetensors.torch.save_model", "keras.models.save_model", "tensorflow.keras.models.save_model"})
_NOT_MODELS = re.compile(r"tokeni[sz]er|processor|config|extractor|vocab|scheduler|dataset|image", re.IGNORECASE)
_STATE_NAME = re.compile(r"(^|_)(state|states|state_dict|ckpt|checkpoint|checkpoints|weights|snapshot)(_|$)", re.IGNORECASE)
# Methods called once per batch by Lightning, Keras and Hugging Face callbacks.
_PER_STEP_HOOKS = frozenset(
    {
        "training_step",
        "on_train_batch_end",
        "on_train_batch_start",
        "on_train_batch_begin",
        "on_before_backward",
        "on_after_backward",
        "on_before_optimizer_step",
        "on_before_zero_grad",
        "on_batch_end",
        "on_batch_begin",
        "on_step_end",
        "on_step_begin",
        "on_substep_end",
    }
)
_STEP_FUNCTION = re.compile(r"^_?(train|training)_(step|batch|iteration|iter)$")
# Identifiers a rank-only condition is made of: `if accelerator.is_main_process:`,
# `if dist.get_rank() == 0:`, `if args.local_rank in (-1, 0):`. Such a test is true on every step.
_RANK_WORD = re.compile(r"rank|main_process|is_main|is_master|master_process|global_zero|local_zero|is_primary|world_process_zero", re.IGNORECASE)
_RANK_CONTEXT = frozenset(
    "self args cfg config opt opts hparams accelerator trainer dist distributed torch xm hvd state training_args fabric utils comm".split()
)


@register
class CheckpointEveryStep(Rule):
    """
    ## What it does
    Flags a checkpoint written on every step of a training loop (or in a per-batch hook such
    as Lightning's `training_step`) with no interval guard: `torch.save` of a state dict or a
    model, `save_pretrained`, Keras `model.save`, `trainer.save_checkpoint`,
    `accelerator.save_state`, or a helper in the same file that does one of these.

    ## Fix
    None automatic: how often to checkpoint is a policy decision (every N steps, per epoch,
    on a better validation metric).
    """

    code = "GL502"
    name = "checkpoint-every-step"
    summary = "A checkpoint is written on every training step"
    impact = "medium"
    evidence = "greenlint CPU run: a 25 MB checkpoint every step vs every 10 steps, 1.51 s -> 0.92 s CPU per run; CheckFreq (FAST 2021) keeps checkpoint overhead within 3.5% only by choosing the frequency."
    frameworks = ("torch", "transformers", "lightning", "accelerate", "keras", "tensorflow", "safetensors", "peft", "deepspeed")
    # Every checkpoint call is spelled with "save" (torch.save, save_pretrained, save_state, ...,
    # or the import line of an alias), and a helper counts only when its body makes such a call.
    requires = ("save",)
    fix_applicability = Applicability.DISPLAY_ONLY
    options = {"include-tests": INCLUDE_TESTS}

    VALID = [
        Valid(
            """
            import torch

            for step, (x, y) in enumerate(loader):
                loss = model(x, y)
                loss.backward()
                optimizer.step()
                if step % 1000 == 0:
                    torch.save(model.state_dict(), f"ckpt_{step}.pt")
            """,
            why="an interval guard",
        ),
        Valid(
            """
            import torch

            for epoch in range(epochs):
                for x, y in loader:
                    loss = model(x, y)
                    loss.backward()
                    optimizer.step()
                torch.save({"model": model.state_dict(), "epoch": epoch}, "last.pt")
            """,
            why="once per epoch, in the outer loop",
        ),
        Valid(
            """
            import torch

            best = float("inf")
            for x, y in loader:
                loss = model(x, y)
                loss.backward()
                optimizer.step()
                if loss.item() < best:
                    best = loss.item()
                    torch.save(model.state_dict(), "best.pt")
            """,
            why="a best-metric guard",
        ),
        Valid(
            """
            import torch

            losses = []
            for x, y in loader:
                loss = model(x, y)
                loss.backward()
                optimizer.step()
                losses.append(loss.item())
                torch.save(torch.tensor(losses), "losses.pt")
            """,
            why="a small metrics file, not a checkpoint",
        ),
        Valid(
            """
            import torch

            with torch.no_grad():
                for i, (x, _) in enumerate(loader):
                    torch.save(model(x), f"features/{i}.pt")
            """,
            why="saving outputs in an inference loop",
        ),
        Valid(
            """
            import torch

            for epoch in range(1000):
                optimizer.zero_grad()
                loss = model(X).sub(Y).pow(2).mean()
                loss.backward()
                optimizer.step()
                torch.save(model.state_dict(), "model.pt")
            """,
            why="full-batch training: one step per epoch, saved once per epoch",
        ),
        Valid(
            """
            import torch

            for episode in range(2000):
                loss = agent.loss(run_episode(env, agent))
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                torch.save(agent.policy.state_dict(), "policy.pt")
            """,
            why="once per reinforcement-learning episode, as per epoch",
        ),
        Valid(
            """
            import lightning as L

            class Model(L.LightningModule):
                def training_step(self, batch, batch_idx):
                    loss = self.loss(batch)
                    if self.global_step % 500 == 0:
                        self.trainer.save_checkpoint("mid.ckpt")
                    return loss
            """,
            why="an interval guard in a per-batch hook",
        ),
        Valid(
            """
            import torch

            for step, batch in enumerate(loader):
                loss = model(batch)
                loss.backward()
                optimizer.step()
                tokenizer.save_pretrained("out")
            """,
            why="a tokenizer, not the model (still wasteful, but tiny)",
        ),
        Valid(
            """
            import torch

            def save_checkpoint(model, step, path):
                if step % 100:
                    return
                torch.save(model.state_dict(), path)

            for step, batch in enumerate(loader):
                model(batch).backward()
                optimizer.step()
                save_checkpoint(model, step, "ckpt.pt")
            """,
            why="the helper checks the interval itself",
        ),
    ]
    INVALID = [
        Invalid(
            """
            import torch

            for step, (x, y) in enumerate(loader):
                optimizer.zero_grad()
                loss = torch.nn.functional.cross_entropy(model(x), y)
                loss.backward()
                optimizer.step()
                torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict()}, "ckpt.pt")
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="every step",
        ),
        Invalid(
            """
            import torch

            def train(model, loader, optimizer, accelerator):
                for batch in loader:
                    loss = model(**batch).loss
                    accelerator.backward(loss)
                    optimizer.step()
                    if accelerator.is_main_process:
                        model.save_pretrained("out")
                    accelerator.save_state("state")
            """,
            count=2,
            applicability=Applicability.DISPLAY_ONLY,
        ),
        Invalid(
            """
            import lightning as L

            class Model(L.LightningModule):
                def training_step(self, batch, batch_idx):
                    loss = self.loss(batch)
                    self.trainer.save_checkpoint("latest.ckpt")
                    return loss
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="training_step",
        ),
        Invalid(
            """
            import tensorflow as tf

            class Saver(tf.keras.callbacks.Callback):
                def on_train_batch_end(self, batch, logs=None):
                    self.model.save("model.keras")
            """,
            applicability=Applicability.DISPLAY_ONLY,
        ),
        Invalid(
            """
            import torch

            def save_checkpoint(model, optimizer, path):
                state = {"model": model.state_dict(), "optimizer": optimizer.state_dict()}
                torch.save(state, path)

            step = 0
            while step < max_steps:
                loss = model(next(batches))
                loss.backward()
                optimizer.step()
                step += 1
                save_checkpoint(model, optimizer, "ckpt.pt")
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="save_checkpoint",
        ),
        Invalid(
            """
            import torch

            for i, batch in enumerate(train_loader):
                loss = model(**batch).loss / accumulation
                loss.backward()
                if (i + 1) % accumulation == 0:
                    optimizer.step()
                    optimizer.zero_grad()
                    model.save_pretrained("checkpoint/")
            """,
            applicability=Applicability.DISPLAY_ONLY,
        ),
    ]

    def check(self, ctx: Context) -> None:
        semantic = ctx.semantic
        loops = None
        # Only calls that can be checkpoints, by name: most calls need no further look.
        for call in _candidates(semantic):
            # What is saved first: the step loops (a pass over every call) only for a checkpoint.
            what = _checkpoint(semantic, call)
            if what is None:
                continue
            if loops is None:
                loops = step_loops(semantic)
            if not loops and semantic.enclosing_def(call) is None:
                continue  # module-level code outside a training loop
            where = _per_step(semantic, call, loops)
            if where is None:
                continue
            ctx.report(
                call,
                f"{what} writes a checkpoint {where}: each one copies the weights (and any optimizer state) to "
                "host memory, serialises them and writes them to disk while training waits; save every N steps, "
                "per epoch, or when the validation metric improves",
                Fix(Applicability.DISPLAY_ONLY, "Guard the save with an interval (`if step % save_every == 0:`), or save per epoch / on a better metric"),
            )


# The last name of every callee `_checkpoint` accepts without looking into a helper: the
# methods it keys on and the last part of each qualified save function.
_SAVE_NAMES = frozenset(
    {"save_pretrained", "save_checkpoint", "save_state", "save_model", "save", "save_weights"}
    | {name.rsplit(".", 1)[-1] for name in _SAVE_FUNCTIONS | _MODEL_SAVE_FUNCTIONS}
)


def _candidates(semantic: SemanticModel) -> list[ast.Call]:
    """In source order, a superset of the calls `_checkpoint` can accept, found by name alone: a
    callee named like a save method, a local alias imported from a save function, or a name of
    a def that holds a call of either kind (a helper `_checkpoint` may look into)."""
    aliases = {
        local
        for scope in semantic.scopes.values()
        for local, target in scope.imports.items()
        if target in _SAVE_FUNCTIONS or target in _MODEL_SAVE_FUNCTIONS
    }
    direct: list[ast.Call] = []
    helpers: set[str] = set()
    for call in semantic.nodes(ast.Call):
        func = call.func
        if (func.attr in _SAVE_NAMES if isinstance(func, ast.Attribute) else isinstance(func, ast.Name) and func.id in aliases):
            direct.append(call)
            for ancestor in semantic.ancestors(call):
                if isinstance(ancestor, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    helpers.add(ancestor.name)
    if not helpers:
        return direct
    attributes = _SAVE_NAMES | helpers
    names = aliases | helpers
    return [
        call
        for call in semantic.nodes(ast.Call)
        if (call.func.attr in attributes if isinstance(call.func, ast.Attribute) else isinstance(call.func, ast.Name) and call.func.id in names)
    ]


def _short(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 50 else text[:47] + "..."


def _name_of(expr: ast.AST) -> str:
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.Attribute):
        return expr.attr
    if isinstance(expr, ast.Call):
        return _name_of(expr.func)
    if isinstance(expr, ast.Subscript) and isinstance(expr.slice, ast.Constant) and isinstance(expr.slice.value, str):
        return expr.slice.value
    return ""


def _checkpoint(semantic: SemanticModel, call: ast.Call, depth: int = 0) -> str | None:
    """How to name the call when it writes a checkpoint (`torch.save(...)`), else None."""
    func = call.func
    name = semantic.call_name(call)
    if name in _SAVE_FUNCTIONS:
        saved = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg in ("obj", "tensors", "state_dict")), None)
        shown = "torch.save" if name == "torch.save" else name.rsplit(".", 1)[-1]
        return f"`{shown}(...)`" if saved is not None and _is_state(semantic, saved) else None
    if name in _MODEL_SAVE_FUNCTIONS:
        return f"`{name.rsplit('.', 1)[-1]}(...)`"
    if not isinstance(func, ast.Attribute):
        return _helper(semantic, call, depth)
    receiver = _name_of(func.value).lower()
    method = func.attr
    if method == "save_pretrained":
        return None if _NOT_MODELS.search(receiver) else f"`{_short(func)}(...)`"
    if method == "save_checkpoint" and ("trainer" in receiver or "engine" in receiver):
        return f"`{_short(func)}(...)`"
    if method in ("save_state", "save_model") and ("accelerator" in receiver or (method == "save_model" and "trainer" in receiver)):
        return f"`{_short(func)}(...)`"
    if method == "save" and "accelerator" in receiver:
        return f"`{_short(func)}(...)`" if call.args and _is_state(semantic, call.args[0]) else None
    if method in ("save", "save_weights") and semantic.is_model(func.value) and not _NOT_MODELS.search(receiver):
        return f"`{_short(func)}(...)`"
    if isinstance(func.value, ast.Name) and func.value.id in ("self", "cls"):
        return _helper(semantic, call, depth)
    return None


def _is_state(semantic: SemanticModel, expr: ast.AST, depth: int = 0) -> bool:
    """A state dict, a model, or a dict holding one: what a checkpoint is made of."""
    if depth > 3:
        return False
    if any(isinstance(node, ast.Call) and "state_dict" in _name_of(node.func) for node in ast.walk(expr)):
        return True
    if isinstance(expr, ast.Dict):
        return any(v is not None and _is_state(semantic, v, depth + 1) for v in expr.values)
    if isinstance(expr, ast.Name):
        found = semantic.lookup(expr.id, expr)
        if found is not None and found[1] == "local":
            values = [v for v in found[0].bindings[expr.id] if v is not None]
            if values:
                return any(_is_state(semantic, v, depth + 1) for v in values)
        elif found is not None:
            return False  # an import or a shadowed name
        return bool(_STATE_NAME.search(expr.id)) or (semantic.is_model(expr) and not _data_named(expr.id))
    if isinstance(expr, ast.Attribute):
        return bool(_STATE_NAME.search(expr.attr)) or (semantic.is_model(expr) and not _data_named(expr.attr))
    return isinstance(expr, ast.Call) and semantic.is_model(expr)


_DATA_WORDS = frozenset(
    "input inputs output outputs out batch data pred preds prediction predictions logits features feats emb embeds "
    "embeddings loss losses grad grads history metrics stats results".split()
)


def _data_named(name: str) -> bool:
    """`net_output`, `model_preds`: data named after the model."""
    return any(word in _DATA_WORDS for word in name.lower().split("_")[1:])


def _helper(semantic: SemanticModel, call: ast.Call, depth: int) -> str | None:
    """A function or method defined in this file whose body always writes a checkpoint."""
    if depth > 0:
        return None
    func = call.func
    if isinstance(func, ast.Name):
        found = semantic.lookup(func.id, func)
        if found is None or found[1] != "local":
            return None
        name = func.id
    elif isinstance(func, ast.Attribute):
        name = func.attr
    else:
        return None
    if _STEP_FUNCTION.match(name) or name in _PER_STEP_HOOKS:
        return None  # reported inside it
    cache = semantic.rule_cache.setdefault("GL502", {})
    if "defs" not in cache:
        by_name: dict[str, list[ast.AST]] = {}
        for kind in (ast.FunctionDef, ast.AsyncFunctionDef):
            for node in semantic.nodes(kind):
                by_name.setdefault(node.name, []).append(node)
        cache["defs"] = by_name
    defs = cache["defs"].get(name, [])
    if len(defs) != 1:
        return None
    helper = defs[0]
    # What the helper's body does is the same for every call of it: worked out once per helper.
    facts = cache.setdefault("helper facts", {})
    if helper not in facts:
        # an early exit (`if step % N: return`)
        exits = any(isinstance(n, (ast.Return, ast.Raise)) and _under_condition(semantic, n, helper) for s in helper.body for n in ast.walk(s))
        saves = [] if exits else [
            node
            for node in ast.walk(helper)
            if isinstance(node, ast.Call) and _checkpoint(semantic, node, depth + 1) and not _under_condition(semantic, node, helper)
        ]
        facts[helper] = (exits, saves)
    exits, saves = facts[helper]
    if exits:
        return None
    node = next((n for n in saves if n is not call), None)
    if node is not None:
        return f"`{_short(func)}(...)` (defined at line {helper.lineno}, it calls `{_short(node.func)}(...)`)"
    return None


def _under_condition(semantic: SemanticModel, node: ast.AST, top: ast.AST) -> bool:
    for ancestor in semantic.ancestors(node):
        if ancestor is top:
            return False
        if isinstance(ancestor, (ast.If, ast.IfExp, ast.BoolOp, ast.Match, ast.ExceptHandler, ast.For, ast.While, *FUNCTION_NODES)):
            return True
    return False


def _per_step(semantic: SemanticModel, call: ast.Call, loops: dict[ast.AST, str]) -> str | None:
    """Where the save runs once per training step, or None."""
    loop = next((l for l in semantic.enclosing_loops(call) if l in loops), None)
    if loop is not None:
        if loops[loop] != "training" or _epoch_loop(loop) or _guarded(semantic, call, loop):
            return None
        return f"on every step of the training loop at line {loop.lineno}"
    if semantic.enclosing_loops(call):
        return None
    function = semantic.enclosing_def(call)
    if function is None:
        return None
    if function.name in _PER_STEP_HOOKS and isinstance(semantic.parent(function), ast.ClassDef):
        kind = f"in `{function.name}`, which runs once per batch"
    elif _STEP_FUNCTION.match(function.name):
        kind = f"in `{function.name}`, which runs once per training step"
    else:
        return None
    return None if _guarded(semantic, call, function) else kind


_EPOCH_WORDS = re.compile(r"epoch|episode|(^|_)(ep|eps|round|rounds|generation|gen)(_|$|\d)", re.IGNORECASE)


def _epoch_loop(loop: ast.AST) -> bool:
    """`for epoch in range(...)`, `for episode in ...`: an iteration is an epoch, an episode or a
    round, which the author means to checkpoint, even when it holds a single update."""
    if not isinstance(loop, (ast.For, ast.AsyncFor)):
        return False
    return any(isinstance(n, ast.Name) and _EPOCH_WORDS.search(n.id) for n in ast.walk(loop.target))


def _guarded(semantic: SemanticModel, call: ast.Call, top: ast.AST) -> bool:
    """Under a condition between the call and its loop or hook, other than a rank-only test
    (which is true on every step of the saving process)."""
    child: ast.AST = call
    for ancestor in semantic.ancestors(call):
        if ancestor is top:
            return False
        if (
            isinstance(ancestor, ast.If)
            and child is not ancestor.test
            and not _rank_only(ancestor.test)
            # a gradient-accumulation boundary that also steps the optimizer is no interval
            and not _steps_optimizer(ancestor.body if any(child is s for s in ancestor.body) else ancestor.orelse)
        ):
            return True
        if isinstance(ancestor, (ast.IfExp, ast.BoolOp, ast.Match, ast.ExceptHandler)):
            return True
        if isinstance(ancestor, FUNCTION_NODES) and ancestor is not top:
            return True  # a callback defined in the loop
        child = ancestor
    return False


def _steps_optimizer(block: list[ast.stmt]) -> bool:
    """The branch runs `optimizer.step()` (or `scaler.step(optimizer)`) itself."""
    for statement in block:
        for node in ast.walk(statement):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "step" and looks_like_optimizer(node.func.value):
                return True
    return False


def _rank_only(test: ast.AST) -> bool:
    identifiers = [n.id if isinstance(n, ast.Name) else n.attr for n in ast.walk(test) if isinstance(n, (ast.Name, ast.Attribute))]
    if not any(_RANK_WORD.search(i) for i in identifiers):
        return False
    if any(isinstance(n, ast.BinOp) for n in ast.walk(test)):
        return False
    return all(_RANK_WORD.search(i) or i in _RANK_CONTEXT for i in identifiers)
