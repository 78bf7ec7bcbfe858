"""GL503 exhaustive-hyperparameter-search: a `GridSearchCV` (or an Optuna `GridSampler`, or
nested loops of full trainings) over a literal grid large enough that every candidate trained
to completion on every fold is most of the job's energy."""

from __future__ import annotations

import ast
import math
import re
from typing import TYPE_CHECKING

from greenlint.diagnostics import Applicability, Edit, Fix
from greenlint.fixes import newline_of
from greenlint.rules.base import INCLUDE_TESTS, Invalid, Option, Rule, Valid, register
from greenlint.semantic import FUNCTION_NODES, SemanticModel, step_loops

if TYPE_CHECKING:
    from greenlint.engine import Context

_GRID_SEARCH = frozenset({"sklearn.model_selection.GridSearchCV", "sklearn.model_selection._search.GridSearchCV"})
_OLD_GRID_SEARCH = "sklearn.grid_search.GridSearchCV"  # removed in scikit-learn 0.20
_GRID_SAMPLER = frozenset({"optuna.samplers.GridSampler", "optuna.samplers._grid.GridSampler"})
_HALVING = "sklearn.model_selection.HalvingGridSearchCV"
_HALVING_NAME = "HalvingGridSearchCV"
_ENABLER_MODULE = "sklearn.experimental.enable_halving_search_cv"
_ENABLER_LINE = "from sklearn.experimental import enable_halving_search_cv  # noqa"
_PARAMETER_GRID = frozenset({"sklearn.model_selection.ParameterGrid", "sklearn.model_selection._search.ParameterGrid"})
_PRODUCT = "itertools.product"
_CROSS_VALIDATE = frozenset({"sklearn.model_selection.cross_val_score", "sklearn.model_selection.cross_validate"})
# Below this many candidates a halving search has little to drop (with 5 it still fits two of
# them on all the data): many folds over a few candidates estimate, they do not search.
_MIN_CANDIDATES = 6
# Splitters and their (n_splits default, n_repeats default or 1).
_SPLITTERS = {
    "KFold": (5, 1),
    "StratifiedKFold": (5, 1),
    "GroupKFold": (5, 1),
    "StratifiedGroupKFold": (5, 1),
    "TimeSeriesSplit": (5, 1),
    "ShuffleSplit": (10, 1),
    "StratifiedShuffleSplit": (10, 1),
    "GroupShuffleSplit": (5, 1),
    "RepeatedKFold": (5, 10),
    "RepeatedStratifiedKFold": (5, 10),
}
# Loop targets that name data, repeats or folds rather than hyper-parameters.
_NOT_HYPERPARAMETER = re.compile(
    r"(?i)^(_|i|j|k|n|idx|index|seed|run|trial|rep|repeat|fold|split|epoch|task|name|key|file|path|col|column|feature|target|metric)s?$"
    r"|(data|dataset|datasets|file|path|seed|fold|split|name|task|col|column|feature|subject|sample|images?|loader|df)s?$"
)
_SPACES = frozenset({"numpy.linspace", "numpy.logspace", "numpy.geomspace"})
_SEQUENCE_CALLS = frozenset({"builtins.list", "builtins.tuple", "builtins.sorted", "numpy.array", "numpy.asarray"})
# Trainable model families outside scikit-learn whose `.fit` is a full training.
_ESTIMATOR_PREFIXES = ("sklearn.", "xgboost.", "lightgbm.", "catboost.")
_KERAS_MODELS = frozenset(
    {
        "keras.Sequential",
        "keras.Model",
        "keras.models.Sequential",
        "keras.models.Model",
        "keras.models.load_model",
        "keras.models.clone_model",
    }
)
# A Halving search accepts one metric only, no `pre_dispatch`, and a boolean or callable refit.
_FIXABLE_SCORERS = frozenset({"sklearn.metrics.make_scorer", "sklearn.metrics.get_scorer"})


