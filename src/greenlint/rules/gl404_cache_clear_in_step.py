"""GL404 cache-clear-in-step: `torch.cuda.empty_cache()` or `gc.collect()` on every step of a
training or inference loop (or in a per-step hook), instead of never or every N steps."""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING

from greenlint.diagnostics import Applicability, Edit, Fix
from greenlint.fixes import newline_of
from greenlint.rules.base import INCLUDE_TESTS, Invalid, Rule, Valid, register
from greenlint.semantic import (
    FUNCTION_NODES,
    SemanticModel,
    forward_target,
    is_model_name,
    is_step_call,
    step_loop_around,
    step_loops,
)

if TYPE_CHECKING:
    from greenlint.engine import Context

# Methods a training framework calls once per batch (Lightning, HF Trainer and its callbacks).
_STEP_HOOKS = frozenset(
    {
        "training_step",
        "validation_step",
        "test_step",
        "predict_step",
        "on_train_batch_start",
        "on_train_batch_end",
        "on_validation_batch_start",
        "on_validation_batch_end",
        "on_test_batch_end",
        "on_predict_batch_end",
        "on_before_backward",
        "on_after_backward",
        "on_before_optimizer_step",
        "on_before_zero_grad",
        "prediction_step",
        "on_step_begin",
        "on_step_end",
    }
)
# Functions named as one step of a loop (`train_step`, `eval_batch`, `step_fn`), as the semantic
# model's step helpers are.
_STEP_FUNCTION = re.compile(
    r"^_?(train|training|eval|evaluation|validation|val|test|predict|prediction|inference|infer)_(step|batch)$|^_?step_fn$"
)
# Calls that are true on every step or on none: device availability checks.
_DEVICE_CHECKS = re.compile(r"^torch\.(cuda|mps|xpu|npu|mlu|backends\.mps|accelerator)\.(is_available|is_initialized|is_built)$")
_DEVICE_WORDS = frozenset({"cuda", "mps", "xpu", "npu", "mlu", "gpu", "cpu"})


_CLEAR_LAST = frozenset({"collect", "empty_cache"})


def clear_kind(semantic: SemanticModel, call: ast.AST) -> str | None:
    """'gc' for `gc.collect()`, 'cache' for `torch.<backend>.empty_cache()`, else None."""
    if not isinstance(call, ast.Call):
        return None
    name = semantic.qualified_name(call.func)
    if name == "gc.collect":
        return "gc"
    if name is not None and name.startswith("torch.") and name.endswith(".empty_cache"):
        return "cache"
    return None


