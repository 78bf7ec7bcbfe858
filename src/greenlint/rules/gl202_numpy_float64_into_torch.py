"""GL202 numpy-float64-into-torch: a NumPy array that is float64 by construction becomes a
float64 tensor that reaches a model, an optimizer or a loss."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, NamedTuple

from greenlint.diagnostics import Applicability, Edit, Fix, FixUnavailable
from greenlint.fixes import spell
from greenlint.rules.base import INCLUDE_TESTS, Invalid, Rule, Valid, register
from greenlint.rules.gl201_float64_tensor import (
    assigned_value,
    find_sink,
    in_gradcheck_scope,
    reaching_store,
    under_precision_switch,
    uses_of_binding,
)
from greenlint.semantic import SemanticModel

if TYPE_CHECKING:
    from greenlint.engine import Context

_CONVERSIONS = frozenset({"torch.from_numpy", "torch.tensor", "torch.as_tensor", "torch.asarray"})
_CONVERSION_LAST_PARTS = frozenset(name.rsplit(".", 1)[-1] for name in _CONVERSIONS)
# numpy.random functions that return float64 and take no dtype.
_RANDOM = frozenset(
    "rand randn random random_sample ranf sample uniform normal standard_normal exponential beta gamma "
    "laplace lognormal logistic multivariate_normal triangular".split()
)
_GENERATORS = frozenset({"numpy.random.default_rng", "numpy.random.RandomState", "numpy.random.Generator"})
# Generator methods: those in the dict take a dtype at this position, the others have none.
_GENERATOR_DTYPE = {"random": 1, "standard_normal": 1, "standard_exponential": 1}
_GENERATOR_FLOAT = frozenset({"random", "standard_normal", "standard_exponential", "uniform", "normal", "rand", "randn", "random_sample"})
# Constructors that default to float64, and the position of their dtype parameter.
_FLOAT_DEFAULT = {
    "numpy.zeros": 1,
    "numpy.ones": 1,
    "numpy.empty": 1,
    "numpy.eye": 3,
    "numpy.identity": 1,
    "numpy.linspace": 5,
    "numpy.logspace": 6,
    "numpy.loadtxt": 1,
    "numpy.genfromtxt": 1,
}
# Constructors that are float64 only for float data, and their dtype position.
_FLOAT_IF_DATA = {"numpy.array": 1, "numpy.asarray": 1, "numpy.full": 2, "numpy.arange": 3}
_FLOAT64_NAMES = frozenset({"numpy.float64", "numpy.double", "numpy.float_", "builtins.float"})
_FLOAT64_STRINGS = frozenset({"float64", "f8", "double", "float", "<f8", "d"})
# Methods of arrays (and of pandas objects, before .values) that keep the dtype.
_SAME_DTYPE = frozenset({"reshape", "copy", "transpose", "squeeze", "flatten", "ravel", "swapaxes", "clip", "round", "dropna", "fillna", "drop", "head", "tail", "sample"})
# NumPy functions whose result is float64 when their (first) array argument is.
_ELEMENTWISE = frozenset(
    "sin cos tan arcsin arccos arctan sinh cosh tanh exp expm1 log log1p log2 log10 sqrt square abs absolute "
    "negative clip round floor ceil cumsum diff transpose reshape squeeze expand_dims flip tile repeat".split()
)
_JOINS = frozenset({"concatenate", "stack", "vstack", "hstack", "column_stack", "dstack"})
_PANDAS_NOT_FLOAT = frozenset({"pandas.get_dummies", "pandas.factorize", "pandas.to_datetime", "pandas.Categorical"})


class _Source(NamedTuple):
    """A float64 array's origin: the producing call, how to say so, and where a dtype would go
    ("insert": add `dtype=`, "replace": this node is the explicit float64 dtype, None: no dtype
    parameter)."""

    call: ast.AST
    origin: str
    dtype_mode: str | None
    dtype_node: ast.AST | None = None
    pandas: bool = False


@register
class NumpyFloat64IntoTorch(Rule):
    """
    ## What it does
    Flags `torch.from_numpy`, `torch.tensor` and `torch.as_tensor` of a NumPy array that is
    float64 by construction (`np.random.rand`, `np.zeros` without dtype, `np.loadtxt`, `np.array`
    of float literals, pandas `.values`) when the tensor then reaches a model, an optimizer, an
    `nn.Parameter` or a loss without a cast.

    ## Fix
    Adds `dtype=np.float32` to the NumPy constructor when it can take one and is used only
    there; otherwise appends `.float()` to the conversion (unsafe: changes numerics).
    """

    code = "GL202"
    name = "numpy-float64-into-torch"
    summary = "Float64 NumPy array converted to a tensor that reaches a model"
    impact = "medium"
    evidence = 'greenlint CPU run: torch.tensor(np.random.rand(...)) 45 ms vs torch.rand 12.7 ms; float64 downstream compute costs more (see GL201).'
    frameworks = ("torch",)
    # check() returns at once unless the file imports numpy or pandas (the import line names it).
    requires = ("numpy", "pandas")
    fix_applicability = Applicability.UNSAFE
    options = {
        "include-tests": INCLUDE_TESTS,
    }

    VALID = [
        Valid(
            """
            import numpy as np
            import torch

            def train(model, n):
                x = torch.from_numpy(np.random.rand(n, 8)).float()
                return model(x)
            """,
            why="cast in the same expression",
        ),
        Valid(
            """
            import numpy as np
            import torch

            def train(model):
                x = torch.FloatTensor(np.zeros((4, 8)))
                y = torch.Tensor(np.ones((4, 8)))
                return model(x) + model(y)
            """,
            why="FloatTensor and Tensor build float32",
        ),
        Valid(
            """
            import numpy as np
            import torch

            def train(model):
                x = torch.from_numpy(np.zeros((4, 8), dtype=np.float32))
                return model(x)
            """,
            why="explicit float32",
        ),
        Valid(
            """
            import numpy as np
            import torch

            def embed(model):
                ids = torch.from_numpy(np.zeros(16, dtype=int))
                positions = torch.as_tensor(np.arange(16))
                return model(ids, positions)
            """,
            why="integer arrays",
        ),
        Valid(
            """
            import numpy as np
            import torch

            def train(model, n):
                x = torch.tensor(np.random.rand(n, 8), dtype=torch.float32)
                return model(x.to(torch.float32))
            """,
            why="the conversion sets the dtype",
        ),
        Valid(
            """
            import numpy as np
            import torch

            def score(model, x, labels):
                probs = model(x).softmax(-1).numpy()
                weights = np.linspace(0, 1, len(labels))
                return torch.from_numpy(np.average(probs, weights=weights))
            """,
            why="float64 metric computed after the model",
        ),
        Valid(
            """
            import numpy as np
            import torch

            signal = torch.from_numpy(np.loadtxt("signal.csv"))
            spectrum = torch.fft.rfft(signal)
            print(spectrum.abs().max())
            """,
            why="scientific code with no model",
        ),
        Valid(
            """
            import numpy as np
            import torch

            def train(model, n):
                x = torch.from_numpy(np.random.rand(n, 8).astype(np.float32))
                return model(x)
            """,
            why="astype before the conversion",
        ),
        Valid(
            """
            import numpy as np
            import torch

            def predict(model, rows):
                x = torch.from_numpy(np.asarray(rows))
                return model(x)
            """,
            why="dtype of `rows` unknown",
        ),
        Valid(
            """
            import pandas as pd
            import torch

            def fit(net, path):
                df = pd.read_csv(path)
                X = torch.tensor(df[["a", "b"]].to_numpy(dtype="float32"))
                y = torch.tensor(df["label"].values)
                net.fit(X, y)
            """,
            why="float32 features; pandas labels (often integers) are not inputs",
        ),
        Valid(
            """
            import pandas as pd
            import torch

            def embed(path):
                ids = torch.tensor(pd.read_csv(path)["user_id"].values)
                return torch.nn.Embedding(100, 8)(ids)
            """,
            why="one pandas column: ids and labels are often integers",
        ),
        Valid(
            """
            import numpy as np
            import torch

            def load(path, model, on_gpu):
                factors = torch.from_numpy(np.loadtxt(path))
                if on_gpu:
                    factors = factors.cuda()
                factors = factors.float()
                return model(factors)
            """,
            why="cast later, before the model",
        ),
        Valid(
            """
            import numpy as np
            import torch
            import torch.nn.functional as F

            def loss(model, x, y):
                weight = torch.tensor(np.array([1.0, 3.0]))
                return F.cross_entropy(model(x), y, weight=weight)
            """,
            why="only a loss's target promotes; a float64 class weight fails instead",
        ),
    ]
    INVALID = [
        Invalid(
            """
            import numpy as np
            import torch

            def train(model, n):
                x = torch.from_numpy(np.zeros((n, 8)))
                return model(x)
            """,
            fixed="""
            import numpy as np
            import torch

            def train(model, n):
                x = torch.from_numpy(np.zeros((n, 8), dtype=np.float32))
                return model(x)
            """,
            applicability=Applicability.UNSAFE,
            message="np.zeros",
        ),
        Invalid(
            """
            import numpy
            import torch as T

            def step(net, opt, n):
                batch = T.tensor(numpy.random.rand(n, 3))  # fake data
                loss = net(batch).sum()
                loss.backward()
                opt.step()
            """,
            fixed="""
            import numpy
            import torch as T

            def step(net, opt, n):
                batch = T.tensor(numpy.random.rand(n, 3)).float()  # fake data
                loss = net(batch).sum()
                loss.backward()
                opt.step()
            """,
            applicability=Applicability.UNSAFE,
            message="np.random.rand",
        ),
        Invalid(
            """
            import numpy as np
            import torch
            from torch.utils.data import DataLoader, TensorDataset

            data = np.loadtxt(
                "train.csv",
                delimiter=",",
            )
            labels = np.random.randint(0, 2, 1000)
            dataset = TensorDataset(torch.from_numpy(data), torch.from_numpy(labels))
            model = torch.nn.Linear(8, 2)
            for features, target in DataLoader(dataset, batch_size=32):
                model(features)
            """,
            fixed="""
            import numpy as np
            import torch
            from torch.utils.data import DataLoader, TensorDataset

            data = np.loadtxt(
                "train.csv",
                delimiter=",", dtype=np.float32,
            )
            labels = np.random.randint(0, 2, 1000)
            dataset = TensorDataset(torch.from_numpy(data), torch.from_numpy(labels))
            model = torch.nn.Linear(8, 2)
            for features, target in DataLoader(dataset, batch_size=32):
                model(features)
            """,
            applicability=Applicability.UNSAFE,
        ),
        Invalid(
            """
            import numpy as np
            import torch

            def train(model, optimizer, x):
                target = np.array([0.5, 1.5, -2.0])
                loss = torch.nn.functional.mse_loss(model(x), torch.as_tensor(target))
                loss.backward()
                optimizer.step()
                print(target.mean())
            """,
            fixed="""
            import numpy as np
            import torch

            def train(model, optimizer, x):
                target = np.array([0.5, 1.5, -2.0])
                loss = torch.nn.functional.mse_loss(model(x), torch.as_tensor(target).float())
                loss.backward()
                optimizer.step()
                print(target.mean())
            """,
            applicability=Applicability.UNSAFE,
            message="loss",
        ),
        Invalid(
            """
            import pandas as pd
            import torch
            from torch import from_numpy

            frame = pd.read_csv("houses.csv").dropna()
            model = torch.nn.Linear(12, 1)
            prices = model(from_numpy(frame.drop(columns=["price"]).to_numpy()))
            """,
            fixed="""
            import pandas as pd
            import torch
            from torch import from_numpy
            import numpy

            frame = pd.read_csv("houses.csv").dropna()
            model = torch.nn.Linear(12, 1)
            prices = model(from_numpy(frame.drop(columns=["price"]).to_numpy(dtype=numpy.float32)))
            """,
            applicability=Applicability.UNSAFE,
            message="pandas",
        ),
        Invalid(
            """
            import numpy as np
            import torch

            rng = np.random.default_rng(0)
            model = torch.nn.Linear(4, 1)
            weights = torch.nn.Parameter(torch.from_numpy(rng.normal(size=(4, 1))))
            noise = torch.tensor(np.ones((2, 4), dtype=np.float64))
            print(model(noise))
            """,
            count=2,
            fixed="""
            import numpy as np
            import torch

            rng = np.random.default_rng(0)
            model = torch.nn.Linear(4, 1)
            weights = torch.nn.Parameter(torch.from_numpy(rng.normal(size=(4, 1))).float())
            noise = torch.tensor(np.ones((2, 4), dtype=np.float32))
            print(model(noise))
            """,
            applicability=Applicability.UNSAFE,
        ),
        Invalid(
            """
            import numpy as np
            import torch

            def main(model):
                grid = np.linspace(-1, 1, 100)
                grid = grid.reshape(-1, 1)
                return model(torch.from_numpy(grid).cuda())
            """,
            fixed="""
            import numpy as np
            import torch

            def main(model):
                grid = np.linspace(-1, 1, 100)
                grid = grid.reshape(-1, 1)
                return model(torch.from_numpy(grid).float().cuda())
            """,
            applicability=Applicability.UNSAFE,
        ),
        Invalid(
            """
            import numpy as np
            import torch
            import torch.nn.functional as F
            from torch.utils.data import DataLoader, TensorDataset

            X = np.random.rand(256, 8).astype(np.float32)
            Y = np.random.rand(256, 1)
            loader = DataLoader(TensorDataset(torch.from_numpy(X), torch.from_numpy(Y)), batch_size=32)
            model = torch.nn.Linear(8, 1)
            for xb, yb in loader:
                xb, yb = xb.to("cpu"), yb.to("cpu")
                loss = F.mse_loss(model(xb), yb)
            """,
            fixed="""
            import numpy as np
            import torch
            import torch.nn.functional as F
            from torch.utils.data import DataLoader, TensorDataset

            X = np.random.rand(256, 8).astype(np.float32)
            Y = np.random.rand(256, 1)
            loader = DataLoader(TensorDataset(torch.from_numpy(X), torch.from_numpy(Y).float()), batch_size=32)
            model = torch.nn.Linear(8, 1)
            for xb, yb in loader:
                xb, yb = xb.to("cpu"), yb.to("cpu")
                loss = F.mse_loss(model(xb), yb)
            """,
            applicability=Applicability.UNSAFE,
            changes_numerics=True,
            message="np.random.rand",
        ),
    ]

    def check(self, ctx: Context) -> None:
        semantic = ctx.semantic
        imported = {target.split(".")[0] for scope in semantic.scopes.values() for target in scope.imports.values()}
        if not imported & {"numpy", "pandas"}:
            return
        for call in semantic.nodes(ast.Call):
            if not call.args:
                continue
            func = call.func
            # A resolved name ends with the attribute called (a plain name may be an alias).
            if isinstance(func, ast.Attribute) and func.attr not in _CONVERSION_LAST_PARTS:
                continue
            if semantic.call_name(call) not in _CONVERSIONS:
                continue
            if any(k.arg in ("dtype", None) for k in call.keywords) or len(call.args) > 1:
                continue  # the conversion sets (or may set) the dtype
            source = _Resolver(semantic).array(call.args[0], 0)
            if source is None or in_gradcheck_scope(semantic, call) or under_precision_switch(semantic, call):
                continue
            sink = find_sink(semantic, call, first_argument_only=source.pandas)
            if sink is None:
                continue
            where = f"the loss {sink.what}" if sink.kind == "loss" else sink.what
            message = (
                f"`{_callee(call)}(...)` turns a float64 array ({source.origin}) into a float64 tensor that "
                f"reaches {where}; create the array as float32"
            )
            ctx.report(call, message, self._fix(ctx, call, source))

    # ------------------------------------------------------------------ fixing
    def _fix(self, ctx: Context, conversion: ast.Call, source: _Source) -> Fix:
        at_source = source.dtype_mode is not None and _only_feeds(ctx.semantic, source.call, conversion)
        message = "Create the array as float32" if at_source else "Append `.float()` to the conversion"

        def build() -> list[Edit]:
            if not at_source:
                _, end = ctx.lines.node_range(conversion)
                return [Edit(end, end, ".float()")]
            spelled, imports = spell(ctx, "numpy.float32")
            if source.dtype_mode == "replace":
                start, end = ctx.lines.node_range(source.dtype_node)
                return [*imports, Edit(start, end, spelled)]
            return [*imports, _add_keyword(ctx, source.call, f"dtype={spelled}")]

        return Fix(Applicability.UNSAFE, f"{message} (changes numerics)", changes_numerics=True, build=build)


class _Resolver:
    """Whether an expression is a NumPy array that is float64 by construction."""

    def __init__(self, semantic: SemanticModel) -> None:
        self.semantic = semantic

    def array(self, expr: ast.AST, depth: int) -> _Source | None:
        if depth > 6:
            return None
        if isinstance(expr, ast.Name):
            value = self._value(expr)
            return self.array(value, depth + 1) if value is not None else None
        if isinstance(expr, ast.Subscript):
            return self.array(expr.value, depth + 1)
        if isinstance(expr, ast.BinOp):
            return self.array(expr.left, depth + 1) or self.array(expr.right, depth + 1)
        if isinstance(expr, ast.Attribute):
            if expr.attr == "T":
                return self.array(expr.value, depth + 1)
            if expr.attr == "values" and self._is_pandas(expr.value, depth + 1):
                return _Source(expr, "pandas `.values` of float columns is float64", None, pandas=True)
            return None
        if isinstance(expr, ast.Call):
            return self._call(expr, depth)
        return None

    def _call(self, call: ast.Call, depth: int) -> _Source | None:
        semantic = self.semantic
        if any(k.arg is None for k in call.keywords) or any(isinstance(a, ast.Starred) for a in call.args):
            return None
        func = call.func
        name = semantic.call_name(call)
        if name is not None and name.startswith("numpy.random.") and name.rsplit(".", 1)[-1] in _RANDOM:
            return _Source(call, f"`{_np(name)}` returns float64", None)
        if name in _FLOAT_DEFAULT or name in _FLOAT_IF_DATA:
            source = self._with_dtype(call, _FLOAT_DEFAULT.get(name, _FLOAT_IF_DATA.get(name)), f"`{_np(name)}`")
            if source is not None and source.dtype_mode == "insert" and name in _FLOAT_IF_DATA and not self._float_data(name, call):
                return None  # no dtype: float64 only for float data
            return source
        if name is not None and name.startswith("numpy.") and call.args:
            last = name.rsplit(".", 1)[-1]
            if last in _ELEMENTWISE and name.count(".") == 1:
                return self.array(call.args[0], depth + 1)
            if last in _JOINS and isinstance(call.args[0], (ast.List, ast.Tuple)) and not call.keywords:
                return next(filter(None, (self.array(e, depth + 1) for e in call.args[0].elts)), None)
        if not isinstance(func, ast.Attribute):
            return None
        if func.attr in _SAME_DTYPE:
            return self.array(func.value, depth + 1)
        if func.attr == "to_numpy" and self._is_pandas(func.value, depth + 1):
            source = self._with_dtype(call, 0, "pandas `.to_numpy()`")
            return source._replace(origin="pandas `.to_numpy()` of float columns is float64", pandas=True) if source else None
        if func.attr in _GENERATOR_FLOAT and self._is_generator(func.value):
            if func.attr in _GENERATOR_DTYPE:
                return self._with_dtype(call, _GENERATOR_DTYPE[func.attr], f"`Generator.{func.attr}`")
            return _Source(call, f"`Generator.{func.attr}` returns float64", None)
        return None

    def _with_dtype(self, call: ast.Call, position: int, what: str) -> _Source | None:
        """Float64 when the dtype is absent ("insert") or spelled float64 ("replace")."""
        dtype = call.args[position] if position < len(call.args) else next((k.value for k in call.keywords if k.arg == "dtype"), None)
        if dtype is None:
            return _Source(call, f"{what} without a dtype is float64", "insert")
        if self._is_float64(dtype):
            return _Source(call, f"{what} with `dtype={ast.unparse(dtype)}`", "replace", dtype)
        return None

    def _is_float64(self, dtype: ast.AST) -> bool:
        if isinstance(dtype, ast.Constant):
            return dtype.value in _FLOAT64_STRINGS
        return self.semantic.qualified_name(dtype) in _FLOAT64_NAMES

    def _float_data(self, name: str, call: ast.Call) -> bool:
        """np.array/asarray of float literals, np.full with a float fill, np.arange with a float bound."""
        if name in ("numpy.array", "numpy.asarray"):
            return bool(call.args) and _float_literal(call.args[0])
        if name == "numpy.full":
            fill = call.args[1] if len(call.args) > 1 else next((k.value for k in call.keywords if k.arg == "fill_value"), None)
            return fill is not None and _number(fill) is float
        bounds = [*call.args[:3], *(k.value for k in call.keywords if k.arg in ("start", "stop", "step"))]
        return any(_number(b) is float for b in bounds)

    def _value(self, name: ast.Name) -> ast.AST | None:
        store = reaching_store(self.semantic, name)
        return assigned_value(self.semantic, store) if store is not None else None

    def _is_generator(self, expr: ast.AST) -> bool:
        if isinstance(expr, ast.Name):
            expr = self._value(expr)
        return isinstance(expr, ast.Call) and self.semantic.call_name(expr) in _GENERATORS

    def _is_pandas(self, expr: ast.AST | None, depth: int) -> bool:
        """A DataFrame or Series: a pandas constructor or reader, through methods and indexing."""
        while depth <= 6:
            if isinstance(expr, ast.Subscript):
                key = expr.slice.elts[-1] if isinstance(expr.slice, ast.Tuple) and expr.slice.elts else expr.slice
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    return False  # one column (df["label"], df.loc[:, "id"]): labels and ids, often integers
                expr = expr.value
            elif isinstance(expr, ast.Attribute):
                expr = expr.value
            elif isinstance(expr, ast.Call):
                name = self.semantic.call_name(expr)
                if name is not None:
                    return name.startswith("pandas.") and name not in _PANDAS_NOT_FLOAT
                if not isinstance(expr.func, ast.Attribute):
                    return False
                expr = expr.func.value
            elif isinstance(expr, ast.Name):
                expr = self._value(expr)
            else:
                return False
            depth += 1
        return False


def _only_feeds(semantic: SemanticModel, source: ast.AST, conversion: ast.Call) -> bool:
    """The constructor sits in the conversion's own expression, or is bound by one assignment
    whose only read is that conversion's argument (so changing its dtype changes nothing else)."""
    if any(a is conversion for a in semantic.ancestors(source)):
        return True
    argument = conversion.args[0]
    if not isinstance(argument, ast.Name):
        return False
    store = reaching_store(semantic, argument)
    if store is None or assigned_value(semantic, store) is not source:
        return False
    scope = semantic.scope_of(store)
    return uses_of_binding(semantic, store) == [argument] and all(
        node is store for node in semantic.scope_body(scope.node)
        if isinstance(node, ast.Name) and node.id == store.id and not isinstance(node.ctx, ast.Load)
    )