@register
class ExhaustiveHyperparameterSearch(Rule):
    """
    ## What it does
    Flags `GridSearchCV` whose literal grid means at least `min-fits` full fits (candidates x
    cross-validation folds), an Optuna `GridSampler` over as many combinations, and nested loops
    that train a model to completion for every combination of literal hyper-parameter lists.

    ## Fix
    Unsafe, for `GridSearchCV`: `HalvingGridSearchCV` on the same grid (successive halving),
    with the experimental import it needs. The search then picks its winner differently.
    """

    code = "GL503"
    name = "exhaustive-hyperparameter-search"
    summary = "Exhaustive grid search trains every candidate to completion on every fold"
    impact = "high"
    evidence = "Research pilot (scikit-learn's SVC grid, 42 candidates x 5 folds, 1 thread): GridSearchCV 3.31 s vs HalvingGridSearchCV 1.19 s (2.8x) vs RandomizedSearchCV(10) 1.06 s (3.1x)."
    frameworks = ("sklearn", "optuna", "keras", "tensorflow", "torch", "xgboost", "lightgbm", "catboost", "transformers")
    # A finding is a GridSearchCV/GridSampler call or a loop around a training call: `.fit`,
    # `.train()`, `.backward`/`.step` in a training loop, or cross_val_score/cross_validate.
    requires = ("GridSearchCV", "GridSampler", "cross_val", "fit", "train", "backward", "step")
    fix_applicability = Applicability.UNSAFE
    options = {
        "min-fits": Option(int, 50, "Report a search only when it runs at least this many full fits (candidates x folds; trainings for loops)"),
        "include-tests": INCLUDE_TESTS,
    }

    VALID = [
        Valid(
            """
            from sklearn.model_selection import GridSearchCV
            from sklearn.svm import SVC

            search = GridSearchCV(SVC(), {"C": [1, 10, 100], "kernel": ["rbf", "linear"]}, cv=5)
            """,
            why="6 candidates x 5 folds = 30 fits, under the default threshold of 50",
        ),
        Valid(
            """
            from sklearn.experimental import enable_halving_search_cv  # noqa
            from sklearn.model_selection import HalvingGridSearchCV
            from sklearn.svm import SVC

            grid = {"C": [1, 10, 100, 1e3, 1e4, 1e5], "gamma": [1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7]}
            search = HalvingGridSearchCV(SVC(), grid, cv=5)
            """,
            why="already successive halving",
        ),
        Valid(
            """
            from sklearn.model_selection import GridSearchCV

            def tune(estimator, grid):
                return GridSearchCV(estimator, grid, cv=5)
            """,
            why="the grid is a parameter: its size is unknown",
        ),
        Valid(
            """
            from sklearn.model_selection import GridSearchCV, PredefinedSplit
            from sklearn.svm import SVC

            search = GridSearchCV(SVC(), {"C": [1, 10, 100, 1000], "gamma": [1, 0.1, 0.01, 0.001]}, cv=PredefinedSplit(fold))
            """,
            why="16 candidates on one predefined split: 16 fits",
        ),
        Valid(
            """
            from sklearn.model_selection import GridSearchCV
            from sklearn.svm import SVC

            def test_grid_search():
                grid = {"C": [1, 10, 100, 1e3, 1e4, 1e5], "gamma": [1e-1, 1e-2, 1e-3, 1e-4, 1e-5]}
                GridSearchCV(SVC(), grid, cv=3).fit(X, y)
            """,
            filename="tests/test_search.py",
            why="test files are skipped unless include-tests is set",
        ),
        Valid(
            """
            from mylib import GridSearchCV

            search = GridSearchCV(model, {"a": list(range(100))}, cv=5)
            """,
            why="not scikit-learn's GridSearchCV",
        ),
        Valid(
            """
            from sklearn.linear_model import LogisticRegression

            for C in [0.01, 0.1, 1, 10, 100, 1000]:
                for penalty in ["l1", "l2"]:
                    print(C, penalty)
            scaler.fit(X)
            """,
            why="nested loops that train nothing",
        ),
        Valid(
            """
            from sklearn.preprocessing import StandardScaler

            for dataset in ["a", "b", "c", "d", "e", "f", "g", "h"]:
                for column in ["x", "y", "z", "u", "v", "w", "p", "q"]:
                    scaler = StandardScaler()
                    scaler.fit(load(dataset)[column])
            """,
            why="fits a preprocessing transformer, not a model, per combination; the loops read no hyper-parameter",
        ),
        Valid(
            """
            from sklearn.model_selection import GridSearchCV
            from sklearn.svm import SVC

            grid = {"C": [1, 10, 100, 1e3, 1e4, 1e5], "gamma": [1e-1, 1e-2, 1e-3, 1e-4, 1e-5]}
            search = GridSearchCV(SVC(), grid, cv=5)
            """,
            options={"min-fits": 200},
            why="150 fits under a raised threshold",
        ),
        Valid(
            """
            from sklearn.model_selection import GridSearchCV, RepeatedStratifiedKFold

            cv = RepeatedStratifiedKFold(n_splits=10, n_repeats=10)
            search = GridSearchCV(model, {"kernel": ["linear", "poly", "rbf", "sigmoid"]}, cv=cv)
            search.fit(X, y)
            """,
            why="4 candidates x 100 folds: repeated cross-validation of a few models, not a search to halve",
        ),
        Valid(
            """
            from sklearn.model_selection import GridSearchCV

            grid_search = GridSearchCV(pipe, param_grid={"n_estimators": [200, 500], "max_depth": [4, 5, 6, 7, 8]}, n_jobs=1)
            grid_search  # shows the estimator diagram
            """,
            why="built to be displayed, never fitted",
        ),
    ]
    INVALID = [
        Invalid(
            """
            from sklearn.model_selection import GridSearchCV
            from sklearn.svm import SVC

            param_grid = {
                "C": [1, 10, 100, 1e3, 1e4, 1e5],
                "gamma": [1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7],
            }
            search = GridSearchCV(SVC(), param_grid, cv=5, n_jobs=1)
            search.fit(X, y)
            """,
            fixed="""
            from sklearn.experimental import enable_halving_search_cv  # noqa
            from sklearn.model_selection import HalvingGridSearchCV
            from sklearn.svm import SVC

            param_grid = {
                "C": [1, 10, 100, 1e3, 1e4, 1e5],
                "gamma": [1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7],
            }
            search = HalvingGridSearchCV(SVC(), param_grid, cv=5, n_jobs=1, return_train_score=False)
            search.fit(X, y)
            """,
            applicability=Applicability.UNSAFE,
            changes_numerics=True,
            message="42 candidates x 5 folds = 210 fits",
        ),
        Invalid(
            """
            import numpy as np
            from sklearn.ensemble import RandomForestClassifier
            from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split  # search tools


            def tune(X, y):
                search = GridSearchCV(
                    RandomForestClassifier(random_state=0),
                    param_grid={
                        "n_estimators": [100, 200, 500],
                        "max_depth": [None, *range(4, 12, 2)],
                        "min_samples_leaf": np.arange(1, 5),
                    },
                    scoring="roc_auc",
                    cv=StratifiedKFold(n_splits=10, shuffle=True),
                )
                return search.fit(*train_test_split(X, y)[::2])
            """,
            fixed="""
            import numpy as np
            from sklearn.ensemble import RandomForestClassifier
            from sklearn.experimental import enable_halving_search_cv  # noqa
            from sklearn.model_selection import HalvingGridSearchCV, StratifiedKFold, train_test_split  # search tools


            def tune(X, y):
                search = HalvingGridSearchCV(
                    RandomForestClassifier(random_state=0),
                    param_grid={
                        "n_estimators": [100, 200, 500],
                        "max_depth": [None, *range(4, 12, 2)],
                        "min_samples_leaf": np.arange(1, 5),
                    },
                    scoring="roc_auc",
                    cv=StratifiedKFold(n_splits=10, shuffle=True),
                    return_train_score=False,
                )
                return search.fit(*train_test_split(X, y)[::2])
            """,
            applicability=Applicability.UNSAFE,
            message="60 candidates x 10 folds = 600 fits",
        ),
        Invalid(
            """
            import sklearn.model_selection as ms
            from sklearn.neighbors import KNeighborsClassifier

            grids = [
                {"n_neighbors": list(range(1, 31)), "weights": ["uniform"]},
                {"n_neighbors": list(range(1, 31)), "weights": ["distance"], "p": [1, 2]},
            ]
            search = ms.GridSearchCV(KNeighborsClassifier(), grids, return_train_score=True)
            """,
            fixed="""
            from sklearn.experimental import enable_halving_search_cv  # noqa
            import sklearn.model_selection as ms
            from sklearn.neighbors import KNeighborsClassifier

            grids = [
                {"n_neighbors": list(range(1, 31)), "weights": ["uniform"]},
                {"n_neighbors": list(range(1, 31)), "weights": ["distance"], "p": [1, 2]},
            ]
            search = ms.HalvingGridSearchCV(KNeighborsClassifier(), grids, return_train_score=True)
            """,
            applicability=Applicability.UNSAFE,
            message="90 candidates x 5 folds = 450 fits",
        ),
        Invalid(
            """
            from sklearn.model_selection import GridSearchCV as GS
            from sklearn.svm import SVR

            first = GS(SVR(), {"C": [0.1, 1, 10, 100], "epsilon": [0.01, 0.1, 1]}, cv=10)
            second = GS(SVR(), {"C": [0.1, 1, 10, 100, 1000], "gamma": [0.1, 1, 10]}, cv=5)
            """,
            count=2,
            fixed="""
            from sklearn.experimental import enable_halving_search_cv  # noqa
            from sklearn.model_selection import HalvingGridSearchCV
            from sklearn.svm import SVR

            first = HalvingGridSearchCV(SVR(), {"C": [0.1, 1, 10, 100], "epsilon": [0.01, 0.1, 1]}, cv=10, return_train_score=False)
            second = HalvingGridSearchCV(SVR(), {"C": [0.1, 1, 10, 100, 1000], "gamma": [0.1, 1, 10]}, cv=5, return_train_score=False)
            """,
            applicability=Applicability.UNSAFE,
        ),
        Invalid(
            """
            from sklearn.mixture import GaussianMixture
            from sklearn.model_selection import GridSearchCV


            def bic_score(estimator, X):
                return -estimator.bic(X)


            grid = {"n_components": range(1, 7), "covariance_type": ["spherical", "tied", "diag", "full"]}
            search = GridSearchCV(
                GaussianMixture(), param_grid=grid, scoring=bic_score
            )
            search.fit(X)
            """,
            fixed="""
            from sklearn.mixture import GaussianMixture
            from sklearn.experimental import enable_halving_search_cv  # noqa
            from sklearn.model_selection import HalvingGridSearchCV


            def bic_score(estimator, X):
                return -estimator.bic(X)


            grid = {"n_components": range(1, 7), "covariance_type": ["spherical", "tied", "diag", "full"]}
            search = HalvingGridSearchCV(
                GaussianMixture(), param_grid=grid, scoring=bic_score, return_train_score=False
            )
            search.fit(X)
            """,
            applicability=Applicability.UNSAFE,
            message="24 candidates x 5 folds = 120 fits",
        ),
        Invalid(
            """
            from sklearn.model_selection import GridSearchCV
            from sklearn.svm import SVC

            grid = {"C": [1, 10, 100, 1000], "gamma": [1, 0.1, 0.01, 0.001]}
            search = GridSearchCV(SVC(), grid, scoring=["accuracy", "f1"], refit="f1", cv=5)
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="16 candidates x 5 folds = 80 fits",
        ),
        Invalid(
            """
            from sklearn.model_selection import GridSearchCV
            from sklearn.svm import SVC

            search = GridSearchCV(SVC(), {"C": [1, 10, 100, 1000], "gamma": [1, 0.1, 0.01, 0.001]}, pre_dispatch=4, cv=5)
            """,
            applicability=Applicability.DISPLAY_ONLY,
        ),
        Invalid(
            """
            import optuna

            space = {"lr": [1e-4, 3e-4, 1e-3, 3e-3], "batch_size": [16, 32, 64, 128], "layers": [2, 3, 4, 5]}
            study = optuna.create_study(sampler=optuna.samplers.GridSampler(space))
            study.optimize(objective, n_trials=64)
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="64 combinations",
        ),
        Invalid(
            """
            from tensorflow import keras

            def build(units, dropout):
                return keras.Sequential([keras.layers.Dense(units), keras.layers.Dropout(dropout), keras.layers.Dense(1)])

            results = {}
            for units in [32, 64, 128, 256]:
                for dropout in [0.0, 0.1, 0.2, 0.3, 0.5]:
                    for lr in [1e-2, 1e-3, 1e-4]:
                        model = build(units, dropout)
                        model.compile(optimizer=keras.optimizers.Adam(lr), loss="mse")
                        results[units, dropout, lr] = model.fit(X, y, epochs=50, validation_split=0.2)
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="4 x 5 x 3 = 60",
        ),
        Invalid(
            """
            import itertools
            import torch

            def sweep(loader):
                for lr, wd, width in itertools.product([1e-1, 1e-2, 1e-3, 1e-4], [0, 1e-4, 1e-2], [64, 128, 256, 512, 1024]):
                    model = torch.nn.Sequential(torch.nn.Linear(10, width), torch.nn.ReLU(), torch.nn.Linear(width, 1))
                    optimizer = torch.optim.SGD(model.parameters(), lr=lr, weight_decay=wd)
                    for epoch in range(20):
                        for x, y in loader:
                            optimizer.zero_grad()
                            torch.nn.functional.mse_loss(model(x), y).backward()
                            optimizer.step()
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="60 combinations",
        ),
    ]

    def check(self, ctx: Context) -> None:
        semantic = ctx.semantic
        threshold = self.settings["min-fits"]
        # A qualified name is spelled in the text (its import or its attributes): without these
        # words no call resolves to a GridSearchCV or a GridSampler.
        searches = semantic.nodes(ast.Call) if "GridSearchCV" in ctx.text or "GridSampler" in ctx.text else ()
        for call in searches:
            name = semantic.call_name(call)
            if name in _GRID_SEARCH or name == _OLD_GRID_SEARCH:
                self._grid_search(ctx, call, name, threshold)
            elif name in _GRID_SAMPLER:
                self._grid_sampler(ctx, call, threshold)
        self._loops(ctx, threshold)

    # ------------------------------------------------------------------ GridSearchCV
    def _grid_search(self, ctx: Context, call: ast.Call, name: str, threshold: int) -> None:
        semantic = ctx.semantic
        grid = call.args[1] if len(call.args) > 1 else _keyword(call, "param_grid")
        if grid is None:
            return
        size = grid_size(semantic, grid)
        if size is None:
            return
        candidates, exact = size
        folds, folds_exact = _folds(semantic, _keyword(call, "cv"))
        fits = candidates * folds
        if fits < threshold or candidates < _MIN_CANDIDATES or _never_used(semantic, call):
            return
        spelled = ast.unparse(call.func)
        counted = f"{candidates} candidates" if exact else f"at least {candidates} candidates"
        if folds_exact:
            counted = f"all {counted} x {folds} folds = {fits} fits" if exact else f"{counted} x {folds} folds = at least {fits} fits"
        else:
            counted = f"all {counted} on each of its cross-validation splits (at least {fits} fits)"
        message = (
            f"`{spelled}` trains {counted} to completion, plus a refit; successive halving "
            f"(`{_HALVING_NAME}`) tries every candidate on small subsamples first and spends full fits only on the best"
        )
        advice = Fix(Applicability.DISPLAY_ONLY, f"Use `{_HALVING_NAME}` (successive halving) or `RandomizedSearchCV` with a fixed `n_iter` on the same grid")
        fix = None if name == _OLD_GRID_SEARCH else _halving_fix(ctx, call)
        ctx.report(call.func, message, fix or advice)

    # ------------------------------------------------------------------ Optuna GridSampler
    def _grid_sampler(self, ctx: Context, call: ast.Call, threshold: int) -> None:
        space = call.args[0] if call.args else _keyword(call, "search_space")
        if space is None:
            return
        size = grid_size(ctx.semantic, space)
        if size is None or size[0] < threshold:
            return
        candidates, exact = size
        counted = f"{candidates} combinations" if exact else f"at least {candidates} combinations"
        ctx.report(
            call.func,
            f"`GridSampler` makes the study train a model for every one of its {counted}, each to completion; "
            "a `TPESampler` with a pruner (`MedianPruner`, `SuccessiveHalvingPruner`) stops unpromising trials early",
            Fix(Applicability.DISPLAY_ONLY, "Use Optuna's default `TPESampler` with a pruner and a trial budget"),
        )

    # ------------------------------------------------------------------ nested loops
    def _loops(self, ctx: Context, threshold: int) -> None:
        semantic = ctx.semantic
        if not semantic.nodes(ast.For) and not semantic.nodes(ast.AsyncFor):
            return  # no `for` loop: no grid dimension
        reported: set[ast.AST] = set()
        training_loops: set[ast.AST] | None = None  # asked for only when needed: step_loops is costly
        cross_validate = _cross_validate_names(semantic)
        grid_loops: dict[ast.AST, bool] = {}
        for call in semantic.nodes(ast.Call):
            func = call.func
            # The callee names that `_trains` can accept, tested inline first (most calls fail).
            if not (func.attr in _TRAINING_ATTRS if isinstance(func, ast.Attribute) else isinstance(func, ast.Name) and func.id in cross_validate):
                continue
            if not _may_be_in_grid_loop(semantic, call, grid_loops):
                continue  # `_hyperparameter_loops` would find no dimension
            if training_loops is None:
                training_loops = {loop for loop, kind in step_loops(semantic).items() if kind == "training"} if "for" in ctx.text else set()
            if not _trains(semantic, call, training_loops, cross_validate):
                continue
            dims = _hyperparameter_loops(semantic, call)
            if not dims:
                continue
            outer = dims[-1][0]
            if outer in reported:
                continue
            lengths = [length for _, lengths in reversed(dims) for length in lengths]
            if len(lengths) < 2:
                continue
            total = math.prod(lengths)
            folds = _folds(semantic, _keyword(call, "cv"))[0] if semantic.call_name(call) in _CROSS_VALIDATE else 1
            if total * folds < threshold:
                continue
            reported.add(outer)
            shown = " x ".join(str(n) for n in lengths)
            per = f" on each of {folds} cross-validation folds ({total * folds} fits)" if folds > 1 else ""
            ctx.report(
                call,
                f"these nested loops train a model to completion for each of {shown} = {total} combinations of literal "
                f"hyper-parameter values{per}; successive halving, a pruned Optuna study or a "
                "random sample of the grid stops unpromising configurations early",
                Fix(Applicability.DISPLAY_ONLY, "Search the grid with early elimination (Optuna with a pruner, successive halving) or a random subset"),
            )