@register
class CacheClearInStep(Rule):
    """
    ## What it does
    Flags `torch.cuda.empty_cache()` (any `torch.<backend>.empty_cache()`) and `gc.collect()`
    run on every step of a training or inference loop, or in a per-step framework hook.

    ## Fix
    Unsafe: moves the call (and adjacent ones) to just after the loop; removes it where it is
    nested deeper in the loop or sits in a per-step hook.
    """

    code = "GL404"
    name = "cache-clear-in-step"
    summary = "torch.cuda.empty_cache() or gc.collect() runs on every step"
    impact = "high"
    evidence = "huggingface/peft PR #2894: 250 steps took 108 s with per-step gc.collect() + empty_cache(), 65 s without gc.collect(), 45 s without either (reported, time)."
    frameworks = ("torch", "tensorflow", "keras")
    # Findings are `gc.collect()` or `torch.<backend>.empty_cache()` calls (or their import lines).
    requires = ("collect", "empty_cache")
    fix_applicability = Applicability.UNSAFE
    options = {
        "include-tests": INCLUDE_TESTS,
    }

    VALID = [
        Valid(
            """
            import gc
            import torch

            def train(model, loader, optimizer):
                for step, (x, y) in enumerate(loader):
                    loss = torch.nn.functional.mse_loss(model(x), y)
                    loss.backward()
                    optimizer.step()
                    if step % 500 == 0:
                        gc.collect()
                        torch.cuda.empty_cache()
            """,
            why="under an interval guard",
        ),
        Valid(
            """
            import torch

            def train(model, loader, optimizer, epochs):
                for epoch in range(epochs):
                    for x, y in loader:
                        model(x).sum().backward()
                        optimizer.step()
                    torch.cuda.empty_cache()
            """,
            why="once per epoch, outside the step loop",
        ),
        Valid(
            """
            import gc
            import torch
            from transformers import AutoModel

            def benchmark(names, batch):
                for name in names:
                    model = AutoModel.from_pretrained(name).cuda()
                    print(name, model(**batch))
                    del model
                    gc.collect()
                    torch.cuda.empty_cache()
            """,
            why="a different model each iteration: freeing the last one's memory is the point",
        ),
        Valid(
            """
            import torch

            def train(model, loader, optimizer):
                for x, y in loader:
                    try:
                        model(x).sum().backward()
                        optimizer.step()
                    except torch.cuda.OutOfMemoryError:
                        torch.cuda.empty_cache()
            """,
            why="recovery from an out-of-memory error",
        ),
        Valid(
            """
            import torch

            def train(model, loader, optimizer, limit):
                for x, y in loader:
                    model(x).sum().backward()
                    optimizer.step()
                    if torch.cuda.memory_reserved() > limit:
                        torch.cuda.empty_cache()
            """,
            why="guarded by a memory-pressure condition that holds on some steps only",
        ),
        Valid(
            """
            import gc
            import torch

            def convert(files):
                for path in files:
                    data = load(path)
                    save(transform(data))
                    gc.collect()
            """,
            why="not a training or inference step loop",
        ),
        Valid(
            """
            import gc
            import torch

            class LitModel:
                def on_train_epoch_end(self):
                    gc.collect()
                    torch.cuda.empty_cache()
            """,
            why="an epoch hook runs once per epoch",
        ),
    ]
    INVALID = [
        Invalid(
            """
            import gc
            import torch

            def train(model, loader, optimizer):
                model.cuda()
                for x, y in loader:
                    optimizer.zero_grad()
                    loss = torch.nn.functional.cross_entropy(model(x.cuda()), y.cuda())
                    loss.backward()
                    optimizer.step()
                    # free memory after every step
                    gc.collect()
                    torch.cuda.empty_cache()  # avoid fragmentation
                return model
            """,
            fixed="""
            import gc
            import torch

            def train(model, loader, optimizer):
                model.cuda()
                for x, y in loader:
                    optimizer.zero_grad()
                    loss = torch.nn.functional.cross_entropy(model(x.cuda()), y.cuda())
                    loss.backward()
                    optimizer.step()
                # free memory after every step
                gc.collect()
                torch.cuda.empty_cache()  # avoid fragmentation
                return model
            """,
            count=2,
            applicability=Applicability.UNSAFE,
            changes_numerics=False,
            message="every step",
        ),
        Invalid(
            """
            import torch as T
            from torch.cuda import empty_cache

            @T.no_grad()
            def predict(model, batches):
                outputs = []
                for batch in batches:
                    empty_cache()
                    outputs.append(model(batch.cuda()).cpu())
                return outputs
            """,
            fixed="""
            import torch as T
            from torch.cuda import empty_cache

            @T.no_grad()
            def predict(model, batches):
                outputs = []
                for batch in batches:
                    outputs.append(model(batch.cuda()).cpu())
                empty_cache()
                return outputs
            """,
            applicability=Applicability.UNSAFE,
            message="inference loop",
        ),
        Invalid(
            """
            import gc
            import torch

            def train(model, loader, optimizer):
                for x, y in loader:
                    model(x).sum().backward()
                    optimizer.step()
                    if torch.cuda.is_available():
                        torch.cuda.empty_cache()
                gc.collect()
            """,
            fixed="""
            import gc
            import torch

            def train(model, loader, optimizer):
                for x, y in loader:
                    model(x).sum().backward()
                    optimizer.step()
                if torch.cuda.is_available():
                    torch.cuda.empty_cache()
                gc.collect()
            """,
            applicability=Applicability.UNSAFE,
        ),
        Invalid(
            """
            import gc
            import torch

            def train(model, loader, optimizer):
                for x, y in loader:
                    model(x).sum().backward()
                    optimizer.step()
                    gc.collect()
                gc.collect()
            """,
            fixed="""
            import gc
            import torch

            def train(model, loader, optimizer):
                for x, y in loader:
                    model(x).sum().backward()
                    optimizer.step()
                gc.collect()
            """,
            applicability=Applicability.UNSAFE,
        ),
        Invalid(
            """
            import torch

            def train(model, loader, optimizer, device):
                for x, y in loader:
                    with torch.autocast("cuda"):
                        loss = model(x.to(device)).sum()
                        torch.cuda.empty_cache()
                    loss.backward()
                    optimizer.step()
            """,
            fixed="""
            import torch

            def train(model, loader, optimizer, device):
                for x, y in loader:
                    with torch.autocast("cuda"):
                        loss = model(x.to(device)).sum()
                    loss.backward()
                    optimizer.step()
            """,
            applicability=Applicability.UNSAFE,
        ),
        Invalid(
            """
            import torch
            import lightning as L

            class LitModel(L.LightningModule):
                def training_step(self, batch, batch_idx):
                    loss = self.model(batch).mean()
                    torch.cuda.empty_cache()
                    return loss
            """,
            fixed="""
            import torch
            import lightning as L

            class LitModel(L.LightningModule):
                def training_step(self, batch, batch_idx):
                    loss = self.model(batch).mean()
                    return loss
            """,
            applicability=Applicability.UNSAFE,
            message="training_step",
        ),
        Invalid(
            """
            import torch

            class Agent:
                def train_step(self, batch):
                    self.optimizer.zero_grad()
                    loss = self.loss_fn(self.net(batch.obs), batch.target)
                    loss.backward()
                    self.optimizer.step()
                    torch.cuda.empty_cache()  # keep memory low
                    return loss.item()
            """,
            fixed="""
            import torch

            class Agent:
                def train_step(self, batch):
                    self.optimizer.zero_grad()
                    loss = self.loss_fn(self.net(batch.obs), batch.target)
                    loss.backward()
                    self.optimizer.step()
                    return loss.item()
            """,
            applicability=Applicability.UNSAFE,
            message="per-step function `train_step`",
        ),
        Invalid(
            """
            import gc
            import torch

            class Callback:
                def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
                    gc.collect()
            """,
            fixed="""
            import gc
            import torch

            class Callback:
                def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
                    pass
            """,
            applicability=Applicability.UNSAFE,
        ),
        Invalid(
            """
            import gc
            import torch

            for x, y in loader:
                model(x).sum().backward(); gc.collect()
                optimizer.step()
            """,
            applicability=Applicability.DISPLAY_ONLY,
        ),
    ]

    def check(self, ctx: Context) -> None:
        semantic = ctx.semantic
        # A qualified name's last part is the callee's attribute or the imported name.
        aliases = {local for scope in semantic.scopes.values() for local, target in scope.imports.items() if target.rsplit(".", 1)[-1] in _CLEAR_LAST}
        for call in semantic.nodes(ast.Call):
            func = call.func
            if not (func.attr in _CLEAR_LAST if isinstance(func, ast.Attribute) else isinstance(func, ast.Name) and func.id in aliases):
                continue  # cannot be gc.collect or empty_cache: skip resolving its name
            kind = clear_kind(semantic, call)
            if kind is None:
                continue
            where = self._per_step(semantic, call)
            if where is None:
                continue
            what = "a full garbage collection walks every tracked Python object" if kind == "gc" else (
                "it hands the allocator's cached blocks back to the driver, so the next step must allocate them again"
            )
            loop, label = where
            ctx.report(
                call,
                f"`{_short(call)}` runs on every step of this {label}: {what}; drop it, or run it every N steps",
                self._fix(ctx, call, loop),
            )

    @staticmethod
    def _per_step(semantic: SemanticModel, call: ast.Call) -> tuple[ast.AST | None, str] | None:
        """(step loop, description) when the call runs on every step, else None."""
        loop = step_loop_around(semantic, call)
        if loop is not None:
            if not _every_iteration(semantic, call, loop) or _new_model_per_iteration(semantic, loop):
                return None
            return loop, f"{step_loops(semantic)[loop]} loop"
        hook = semantic.enclosing_def(call, through_lambdas=False)
        if hook is None:
            return None
        is_hook = hook.name in _STEP_HOOKS and isinstance(semantic.parent(hook), ast.ClassDef)
        if not is_hook and not _STEP_FUNCTION.match(hook.name):
            return None
        if not _every_iteration(semantic, call, hook) or semantic.enclosing_loops(call):
            return None
        return None, f"per-step {'hook' if is_hook else 'function'} `{hook.name}`"

    def _fix(self, ctx: Context, call: ast.Call, loop: ast.AST | None) -> Fix:
        advice = Fix(Applicability.DISPLAY_ONLY, f"Remove `{_short(call)}` from the step, or run it every N steps")
        semantic = ctx.semantic
        statement = semantic.enclosing_statement(call)
        if not (isinstance(statement, ast.Expr) and statement.value is call) or not _own_lines(ctx, statement):
            return advice
        # Climb to an `if` that holds nothing but cache clearing (`if torch.cuda.is_available(): ...`).
        unit: ast.stmt = statement
        while True:
            parent = semantic.parent(unit)
            if parent is loop or not isinstance(parent, ast.If) or parent.orelse or not all(_is_clear_statement(semantic, s) for s in parent.body):
                break
            if not _own_lines(ctx, parent):
                break
            unit = parent
        if loop is not None and any(s is unit for s in loop.body):
            edits = _move_after_loop(ctx, unit, loop)
            if edits is None:
                return advice
            return Fix(Applicability.UNSAFE, "Move the cache clearing to after the loop", build=lambda: edits)
        edits = _remove(ctx, statement)
        if edits is None:
            return advice
        return Fix(Applicability.UNSAFE, f"Remove `{_short(call)}`", build=lambda: edits)


