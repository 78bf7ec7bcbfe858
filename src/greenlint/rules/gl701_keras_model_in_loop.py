"""GL701 keras-model-in-loop: Keras/TF models or `tf.function`s built inside a loop without
`clear_session()`, and `tf.function`s called with a new Python number on every iteration (one
retrace per call)."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from greenlint.diagnostics import Applicability, Fix
from greenlint.rules.base import INCLUDE_TESTS, Invalid, Rule, Valid, register
from greenlint.rules.gl504_no_early_stopping import (
    is_keras_model_source,
    keras_name,
)
from greenlint.semantic import SemanticModel

if TYPE_CHECKING:
    from greenlint.engine import Context

_TF_FUNCTION = frozenset({"tensorflow.function", "tensorflow.compat.v2.function"})
_CLEARING = frozenset({"clear_session", "reset_default_graph"})
_STATEMENT_LOOPS = (ast.For, ast.AsyncFor, ast.While)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_TO_TENSOR = frozenset({"tensorflow.constant", "tensorflow.convert_to_tensor", "tensorflow.Variable", "tensorflow.cast"})


@register
class KerasModelInLoop(Rule):
    """
    ## What it does
    Flags a Keras model built or loaded on every iteration of a loop that never calls
    `keras.backend.clear_session()`, a `tf.function` created inside a loop, and a
    `tf.function` called in a loop with a Python number that changes every iteration.

    ## Fix
    None automatic (display-only): where to clear the session, or how to hoist the function,
    depends on what the loop keeps.
    """

    code = "GL701"
    name = "keras-model-in-loop"
    summary = "Keras model or tf.function rebuilt or retraced on every loop iteration"
    impact = "medium"
    evidence = "TF issue #33009: memory grows without bound in a predict loop (>10 GB in 10 min); Keras docs: global state grows with every model built in a loop without clear_session()."
    frameworks = ("tensorflow", "keras", "tf_keras")
    # `tf.function`, or a Keras model source: Sequential/Model (also as a local class's base),
    # load_model, clone_model, model_from_json, a keras.applications constructor.
    requires = ("function", "Model", "Sequential", "load_model", "clone_model", "model_from_json", "applications")
    fix_applicability = Applicability.DISPLAY_ONLY
    options = {"include-tests": INCLUDE_TESTS}

    VALID = [
        Valid(
            """
            import keras

            for fold, (train, test) in enumerate(folds):
                keras.backend.clear_session()
                model = keras.Sequential([keras.layers.Dense(10), keras.layers.Dense(1)])
                model.compile("adam", "mse")
                model.fit(x[train], y[train], epochs=5)
            """,
            why="clear_session() at the start of each iteration",
        ),
        Valid(
            """
            import tensorflow as tf
            from tensorflow.keras import backend as K

            def build(units):
                K.clear_session()
                return tf.keras.Sequential([tf.keras.layers.Dense(units)])

            for units in [8, 16, 32]:
                build(units).fit(x, y)
            """,
            why="the builder clears the session itself",
        ),
        Valid(
            """
            import keras

            ensemble = []
            for seed in range(5):
                member = keras.Sequential([keras.layers.Dense(1)])
                member.compile("adam", "mse")
                member.fit(x, y, epochs=3)
                ensemble.append(member)
            """,
            why="an ensemble: every model is kept, so clearing the session would not free them",
        ),
        Valid(
            """
            import keras

            models = [keras.Sequential([keras.layers.Dense(n)]) for n in (8, 16, 32)]
            """,
            why="a comprehension that keeps every model it builds",
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def step(x, y):
                return model.train_on_batch(x, y)

            for x, y in dataset:
                step(x, y)
            """,
            why="one tf.function, defined once, called with tensors",
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function(input_signature=[tf.TensorSpec([], tf.int64)])
            def scale(i):
                return tf.cast(i, tf.float32) * 0.5

            for i in range(1000):
                scale(i)
            """,
            why="an input signature converts the Python int to a tensor: one trace",
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def scale(x, i):
                return x * tf.cast(i, tf.float32)

            for i in range(1000):
                scale(x, tf.constant(i))
            """,
            why="the loop passes a tensor",
        ),
        Valid(
            """
            import tensorflow as tf

            compiled = {}
            for name, fn in metrics.items():
                compiled[name] = tf.function(fn)
            """,
            why="a different function each iteration, each kept and traced once",
        ),
        Valid(
            """
            import torch

            for fold in range(5):
                model = torch.nn.Linear(4, 1)
                train(model)
            """,
            why="not Keras",
        ),
    ]
    INVALID = [
        Invalid(
            """
            from tensorflow import keras

            scores = []
            for fold, (train, test) in enumerate(kfold.split(x)):
                model = keras.Sequential([keras.layers.Dense(64, activation="relu"), keras.layers.Dense(1)])
                model.compile(optimizer="adam", loss="mse")
                model.fit(x[train], y[train], epochs=20)
                scores.append(model.evaluate(x[test], y[test]))
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="clear_session",
        ),
        Invalid(
            """
            import tensorflow as tf

            def build_model(units):
                model = tf.keras.Sequential([tf.keras.layers.Dense(units), tf.keras.layers.Dense(1)])
                model.compile("adam", "mse")
                return model

            for units in [16, 32, 64, 128]:
                model = build_model(units)
                model.fit(x, y, epochs=10)
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="`build_model(units)`",
        ),
        Invalid(
            """
            import tensorflow as tf

            while True:
                request = queue.get()
                model = tf.keras.models.load_model("model.keras")
                request.reply(model.predict(request.x))
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="load_model",
        ),
        Invalid(
            """
            import tensorflow as tf

            for batch in dataset:
                @tf.function
                def step(x):
                    return model(x, training=False)
                outputs.append(step(batch))
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="traced again",
        ),
        Invalid(
            """
            import tensorflow as tf

            for x in xs:
                f = tf.function(lambda t: model(t))
                f(x)
            """,
            applicability=Applicability.DISPLAY_ONLY,
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function(jit_compile=True)
            def train_step(x, y, step):
                with tf.GradientTape() as tape:
                    loss = loss_fn(y, model(x)) * (0.99 ** step)
                return tape.gradient(loss, model.trainable_variables)

            for step in range(10_000):
                x, y = next(batches)
                train_step(x, y, step)
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="retraces",
        ),
    ]

    def check(self, ctx: Context) -> None:
        semantic = ctx.semantic
        tf_functions = _tf_functions(semantic)
        # Names a call below can be spelled with: imported as a tf.function or Keras model source
        # (the last part of a qualified name is the imported name), defined here, or tf.functions.
        names = {local for scope in semantic.scopes.values() for local, target in scope.imports.items() if _may_build(target.rsplit(".", 1)[-1])}
        names.update(d.name for kind in (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef) for d in semantic.nodes(kind))
        for call in semantic.nodes(ast.Call):
            func = call.func
            if not (_may_build(func.attr) if isinstance(func, ast.Attribute) else isinstance(func, ast.Name) and func.id in names):
                continue  # no tf.function, model source or local function: nothing to check
            if not semantic.enclosing_loops(call):
                continue  # each check below needs a loop around the call
            name = keras_name(semantic.call_name(call))
            if name in _TF_FUNCTION:
                self._tf_function_call_in_loop(ctx, call)
                continue
            if is_keras_model_source(semantic, call):
                self._model_in_loop(ctx, call)
            elif isinstance(call.func, ast.Name) and call.func.id in tf_functions:
                self._retrace(ctx, call, tf_functions[call.func.id])
        for definition in (*semantic.nodes(ast.FunctionDef), *semantic.nodes(ast.AsyncFunctionDef)):
            decorator = next((d for d in definition.decorator_list if _is_tf_function(semantic, d)), None)
            if decorator is None:
                continue
            loop = _statement_loop_around(semantic, definition)
            if loop is not None and not _stored(loop, {definition.name}):
                ctx.report(
                    definition.decorator_list[0],
                    f"`@tf.function` on `{definition.name}` inside the loop at line {loop.lineno} creates a new function "
                    "on every iteration, and each one is traced again (a full graph build) on its first call",
                    Fix(Applicability.DISPLAY_ONLY, f"Define `{definition.name}` once, before the loop, and pass what changes as tensor arguments"),
                )

    def _model_in_loop(self, ctx: Context, call: ast.Call) -> None:
        semantic = ctx.semantic
        loop = _loop_around(semantic, call)
        if loop is None or isinstance(loop, _COMPREHENSIONS):
            return  # a comprehension keeps every model it builds
        if _clears(semantic, loop) or _callee_clears(semantic, call) or _kept(semantic, call, loop):
            return
        spelled = ast.unparse(call)
        spelled = spelled if len(spelled) <= 50 else ast.unparse(call.func) + "(...)"
        verb = "loads" if "load" in ast.unparse(call.func).lower() else "builds"
        ctx.report(
            call,
            f"`{spelled}` {verb} a Keras model on every iteration of the loop at line {loop.lineno}, which never calls "
            "`keras.backend.clear_session()`: Keras's global state keeps growing with every model, slowing each build "
            "and holding memory",
            Fix(Applicability.DISPLAY_ONLY, "Call `keras.backend.clear_session()` at the start of each iteration (after the previous model is no longer needed)"),
        )

    def _tf_function_call_in_loop(self, ctx: Context, call: ast.Call) -> None:
        semantic = ctx.semantic
        parent = semantic.parent(call)
        if isinstance(parent, (ast.FunctionDef, ast.AsyncFunctionDef)) and call in parent.decorator_list:
            return  # `@tf.function(...)` decorators are handled with their definition
        loop = _statement_loop_around(semantic, call)
        if loop is None or not call.args or _kept(semantic, call, loop):
            return
        wrapped = call.args[0]
        if not isinstance(wrapped, ast.Lambda) and not semantic.is_loop_invariant(wrapped, loop):
            return  # a different function each iteration (`for fn in fns: tf.function(fn)`): one trace each
        ctx.report(
            call,
            f"`{ast.unparse(call.func)}(...)` inside the loop at line {loop.lineno} wraps a new function on every iteration; "
            "each one is traced again (a full graph build) on its first call",
            Fix(Applicability.DISPLAY_ONLY, "Create the `tf.function` once, before the loop"),
        )

    def _retrace(self, ctx: Context, call: ast.Call, definition: ast.AST) -> None:
        semantic = ctx.semantic
        loop = _statement_loop_around(semantic, call)
        if not isinstance(loop, (ast.For, ast.AsyncFor)):
            return
        counters = _counter_names(semantic, loop)
        if not counters:
            return
        parameters = _parameter_names(definition)
        for index, argument in enumerate(call.args):
            if isinstance(argument, ast.Starred):
                return
            if _python_number_of(semantic, argument, counters):
                shown = parameters[index] if index < len(parameters) else f"argument {index + 1}"
                self._report_retrace(ctx, call, loop, shown, argument)
                return
        for keyword in call.keywords:
            if keyword.arg is not None and _python_number_of(semantic, keyword.value, counters):
                self._report_retrace(ctx, call, loop, keyword.arg, keyword.value)
                return

    def _report_retrace(self, ctx: Context, call: ast.Call, loop: ast.AST, parameter: str, argument: ast.AST) -> None:
        ctx.report(
            call,
            f"`{ast.unparse(call.func)}` is a `tf.function` called with the Python number `{ast.unparse(argument)}` for "
            f"`{parameter}`, a new value on every iteration of the loop at line {loop.lineno}: each new value retraces the "
            "function (a full graph build per call)",
            Fix(Applicability.DISPLAY_ONLY, f"Pass `tf.constant({ast.unparse(argument)})` (or give the function an `input_signature`)"),
        )


