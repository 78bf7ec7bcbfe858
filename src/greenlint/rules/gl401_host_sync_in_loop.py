"""GL401 host-sync-in-loop: a CUDA value read back on the host every step of a training or
inference loop (`.item()`, `.cpu()`, `.tolist()`, `float(t)`, `print(t)`), or `total += loss`
keeping every step's autograd graph alive."""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING

from greenlint.diagnostics import Applicability, Edit, Fix
from greenlint.rules.base import INCLUDE_TESTS, Invalid, Rule, Valid, register
from greenlint.semantic import (
    SemanticModel,
    is_criterion_call,
    is_step_call,
    step_loop_around,
    step_loops,
)

if TYPE_CHECKING:
    from greenlint.engine import Context

_LOOPS = (ast.For, ast.AsyncFor, ast.While)

# ---------------------------------------------------------------------------- value kinds
_TENSOR, _HOST = "tensor", "host"
_HOST_METHODS = frozenset(
    "item tolist numpy cpu size dim numel nelement element_size stride get_device is_contiguous data_ptr keys values items".split()
)
_HOST_ATTRIBUTES = frozenset("shape dtype device ndim is_cuda requires_grad is_leaf layout names".split())
_HOST_BUILTINS = frozenset("float int bool len str repr round list tuple dict set range sorted format".split())
_HOST_MODULES = ("numpy.", "math.", "statistics.", "random.", "time.", "builtins.")
_TORCH_NOT_TENSOR = (
    "torch.cuda.", "torch.distributed.", "torch.device", "torch.Size", "torch.is_", "torch.numel", "torch.get_",
    "torch.set_", "torch.manual_seed", "torch.save", "torch.load", "torch.utils.", "torch.optim.", "torch.backends.",
    "torch.compile", "torch.jit.", "torch.autograd.", "torch.no_grad", "torch.inference_mode", "torch.enable_grad",
    "torch.amp.", "torch.cpu.", "torch.hub.", "torch.nn.init.", "torch.nn.utils.", "torch.Generator", "torch.finfo", "torch.iinfo",
)
_DETACHING = frozenset("item tolist numpy detach argmax argmin size dim numel long int bool".split())


