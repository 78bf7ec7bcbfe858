"""GL302 dataloader-iterator-per-step: a fresh iterator over a DataLoader made for every step
(`next(iter(loader))` in a loop), which restarts its workers and its shuffle each time."""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING

from greenlint.diagnostics import Applicability, Fix
from greenlint.loading import (
    PER_ITEM_METHODS,
    function_references,
    load_of,
    parameters,
    per_call_reason,
)
from greenlint.rules.base import Invalid, Rule, Valid, register
from greenlint.semantic import SemanticModel

if TYPE_CHECKING:
    from greenlint.engine import Context

# `loader`, `train_loader`, `trainloader`, `val_dataloader`, `dl`, `train_dl`, `dl_train`.
_LOADER_NAME = re.compile(r"(?i)loader|(^|_)dls?(_|$)")
_LOADER_QUALIFIED = re.compile(r"(^|\.)\w*DataLoader$|\.loader\.\w*Loader$")
_NOT_LOADERS = (ast.List, ast.Tuple, ast.Dict, ast.Set, ast.Constant, ast.JoinedStr, ast.ListComp, ast.DictComp, ast.SetComp, ast.GeneratorExp)
_NOT_LOADER_CALLS = frozenset({"builtins.list", "builtins.dict", "builtins.range", "builtins.zip", "builtins.enumerate", "builtins.sorted", "builtins.map", "builtins.filter", "builtins.tuple", "builtins.set", "builtins.str", "builtins.open", "builtins.iter"})
_STEP_HOOKS = frozenset({"training_step", "validation_step", "test_step", "predict_step", "on_train_batch_start", "on_train_batch_end"})


