"""GL405 graph-retention: `backward(retain_graph=True)` with no second backward through that
graph, and graph-attached losses or outputs collected in a list across training steps."""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING

from greenlint.diagnostics import Applicability, Edit, Fix
from greenlint.rules.base import INCLUDE_TESTS, Invalid, Rule, Valid, register

# The value-kind tracker GL401 uses for `total += loss` (attached to the graph or not).
from greenlint.rules.gl401_host_sync_in_loop import _Kinds
from greenlint.semantic import (
    FUNCTION_NODES,
    SemanticModel,
    step_loop_around,
    step_loops,
)

if TYPE_CHECKING:
    from greenlint.engine import Context

_STATEMENT_LOOPS = (ast.For, ast.AsyncFor, ast.While)
_AUTOGRAD = frozenset({"torch.autograd.backward", "torch.autograd.grad"})
_BACKWARD_METHODS = frozenset({"backward", "manual_backward"})
# Functions whose body is one training step, called per batch: their parameters are batch data.
_STEP_FUNCTION = re.compile(r"^_?(training_step|train_step|train_batch|training_batch|step_fn|optimize_parameters|update)$")
_DEVICE_NAME = re.compile(r"(?i)^(device|dev|\w+_device|device_\w+|dtype)$")
_MOVES = frozenset({"to", "cuda", "cpu"})
# Callees that make a loop a training loop for step_loops (with `train_step`-like helpers).
_TRAINING_CALLEES = frozenset({"backward", "manual_backward", "step"})


