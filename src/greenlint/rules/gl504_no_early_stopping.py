"""GL504 no-early-stopping: a long, fixed training budget with no stopping criterion (Keras
`fit(epochs=...)` without `EarlyStopping`, a Hugging Face `Trainer` that evaluates but never
stops, scikit-learn MLP/SGD with `early_stopping=False`, gradient boosting without
`n_iter_no_change`)."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from greenlint.diagnostics import Applicability, Fix
from greenlint.rules.base import INCLUDE_TESTS, Invalid, Option, Rule, Valid, register
from greenlint.semantic import SemanticModel, is_model_name

if TYPE_CHECKING:
    from greenlint.engine import Context

KERAS_ROOTS = ("keras", "tensorflow", "tf_keras")
_KERAS_MODEL_SOURCES = frozenset(
    {
        "keras.Sequential",
        "keras.Model",
        "keras.models.Sequential",
        "keras.models.Model",
        "keras.models.load_model",
        "keras.saving.load_model",
        "keras.models.clone_model",
        "keras.models.model_from_json",
    }
)
_KERAS_MODEL_BASES = frozenset({"keras.Model", "keras.models.Model", "keras.Sequential", "keras.models.Sequential"})
# Keras callbacks that never stop training.
_NON_STOPPING = frozenset(
    {
        "ModelCheckpoint",
        "TensorBoard",
        "ReduceLROnPlateau",
        "CSVLogger",
        "LearningRateScheduler",
        "TerminateOnNaN",
        "ProgbarLogger",
        "History",
        "BackupAndRestore",
        "RemoteMonitor",
        "WandbCallback",
        "WandbMetricsLogger",
    }
)
# Learning-rate schedules that decay over a planned number of steps: the budget is the design.
_FIXED_BUDGET_SCHEDULES = frozenset({"CosineDecay", "CosineDecayRestarts", "PolynomialDecay", "OneCycleLR", "CosineAnnealingLR", "WarmupCosineDecay"})
_HF_TRAINERS = frozenset({"transformers.Trainer", "transformers.Seq2SeqTrainer", "transformers.trainer.Trainer", "trl.SFTTrainer"})
_HF_ARGUMENTS = frozenset(
    {"transformers.TrainingArguments", "transformers.Seq2SeqTrainingArguments", "transformers.training_args.TrainingArguments", "trl.SFTConfig"}
)
_SKLEARN_ITERATIVE = {
    # class: (default max_iter, parameter that caps the iterations)
    "sklearn.neural_network.MLPClassifier": (200, "max_iter"),
    "sklearn.neural_network.MLPRegressor": (200, "max_iter"),
    "sklearn.linear_model.SGDClassifier": (1000, "max_iter"),
    "sklearn.linear_model.SGDRegressor": (1000, "max_iter"),
    "sklearn.linear_model.SGDOneClassSVM": (1000, "max_iter"),
}
_SGD = frozenset(name for name in _SKLEARN_ITERATIVE if ".SGD" in name)
_BOOSTING = frozenset({"sklearn.ensemble.GradientBoostingClassifier", "sklearn.ensemble.GradientBoostingRegressor"})
_HIST_BOOSTING = frozenset({"sklearn.ensemble.HistGradientBoostingClassifier", "sklearn.ensemble.HistGradientBoostingRegressor"})
# Attributes that read the whole boosting path: the full number of stages is what is studied.
_STAGE_PATH = frozenset({"staged_predict", "staged_predict_proba", "staged_decision_function", "train_score_", "oob_improvement_", "oob_scores_"})

_CALLEE_LAST = frozenset(name.rsplit(".", 1)[-1] for names in (_HF_TRAINERS, _SKLEARN_ITERATIVE, _BOOSTING, _HIST_BOOSTING) for name in names)

_KERAS_ADVICE = 'Add `callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True)]` (with validation data)'


@register
class NoEarlyStopping(Rule):
    """
    ## What it does
    Flags training runs with a long fixed budget and no stopping criterion: Keras `fit` with
    `epochs >= min-epochs` and no `EarlyStopping` callback, a Hugging Face `Trainer` that
    evaluates during `num_train_epochs >= min-epochs` but has no `EarlyStoppingCallback`,
    scikit-learn `MLP*`/`SGD*` with `early_stopping=False`, and `GradientBoosting*` without
    `n_iter_no_change`.

    ## Fix
    None automatic (display-only): the stopped model differs from the fully trained one.
    """

    code = "GL504"
    name = "no-early-stopping"
    summary = "Long fixed training budget with no early-stopping criterion"
    impact = "medium"
    evidence = "Geißler et al. 2024: badly set training hyper-parameters cost up to 5x the energy for the same accuracy; greenlint CPU run: MLPClassifier early_stopping=False vs True (see GL504.md)."
    frameworks = ("keras", "tensorflow", "transformers", "trl", "sklearn")
    # Findings are a `.fit(` call, a (Seq2Seq/SFT)Trainer, an MLP*/SGD* estimator or a
    # (Hist)GradientBoosting* estimator.
    requires = ("fit", "Trainer", "MLP", "SGD", "GradientBoosting")
    fix_applicability = Applicability.DISPLAY_ONLY
    options = {
        "min-epochs": Option(int, 20, "Report Keras/Trainer epoch budgets (and MLP/SGD max_iter) from this many epochs up"),
        "min-boosting-stages": Option(int, 100, "Report gradient boosting without n_iter_no_change from this many stages up"),
        "include-tests": INCLUDE_TESTS,
    }

    VALID = [
        Valid(
            """
            from tensorflow import keras

            model = keras.Sequential([keras.layers.Dense(1)])
            model.compile(optimizer="adam", loss="mse")
            model.fit(x, y, epochs=200, validation_split=0.1,
                      callbacks=[keras.callbacks.EarlyStopping(patience=10, restore_best_weights=True)])
            """,
            why="has an EarlyStopping callback",
        ),
        Valid(
            """
            import keras

            model = keras.Sequential([keras.layers.Dense(1)])
            model.compile(optimizer="adam", loss="mse")
            model.fit(x, y, epochs=10)
            """,
            why="10 epochs: under the default threshold of 20",
        ),
        Valid(
            """
            import keras

            def train(model, callbacks):
                model.fit(x, y, epochs=100, callbacks=callbacks)
            """,
            why="callbacks come from the caller: they may hold an EarlyStopping",
        ),
        Valid(
            """
            import tensorflow as tf
            from tensorflow.keras.callbacks import EarlyStopping, ModelCheckpoint

            callbacks = [ModelCheckpoint("best.keras"), EarlyStopping(monitor="val_loss")]
            model = tf.keras.models.load_model("base.keras")
            model.fit(ds, epochs=300, validation_data=val, callbacks=callbacks)
            """,
            why="the callback list, bound once, holds an EarlyStopping",
        ),
        Valid(
            """
            import keras

            class StopAtTarget(keras.callbacks.Callback):
                def on_epoch_end(self, epoch, logs=None):
                    if logs["val_accuracy"] > 0.99:
                        self.model.stop_training = True

            model.fit(x, y, epochs=500, validation_split=0.2, callbacks=[StopAtTarget()])
            """,
            why="a custom callback stops training",
        ),
        Valid(
            """
            import keras

            schedule = keras.optimizers.schedules.CosineDecay(1e-3, decay_steps=100 * steps_per_epoch)
            model.compile(optimizer=keras.optimizers.Adam(schedule), loss="mse")
            model.fit(x, y, epochs=100)
            """,
            why="a learning-rate schedule planned for the whole budget",
        ),
        Valid(
            """
            import torch

            model.fit(x, y, epochs=100)
            """,
            why="not a Keras file",
        ),
        Valid(
            """
            from transformers import Trainer, TrainingArguments

            args = TrainingArguments("out", num_train_epochs=30)
            trainer = Trainer(model=model, args=args, train_dataset=train)
            trainer.train()
            """,
            why="no evaluation during training: nothing to stop on",
        ),
        Valid(
            """
            from transformers import EarlyStoppingCallback, Trainer, TrainingArguments

            args = TrainingArguments("out", num_train_epochs=50, eval_strategy="epoch", save_strategy="epoch",
                                     load_best_model_at_end=True, metric_for_best_model="eval_loss")
            trainer = Trainer(model=model, args=args, train_dataset=train, eval_dataset=val,
                              callbacks=[EarlyStoppingCallback(early_stopping_patience=3)])
            """,
            why="has an EarlyStoppingCallback",
        ),
        Valid(
            """
            from transformers import Trainer, TrainingArguments

            args = TrainingArguments("out", num_train_epochs=3, eval_strategy="epoch")
            trainer = Trainer(model=model, args=args, train_dataset=train, eval_dataset=val)
            """,
            why="3 epochs (the default budget)",
        ),
        Valid(
            """
            from sklearn.neural_network import MLPClassifier
            from sklearn.linear_model import SGDClassifier

            mlp = MLPClassifier(hidden_layer_sizes=(64,))
            sgd = SGDClassifier(early_stopping=True)
            """,
            why="the default MLP stops when the training loss stalls; SGD has early stopping on",
        ),
        Valid(
            """
            from sklearn.ensemble import GradientBoostingClassifier

            gb = GradientBoostingClassifier(n_estimators=500, n_iter_no_change=10, validation_fraction=0.1)
            small = GradientBoostingClassifier(n_estimators=50)
            """,
            why="early stopping on; 50 stages is under the threshold",
        ),
        Valid(
            """
            from sklearn.ensemble import GradientBoostingRegressor

            reg = GradientBoostingRegressor(n_estimators=500)
            reg.fit(X, y)
            for i, pred in enumerate(reg.staged_predict(X_test)):
                errors[i] = mse(y_test, pred)
            """,
            why="the whole boosting path is studied",
        ),
        Valid(
            """
            from sklearn.ensemble import GradientBoostingRegressor
            from sklearn.experimental import enable_halving_search_cv  # noqa
            from sklearn.model_selection import HalvingRandomSearchCV

            gbr = GradientBoostingRegressor(loss="quantile", alpha=0.05)
            search = HalvingRandomSearchCV(gbr, grid, resource="n_estimators", max_resources=250)
            """,
            why="the search decides how many stages each fit gets",
        ),
        Valid(
            """
            from autokeras import ImageClassifier
            import keras

            clf = ImageClassifier(max_trials=3)
            clf.fit(x, y, epochs=100)
            """,
            why="AutoKeras adds an EarlyStopping callback itself",
        ),
        Valid(
            """
            import keras

            def test_fit():
                model.fit(x, y, epochs=100)
            """,
            filename="tests/test_fit.py",
            why="test files are skipped unless include-tests is set",
        ),
    ]
    INVALID = [
        Invalid(
            """
            from tensorflow import keras

            model = keras.Sequential([keras.layers.Dense(64, activation="relu"), keras.layers.Dense(1)])
            model.compile(optimizer="adam", loss="mse")
            history = model.fit(x_train, y_train, epochs=500, validation_split=0.1)
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="epochs=500",
        ),
        Invalid(
            """
            import tensorflow as tf

            EPOCHS = 100

            def build():
                inputs = tf.keras.Input((32,))
                return tf.keras.Model(inputs, tf.keras.layers.Dense(1)(inputs))

            net = build()
            net.compile("adam", "mse")
            net.fit(ds, epochs=EPOCHS, callbacks=[tf.keras.callbacks.ModelCheckpoint("ckpt"), tf.keras.callbacks.TensorBoard()])
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="hold out validation data",
        ),
        Invalid(
            """
            from transformers import Trainer, TrainingArguments

            args = TrainingArguments(
                output_dir="out",
                num_train_epochs=40,
                eval_strategy="epoch",
                save_strategy="epoch",
            )
            trainer = Trainer(model=model, args=args, train_dataset=train, eval_dataset=val)
            trainer.train()
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="EarlyStoppingCallback",
        ),
        Invalid(
            """
            from sklearn.neural_network import MLPRegressor
            from sklearn.linear_model import SGDRegressor

            mlp = MLPRegressor(hidden_layer_sizes=(128, 64), max_iter=1000, early_stopping=False)
            sgd = SGDRegressor(tol=None, max_iter=500)
            """,
            count=2,
            applicability=Applicability.DISPLAY_ONLY,
        ),
        Invalid(
            """
            from sklearn import ensemble

            model = ensemble.GradientBoostingClassifier(n_estimators=1000, learning_rate=0.05)
            model.fit(X, y)
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="n_iter_no_change",
        ),
        Invalid(
            """
            from sklearn.ensemble import HistGradientBoostingRegressor

            model = HistGradientBoostingRegressor(max_iter=500, early_stopping=False)
            """,
            applicability=Applicability.DISPLAY_ONLY,
        ),
    ]

    def check(self, ctx: Context) -> None:
        semantic = ctx.semantic
        min_epochs = self.settings["min-epochs"]
        # File facts, computed on first need (most files have no candidate call at all).
        facts: dict[str, bool] = {}

        def fact(key: str) -> bool:
            if key not in facts:
                if key == "keras_fit":  # a Keras file that neither stops itself nor plans a budget
                    facts[key] = imports_any(semantic, KERAS_ROOTS) and not _sets_stop_training(semantic) and not fact("fixed_budget")
                elif key == "torch_file":
                    facts[key] = imports_any(semantic, ("torch",))
                else:
                    facts[key] = _has_fixed_budget_schedule(semantic)
            return facts[key]

        # A qualified name's last part is the callee's attribute or the imported name.
        aliases = {local for scope in semantic.scopes.values() for local, target in scope.imports.items() if target.rsplit(".", 1)[-1] in _CALLEE_LAST}
        for call in semantic.nodes(ast.Call):
            func = call.func
            if isinstance(func, ast.Attribute) and func.attr == "fit":
                if fact("keras_fit"):
                    self._keras_fit(ctx, call, min_epochs, fact("torch_file"))
                continue
            if not (func.attr in _CALLEE_LAST if isinstance(func, ast.Attribute) else isinstance(func, ast.Name) and func.id in aliases):
                continue  # none of the classes below: skip resolving its name
            name = semantic.call_name(call)
            if name is None:
                continue
            if name in _HF_TRAINERS and not fact("fixed_budget"):
                self._hf_trainer(ctx, call, min_epochs)
            elif name in _SKLEARN_ITERATIVE:
                self._sklearn_iterative(ctx, call, name, min_epochs)
            elif name in _BOOSTING:
                self._boosting(ctx, call)
            elif name in _HIST_BOOSTING:
                self._hist_boosting(ctx, call)

    # ------------------------------------------------------------------ Keras
    def _keras_fit(self, ctx: Context, call: ast.Call, min_epochs: int, torch_file: bool) -> None:
        semantic = ctx.semantic
        epochs_node = _argument(call, "epochs", 3)
        epochs = int_value(semantic, epochs_node)
        if epochs is None or epochs < min_epochs:
            return
        receiver = call.func.value
        if not is_keras_model(semantic, receiver, allow_names=not torch_file):
            return
        callbacks = _argument(call, "callbacks", 5)  # fit(x, y, batch_size, epochs, verbose, callbacks, ...)
        if callbacks is not None and _stops(semantic, callbacks, "keras") is not False:
            return
        validated = any(k.arg in ("validation_data", "validation_split") for k in call.keywords) or len(call.args) > 6
        shown = f"{ast.unparse(receiver)}.fit(..., epochs={ast.unparse(epochs_node)})"
        if len(shown) > 60:
            shown = f".fit(..., epochs={epochs})"
        tail = (
            "stop when the validation loss stops improving"
            if validated
            else "hold out validation data (`validation_split=0.1`) and stop when its loss stops improving"
        )
        ctx.report(
            call.func,
            f"`{shown}` runs all {epochs} epochs with no `EarlyStopping` callback: the epochs after the model "
            f"converges cost as much as the first ones; {tail}",
            Fix(Applicability.DISPLAY_ONLY, _KERAS_ADVICE),
        )

    # ------------------------------------------------------------------ Hugging Face
    def _hf_trainer(self, ctx: Context, call: ast.Call, min_epochs: int) -> None:
        semantic = ctx.semantic
        args = _argument(call, "args", 1)
        if isinstance(args, ast.Name):
            args = semantic.single_value(args)
        if not isinstance(args, ast.Call) or semantic.call_name(args) not in _HF_ARGUMENTS:
            return
        if any(k.arg is None for k in args.keywords):
            return
        settings = {k.arg: k.value for k in args.keywords}
        epochs = number_value(semantic, settings.get("num_train_epochs"))
        if epochs is None or epochs < min_epochs:
            return
        max_steps = settings.get("max_steps")
        if max_steps is not None and int_value(semantic, max_steps) not in (-1, 0):
            return  # max_steps overrides the epochs (or is unknown)
        strategy = settings.get("eval_strategy", settings.get("evaluation_strategy"))
        if strategy is None or _is_no_strategy(strategy):
            return
        if len(call.args) > 2:
            return  # positional arguments past `args` differ between versions: callbacks may be among them
        callbacks = _argument(call, "callbacks", 99)
        if callbacks is not None and _stops(semantic, callbacks, "hf") is not False:
            return
        if _adds_early_stopping_callback(semantic):
            return
        shown = int(epochs) if float(epochs).is_integer() else epochs
        ctx.report(
            call.func,
            f"`{ast.unparse(call.func)}` evaluates every {'epoch' if _strategy_word(strategy) == 'epoch' else 'few steps'} "
            f"but trains all {shown} epochs with no `EarlyStoppingCallback`: training goes on after the evaluation "
            "metric stops improving",
            Fix(
                Applicability.DISPLAY_ONLY,
                "Add `callbacks=[EarlyStoppingCallback(early_stopping_patience=3)]` with `load_best_model_at_end=True` and `metric_for_best_model`",
            ),
        )

    # ------------------------------------------------------------------ scikit-learn
    def _sklearn_iterative(self, ctx: Context, call: ast.Call, name: str, min_epochs: int) -> None:
        semantic = ctx.semantic
        if any(k.arg is None for k in call.keywords):
            return
        settings = {k.arg: k.value for k in call.keywords}
        default_iterations, cap = _SKLEARN_ITERATIVE[name]
        iterations = int_value(semantic, settings[cap]) if cap in settings else default_iterations
        if iterations is None or iterations < min_epochs:
            return
        short = name.rsplit(".", 1)[-1]
        early = settings.get("early_stopping")
        tol = settings.get("tol")
        advice = f"Use `{short}(early_stopping=True, n_iter_no_change=...)`"
        if name in _SGD and isinstance(tol, ast.Constant) and tol.value is None:
            message = f"`{short}(tol=None)` has no stopping criterion: it runs all {iterations} epochs"
            advice = f"Give `{short}` a `tol` (the default is 1e-3), or use `early_stopping=True`"
        elif isinstance(early, ast.Constant) and early.value is False:
            message = (
                f"`{short}(early_stopping=False)` trains until the training loss stalls, up to {iterations} epochs, "
                "though it could stop on a held-out validation score"
            )
        else:
            return
        ctx.report(call.func, message, Fix(Applicability.DISPLAY_ONLY, advice))

    def _boosting(self, ctx: Context, call: ast.Call) -> None:
        semantic = ctx.semantic
        if any(k.arg is None for k in call.keywords) or call.args:
            return
        settings = {k.arg: k.value for k in call.keywords}
        stopping = settings.get("n_iter_no_change")
        if stopping is not None and not (isinstance(stopping, ast.Constant) and stopping.value is None):
            return
        if isinstance(settings.get("warm_start"), ast.Constant) and settings["warm_start"].value is True:
            return  # stages added by hand
        stages = int_value(semantic, settings["n_estimators"]) if "n_estimators" in settings else 100
        if stages is None or stages < self.settings["min-boosting-stages"] or _reads_stage_path(semantic, call) or _searched(semantic, call):
            return
        short = ast.unparse(call.func)
        ctx.report(
            call.func,
            f"`{short}` fits all {stages} boosting stages with no `n_iter_no_change`: stages after the validation "
            "loss stops improving cost the same and add nothing",
            Fix(Applicability.DISPLAY_ONLY, "Pass `n_iter_no_change=10` (and `validation_fraction=0.1`) to stop when the held-out loss stalls"),
        )

    def _hist_boosting(self, ctx: Context, call: ast.Call) -> None:
        semantic = ctx.semantic
        settings = {k.arg: k.value for k in call.keywords if k.arg is not None}
        early = settings.get("early_stopping")
        if not (isinstance(early, ast.Constant) and early.value is False):
            return
        stages = int_value(semantic, settings["max_iter"]) if "max_iter" in settings else 100
        if stages is None or stages < self.settings["min-boosting-stages"]:
            return
        ctx.report(
            call.func,
            f"`{ast.unparse(call.func)}(early_stopping=False)` fits all {stages} boosting iterations though it could stop "
            "when the held-out score stalls",
            Fix(Applicability.DISPLAY_ONLY, 'Leave `early_stopping="auto"` (on above 10 000 samples) or set it to True'),
        )


# ---------------------------------------------------------------------------- shared Keras facts
def keras_name(name: str | None) -> str:
    """`tensorflow.keras.layers.Dense` / `tf_keras.X` / `tensorflow.python.keras.X` -> `keras....`."""
    if not name:
        return ""
    for prefix in ("tensorflow.python.keras.", "tensorflow.keras.", "tf_keras."):
        if name.startswith(prefix):
            return "keras." + name[len(prefix) :]
    return name


def imports_any(semantic: SemanticModel, roots: tuple[str, ...]) -> bool:
    """Whether any import in the file brings in one of these top-level packages."""
    cache = semantic.rule_cache.setdefault("GL504", {})
    key = ("imports",) + roots
    if key not in cache:
        found = False
        for node in semantic.nodes(ast.Import):
            found = found or any(a.name.split(".")[0] in roots for a in node.names)
        for node in semantic.nodes(ast.ImportFrom):
            found = found or (not node.level and (node.module or "").split(".")[0] in roots)
        cache[key] = found
    return cache[key]


def is_keras_model_source(semantic: SemanticModel, value: ast.AST | None, depth: int = 0) -> bool:
    """A call that builds or loads a Keras model: `keras.Sequential(...)`, `Model(inputs, outputs)`,
    `load_model(...)`, a `keras.applications` constructor, a local `keras.Model` subclass, or a
    local function whose body builds one."""
    if not isinstance(value, ast.Call) or depth > 2:
        return False
    name = keras_name(semantic.call_name(value))
    if name in _KERAS_MODEL_SOURCES:
        return True
    if name.startswith("keras.applications.") and name.rsplit(".", 1)[-1][:1].isupper():
        return True
    func = value.func
    if isinstance(func, ast.Attribute) and func.attr in ("compile",):
        return False
    if isinstance(func, ast.Name):
        found = semantic.lookup(func.id, func)
        if found is not None and found[1] == "local":
            for definition in found[0].bindings[func.id]:
                if isinstance(definition, ast.ClassDef) and any(keras_name(semantic.qualified_name(b)) in _KERAS_MODEL_BASES for b in definition.bases):
                    return True
                if isinstance(definition, (ast.FunctionDef, ast.AsyncFunctionDef)) and builds_keras_model(semantic, definition, depth + 1):
                    return True
    return False


def builds_keras_model(semantic: SemanticModel, function: ast.AST, depth: int = 0) -> bool:
    """A local function whose body builds a Keras model (a builder such as `build_model()`)."""
    # Asked again for every call of the builder: remember the answer (it depends on the depth,
    # which bounds the look through builders that call builders).
    cache = semantic.rule_cache.setdefault("GL504.builds", {})
    key = (function, depth)
    if key not in cache:
        cache[key] = _builds_keras_model(semantic, function, depth)
    return cache[key]


def _builds_keras_model(semantic: SemanticModel, function: ast.AST, depth: int) -> bool:
    return any(isinstance(node, ast.Call) and is_keras_model_source(semantic, node, depth) for node in ast.walk(function) if node is not function)


def is_keras_model(semantic: SemanticModel, receiver: ast.AST, allow_names: bool = True) -> bool:
    """A Keras model: bound to a model source, or (in a Keras file without torch) a name
    compiled in this scope or named like a model (`model`, `net`, `self.model`)."""
    if isinstance(receiver, ast.Call):
        return is_keras_model_source(semantic, receiver)
    if isinstance(receiver, ast.Name):
        found = semantic.lookup(receiver.id, receiver)
        if found is not None and found[1] == "local":
            values = [v for v in found[0].bindings[receiver.id] if v is not None]
            if any(is_keras_model_source(semantic, v) for v in values):
                return True
            if any(_foreign_model(semantic, v) for v in values):
                return False
            if any(isinstance(v, (ast.Call, ast.Constant, ast.List, ast.Dict, ast.Tuple)) for v in values) and not any(_compiled(semantic, receiver.id, found[0].node)):
                return False
        elif found is not None:
            return False
        return allow_names and (any(_compiled(semantic, receiver.id, None)) or is_model_name(receiver.id))
    if isinstance(receiver, ast.Attribute) and isinstance(receiver.value, ast.Name) and receiver.value.id == "self":
        return allow_names and is_model_name(receiver.attr)
    return False


def _foreign_model(semantic: SemanticModel, value: ast.AST) -> bool:
    """Built by a library whose `fit` manages its own stopping or is not Keras (AutoKeras adds
    EarlyStopping itself; scikit-learn, XGBoost and friends have their own rules)."""
    name = semantic.call_name(value) or ""
    return name.startswith(("autokeras.", "keras_tuner.", "sklearn.", "xgboost.", "lightgbm.", "catboost.", "scikeras.", "skorch."))


def _compiled(semantic: SemanticModel, name: str, scope_node: ast.AST | None):
    """`name.compile(...)` calls (in the given scope, or anywhere)."""
    for call in semantic.nodes(ast.Call):
        func = call.func
        if isinstance(func, ast.Attribute) and func.attr == "compile" and isinstance(func.value, ast.Name) and func.value.id == name:
            if scope_node is None or semantic.scope_of(call).node is scope_node:
                yield call


# ---------------------------------------------------------------------------- helpers
def _argument(call: ast.Call, keyword: str, position: int) -> ast.AST | None:
    for item in call.keywords:
        if item.arg == keyword:
            return item.value
    if len(call.args) > position and not any(isinstance(a, ast.Starred) for a in call.args[: position + 1]):
        return call.args[position]
    return None


def int_value(semantic: SemanticModel, node: ast.AST | None, depth: int = 0) -> int | None:
    """An int literal, or a name bound once to one."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = int_value(semantic, node.operand, depth + 1)
        return None if inner is None else -inner
    if isinstance(node, ast.Name) and depth < 3:
        return int_value(semantic, semantic.single_value(node), depth + 1)
    return None


def number_value(semantic: SemanticModel, node: ast.AST | None, depth: int = 0) -> float | None:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    if isinstance(node, ast.Name) and depth < 3:
        return number_value(semantic, semantic.single_value(node), depth + 1)
    return None


def _stops(semantic: SemanticModel, expr: ast.AST, flavour: str, depth: int = 0) -> bool | None:
    """Whether a callbacks expression holds an early-stopping callback: True, False (every
    element is known and none stops training), or None (unknown)."""
    if depth > 3:
        return None
    if isinstance(expr, (ast.List, ast.Tuple)):
        answers = [None if isinstance(e, ast.Starred) else _callback_stops(semantic, e, flavour, depth) for e in expr.elts]
        if True in answers:
            return True
        return None if None in answers else False
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
        left, right = _stops(semantic, expr.left, flavour, depth + 1), _stops(semantic, expr.right, flavour, depth + 1)
        if True in (left, right):
            return True
        return None if None in (left, right) else False
    if isinstance(expr, ast.Constant) and expr.value is None:
        return False
    if isinstance(expr, ast.Name):
        value = semantic.single_value(expr)
        if value is None or _mutated(semantic, expr):
            return None
        return _stops(semantic, value, flavour, depth + 1)
    return None


def _callback_stops(semantic: SemanticModel, element: ast.AST, flavour: str, depth: int) -> bool | None:
    if isinstance(element, ast.Name):
        value = semantic.single_value(element)
        return None if value is None else _callback_stops(semantic, value, flavour, depth + 1)
    if not isinstance(element, ast.Call):
        return None
    name = semantic.call_name(element)
    spelled = ast.unparse(element.func)
    last = spelled.rsplit(".", 1)[-1]
    if "EarlyStopping" in last or "early_stop" in last.lower():
        return True
    if name is not None:
        if flavour == "keras" and keras_name(name).startswith("keras.callbacks.") and last in _NON_STOPPING:
            return False
        if flavour == "hf" and name.startswith("transformers.") and "Callback" in last:
            return False
        if last in _NON_STOPPING:
            return False
        return None
    if isinstance(element.func, ast.Name):
        found = semantic.lookup(element.func.id, element.func)
        if found is not None and found[1] == "local":
            classes = [d for d in found[0].bindings[element.func.id] if isinstance(d, ast.ClassDef)]
            if classes and not any(_mentions_stop(c) for c in classes):
                return False
    return None


def _mentions_stop(node: ast.AST) -> bool:
    for inner in ast.walk(node):
        if isinstance(inner, ast.Attribute) and inner.attr in ("stop_training", "should_training_stop"):
            return True
    return False


def _mutated(semantic: SemanticModel, name: ast.Name) -> bool:
    found = semantic.lookup(name.id, name)
    if found is None:
        return True
    for node in ast.walk(found[0].node):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == name.id
            and node.func.attr in ("append", "extend", "insert", "__iadd__")
        ):
            return True
        if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) and node.target.id == name.id:
            return True
    return False