def _every_iteration(semantic: SemanticModel, call: ast.Call, top: ast.AST) -> bool:
    """Between the call and `top` (its step loop or hook def): nothing that makes it run on
    some iterations only. Device-availability `if`s are the same on every step."""
    child: ast.AST = call
    for ancestor in semantic.ancestors(call):
        if ancestor is top:
            return True
        if isinstance(ancestor, FUNCTION_NODES):
            return False
        if isinstance(ancestor, ast.If):
            if child is ancestor.test or not _device_check(semantic, ancestor.test):
                return False
        elif isinstance(ancestor, (ast.IfExp, ast.BoolOp, ast.ExceptHandler, ast.Match, ast.comprehension)):
            return False
        elif isinstance(ancestor, ast.While) and child is ancestor.test:
            return False
        elif isinstance(ancestor, ast.Try) and any(child is s for s in ancestor.orelse):
            return False
        child = ancestor
    return False


def _device_check(semantic: SemanticModel, test: ast.AST) -> bool:
    """`torch.cuda.is_available()`, `device.type == "cuda"`, `x.is_cuda`, combinations of
    them: a test that has the same value on every step."""
    if isinstance(test, ast.BoolOp):
        return all(_device_check(semantic, v) for v in test.values)
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return _device_check(semantic, test.operand)
    if isinstance(test, ast.Call):
        name = semantic.qualified_name(test.func) or ""
        return bool(_DEVICE_CHECKS.match(name)) and not test.args
    if isinstance(test, ast.Attribute):
        return test.attr == "is_cuda"
    if isinstance(test, ast.Compare) and len(test.ops) == 1:
        operands = [test.left, *test.comparators]
        strings = [o for o in operands if isinstance(o, ast.Constant) and isinstance(o.value, str)]
        others = [o for o in operands if o not in strings]
        if len(strings) != 1 or len(others) != 1 or strings[0].value.split(":")[0].lower() not in _DEVICE_WORDS:
            return False
        other = others[0]
        if isinstance(other, ast.Call) and isinstance(other.func, ast.Name) and other.func.id == "str" and other.args:
            other = other.args[0]
        text = ast.unparse(other).lower()
        return "device" in text or text.endswith(".type")
    return False