@register
class DataloaderIteratorPerStep(Rule):
    """
    ## What it does
    Flags `next(iter(loader))`, or an `iter(loader)` consumed once, made afresh on every
    iteration of a loop or in a function called per step, where `loader` is a DataLoader.

    ## Fix
    None automatic: create one iterator before the loop and call `next()` on it.
    """

    code = "GL302"
    name = "dataloader-iterator-per-step"
    summary = "A new DataLoader iterator is created every step (re-spawns workers, re-shuffles)"
    impact = "medium"
    evidence = 'greenlint CPU re-run: next(iter(loader)) every step ~14x slower with no workers, 24-28x with 2 workers.'
    frameworks = ("torch", "lightning", "accelerate", "torch_geometric", "monai")
    # Every finding is a call of a plain name `iter` (resolved to the builtin).
    requires = ("iter",)
    # Findings carry display-only advice; no edit is ever applied.
    fix_applicability = Applicability.DISPLAY_ONLY

    VALID = [
        Valid(
            """
            import torch

            it = iter(train_loader)
            for step in range(1000):
                batch = next(it)
                train_step(batch)
            """,
            why="one iterator, created before the loop",
        ),
        Valid(
            """
            import torch
            from torch.utils.data import DataLoader

            loader = DataLoader(dataset, batch_size=8, shuffle=True)
            sample = next(iter(loader))
            print(sample.shape)
            """,
            why="a sample batch, once, outside any loop",
        ),
        Valid(
            """
            import torch

            it = iter(loader)
            for step in range(steps):
                try:
                    batch = next(it)
                except StopIteration:
                    it = iter(loader)
                    batch = next(it)
                train_step(batch)
            """,
            why="a persistent iterator restarted when exhausted",
        ),
        Valid(
            """
            import torch

            for epoch in range(10):
                it = iter(train_loader)
                for step in range(len(train_loader)):
                    train_step(next(it))
            """,
            why="one iterator per epoch, consumed by the inner loop",
        ),
        Valid(
            """
            import torch

            words = ["a", "b", "c"]
            for _ in range(3):
                first = next(iter(words))
            """,
            why="not a DataLoader",
        ),
        Valid(
            """
            import torch

            for loader in [train_loader, val_loader]:
                batch = next(iter(loader))
                show(batch)
            """,
            why="a different loader each iteration",
        ),
        Valid(
            """
            import torch

            for epoch in range(10):
                for batch in iter(train_loader):
                    train_step(batch)
            """,
            why="iterated by the loop itself, once per epoch",
        ),
        Valid(
            """
            import torch

            for step in range(10000):
                train_step(next(train_iter))
                if step % 500 == 0:
                    preview = next(iter(val_loader))
                    log_images(preview)
            """,
            why="an occasional preview batch, under an interval guard",
        ),
        Valid(
            """
            import torch

            loaders = {"train": make_loader()}
            for step in range(10):
                batch = next(iter(loaders.values()))
            """,
            why="iter() of a dict view, not a DataLoader",
        ),
        Valid(
            """
            import torch

            def sample_batch(loader):
                return next(iter(loader))

            for loader in loaders:
                sample_batch(loader)
            """,
            why="a different loader at each call",
        ),
        Valid(
            """
            import torch

            def check(model, dataloader):
                model(**{k: v.cuda() for k, v in next(iter(dataloader)).items()})
            """,
            why="once, in a comprehension's first iterable",
        ),
    ]
    INVALID = [
        Invalid(
            """
            import torch
            from torch.utils.data import DataLoader

            loader = DataLoader(dataset, batch_size=32, shuffle=True, num_workers=4)
            for step in range(1000):
                x, y = next(iter(loader))
                train_step(x, y)
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="`next(iter(loader))`",
        ),
        Invalid(
            """
            import torch
            from torch.utils.data import DataLoader as DL

            data = DL(dataset, batch_size=32, num_workers=2)
            while not done():
                batch = next(iter(data))
                update(batch)
            """,
            applicability=Applicability.DISPLAY_ONLY,
        ),
        Invalid(
            """
            import torch

            class Trainer:
                def get_batch(self):
                    return next(iter(self.train_dl))

                def fit(self, steps):
                    for _ in range(steps):
                        self.step(self.get_batch())
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="called in a loop",
        ),
        Invalid(
            """
            import torch

            def sample(loader):
                return next(iter(loader))

            for step in range(100):
                batch = sample(train_loader)
            """,
            applicability=Applicability.DISPLAY_ONLY,
        ),
        Invalid(
            """
            import torch

            for step in range(100):
                it = iter(train_loader)
                batch = next(it)
                train_step(batch)
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="`iter(train_loader)`",
        ),
        Invalid(
            """
            import lightning as L
            import torch

            class Model(L.LightningModule):
                def training_step(self, batch, batch_idx):
                    extra = next(iter(self.trainer.datamodule.aux_dataloader()))
                    return self.loss(batch, extra)
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="training_step",
        ),
    ]

    def check(self, ctx: Context) -> None:
        semantic = ctx.semantic
        for call in semantic.nodes(ast.Call):
            func = call.func
            if not (isinstance(func, ast.Name) and func.id == "iter" and len(call.args) == 1 and not call.keywords):
                continue
            if semantic.qualified_name(func) != "builtins.iter":
                continue
            source = call.args[0]
            use = _single_use(semantic, call)
            if use is None or not _is_loader(semantic, source):
                continue
            where = _per_step(semantic, call, source)
            if where is None:
                continue
            shown = ast.unparse(use)
            text = shown if len(shown) <= 60 else f"iter({ast.unparse(source)[:40]}...)"
            ctx.report(
                call,
                f"`{text}` creates a new DataLoader iterator {where}: each one restarts the worker processes and the "
                "shuffle, and prefetched batches are thrown away; keep one iterator and call `next()` on it",
                Fix(Applicability.DISPLAY_ONLY, "Create the iterator once, before the loop, and call `next()` on it; re-create it only on StopIteration"),
            )


def _single_use(semantic: SemanticModel, call: ast.Call) -> ast.AST | None:
    """What shows the iterator is used for one batch: `next(iter(x))` itself, or the
    `it = iter(x)` statement whose only use is `next(it)` in the same loop body. None otherwise."""
    parent = semantic.parent(call)
    if isinstance(parent, ast.Call) and isinstance(parent.func, ast.Name) and parent.func.id == "next" and parent.args and parent.args[0] is call:
        return parent if semantic.qualified_name(parent.func) == "builtins.next" else None
    if not (isinstance(parent, ast.Assign) and len(parent.targets) == 1 and isinstance(parent.targets[0], ast.Name)):
        return None
    loops = semantic.enclosing_loops(call)
    if not loops or not isinstance(loops[0], (ast.For, ast.AsyncFor, ast.While)):
        return None
    loop, name = loops[0], parent.targets[0].id
    if not any(s is parent for s in loop.body):
        return None
    index = next(i for i, s in enumerate(loop.body) if s is parent)
    if isinstance(loop, ast.While) and any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(loop.test)):
        return None
    if any(isinstance(n, ast.Name) and n.id == name for s in loop.body[:index] for n in ast.walk(s)):
        return None  # the iterator lives across iterations
    uses = [n for s in loop.body[index + 1 :] for n in ast.walk(s) if isinstance(n, ast.Name) and n.id == name]
    if len(uses) != 1 or isinstance(uses[0].ctx, ast.Store):
        return None
    user = semantic.parent(uses[0])
    is_next = isinstance(user, ast.Call) and isinstance(user.func, ast.Name) and user.func.id == "next" and user.args[:1] == [uses[0]]
    if not is_next or semantic.enclosing_loops(user)[:1] != [loop]:
        return None
    return call