# ---------------------------------------------------------------------------- grid arithmetic
def _keyword(call: ast.Call, name: str) -> ast.AST | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _int(node: ast.AST | None) -> int | None:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _int(node.operand)
        return -inner if inner is not None else None
    return None


def _number(node: ast.AST | None) -> float | None:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        inner = _number(node.operand)
        return None if inner is None else (-inner if isinstance(node.op, ast.USub) else inner)
    return None


def _resolve(semantic: SemanticModel, expr: ast.AST) -> ast.AST | None:
    """The one value a local name is bound to, unless the code mutates it in place."""
    value = semantic.single_value(expr)
    if value is None:
        return None
    found = semantic.lookup(expr.id, expr)
    scope_node = found[0].node if found else None
    for node in ast.walk(scope_node) if scope_node is not None else ():
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store) and isinstance(node.value, ast.Name) and node.value.id == expr.id:
            return None
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == expr.id
            and node.func.attr in ("update", "setdefault", "append", "extend", "insert", "pop", "remove", "clear", "__setitem__")
        ):
            return None
    return value


def sequence_length(semantic: SemanticModel, expr: ast.AST, depth: int = 0) -> int | None:
    """How many values a literal sequence of hyper-parameter values holds: list/tuple/set
    displays, `range`, `np.linspace/logspace/geomspace`, `np.arange` of numbers, `list(...)`,
    a comprehension over one of these, an array scaled by a constant, a name bound once to one."""
    if depth > 4:
        return None
    if isinstance(expr, (ast.List, ast.Tuple, ast.Set)):
        total = 0
        for element in expr.elts:
            if isinstance(element, ast.Starred):
                inner = sequence_length(semantic, element.value, depth + 1)
                if inner is None:
                    return None
                total += inner
            else:
                total += 1
        return total
    if isinstance(expr, ast.Name):
        value = _resolve(semantic, expr)
        return None if value is None else sequence_length(semantic, value, depth + 1)
    if isinstance(expr, (ast.ListComp, ast.GeneratorExp, ast.SetComp)):
        if len(expr.generators) != 1 or expr.generators[0].ifs or isinstance(expr, ast.SetComp):
            return None
        return sequence_length(semantic, expr.generators[0].iter, depth + 1)
    if isinstance(expr, ast.BinOp):
        left, right = sequence_length(semantic, expr.left, depth + 1), sequence_length(semantic, expr.right, depth + 1)
        if left is not None and _number(expr.right) is not None and not isinstance(expr.left, (ast.List, ast.Tuple)):
            return left  # an array times, plus or to the power of a number
        if right is not None and _number(expr.left) is not None and not isinstance(expr.right, (ast.List, ast.Tuple)):
            return right
        if isinstance(expr.op, ast.Add) and isinstance(expr.left, (ast.List, ast.Tuple)) and isinstance(expr.right, (ast.List, ast.Tuple)):
            return None if left is None or right is None else left + right
        return None
    if not isinstance(expr, ast.Call):
        return None
    name = semantic.call_name(expr)
    if name == "builtins.range":
        bounds = [_int(a) for a in expr.args]
        if expr.keywords or not 1 <= len(bounds) <= 3 or None in bounds or (len(bounds) == 3 and bounds[2] == 0):
            return None
        return len(range(*bounds))
    if name in _SEQUENCE_CALLS and len(expr.args) == 1 and not expr.keywords:
        return sequence_length(semantic, expr.args[0], depth + 1)
    if name in _SPACES:
        num = expr.args[2] if len(expr.args) > 2 else _keyword(expr, "num")
        if num is None:
            return 50
        return _int(num)
    if name == "numpy.arange":
        numbers = [_number(a) for a in expr.args]
        if expr.keywords or not 1 <= len(numbers) <= 3 or None in numbers:
            return None
        start, stop, step = (0, numbers[0], 1) if len(numbers) == 1 else (numbers[0], numbers[1], numbers[2] if len(numbers) == 3 else 1)
        if step == 0:
            return None
        return max(0, math.ceil((stop - start) / step))
    return None


