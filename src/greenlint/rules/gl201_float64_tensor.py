"""GL201 float64-tensor: model weights or model inputs made float64 where float32 would do.

Also home of the value-flow helper GL202 shares (`find_sink`): it follows a tensor through
names, shape-only methods, `TensorDataset`/`DataLoader` and local functions to the model call,
optimizer, `nn.Parameter` or loss that consumes it. Anything it cannot follow ends the trail
(silence).
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from typing import TYPE_CHECKING, NamedTuple

from greenlint.diagnostics import Applicability, Edit, Fix, FixUnavailable
from greenlint.fixes import spell
from greenlint.rules.base import INCLUDE_TESTS, Invalid, Rule, Valid, register
from greenlint.semantic import (
    FUNCTION_NODES,
    SemanticModel,
    forward_target,
)

if TYPE_CHECKING:
    from greenlint.engine import Context

_FLOAT64_DTYPES = frozenset(
    {"torch.float64", "torch.double", "tensorflow.float64", "tensorflow.double", "tensorflow.dtypes.float64"}
)
_DOUBLE_TENSOR_TYPES = frozenset({"torch.DoubleTensor", "torch.cuda.DoubleTensor"})
_FLOAT32_OF = {
    "torch": "torch.float32",
    "tensorflow": "tensorflow.float32",
    "torch.DoubleTensor": "torch.FloatTensor",
    "torch.cuda.DoubleTensor": "torch.cuda.FloatTensor",
}
_FLOAT64_STRINGS = {"float64": "float32", "double": "float32", "torch.DoubleTensor": "torch.FloatTensor", "torch.cuda.DoubleTensor": "torch.cuda.FloatTensor"}
_DEFAULT_SETTERS = frozenset(
    {
        "torch.set_default_dtype",
        "torch.set_default_tensor_type",
        "keras.backend.set_floatx",
        "keras.config.set_floatx",
        "tensorflow.keras.backend.set_floatx",
        "tf_keras.backend.set_floatx",
    }
)
_KERAS_PREFIXES = ("keras.", "tensorflow.keras.", "tf_keras.")
_GRADCHECK = frozenset(
    {"torch.autograd.gradcheck", "torch.autograd.gradgradcheck", "torch.autograd.gradcheck.gradcheck", "torch.autograd.gradcheck.gradgradcheck"}
)

# Methods and attributes that return a tensor of the same dtype: a float64 value flows through.
_SAME_DTYPE_METHODS = frozenset(
    "cuda cpu view reshape unsqueeze squeeze permute transpose contiguous requires_grad_ detach clone "
    "pin_memory flatten expand expand_as repeat t view_as reshape_as narrow to_dense share_memory_ "
    "unsqueeze_ squeeze_ copy ravel swapaxes".split()
)
_SAME_DTYPE_ATTRIBUTES = frozenset({"T", "mT", "data"})
_DEVICE_WORDS = re.compile(r"device|dev$|gpu|cuda|rank", re.IGNORECASE)
# Methods through which a model consumes data (Keras, skorch, scikit-learn-style wrappers).
_MODEL_DATA_METHODS = frozenset(
    {"fit", "predict", "predict_proba", "evaluate", "train_on_batch", "test_on_batch", "predict_on_batch", "partial_fit"}
)
_PARAMETER = frozenset({"torch.nn.Parameter", "torch.nn.parameter.Parameter"})
_TENSOR_DATASET = frozenset({"torch.utils.data.TensorDataset", "torch.utils.data.dataset.TensorDataset"})
_DATA_LOADER = frozenset({"torch.utils.data.DataLoader", "torch.utils.data.dataloader.DataLoader"})
_FUNCTIONAL_LOSSES = frozenset({"cross_entropy", "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div"})
_MAX_DEPTH = 8


class Sink(NamedTuple):
    """Where a tensor ends up: `what` names it for messages; `kind` is input, weights or loss."""

    node: ast.AST
    what: str
    kind: str


_PRECISION_WORDS = re.compile(r"double|64|precis|dtype", re.IGNORECASE)


def under_precision_switch(semantic: SemanticModel, node: ast.AST) -> bool:
    """Inside `if args.double:` or `if precision == "64":` in its function: float64 chosen at run time."""
    child = node
    for ancestor in semantic.ancestors(node):
        if isinstance(ancestor, (*FUNCTION_NODES, ast.ClassDef)):
            return False
        if isinstance(ancestor, (ast.If, ast.IfExp)) and child is not ancestor.test:
            for inner in ast.walk(ancestor.test):
                text = inner.id if isinstance(inner, ast.Name) else inner.attr if isinstance(inner, ast.Attribute) else inner.value if isinstance(inner, ast.Constant) and isinstance(inner.value, str) else None
                if text and _PRECISION_WORDS.search(text):
                    return True
        child = ancestor
    return False


def in_gradcheck_scope(semantic: SemanticModel, node: ast.AST) -> bool:
    """Whether the function (or module code) around `node` runs gradcheck, which needs float64."""
    scope = semantic.enclosing_function(node) or semantic.tree
    cache = semantic.rule_cache.setdefault("GL201.gradcheck", {})
    found = cache.get(scope)
    if found is None:
        found = cache[scope] = any(semantic.call_name(c) in _GRADCHECK for c in semantic.scope_calls(scope))
    return found


# ---------------------------------------------------------------------------- names
def _position(node: ast.AST) -> tuple[int, int]:
    return node.lineno, node.col_offset


def _end(node: ast.AST) -> tuple[int, int]:
    return node.end_lineno, node.end_col_offset


def _binding_position(semantic: SemanticModel, store: ast.Name) -> tuple[int, int]:
    """Where a store takes effect: after its whole statement (so `x = x.to(d)` reads the old x),
    after the iterable of a for loop or the context manager of a with, at the start of a
    comprehension."""
    for ancestor in semantic.ancestors(store):
        if isinstance(ancestor, ast.comprehension):
            return _position(semantic.parent(ancestor))
        if isinstance(ancestor, ast.NamedExpr):
            return _end(ancestor)
        if isinstance(ancestor, (ast.For, ast.AsyncFor)):
            return _end(ancestor.iter)
        if isinstance(ancestor, ast.withitem):
            return _end(ancestor.context_expr)
        if isinstance(ancestor, ast.stmt):
            return _end(ancestor)
    return _position(store)


def _name_index(semantic: SemanticModel, scope) -> dict[str, tuple[list, list]]:
    """name -> (stores as (position, Name), loads as (position, Name)) within one scope, sorted."""
    cache = semantic.rule_cache.setdefault("GL201.names", {})
    index = cache.get(scope.node)
    if index is None:
        index = defaultdict(lambda: ([], []))
        for node in semantic.scope_body(scope.node):
            if isinstance(node, ast.Name) and semantic.scope_of(node) is scope:
                stores, loads = index[node.id]
                if isinstance(node.ctx, ast.Load):
                    loads.append((_position(node), node))
                else:
                    stores.append((_binding_position(semantic, node), node))
        for stores, loads in index.values():
            stores.sort(key=lambda item: item[0])
            loads.sort(key=lambda item: item[0])
        cache[scope.node] = index
    return index


def uses_of_binding(semantic: SemanticModel, store: ast.Name) -> list[ast.Name]:
    """The loads that read the value this store binds: later in the same scope and before the
    next store of the name (straight-line order). A module-level name bound once is also read
    by every function that sees it."""
    scope = semantic.scope_of(store)
    stores, loads = _name_index(semantic, scope)[store.id]
    here = _binding_position(semantic, store)
    later = [where for where, _ in stores if where > here]
    stop = later[0] if later else None
    found = [node for where, node in loads if where > here and (stop is None or where < stop)]
    if scope.kind == "module" and len(stores) == 1:
        found.extend(_module_name_reads(semantic, store.id))
    return found


def _module_name_reads(semantic: SemanticModel, name: str) -> list[ast.Name]:
    cache = semantic.rule_cache.setdefault("GL201.module-reads", {})
    if name not in cache:
        module = semantic.module_scope
        cache[name] = [
            node
            for node in semantic.nodes(ast.Name)
            if node.id == name
            and isinstance(node.ctx, ast.Load)
            and semantic.scope_of(node) is not module
            and semantic.lookup(name, node) == (module, "local")
        ]
    return cache[name]


def reaching_store(semantic: SemanticModel, load: ast.Name) -> ast.Name | None:
    """The store whose value this load reads (the last one before it in the same scope)."""
    found = semantic.lookup(load.id, load)
    if found is None or found[1] != "local":
        return None
    stores, _ = _name_index(semantic, found[0])[load.id]
    if found[0] is not semantic.scope_of(load):
        return stores[0][1] if len(stores) == 1 else None
    here = _position(load)
    before = [node for where, node in stores if where < here]
    return before[-1] if before else None


def assigned_value(semantic: SemanticModel, store: ast.Name) -> ast.AST | None:
    """The value a plain `name = value` (or `name: T = value`) store binds."""
    parent = semantic.parent(store)
    if isinstance(parent, ast.Assign) and any(t is store for t in parent.targets):
        return parent.value
    if isinstance(parent, (ast.AnnAssign, ast.NamedExpr)) and parent.target is store:
        return parent.value
    return None


# ---------------------------------------------------------------------------- flow
def find_sink(semantic: SemanticModel, origin: ast.AST, *, first_argument_only: bool = False) -> Sink | None:
    """Where the value of `origin` is consumed by a model in this file, if it visibly is.
    `first_argument_only`: count only a model's first argument (for values that could be labels)."""
    return _Flow(semantic, first_argument_only).run(origin, None, 0)