class _Kinds:
    """What an expression evaluates to, as far as the code shows: a tensor (possibly on the
    GPU), a host value (number, string, numpy, CPU copy), or None when it cannot tell."""

    def __init__(self, semantic: SemanticModel) -> None:
        self.semantic = semantic
        self._active: set[tuple[int, str]] = set()

    def kind(self, expr: ast.AST, depth: int = 0) -> str | None:
        if depth > 12:
            return None
        if isinstance(expr, (ast.Constant, ast.JoinedStr, ast.List, ast.Tuple, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp)):
            return _HOST
        if isinstance(expr, ast.Name):
            value = self._latest_value(expr)
            if value is None:
                return None
            key = (id(value), expr.id)
            if key in self._active:
                return None
            self._active.add(key)
            try:
                return self.kind(value, depth + 1)
            finally:
                self._active.discard(key)
        if isinstance(expr, ast.Call):
            return self._call_kind(expr, depth)
        if isinstance(expr, ast.Attribute):
            if expr.attr in _HOST_ATTRIBUTES:
                return _HOST
            base = self.kind(expr.value, depth + 1)
            return _TENSOR if base == _TENSOR else None
        if isinstance(expr, ast.Subscript):
            base = self.kind(expr.value, depth + 1)
            return base if base == _TENSOR or (base == _HOST and _is_shape(expr.value)) else None
        if isinstance(expr, ast.BinOp):
            kinds = (self.kind(expr.left, depth + 1), self.kind(expr.right, depth + 1))
            if _TENSOR in kinds:
                return _TENSOR
            return _HOST if kinds == (_HOST, _HOST) else None
        if isinstance(expr, ast.UnaryOp):
            return self.kind(expr.operand, depth + 1)
        if isinstance(expr, ast.Compare):
            return _TENSOR if self.kind(expr.left, depth + 1) == _TENSOR else None
        return None

    def _call_kind(self, call: ast.Call, depth: int) -> str | None:
        semantic = self.semantic
        func = call.func
        if isinstance(func, ast.Attribute):
            if func.attr in _HOST_METHODS:
                return _HOST
            if func.attr == "to" and call.args and isinstance(call.args[0], ast.Constant) and call.args[0].value == "cpu":
                return _HOST
        name = semantic.qualified_name(func)
        if name is not None:
            if name.startswith(_HOST_MODULES):
                return _HOST if not name.startswith("builtins.") or name[9:] in _HOST_BUILTINS else None
            if name.startswith("torch."):
                if name.startswith(_TORCH_NOT_TENSOR):
                    return None
                last = name.rsplit(".", 1)[-1]
                return None if name.startswith("torch.nn.") and last[:1].isupper() else _TENSOR
        if is_step_call(semantic, call) == "forward" or is_criterion_call(semantic, call):
            return _TENSOR
        if isinstance(func, ast.Attribute) and self.kind(func.value, depth + 1) == _TENSOR:
            return _TENSOR
        return None

    def _latest_value(self, name: ast.Name) -> ast.AST | None:
        """The value last assigned to `name` before this use, in the same scope."""
        found = self.semantic.lookup(name.id, name)
        if found is None or found[1] != "local":
            return None
        position = (name.lineno, name.col_offset)
        before = [v for v in found[0].bindings[name.id] if v is not None and (v.lineno, v.col_offset) < position]
        return max(before, key=lambda v: (v.lineno, v.col_offset)) if before else None

    def carries_graph(self, expr: ast.AST, depth: int = 0) -> bool:
        """Whether a value is a loss or model output still attached to its autograd graph."""
        if depth > 12 or self.semantic.is_grad_disabled(expr):
            return False
        if isinstance(expr, ast.Name):
            value = self._latest_value(expr)
            key = (id(value), expr.id)
            if value is None or key in self._active:
                return False
            self._active.add(key)
            try:
                return self.carries_graph(value, depth + 1)
            finally:
                self._active.discard(key)
        if isinstance(expr, ast.Call):
            func = expr.func
            if isinstance(func, ast.Attribute) and func.attr in _DETACHING:
                return False
            if isinstance(func, ast.Name) and func.id in _HOST_BUILTINS:
                return False
            if is_step_call(self.semantic, expr) == "forward" or is_criterion_call(self.semantic, expr):
                return True
            return isinstance(func, ast.Attribute) and self.carries_graph(func.value, depth + 1)
        if isinstance(expr, ast.Attribute):
            return expr.attr not in _HOST_ATTRIBUTES and expr.attr != "data" and self.carries_graph(expr.value, depth + 1)
        if isinstance(expr, ast.Subscript):
            return self.carries_graph(expr.value, depth + 1)
        if isinstance(expr, ast.BinOp):
            return self.carries_graph(expr.left, depth + 1) or self.carries_graph(expr.right, depth + 1)
        if isinstance(expr, ast.UnaryOp):
            return self.carries_graph(expr.operand, depth + 1)
        return False


def _is_shape(expr: ast.AST) -> bool:
    return (isinstance(expr, ast.Attribute) and expr.attr == "shape") or (
        isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr == "size"
    )


# ---------------------------------------------------------------------------- guards
# Words in a condition that make it a logging or debugging switch rather than a per-step path.
_GUARD_WORDS = frozenset(
    "log logging logger print verbose verbosity debug display every interval freq frequency report vis visual visualize show monitor".split()
)


def _words(text: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text)
    return [w for w in spaced.lower().split("_") if w]


def _is_rare_condition(test: ast.AST, loop: ast.AST) -> bool:
    """`step % N == 0`, `i == 0`, `if verbose`, `if global_step % self.log_every == 0`: a branch
    that runs on some steps only, or only when debugging."""
    loop_names = {n.id for n in ast.walk(loop.target) if isinstance(n, ast.Name)} if isinstance(loop, (ast.For, ast.AsyncFor)) else set()
    for node in ast.walk(test):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
            return True
        if isinstance(node, ast.Compare) and any(isinstance(op, (ast.Eq, ast.NotEq)) for op in node.ops):
            operands = [node.left, *node.comparators]
            if any(isinstance(n, ast.Name) and n.id in loop_names for o in operands for n in ast.walk(o)):
                return True
        text = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else None
        if text and any(word in _GUARD_WORDS for word in _words(text)):
            return True
    return False


