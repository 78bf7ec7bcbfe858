"""The notion GL203, GL506 and GL507 share: the long CUDA training and inference loops a file
runs by hand.

A loop qualifies when the file visibly targets a GPU (`SemanticModel.uses_cuda`), the loop runs
one training or inference step per iteration (`semantic.step_loops`, plus training loops that
also hold an evaluation loop inside), it is long (not a literal `range(10)` warm-up), and no
framework owns the loop's settings: Lightning, Hugging Face's `Trainer`, Accelerate, DeepSpeed
and their kin set precision, compilation and cuDNN flags from their own arguments and configs.
Every answer errs towards "no loop", which the rules treat as "stay silent".
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from greenlint.semantic import FUNCTION_NODES, SemanticModel, is_step_call, step_loops

_STATEMENT_LOOPS = (ast.For, ast.AsyncFor, ast.While)

# Libraries that run the training loop themselves (or wrap it) and take precision, compilation
# and cuDNN settings from their own arguments or config files.
_MANAGING_PACKAGES = frozenset(
    {
        "lightning",
        "pytorch_lightning",
        "lightning_fabric",
        "accelerate",
        "deepspeed",
        "composer",
        "fastai",
        "mmengine",
        "mmcv",
        "detectron2",
        "ultralytics",
        "colossalai",
    }
)
_HF_FAMILY = ("transformers", "trl", "setfit", "sentence_transformers", "peft", "optimum")
_HF_TRAINER = re.compile(r"(Trainer|TrainingArguments|TrainingArgs|TrainerCallback)$")

# Fewer iterations than this (all enclosing literal counts multiplied) is a warm-up or a demo.
LONG_LOOP = 50


@dataclass(frozen=True)
class CudaLoop:
    node: ast.AST  # the For / While statement
    kind: str  # "training" or "inference"


class Span:
    """A range to report at that is not a whole node: a loop's header line(s)."""

    def __init__(self, lineno: int, col_offset: int, end_lineno: int, end_col_offset: int) -> None:
        self.lineno = lineno
        self.col_offset = col_offset
        self.end_lineno = end_lineno
        self.end_col_offset = end_col_offset


def loop_header(loop: ast.AST) -> Span:
    """`for x in loader` / `while step < n`: the loop's header, without its body."""
    end = loop.iter if isinstance(loop, (ast.For, ast.AsyncFor)) else loop.test
    return Span(loop.lineno, loop.col_offset, end.end_lineno, end.end_col_offset)


def imported_modules(semantic: SemanticModel) -> set[str]:
    """Every module or name the file imports, in any scope, as qualified names."""
    cache = semantic.rule_cache.setdefault("_cuda_loops", {})
    found = cache.get("imports")
    if found is None:
        found = {target for scope in semantic.scopes.values() for target in scope.imports.values()}
        cache["imports"] = found
    return found


def imports_package(semantic: SemanticModel, packages) -> bool:
    return any(name.split(".")[0] in packages for name in imported_modules(semantic))


def framework_managed(semantic: SemanticModel) -> bool:
    """The file hands its training to a framework that owns precision, compilation and cuDNN
    settings (Lightning, HF Trainer, Accelerate, DeepSpeed, ...)."""
    cache = semantic.rule_cache.setdefault("_cuda_loops", {})
    found = cache.get("managed")
    if found is None:
        found = cache["managed"] = _framework_managed(semantic)
    return found


def _framework_managed(semantic: SemanticModel) -> bool:
    for name in imported_modules(semantic):
        top = name.lstrip(".").split(".")[0]
        if top in _MANAGING_PACKAGES:
            return True
        last = name.rsplit(".", 1)[-1]
        if _HF_TRAINER.search(last) and (top in _HF_FAMILY or name.startswith(".")):
            return True
    for node in semantic.nodes(ast.Attribute):  # `transformers.Trainer(...)`, `trl.SFTTrainer`
        if _HF_TRAINER.search(node.attr):
            qualified = semantic.qualified_name(node)
            if qualified is not None and qualified.split(".")[0] in _HF_FAMILY:
                return True
    return False


def cuda_loops(semantic: SemanticModel) -> list[CudaLoop]:
    """The file's long, hand-written CUDA training and inference loops, in source order; empty
    when the file shows no CUDA use or a framework manages its training."""
    cache = semantic.rule_cache.setdefault("_cuda_loops", {})
    found = cache.get("loops")
    if found is None:
        found = cache["loops"] = _cuda_loops(semantic)
    return found


def _cuda_loops(semantic: SemanticModel) -> list[CudaLoop]:
    if not semantic.uses_cuda() or framework_managed(semantic):
        return []
    kinds = dict(step_loops(semantic))
    # A training loop that also runs an evaluation loop inside (every N steps) is an "epoch
    # loop" to step_loops, but it still trains on every iteration.
    for call in semantic.nodes(ast.Call):
        if is_step_call(semantic, call) != "train":
            continue
        loop = next((l for l in semantic.enclosing_loops(call) if isinstance(l, _STATEMENT_LOOPS)), None)
        if loop is not None and loop not in kinds and not _in_module_class(semantic, loop):
            kinds[loop] = "training"
    loops = []
    for loop, kind in kinds.items():
        if not is_long(semantic, loop) or (kind == "inference" and _steps_an_environment(loop)):
            continue
        if _in_check_function(semantic, loop):
            continue
        if kind == "inference" and semantic.loop_body_trains(loop):
            kind = "training"  # a TF loop: `tape.gradient(...)`, `optimizer.apply_gradients(...)`
        loops.append(CudaLoop(loop, kind))
    loops.sort(key=lambda l: (l.node.lineno, l.node.col_offset))
    return loops