class _Flow:
    def __init__(self, semantic: SemanticModel, first_argument_only: bool) -> None:
        self.semantic = semantic
        self.first_only = first_argument_only
        self.seen: set[tuple[int, int | None]] = set()

    def run(self, node: ast.AST, index: int | None, depth: int) -> Sink | None:
        """`index` None: `node` is the tensor itself; k: each item `node` yields holds it at k."""
        if depth > _MAX_DEPTH or (id(node), index) in self.seen:
            return None
        self.seen.add((id(node), index))
        node, index = self._climb(node, index)
        semantic = self.semantic
        parent = semantic.parent(node)
        if isinstance(parent, ast.keyword) and parent.arg is not None:
            return self._argument(semantic.parent(parent), ("kw", parent.arg), index, depth)
        if isinstance(parent, ast.Call) and parent.func is not node:
            position = next((i for i, arg in enumerate(parent.args) if arg is node), None)
            if position is not None:
                return self._argument(parent, ("pos", position), index, depth)
            return None
        if isinstance(parent, (ast.List, ast.Tuple)) and index is None:
            call = semantic.parent(parent)
            if isinstance(call, ast.Call) and call.args and call.args[0] is parent and _is_optimizer(semantic, call):
                return Sink(call, f"the optimizer `{_callee(call)}`", "weights")
            if isinstance(call, ast.Assign) and call.value is parent:  # `x, y = a.double(), b.double()`
                position = next(i for i, element in enumerate(parent.elts) if element is node)
                for target in call.targets:
                    if isinstance(target, (ast.Tuple, ast.List)) and len(target.elts) == len(parent.elts):
                        if not any(isinstance(e, ast.Starred) for e in target.elts):
                            found = self._bind(target.elts[position], None, depth)
                            if found is not None:
                                return found
            return None
        if isinstance(parent, (ast.Assign, ast.AnnAssign)) and parent.value is node:
            targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
            for target in targets:
                if index is None and isinstance(target, ast.Attribute) and _model_attribute(semantic, target):
                    return Sink(parent, f"`{_short(target)}`", "weights")
                found = self._bind(target, index, depth)
                if found is not None:
                    return found
            return None
        if isinstance(parent, ast.NamedExpr) and parent.value is node:
            return self._bind(parent.target, index, depth) or self.run(parent, index, depth + 1)
        if isinstance(parent, (ast.For, ast.AsyncFor)) and parent.iter is node:
            return self._bind(parent.target, index, depth)
        if isinstance(parent, ast.comprehension) and parent.iter is node:
            return self._bind(parent.target, index, depth)
        return None

    def _climb(self, node: ast.AST, index: int | None) -> tuple[ast.AST, int | None]:
        """Up through expressions that keep the dtype: `.to(device)`, views, indexing, arithmetic."""
        semantic = self.semantic
        while True:
            parent = semantic.parent(node)
            if index is not None:
                if isinstance(parent, ast.Subscript) and parent.value is node and _constant(parent.slice) == index:
                    node, index = parent, None
                    continue
                return node, index
            if isinstance(parent, ast.Attribute) and parent.value is node:
                if parent.attr in _SAME_DTYPE_ATTRIBUTES:
                    node = parent
                    continue
                call = semantic.parent(parent)
                if isinstance(call, ast.Call) and call.func is parent and _keeps_dtype(semantic, parent.attr, call):
                    node = call
                    continue
                return node, index
            if (
                (isinstance(parent, ast.Subscript) and parent.value is node)
                or isinstance(parent, (ast.BinOp, ast.UnaryOp))
                or (isinstance(parent, ast.IfExp) and parent.test is not node)
            ):
                node = parent
            else:
                return node, index

    def _bind(self, target: ast.AST, index: int | None, depth: int) -> Sink | None:
        if isinstance(target, (ast.Tuple, ast.List)):
            if index is None or index >= len(target.elts) or any(isinstance(e, ast.Starred) for e in target.elts[: index + 1]):
                return None
            target, index = target.elts[index], None
        if not isinstance(target, ast.Name):
            return None
        for use in uses_of_binding(self.semantic, target):
            found = self.run(use, index, depth + 1)
            if found is not None:
                return found
        return None

    def _argument(self, call: ast.Call, slot: tuple[str, object], index: int | None, depth: int) -> Sink | None:
        semantic = self.semantic
        first = slot in (("pos", 0), ("kw", "x"), ("kw", "X"), ("kw", "input"))
        if index is None:
            target = forward_target(call)
            if target is not None and semantic.is_model(target) and (first or not self.first_only):
                return Sink(call, f"`{_callee(call)}(...)`", "input")
            func = call.func
            if (
                isinstance(func, ast.Attribute)
                and func.attr in _MODEL_DATA_METHODS
                and (first or not self.first_only)
                and semantic.is_model(func.value)
            ):
                return Sink(call, f"`{_callee(call)}(...)`", "input")
            name = semantic.call_name(call)
            if name in _PARAMETER:
                return Sink(call, "an `nn.Parameter`", "weights")
            # Only a loss's target: a float64 target promotes the loss to float64 (a float64 class
            # weight or input fails instead).
            if name is not None and _is_functional_loss(name) and slot in (("pos", 1), ("kw", "target")) and not self.first_only and _other_argument_from_model(semantic, call, slot):
                return Sink(call, f"`{_callee(call)}(...)`", "loss")
            if name in _TENSOR_DATASET and slot[0] == "pos":
                return self.run(call, slot[1], depth + 1)
        elif semantic.call_name(call) in _DATA_LOADER and slot in (("pos", 0), ("kw", "dataset")):
            return self.run(call, index, depth + 1)
        parameter = _local_parameter(semantic, call, slot)
        if parameter is not None:
            function, name = parameter
            for use in _parameter_reads(semantic, function, name):
                found = self.run(use, index, depth + 1)
                if found is not None:
                    return found
        return None