# ---------------------------------------------------------------------------- helpers
# The last names of tf.function and of every Keras model source is_keras_model_source knows by
# name (keras.applications constructors are capitalised).
_BUILDER_LAST = frozenset({"function", "load_model", "clone_model", "model_from_json"})


def _may_build(last: str) -> bool:
    return last in _BUILDER_LAST or last[:1].isupper()


def _is_tf_function(semantic: SemanticModel, decorator: ast.AST) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return keras_name(semantic.qualified_name(target)) in _TF_FUNCTION


def _tf_functions(semantic: SemanticModel) -> dict[str, ast.AST]:
    """Module-level functions decorated with a plain `@tf.function` (no input signature, no
    type-hint following), by name."""
    found: dict[str, ast.AST] = {}
    for definition in semantic.module_scope.node.body:
        if not isinstance(definition, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for decorator in definition.decorator_list:
            if not _is_tf_function(semantic, decorator):
                continue
            keywords = {k.arg for k in decorator.keywords} if isinstance(decorator, ast.Call) else set()
            if keywords & {"input_signature", "experimental_follow_type_hints", None} or (isinstance(decorator, ast.Call) and decorator.args):
                continue
            if len(semantic.module_scope.bindings.get(definition.name, [])) == 1:
                found[definition.name] = definition
    return found


def _loop_around(semantic: SemanticModel, node: ast.AST) -> ast.AST | None:
    loops = semantic.enclosing_loops(node)
    return loops[0] if loops else None


def _statement_loop_around(semantic: SemanticModel, node: ast.AST) -> ast.AST | None:
    """The innermost `for`/`while` whose body runs the node on every iteration (within its function)."""
    return next((loop for loop in semantic.enclosing_loops(node) if isinstance(loop, _STATEMENT_LOOPS)), None)


def _clears(semantic: SemanticModel, loop: ast.AST) -> bool:
    """The loop (or a function it calls that this file defines) clears the Keras session."""
    called: set[str] = set()
    for node in ast.walk(loop):
        if isinstance(node, ast.Call):
            func = node.func
            last = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if last in _CLEARING:
                return True
            if isinstance(func, ast.Name):
                called.add(func.id)
            elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "self":
                called.add(func.attr)
    for definition in (*semantic.nodes(ast.FunctionDef), *semantic.nodes(ast.AsyncFunctionDef)):
        if definition.name in called and _body_clears(definition):
            return True
    return False


def _body_clears(definition: ast.AST) -> bool:
    for node in ast.walk(definition):
        if isinstance(node, ast.Call):
            func = node.func
            last = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if last in _CLEARING:
                return True
    return False


def _callee_clears(semantic: SemanticModel, call: ast.Call) -> bool:
    if isinstance(call.func, ast.Name):
        found = semantic.lookup(call.func.id, call.func)
        if found is not None and found[1] == "local":
            return any(isinstance(d, (ast.FunctionDef, ast.AsyncFunctionDef)) and _body_clears(d) for d in found[0].bindings[call.func.id])
    return False


def _kept(semantic: SemanticModel, call: ast.Call, loop: ast.AST) -> bool:
    """The model outlives its iteration: appended to a list, stored in a dict or attribute,
    or yielded (an ensemble or a cache)."""
    statement = semantic.enclosing_statement(call)
    names: set[str] = set()
    if isinstance(statement, ast.Assign):
        for target in statement.targets:
            if isinstance(target, (ast.Subscript, ast.Attribute)):
                return True
            names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    elif isinstance(statement, (ast.Expr, ast.Return)) and isinstance(statement.value, (ast.Yield, ast.YieldFrom)):
        return True
    parent = semantic.parent(call)
    if isinstance(parent, ast.Call) and isinstance(parent.func, ast.Attribute) and parent.func.attr in ("append", "extend", "add", "insert"):
        return True
    return _stored(loop, names)


def _stored(loop: ast.AST, names: set[str]) -> bool:
    """One of the names is appended to a container, stored in a dict or attribute, returned or
    yielded inside the loop."""
    for node in ast.walk(loop):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("append", "insert", "add"):
            if any(_holds(a, names) for a in node.args):
                return True
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Name) and node.value.id in names:
            if any(isinstance(t, (ast.Subscript, ast.Attribute)) for t in node.targets):
                return True
        if isinstance(node, (ast.Yield, ast.Return)) and isinstance(node.value, ast.Name) and node.value.id in names:
            return True
    return False