def _is_loader(semantic: SemanticModel, expr: ast.AST) -> bool:
    """A DataLoader: built by a resolved `*DataLoader(...)` or named like one (`train_loader`,
    `dl`, `self.val_dataloader()`), and never bound to a list, dict, string or the like."""
    if isinstance(expr, ast.Call):
        load = load_of(semantic, expr)
        if load is not None:
            return load.kind == "dataloader"
        func = expr.func
        name = semantic.qualified_name(func) or ""
        if _LOADER_QUALIFIED.search(name):
            return True
        last = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        return "dataloader" in last.lower()
    if isinstance(expr, ast.Attribute):
        return bool(_LOADER_NAME.search(expr.attr))
    if not isinstance(expr, ast.Name):
        return False
    found = semantic.lookup(expr.id, expr)
    if found is not None and found[1] == "local":
        values = [v for v in found[0].bindings[expr.id] if v is not None]
        for value in values:
            if isinstance(value, _NOT_LOADERS) or semantic.call_name(value) in _NOT_LOADER_CALLS:
                return False
        for value in values:
            if isinstance(value, ast.Call):
                load = load_of(semantic, value)
                if (load is not None and load.kind == "dataloader") or _LOADER_QUALIFIED.search(semantic.call_name(value) or ""):
                    return True
    elif found is not None and found[1] != "import":
        return False
    return bool(_LOADER_NAME.search(expr.id))


def _per_step(semantic: SemanticModel, call: ast.Call, source: ast.AST) -> str | None:
    """Where the iterator is re-created per step: "in the loop at line N", "in `f()`, called in
    a loop at line N", "in `training_step`, called per batch". None when not per step."""
    loops = semantic.enclosing_loops(call)
    if loops:
        loop = loops[0]
        if not semantic.is_loop_invariant(source, loop) or _guarded(semantic, call, loop):
            return None
        return f"on every iteration of the loop at line {loop.lineno}"
    function = semantic.enclosing_def(call, through_lambdas=False)
    if function is None:
        return None
    if function.name in _STEP_HOOKS and isinstance(semantic.parent(function), ast.ClassDef):
        return f"on every call of `{function.name}`, called per batch"
    if function.name in PER_ITEM_METHODS:
        return None
    reason = per_call_reason(semantic, function)
    if reason is None or not reason.startswith("called in a loop"):
        return None
    if not _argument_invariant_at_sites(semantic, function, source):
        return None
    return f"on every call of `{function.name}()`, {reason}"


def _guarded(semantic: SemanticModel, call: ast.Call, loop: ast.AST) -> bool:
    """Under a test that changes in the loop (`if step % 500 == 0`, `if it is None`) or in an
    except handler (restarting an exhausted iterator)."""
    bound = semantic.names_bound_in(loop)
    child: ast.AST = call
    for ancestor in semantic.ancestors(call):
        if ancestor is loop:
            return False
        if isinstance(ancestor, ast.ExceptHandler):
            return True
        if (
            isinstance(ancestor, (ast.If, ast.IfExp))
            and child is not ancestor.test
            and any(isinstance(n, ast.Name) and n.id in bound for n in ast.walk(ancestor.test))
        ):
            return True
        child = ancestor
    return False


def _argument_invariant_at_sites(semantic: SemanticModel, function: ast.AST, source: ast.AST) -> bool:
    """When the loader is a parameter of the function, every call in a loop must pass the same
    loader each time (an argument that does not change in that loop)."""
    names = {n.id for n in ast.walk(source) if isinstance(n, ast.Name)}
    params = parameters(function)
    used = [p for p in params if p in names and p not in ("self", "cls")]
    if not used:
        return True
    offset = 1 if params[:1] in (["self"], ["cls"]) else 0
    for site, how in function_references(semantic, function):
        if how != "call":
            continue
        loops = semantic.enclosing_loops(site)
        if not loops:
            continue
        for param in used:
            index = params.index(param) - offset
            argument = next((k.value for k in site.keywords if k.arg == param), None)
            if argument is None and 0 <= index < len(site.args):
                argument = site.args[index]
            if argument is None or not semantic.is_loop_invariant(argument, loops[0]):
                return False
    return True