def _model_attribute(semantic: SemanticModel, target: ast.Attribute) -> bool:
    """`model.fc.weight.data = ...`, `self.net.bias = ...`: an assignment into a model's weights."""
    if target.attr not in ("data", "weight", "bias"):
        return False
    base = target.value
    while isinstance(base, ast.Attribute) and not (isinstance(base.value, ast.Name) and base.value.id == "self"):
        base = base.value
    return semantic.is_model(base)


def _keeps_dtype(semantic: SemanticModel, method: str, call: ast.Call) -> bool:
    if method in _SAME_DTYPE_METHODS:
        return True
    if method != "to" or any(k.arg in ("dtype", None) for k in call.keywords):
        return False
    return all(_is_device(semantic, arg) for arg in call.args)


def _is_device(semantic: SemanticModel, expr: ast.AST) -> bool:
    """`"cuda"`, `device`, `self.device`, `args.dev`, `torch.device(...)`: not a dtype or a tensor."""
    if isinstance(expr, ast.Constant):
        return isinstance(expr.value, (str, int)) and not isinstance(expr.value, bool)
    if isinstance(expr, ast.Call):
        return semantic.call_name(expr) == "torch.device"
    if isinstance(expr, ast.Name):
        return bool(_DEVICE_WORDS.search(expr.id))
    if isinstance(expr, ast.Attribute):
        return bool(_DEVICE_WORDS.search(expr.attr))
    return False