def grid_size(semantic: SemanticModel, expr: ast.AST, depth: int = 0) -> tuple[int, bool] | None:
    """(number of candidates, exact) of a parameter grid: a dict of value lists or a list of
    such dicts. A value whose length is unknown counts as one (a lower bound: scikit-learn
    rejects empty value lists). None when not a grid literal."""
    if depth > 4:
        return None
    if isinstance(expr, ast.Name):
        value = _resolve(semantic, expr)
        return None if value is None else grid_size(semantic, value, depth + 1)
    if isinstance(expr, ast.Dict):
        items = [(k, v) for k, v in zip(expr.keys, expr.values)]
        if any(k is None for k, _ in items):  # `**other`
            return None
        values = [v for _, v in items]
    elif isinstance(expr, ast.Call) and semantic.call_name(expr) == "builtins.dict" and not expr.args:
        if any(k.arg is None for k in expr.keywords):
            return None
        values = [k.value for k in expr.keywords]
    elif isinstance(expr, (ast.List, ast.Tuple)):
        total, exact = 0, True
        for element in expr.elts:
            inner = grid_size(semantic, element, depth + 1) if not isinstance(element, ast.Starred) else None
            if inner is None:
                return None
            total += inner[0]
            exact = exact and inner[1]
        return (total, exact) if expr.elts else None
    else:
        return None
    candidates, exact = 1, True
    for value in values:
        length = sequence_length(semantic, value)
        if length is None:
            exact = False
            continue
        candidates *= length
    return candidates, exact