def _sets_stop_training(semantic: SemanticModel) -> bool:
    """A callback in this file sets `model.stop_training`: training stops on its own criterion."""
    return any(isinstance(node, ast.Attribute) and node.attr == "stop_training" and isinstance(node.ctx, ast.Store) for node in semantic.nodes(ast.Attribute))


def _has_fixed_budget_schedule(semantic: SemanticModel) -> bool:
    for call in semantic.nodes(ast.Call):
        func = call.func
        last = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if last in _FIXED_BUDGET_SCHEDULES:
            return True
    return False


def _adds_early_stopping_callback(semantic: SemanticModel) -> bool:
    for call in semantic.nodes(ast.Call):
        func = call.func
        if isinstance(func, ast.Attribute) and func.attr == "add_callback" and call.args:
            argument = call.args[0]
            spelled = ast.unparse(argument.func if isinstance(argument, ast.Call) else argument)
            if "EarlyStopping" in spelled:
                return True
    return False


def _strategy_word(strategy: ast.AST) -> str:
    if isinstance(strategy, ast.Constant) and isinstance(strategy.value, str):
        return strategy.value.lower()
    if isinstance(strategy, ast.Attribute):
        return strategy.attr.lower()
    return ""


def _is_no_strategy(strategy: ast.AST) -> bool:
    word = _strategy_word(strategy)
    return word in ("no", "") if isinstance(strategy, (ast.Constant, ast.Attribute)) else True