def _constant(expr: ast.AST) -> object:
    return expr.value if isinstance(expr, ast.Constant) else None


def _callee(call: ast.Call) -> str:
    text = ast.unparse(call.func)
    return text if len(text) <= 40 else text[:37] + "..."


def _is_optimizer(semantic: SemanticModel, call: ast.Call) -> bool:
    name = semantic.call_name(call)
    return name is not None and name.startswith("torch.optim.") and name.rsplit(".", 1)[-1][:1].isupper()


def _is_functional_loss(name: str) -> bool:
    if not name.startswith("torch.nn.functional."):
        return False
    last = name.rsplit(".", 1)[-1]
    return last.endswith("_loss") or last in _FUNCTIONAL_LOSSES


def _other_argument_from_model(semantic: SemanticModel, call: ast.Call, slot: tuple[str, object]) -> bool:
    """A functional loss whose other operand is a model's output (directly or through a name)."""
    others = [a for i, a in enumerate(call.args) if slot != ("pos", i)]
    others += [k.value for k in call.keywords if slot != ("kw", k.arg)]
    for expr in others:
        values = [expr]
        if isinstance(expr, ast.Name):
            store = reaching_store(semantic, expr)
            values = [assigned_value(semantic, store)] if store is not None else []
        for value in values:
            if value is not None and any(
                isinstance(n, ast.Call) and (t := forward_target(n)) is not None and semantic.is_model(t) for n in ast.walk(value)
            ):
                return True
    return False


