"""GL304 row-iteration: pandas rows or array/tensor elements walked one by one in Python
(`df.iterrows()`, `df.itertuples()`, `df.apply(f, axis=1)`, `for i in range(len(a)): ... a[i]`)
where the per-row work is plain arithmetic that the library runs in one vectorised pass."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from greenlint.diagnostics import Applicability, Edit, Fix, FixUnavailable
from greenlint.rules.base import INCLUDE_TESTS, Invalid, Rule, Valid, register
from greenlint.semantic import SemanticModel

if TYPE_CHECKING:
    from greenlint.engine import Context

FRAME, SERIES, ARRAY = "DataFrame", "Series", "array"

# pandas calls that return a DataFrame (read_pickle/read_html/read_excel(sheet_name=None) can
# return other things and are left out).
_FRAME_FACTORIES = frozenset(
    {
        "pandas.DataFrame", "pandas.read_csv", "pandas.read_table", "pandas.read_parquet", "pandas.read_feather",
        "pandas.read_json", "pandas.read_sql", "pandas.read_sql_query", "pandas.read_sql_table", "pandas.read_fwf",
        "pandas.read_orc", "pandas.read_stata", "pandas.read_sas", "pandas.read_spss", "pandas.read_xml",
        "pandas.json_normalize", "pandas.merge", "pandas.get_dummies", "pandas.pivot_table", "pandas.crosstab",
    }
)
# DataFrame methods that return a DataFrame.
_FRAME_METHODS = frozenset(
    "copy dropna fillna reset_index sort_values sort_index drop drop_duplicates rename assign merge join query head "
    "tail sample astype set_index reindex filter replace round abs clip select_dtypes nlargest nsmallest "
    "infer_objects convert_dtypes ffill bfill".split()
)
_ARRAY_FACTORIES = frozenset(
    [f"numpy.{n}" for n in (
        "array asarray ascontiguousarray zeros ones empty full arange linspace logspace eye identity zeros_like "
        "ones_like empty_like full_like loadtxt genfromtxt concatenate stack vstack hstack random.rand random.randn "
        "random.random random.normal random.uniform random.randint random.standard_normal random.random_sample"
    ).split()]
    + [f"torch.{n}" for n in (
        "tensor as_tensor from_numpy zeros ones empty full arange linspace logspace eye rand randn randint randperm "
        "normal zeros_like ones_like empty_like full_like rand_like randn_like cat stack"
    ).split()]
)
_ARRAY_METHODS = frozenset(
    "astype reshape ravel flatten copy float double long int half to cuda cpu numpy squeeze unsqueeze view contiguous "
    "clone detach".split()
)
# Constructors whose first argument is the data itself (not a shape).
_FROM_DATA = frozenset({"pandas.DataFrame", "numpy.array", "numpy.asarray", "numpy.ascontiguousarray", "torch.tensor", "torch.as_tensor"})
_ANNOTATIONS = {"pandas.DataFrame": FRAME, "pandas.core.frame.DataFrame": FRAME, "numpy.ndarray": ARRAY, "torch.Tensor": ARRAY}
_INDEXERS = frozenset({"loc", "iloc", "at", "iat"})
# Calls allowed in a vectorisable body: elementwise maths with a vectorised counterpart.
_PURE_CALLS = frozenset(
    {"builtins.abs", "builtins.min", "builtins.max", "builtins.float", "builtins.int", "builtins.round", "builtins.bool",
     "pandas.isna", "pandas.notna", "pandas.isnull", "pandas.notnull"}
    | {f"math.{n}" for n in "sqrt exp log log10 log2 log1p expm1 sin cos tan tanh fabs floor ceil pow isnan isfinite hypot".split()}
    | {f"numpy.{n}" for n in "sqrt exp log log10 log2 log1p expm1 sin cos tan tanh abs absolute floor ceil power square maximum minimum clip where isnan isfinite sign hypot".split()}
)
_PURE_METHODS = frozenset({"item"})
_ACCUMULATE = frozenset({"append", "add"})
# Below this many iterations a Python loop costs nothing worth a finding.
_SMALL = 64
_LITERAL_TABLE_CELLS = 1000


@register
class RowIteration(Rule):
    """
    ## What it does
    Flags `for ... in df.iterrows()` / `df.itertuples()`, `df.apply(f, axis=1)` and
    `for i in range(len(a)): ... a[i] ...` over a pandas DataFrame, NumPy array or torch tensor
    when the per-row body is only arithmetic, comparisons and accumulation.

    ## Fix
    Display-only, except `df.apply(lambda r: <arithmetic on r["col"]>, axis=1)`, rewritten
    (unsafe) to the same arithmetic on `df["col"]`.
    """

    code = "GL304"
    name = "row-iteration"
    summary = "DataFrame rows or array elements processed one by one in Python instead of vectorised"
    impact = "high"
    evidence = "greenlint CPU pilot (20k rows, 1 thread): iterrows 436x and a Python loop over tensor elements 164x slower than the vectorised expression."
    frameworks = ("pandas", "numpy", "torch")
    fix_applicability = Applicability.UNSAFE
    options = {
        "include-tests": INCLUDE_TESTS,
    }

    VALID = [
        Valid(
            """
            import pandas as pd

            df = pd.read_csv("sales.csv")
            df["total"] = df["price"] * df["qty"]
            """,
            why="already vectorised",
        ),
        Valid(
            """
            import pandas as pd
            from PIL import Image

            df = pd.read_csv("images.csv")
            images = []
            for _, row in df.iterrows():
                images.append(Image.open(row["path"]).convert("RGB"))
            """,
            why="per-row file I/O: the loop is not what costs, and it has no vectorised form",
        ),
        Valid(
            """
            import pandas as pd

            df = pd.read_csv("prices.csv")
            level = 0.0
            smoothed = []
            for _, row in df.iterrows():
                level = 0.9 * level + 0.1 * row["price"]
                smoothed.append(level)
            """,
            why="a recurrence: each row depends on the previous result",
        ),
        Valid(
            """
            import numpy as np

            x = np.random.rand(10000)
            y = np.zeros(10000)
            for i in range(1, len(x)):
                y[i] = y[i - 1] + x[i]
            """,
            why="a recurrence on the previous element (`y[i - 1]`)",
        ),
        Valid(
            """
            def summarise(df):
                out = []
                for _, row in df.iterrows():
                    out.append(row["a"] + row["b"])
                return out
            """,
            why="`df` is a parameter of unknown type: not resolved to a pandas DataFrame",
        ),
        Valid(
            """
            import pandas as pd

            config = pd.DataFrame({"name": ["lr", "wd"], "value": [0.1, 0.01]})
            for _, row in config.iterrows():
                settings[row["name"]] = row["value"] * 2
            """,
            why="a literal table written in the code: a handful of rows",
        ),
        Valid(
            """
            import pandas as pd

            df = pd.read_csv("texts.csv")
            df["clean"] = df.apply(lambda r: r["title"].lower() + " " + r["body"], axis=1)
            """,
            why="string methods per row: not arithmetic",
        ),
        Valid(
            """
            import torch

            weights = torch.randn(100)
            for i in range(len(weights)):
                log_value(i, weights[i])
            """,
            why="calls a function per element",
        ),
        Valid(
            """
            import numpy as np

            means = np.array([0.485, 0.456, 0.406])
            stds = np.array([0.229, 0.224, 0.225])
            for c in range(3):
                image[c] = (image[c] - means[c]) / stds[c]
            """,
            why="three channels: a tiny constant range",
        ),
        Valid(
            """
            import pandas as pd

            df = pd.read_csv("a.csv")
            for _, row in df.iterrows():
                if row["score"] > best:
                    break
            """,
            why="an early exit",
        ),
        Valid(
            """
            import pandas as pd

            def test_rows():
                df = pd.read_csv("fixture.csv")
                assert [r["a"] * 2 for _, r in df.iterrows()] == [2, 4]
            """,
            filename="tests/test_rows.py",
            why="test files are skipped unless include-tests is set",
        ),
    ]
    INVALID = [
        Invalid(
            """
            import pandas as pd

            df = pd.read_csv("sales.csv")
            totals = []
            for _, row in df.iterrows():
                totals.append(row["price"] * row["qty"] * (1 - row["discount"]))
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="df.iterrows()",
        ),
        Invalid(
            """
            import pandas as pd

            frame = pd.read_parquet("events.parquet").dropna()
            big = 0
            for row in frame.itertuples():
                if row.amount > 100:
                    big += row.amount
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="itertuples",
        ),
        Invalid(
            """
            import pandas as pd

            df = pd.read_csv("sales.csv")
            df["total"] = df.apply(lambda r: r["price"] * r["qty"] + r["tax"], axis=1)
            """,
            fixed="""
            import pandas as pd

            df = pd.read_csv("sales.csv")
            df["total"] = df["price"] * df["qty"] + df["tax"]
            """,
            applicability=Applicability.UNSAFE,
            changes_numerics=True,
            message="apply",
        ),
        Invalid(
            """
            import pandas as pd

            df = pd.read_csv("sales.csv")
            mean_margin = df.apply(lambda row: (row["price"] - row["cost"]) / row["price"], axis="columns").mean()
            """,
            fixed="""
            import pandas as pd

            df = pd.read_csv("sales.csv")
            mean_margin = ((df["price"] - df["cost"]) / df["price"]).mean()
            """,
            applicability=Applicability.UNSAFE,
        ),
        Invalid(
            """
            import numpy as np
            import pandas as pd

            def flag(row):
                return np.where(row["x"] > 0, row["x"], 0.0) + abs(row["y"])

            df = pd.DataFrame(np.random.rand(1000, 2), columns=["x", "y"])
            df["z"] = df.apply(flag, axis=1)
            """,
            applicability=Applicability.DISPLAY_ONLY,
        ),
        Invalid(
            """
            import torch

            t = torch.randn(100_000)
            total = 0.0
            for i in range(t.shape[0]):
                total += float(t[i]) ** 2
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="`t[i]`",
        ),
        Invalid(
            """
            import numpy as np

            a = np.random.rand(5000)
            b = np.random.rand(5000)
            out = np.empty(5000)
            for i in range(len(a)):
                out[i] = a[i] * b[i] + 1.0
            dot = sum(a[i] * b[i] for i in range(len(a)))
            """,
            count=2,
            applicability=Applicability.DISPLAY_ONLY,
        ),
        Invalid(
            """
            import pandas as pd

            df = pd.read_csv("scores.csv")
            for i in range(len(df)):
                df.loc[i, "scaled"] = df.loc[i, "score"] / 100
            """,
            applicability=Applicability.DISPLAY_ONLY,
        ),
        Invalid(
            """
            import pandas as pd

            def margins(df: pd.DataFrame):
                return [r["price"] - r["cost"] for _, r in df.iterrows()]
            """,
            applicability=Applicability.DISPLAY_ONLY,
        ),
    ]

    def check(self, ctx: Context) -> None:
        semantic = ctx.semantic
        kinds = _Kinds(semantic)
        for node in semantic.nodes(ast.Call):
            func = node.func
            if not isinstance(func, ast.Attribute):
                continue
            if func.attr in ("iterrows", "itertuples") and kinds.of(func.value) == FRAME:
                self._rows(ctx, kinds, node)
            elif func.attr == "apply" and _row_axis(node) and kinds.of(func.value) == FRAME:
                self._apply(ctx, kinds, node)
        for loop_type in (ast.For, ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp):
            for loop in semantic.nodes(loop_type):
                self._elements(ctx, kinds, loop)

    # ------------------------------------------------------------------ iterrows / itertuples
    def _rows(self, ctx: Context, kinds: _Kinds, call: ast.Call) -> None:
        semantic = ctx.semantic
        loop, generator = _loop_over(semantic, call)
        if loop is None:
            return
        target = loop.target if generator is None else generator.target
        method = call.func.attr
        if method == "iterrows":
            if not (isinstance(target, ast.Tuple) and len(target.elts) == 2 and all(isinstance(e, ast.Name) for e in target.elts)):
                return
            index, row = target.elts[0].id, target.elts[1].id
            row_names, index_names = {row}, {index}
        else:
            if not isinstance(target, ast.Name):
                return
            row_names, index_names = {target.id}, set()
        checker = _Body(kinds, row_names | index_names, index_names)
        used = {n for n in row_names | index_names if n != "_"}
        if not checker.loop_is_vectorisable(loop, generator) or not checker.reads_any(loop, generator, used):
            return
        receiver = _shown(call.func.value)
        extra = "a namedtuple" if method == "itertuples" else "a pandas Series (with a dtype conversion)"
        ctx.report(
            call,
            f"`{receiver}.{method}()` builds {extra} for every row and runs the loop body in Python once per row; "
            "the body is column arithmetic that pandas can run in one vectorised pass",
            Fix(
                Applicability.DISPLAY_ONLY,
                f"Compute on whole columns (`{receiver}[\"a\"] * {receiver}[\"b\"]`, `np.where(...)`, `.sum()`, `.tolist()`) instead of row by row",
            ),
        )

    # ------------------------------------------------------------------ apply(axis=1)
    def _apply(self, ctx: Context, kinds: _Kinds, call: ast.Call) -> None:
        semantic = ctx.semantic
        if not call.args:
            return
        function = call.args[0]
        if isinstance(function, ast.Lambda):
            params = _plain_params(function)
            if params is None or len(params) != 1:
                return
            checker = _Body(kinds, set(params), set())
            if not checker.expression(function.body) or not checker.reads(function.body, params[0]):
                return
        else:
            definition = _local_def(semantic, function)
            if definition is None:
                return
            params = _plain_params(definition)
            if params is None or len(params) != 1:
                return
            checker = _Body(kinds, set(params), set())
            if not checker.function_is_vectorisable(definition) or not any(checker.reads(s, params[0]) for s in definition.body):
                return
        receiver = _shown(call.func.value)
        message = (
            f"`{receiver}.apply(..., axis=1)` calls a Python function once per row, on a Series built for that row; "
            "the function is column arithmetic that pandas can run on whole columns in one pass"
        )
        fix = _apply_fix(ctx, call)
        ctx.report(call, message, fix or Fix(Applicability.DISPLAY_ONLY, "Write the arithmetic on whole columns (`df[\"a\"] + df[\"b\"]`)"))

    # ------------------------------------------------------------------ element loops
    def _elements(self, ctx: Context, kinds: _Kinds, loop: ast.AST) -> None:
        checker = _element_loop(kinds, loop)
        if checker is None:
            return
        statement = isinstance(loop, ast.For)
        outer = ctx.semantic.enclosing_loops(loop)[:1]
        if statement and outer and isinstance(outer[0], ast.For) and _element_loop(kinds, outer[0]) is not None:
            return  # reported with the outer loop
        iterable = loop.iter if statement else loop.generators[0].iter
        shown = ", ".join(f"`{_shown(s)}`" for s in checker.indexed[:2])
        what = " / ".join(dict.fromkeys(_kind_phrase(k) for k in checker.indexed_kinds))
        ctx.report(
            iterable,
            f"Python loop over single elements ({shown}, {what}): every element is boxed into a Python or 0-d "
            "object and the arithmetic runs in the interpreter (on a CUDA tensor, each `float()`/`.item()` also "
            "waits for the GPU); the body is elementwise arithmetic that one vectorised expression does",
            Fix(Applicability.DISPLAY_ONLY, "Write the arithmetic on whole arrays (`a * b + 1`, `(t * t).sum()`, `np.where(...)`)"),
        )