def _searched(semantic: SemanticModel, call: ast.Call) -> bool:
    """The estimator goes into a hyper-parameter search (`GridSearchCV`, `HalvingRandomSearchCV`
    with `resource="n_estimators"`, ...): the search decides how many stages each fit gets."""
    parent = semantic.parent(call)
    names = set()
    if isinstance(parent, ast.Assign) and len(parent.targets) == 1 and isinstance(parent.targets[0], ast.Name):
        names.add(parent.targets[0].id)
    for node in semantic.nodes(ast.Call):
        func = node.func
        last = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if not last.endswith("SearchCV") or not node.args:
            continue
        first = node.args[0]
        if first is call or (isinstance(first, ast.Name) and first.id in names):
            return True
    return False


def _reads_stage_path(semantic: SemanticModel, call: ast.Call) -> bool:
    """The model is assigned to a name whose staged predictions or per-stage scores the file reads."""
    parent = semantic.parent(call)
    if not (isinstance(parent, ast.Assign) and len(parent.targets) == 1 and isinstance(parent.targets[0], ast.Name)):
        return False
    name = parent.targets[0].id
    for node in semantic.nodes(ast.Attribute):
        if node.attr in _STAGE_PATH and isinstance(node.value, ast.Name) and node.value.id == name:
            return True
    return False