@register
class GraphRetention(Rule):
    """
    ## What it does
    Flags `loss.backward(retain_graph=True)` (also `torch.autograd.backward`/`grad` and
    `manual_backward`) when nothing in the scope backpropagates through that graph again and
    the graph is built afresh on each step; and `history.append(loss)` of a graph-attached
    value into a list that outlives the training step.

    ## Fix
    Unsafe: drops `retain_graph=True`; appends `.detach()` to the collected value.
    """

    code = "GL405"
    name = "graph-retention"
    summary = "An autograd graph is kept alive after it is needed (retain_graph=True, losses collected in a list)"
    impact = "medium"
    evidence = "Memory, not time: greenlint fixture peak RSS 998 MB -> 378 MB (CPU); packnet-sfm #47: 21 -> 38 GB host memory in one epoch from appended losses (reported). No energy number published."
    frameworks = ("torch", "lightning")
    # `retain_graph=True`, or a value collected in a training loop, which step_loops finds by a
    # `.backward`, an optimizer `.step` or a `train_step`/`train_batch` helper.
    requires = ("retain_graph", "backward", "step", "train")
    fix_applicability = Applicability.UNSAFE
    options = {
        "include-tests": INCLUDE_TESTS,
    }

    VALID = [
        Valid(
            """
            import torch

            def train_gan(G, D, loader, opt_g, opt_d, criterion):
                for real in loader:
                    fake = G(torch.randn(real.size(0), 64))
                    d_loss = criterion(D(real), 1) + criterion(D(fake), 0)
                    opt_d.zero_grad()
                    d_loss.backward(retain_graph=True)
                    opt_d.step()
                    g_loss = criterion(D(fake), 1)
                    opt_g.zero_grad()
                    g_loss.backward()
                    opt_g.step()
            """,
            why="a second backward through the shared generator graph",
        ),
        Valid(
            """
            import torch

            def train(model, loader, optimizer, criterion):
                hidden = None
                for x, y in loader:
                    out, hidden = model(x, hidden)
                    loss = criterion(out, y)
                    optimizer.zero_grad()
                    loss.backward(retain_graph=True)
                    optimizer.step()
            """,
            why="state carried across iterations (truncated BPTT without detach): the next backward goes through this graph",
        ),
        Valid(
            """
            import torch

            def jacobian_rows(f, x):
                y = f(x)
                rows = []
                for i in range(y.numel()):
                    (g,) = torch.autograd.grad(y[i], x, retain_graph=True)
                    rows.append(g)
                return torch.stack(rows)
            """,
            why="one graph, backpropagated once per row: the loop reuses it",
        ),
        Valid(
            """
            import torch

            def penalty(critic, real, fake):
                mixed = (real + fake).requires_grad_(True)
                grads = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True, retain_graph=True)[0]
                return ((grads.norm(2, dim=1) - 1) ** 2).mean()
            """,
            why="higher-order gradients (create_graph=True)",
        ),
        Valid(
            """
            import torch

            def train(model, loader, optimizer, criterion):
                losses = []
                for x, y in loader:
                    loss = criterion(model(x), y)
                    loss.backward()
                    optimizer.step()
                    losses.append(loss.item())
                return losses
            """,
            why="collects Python floats",
        ),
        Valid(
            """
            import torch

            def train(model, loader, optimizer, criterion, accumulation):
                losses = []
                for step, (x, y) in enumerate(loader):
                    losses.append(criterion(model(x), y))
                    if len(losses) == accumulation:
                        total = torch.stack(losses).mean()
                        total.backward()
                        optimizer.step()
                        losses = []
            """,
            why="the collected losses are backpropagated (gradient accumulation)",
        ),
        Valid(
            """
            import torch

            @torch.no_grad()
            def evaluate(model, loader):
                outputs = []
                for x, _ in loader:
                    outputs.append(model(x))
                return torch.cat(outputs)
            """,
            why="inference without autograd: no graph to keep",
        ),
        Valid(
            """
            import torch

            class Trainer:
                def fit(self, loader):
                    for x, y in loader:
                        loss = self.criterion(self.model(x), self.target)
                        loss.backward(retain_graph=True)
                        self.optimizer.step()
            """,
            why="the graph reads state kept on self, which another method may backpropagate through",
        ),
        Valid(
            """
            import torch

            def train(encoder, head, loader, optimizer, criterion, context):
                memory = encoder(context)
                for x, y in loader:
                    loss = criterion(head(x, memory), y)
                    loss.backward(retain_graph=True)
                    optimizer.step()
            """,
            why="the graph includes `memory`, built once before the loop and backpropagated every step",
        ),
        Valid(
            """
            import torch

            def train(model, loader, optimizer, criterion):
                for x, y in loader:
                    loss = criterion(model(x), y)
                    loss.backward(retain_graph=True)
                    optimizer.step()
                    loss.backward(retain_graph=True)
            """,
            why="two backward calls in the scope: the second may go through the same graph",
        ),
        Valid(
            """
            import torch
            from torch import nn

            class Tagger(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.lstm = nn.LSTM(8, 16)
                    self.hidden = None

                def forward(self, x):
                    out, self.hidden = self.lstm(x, self.hidden)
                    return out

            model = Tagger()
            for x, y in batches:
                loss = criterion(model(x), y)
                loss.backward(retain_graph=True)
                optimizer.step()
            """,
            why="the model keeps its hidden state on self between steps: the next backward goes through this graph",
        ),
    ]
    INVALID = [
        Invalid(
            """
            import torch

            def train(model, loader, optimizer, criterion):
                for x, y in loader:
                    optimizer.zero_grad()
                    loss = criterion(model(x), y)
                    loss.backward(retain_graph=True)  # keep the graph, just in case
                    optimizer.step()
            """,
            fixed="""
            import torch

            def train(model, loader, optimizer, criterion):
                for x, y in loader:
                    optimizer.zero_grad()
                    loss = criterion(model(x), y)
                    loss.backward()  # keep the graph, just in case
                    optimizer.step()
            """,
            applicability=Applicability.UNSAFE,
            changes_numerics=False,
            message="retain_graph=True",
        ),
        Invalid(
            """
            import torch
            import torch.nn.functional as F

            def train(model, loader, optimizer, scaler, device):
                for images, labels in loader:
                    images, labels = images.to(device), labels.to(device)
                    with torch.autocast("cuda"):
                        loss = F.cross_entropy(model(images), labels)
                    scaler.scale(loss).backward(
                        retain_graph=True,
                    )
                    scaler.step(optimizer)
                    scaler.update()
            """,
            fixed="""
            import torch
            import torch.nn.functional as F

            def train(model, loader, optimizer, scaler, device):
                for images, labels in loader:
                    images, labels = images.to(device), labels.to(device)
                    with torch.autocast("cuda"):
                        loss = F.cross_entropy(model(images), labels)
                    scaler.scale(loss).backward()
                    scaler.step(optimizer)
                    scaler.update()
            """,
            applicability=Applicability.UNSAFE,
        ),
        Invalid(
            """
            import torch
            from torch import autograd

            for x, y in batches:
                pred = net(x)
                loss = ((pred - y) ** 2).mean()
                autograd.backward([loss], grad_tensors=None, retain_graph=True)
                opt.step()
            """,
            fixed="""
            import torch
            from torch import autograd

            for x, y in batches:
                pred = net(x)
                loss = ((pred - y) ** 2).mean()
                autograd.backward([loss], grad_tensors=None)
                opt.step()
            """,
            applicability=Applicability.UNSAFE,
        ),
        Invalid(
            """
            import lightning as L

            class Model(L.LightningModule):
                def training_step(self, batch, batch_idx):
                    opt = self.optimizers()
                    x, y = batch
                    loss = self.loss_fn(self.net(x), y)
                    self.manual_backward(loss, retain_graph=True)
                    opt.step()
            """,
            fixed="""
            import lightning as L

            class Model(L.LightningModule):
                def training_step(self, batch, batch_idx):
                    opt = self.optimizers()
                    x, y = batch
                    loss = self.loss_fn(self.net(x), y)
                    self.manual_backward(loss)
                    opt.step()
            """,
            applicability=Applicability.UNSAFE,
        ),
        Invalid(
            """
            import torch
            from torch import nn

            class Tagger(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.lstm = nn.LSTM(8, 16)

                def reset(self):
                    self.hidden = None

                def forward(self, x):
                    out, self.hidden = self.lstm(x, self.hidden)
                    return out

            model = Tagger()
            for x, y in batches:
                model.reset()
                loss = criterion(model(x), y)
                loss.backward(retain_graph=True)
                optimizer.step()
            """,
            fixed="""
            import torch
            from torch import nn

            class Tagger(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.lstm = nn.LSTM(8, 16)

                def reset(self):
                    self.hidden = None

                def forward(self, x):
                    out, self.hidden = self.lstm(x, self.hidden)
                    return out

            model = Tagger()
            for x, y in batches:
                model.reset()
                loss = criterion(model(x), y)
                loss.backward()
                optimizer.step()
            """,
            applicability=Applicability.UNSAFE,
        ),
        Invalid(
            """
            import torch

            def train(model, loader, optimizer, criterion):
                history = []
                outputs = {"logits": []}
                for x, y in loader:
                    logits = model(x)
                    loss = criterion(logits, y)
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
                    history.append(loss)  # for the loss curve
                    outputs["logits"].append(logits)
                return history, torch.cat(outputs["logits"])
            """,
            fixed="""
            import torch

            def train(model, loader, optimizer, criterion):
                history = []
                outputs = {"logits": []}
                for x, y in loader:
                    logits = model(x)
                    loss = criterion(logits, y)
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
                    history.append(loss.detach())  # for the loss curve
                    outputs["logits"].append(logits.detach())
                return history, torch.cat(outputs["logits"])
            """,
            count=2,
            applicability=Applicability.UNSAFE,
            changes_numerics=False,
            message="autograd graph",
        ),
        Invalid(
            """
            import torch

            def train(model, loader, optimizer, criterion):
                losses = []
                for x, y in loader:
                    loss = criterion(model(x), y)
                    loss.backward()
                    optimizer.step()
                    losses += [loss * x.size(0)]
                return losses
            """,
            fixed="""
            import torch

            def train(model, loader, optimizer, criterion):
                losses = []
                for x, y in loader:
                    loss = criterion(model(x), y)
                    loss.backward()
                    optimizer.step()
                    losses += [loss.detach() * x.size(0)]
                return losses
            """,
            applicability=Applicability.UNSAFE,
        ),
    ]

    def check(self, ctx: Context) -> None:
        semantic = ctx.semantic
        if "retain_graph" in ctx.text:  # the keyword `_retain_keyword` looks for
            for call in semantic.nodes(ast.Call):
                retain = _retain_keyword(semantic, call)
                if retain is not None:
                    self._check_retain(ctx, call, retain)
        # What could collect a graph, gathered before the (costlier) step loops are asked for.
        # One pass: the appends, and the calls that may make a loop a training loop.
        collected = []
        training_like = []
        for call in semantic.nodes(ast.Call):
            func = call.func
            if isinstance(func, ast.Attribute):
                name = func.attr
                if name == "append" and len(call.args) == 1 and not call.keywords:
                    collected.append((call, func.value, call.args[0]))
                    continue
            elif isinstance(func, ast.Name):
                name = func.id
            else:
                continue
            if name in _TRAINING_CALLEES or "train" in name:
                training_like.append(call)
        collected += [
            (node, node.target, node.value.elts[0])
            for node in semantic.nodes(ast.AugAssign)
            if isinstance(node.op, ast.Add) and isinstance(node.value, (ast.List, ast.Tuple)) and len(node.value.elts) == 1
        ]
        # `_check_collect` needs a named container and a statement loop around the node.
        collected = [item for item in collected if isinstance(_container_base(item[1]), ast.Name)]
        if collected:
            trainable = _loops_around(semantic, training_like)
            collected = [item for item in collected if any(loop in trainable for loop in semantic.enclosing_loops(item[0]))]
        if not collected:
            return
        loops = step_loops(semantic)
        if not loops:
            return
        kinds = _Kinds(semantic)
        for node, container, value in collected:
            self._check_collect(ctx, kinds, loops, node, container, value)

    # ------------------------------------------------------------------ retain_graph=True
    def _check_retain(self, ctx: Context, call: ast.Call, retain: ast.keyword) -> None:
        semantic = ctx.semantic
        roots = _roots(semantic, call)
        if not roots:
            return
        scope = semantic.enclosing_function(call) or semantic.tree
        if _other_backward(semantic, scope, call) or _escapes(semantic, scope, roots):
            return
        region = _region(semantic, call, scope)
        if region is None or not _built_in_region(semantic, call, roots, region, scope):
            return
        shown = _short(call)
        ctx.report(
            call,
            f"`{shown}` keeps this step's autograd graph (all saved activations) alive, but nothing "
            "in this scope backpropagates through it again; drop `retain_graph=True`",
            _drop_keyword_fix(ctx, call, retain),
        )

    # ------------------------------------------------------------------ collecting losses
    def _check_collect(self, ctx: Context, kinds: _Kinds, loops: dict, node: ast.AST, container: ast.AST, value: ast.AST) -> None:
        semantic = ctx.semantic
        loop = step_loop_around(semantic, node)
        if loop is None or loops[loop] != "training":
            return
        base = container
        while isinstance(base, ast.Subscript):
            base = base.value
        if not isinstance(base, ast.Name) or not kinds.carries_graph(value):
            return
        scope = semantic.enclosing_function(node) or semantic.tree
        if not _bound_before(semantic, base, loop, scope) or base.id in _assigned_in(loop):
            return
        if _differentiated(semantic, scope, base.id):
            return
        shown = ast.unparse(container)
        ctx.report(
            node,
            f"`{_short(node)}` keeps every step's autograd graph alive through `{shown}`; collect `.detach()`ed values (or `.item()` for logging)",
            _detach_fix(ctx, kinds, value),
        )