def _exempt(semantic: SemanticModel, node: ast.AST, loop: ast.AST) -> bool:
    """Between `node` and its step loop: a logging-interval or first-step guard, an exception
    handler, or a control-flow decision that needs the value (an `if`/`while` test, assert)."""
    child = node
    for ancestor in semantic.ancestors(node):
        if ancestor is loop:
            return isinstance(loop, ast.While) and child is loop.test
        if isinstance(ancestor, (ast.If, ast.IfExp, ast.While)):
            if child is ancestor.test:
                return True
            if not isinstance(ancestor, ast.While) and _is_rare_condition(ancestor.test, loop):
                return True
        elif isinstance(ancestor, (ast.ExceptHandler, ast.Assert, ast.Raise)):
            return True
        elif isinstance(ancestor, ast.comprehension) and child in ancestor.ifs:
            return True
        child = ancestor
    return False


def _synchronizes(semantic: SemanticModel, loop: ast.AST) -> bool:
    """A benchmark or profiling loop that synchronises on purpose every iteration
    (`torch.cuda.synchronize()`, `time_sync()`): one more read costs nothing extra."""
    cache = semantic.rule_cache.setdefault("GL401", {})
    found = cache.get(loop)
    if found is None:
        found = False
        for node in ast.walk(loop):
            if isinstance(node, ast.Call):
                func = node.func
                text = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
                if any(word in ("sync", "synchronize") for word in _words(text)):
                    found = True
                    break
        cache[loop] = found
    return found


# ---------------------------------------------------------------------------- the rule
_ADVICE = "Keep the value on the device (e.g. `running += loss.detach()`) and read it every N steps or after the loop"