def _folds(semantic: SemanticModel, cv: ast.AST | None, depth: int = 0) -> tuple[int, bool]:
    """(folds, exact) of a `cv=` argument; unknown splitters count as one fold."""
    if cv is None or (isinstance(cv, ast.Constant) and cv.value is None):
        return 5, True  # scikit-learn >= 0.22 default
    number = _int(cv)
    if number is not None:
        return (number, True) if number >= 2 else (1, False)
    if isinstance(cv, ast.Name) and depth < 3:
        value = semantic.single_value(cv)
        if value is not None:
            return _folds(semantic, value, depth + 1)
    if isinstance(cv, ast.Call):
        name = semantic.call_name(cv) or ""
        last = name.rsplit(".", 1)[-1]
        if name.startswith("sklearn.model_selection.") and last in _SPLITTERS:
            splits_default, repeats_default = _SPLITTERS[last]
            splits = _int(cv.args[0]) if cv.args else _int(_keyword(cv, "n_splits")) if _keyword(cv, "n_splits") is not None else splits_default
            repeats = _int(_keyword(cv, "n_repeats")) if _keyword(cv, "n_repeats") is not None else repeats_default
            if splits is not None and repeats is not None and splits >= 1:
                return splits * repeats, True
    return 1, False


# ---------------------------------------------------------------------------- the fix
def _halving_fix(ctx: Context, call: ast.Call) -> Fix | None:
    """`GridSearchCV(...)` -> `HalvingGridSearchCV(..., return_train_score=False)` with the
    experimental enabler imported just above the import that brought GridSearchCV in. None
    when the call uses what a Halving search does not take, or the imports are not plain."""
    semantic = ctx.semantic
    if any(k.arg is None for k in call.keywords) or any(isinstance(a, ast.Starred) for a in call.args) or len(call.args) > 2:
        return None
    keywords = {k.arg: k.value for k in call.keywords}
    if "pre_dispatch" in keywords:
        return None
    scoring = keywords.get("scoring")
    if scoring is not None and not (
        isinstance(scoring, ast.Constant) and (scoring.value is None or isinstance(scoring.value, str))
        or semantic.call_name(scoring) in _FIXABLE_SCORERS
        or isinstance(scoring, ast.Lambda)
        or _is_local_function(semantic, scoring)
    ):
        return None  # several metrics (or unknown): Halving searches score one
    refit = keywords.get("refit")
    if refit is not None and not (isinstance(refit, ast.Constant) and isinstance(refit.value, bool)):
        return None
    func = call.func
    root = func
    while isinstance(root, ast.Attribute):
        root = root.value
    if not isinstance(root, ast.Name):
        return None
    statement = _import_statement(semantic, root)
    if statement is None or not _owns_lines(ctx, statement):
        return None
    edits: list[Edit] = []
    text = ctx.text
    if isinstance(func, ast.Name):
        existing = _local_name_for(semantic, root, _HALVING)
        if existing is not None:
            spelled = existing
            if not _still_used(semantic, func, root.id):
                edits.extend(_drop_alias(ctx, statement, func.id))
        else:
            if semantic.lookup(_HALVING_NAME, func) is not None:
                return None  # the name is taken
            spelled = _HALVING_NAME
            if not isinstance(statement, ast.ImportFrom) or statement.module != "sklearn.model_selection" or statement.level:
                return None
            alias = next((a for a in statement.names if (a.asname or a.name) == func.id), None)
            if alias is None:
                return None
            start, end = ctx.lines.node_range(alias)
            if _still_used(semantic, func, root.id):
                edits.append(Edit(end, end, f", {_HALVING_NAME}"))
            else:
                edits.append(Edit(start, end, _HALVING_NAME))
        start, end = ctx.lines.node_range(func)
        edits.append(Edit(start, end, spelled))
    else:
        if func.attr != "GridSearchCV":
            return None
        _, end = ctx.lines.node_range(func)
        if text[end - len(func.attr) : end] != func.attr:
            return None
        edits.append(Edit(end - len(func.attr), end, _HALVING_NAME))
    if not _enabler_imported(semantic):
        # Above the file's first top-level scikit-learn import (one place for every fix in the
        # file, so two fixes never add it twice), else above the import this call relies on.
        top_level = [s for s in ctx.tree.body if _imports_sklearn(s) and _owns_lines(ctx, s)]
        anchor = next((s for s in top_level if _imports_sklearn(s, "sklearn.model_selection")), top_level[0] if top_level else statement)
        line_start = ctx.lines.line_start(anchor.lineno)
        indent = text[line_start : ctx.lines.offset(anchor.lineno, anchor.col_offset)]
        edits.append(Edit(line_start, line_start, indent + _ENABLER_LINE + newline_of(text)))
    if "return_train_score" not in keywords:
        # GridSearchCV's default; a Halving search would otherwise score every training fold too.
        added = _add_keyword(ctx, call, "return_train_score=False")
        if added is None:
            return None
        edits.append(added)
    return Fix(
        Applicability.UNSAFE,
        f"Use `{_HALVING_NAME}` (successive halving) on the same grid",
        changes_numerics=True,
        build=lambda: edits,
    )