def _container_base(container: ast.AST) -> ast.AST:
    """`history` for `history[k][i]`."""
    while isinstance(container, ast.Subscript):
        container = container.value
    return container


def _loops_around(semantic: SemanticModel, calls: list[ast.Call]) -> set[ast.AST]:
    """Every for/while loop (within its function) around one of the calls. Given the calls
    named like `.backward`, `.step` or a `train_step`-like helper, a superset of the loops
    step_loops can call "training"."""
    found: set[ast.AST] = set()
    for call in calls:
        for ancestor in semantic.ancestors(call):
            if isinstance(ancestor, FUNCTION_NODES):
                break
            if isinstance(ancestor, _STATEMENT_LOOPS):
                found.add(ancestor)
    return found


# ---------------------------------------------------------------------------- retain_graph
def _retain_keyword(semantic: SemanticModel, call: ast.Call) -> ast.keyword | None:
    """The `retain_graph=True` keyword of a backward-like call without create_graph."""
    func = call.func
    backward = isinstance(func, ast.Attribute) and func.attr in _BACKWARD_METHODS
    if not backward and semantic.qualified_name(func) not in _AUTOGRAD:
        return None
    found = None
    for keyword in call.keywords:
        if keyword.arg is None:
            return None  # **kwargs may set create_graph
        if keyword.arg == "create_graph" and not (isinstance(keyword.value, ast.Constant) and keyword.value.value is False):
            return None
        if keyword.arg == "retain_graph" and isinstance(keyword.value, ast.Constant) and keyword.value.value is True:
            found = keyword
    if found is not None and any(isinstance(a, ast.Starred) for a in call.args):
        return None
    return found