@register
class HostSyncInLoop(Rule):
    """
    ## What it does
    Flags, in a training or inference step loop of a file that uses CUDA, reads of device
    values on the host every step (`.item()`, `.cpu()`, `.tolist()`, `.numpy(force=True)`,
    `float(t)`/`int(t)`/`bool(t)`, `print(t)`, f-strings of tensors), and `total += loss`,
    which keeps every step's autograd graph alive.

    ## Fix
    Advice only for the syncs. `total += loss` becomes `total += loss.detach()` (unsafe).
    """

    code = "GL401"
    name = "host-sync-in-loop"
    summary = "A CUDA value is read on the host every step of a training or inference loop"
    impact = "medium"
    evidence = 'GPU only (reported, not re-measured): 40-50 ms cudaStreamSynchronize per step (torchtune #522), +5-7% throughput deferring .item() (fvdb #144). No CPU effect.'
    frameworks = ("torch",)
    fix_applicability = Applicability.UNSAFE
    options = {
        "include-tests": INCLUDE_TESTS,
    }

    VALID = [
        Valid(
            """
            import torch

            def train(model, loader, optimizer, criterion):
                model.cuda()
                for step, (x, y) in enumerate(loader):
                    loss = criterion(model(x.cuda()), y.cuda())
                    loss.backward()
                    optimizer.step()
                    if step % 100 == 0:
                        print(f"step {step}: {loss.item():.4f}")
            """,
            why="sync under a logging-interval guard",
        ),
        Valid(
            """
            import torch

            def train(model, loader, opt, log_every):
                model.to("cuda")
                for i, (x, y) in enumerate(loader):
                    loss = torch.nn.functional.mse_loss(model(x), y)
                    loss.backward()
                    opt.step()
                    if (i + 1) % log_every == 0:
                        print(loss.item())
            """,
            why="modulo guard on a shifted counter",
        ),
        Valid(
            """
            import torch

            def train(model, loader, optimizer):
                for x, y in loader:
                    loss = torch.nn.functional.cross_entropy(model(x), y)
                    loss.backward()
                    optimizer.step()
                    print(loss.item())
            """,
            why="no CUDA visible in the file: a CPU run has no queue to drain",
        ),
        Valid(
            """
            import torch

            device = torch.device("cuda")

            def fit(model, loader, optimizer, criterion):
                losses = []
                for x, y in loader:
                    loss = criterion(model(x.to(device)), y.to(device))
                    loss.backward()
                    optimizer.step()
                    losses.append(loss.detach())
                return torch.stack(losses).mean().item()
            """,
            why="accumulated on the device, read once after the loop",
        ),
        Valid(
            """
            import torch

            def run(model, train_loader, x_val, y_val, optimizer, criterion, epochs):
                model.cuda()
                for epoch in range(epochs):
                    for x, y in train_loader:
                        loss = criterion(model(x), y)
                        loss.backward()
                        optimizer.step()
                    with torch.no_grad():
                        val_loss = criterion(model(x_val), y_val).item()
                    print(epoch, val_loss)
            """,
            why="a per-epoch evaluation in the epoch loop, not a per-step sync",
        ),
        Valid(
            """
            import torch

            def summarize(metrics, loader):
                torch.cuda.synchronize()
                for batch in loader:
                    for name, value in metrics.items():
                        print(name, value)
            """,
            why="not a step loop (no forward, backward or optimizer step); dict .items()",
        ),
        Valid(
            """
            import torch
            import numpy as np

            def predict(model, loader):
                model = model.cuda().eval()
                outputs = []
                with torch.no_grad():
                    for x in loader:
                        outputs.append(model(x.cuda()))
                preds = torch.cat(outputs).cpu()
                return np.asarray(preds).mean().item()
            """,
            why=".cpu() on the final output after the loop; numpy .item()",
        ),
        Valid(
            """
            import torch

            def train(model, loader, optimizer, criterion):
                model.cuda()
                total = 0.0
                for x, y in loader:
                    optimizer.zero_grad()
                    loss = criterion(model(x), y)
                    loss.backward()
                    optimizer.step()
                    total += loss.detach()
                    if not torch.isfinite(loss):
                        break
                return total
            """,
            why="detached accumulation; a control-flow check is not flagged",
        ),
        Valid(
            """
            import torch

            def generate(model, ids, eos):
                model.cuda()
                for _ in range(64):
                    next_id = model(ids)[:, -1].argmax(-1)
                    ids = torch.cat([ids, next_id[:, None]], dim=-1)
                    if next_id.item() == eos:
                        break
                return ids
            """,
            why="the value decides the loop's control flow",
        ),
        Valid(
            """
            import torch

            def train(model, loader, optimizer, criterion, accumulation):
                model.cuda()
                total = 0
                for step, (x, y) in enumerate(loader):
                    total += criterion(model(x), y)
                    if step % accumulation == 0:
                        total.backward()
                        optimizer.step()
                        total = 0
            """,
            why="the accumulated loss is backpropagated: gradient accumulation needs the graph",
        ),
        Valid(
            """
            import torch

            def train(model, loader, optimizer, criterion, verbose=False):
                model.cuda()
                for x, y in loader:
                    loss = criterion(model(x), y)
                    loss.backward()
                    optimizer.step()
                    if verbose:
                        print(loss)
            """,
            why="debug output behind a verbosity switch",
        ),
        Valid(
            """
            import torch

            def train(model, loader, optimizer, criterion):
                model.cuda()
                for x, y in loader:
                    loss = criterion(model(x), y)
                    loss.backward()
                    optimizer.step()
                    total = 0
                    total += loss
            """,
            why="`total` does not persist across iterations",
        ),
        Valid(
            """
            import torch
            from torch import nn

            class Encoder(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.blocks = nn.ModuleList(nn.Linear(8, 8) for _ in range(4))
                    self.norm = nn.LayerNorm(8).cuda()

                def forward(self, x):
                    for block in self.blocks:
                        x = self.norm(block(x))
                    return x, x.mean().item()
            """,
            why="a loop over layers inside a module's forward is not a step loop",
        ),
        Valid(
            """
            import torch
            from torch import nn

            criterion = nn.MSELoss()

            def report(preds, targets):
                for name, pred, target in zip(["a", "b"], preds.cuda(), targets.cuda()):
                    print(name, criterion(pred, target).item())
            """,
            why="a loss evaluated per item is not a training or inference step",
        ),
    ]
    INVALID = [
        Invalid(
            """
            import torch

            def train(model, loader, optimizer, criterion):
                model.cuda()
                running = 0.0
                for x, y in loader:
                    optimizer.zero_grad()
                    loss = criterion(model(x.cuda()), y.cuda())
                    loss.backward()
                    optimizer.step()
                    running += loss.item()
                return running / len(loader)
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="`loss.item()`",
        ),
        Invalid(
            """
            import torch as T
            import torch.nn.functional as F

            device = T.device("cuda" if T.cuda.is_available() else "cpu")

            def train(net, loader, opt):
                for step, (x, y) in enumerate(loader):
                    loss = F.cross_entropy(net(x.to(device)), y.to(device))
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    print(f"step {step} loss {loss:.3f}")
                    print(loss)
                    value = float(loss)
            """,
            count=3,
            applicability=Applicability.DISPLAY_ONLY,
            message="training loop",
        ),
        Invalid(
            """
            import torch

            @torch.no_grad()
            def evaluate(model, loader):
                model.cuda().eval()
                preds = []
                for x, _ in loader:
                    preds.extend(model(x.cuda()).argmax(1).cpu().tolist())
                return preds
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="inference loop",
        ),
        Invalid(
            """
            import torch

            def train(model, loader, optimizer, criterion):
                model.cuda()
                total_loss = 0
                for x, y in loader:
                    optimizer.zero_grad()
                    loss = criterion(model(x), y)  # mean over the batch
                    loss.backward()
                    optimizer.step()
                    total_loss += loss
                return total_loss / len(loader)
            """,
            fixed="""
            import torch

            def train(model, loader, optimizer, criterion):
                model.cuda()
                total_loss = 0
                for x, y in loader:
                    optimizer.zero_grad()
                    loss = criterion(model(x), y)  # mean over the batch
                    loss.backward()
                    optimizer.step()
                    total_loss += loss.detach()
                return total_loss / len(loader)
            """,
            applicability=Applicability.UNSAFE,
            changes_numerics=False,
            message="autograd graph",
        ),
        Invalid(
            """
            import torch
            from torch import nn

            loss_fn = nn.CrossEntropyLoss()
            model = nn.Linear(8, 2).to("cuda")
            optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
            epoch_loss = 0.0
            for x, y in batches:
                out = model(x)
                loss = loss_fn(out, y)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                epoch_loss += loss * x.size(0)
            """,
            fixed="""
            import torch
            from torch import nn

            loss_fn = nn.CrossEntropyLoss()
            model = nn.Linear(8, 2).to("cuda")
            optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
            epoch_loss = 0.0
            for x, y in batches:
                out = model(x)
                loss = loss_fn(out, y)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                epoch_loss += loss.detach() * x.size(0)
            """,
            applicability=Applicability.UNSAFE,
        ),
        Invalid(
            """
            import torch

            def train(model, loader, optimizer, writer):
                model.cuda()
                for step, batch in enumerate(loader):
                    outputs = model(**batch)
                    outputs.loss.backward()
                    optimizer.step()
                    writer.add_scalar("loss", outputs.loss.item(), step)
                    for name, p in model.named_parameters():
                        writer.add_scalar(name, p.grad.norm().item(), step)
            """,
            count=2,
            applicability=Applicability.DISPLAY_ONLY,
        ),
    ]

    def check(self, ctx: Context) -> None:
        semantic = ctx.semantic
        if not semantic.uses_cuda():
            return
        loops = step_loops(semantic)
        if not loops:
            return
        kinds = _Kinds(semantic)
        for call in semantic.nodes(ast.Call):
            what = self._sync(semantic, kinds, call)
            if what is None:
                continue
            loop = step_loop_around(semantic, call)
            if loop is None or _exempt(semantic, call, loop) or _synchronizes(semantic, loop):
                continue
            ctx.report(
                call,
                f"`{_short(call)}` {_EFFECTS[what]} every step of this {loops[loop]} loop, stalling the GPU queue",
                Fix(Applicability.DISPLAY_ONLY, _ADVICE),
            )
        for node in semantic.nodes(ast.FormattedValue):
            if kinds.kind(node.value) != _TENSOR:
                continue
            loop = step_loop_around(semantic, node)
            if loop is None or _exempt(semantic, node, loop) or _synchronizes(semantic, loop):
                continue
            ctx.report(
                node.value,
                f"formatting `{_short(node.value)}` in a string copies it to the host every step of this {loops[loop]} loop, stalling the GPU queue",
                Fix(Applicability.DISPLAY_ONLY, _ADVICE),
            )
        for node in semantic.nodes(ast.AugAssign):
            self._check_accumulation(ctx, kinds, loops, node)

    @staticmethod
    def _sync(semantic: SemanticModel, kinds: _Kinds, call: ast.Call) -> str | None:
        """Which host read this call is, if it is one on a value that may live on the GPU."""
        func = call.func
        if isinstance(func, ast.Attribute):
            attr = func.attr
            if attr in ("item", "tolist") and not call.args and not call.keywords:
                return attr if kinds.kind(func.value) != _HOST else None
            if attr == "cpu" and not call.args:
                if semantic.is_model(func.value) or kinds.kind(func.value) == _HOST:
                    return None
                return "cpu"
            if attr == "numpy" and any(k.arg == "force" for k in call.keywords):
                return "cpu" if kinds.kind(func.value) != _HOST else None
            return None
        if isinstance(func, ast.Name) and func.id in ("float", "int", "bool") and len(call.args) == 1 and not call.keywords:
            if semantic.qualified_name(func) == f"builtins.{func.id}" and kinds.kind(call.args[0]) == _TENSOR:
                return "convert"
        if isinstance(func, ast.Name) and func.id == "print" and semantic.qualified_name(func) == "builtins.print":
            if any(kinds.kind(arg) == _TENSOR for arg in call.args if not isinstance(arg, ast.JoinedStr)):
                return "print"
        return None

    def _check_accumulation(self, ctx: Context, kinds: _Kinds, loops: dict, node: ast.AugAssign) -> None:
        """`total += loss` with `total` bound before a training loop and `loss` attached to
        the graph: every step's graph stays reachable from `total`."""
        semantic = ctx.semantic
        if not isinstance(node.op, ast.Add) or not isinstance(node.target, ast.Name):
            return
        loop = step_loop_around(semantic, node)
        if loop is None or loops[loop] != "training" or not kinds.carries_graph(node.value):
            return
        total = node.target.id
        if not _bound_before(semantic, node.target, loop) or _reassigned_in(loop, total) or _differentiated(semantic, node, total):
            return
        ctx.report(
            node,
            f"`{total} += {_short(node.value)}` keeps every step's autograd graph alive through `{total}`; accumulate a detached value",
            self._detach_fix(ctx, kinds, node),
        )

    @staticmethod
    def _detach_fix(ctx: Context, kinds: _Kinds, node: ast.AugAssign) -> Fix:
        value = node.value
        anchor: ast.AST | None = None
        if isinstance(value, (ast.Name, ast.Call, ast.Attribute, ast.Subscript)):
            anchor = value
        else:
            carriers = [n for n in ast.walk(value) if isinstance(n, ast.Name) and kinds.carries_graph(n)]
            anchor = carriers[0] if len(carriers) == 1 else None
        if anchor is None:
            return Fix(Applicability.DISPLAY_ONLY, "Accumulate a detached value: `.detach()` the loss")
        end = ctx.lines.node_range(anchor)[1]

        def build() -> list[Edit]:
            return [Edit(end, end, ".detach()")]

        return Fix(Applicability.UNSAFE, f"Accumulate `{_short(anchor)}.detach()`", build=build)