_TOLERANCE_PARAMETERS = frozenset({"atol", "rtol", "tol", "tolerance", "precision", "eps_tolerance"})


def _in_check_function(semantic: SemanticModel, loop: ast.AST) -> bool:
    """Inside a test (`def test_...`, in any file) or a numerics check that takes a tolerance
    (`def run_model(..., precision=1e-4)`): float32 and eager execution are the point there."""
    for ancestor in semantic.ancestors(loop):
        if isinstance(ancestor, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if ancestor.name.startswith("test_"):
                return True
            args = ancestor.args
            if any(a.arg in _TOLERANCE_PARAMETERS for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)):
                return True
    return False


def _steps_an_environment(loop: ast.AST) -> bool:
    """A reinforcement-learning rollout (`obs, reward, done, info = env.step(action)`): one tiny
    forward pass per environment step, bound by the simulator rather than by GPU arithmetic."""
    for node in ast.walk(loop):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "step" and node.args:
            receiver = node.func.value
            name = receiver.id if isinstance(receiver, ast.Name) else receiver.attr if isinstance(receiver, ast.Attribute) else ""
            if "env" in name.lower():
                return True
    return False


def _in_module_class(semantic: SemanticModel, node: ast.AST) -> bool:
    owner = next((a for a in semantic.ancestors(node) if isinstance(a, ast.ClassDef)), None)
    return owner is not None and semantic.is_module_class(owner)


def is_long(semantic: SemanticModel, loop: ast.AST) -> bool:
    """Whether the loop (with the loops around it in its function) may run many iterations:
    anything but literal trip counts whose product is below LONG_LOOP."""
    total = 1
    for node in (loop, *semantic.enclosing_loops(loop)):
        if not isinstance(node, _STATEMENT_LOOPS):
            return True
        count = _literal_trip_count(node.iter) if isinstance(node, (ast.For, ast.AsyncFor)) else None
        if count is None:
            return True
        total *= count
        if total >= LONG_LOOP:
            return True
    return False


_PASS_THROUGH = frozenset({"enumerate", "zip", "tqdm", "trange", "reversed", "list", "tuple", "sorted", "iter"})


def _literal_trip_count(expr: ast.AST) -> int | None:
    if isinstance(expr, ast.IfExp):  # `[a, b] if dynamic else [a]`
        counts = (_literal_trip_count(expr.body), _literal_trip_count(expr.orelse))
        return None if None in counts else max(counts)
    if isinstance(expr, (ast.List, ast.Tuple, ast.Set)):
        return len(expr.elts)
    if isinstance(expr, ast.Constant) and isinstance(expr.value, (str, bytes)):
        return len(expr.value)
    if not isinstance(expr, ast.Call) or not expr.args:
        return None
    func = expr.func
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    if name in ("range", "trange"):
        bounds = [a.value if isinstance(a, ast.Constant) and isinstance(a.value, int) else None for a in expr.args]
        if None in bounds or len(bounds) > 3:
            return None
        return len(range(*bounds))
    if name in _PASS_THROUGH:
        counts = [_literal_trip_count(a) for a in expr.args]
        known = [c for c in counts if c is not None]
        return min(known) if known and (name == "zip" or len(counts) == 1) else None
    return None


def in_function_named(semantic: SemanticModel, node: ast.AST, pattern: re.Pattern) -> bool:
    """Whether a def around the node has a name matching `pattern`."""
    return any(
        isinstance(a, FUNCTION_NODES) and not isinstance(a, ast.Lambda) and pattern.search(a.name)
        for a in semantic.ancestors(node)
    )


def identifiers(semantic: SemanticModel) -> list[tuple[str, ast.AST]]:
    """Every identifier the file spells, with its node: names, attributes, keyword arguments,
    parameters, def names and imported names (cached; rules grep these for settings)."""
    cache = semantic.rule_cache.setdefault("_cuda_loops", {})
    found = cache.get("identifiers")
    if found is None:
        found = []
        for node in semantic.nodes(ast.Name):
            found.append((node.id, node))
        for node in semantic.nodes(ast.Attribute):
            found.append((node.attr, node))
        for node in semantic.nodes(ast.keyword):
            if node.arg:
                found.append((node.arg, node))
        for node in semantic.nodes(ast.arg):
            found.append((node.arg, node))
        for kind in (ast.FunctionDef, ast.AsyncFunctionDef):
            for node in semantic.nodes(kind):
                found.append((node.name, node))
        for kind in (ast.Import, ast.ImportFrom):
            for node in semantic.nodes(kind):
                for alias in node.names:
                    for part in alias.name.split("."):
                        found.append((part, node))
                if isinstance(node, ast.ImportFrom) and node.module:
                    for part in node.module.split("."):
                        found.append((part, node))
        cache["identifiers"] = found
    return found


def short_strings(semantic: SemanticModel, limit: int = 40) -> list[str]:
    """The file's string constants up to `limit` characters (flags, dtype names, modes)."""
    cache = semantic.rule_cache.setdefault("_cuda_loops", {})
    found = cache.get("strings")
    if found is None:
        found = cache["strings"] = [
            c.value for c in semantic.nodes(ast.Constant) if isinstance(c.value, str) and len(c.value) <= limit
        ]
    return found