def _roots(semantic: SemanticModel, call: ast.Call) -> list[ast.AST]:
    """The tensors whose graph the call backpropagates through."""
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr == "backward" and semantic.qualified_name(func) not in _AUTOGRAD:
        receiver = func.value
        # `scaler.scale(loss).backward()`, `accelerator.backward(loss)`
        if isinstance(receiver, ast.Call) and isinstance(receiver.func, ast.Attribute) and receiver.func.attr == "scale" and receiver.args:
            return [receiver.args[0]]
        if isinstance(receiver, ast.Name) and receiver.id in ("accelerator", "fabric") or (
            isinstance(receiver, ast.Attribute) and receiver.attr in ("accelerator", "fabric")
        ):
            return call.args[:1]
        return [receiver]
    if not call.args:
        return []
    first = call.args[0]
    if isinstance(first, (ast.List, ast.Tuple)):
        return list(first.elts)
    return [first]


def _other_backward(semantic: SemanticModel, scope: ast.AST, call: ast.Call) -> bool:
    """Another backward, autograd.grad or gradient-tape call in the scope: it may go through
    the retained graph (GANs, several losses, higher-order gradients)."""
    for other in semantic.scope_calls(scope):
        if other is call:
            continue
        func = other.func
        name = semantic.qualified_name(func) or ""
        if name.startswith("torch.autograd.") and name.rsplit(".", 1)[-1] in ("backward", "grad", "jacobian", "hessian", "vjp", "jvp", "hvp", "vhp"):
            return True
        if isinstance(func, ast.Attribute) and func.attr in ("backward", "manual_backward", "gradient", "grad"):
            return True
    return False