def _add_keyword(ctx: Context, call: ast.Call, keyword: str) -> Edit | None:
    """Insert `keyword` after the call's last argument, keeping its layout: on a line of its
    own when the arguments end with a trailing comma and a line break."""
    text, lines = ctx.text, ctx.lines
    _, end = lines.node_range(call)
    if text[end - 1 : end] != ")":
        return None
    last = max((*call.args, *call.keywords), key=lambda node: lines.node_range(node)[1])
    last_start, last_end = lines.node_range(last)
    gap = text[last_end : end - 1]
    code = re.sub(r"#[^\n]*", "", gap)
    if "," not in code:
        return Edit(last_end, last_end, f", {keyword}")
    if "\n" in gap:
        line_start = lines.line_start(last.lineno)
        indent = text[line_start:last_start]
        if indent.strip():
            return None
        at = last_end + gap.rfind("\n") + 1
        return Edit(at, at, f"{indent}{keyword},{newline_of(text)}")
    at = last_end + code.index(",") + 1
    return Edit(at, at, f" {keyword},")


def _drop_alias(ctx: Context, statement: ast.stmt, local: str) -> list[Edit]:
    """Remove `name` / `name as local` from a `from ... import a, b` list with its comma; no
    edit when it is the statement's only name."""
    if not isinstance(statement, ast.ImportFrom) or len(statement.names) < 2:
        return []
    index = next((i for i, a in enumerate(statement.names) if (a.asname or a.name) == local), None)
    if index is None:
        return []
    text = ctx.text
    start, end = ctx.lines.node_range(statement.names[index])
    if index + 1 < len(statement.names):
        following, _ = ctx.lines.node_range(statement.names[index + 1])
        if "#" in text[end:following]:
            return []
        return [Edit(start, following, "")]
    _, previous = ctx.lines.node_range(statement.names[index - 1])
    if "#" in text[previous:start]:
        return []
    return [Edit(previous, end, "")]


def _is_local_function(semantic: SemanticModel, expr: ast.AST) -> bool:
    """A name bound only to a `def` of this file (a scorer callable), or to a make_scorer call."""
    if not isinstance(expr, ast.Name):
        return False
    found = semantic.lookup(expr.id, expr)
    if found is None or found[1] != "local":
        return False
    values = found[0].bindings[expr.id]
    return bool(values) and all(
        isinstance(v, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) or semantic.call_name(v) in _FIXABLE_SCORERS for v in values
    )


