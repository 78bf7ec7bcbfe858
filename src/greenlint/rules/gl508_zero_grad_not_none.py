"""GL508 zero-grad-not-none: `optimizer.zero_grad(set_to_none=False)` / `model.zero_grad(False)`,
which writes zeros into every gradient tensor each step instead of dropping the gradients."""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING

from greenlint.diagnostics import Applicability, Edit, Fix
from greenlint.rules.base import INCLUDE_TESTS, Invalid, Rule, Valid, register
from greenlint.semantic import FUNCTION_NODES, SemanticModel

if TYPE_CHECKING:
    from greenlint.engine import Context


@register
class ZeroGradNotNone(Rule):
    """
    ## What it does
    Flags `zero_grad(set_to_none=False)` (or `zero_grad(False)`) on an optimizer or a module, in
    files that visibly use CUDA.

    ## Fix
    Writes `set_to_none=True` (unsafe: gradients read before the next backward, or of
    parameters that get no gradient in a step, are then `None` instead of zeros, and
    `torch.optim` optimizers skip such parameters instead of stepping them with a zero
    gradient). Display-only where the same scope reads `.grad` without a `None` check.
    """

    code = "GL508"
    name = "zero-grad-not-none"
    summary = "Gradients are zeroed in memory (set_to_none=False) instead of being set to None"
    impact = "low"
    evidence = "PyTorch Performance Tuning Guide: set_to_none=True skips a memset per gradient and lets backward assign instead of add (guidance, no number); the saving needs CUDA's caching allocator: on a CPU, greenlint measured page faults eating it."
    frameworks = ("torch", "lightning", "accelerate")
    # Findings are `.zero_grad(...)` calls.
    requires = ("zero_grad",)
    fix_applicability = Applicability.UNSAFE
    options = {
        "include-tests": INCLUDE_TESTS,
    }

    VALID = [
        Valid(
            """
            import torch

            def train(model, loader, optimizer):
                model.cuda()
                for x, y in loader:
                    optimizer.zero_grad()
                    torch.nn.functional.mse_loss(model(x), y).backward()
                    optimizer.step()
            """,
            why="the default (set_to_none=True since PyTorch 2.0)",
        ),
        Valid(
            """
            import torch

            def train(model, loader, optimizer, keep):
                model.cuda()
                for x, y in loader:
                    optimizer.zero_grad(set_to_none=keep)
                    model(x).sum().backward()
                    optimizer.step()
            """,
            why="a runtime choice, not a literal False",
        ),
        Valid(
            """
            import torch

            class ZeroOptimizer(torch.optim.Optimizer):
                def zero_grad(self, set_to_none: bool = False):
                    torch.cuda.synchronize()
                    super().zero_grad(set_to_none=False)
            """,
            why="an optimizer implementing zero_grad itself: deliberate",
        ),
        Valid(
            """
            import torch

            def train(model, static_x, static_y, batches, optimizer):
                optimizer.zero_grad(set_to_none=True)
                graph = torch.cuda.CUDAGraph()
                with torch.cuda.graph(graph):
                    loss = torch.nn.functional.mse_loss(model(static_x), static_y)
                    loss.backward()
                for x, y in batches:
                    static_x.copy_(x)
                    static_y.copy_(y)
                    optimizer.zero_grad(set_to_none=False)
                    graph.replay()
                    optimizer.step()
            """,
            why="CUDA graphs replay into static gradient buffers, which must be zeroed in place",
        ),
        Valid(
            """
            import torch

            def train(model, loader, optimizer):
                for x, y in loader:
                    optimizer.zero_grad(set_to_none=True)
                    model(x).sum().backward()
                    optimizer.step()
            """,
            why="already set to None",
        ),
        Valid(
            """
            import torch

            def test_zero_grad_keeps_zeros(model, optimizer):
                model.cuda()
                optimizer.zero_grad(set_to_none=False)
                assert all((p.grad == 0).all() for p in model.parameters())
            """,
            filename="tests/test_optim.py",
            why="test files are skipped by default (include-tests)",
        ),
        Valid(
            """
            import torch

            def train(model, loader, optimizer):
                for x, y in loader:
                    optimizer.zero_grad(set_to_none=False)
                    model(x).sum().backward()
                    optimizer.step()
            """,
            why="no CUDA in sight: on a CPU, fresh gradient buffers can cost more page faults than the memset saves",
        ),
    ]
    INVALID = [
        Invalid(
            """
            import torch

            def train(model, loader, optimizer):
                model.cuda()
                for x, y in loader:
                    optimizer.zero_grad(set_to_none=False)  # clear the gradients
                    loss = torch.nn.functional.mse_loss(model(x), y)
                    loss.backward()
                    optimizer.step()
            """,
            fixed="""
            import torch

            def train(model, loader, optimizer):
                model.cuda()
                for x, y in loader:
                    optimizer.zero_grad(set_to_none=True)  # clear the gradients
                    loss = torch.nn.functional.mse_loss(model(x), y)
                    loss.backward()
                    optimizer.step()
            """,
            applicability=Applicability.UNSAFE,
            changes_numerics=False,
            message="set_to_none=False",
        ),
        Invalid(
            """
            import torch
            from torch import nn

            net = nn.Linear(4, 2).cuda()
            opt = torch.optim.SGD(net.parameters(), lr=0.1)
            for x in batches:
                net.zero_grad(False)
                net(x).sum().backward()
                opt.step()
            """,
            fixed="""
            import torch
            from torch import nn

            net = nn.Linear(4, 2).cuda()
            opt = torch.optim.SGD(net.parameters(), lr=0.1)
            for x in batches:
                net.zero_grad(True)
                net(x).sum().backward()
                opt.step()
            """,
            applicability=Applicability.UNSAFE,
        ),
        Invalid(
            """
            import torch

            class Trainer:
                def step(self, batch):
                    batch = batch.cuda()
                    self.optimizer.zero_grad(
                        set_to_none=False,
                    )
                    self.model(batch).mean().backward()
                    self.optimizer.step()
            """,
            fixed="""
            import torch

            class Trainer:
                def step(self, batch):
                    batch = batch.cuda()
                    self.optimizer.zero_grad(
                        set_to_none=True,
                    )
                    self.model(batch).mean().backward()
                    self.optimizer.step()
            """,
            applicability=Applicability.UNSAFE,
        ),
        Invalid(
            """
            import torch

            def train(model, loader, optimizer, writer):
                model.cuda()
                for step, (x, y) in enumerate(loader):
                    optimizer.zero_grad(set_to_none=False)
                    model(x).sum().backward()
                    norms = [p.grad.norm() for p in model.parameters()]
                    writer.add_scalar("grad", sum(norms), step)
                    optimizer.step()
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="reads `.grad`",
        ),
    ]

    def check(self, ctx: Context) -> None:
        semantic = ctx.semantic
        # On a CPU the allocator is the C library's malloc: fresh gradient buffers each step can
        # cost more in page faults than the memset saves (measured: fixtures/GL508).
        if not semantic.uses_cuda():
            return
        for call in semantic.nodes(ast.Call):
            func = call.func
            if not isinstance(func, ast.Attribute) or func.attr != "zero_grad":
                continue
            flag = _set_to_none_flag(call)
            if flag is None or not (isinstance(flag, ast.Constant) and flag.value is False):
                continue
            owner = semantic.enclosing_def(call)
            if owner is not None and "zero_grad" in owner.name:
                continue  # an optimizer or wrapper implementing zero_grad itself
            if _uses_cuda_graphs(semantic):
                return  # captured graphs need gradients in static buffers, zeroed in place
            receiver = ast.unparse(func.value)
            reader = _unguarded_grad_read(semantic, call)
            if reader is not None:
                fix = Fix(
                    Applicability.DISPLAY_ONLY,
                    f"Drop `set_to_none=False`, after making `{_short(reader)}` handle a `None` gradient",
                )
                message = (
                    f"`{receiver}.zero_grad(set_to_none=False)` writes zeros into every gradient each step; "
                    f"this scope reads `.grad` (`{_short(reader)}`), which would see `None` with the default"
                )
            else:
                start, end = ctx.lines.node_range(flag)
                fix = Fix(
                    Applicability.UNSAFE,
                    "Set `set_to_none=True`",
                    build=lambda start=start, end=end: [Edit(start, end, "True")],
                )
                message = (
                    f"`{receiver}.zero_grad(set_to_none=False)` writes zeros into every gradient each step; "
                    "set them to None (the default since PyTorch 2.0) so backward assigns them instead"
                )
            ctx.report(call, message, fix)


_CUDA_GRAPH_NAMES = ("torch.cuda.graph", "torch.cuda.CUDAGraph", "torch.cuda.make_graphed_callables", "torch.cuda.graphs.")
_CUDA_GRAPH_WORDS = re.compile(r"(?i)cuda_?graph|reduce-overhead|max-autotune(?!-no-cudagraphs)")


def _uses_cuda_graphs(semantic: SemanticModel) -> bool:
    """The file captures CUDA graphs (`torch.cuda.graph`, `make_graphed_callables`,
    `torch.compile(mode="reduce-overhead")`, a `cudagraph` name): replayed graphs read and
    write the same gradient tensors, so `set_to_none=False` is required there."""
    cache = semantic.rule_cache.setdefault("GL508", {})
    found = cache.get("cuda_graphs")
    if found is None:
        found = False
        for node in ast.walk(semantic.tree):
            if isinstance(node, (ast.Name, ast.Attribute)):
                qualified = semantic.qualified_name(node) or ""
                text = node.id if isinstance(node, ast.Name) else node.attr
                if qualified.startswith(_CUDA_GRAPH_NAMES) or _CUDA_GRAPH_WORDS.search(text):
                    found = True
                    break
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and _CUDA_GRAPH_WORDS.search(node.value):
                found = True
                break
        cache["cuda_graphs"] = found
    return found


def _set_to_none_flag(call: ast.Call) -> ast.AST | None:
    """The value passed for `set_to_none` (keyword or the one positional argument)."""
    for keyword in call.keywords:
        if keyword.arg == "set_to_none":
            return keyword.value
    if len(call.args) == 1 and not call.keywords:
        return call.args[0]
    return None


def _unguarded_grad_read(semantic: SemanticModel, call: ast.Call) -> ast.AST | None:
    """An expression reading `X.grad` in the call's scope (function, or module-level code),
    when the scope never compares a `.grad` with None (code written for None gradients)."""
    scope = semantic.enclosing_function(call) or semantic.tree
    reads = []
    for node in semantic.scope_body(scope):
        if isinstance(node, ast.Compare) and _is_grad(node.left) and any(
            isinstance(c, ast.Constant) and c.value is None for c in node.comparators
        ):
            return None
        if _is_grad(node) and isinstance(node.ctx, ast.Load):
            reads.append(node)
    if not reads:
        return None
    first = min(reads, key=lambda n: (n.lineno, n.col_offset))
    parent = semantic.parent(first)
    while isinstance(parent, (ast.Attribute, ast.Call, ast.Subscript)) and not isinstance(parent, FUNCTION_NODES):
        first, parent = parent, semantic.parent(parent)
    return first


def _is_grad(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "grad"


def _short(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 40 else text[:37] + "..."