def _escapes(semantic: SemanticModel, scope: ast.AST, roots: list[ast.AST]) -> bool:
    """A root is returned, yielded, stored on an object or read from one: a caller or another
    method may backpropagate through it again."""
    names = {n.id for root in roots for n in ast.walk(root) if isinstance(n, ast.Name)}
    for root in roots:
        for node in ast.walk(root):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                return True
    for node in semantic.scope_body(scope):
        if isinstance(node, (ast.Return, ast.Yield, ast.YieldFrom)) and node.value is not None:
            if any(isinstance(n, ast.Name) and n.id in names for n in ast.walk(node.value)):
                return True
        elif isinstance(node, ast.Assign) and any(isinstance(t, (ast.Attribute, ast.Subscript)) for t in node.targets):
            if any(isinstance(n, ast.Name) and n.id in names for n in ast.walk(node.value)):
                return True
        elif isinstance(node, (ast.Global, ast.Nonlocal)) and names & set(node.names):
            return True
    return False


def _region(semantic: SemanticModel, call: ast.Call, scope: ast.AST) -> ast.AST | None:
    """Where the graph must be built afresh for retaining it to be useless: the innermost loop
    around the call, or a training-step function's body (called once per batch)."""
    for ancestor in semantic.ancestors(call):
        if isinstance(ancestor, FUNCTION_NODES):
            break
        if isinstance(ancestor, _STATEMENT_LOOPS) and ancestor in semantic.enclosing_loops(call):
            return ancestor
        if isinstance(ancestor, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            return None
    if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)) and _STEP_FUNCTION.match(scope.name):
        return scope
    return None


