"""GL501 debug-mode-left-on: autograd anomaly detection, a schedule-less profiler around a whole
training run, gradcheck in training code, TensorFlow's eager-debug switch and Lightning's debug
options, left on in a normal run."""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING

from greenlint.diagnostics import Applicability, Edit, Fix, FixUnavailable, minimal_edit
from greenlint.rules.base import INCLUDE_TESTS, Invalid, Rule, Valid, register
from greenlint.semantic import (
    FUNCTION_NODES,
    SemanticModel,
    looks_like_optimizer,
    step_loop_around,
    step_loops,
)

if TYPE_CHECKING:
    from greenlint.engine import Context

_ANOMALY_SETTERS = frozenset(
    {"torch.autograd.set_detect_anomaly", "torch.autograd.anomaly_mode.set_detect_anomaly", "torch.set_anomaly_enabled"}
)
_ANOMALY_CONTEXTS = frozenset({"torch.autograd.detect_anomaly", "torch.autograd.anomaly_mode.detect_anomaly"})
# Profilers that take a `schedule=` (record a few steps) and the legacy one that cannot.
_SCHEDULED_PROFILERS = frozenset({"torch.profiler.profile", "torch.profiler.profiler.profile"})
_LEGACY_PROFILERS = frozenset({"torch.autograd.profiler.profile", "torch.autograd.profiler_legacy.profile"})
_GRADCHECKS = frozenset(
    {
        "torch.autograd.gradcheck",
        "torch.autograd.gradgradcheck",
        "torch.autograd.gradcheck.gradcheck",
        "torch.autograd.gradcheck.gradgradcheck",
    }
)
_TF_EAGER = frozenset(
    {
        "tensorflow.config.run_functions_eagerly",
        "tensorflow.config.experimental_run_functions_eagerly",
        "tensorflow.compat.v1.config.run_functions_eagerly",
        "tensorflow.compat.v1.config.experimental_run_functions_eagerly",
    }
)
_LIGHTNING_TRAINERS = frozenset(
    f"{package}.{path}"
    for package in ("lightning", "lightning.pytorch", "pytorch_lightning")
    for path in ("Trainer", "trainer.Trainer", "trainer.trainer.Trainer")
)
_ADVANCED_PROFILERS = frozenset(
    f"{package}.{path}.AdvancedProfiler"
    for package in ("lightning.pytorch", "pytorch_lightning")
    for path in ("profilers", "profilers.advanced", "profiler", "profiler.advanced")
)
_CALLEE_LAST = frozenset(
    name.rsplit(".", 1)[-1]
    for names in (_ANOMALY_SETTERS, _ANOMALY_CONTEXTS, _SCHEDULED_PROFILERS, _LEGACY_PROFILERS, _GRADCHECKS, _TF_EAGER, _LIGHTNING_TRAINERS)
    for name in names
)
# Files and functions whose purpose is debugging, profiling or benchmarking.
_DEBUG_PATH = re.compile(r"(^|[/\\_.-])(debug\w*|profil\w*|bench\w*)([/\\_.-]|$)", re.IGNORECASE)
_DEBUG_FUNCTION = re.compile(r"(^|_)(debug\w*|profil\w*|bench\w*|anomal\w*|nan|nans|check\w*|diagnos\w*|test\w*|verify|validate)(_|$)", re.IGNORECASE)
# Calls that run a training loop or a whole training program.
_TRAIN_CALL = re.compile(
    r"^_?(train|fit|run_train|do_train|run_training)(_one|_single)?"
    r"(_epoch|_epochs|_model|_net|_network|_loop|_and_eval|_and_evaluate)?$|^_?training_(loop|epoch)$"
)
_PROGRAM_CALL = frozenset({"main", "run", "run_experiment", "experiment"})
_TRAIN_METHODS = frozenset({"backward", "manual_backward", "fit", "fit_generator", "train_on_batch"})
_STEP_FUNCTION = re.compile(r"^_?(train|training)_(step|batch|iteration|iter)$|^_?step_fn$")
_STEP_HOOKS = frozenset({"training_step", "on_before_backward", "on_after_backward", "on_before_optimizer_step", "optimizer_step"})
# A loop of at most this many literal iterations around a profiled training step is a
# deliberate short profile, not a whole run.
_SHORT_PROFILE = 100