def _never_used(semantic: SemanticModel, call: ast.Call) -> bool:
    """`search = GridSearchCV(...)` whose name is only ever displayed (a bare expression, as in
    a notebook cell showing the estimator diagram), never fitted, passed on or returned."""
    parent = semantic.parent(call)
    if not (isinstance(parent, ast.Assign) and len(parent.targets) == 1 and isinstance(parent.targets[0], ast.Name)):
        return False
    name = parent.targets[0].id
    scope = semantic.scope_of(parent)
    shown = False
    for node in semantic.nodes(ast.Name):
        if node.id != name or not isinstance(node.ctx, ast.Load):
            continue
        if semantic.scope_of(node) is not scope and semantic.lookup(name, node) != (scope, "local"):
            continue
        if not isinstance(semantic.parent(node), ast.Expr):
            return False
        shown = True
    return shown  # no use at all: another module may import it


def _import_statement(semantic: SemanticModel, root: ast.Name) -> ast.stmt | None:
    """The one import statement that binds `root` in the scope where the call finds it."""
    found = semantic.lookup(root.id, root)
    if found is None or found[1] != "import":
        return None
    scope = found[0]
    statements = [
        node
        for kind in (ast.Import, ast.ImportFrom)
        for node in semantic.nodes(kind)
        if semantic.scope_of(node) is scope and any((a.asname or a.name.split(".")[0]) == root.id for a in node.names)
    ]
    if len(statements) > 1 and not all(isinstance(node, ast.Import) for node in statements):
        return None  # `from a import x` and `from b import x`: which one runs depends on the code
    return min(statements, key=lambda node: (node.lineno, node.col_offset)) if statements else None


def _owns_lines(ctx: Context, statement: ast.stmt) -> bool:
    """Nothing but indentation before the statement on its first line, and nothing but a
    comment after it on its last."""
    lines, text = ctx.lines, ctx.text
    start, end = lines.node_range(statement)
    if text[lines.line_start(statement.lineno) : start].strip():
        return False
    rest = text[end : lines.line_end(statement.end_lineno)].strip()
    return not rest or rest.startswith("#")


def _local_name_for(semantic: SemanticModel, near: ast.AST, qualified: str) -> str | None:
    scope = semantic.scope_of(near)
    while scope is not None:
        for local, target in scope.imports.items():
            if target == qualified and local not in scope.bindings:
                return local
        scope = scope.parent
    return None


def _still_used(semantic: SemanticModel, func: ast.Name, name: str) -> bool:
    """Whether the file mentions the imported name anywhere but this call (other calls,
    isinstance checks, `__all__` strings)."""
    for node in semantic.nodes(ast.Name):
        if node is not func and node.id == name:
            return True
    return any(isinstance(c.value, str) and c.value == name for c in semantic.nodes(ast.Constant))


def _imports_sklearn(statement: ast.stmt, package: str = "sklearn") -> bool:
    def within(module: str) -> bool:
        return module == package or module.startswith(package + ".")

    if isinstance(statement, ast.ImportFrom):
        return not statement.level and within(statement.module or "")
    return isinstance(statement, ast.Import) and any(within(a.name) for a in statement.names)


def _enabler_imported(semantic: SemanticModel) -> bool:
    for node in semantic.nodes(ast.ImportFrom):
        if node.module == "sklearn.experimental" and any(a.name == "enable_halving_search_cv" for a in node.names):
            return True
        if node.module == _ENABLER_MODULE:
            return True
    for node in semantic.nodes(ast.Import):
        if any(a.name == _ENABLER_MODULE for a in node.names):
            return True
    return False


# ---------------------------------------------------------------------------- loops of trainings
_CROSS_VALIDATE_LAST = frozenset(name.rsplit(".", 1)[-1] for name in _CROSS_VALIDATE)
# Every method `_trains` accepts.
_TRAINING_ATTRS = _CROSS_VALIDATE_LAST | {"fit", "train", "backward", "step"}


def _cross_validate_names(semantic: SemanticModel) -> frozenset[str]:
    """The local names imported as cross_val_score/cross_validate (in any scope)."""
    return frozenset(local for scope in semantic.scopes.values() for local, target in scope.imports.items() if target in _CROSS_VALIDATE)


def _trains(semantic: SemanticModel, call: ast.Call, training_loops: set[ast.AST], cross_validate: frozenset[str]) -> bool:
    """A call that runs one full training: `.fit` of a scikit-learn/XGBoost/LightGBM/CatBoost
    estimator or a Keras model, `cross_val_score`, `trainer.train()`, or a PyTorch training
    loop (reported at its first backward/step call)."""
    func = call.func
    # Resolve the callee only when its last name can be cross_val_score/cross_validate: an
    # attribute of that name, or a name imported as one (`cross_validate`, the imported locals).
    if isinstance(func, ast.Name):
        return func.id in cross_validate and semantic.call_name(call) in _CROSS_VALIDATE
    if not isinstance(func, ast.Attribute):
        return False
    if func.attr in _CROSS_VALIDATE_LAST and semantic.call_name(call) in _CROSS_VALIDATE:
        return True
    if isinstance(func, ast.Attribute) and func.attr == "fit" and call.args:
        return _is_trainable(semantic, func.value) or any(k.arg == "epochs" for k in call.keywords)
    if isinstance(func, ast.Attribute) and func.attr == "train" and not call.args and isinstance(func.value, ast.Name):
        value = semantic.single_value(func.value)
        called = semantic.call_name(value) or ""
        return called.startswith(("transformers.", "trl.")) and called.endswith("Trainer")
    if isinstance(func, ast.Attribute) and func.attr in ("backward", "step") and training_loops:
        loop = next((lp for lp in semantic.enclosing_loops(call) if lp in training_loops), None)
        if loop is None:
            return False
        first = next((c for c in ast.walk(loop) if isinstance(c, ast.Call) and isinstance(c.func, ast.Attribute) and c.func.attr in ("backward", "step")), None)
        return first is call
    return False