def _built_in_region(semantic: SemanticModel, anchor: ast.AST, roots: list[ast.AST], region: ast.AST, scope: ast.AST) -> bool:
    """Every tensor the roots are computed from is computed inside `region` from data the
    region binds (loop targets, batches), models and constants: nothing built before the
    loop, carried across iterations, or read from `self` that a later backward could reuse."""
    inside = semantic.names_bound_in(region) if region is not scope else _local_names(scope)
    parameters = _parameters(scope) if region is scope else set()
    outside = _bound_outside(semantic, scope, region)
    seen: set[str] = set()
    pending: list[ast.AST] = list(roots)
    budget = 200
    while pending:
        budget -= 1
        if budget < 0:
            return False
        expr = pending.pop()
        data, external, callees = _data_names(semantic, expr)
        if external:
            return False
        if any(_stateful_not_reset(semantic, callee, region) for callee in callees):
            return False
        for name in data:
            if name in seen:
                continue
            seen.add(name)
            if name in parameters:
                continue  # a training-step function's batch
            if name in inside:
                if name in outside:
                    return False  # carried across iterations
                pending.extend(_values_in(region, name))
                continue
            if not _harmless_outside(semantic, anchor, name):
                return False
    return True


def _data_names(semantic: SemanticModel, expr: ast.AST) -> tuple[set[str], bool, list[ast.AST]]:
    """Names an expression reads as data (not as a callee, a model, a device), whether it
    reads data from `self`/`cls`, and the models it calls."""
    names: set[str] = set()
    external = False
    callees: list[ast.AST] = []

    def visit(node: ast.AST) -> None:
        nonlocal external
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load) and not _DEVICE_NAME.match(node.id) and not semantic.is_model(node):
                names.add(node.id)
            return
        if isinstance(node, ast.Attribute):
            if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                if not semantic.is_model(node):
                    external = True
                return
            visit(node.value)
            return
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute):
                receiver = func.value
                if semantic.qualified_name(func) is None:
                    if not _is_callee_object(semantic, receiver):
                        visit(receiver)
                    elif func.attr == "forward":
                        callees.append(receiver)
                    elif isinstance(receiver, ast.Name) and receiver.id in ("self", "cls"):
                        callees.append(func)
                if func.attr in _MOVES:
                    return  # `x.to(device)`: the arguments are devices and dtypes
            elif isinstance(func, ast.Name):
                callees.append(func)
            else:
                visit(func)
            for arg in node.args:
                visit(arg)
            for keyword in node.keywords:
                if keyword.arg not in ("device", "dtype"):
                    visit(keyword.value)
            return
        if isinstance(node, ast.Subscript):
            visit(node.value)
            return
        if isinstance(node, (ast.Lambda, *FUNCTION_NODES)):
            return
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(expr)
    return names, external, callees


# Methods that do not reset a model's internal state.
_NOT_RESETS = frozenset(
    "forward __call__ train eval to cuda cpu half float parameters named_parameters modules children state_dict zero_grad requires_grad_".split()
)