@register
class DebugModeLeftOn(Rule):
    """
    ## What it does
    Flags debugging switches that slow every step of a normal run: autograd anomaly detection
    (`set_detect_anomaly(True)`, `with detect_anomaly():` around training), a profiler without
    `schedule=` wrapping a training run, `gradcheck`/`gradgradcheck` in training code,
    `tf.config.run_functions_eagerly(True)`, and Lightning's `Trainer(detect_anomaly=True)` /
    `Trainer(profiler="advanced")`.

    ## Fix
    Removes the switch (unsafe: the run no longer gets the debugging aid): deletes the
    statement, unwraps the `with` block, or drops the keyword argument.
    """

    code = "GL501"
    name = "debug-mode-left-on"
    summary = "A debugging mode (anomaly detection, profiler, gradcheck, eager TF) is left on in a normal run"
    impact = "high"
    evidence = "Anomaly detection: ~22 -> 52-57 s/epoch VGG16-BN/CIFAR-10 (pytorch/ignite #219), 2.5x (Lightning #17359); autograd profiler 23 -> 43 ms/iteration (facebookresearch/dlrm #197)."
    frameworks = ("torch", "tensorflow", "lightning")
    # Every switch is spelled with one of these: (set_)detect_anomaly/set_anomaly_enabled and
    # Trainer(detect_anomaly=), profile(r), (grad)gradcheck, run_functions_eagerly.
    requires = ("anomaly", "profile", "gradcheck", "eagerly")
    fix_applicability = Applicability.UNSAFE
    options = {"include-tests": INCLUDE_TESTS}

    VALID = [
        Valid(
            """
            import torch

            if args.debug:
                torch.autograd.set_detect_anomaly(True)
            train(model, loader)
            """,
            why="behind a debug flag",
        ),
        Valid(
            """
            import torch

            torch.autograd.set_detect_anomaly(args.detect_anomaly)
            torch.autograd.set_detect_anomaly(False)
            torch.autograd.profiler.profile(enabled=False)
            """,
            why="a runtime flag, or switched off",
        ),
        Valid(
            """
            import torch

            def train(model, loader, optimizer):
                for x, y in loader:
                    loss = model(x, y)
                    loss.backward()
                    optimizer.step()
            """,
            filename="tests/test_training.py",
            why="test files are skipped by default",
        ),
        Valid(
            """
            import torch

            with torch.profiler.profile(
                schedule=torch.profiler.schedule(wait=1, warmup=1, active=3),
                on_trace_ready=torch.profiler.tensorboard_trace_handler("./log"),
            ) as prof:
                for x, y in loader:
                    model(x).sum().backward()
                    optimizer.step()
                    prof.step()
            """,
            why="a profiler with a schedule records only a few steps",
        ),
        Valid(
            """
            import torch

            with torch.profiler.profile(record_shapes=True) as prof:
                for _ in range(10):
                    model(x).sum().backward()
                    optimizer.step()
            print(prof.key_averages().table())
            """,
            why="a deliberate profile of ten steps",
        ),
        Valid(
            """
            import torch

            with torch.autograd.profiler.profile() as prof:
                with torch.no_grad():
                    model(x)
            """,
            why="profiles one inference call, no training",
        ),
        Valid(
            """
            import torch

            def check_gradients(fn, inputs):
                return torch.autograd.gradcheck(fn, inputs)

            class Square(torch.autograd.Function):
                pass

            if __name__ == "__main__":
                x = torch.randn(4, dtype=torch.double, requires_grad=True)
                assert torch.autograd.gradcheck(Square.apply, (x,))
            """,
            why="gradcheck outside training code",
        ),
        Valid(
            """
            import torch

            def debug_nans():
                torch.autograd.set_detect_anomaly(True)
            """,
            why="a helper whose purpose is debugging",
        ),
        Valid(
            """
            import torch

            torch.autograd.set_detect_anomaly(True)
            """,
            filename="tools/debug_training.py",
            why="a debugging script",
        ),
        Valid(
            """
            import torch

            def train(model, loader, optimizer):
                torch.autograd.set_detect_anomaly(True)
                first_batch_check(model, loader)
                torch.autograd.set_detect_anomaly(False)
                for x, y in loader:
                    model(x, y).backward()
                    optimizer.step()
            """,
            why="switched off again in the same function",
        ),
        Valid(
            """
            import lightning as L

            trainer = L.Trainer(max_epochs=10, profiler="simple", detect_anomaly=args.debug)
            trainer.fit(model)
            """,
            why="a cheap timing profiler and a runtime flag",
        ),
        Valid(
            """
            from pytorch_lightning import Trainer

            Trainer(fast_dev_run=True, detect_anomaly=True, profiler="advanced").fit(model)
            """,
            why="a fast_dev_run is a debugging run",
        ),
        Valid(
            """
            import tensorflow as tf

            tf.config.run_functions_eagerly(False)
            if args.eager:
                tf.config.run_functions_eagerly(True)
            """,
            why="off, or behind a flag",
        ),
        Valid(
            """
            import torch

            for step in range(100):
                loss = model(x)
                loss.backward()
                optimizer.step()
                if step == 0:
                    torch.autograd.gradcheck(layer, (probe,))
            """,
            why="gradcheck on the first step only",
        ),
        Valid(
            """
            import torch

            def main(model, batch):
                loss = model(batch).sum()
                with torch.autograd.detect_anomaly():
                    loss.backward()
                inspect(model)

            if __name__ == "__main__":
                main(build(), load_batch())
            """,
            why="one backward pass in a one-off debugging script, not a training run",
        ),
        Valid(
            """
            import torch

            with torch.profiler.profile(record_shapes=True) as prof:
                train_step(model, batch)
            print(prof.key_averages().table(sort_by="cpu_time_total"))
            """,
            why="a deliberate profile of one training step",
        ),
    ]
    INVALID = [
        Invalid(
            """
            import torch

            # find the NaN
            torch.autograd.set_detect_anomaly(True)  # TODO remove
            model = build()
            train(model)
            """,
            fixed="""
            import torch

            # find the NaN
            model = build()
            train(model)
            """,
            applicability=Applicability.UNSAFE,
            changes_numerics=False,
            message="anomaly detection",
        ),
        Invalid(
            """
            import torch as T

            def train(model, loader, optimizer):
                model.train()
                with T.autograd.detect_anomaly():
                    for x, y in loader:
                        # one step
                        loss = model(x, y)
                        loss.backward()
                        optimizer.step()
                return model
            """,
            fixed="""
            import torch as T

            def train(model, loader, optimizer):
                model.train()
                for x, y in loader:
                    # one step
                    loss = model(x, y)
                    loss.backward()
                    optimizer.step()
                return model
            """,
            applicability=Applicability.UNSAFE,
        ),
        Invalid(
            """
            import torch

            def fit(self):
                for epoch in range(self.epochs):
                    for data in self.train_loader:
                        with torch.autograd.detect_anomaly():
                            self.optimizer.zero_grad()
                            loss = self.loss_func(self.model(data), data.y)
                            loss.backward()
                            self.optimizer.step()
            """,
            fixed="""
            import torch

            def fit(self):
                for epoch in range(self.epochs):
                    for data in self.train_loader:
                        self.optimizer.zero_grad()
                        loss = self.loss_func(self.model(data), data.y)
                        loss.backward()
                        self.optimizer.step()
            """,
            applicability=Applicability.UNSAFE,
            message="every step of the training loop at line 5",
        ),
        Invalid(
            """
            from torch.autograd import set_detect_anomaly

            with set_detect_anomaly(mode=True), open("log.txt", "w") as log:
                fit(model, loader, log)
            """,
            fixed="""
            from torch.autograd import set_detect_anomaly

            with open("log.txt", "w") as log:
                fit(model, loader, log)
            """,
            applicability=Applicability.UNSAFE,
        ),
        Invalid(
            """
            import torch

            def main(model, loader, optimizer, epochs):
                with torch.profiler.profile(record_shapes=True, profile_memory=True, with_stack=True):
                    for epoch in range(epochs):
                        for x, y in loader:
                            optimizer.zero_grad()
                            model(x, y).backward()
                            optimizer.step()
            """,
            fixed="""
            import torch

            def main(model, loader, optimizer, epochs):
                for epoch in range(epochs):
                    for x, y in loader:
                        optimizer.zero_grad()
                        model(x, y).backward()
                        optimizer.step()
            """,
            applicability=Applicability.UNSAFE,
            message="schedule",
        ),
        Invalid(
            """
            import torch

            with torch.autograd.profiler.profile(use_cuda=True) as prof:
                train(model, loader, epochs=90)
            prof.export_chrome_trace("trace.json")
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="profiler",
        ),
        Invalid(
            """
            import torch
            from torch.autograd import gradcheck

            def train(model, loader, optimizer):
                for x, y in loader:
                    assert gradcheck(model.head, (x.double().requires_grad_(),))
                    loss = model(x, y)
                    loss.backward()
                    optimizer.step()
            """,
            fixed="""
            import torch
            from torch.autograd import gradcheck

            def train(model, loader, optimizer):
                for x, y in loader:
                    loss = model(x, y)
                    loss.backward()
                    optimizer.step()
            """,
            applicability=Applicability.UNSAFE,
            message="every step",
        ),
        Invalid(
            """
            import tensorflow as tf

            tf.config.run_functions_eagerly(True)
            model.fit(x, y, epochs=10)
            """,
            fixed="""
            import tensorflow as tf

            model.fit(x, y, epochs=10)
            """,
            applicability=Applicability.UNSAFE,
            changes_numerics=True,
        ),
        Invalid(
            """
            import pytorch_lightning as pl

            trainer = pl.Trainer(
                max_epochs=100,
                detect_anomaly=True,  # chasing a NaN
                profiler="advanced",
            )
            trainer.fit(model, datamodule)
            """,
            fixed="""
            import pytorch_lightning as pl

            trainer = pl.Trainer(
                max_epochs=100,
            )
            trainer.fit(model, datamodule)
            """,
            count=2,
            applicability=Applicability.UNSAFE,
        ),
        Invalid(
            """
            from lightning.pytorch import Trainer
            from lightning.pytorch.profilers import AdvancedProfiler

            trainer = Trainer(profiler=AdvancedProfiler(dirpath="."), max_epochs=3)
            """,
            fixed="""
            from lightning.pytorch import Trainer
            from lightning.pytorch.profilers import AdvancedProfiler

            trainer = Trainer(max_epochs=3)
            """,
            applicability=Applicability.UNSAFE,
        ),
        Invalid(
            """
            import torch

            def setup():
                torch.autograd.set_detect_anomaly(True)
            """,
            applicability=Applicability.DISPLAY_ONLY,
        ),
    ]

    def check(self, ctx: Context) -> None:
        semantic = ctx.semantic
        if _DEBUG_PATH.search(ctx.filename.replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0]) or _debug_folder(ctx.filename):
            return
        # A qualified name's last part is the callee's attribute or the imported name.
        aliases = {local for scope in semantic.scopes.values() for local, target in scope.imports.items() if target.rsplit(".", 1)[-1] in _CALLEE_LAST}
        for call in semantic.nodes(ast.Call):
            func = call.func
            if not (func.attr in _CALLEE_LAST if isinstance(func, ast.Attribute) else isinstance(func, ast.Name) and func.id in aliases):
                continue  # none of the callees below: skip resolving its name
            name = semantic.call_name(call)
            if name is None:
                continue
            if name in _ANOMALY_SETTERS:
                if _literal_true(_argument(call, 0, "mode", "enabled")):
                    self._anomaly(ctx, call, name)
            elif name in _ANOMALY_CONTEXTS:
                self._context(ctx, call, "anomaly")
            elif name in _SCHEDULED_PROFILERS:
                schedule = _argument(call, None, "schedule")
                unknown = any(k.arg is None for k in call.keywords)  # `**options` may hold a schedule
                if not unknown and (schedule is None or (isinstance(schedule, ast.Constant) and schedule.value is None)):
                    self._context(ctx, call, "profiler")
            elif name in _LEGACY_PROFILERS:
                enabled = _argument(call, 0, "enabled")
                unknown = any(k.arg is None for k in call.keywords) or any(isinstance(a, ast.Starred) for a in call.args)
                if not unknown and (enabled is None or _literal_true(enabled)):
                    self._context(ctx, call, "profiler")
            elif name in _GRADCHECKS:
                self._gradcheck(ctx, call, name)
            elif name in _TF_EAGER:
                if _literal_true(_argument(call, 0, "run_eagerly")) and not _silenced(semantic, call) and not _switched_off_later(semantic, call, _TF_EAGER):
                    ctx.report(
                        call,
                        f"`{_short(call)}` runs every `tf.function` eagerly, op by op, instead of as a traced graph: "
                        "TensorFlow's documentation says to avoid it in production because it significantly slows down execution",
                        _statement_fix(ctx, call, "Remove the eager-debug switch", numerics=True),
                    )
            elif name in _LIGHTNING_TRAINERS:
                self._lightning(ctx, call)

    # ------------------------------------------------------------------ anomaly detection
    def _anomaly(self, ctx: Context, call: ast.Call, name: str) -> None:
        semantic = ctx.semantic
        parent = semantic.parent(call)
        if isinstance(parent, ast.withitem):
            self._context(ctx, call, "anomaly")
            return
        if _silenced(semantic, call) or _switched_off_later(semantic, call, _ANOMALY_SETTERS):
            return
        ctx.report(
            call,
            f"`{_short(call)}` turns on autograd anomaly detection for every later backward pass: it records a stack "
            "trace for every autograd node and checks every gradient for NaN, which PyTorch says is for debugging only",
            _statement_fix(ctx, call, "Remove the anomaly-detection switch (or put it behind a debug flag)"),
        )

    # ------------------------------------------------------------------ with-blocks
    def _context(self, ctx: Context, call: ast.Call, kind: str) -> None:
        semantic = ctx.semantic
        item = semantic.parent(call)
        if not isinstance(item, ast.withitem):
            return
        block = semantic.parent(item)
        if not isinstance(block, ast.With) or _silenced(semantic, block):
            return
        where = _training_in(semantic, block)
        if where is None:
            return
        if kind == "profiler" and _short_profile(semantic, block):
            return
        if kind == "anomaly":
            message = (
                f"`{_short(call)}` keeps autograd anomaly detection on {where}: every backward pass records stack "
                "traces and checks for NaN, which PyTorch says is for debugging only"
            )
            advice = "Remove anomaly detection from the training run (or enable it behind a debug flag)"
        else:
            message = (
                f"`{_short(call)}` without `schedule=` records every operator {where}; profile a few steps with "
                "`schedule=torch.profiler.schedule(...)`, or only when a profiling flag is set"
            )
            advice = "Remove the profiler from the training run, or give it a schedule"
        ctx.report(call, message, _unwrap_fix(ctx, block, item, advice))

    # ------------------------------------------------------------------ gradcheck
    def _gradcheck(self, ctx: Context, call: ast.Call, name: str) -> None:
        semantic = ctx.semantic
        if _silenced(semantic, call):
            return
        short = name.rsplit(".", 1)[-1]
        loop = step_loop_around(semantic, call)
        if loop is not None and step_loops(semantic).get(loop) == "training":
            where = f"on every step of the training loop at line {loop.lineno}"
        else:
            function = semantic.enclosing_function(call)
            scope = function if function is not None else semantic.tree
            if not _trains(semantic, scope):
                return
            where = "on every training run" if function is None else f"on every call of `{getattr(function, 'name', 'lambda')}`, which trains"
        ctx.report(
            call,
            f"`{short}(...)` runs numerical gradient checking {where}: it evaluates the function twice per input "
            "element by finite differences, in float64; PyTorch lists it among the debugging APIs to disable for training",
            _statement_fix(ctx, call, f"Remove `{short}` from training code (keep it in a test)"),
        )

    # ------------------------------------------------------------------ Lightning
    def _lightning(self, ctx: Context, call: ast.Call) -> None:
        semantic = ctx.semantic
        if _silenced(semantic, call) or _debug_run(call):
            return
        for keyword in call.keywords:
            if keyword.arg == "detect_anomaly" and _literal_true(keyword.value):
                message = (
                    "`Trainer(detect_anomaly=True)` runs the whole fit under autograd anomaly detection (stack traces "
                    "for every autograd node, NaN checks on every gradient); Lightning warns that it slows training"
                )
            elif keyword.arg == "profiler" and _advanced_profiler(semantic, keyword.value):
                message = (
                    "`Trainer(profiler=\"advanced\")` runs cProfile around every hook and step of the whole fit; "
                    "use it on a short debugging run (or `profiler=\"simple\"`), not in a normal run"
                )
            else:
                continue
            edit = _keyword_edit(ctx, call, keyword)
            advice = f"Remove `{keyword.arg}=` from the Trainer"
            fix = Fix(Applicability.DISPLAY_ONLY, advice) if edit is None else Fix(Applicability.UNSAFE, advice, build=lambda edit=edit: [edit])
            ctx.report(keyword, message, fix)


# ---------------------------------------------------------------------------- facts
def _argument(call: ast.Call, position: int | None, *names: str) -> ast.AST | None:
    for keyword in call.keywords:
        if keyword.arg in names:
            return keyword.value
    if position is not None and len(call.args) > position and not any(isinstance(a, ast.Starred) for a in call.args[: position + 1]):
        return call.args[position]
    return None


def _debug_run(call: ast.Call) -> bool:
    """`Trainer(fast_dev_run=...)`: a debugging run of a few batches, where debug options belong."""
    for keyword in call.keywords:
        if keyword.arg == "fast_dev_run":
            value = keyword.value
            return not (isinstance(value, ast.Constant) and value.value in (False, 0, None))
    return False


def _literal_true(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def _advanced_profiler(semantic: SemanticModel, value: ast.AST) -> bool:
    if isinstance(value, ast.Constant):
        return value.value == "advanced"
    return isinstance(value, ast.Call) and semantic.call_name(value) in _ADVANCED_PROFILERS


def _debug_folder(filename: str) -> bool:
    """The file's own folder is named for debugging, profiling or benchmarking (only the nearest
    folder: a checkout under `~/benchmarking/` says nothing about its files)."""
    folders = filename.replace("\\", "/").split("/")[:-1]
    return bool(folders) and bool(_DEBUG_PATH.search(folders[-1]))


def _is_main_guard(test: ast.AST) -> bool:
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and len(test.comparators) == 1
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value == "__main__"
    )


def _guarded(semantic: SemanticModel, node: ast.AST) -> bool:
    """Under a condition within its function or module: `if args.debug:`, `if __debug__:`, an
    env-var check, a conditional expression or `and`/`or`; `if __name__ == "__main__":` does not count."""
    child = node
    for ancestor in semantic.ancestors(node):
        if isinstance(ancestor, (*FUNCTION_NODES, ast.ClassDef)):
            return False
        if isinstance(ancestor, ast.If) and child is not ancestor.test and not _is_main_guard(ancestor.test):
            return True
        if isinstance(ancestor, (ast.IfExp, ast.BoolOp, ast.Match, ast.ExceptHandler)):
            return True
        child = ancestor
    return False


def _silenced(semantic: SemanticModel, node: ast.AST, _depth: int = 0) -> bool:
    """Guarded here, inside a function named for debugging or profiling, or in a function whose
    every call in this file is guarded."""
    if _guarded(semantic, node):
        return True
    function = semantic.enclosing_def(node)
    if function is None:
        return False
    if _DEBUG_FUNCTION.search(function.name):
        return True
    if _depth >= 2:
        return False
    sites = semantic.call_sites(function.name)
    return bool(sites) and all(_silenced(semantic, site, _depth + 1) for site in sites)


def _switched_off_later(semantic: SemanticModel, call: ast.Call, setters: frozenset[str]) -> bool:
    """The same switch set to `False` later in the same function (or module code): a bracketed
    region, such as `set_detect_anomaly(True)` ... `set_detect_anomaly(False)`."""
    function = semantic.enclosing_function(call)
    scope = function if function is not None else semantic.tree
    for node in semantic.scope_calls(scope):
        if (node.lineno, node.col_offset) <= (call.lineno, call.col_offset):
            continue
        if semantic.call_name(node) in setters:
            flag = _argument(node, 0, "mode", "enabled", "run_eagerly")
            if isinstance(flag, ast.Constant) and flag.value is False:
                return True
    return False


def _calls_in(nodes: list[ast.stmt]):
    for stmt in nodes:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Call):
                yield node


def _training_call(semantic: SemanticModel, call: ast.Call, file_trains: bool) -> bool:
    func = call.func
    last = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    if isinstance(func, ast.Attribute):
        if last in _TRAIN_METHODS:
            return True
        if last == "step" and looks_like_optimizer(func.value):
            return True
        if last == "train":  # `trainer.train()`, not `model.train()`
            receiver = func.value.attr if isinstance(func.value, ast.Attribute) else func.value.id if isinstance(func.value, ast.Name) else ""
            return "trainer" in receiver.lower()
    if _TRAIN_CALL.match(last):
        return True  # `train(model, loader)`, `train_one_epoch(...)`, `self.fit(...)`
    return file_trains and last in _PROGRAM_CALL


def _file_trains(semantic: SemanticModel) -> bool:
    cache = semantic.rule_cache.setdefault("GL501", {})
    if "trains" not in cache:
        cache["trains"] = _trains(semantic, semantic.tree) or any(
            semantic.uses_autograd(f) for kind in (ast.FunctionDef, ast.AsyncFunctionDef) for f in semantic.nodes(kind)
        )
    return cache["trains"]


def _trains(semantic: SemanticModel, scope: ast.AST) -> bool:
    """Whether the scope runs training itself: a backward, an optimizer step, fit."""
    for call in semantic.scope_calls(scope):
        func = call.func
        if isinstance(func, ast.Attribute) and (func.attr in _TRAIN_METHODS or (func.attr == "step" and looks_like_optimizer(func.value))):
            return True
    return False


def _is_step(call: ast.Call) -> bool:
    """One training step: a backward, an optimizer step, a `train_step(...)` helper."""
    func = call.func
    if isinstance(func, ast.Attribute) and (func.attr in ("backward", "manual_backward") or (func.attr == "step" and looks_like_optimizer(func.value))):
        return True
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    return bool(_STEP_FUNCTION.match(name))


def _training_in(semantic: SemanticModel, block: ast.With) -> str | None:
    """How the with-block covers a training run, or None: it wraps a training loop or a call of
    a training function, or it runs a step itself on every step (in a step loop, in a step
    function, or in a function called in a loop). One backward in a one-off script is not a run."""
    file_trains = _file_trains(semantic)
    steps = []
    for call in _calls_in(block.body):
        if _is_step(call):
            steps.append(call)
            if any(isinstance(a, (ast.For, ast.While, ast.AsyncFor)) for a in _ancestors_until(semantic, call, block)):
                return "around every step of the training loop in this block"
        elif _training_call(semantic, call, file_trains):
            return f"around the whole `{_short(call)}` run"
    if not steps:
        return None
    loop = step_loop_around(semantic, block)
    if loop is not None and step_loops(semantic).get(loop) == "training":
        return f"on every step of the training loop at line {loop.lineno}"
    function = semantic.enclosing_def(block)
    if function is None:
        return None
    if _STEP_FUNCTION.match(function.name) or (function.name in _STEP_HOOKS and isinstance(semantic.parent(function), ast.ClassDef)):
        return f"in `{function.name}`, on every training step"
    if any(semantic.enclosing_loops(site) for site in semantic.call_sites(function.name)):
        return f"in `{function.name}`, which this file calls in a loop"
    return None


def _ancestors_until(semantic: SemanticModel, node: ast.AST, top: ast.AST):
    for ancestor in semantic.ancestors(node):
        if ancestor is top:
            return
        yield ancestor


def _short_profile(semantic: SemanticModel, block: ast.With) -> bool:
    """Every training call in the block sits in a loop bounded by a small literal `range(...)`
    or with a `break`: a deliberate profile of a few steps."""
    found = False
    file_trains = _file_trains(semantic)
    for call in _calls_in(block.body):
        if not _is_step(call) and not _training_call(semantic, call, file_trains):
            continue
        found = True
        bounded = False
        for ancestor in semantic.ancestors(call):
            if ancestor is block:
                break
            if isinstance(ancestor, (ast.For, ast.While)) and _bounded(ancestor):
                bounded = True
                break
        if not bounded:
            return False
    return found


def _bounded(loop: ast.AST) -> bool:
    if isinstance(loop, ast.For):
        it = loop.iter
        if isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id == "range" and 1 <= len(it.args) <= 3:
            values = [a.value for a in it.args if isinstance(a, ast.Constant) and type(a.value) is int]
            if len(values) == len(it.args) and (len(values) < 3 or values[2] != 0) and len(range(*values)) <= _SHORT_PROFILE:
                return True
    # A `break` directly in this loop (not in a nested one): it stops after some steps.
    stack = list(loop.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Break):
            return True
        if isinstance(node, (ast.For, ast.While, ast.AsyncFor, *FUNCTION_NODES, ast.ClassDef)):
            continue
        stack.extend(ast.iter_child_nodes(node))
    return False


def _short(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 50 else text[:47] + "..."


# ---------------------------------------------------------------------------- fixes
def _statement_fix(ctx: Context, call: ast.Call, message: str, numerics: bool = False) -> Fix:
    """Delete the statement that is only this call (`f(...)` or `assert f(...)`), with its line,
    when it stands alone on its lines and is not the only statement of its block."""
    semantic = ctx.semantic
    advice = Fix(Applicability.DISPLAY_ONLY, message, changes_numerics=numerics)
    statement = semantic.parent(call)
    if not (isinstance(statement, ast.Expr) or (isinstance(statement, ast.Assert) and statement.test is call and statement.msg is None)):
        return advice
    found = semantic.body_containing(statement)
    if found is None or len(found[0]) < 2:
        return advice
    edit = _line_removal(ctx, statement)
    if edit is None:
        return advice
    return Fix(Applicability.UNSAFE, message, changes_numerics=numerics, build=lambda: [edit])


def _line_removal(ctx: Context, statement: ast.stmt) -> Edit | None:
    text, lines = ctx.text, ctx.lines
    first, last = statement.lineno, statement.end_lineno
    start = lines.line_start(first)
    if text[start : lines.offset(first, statement.col_offset)].strip():
        return None  # shares its first line (`x = 1; f()`)
    _, end = lines.node_range(statement)
    trailing = text[end : lines.line_end(last)]
    if trailing.strip() and not trailing.strip().startswith("#"):
        return None
    stop = lines.line_starts[last] if last < len(lines.line_starts) else len(text)
    return Edit(start, stop, "")


def _name_used_elsewhere(semantic: SemanticModel, item: ast.withitem) -> bool:
    """The item binds `as NAME` and NAME is read somewhere in the file (`prof.export_chrome_trace`)."""
    target = item.optional_vars
    if target is None:
        return False
    if not isinstance(target, ast.Name):
        return True
    return any(node.id == target.id and node is not target for node in semantic.nodes(ast.Name))


def _unwrap_fix(ctx: Context, block: ast.With, item: ast.withitem, message: str) -> Fix:
    """Drop the with-item; when it is the only one, replace the block by its body."""
    semantic = ctx.semantic
    advice = Fix(Applicability.DISPLAY_ONLY, message)
    if _name_used_elsewhere(semantic, item):
        return advice
    index = next(i for i, it in enumerate(block.items) if it is item)
    if len(block.items) == 1 and (
        block.body[0].lineno == block.lineno or semantic.body_containing(block) is None or _header_comment(ctx, block)
    ):
        return advice  # `with x: body()` on one line, or a comment on the header that would be lost
    line = block.lineno

    def build() -> list[Edit]:
        from greenlint.rules._gl501_cst import Unwrap  # libcst only when a fix is built

        return [_cst_edit(ctx, Unwrap(ctx.cst()[1], line, index))]

    return Fix(Applicability.UNSAFE, message, build=build)


def _header_comment(ctx: Context, block: ast.With) -> bool:
    """A `#` anywhere from `with` to the end of the line holding its colon."""
    text, lines = ctx.text, ctx.lines
    last = block.items[-1]
    _, after = lines.node_range(last.optional_vars if last.optional_vars is not None else last.context_expr)
    colon = text.find(":", after)
    if colon < 0:
        return True
    row, _ = lines.row_col(colon)
    start = lines.offset(block.lineno, block.col_offset)
    return "#" in text[start : lines.line_end(row)]


def _keyword_edit(ctx: Context, call: ast.Call, keyword: ast.keyword) -> Edit | None:
    """Text edit deleting one keyword argument: its whole line(s) when it has them to itself
    (with its comma and trailing comment), else the argument and the comma that joins it to
    a neighbour. None when comments or odd commas sit in the way."""
    text, lines = ctx.text, ctx.lines
    start, end = lines.node_range(keyword)
    arguments = sorted((*call.args, *call.keywords), key=lambda n: (n.lineno, n.col_offset))
    index = next(i for i, a in enumerate(arguments) if a is keyword)
    following = arguments[index + 1] if index + 1 < len(arguments) else None
    preceding = arguments[index - 1] if index > 0 else None
    first_line_start = lines.line_start(keyword.lineno)
    rest = text[end : lines.line_end(keyword.end_lineno)]
    after_comma = rest.lstrip()[1:].strip() if rest.lstrip().startswith(",") else None
    own_line = not text[first_line_start:start].strip() and (
        (after_comma is not None and (not after_comma or after_comma.startswith("#")))
        or (following is None and (not rest.strip() or rest.strip().startswith("#")))
    )
    if own_line and (preceding is None or preceding.end_lineno < keyword.lineno):
        stop = lines.line_starts[keyword.end_lineno] if keyword.end_lineno < len(lines.line_starts) else len(text)
        return Edit(first_line_start, stop, "")
    if following is not None:
        gap = text[end : lines.node_range(following)[0]]
        if "#" in gap or gap.count(",") != 1 or gap.strip() != ",":
            return None
        return Edit(start, lines.node_range(following)[0], "")
    if preceding is not None:
        gap = text[lines.node_range(preceding)[1] : start]
        if "#" in gap or gap.strip() != ",":
            return None
        return Edit(lines.node_range(preceding)[1], end, "")
    closing = lines.node_range(call)[1] - 1
    tail = text[end:closing]
    if "#" in tail or tail.strip() not in ("", ","):
        return None
    return Edit(start, closing, "")


def _cst_edit(ctx: Context, transformer) -> Edit:
    module, _ = ctx.cst()
    new_module = module.visit(transformer)
    if not getattr(transformer, "done", False):
        raise FixUnavailable("the statement to change was not found")
    from greenlint.cstfix import lf_view

    text = ctx.text
    view = lf_view(text)
    lf_only = view is not text
    edit = minimal_edit(view, new_module.code)
    if edit is None:
        raise FixUnavailable("nothing to change")
    if lf_only:
        edit = Edit(edit.start, edit.end, edit.content.replace("\n", "\r"))
    return edit