def _local_parameter(semantic: SemanticModel, call: ast.Call, slot: tuple[str, object]) -> tuple[ast.AST, str] | None:
    """(function, parameter name) receiving this argument when `call` calls a plain function
    defined once in this file."""
    if not isinstance(call.func, ast.Name):
        return None
    found = semantic.lookup(call.func.id, call.func)
    if found is None or found[1] != "local":
        return None
    values = found[0].bindings[call.func.id]
    if len(values) != 1 or not isinstance(values[0], (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    function = values[0]
    args = function.args
    if slot[0] == "pos":
        position = slot[1]
        if any(isinstance(a, ast.Starred) for a in call.args[: position + 1]):
            return None
        positional = [*args.posonlyargs, *args.args]
        return (function, positional[position].arg) if position < len(positional) else None
    names = {a.arg for a in (*args.args, *args.kwonlyargs)}
    return (function, slot[1]) if slot[1] in names else None


def _parameter_reads(semantic: SemanticModel, function: ast.AST, name: str) -> list[ast.Name]:
    """Reads of a parameter before anything in the function rebinds it."""
    scope = semantic.scopes[function]
    stores, loads = _name_index(semantic, scope)[name]
    stop = stores[0][0] if stores else None
    return [node for where, node in loads if stop is None or where < stop]


def file_builds_model(semantic: SemanticModel) -> bool:
    """The file defines an nn.Module subclass or constructs or loads a model (torch or Keras),
    or binds a constructor call to a name the semantic model takes for a model (`net = Net()`)."""
    cache = semantic.rule_cache.setdefault("GL201.builds-model", {})
    if "result" not in cache:
        found = any(semantic.is_module_class(cls) for cls in semantic.nodes(ast.ClassDef)) or any(
            isinstance(node.value, ast.Call) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) and semantic.is_model(node.targets[0])
            for node in semantic.nodes(ast.Assign)
        )
        if not found:
            for call in semantic.nodes(ast.Call):
                name = semantic.call_name(call)
                if name in _PARAMETER:
                    continue
                if semantic.is_model_source(call) or (
                    name is not None and name.startswith(_KERAS_PREFIXES) and name.rsplit(".", 1)[-1][:1].isupper()
                ):
                    found = True
                    break
        cache["result"] = found
    return cache["result"]


# ---------------------------------------------------------------------------- the rule
class _Finding(NamedTuple):
    node: ast.AST  # what to report
    spelling: ast.AST  # what the fix rewrites
    message: str
    fixable: bool = True  # False: the spelling also serves uses that stay float64 on purpose


@register
class Float64Tensor(Rule):
    """
    ## What it does
    Flags float64 (double precision) model weights and model inputs: `.double()` or
    `.to(torch.float64)` on a model, a `torch.float64` tensor, `.double()` tensor or
    `torch.DoubleTensor` that reaches a model, an optimizer or an `nn.Parameter`, a layer built with
    `dtype=torch.float64`, and `torch.set_default_dtype(torch.float64)` in a file that builds a
    model (TensorFlow/Keras spellings too).

    ## Fix
    Rewrites the float64 spelling to float32 as the file spells it (unsafe: changes numerics).
    """

    code = "GL201"
    name = "float64-tensor"
    summary = "Model weights or inputs in float64 where float32 would do"
    impact = "high"
    evidence = 'greenlint CPU run: float64 MLP training took 2.1x the CPU time of float32; H100 datasheet: FP64 33.5 vs FP32 66.9 TFLOPS.'
    frameworks = ("torch", "tensorflow", "keras")
    # Every finding starts at a spelling of float64: a `float64`/`double`/`DoubleTensor` name or
    # attribute (an import alias keeps it on the import line), such a string, or `.double()`.
    requires = ("float64", "double", "DoubleTensor")
    fix_applicability = Applicability.UNSAFE
    options = {
        "include-tests": INCLUDE_TESTS,
    }

    VALID = [
        Valid(
            """
            import torch

            def train(model, loader, optimizer):
                total = torch.zeros(1, dtype=torch.float64)
                for x, y in loader:
                    loss = torch.nn.functional.mse_loss(model(x), y)
                    loss.backward()
                    optimizer.step()
                    total += loss.item()
                return total
            """,
            why="a float64 accumulator for logging never reaches the model",
        ),
        Valid(
            """
            import torch

            def whiten(features):
                cov = torch.cov(features.T.double())
                eigenvalues, eigenvectors = torch.linalg.eigh(cov)
                return eigenvectors.float()
            """,
            why="float64 linear algebra for stability, no model",
        ),
        Valid(
            """
            import torch

            x = torch.linspace(0, 1, 1000, dtype=torch.float64)
            y = torch.sin(x) ** 2
            print(torch.trapezoid(y, x))
            """,
            why="scientific code with no model",
        ),
        Valid(
            """
            import torch
            from torch import nn

            model = nn.Linear(3, 1)
            x = torch.tensor([[1.0, 2.0, 3.0]], dtype=torch.float64)
            print(model(x.float()))
            """,
            why="cast to float32 before the model",
        ),
        Valid(
            """
            import torch

            def check(model, x):
                return torch.autograd.gradcheck(model.double(), (x.double().requires_grad_(),))
            """,
            why="gradcheck needs float64",
        ),
        Valid(
            """
            import torch

            def evaluate(model, x, precision):
                dtype = torch.float64 if precision == "64" else torch.float32
                return model(x.to(dtype))
            """,
            why="dtype chosen at run time",
        ),
        Valid(
            """
            import torch

            def test_linear_supports_double():
                layer = torch.nn.Linear(2, 2).double()
                assert layer(torch.zeros(1, 2, dtype=torch.float64)).dtype == torch.float64
            """,
            filename="tests/test_dtypes.py",
            why="tests that exercise float64 on purpose are skipped unless include-tests is set",
        ),
        Valid(
            """
            import torch

            def metrics(model, x, target):
                pred = model(x)
                error = (pred.double() - target.double()).abs().mean()
                return error.item()
            """,
            why="float64 metric on the model's output, not its input",
        ),
        Valid(
            """
            import torch

            class DoublePrecision:
                def convert_module(self, module):
                    return module.double()
            """,
            why="`module` is a generic parameter; nothing shows it is a model",
        ),
        Valid(
            """
            import torch

            def prepare(x):
                return x.double()
            """,
            why="where the tensor goes is not visible here",
        ),
        Valid(
            """
            import torch

            def run(model, x, args):
                if args.double:
                    model = model.double()
                    x = x.double()
                return model(x)
            """,
            why="float64 switched on by a run-time precision flag",
        ),
    ]
    INVALID = [
        Invalid(
            """
            import torch
            from model import Net

            model = Net().double()
            """,
            fixed="""
            import torch
            from model import Net

            model = Net().float()
            """,
            applicability=Applicability.UNSAFE,
            message="model weights",
        ),
        Invalid(
            """
            import torch as T

            def train(model, loader, opt):
                for x, y in loader:
                    x = x.to("cuda", T.double)  # match the checkpoint
                    loss = (model(x) - y).pow(2).mean()
                    loss.backward()
                    opt.step()
            """,
            fixed="""
            import torch as T

            def train(model, loader, opt):
                for x, y in loader:
                    x = x.to("cuda", T.float32)  # match the checkpoint
                    loss = (model(x) - y).pow(2).mean()
                    loss.backward()
                    opt.step()
            """,
            applicability=Applicability.UNSAFE,
            message="model(...)",
        ),
        Invalid(
            """
            import torch
            from torch import nn
            from torch.utils.data import DataLoader, TensorDataset

            X = torch.randn(512, 8, dtype=torch.float64)
            y = torch.randn(512, 1)
            loader = DataLoader(TensorDataset(X, y), batch_size=64)
            net = nn.Sequential(nn.Linear(8, 1)).to(dtype=torch.float64)
            for xb, yb in loader:
                net(xb)
            """,
            count=2,
            fixed="""
            import torch
            from torch import nn
            from torch.utils.data import DataLoader, TensorDataset

            X = torch.randn(512, 8, dtype=torch.float32)
            y = torch.randn(512, 1)
            loader = DataLoader(TensorDataset(X, y), batch_size=64)
            net = nn.Sequential(nn.Linear(8, 1)).to(dtype=torch.float32)
            for xb, yb in loader:
                net(xb)
            """,
            applicability=Applicability.UNSAFE,
        ),
        Invalid(
            """
            import torch
            from torch import nn

            torch.set_default_dtype(torch.float64)

            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.fc = nn.Linear(4, 2)
            """,
            fixed="""
            import torch
            from torch import nn

            torch.set_default_dtype(torch.float32)

            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.fc = nn.Linear(4, 2)
            """,
            applicability=Applicability.UNSAFE,
            message="default",
        ),
        Invalid(
            """
            from torch import nn, float64

            layer = nn.Linear(16, 16, dtype=float64)
            """,
            fixed="""
            from torch import nn, float64
            import torch

            layer = nn.Linear(16, 16, dtype=torch.float32)
            """,
            applicability=Applicability.UNSAFE,
        ),
        Invalid(
            """
            import torch

            def fit(model, features):
                inputs = torch.DoubleTensor(features)
                weights = torch.nn.Parameter(torch.zeros(3, dtype=torch.double))
                return model(inputs) * weights
            """,
            count=2,
            fixed="""
            import torch

            def fit(model, features):
                inputs = torch.FloatTensor(features)
                weights = torch.nn.Parameter(torch.zeros(3, dtype=torch.float32))
                return model(inputs) * weights
            """,
            applicability=Applicability.UNSAFE,
        ),
        Invalid(
            """
            import torch

            def run(model, batch):
                return model(batch)

            def main(model, batch):
                return run(model, batch.double())
            """,
            fixed="""
            import torch

            def run(model, batch):
                return model(batch)

            def main(model, batch):
                return run(model, batch.float())
            """,
            applicability=Applicability.UNSAFE,
        ),
        Invalid(
            """
            import tensorflow as tf

            tf.keras.backend.set_floatx("float64")
            model = tf.keras.Sequential([tf.keras.layers.Dense(1, dtype='float64')])
            """,
            count=2,
            fixed="""
            import tensorflow as tf

            tf.keras.backend.set_floatx("float32")
            model = tf.keras.Sequential([tf.keras.layers.Dense(1, dtype='float32')])
            """,
            applicability=Applicability.UNSAFE,
        ),
        Invalid(
            """
            import torch

            DTYPE = torch.float64

            def run(model, n):
                x = torch.randn(n, 4, dtype=DTYPE)
                stats = torch.zeros(2, dtype=DTYPE)
                return model(x), stats
            """,
            fixed=None,
            applicability=Applicability.DISPLAY_ONLY,
            message="reaches `model(...)`",
        ),
        Invalid(
            """
            import torch

            def predict(model, rows):
                x = torch.tensor(rows, dtype=torch.float64)
                return model.predict(x)
            """,
            fixed="""
            import torch

            def predict(model, rows):
                x = torch.tensor(rows, dtype=torch.float32)
                return model.predict(x)
            """,
            applicability=Applicability.UNSAFE,
        ),
        Invalid(
            """
            import torch
            import torch.nn.functional as F

            def fit(model, features, targets):
                model = model.double()
                x, y = features.double(), targets.double()
                return F.mse_loss(model(x), y)
            """,
            count=3,
            fixed="""
            import torch
            import torch.nn.functional as F

            def fit(model, features, targets):
                model = model.float()
                x, y = features.float(), targets.float()
                return F.mse_loss(model(x), y)
            """,
            applicability=Applicability.UNSAFE,
            changes_numerics=True,
        ),
    ]

    def check(self, ctx: Context) -> None:
        semantic = ctx.semantic
        for spelling in self._spellings(semantic):
            if in_gradcheck_scope(semantic, spelling) or under_precision_switch(semantic, spelling):
                continue
            finding = self._finding(semantic, spelling)
            if finding is None:
                continue
            if finding.fixable:
                fix = self._fix(ctx, finding.spelling)
            else:
                advice = f"Use float32 where this dtype feeds the model; `{_short(finding.spelling)}` also serves other uses"
                fix = Fix(Applicability.DISPLAY_ONLY, advice)
            ctx.report(finding.node, finding.message, fix)

    # ------------------------------------------------------------------ detection
    def _spellings(self, semantic: SemanticModel) -> list[ast.AST]:
        """Every float64 dtype, DoubleTensor type, float64 dtype string and `.double()` call."""
        # Each kind is filtered first and then put in source order: the same list as filtering
        # the sorted semantic.nodes() (a stable sort keeps ties in the same order), without
        # sorting every attribute, string and call of the file.
        found: list[ast.AST] = []
        wanted = _FLOAT64_DTYPES | _DOUBLE_TENSOR_TYPES
        by_type = semantic.by_type
        found.extend(
            _in_order(node for node in by_type.get(ast.Attribute, ()) if node.attr in ("float64", "double", "DoubleTensor") and semantic.qualified_name(node) in wanted)
        )
        aliases = {local for scope in semantic.scopes.values() for local, target in scope.imports.items() if target in wanted}
        if aliases:
            found.extend(_in_order(n for n in by_type.get(ast.Name, ()) if n.id in aliases and semantic.qualified_name(n) in wanted))
        found.extend(_in_order(node for node in by_type.get(ast.Constant, ()) if node.value.__class__ is str and node.value in _FLOAT64_STRINGS))
        found.extend(
            _in_order(
                call
                for call in by_type.get(ast.Call, ())
                if isinstance(call.func, ast.Attribute)
                and call.func.attr == "double"
                and not call.args
                and not call.keywords
                and semantic.qualified_name(call.func) is None  # a method, not an imported function
            )
        )
        return found

    def _finding(self, semantic: SemanticModel, spelling: ast.AST) -> _Finding | None:
        if isinstance(spelling, ast.Call):  # x.double()
            receiver = spelling.func.value
            if semantic.is_model(receiver) or _assigned_to_model(semantic, spelling):
                return _Finding(spelling, spelling, f"`{_short(spelling)}` makes the model weights float64; use float32 unless it needs double precision")
            return self._reaches(semantic, spelling, spelling, f"`{_short(spelling)}`")
        parent = semantic.parent(spelling)
        if isinstance(parent, ast.Call) and parent.func is spelling:  # torch.DoubleTensor(x)
            if semantic.qualified_name(spelling) in _DOUBLE_TENSOR_TYPES:
                return self._reaches(semantic, parent, spelling, f"`{_short(parent)}`")
            return None
        if isinstance(parent, (ast.Assign, ast.AnnAssign)) and isinstance(spelling, (ast.Attribute, ast.Name)):
            targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
            if len(targets) != 1 or not isinstance(targets[0], ast.Name):
                return None
            # DTYPE = torch.float64, used below: rewriting it is right only if every use is flagged.
            findings = [self._dtype_use(semantic, use, spelling) for use in uses_of_binding(semantic, targets[0])]
            flagged = [f for f in findings if f is not None]
            if not flagged:
                return None
            return flagged[0]._replace(fixable=len(flagged) == len(findings))
        return self._dtype_use(semantic, spelling, spelling)

    def _dtype_use(self, semantic: SemanticModel, use: ast.AST, spelling: ast.AST) -> _Finding | None:
        """A float64 dtype (or its name) passed to a call: what that call does with it."""
        parent = semantic.parent(use)
        if isinstance(parent, ast.keyword):
            if parent.arg != "dtype":
                return None
            call = semantic.parent(parent)
        elif isinstance(parent, ast.Call) and any(a is use for a in parent.args):
            call = parent
        else:
            return None
        name = semantic.call_name(call)
        text = _short(spelling)
        if isinstance(spelling, ast.Constant) and not (
            name in _DEFAULT_SETTERS or (name or "").startswith(("tensorflow.", *_KERAS_PREFIXES)) or _method(call) == "type"
        ):
            return None  # "float64" strings mean float64 only to TensorFlow, Keras and .type()
        if name in _DEFAULT_SETTERS:
            if call.args and call.args[0] is use and file_builds_model(semantic):
                return _Finding(call, spelling, f"`{text}` as the default makes every new tensor and model weight float64; use float32 unless the model needs double precision")
            return None
        method = _method(call)
        if method in ("to", "type"):
            receiver = call.func.value
            if semantic.is_model(receiver):
                return _Finding(call, spelling, f"`{text}` makes the model weights float64; use float32 unless it needs double precision")
            return self._reaches(semantic, call, spelling, f"`{text}`")
        if name is None:
            return None
        if (semantic.is_model_source(call) and name not in _PARAMETER) or (
            name.startswith(_KERAS_PREFIXES) and ".layers." in name
        ):
            return _Finding(use, spelling, f"`{text}` makes the weights of `{_callee(call)}(...)` float64; use float32 unless it needs double precision")
        if name.startswith(("torch.", "tensorflow.")):
            return self._reaches(semantic, call, spelling, f"`{text}`")
        return None

    def _reaches(self, semantic: SemanticModel, origin: ast.AST, spelling: ast.AST, text: str) -> _Finding | None:
        sink = find_sink(semantic, origin)
        if sink is None:
            return None
        if sink.kind == "weights":
            where = f"becomes weights of {sink.what}"
        elif sink.kind == "loss":
            where = f"reaches the loss {sink.what}"
        else:
            where = f"reaches {sink.what}"
        # `.double()` and `torch.DoubleTensor(x)` are reported whole; a dtype argument by itself.
        report = origin if isinstance(spelling, ast.Call) or getattr(origin, "func", None) is spelling else spelling
        return _Finding(report, spelling, f"float64 tensor from {text} {where}; use float32 unless the model needs double precision")

    # ------------------------------------------------------------------ fixing
    def _fix(self, ctx: Context, spelling: ast.AST) -> Fix:
        def build() -> list[Edit]:
            text = ctx.text
            if isinstance(spelling, ast.Call):  # x.double() -> x.float()
                return [_replace_attribute(ctx, spelling.func, "float")]
            if isinstance(spelling, ast.Constant):
                start, end = ctx.lines.node_range(spelling)
                source = text[start:end]
                old = spelling.value
                if source.count(old) != 1:
                    raise FixUnavailable("the string is not written plainly")
                at = start + source.index(old)
                return [Edit(at, at + len(old), _FLOAT64_STRINGS[old])]
            qualified = ctx.semantic.qualified_name(spelling)
            if isinstance(spelling, ast.Attribute):
                replacement = "FloatTensor" if spelling.attr == "DoubleTensor" else "float32"
                return [_replace_attribute(ctx, spelling, replacement)]
            target = _FLOAT32_OF.get(qualified) or _FLOAT32_OF[qualified.split(".")[0]]
            spelled, imports = spell(ctx, target)
            start, end = ctx.lines.node_range(spelling)
            return [*imports, Edit(start, end, spelled)]

        return Fix(Applicability.UNSAFE, "Use float32 (changes numerics)", changes_numerics=True, build=build)


def _in_order(nodes) -> list[ast.AST]:
    """Nodes in source order, as SemanticModel.nodes() sorts them."""
    return sorted(nodes, key=lambda node: (getattr(node, "lineno", 0), getattr(node, "col_offset", 0)))


def _assigned_to_model(semantic: SemanticModel, call: ast.Call) -> bool:
    """`model = Net().double()`: the result is bound to a name the semantic model calls a model."""
    parent = semantic.parent(call)
    return (
        isinstance(parent, ast.Assign)
        and len(parent.targets) == 1
        and isinstance(parent.targets[0], ast.Name)
        and semantic.is_model(parent.targets[0])
    )


def _method(call: ast.Call) -> str | None:
    return call.func.attr if isinstance(call.func, ast.Attribute) else None


def _short(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 40 else text[:37] + "..."


def _replace_attribute(ctx: Context, node: ast.Attribute, new: str) -> Edit:
    """Replace the attribute name at the end of `a.b` (the node ends with it)."""
    _, end = ctx.lines.node_range(node)
    start = end - len(node.attr)
    if ctx.text[start:end] != node.attr:
        raise FixUnavailable("the attribute is not written plainly")
    return Edit(start, end, new)