def _stateful_not_reset(semantic: SemanticModel, callee: ast.AST, region: ast.AST) -> bool:
    """The called model's class (defined in this file) keeps state on `self` between calls
    (a recurrent hidden state stored on the module), and the loop neither resets it (a call of
    another method, `model.reset()`) nor assigns it (`model.hidden = ...`): the next step may
    backpropagate through this step's graph."""
    cls = _local_class_of(semantic, callee)
    if cls is None or not _keeps_state(semantic, cls, frozenset()):
        return False
    wanted = ast.unparse(callee)
    for node in ast.walk(region):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr not in _NOT_RESETS:
            if ast.unparse(node.func.value) == wanted:
                return False
        if isinstance(node, (ast.Assign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                base = target.value if isinstance(target, ast.Subscript) else target
                if isinstance(base, ast.Attribute) and ast.unparse(base.value) == wanted:
                    return False
    return True


def _local_class_of(semantic: SemanticModel, callee: ast.AST) -> ast.ClassDef | None:
    """The class defined in this file that a model name or `self.X` was built from."""
    values: list[ast.AST | None] = []
    if isinstance(callee, ast.Name):
        found = semantic.lookup(callee.id, callee)
        if found is None or found[1] != "local":
            return None
        values = list(found[0].bindings[callee.id])
    elif isinstance(callee, ast.Attribute) and isinstance(callee.value, ast.Name) and callee.value.id == "self":
        for node in semantic.nodes(ast.Assign):
            if any(isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self" and t.attr == callee.attr for t in node.targets):
                values.append(node.value)
    classes = {c.name: c for c in semantic.nodes(ast.ClassDef)}
    for value in values:
        while isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr in _MOVES | {"eval", "train", "half", "float"}:
            value = value.func.value
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id in classes:
            return classes[value.func.id]
    return None


def _keeps_state(semantic: SemanticModel, cls: ast.ClassDef, seen: frozenset[str]) -> bool:
    """A method other than `__init__` assigns an attribute of `self` (or an item of one)."""
    for method in cls.body:
        if not isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)) or method.name == "__init__":
            continue
        for node in ast.walk(method):
            if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    for element in (target.elts if isinstance(target, ast.Tuple) else [target]):
                        base = element.value if isinstance(element, ast.Subscript) else element
                        if isinstance(base, ast.Attribute) and isinstance(base.value, ast.Name) and base.value.id == "self":
                            return True
    classes = {c.name: c for c in semantic.nodes(ast.ClassDef)}
    for base in cls.bases:
        if isinstance(base, ast.Name) and base.id in classes and base.id not in seen:
            if _keeps_state(semantic, classes[base.id], seen | {base.id}):
                return True
    return False


def _is_callee_object(semantic: SemanticModel, receiver: ast.AST) -> bool:
    """`self.model` in `self.model.encode(x)`, `model` in `model.forward(x)`, `self` in
    `self.compute_loss(x)`: an object whose method is called, not data."""
    if isinstance(receiver, ast.Name) and receiver.id in ("self", "cls"):
        return True
    return semantic.is_model(receiver)


def _values_in(region: ast.AST, name: str) -> list[ast.AST]:
    """What the region assigns to `name` (loop targets of the region itself are batches)."""
    values: list[ast.AST] = []
    for node in ast.walk(region):
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.NamedExpr)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if node.value is not None and any(isinstance(n, ast.Name) and n.id == name for t in targets for n in ast.walk(t)):
                values.append(node.value)
                if isinstance(node, ast.AugAssign):
                    values.append(node.target)
        elif isinstance(node, (ast.For, ast.AsyncFor)) and node is not region:
            if any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(node.target)):
                values.append(node.iter)
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            if any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(node.optional_vars)):
                values.append(node.context_expr)
        elif isinstance(node, ast.comprehension):
            if any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(node.target)):
                values.append(node.iter)
    return values


def _local_names(scope: ast.AST) -> frozenset[str]:
    return frozenset(
        n.id for n in ast.walk(scope) if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del))
    )


def _parameters(scope: ast.AST) -> set[str]:
    args = getattr(scope, "args", None)
    if args is None:
        return set()
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
    return {a.arg for a in every if a is not None}


def _bound_outside(semantic: SemanticModel, scope: ast.AST, region: ast.AST) -> set[str]:
    """Names the scope binds outside the region (parameters included)."""
    if region is scope:
        return set()
    inside = {id(n) for n in ast.walk(region)}
    names = _parameters(scope)
    for node in semantic.scope_body(scope):
        if id(node) in inside:
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return names


def _harmless_outside(semantic: SemanticModel, anchor: ast.AST, name: str) -> bool:
    """A name bound outside the loop whose every value is a constant or a device: it cannot
    carry a graph."""
    found = semantic.lookup(name, anchor)
    if found is None:
        return False
    kind = found[1]
    if kind == "import":
        return True
    if kind != "local":
        return False
    if name in _parameters(found[0].node):
        return False
    values = found[0].bindings[name]
    return bool(values) and all(_constant(semantic, v) for v in values)