def _holds(expr: ast.AST, names: set[str]) -> bool:
    """The expression is one of the names, or a tuple/list/dict display holding one as an element
    (`(model, score)`), not an expression computed from it (`model.evaluate(...)`)."""
    if isinstance(expr, ast.Name):
        return expr.id in names
    if isinstance(expr, (ast.Tuple, ast.List, ast.Set)):
        return any(_holds(e, names) for e in expr.elts)
    if isinstance(expr, ast.Dict):
        return any(_holds(v, names) for v in expr.values)
    return False


def _counter_names(semantic: SemanticModel, loop: ast.AST) -> set[str]:
    """Names that take a new Python number each iteration: `i` in `for i in range(...)`, the
    index of `enumerate(...)`, and names assigned from them in the loop body."""
    iterable = loop.iter
    names: set[str] = set()
    name = semantic.call_name(iterable) if isinstance(iterable, ast.Call) else None
    if name == "builtins.range" and isinstance(loop.target, ast.Name):
        names.add(loop.target.id)
    elif name == "builtins.enumerate" and isinstance(loop.target, ast.Tuple) and loop.target.elts and isinstance(loop.target.elts[0], ast.Name):
        names.add(loop.target.elts[0].id)
    return names


def _python_number_of(semantic: SemanticModel, argument: ast.AST, counters: set[str]) -> bool:
    """The argument is a counter, or plain arithmetic on one (`step + 1`, `i * 0.1`), not
    converted to a tensor."""
    if isinstance(argument, ast.Name):
        return argument.id in counters
    if isinstance(argument, ast.BinOp):
        sides = (argument.left, argument.right)
        return any(_python_number_of(semantic, s, counters) for s in sides) and all(
            isinstance(s, (ast.Name, ast.Constant, ast.BinOp)) for s in sides
        ) and all(not isinstance(s, ast.Name) or s.id in counters for s in sides)
    if isinstance(argument, ast.Call) and semantic.call_name(argument) in ("builtins.float", "builtins.int"):
        return len(argument.args) == 1 and _python_number_of(semantic, argument.args[0], counters)
    return False


def _parameter_names(definition: ast.AST) -> list[str]:
    args = definition.args
    return [a.arg for a in (*args.posonlyargs, *args.args)]