def _element_loop(kinds: _Kinds, loop: ast.AST) -> _Body | None:
    """The body checker of a vectorisable `for i in range(...)` loop (or comprehension) that
    indexes resolved arrays by `i`; None otherwise. Memoised per loop."""
    cache = kinds.semantic.rule_cache.setdefault("GL304", {})
    if loop in cache:
        return cache[loop]
    cache[loop] = None
    generator = loop.generators[0] if not isinstance(loop, ast.For) else None
    if generator is not None and len(loop.generators) != 1:
        return None
    target = loop.target if generator is None else generator.target
    iterable = loop.iter if generator is None else generator.iter
    if not (isinstance(target, ast.Name) and _is_range(kinds.semantic, iterable)):
        return None
    checker = _Body(kinds, {target.id}, {target.id}, elements=True)
    if not checker.loop_is_vectorisable(loop, generator) or not checker.indexed:
        return None
    cache[loop] = checker
    return checker


def _kind_phrase(kind: str) -> str:
    return {ARRAY: "a NumPy array or torch tensor", FRAME: "a pandas DataFrame", SERIES: "a pandas Series"}[kind]


def _shown(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 30 else text[:27] + "..."


def _row_axis(call: ast.Call) -> bool:
    axis = next((k.value for k in call.keywords if k.arg == "axis"), None)
    if axis is None and len(call.args) >= 2:
        axis = call.args[1]
    return isinstance(axis, ast.Constant) and axis.value in (1, "columns") and not isinstance(axis.value, bool)


def _plain_params(function: ast.AST) -> list[str] | None:
    args = function.args
    if args.vararg or args.kwarg or args.kwonlyargs or args.posonlyargs or args.defaults:
        return None
    return [a.arg for a in args.args]


def _local_def(semantic: SemanticModel, name: ast.AST) -> ast.FunctionDef | None:
    if not isinstance(name, ast.Name):
        return None
    found = semantic.lookup(name.id, name)
    if found is None or found[1] != "local":
        return None
    values = found[0].bindings[name.id]
    if len(values) == 1 and isinstance(values[0], ast.FunctionDef) and not values[0].decorator_list:
        return values[0]
    return None


def _loop_over(semantic: SemanticModel, call: ast.Call) -> tuple[ast.AST | None, ast.comprehension | None]:
    """The `for` statement or comprehension whose iterable is `call`."""
    parent = semantic.parent(call)
    if isinstance(parent, ast.For) and parent.iter is call:
        return parent, None
    if isinstance(parent, ast.comprehension) and parent.iter is call:
        owner = semantic.parent(parent)
        if len(owner.generators) == 1:
            return owner, parent
    return None, None


def _is_range(semantic: SemanticModel, node: ast.AST) -> bool:
    """`range(...)` with a count that is not a small literal."""
    if not (isinstance(node, ast.Call) and semantic.call_name(node) == "builtins.range" and 1 <= len(node.args) <= 3 and not node.keywords):
        return False
    stop = node.args[0] if len(node.args) == 1 else node.args[1]
    start = node.args[0] if len(node.args) >= 2 else ast.Constant(0)
    if isinstance(stop, ast.Constant) and isinstance(start, ast.Constant):
        return isinstance(stop.value, int) and isinstance(start.value, int) and stop.value - start.value > _SMALL
    return True


# ---------------------------------------------------------------------------- kinds
class _Kinds:
    """What a local expression is: a pandas DataFrame or Series, or a NumPy array / torch
    tensor, resolved from pandas/NumPy/torch constructors through local assignments; None when
    unknown (rules then stay silent)."""

    def __init__(self, semantic: SemanticModel) -> None:
        self.semantic = semantic
        self._names: dict[tuple[int, str], str | None] = {}

    def of(self, expr: ast.AST) -> str | None:
        return self._of(expr, 0)

    def _of(self, expr: ast.AST, depth: int) -> str | None:
        if depth > 6:
            return None
        semantic = self.semantic
        if isinstance(expr, ast.Name):
            return self._name(expr, depth)
        if isinstance(expr, ast.Call):
            name = semantic.call_name(expr)
            if name in _FRAME_FACTORIES:
                return None if name in _FROM_DATA and _literal_table(expr) else FRAME
            if name in _ARRAY_FACTORIES:
                return None if name in _FROM_DATA and _literal_table(expr) else ARRAY
            func = expr.func
            if isinstance(func, ast.Attribute) and name is None:
                inner = self._of(func.value, depth + 1)
                if inner == FRAME and func.attr in _FRAME_METHODS:
                    return FRAME
                if inner == ARRAY and func.attr in _ARRAY_METHODS:
                    return ARRAY
            return None
        if isinstance(expr, ast.Subscript):
            inner = self._of(expr.value, depth + 1)
            index = expr.slice
            if inner == FRAME:
                if isinstance(index, (ast.List, ast.Compare, ast.BoolOp)):
                    return FRAME
                if isinstance(index, ast.Constant) and isinstance(index.value, str):
                    return SERIES
            return None
        return None

    def _name(self, expr: ast.Name, depth: int) -> str | None:
        semantic = self.semantic
        found = semantic.lookup(expr.id, expr)
        if found is None or found[1] != "local":
            return None
        scope = found[0]
        key = (id(scope), expr.id)
        if key in self._names:
            return self._names[key]
        self._names[key] = None  # recursion guard: `df = df.dropna()`
        values = scope.bindings[expr.id]
        kinds = set()
        for value in values:
            if value is None:
                kinds.add(self._parameter(scope.node, expr.id))
            elif isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and _root(value.func.value) == expr.id:
                continue  # `df = df.dropna()`: the same thing, refined
            else:
                kinds.add(self._of(value, depth + 1))
        result = kinds.pop() if len(kinds) == 1 else None
        self._names[key] = result
        return result

    def _parameter(self, function: ast.AST, name: str) -> str | None:
        """A parameter annotated `pd.DataFrame`, `np.ndarray` or `torch.Tensor`."""
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return None
        args = function.args
        for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs):
            if arg.arg == name and arg.annotation is not None:
                return _ANNOTATIONS.get(self.semantic.qualified_name(arg.annotation) or "")
        return None