def _constant(semantic: SemanticModel, value: ast.AST | None) -> bool:
    if isinstance(value, ast.Constant):
        return True
    if isinstance(value, ast.UnaryOp):
        return _constant(semantic, value.operand)
    if isinstance(value, ast.Call):
        return semantic.qualified_name(value.func) in ("torch.device", "builtins.float", "builtins.int")
    return False


def _drop_keyword_fix(ctx: Context, call: ast.Call, keyword: ast.keyword) -> Fix:
    """Remove `retain_graph=True` and one neighbouring comma."""
    advice = Fix(Applicability.DISPLAY_ONLY, "Drop `retain_graph=True`")
    text, lines = ctx.text, ctx.lines
    elements = sorted([*call.args, *call.keywords], key=lambda n: (n.lineno, n.col_offset))
    index = next(i for i, e in enumerate(elements) if e is keyword)
    k_start, k_end = lines.node_range(keyword)
    if index > 0:
        start, end = lines.node_range(elements[index - 1])[1], k_end
    elif index + 1 < len(elements):
        start, end = k_start, lines.node_range(elements[index + 1])[0]
    else:
        func_end = lines.node_range(call.func)[1]
        call_end = lines.node_range(call)[1]
        open_paren = text.find("(", func_end, k_start)
        if open_paren < 0 or text[call_end - 1] != ")":
            return advice
        start, end = open_paren + 1, call_end - 1
    removed = text[start:end]
    if "#" in removed or "\\" in removed:
        return advice
    return Fix(Applicability.UNSAFE, "Drop `retain_graph=True`", build=lambda: [Edit(start, end, "")])


# ---------------------------------------------------------------------------- collected values
def _bound_before(semantic: SemanticModel, name: ast.Name, loop: ast.AST, scope: ast.AST) -> bool:
    """`losses = []` runs in this scope before the loop starts."""
    start = (loop.lineno, loop.col_offset)
    for node in semantic.scope_body(scope):
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and (node.lineno, node.col_offset) < start:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(n, ast.Name) and n.id == name.id for t in targets for n in ast.walk(t)):
                return True
    return False


def _assigned_in(loop: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(loop):
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def _differentiated(semantic: SemanticModel, scope: ast.AST, name: str) -> bool:
    """The collection, or anything computed from it in the scope, is backpropagated or passed
    to autograd (gradient accumulation over collected losses)."""
    derived = {name}
    body = semantic.scope_body(scope)
    changed = True
    while changed:
        changed = False
        for node in body:
            if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and node.value is not None:
                if any(isinstance(n, ast.Name) and n.id in derived for n in ast.walk(node.value)):
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    for target in targets:
                        for n in ast.walk(target):
                            if isinstance(n, ast.Name) and n.id not in derived:
                                derived.add(n.id)
                                changed = True
    for call in semantic.scope_calls(scope):
        func = call.func
        qualified = semantic.qualified_name(func) or ""
        if (isinstance(func, ast.Attribute) and func.attr in ("backward", "manual_backward", "scale", "gradient")) or qualified.startswith("torch.autograd."):
            if any(isinstance(n, ast.Name) and n.id in derived for n in ast.walk(call)):
                return True
    return False


def _detach_fix(ctx: Context, kinds: _Kinds, value: ast.AST) -> Fix:
    anchor: ast.AST | None = None
    if isinstance(value, (ast.Name, ast.Call, ast.Attribute, ast.Subscript)):
        anchor = value
    else:
        carriers = [n for n in ast.walk(value) if isinstance(n, ast.Name) and kinds.carries_graph(n)]
        anchor = carriers[0] if len(carriers) == 1 else None
    if anchor is None:
        return Fix(Applicability.DISPLAY_ONLY, "Collect a detached value: `.detach()` it")
    end = ctx.lines.node_range(anchor)[1]
    return Fix(Applicability.UNSAFE, f"Collect `{_short(anchor)}.detach()`", build=lambda: [Edit(end, end, ".detach()")])


def _short(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 40 else text[:37] + "..."