def _new_model_per_iteration(semantic: SemanticModel, loop: ast.AST) -> bool:
    """The loop builds, loads or deletes a model on each iteration, or runs a model the loop
    rebinds: freeing memory between models is the point of the call."""
    bound = semantic.names_bound_in(loop)
    for node in ast.walk(loop):
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and semantic.is_model_source(node.value):
            return True
        if isinstance(node, ast.Delete):
            for target in node.targets:
                name = target.attr if isinstance(target, ast.Attribute) else target.id if isinstance(target, ast.Name) else ""
                if name and is_model_name(name):
                    return True
        if isinstance(node, ast.Call) and is_step_call(semantic, node) == "forward":
            target = forward_target(node)
            if isinstance(target, ast.Name) and target.id in bound:
                return True
    return False


def _is_clear_statement(semantic: SemanticModel, statement: ast.stmt) -> bool:
    if isinstance(statement, ast.Expr):
        return clear_kind(semantic, statement.value) is not None
    if isinstance(statement, ast.If) and not statement.orelse:
        return _device_check(semantic, statement.test) and all(_is_clear_statement(semantic, s) for s in statement.body)
    return False


def _own_lines(ctx: Context, statement: ast.stmt) -> bool:
    """The statement starts its first line and nothing but a comment follows it on its last."""
    lines, text = ctx.lines, ctx.text
    start, end = lines.node_range(statement)
    if text[lines.line_start(statement.lineno) : start].strip():
        return False
    trailing = text[end : lines.line_end(statement.end_lineno)].strip()
    return not trailing or trailing.startswith("#")