def _root(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _literal_table(call: ast.Call) -> bool:
    """`pd.DataFrame({"a": [1, 2]})`, `np.array([0.5, 0.2])`: data written out in the code,
    hence small."""
    if not call.args:
        return False
    data = call.args[0]
    if not isinstance(data, (ast.Dict, ast.List, ast.Tuple)):
        return False
    leaves = 0
    for node in ast.walk(data):
        if isinstance(node, (ast.Dict, ast.List, ast.Tuple)):
            continue
        if not isinstance(node, (ast.Constant, ast.UnaryOp, ast.USub, ast.UAdd, ast.Load)):
            return False
        leaves += isinstance(node, ast.Constant)
    return leaves <= _LITERAL_TABLE_CELLS


# ---------------------------------------------------------------------------- bodies
class _Body:
    """Whether a loop body (or an applied function) is vectorisable: only assignments,
    accumulation and `if`s over arithmetic, comparisons and elementwise maths, no recurrence
    between iterations, and (for element loops) every subscript by the loop index on a
    resolved array, tensor or DataFrame indexer."""

    def __init__(self, kinds: _Kinds, loop_names: set[str], index_names: set[str], elements: bool = False) -> None:
        self.kinds = kinds
        self.semantic = kinds.semantic
        self.loop_names = set(loop_names)
        self.index_names = set(index_names)
        self.elements = elements
        self.indexed: list[ast.Subscript] = []  # one subscript per indexed container
        self._body: list[ast.AST] = []  # the statements (or comprehension) being checked
        self._assigned: set[str] | None = None  # names the loop body assigns, on first use
        self.indexed_kinds: list[str] = []

    @property
    def assigned(self) -> set[str]:
        """Names the loop body assigns (walked only when a subscript needs it)."""
        if self._assigned is None:
            self._assigned = {n.id for s in self._body for n in ast.walk(s) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        return self._assigned

    def _arithmetic(self, body: list[ast.AST]) -> bool:
        """Whether the body computes anything (not just copies elements)."""
        return any(
            isinstance(n, (ast.BinOp, ast.AugAssign, ast.Compare)) or (isinstance(n, ast.UnaryOp) and isinstance(n.op, ast.USub))
            or (isinstance(n, ast.Call) and self.semantic.qualified_name(n.func) in _PURE_CALLS)
            for s in body
            for n in ast.walk(s)
        )

    # -- entry points
    def loop_is_vectorisable(self, loop: ast.AST, generator: ast.comprehension | None) -> bool:
        body = [loop] if generator is not None else loop.body
        self._body, self._assigned = body, None
        # (The arithmetic walk matters only for element loops; it stays before the structural
        # test, which resolves kinds through a memo whose answers depend on the order asked.)
        if self.elements and not self._arithmetic(body):
            return False  # `[t[i] for i in range(n)]` splits a tensor; nothing is computed per element
        if generator is not None:
            parts = [*generator.ifs, *((loop.key, loop.value) if isinstance(loop, ast.DictComp) else (loop.elt,))]
            return not generator.is_async and all(self.expression(p) for p in parts)
        if loop.orelse or isinstance(loop, ast.AsyncFor):
            return False
        return self.block(loop.body, top=True) and self._no_recurrence(loop.body)

    def function_is_vectorisable(self, function: ast.FunctionDef) -> bool:
        body = function.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body = body[1:]  # docstring
        if not body or not isinstance(body[-1], ast.Return) or body[-1].value is None:
            return False
        return all(isinstance(s, (ast.Assign, ast.Return)) for s in body) and self.block(body[:-1], top=False) and self.expression(body[-1].value)

    def reads(self, node: ast.AST, name: str) -> bool:
        return any(isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load) for n in ast.walk(node))

    def reads_any(self, loop: ast.AST, generator: ast.comprehension | None, names: set[str]) -> bool:
        parts = [loop] if generator is None else [loop.elt if not isinstance(loop, ast.DictComp) else loop.value, *generator.ifs]
        body = loop.body if generator is None else parts
        return any(self.reads(part, name) for part in body for name in names)

    # -- statements
    def block(self, statements: list[ast.stmt], top: bool) -> bool:
        return all(self.statement(s) for s in statements)

    def statement(self, stmt: ast.stmt) -> bool:
        if isinstance(stmt, (ast.Pass, ast.Continue)):
            return True
        if isinstance(stmt, ast.Assign):
            return all(self.target(t) for t in stmt.targets) and self.expression(stmt.value)
        if isinstance(stmt, ast.AugAssign):
            return self.target(stmt.target) and self.expression(stmt.value)
        if isinstance(stmt, ast.AnnAssign):
            return stmt.value is not None and self.target(stmt.target) and self.expression(stmt.value)
        if isinstance(stmt, ast.If):
            return self.expression(stmt.test) and self.block(stmt.body, False) and self.block(stmt.orelse, False)
        if isinstance(stmt, ast.Expr):
            call = stmt.value
            return (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Attribute)
                and call.func.attr in _ACCUMULATE
                and isinstance(call.func.value, ast.Name)
                and call.func.value.id not in self.loop_names
                and len(call.args) == 1
                and not call.keywords
                and self.expression(call.args[0])
            )
        if isinstance(stmt, ast.For) and self.elements and isinstance(stmt.target, ast.Name) and _is_range(self.semantic, stmt.iter):
            if stmt.orelse:
                return False
            self.loop_names.add(stmt.target.id)
            self.index_names.add(stmt.target.id)
            return self.block(stmt.body, False) and self._no_recurrence(stmt.body)
        return False

    def target(self, target: ast.AST) -> bool:
        if isinstance(target, ast.Name):
            return target.id not in self.loop_names
        if isinstance(target, ast.Tuple):
            return all(self.target(e) for e in target.elts)
        if isinstance(target, ast.Subscript):
            if not self.subscript(target):
                return False
            root = _root(target.value)
            return root is not None and root not in self.loop_names
        return False

    # -- expressions
    def expression(self, node: ast.AST) -> bool:
        if isinstance(node, ast.Constant):
            return not isinstance(node.value, str) or len(node.value) < 200
        if isinstance(node, ast.Name):
            return True
        if isinstance(node, ast.Attribute):
            return self.expression(node.value)
        if isinstance(node, ast.Subscript):
            return self.subscript(node)
        if isinstance(node, ast.BinOp):
            return self.expression(node.left) and self.expression(node.right)
        if isinstance(node, ast.UnaryOp):
            return self.expression(node.operand)
        if isinstance(node, ast.BoolOp):
            return all(self.expression(v) for v in node.values)
        if isinstance(node, ast.Compare):
            return self.expression(node.left) and all(self.expression(c) for c in node.comparators)
        if isinstance(node, ast.IfExp):
            return self.expression(node.test) and self.expression(node.body) and self.expression(node.orelse)
        if isinstance(node, (ast.Tuple, ast.List)):
            return all(not isinstance(e, ast.Starred) and self.expression(e) for e in node.elts)
        if isinstance(node, ast.Dict):
            return all(k is not None and self.expression(k) for k in node.keys) and all(self.expression(v) for v in node.values)
        if isinstance(node, ast.Call):
            if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
                return False
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in _PURE_METHODS and not node.args:
                return self.expression(func.value)
            name = self.semantic.qualified_name(func)
            return name in _PURE_CALLS and all(self.expression(a) for a in node.args)
        return False

    def subscript(self, node: ast.Subscript) -> bool:
        index = node.slice
        uses_index = any(isinstance(n, ast.Name) and n.id in self.index_names for n in ast.walk(index))
        if not uses_index:
            return self.expression(node.value) and (isinstance(index, ast.Slice) or self.expression(index))
        # Indexed by the loop: only the index itself (no `i - 1`), alone or in a tuple.
        parts = index.elts if isinstance(index, ast.Tuple) else [index]
        for part in parts:
            if isinstance(part, ast.Name) and part.id in self.index_names:
                continue
            if isinstance(part, ast.Slice) or (isinstance(part, ast.Constant) and part.value is Ellipsis):
                if self.elements:
                    return False  # a row or a slice per iteration, not one element
                continue
            if isinstance(part, ast.Constant) or (isinstance(part, ast.Name) and part.id not in self.loop_names | self.assigned):
                continue
            return False  # a computed index: `i - 1`, or a name set in the loop
        if not self.elements:
            return self.expression(node.value)
        container = node.value
        kind = self._indexed_kind(container)
        if kind is None:
            return False
        if ast.unparse(container) not in {ast.unparse(c.value) for c in self.indexed}:
            self.indexed.append(node)
            self.indexed_kinds.append(kind)
        return True

    def _indexed_kind(self, container: ast.AST) -> str | None:
        if isinstance(container, ast.Subscript):  # `o[i][j]`, `df.iloc[i]["a"]`
            index = container.slice
            if isinstance(index, ast.Name) and index.id in self.index_names:
                return self._indexed_kind(container.value)
            return None
        if isinstance(container, ast.Attribute) and container.attr in _INDEXERS:
            return FRAME if self.kinds.of(container.value) == FRAME else None
        kind = self.kinds.of(container)
        return kind if kind in (ARRAY, SERIES) else None

    # -- dependencies between iterations
    def _no_recurrence(self, body: list[ast.stmt]) -> bool:
        """No name carries a value from one iteration to the next except by reduction
        (`s += x`, `s = s + x`, `m = max(m, x)`)."""
        assigned = {n.id for s in body for n in ast.walk(s) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        assigned -= self.loop_names
        if not assigned:
            return True
        done: set[str] = set()
        for stmt in body:
            reduced = _reduction_target(stmt)
            for node in ast.walk(stmt):
                carried = isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in assigned and node.id not in done
                if carried and node is not reduced:
                    return False
            if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                done.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store))
        return True