def _add_keyword(ctx: Context, call: ast.Call, keyword: str) -> Edit:
    """`, dtype=...` right after the call's last argument (keeps a trailing comma and line breaks)."""
    arguments = [*call.args, *call.keywords]
    if arguments:
        last = max(arguments, key=lambda a: (a.end_lineno, a.end_col_offset))
        _, end = ctx.lines.node_range(last)
        return Edit(end, end, f", {keyword}")
    _, end = ctx.lines.node_range(call)
    if ctx.text[end - 1] != ")":
        raise FixUnavailable("the call is not written plainly")
    return Edit(end - 1, end - 1, keyword)


def _float_literal(expr: ast.AST) -> bool:
    """A (nested) list or tuple of number literals with at least one float."""
    kinds: set[type] = set()

    def walk(node: ast.AST) -> bool:
        if isinstance(node, (ast.List, ast.Tuple)):
            return all(walk(e) for e in node.elts)
        kind = _number(node)
        if kind is None:
            return False
        kinds.add(kind)
        return True

    return isinstance(expr, (ast.List, ast.Tuple)) and walk(expr) and float in kinds


def _number(expr: ast.AST) -> type | None:
    if isinstance(expr, ast.UnaryOp) and isinstance(expr.op, (ast.USub, ast.UAdd)):
        expr = expr.operand
    if isinstance(expr, ast.Constant) and type(expr.value) in (int, float):
        return type(expr.value)
    return None


def _np(name: str) -> str:
    return "np." + name[len("numpy.") :]


def _callee(call: ast.Call) -> str:
    return ast.unparse(call.func)