def _line_block(ctx: Context, first: int, last: int) -> tuple[int, int]:
    lines = ctx.lines
    start = lines.line_start(first)
    end = lines.line_starts[last] if last < len(lines.line_starts) else len(ctx.text)
    return start, end


def _move_after_loop(ctx: Context, unit: ast.stmt, loop: ast.AST) -> list[Edit] | None:
    """Cut the run of cache-clearing statements around `unit` in the loop body (with the
    comment lines right above it) and paste it after the loop at the loop's indentation,
    leaving out statements the code right after the loop already runs."""
    semantic, lines, text = ctx.semantic, ctx.lines, ctx.text
    body = loop.body
    index = next(i for i, s in enumerate(body) if s is unit)
    first = last = index
    while first > 0 and _is_clear_statement(semantic, body[first - 1]) and _own_lines(ctx, body[first - 1]):
        first -= 1
    while last + 1 < len(body) and _is_clear_statement(semantic, body[last + 1]) and _own_lines(ctx, body[last + 1]):
        last += 1
    group = body[first : last + 1]
    if len(group) == len(body):
        return None  # the loop would be left empty (cannot happen for a step loop)
    loop_start = lines.line_start(loop.lineno)
    new_indent = text[loop_start : lines.offset(loop.lineno, loop.col_offset)]
    if new_indent.strip():
        return None  # the loop does not start its line
    old_indent = text[lines.line_start(group[0].lineno) : lines.offset(group[0].lineno, group[0].col_offset)]
    # Statements already right after the loop are not pasted twice.
    after = semantic.body_containing(loop)
    following: list[str] = []
    if after is not None:
        siblings, position = after
        for statement in siblings[position + 1 :]:
            if not _is_clear_statement(semantic, statement):
                break
            following.append(ast.dump(statement))
    newline = newline_of(text)
    edits: list[Edit] = []
    pasted: list[str] = []
    for n, statement in enumerate(group):
        top = statement.lineno
        if n == 0:
            while top - 1 > loop.lineno and lines.line_text(top - 1).strip().startswith("#"):
                top -= 1
        start, end = _line_block(ctx, top, statement.end_lineno)
        if n > 0:
            # Blank or comment lines between two statements of the group move with them.
            start = _line_block(ctx, group[n - 1].end_lineno + 1, statement.end_lineno)[0]
        edits.append(Edit(start, end, ""))
        if ast.dump(statement) in following:
            continue
        chunk = text[start:end]
        if not chunk.endswith(("\n", "\r")):
            chunk += newline
        pasted.extend(
            new_indent + line[len(old_indent) :] if line.startswith(old_indent) else line
            for line in re.split(r"(?<=\n)", chunk)
            if line
        )
    if pasted:
        end_row = loop.end_lineno
        insert_at = lines.line_starts[end_row] if end_row < len(lines.line_starts) else len(text)
        block = "".join(pasted)
        at_eof = insert_at == len(text) and not text.endswith(("\n", "\r"))
        # The cut ends where the insertion starts when the group closes the loop: merge them.
        merged = next((i for i, edit in enumerate(edits) if edit.end == insert_at), None)
        if merged is not None:
            if at_eof:
                block = block.rstrip("\r\n")  # the file kept no final newline
            edits[merged] = Edit(edits[merged].start, insert_at, block)
        else:
            if at_eof:
                block = newline + block.rstrip("\r\n")
            edits.append(Edit(insert_at, insert_at, block))
    return edits


def _remove(ctx: Context, statement: ast.stmt) -> list[Edit] | None:
    """Delete the statement's lines; write `pass` in its place when its block would be empty."""
    found = ctx.semantic.body_containing(statement)
    if found is None:
        return None
    block, _ = found
    if len(block) == 1:
        start, end = ctx.lines.node_range(statement)
        return [Edit(start, end, "pass")]
    start, end = _line_block(ctx, statement.lineno, statement.end_lineno)
    return [Edit(start, end, "")]


def _short(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 40 else text[:37] + "..."