def _reduction_target(stmt: ast.stmt) -> ast.Name | None:
    """The read of `s` in `s = s + x`, `s = max(s, x)` (x not reading s); AugAssign reads
    nothing of its target in the ast, so it needs no exemption."""
    if isinstance(stmt, ast.AugAssign):
        return None
    if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
        return None
    name = stmt.targets[0].id
    value = stmt.value
    if isinstance(value, ast.BinOp) and isinstance(value.op, (ast.Add, ast.Mult, ast.BitOr, ast.BitAnd)):
        left, right = value.left, value.right
    elif isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id in ("max", "min") and len(value.args) == 2:
        left, right = value.args
    else:
        return None
    for mine, other in ((left, right), (right, left)):
        if isinstance(mine, ast.Name) and mine.id == name and not any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(other)):
            return mine
    return None


# ---------------------------------------------------------------------------- the apply fix
_SAFE_CONTEXT = (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Return, ast.keyword)


def _apply_fix(ctx: Context, call: ast.Call) -> Fix | None:
    """`df.apply(lambda r: r["a"] * r["b"] + 1, axis=1)` -> `df["a"] * df["b"] + 1`: only for a
    named frame, a one-parameter lambda over `r["<column>"]` and + - * / on numbers."""
    receiver = call.func.value
    if not isinstance(receiver, ast.Name) or len(call.args) != 1 or len(call.keywords) != 1:
        return None
    function = call.args[0]
    if not isinstance(function, ast.Lambda):
        return None
    param = function.args.args[0].arg
    body = function.body
    columns: list[ast.Name] = []
    has_operator = False
    for node in ast.walk(body):
        if isinstance(node, ast.BinOp):
            if not isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
                return None
            has_operator = True
        elif isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.USub, ast.UAdd)):
                return None
        elif isinstance(node, ast.Subscript):
            value, index = node.value, node.slice
            if not (isinstance(value, ast.Name) and value.id == param and isinstance(index, ast.Constant) and isinstance(index.value, str)):
                return None
            columns.append(value)
        elif isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, float, str)):
                return None
        elif isinstance(node, ast.Name):
            if node.id != param:
                return None
        elif not isinstance(node, (ast.Load, ast.operator, ast.unaryop)):
            return None
    if not columns or not has_operator:
        return None
    # Every use of the parameter is one of those subscripts.
    if sum(isinstance(n, ast.Name) and n.id == param for n in ast.walk(body)) != len(columns):
        return None

    def build() -> list[Edit]:
        text, lines = ctx.text, ctx.lines
        start, end = lines.node_range(call)
        body_start, body_end = lines.node_range(body)
        # The body's own parentheses, if any, stay with it.
        dropped = text[start:body_start] + text[body_end:end]
        if "#" in dropped:
            raise FixUnavailable("a comment sits in the part of the call that would be removed")
        body_text = text[body_start:body_end]
        name = receiver.id
        pieces, cursor = [], body_start
        for column in sorted(columns, key=lambda n: lines.node_range(n)[0]):
            column_start, column_end = lines.node_range(column)
            pieces.append(text[cursor:column_start])
            pieces.append(name)
            cursor = column_end
        pieces.append(text[cursor:body_end])
        expression = "".join(pieces)
        parent = ctx.semantic.parent(call)
        bare = isinstance(parent, _SAFE_CONTEXT) and "\n" not in body_text and "\r" not in body_text
        if not bare:
            expression = f"({expression})"
        return [Edit(start, end, expression)]

    return Fix(
        Applicability.UNSAFE,
        f"Compute on whole columns: `{_shown(receiver)}[...]` arithmetic instead of `apply(axis=1)` (dtypes can differ: "
        "apply upcasts each row to one common dtype)",
        changes_numerics=True,
        build=build,
    )