_EFFECTS = {
    "item": "copies a CUDA value to the host",
    "tolist": "copies a CUDA tensor to the host",
    "cpu": "copies a CUDA tensor to the host",
    "convert": "copies a CUDA value to the host",
    "print": "prints a tensor, which copies it to the host",
}


def _short(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 40 else text[:37] + "..."


def _bound_before(semantic: SemanticModel, target: ast.Name, loop: ast.AST) -> bool:
    """`total = 0` (or `running, total = 0.0, 0`) runs in this scope before the loop starts."""
    found = semantic.lookup(target.id, target)
    if found is None or found[1] != "local":
        return False
    start = (loop.lineno, loop.col_offset)
    for node in semantic.scope_body(found[0].node):
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and (node.lineno, node.col_offset) < start:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(n, ast.Name) and n.id == target.id for t in targets for n in ast.walk(t)):
                return True
    return False


def _reassigned_in(loop: ast.AST, name: str) -> bool:
    for node in ast.walk(loop):
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(n, ast.Name) and n.id == name for t in targets for n in ast.walk(t)):
                return True
    return False


def _differentiated(semantic: SemanticModel, node: ast.AST, name: str) -> bool:
    """The accumulator itself is backpropagated or differentiated somewhere in the scope:
    gradient accumulation through a summed loss needs the graph."""
    scope = semantic.enclosing_function(node) or semantic.tree
    for call in semantic.scope_calls(scope):
        func = call.func
        qualified = semantic.qualified_name(func) or ""
        if (isinstance(func, ast.Attribute) and func.attr in ("backward", "manual_backward", "scale")) or qualified.startswith("torch.autograd."):
            if any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(call)):
                return True
    return False