def _is_trainable(semantic: SemanticModel, receiver: ast.AST) -> bool:
    """An estimator or Keras model: built by a call of an estimator class (not a transformer
    such as a scaler or encoder) or a local function that returns a Keras model."""
    value = receiver if isinstance(receiver, ast.Call) else semantic.single_value(receiver) if isinstance(receiver, ast.Name) else None
    if value is None and isinstance(receiver, ast.Name):
        found = semantic.lookup(receiver.id, receiver)
        if found is not None and found[1] == "local":
            values = [v for v in found[0].bindings[receiver.id] if v is not None]
            value = values[-1] if values else None
    if not isinstance(value, ast.Call):
        return False
    name = semantic.call_name(value) or ""
    last = name.rsplit(".", 1)[-1]
    if name.startswith(_ESTIMATOR_PREFIXES) and last[:1].isupper():
        return name.startswith(("sklearn.ensemble.", "sklearn.svm.", "sklearn.neural_network.", "sklearn.linear_model.", "sklearn.neighbors.", "sklearn.tree.", "sklearn.gaussian_process.", "sklearn.kernel_ridge.", "sklearn.naive_bayes.", "sklearn.discriminant_analysis.", "sklearn.pipeline.")) or not name.startswith("sklearn.")
    if _keras_name(name) in _KERAS_MODELS:
        return True
    if isinstance(value.func, ast.Name):
        found = semantic.lookup(value.func.id, value.func)
        if found is not None and found[1] == "local":
            for definition in found[0].bindings[value.func.id]:
                if isinstance(definition, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
                    _keras_name(semantic.call_name(inner) or "") in _KERAS_MODELS for inner in ast.walk(definition) if isinstance(inner, ast.Call)
                ):
                    return True
    return False


def _keras_name(name: str) -> str:
    for prefix in ("tensorflow.python.keras.", "tensorflow.keras.", "tf_keras."):
        if name.startswith(prefix):
            return "keras." + name[len(prefix) :]
    return name


def _may_be_in_grid_loop(semantic: SemanticModel, call: ast.Call, known: dict[ast.AST, bool]) -> bool:
    """False when no `for` loop around the call iterates a grid (`_grid_dimensions`), so that
    `_hyperparameter_loops` is empty; `known` remembers each loop's answer. A loop whose grid
    cannot be measured without an error counts as one (the full check then meets the error)."""
    for loop in semantic.enclosing_loops(call):
        if not isinstance(loop, (ast.For, ast.AsyncFor)):
            continue
        if loop not in known:
            try:
                known[loop] = _grid_dimensions(semantic, loop.iter) is not None
            except Exception:
                known[loop] = True
        if known[loop]:
            return True
    return False


def _hyperparameter_loops(semantic: SemanticModel, call: ast.Call) -> list[tuple[ast.AST, list[int]]]:
    """The `for` loops around the call (innermost first, up to its function) that iterate a
    literal grid and whose target the loop body reads, with the length of each grid dimension
    (`itertools.product` and `ParameterGrid` give several). Other loops around the training
    (epochs, folds, seeds, datasets) are passed over."""
    found: list[tuple[ast.AST, list[int]]] = []
    for loop in semantic.enclosing_loops(call):
        if isinstance(loop, FUNCTION_NODES):
            break
        if not isinstance(loop, (ast.For, ast.AsyncFor)):
            continue
        lengths = _grid_dimensions(semantic, loop.iter)
        if lengths is None:
            continue  # an epoch, fold or data loop: skipped, not a grid dimension
        targets = {n.id for n in ast.walk(loop.target) if isinstance(n, ast.Name)}
        if any(_NOT_HYPERPARAMETER.search(t) for t in targets):
            continue
        body_reads = {n.id for stmt in loop.body for n in ast.walk(stmt) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        if not targets & body_reads:
            continue  # repeats, not a hyper-parameter
        found.append((loop, lengths))
    return found


def _grid_dimensions(semantic: SemanticModel, iterable: ast.AST) -> list[int] | None:
    """[4] for a literal list of 4 values, [3, 5] for `itertools.product(a3, b5)` or a
    ParameterGrid of two lists; None for `range(...)` (epochs, seeds, folds) and unknowns."""
    if isinstance(iterable, ast.Call):
        name = semantic.call_name(iterable)
        if name == "builtins.range":
            return None
        if name == "builtins.enumerate" and iterable.args:
            return _grid_dimensions(semantic, iterable.args[0])
        if name == _PRODUCT:
            if iterable.keywords or not iterable.args:
                return None
            lengths = [sequence_length(semantic, a) for a in iterable.args]
            return None if None in lengths else lengths  # type: ignore[return-value]
        if name in _PARAMETER_GRID and iterable.args:
            grid = iterable.args[0]
            if isinstance(grid, ast.Name):
                grid = _resolve(semantic, grid)
            if isinstance(grid, ast.Dict) and all(k is not None for k in grid.keys):
                lengths = [sequence_length(semantic, v) for v in grid.values]
                return None if None in lengths else lengths  # type: ignore[return-value]
            return None
    if isinstance(iterable, ast.Name):
        value = _resolve(semantic, iterable)
        if isinstance(value, ast.Call) and semantic.call_name(value) in (_PRODUCT, *_PARAMETER_GRID):
            return _grid_dimensions(semantic, value)
    if isinstance(iterable, (ast.List, ast.Tuple)) and any(isinstance(e, (ast.Tuple, ast.List, ast.Dict)) for e in iterable.elts):
        return None  # a list of configurations or of datasets
    length = sequence_length(semantic, iterable)
    if length is None or length < 2:
        return None
    if isinstance(iterable, ast.Call) and semantic.call_name(iterable) in ("builtins.list", "builtins.tuple"):
        inner = iterable.args[0] if iterable.args else None
        if isinstance(inner, ast.Call) and semantic.call_name(inner) == "builtins.range":
            return None
    return [length]
