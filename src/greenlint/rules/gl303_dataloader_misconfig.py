"""GL303 dataloader-misconfig: a `torch.utils.data.DataLoader` that feeds a GPU but loads in the
training process (`num_workers` 0 or unset), copies from pageable memory (`pin_memory` unset),
or re-forks its workers every epoch (`persistent_workers` unset while it is re-iterated)."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from greenlint.diagnostics import Applicability, Edit, Fix, FixUnavailable, minimal_edit
from greenlint.loading import called_def, function_references, parameters
from greenlint.rules.base import INCLUDE_TESTS, Invalid, Rule, Valid, register
from greenlint.semantic import FUNCTION_NODES, SemanticModel

if TYPE_CHECKING:
    from greenlint.engine import Context

_DATALOADER = frozenset({"torch.utils.data.DataLoader", "torch.utils.data.dataloader.DataLoader"})
# DataLoader's positional parameters, in order (everything after `generator` is keyword-only).
_POSITIONAL = (
    "dataset", "batch_size", "shuffle", "sampler", "batch_sampler", "num_workers", "collate_fn",
    "pin_memory", "drop_last", "timeout", "worker_init_fn", "multiprocessing_context", "generator",
)
# Datasets whose items are already in memory (indexing is a cheap slice: workers cost more than
# they save) or that stream (each worker would replay the whole stream unless sharded).
_IN_MEMORY = frozenset({"torch.utils.data.TensorDataset", "torch.utils.data.dataset.TensorDataset", "torch.utils.data.StackDataset"})
_STREAMING_BASES = frozenset({"torch.utils.data.IterableDataset", "torch.utils.data.dataset.IterableDataset"})
_LIGHTNING_BASES = ("lightning.", "pytorch_lightning.", "lightning_fabric.")
_EPOCH_HOOKS = frozenset({"train_dataloader", "val_dataloader"})
# Calls that take a loader without iterating it.
_NOT_ITERATING = frozenset({"len", "print", "isinstance", "id", "type", "repr", "str", "hasattr", "getattr", "next", "iter"})


@register
class DataloaderMisconfig(Rule):
    """
    ## What it does
    Flags a `torch.utils.data.DataLoader` in a file that uses CUDA when it has no
    `pin_memory=True`, when `num_workers` is 0 or unset, or when `num_workers > 0` without
    `persistent_workers=True` while the loader is iterated again every epoch.

    ## Fix
    Adds `pin_memory=True` (safe) and `persistent_workers=True` (unsafe: fewer seeds are drawn
    from the RNG, so shuffles after the first epoch differ); `num_workers` is advice only.
    """

    code = "GL303"
    name = "dataloader-misconfig"
    summary = "CUDA-fed DataLoader without pinned memory, worker processes or persistent workers"
    impact = "medium"
    evidence = "creedengo GCI102 (Quadro RTX 6000, CodeCarbon): pin_memory=True cut training time 9.82% and CO2 7.56%; metatrain PR #1271: persistent workers 1.10 -> 0.74 s/epoch."
    frameworks = ("torch",)
    # Every finding is on a call resolved to torch's DataLoader (its import line names it).
    requires = ("DataLoader",)
    fix_applicability = Applicability.SAFE
    options = {
        "include-tests": INCLUDE_TESTS,
    }

    VALID = [
        Valid(
            """
            import torch
            from torch.utils.data import DataLoader

            loader = DataLoader(dataset, batch_size=64, shuffle=True, num_workers=4, pin_memory=True, persistent_workers=True)
            for epoch in range(10):
                for x, y in loader:
                    x, y = x.cuda(non_blocking=True), y.cuda(non_blocking=True)
                    step(x, y)
            """,
            why="workers, pinned memory and persistent workers",
        ),
        Valid(
            """
            import torch
            from torch.utils.data import DataLoader

            loader = DataLoader(dataset, batch_size=64, shuffle=True)
            for epoch in range(10):
                for x, y in loader:
                    step(x, y)
            """,
            why="no CUDA in the file: pinning and workers are GPU-feeding advice",
        ),
        Valid(
            """
            import torch
            from torch.utils.data import DataLoader

            def make_loader(dataset, **kwargs):
                return DataLoader(dataset, batch_size=32, **kwargs)

            model = Net().cuda()
            """,
            why="a **kwargs splat may set any of the options",
        ),
        Valid(
            """
            import torch
            from torch_geometric.loader import DataLoader

            loader = DataLoader(graphs, batch_size=32)
            for data in loader:
                model(data.to("cuda"))
            """,
            why="another library's loader class",
        ),
        Valid(
            """
            import torch
            from torch.utils.data import DataLoader, TensorDataset

            device = torch.device("cuda")
            x = torch.randn(1000, 8, device=device)
            y = torch.randn(1000, device=device)
            loader = DataLoader(TensorDataset(x, y), batch_size=50)
            for xb, yb in loader:
                step(xb, yb)
            """,
            why="the data already lives on the GPU: pinning a CUDA tensor raises, workers cannot use CUDA",
        ),
        Valid(
            """
            import torch
            from torch.utils.data import DataLoader, default_collate

            def to_gpu(batch):
                return default_collate(batch).to("cuda")

            loader = DataLoader(dataset, batch_size=32, collate_fn=to_gpu)
            """,
            why="the collate function already moves batches to the GPU: pinning them would raise",
        ),
        Valid(
            """
            import torch
            from torch.utils.data import DataLoader, TensorDataset

            data = TensorDataset(torch.randn(1000, 8), torch.randn(1000))
            loader = DataLoader(data, batch_size=50, pin_memory=True)
            for xb, yb in loader:
                step(xb.cuda(), yb.cuda())
            """,
            why="an in-memory TensorDataset: indexing is a slice, worker processes would cost more than they save",
        ),
        Valid(
            """
            import torch
            from torch.utils.data import DataLoader

            loader = DataLoader(dataset, batch_size=64, num_workers=args.workers, pin_memory=args.pin)
            for epoch in range(10):
                for x, y in loader:
                    step(x.cuda(), y.cuda())
            """,
            why="settings passed in from configuration: not known here",
        ),
        Valid(
            """
            import torch
            from torch.utils.data import DataLoader

            for epoch in range(10):
                loader = DataLoader(dataset, batch_size=64, num_workers=4, pin_memory=True)
                for x, y in loader:
                    step(x.cuda(), y.cuda())
            """,
            why="a new loader every epoch: persistent workers cannot help (that is GL301's finding)",
        ),
        Valid(
            """
            import torch
            from torch.utils.data import DataLoader

            loader = DataLoader(dataset, batch_size=64, num_workers=4, pin_memory=True)
            for x, y in loader:
                step(x.cuda(), y.cuda())
            """,
            why="iterated once: nothing to keep alive",
        ),
        Valid(
            """
            import torch
            from torch.utils.data import DataLoader

            def test_loader_shapes():
                loader = DataLoader(dataset, batch_size=4)
                assert next(iter(loader))[0].cuda().shape[0] == 4
            """,
            filename="tests/test_data.py",
            why="test files are skipped unless include-tests is set",
        ),
        Valid(
            """
            import torch
            from torch.utils.data import DataLoader, IterableDataset

            class Stream(IterableDataset):
                def __iter__(self):
                    yield from read_records()

            loader = DataLoader(Stream(), batch_size=64, pin_memory=True)
            for batch in loader:
                step(batch.cuda())
            """,
            why="an IterableDataset: each worker would replay the stream unless it is sharded",
        ),
    ]
    INVALID = [
        Invalid(
            """
            import torch
            from torch.utils.data import DataLoader

            loader = DataLoader(dataset, batch_size=64, shuffle=True, num_workers=4)
            for x, y in loader:
                x, y = x.cuda(), y.cuda()
                step(x, y)
            """,
            fixed="""
            import torch
            from torch.utils.data import DataLoader

            loader = DataLoader(dataset, batch_size=64, shuffle=True, num_workers=4, pin_memory=True)
            for x, y in loader:
                x, y = x.cuda(), y.cuda()
                step(x, y)
            """,
            applicability=Applicability.SAFE,
            changes_numerics=False,
            message="pin_memory",
        ),
        Invalid(
            """
            import torch
            import torch.utils.data as tud

            device = "cuda" if torch.cuda.is_available() else "cpu"
            train_loader = tud.DataLoader(
                train_set,
                batch_size=128,
                shuffle=True,
                num_workers=8,  # one per core
            )
            for epoch in range(epochs):
                for images, labels in train_loader:
                    train_step(images.to(device), labels.to(device))
            """,
            count=2,
            fixed="""
            import torch
            import torch.utils.data as tud

            device = "cuda" if torch.cuda.is_available() else "cpu"
            train_loader = tud.DataLoader(
                train_set,
                batch_size=128,
                shuffle=True,
                num_workers=8,  # one per core
                pin_memory=True,
                persistent_workers=True,
            )
            for epoch in range(epochs):
                for images, labels in train_loader:
                    train_step(images.to(device), labels.to(device))
            """,
        ),
        Invalid(
            """
            import torch
            from torch.utils.data import DataLoader

            loader = DataLoader(dataset, batch_size=64, num_workers=2, pin_memory=True)
            for epoch in range(10):
                for x, y in loader:
                    step(x.cuda(), y.cuda())
            """,
            fixed="""
            import torch
            from torch.utils.data import DataLoader

            loader = DataLoader(dataset, batch_size=64, num_workers=2, pin_memory=True, persistent_workers=True)
            for epoch in range(10):
                for x, y in loader:
                    step(x.cuda(), y.cuda())
            """,
            applicability=Applicability.UNSAFE,
            changes_numerics=True,
            message="persistent_workers",
        ),
        Invalid(
            """
            import torch
            from torch.utils.data import DataLoader

            model = Net().cuda()
            loader = DataLoader(ImageFolder(root), batch_size=32, shuffle=True, pin_memory=True)
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="num_workers",
        ),
        Invalid(
            """
            import torch
            from torch.utils.data import DataLoader

            loader = DataLoader(ImageFolder(root), batch_size=32, num_workers=0, pin_memory=False)
            for x, y in loader:
                step(x.to("cuda"), y.to("cuda"))
            """,
            count=2,
            applicability=Applicability.DISPLAY_ONLY,
        ),
        Invalid(
            """
            import torch
            from torch.utils.data import DataLoader

            def train_epoch(model, loader):
                for x, y in loader:
                    step(model, x.cuda(), y.cuda())

            def main():
                loader = DataLoader(dataset, batch_size=64, num_workers=4, pin_memory=True)
                for epoch in range(10):
                    train_epoch(model, loader)
            """,
            fixed="""
            import torch
            from torch.utils.data import DataLoader

            def train_epoch(model, loader):
                for x, y in loader:
                    step(model, x.cuda(), y.cuda())

            def main():
                loader = DataLoader(dataset, batch_size=64, num_workers=4, pin_memory=True, persistent_workers=True)
                for epoch in range(10):
                    train_epoch(model, loader)
            """,
            applicability=Applicability.UNSAFE,
        ),
        Invalid(
            """
            import torch
            from torch.utils.data import DataLoader

            def main():
                loader = DataLoader(dataset, batch_size=64, num_workers=4, pin_memory=True)
                train(model, loader, epochs=10)

            def train(model, loader, epochs):
                for epoch in range(epochs):
                    for x, y in loader:
                        step(model, x.cuda(), y.cuda())
            """,
            fixed="""
            import torch
            from torch.utils.data import DataLoader

            def main():
                loader = DataLoader(dataset, batch_size=64, num_workers=4, pin_memory=True, persistent_workers=True)
                train(model, loader, epochs=10)

            def train(model, loader, epochs):
                for epoch in range(epochs):
                    for x, y in loader:
                        step(model, x.cuda(), y.cuda())
            """,
            applicability=Applicability.UNSAFE,
            message="persistent_workers",
        ),
        Invalid(
            """
            import lightning as L
            import torch
            from torch.utils.data import DataLoader

            class Data(L.LightningDataModule):
                def train_dataloader(self):
                    return DataLoader(self.train_set, batch_size=64, num_workers=4, pin_memory=True)

            trainer = L.Trainer(accelerator="gpu", max_epochs=20)
            """,
            fixed="""
            import lightning as L
            import torch
            from torch.utils.data import DataLoader

            class Data(L.LightningDataModule):
                def train_dataloader(self):
                    return DataLoader(self.train_set, batch_size=64, num_workers=4, pin_memory=True, persistent_workers=True)

            trainer = L.Trainer(accelerator="gpu", max_epochs=20)
            """,
            applicability=Applicability.UNSAFE,
        ),
        Invalid(
            """
            import torch
            from torch.utils.data import DataLoader

            class Trainer:
                def __init__(self, dataset):
                    self.loader = DataLoader(dataset, batch_size=64,
                                             num_workers=4,
                                             pin_memory=True)

                def fit(self, epochs):
                    for epoch in range(epochs):
                        for x, y in self.loader:
                            self.step(x.cuda(), y.cuda())
            """,
            fixed="""
            import torch
            from torch.utils.data import DataLoader

            class Trainer:
                def __init__(self, dataset):
                    self.loader = DataLoader(dataset, batch_size=64,
                                             num_workers=4,
                                             pin_memory=True,
                                             persistent_workers=True)

                def fit(self, epochs):
                    for epoch in range(epochs):
                        for x, y in self.loader:
                            self.step(x.cuda(), y.cuda())
            """,
            applicability=Applicability.UNSAFE,
        ),
    ]

    def check(self, ctx: Context) -> None:
        semantic = ctx.semantic
        # The DataLoader calls first (cheap: the called attribute, or a plain name, which may be
        # an alias), then the file-wide CUDA question only if there are any.
        loaders = [
            call
            for call in semantic.nodes(ast.Call)
            if (call.func.attr == "DataLoader" if isinstance(call.func, ast.Attribute) else isinstance(call.func, ast.Name))
            and semantic.call_name(call) in _DATALOADER
        ]
        if not loaders or not semantic.uses_cuda():
            return
        for call in loaders:
            arguments = _arguments(call)
            if arguments is None:
                continue
            dataset = arguments.get("dataset")
            if dataset is None or _on_device(semantic, dataset) or _collates_on_device(semantic, arguments.get("collate_fn")):
                continue
            self._pin_memory(ctx, call, arguments)
            workers = arguments.get("num_workers")
            count = _int_value(semantic, workers) if workers is not None else 0
            if count == 0:
                self._num_workers(ctx, call, workers, dataset)
            elif count is not None and count > 0 and "persistent_workers" not in arguments:
                where = _reiterated(semantic, call)
                if where is not None:
                    self._persistent(ctx, call, where)

    def _pin_memory(self, ctx: Context, call: ast.Call, arguments: dict[str, ast.AST]) -> None:
        pin = arguments.get("pin_memory")
        why = (
            "copies every batch to the GPU from pageable host memory, which the driver stages through a pinned buffer; "
            "pinned (page-locked) batches go by DMA, faster, and can overlap with compute (`.to(device, non_blocking=True)`)"
        )
        if pin is None:
            ctx.report(
                call.func,
                f"This CUDA-fed `DataLoader` has no `pin_memory=True`: it {why}",
                Fix(Applicability.SAFE, "Add `pin_memory=True`", build=lambda: _add_keyword(ctx, call, "pin_memory", "True")),
            )
        elif isinstance(pin, ast.Constant) and pin.value is False:
            ctx.report(
                pin,
                f"`pin_memory=False` on a CUDA-fed `DataLoader`: it {why}",
                Fix(Applicability.DISPLAY_ONLY, "Set `pin_memory=True` unless host memory is too tight to page-lock batches"),
            )

    def _num_workers(self, ctx: Context, call: ast.Call, workers: ast.AST | None, dataset: ast.AST) -> None:
        if _in_memory_or_streaming(ctx.semantic, dataset):
            return
        spelled = "`num_workers=0`" if workers is not None else "no `num_workers`"
        ctx.report(
            workers if workers is not None else call.func,
            f"This CUDA-fed `DataLoader` has {spelled}: every batch is read, decoded and collated in the training "
            "process, between the GPU's steps, so the GPU idles while it waits",
            Fix(
                Applicability.DISPLAY_ONLY,
                "Load in worker processes: `num_workers=N` (tune N to the host's cores), with `pin_memory=True` and "
                "`persistent_workers=True`",
            ),
        )

    def _persistent(self, ctx: Context, call: ast.Call, where: str) -> None:
        ctx.report(
            call.func,
            f"This `DataLoader` has worker processes but no `persistent_workers=True`, and it is iterated again {where}: "
            "each pass starts the worker processes again (and, with the spawn or forkserver start method, pickles the dataset to each)",
            Fix(
                Applicability.UNSAFE,
                "Add `persistent_workers=True` (the loader then draws fewer seeds from the RNG, so shuffles and "
                "random streams after the first epoch differ)",
                changes_numerics=True,
                build=lambda: _add_keyword(ctx, call, "persistent_workers", "True"),
            ),
        )


def _arguments(call: ast.Call) -> dict[str, ast.AST] | None:
    """The call's arguments by parameter name; None when a `*args` or `**kwargs` splat may set any."""
    if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
        return None
    if len(call.args) > len(_POSITIONAL):
        return None
    found: dict[str, ast.AST] = dict(zip(_POSITIONAL, call.args))
    for keyword in call.keywords:
        found[keyword.arg] = keyword.value
    return found


def _int_value(semantic: SemanticModel, expr: ast.AST) -> int | None:
    """An int literal, or a local name bound once to one; None when unknown."""
    if isinstance(expr, ast.Name):
        value = semantic.single_value(expr)
        if value is None:
            return None
        expr = value
    if isinstance(expr, ast.Constant) and isinstance(expr.value, int) and not isinstance(expr.value, bool):
        return expr.value
    return None


def _moves_to_device(node: ast.AST) -> bool:
    """`.cuda()`, `.to(...)` or `device=...` anywhere in the expression."""
    for inner in ast.walk(node):
        if isinstance(inner, ast.Call):
            func = inner.func
            if isinstance(func, ast.Attribute) and func.attr in ("cuda", "to"):
                return True
            if any(k.arg == "device" for k in inner.keywords):
                return True
    return False


def _on_device(semantic: SemanticModel, dataset: ast.AST) -> bool:
    """Whether the dataset visibly holds or yields device tensors: built from expressions that
    move to a device (following local names one level), or a local class that moves data."""
    expressions = [dataset]
    if isinstance(dataset, ast.Name):
        value = semantic.single_value(dataset)
        if value is not None:
            expressions.append(value)
    for expr in list(expressions):
        for name in (n for n in ast.walk(expr) if isinstance(n, ast.Name)):
            value = semantic.single_value(name)
            if value is not None and value is not expr:
                expressions.append(value)
    if any(_moves_to_device(expr) for expr in expressions):
        return True
    for expr in expressions:
        cls = _local_class(semantic, expr)
        if cls is not None and _moves_to_device(cls):
            return True
    return False


def _collates_on_device(semantic: SemanticModel, collate: ast.AST | None) -> bool:
    """A `collate_fn` that moves batches to a device itself (a lambda, `partial(..., device=)`,
    or a def in this file): its batches come out as device tensors, which cannot be pinned."""
    if collate is None:
        return False
    if _moves_to_device(collate):
        return True
    if isinstance(collate, ast.Name):
        found = semantic.lookup(collate.id, collate)
        if found is not None and found[1] == "local":
            return any(value is not None and _moves_to_device(value) for value in found[0].bindings[collate.id])
    return False


def _local_class(semantic: SemanticModel, expr: ast.AST) -> ast.ClassDef | None:
    """The class defined in this file that `expr` (`MyDataset(...)`) instantiates."""
    if not (isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name)):
        return None
    found = semantic.lookup(expr.func.id, expr.func)
    if found is None or found[1] != "local":
        return None
    values = found[0].bindings[expr.func.id]
    return values[0] if len(values) == 1 and isinstance(values[0], ast.ClassDef) else None


def _in_memory_or_streaming(semantic: SemanticModel, dataset: ast.AST) -> bool:
    value = dataset
    if isinstance(dataset, ast.Name):
        value = semantic.single_value(dataset) or dataset
    if isinstance(value, ast.Call) and semantic.call_name(value) in _IN_MEMORY:
        return True
    cls = _local_class(semantic, value)
    if cls is None:
        return False
    return any(semantic.qualified_name(base) in _STREAMING_BASES for base in cls.bases)


# ---------------------------------------------------------------------------- re-iteration
def _reiterated(semantic: SemanticModel, call: ast.Call) -> str | None:
    """Where the loader built by `call` is iterated more than once: "in the loop at line N" (a
    `for` over it inside another loop, or a call handing it over inside a loop), "in `f()`,
    called in a loop", or "by the Lightning Trainer every epoch"."""
    parent = semantic.parent(call)
    if isinstance(parent, ast.Return):
        return _lightning_epoch_hook(semantic, parent)
    if not isinstance(parent, (ast.Assign, ast.AnnAssign)):
        return None
    targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
    if len(targets) != 1:
        return None
    target = targets[0]
    if isinstance(target, ast.Name):
        scope_node = semantic.scope_of(parent).node
        uses = [
            n
            for n in semantic.scope_body(scope_node)
            if isinstance(n, ast.Name) and n.id == target.id and isinstance(n.ctx, ast.Load)
            and semantic.scope_of(n) is semantic.scope_of(parent)
        ]
        if any(semantic.is_loop_invariant(target, loop) is False for loop in semantic.enclosing_loops(parent)):
            return None  # a new loader every iteration
        if isinstance(scope_node, ast.FunctionDef):
            for stmt in ast.walk(scope_node):
                if isinstance(stmt, ast.Return) and stmt.value is not None and any(
                    isinstance(n, ast.Name) and n.id == target.id for n in ast.walk(stmt.value)
                ):
                    hook = _lightning_epoch_hook(semantic, stmt)
                    if hook is not None:
                        return hook
        return _iterated_again(semantic, uses)
    if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self":
        cls = next((a for a in semantic.ancestors(parent) if isinstance(a, ast.ClassDef)), None)
        if cls is None:
            return None
        uses = [
            n
            for n in ast.walk(cls)
            if isinstance(n, ast.Attribute) and n.attr == target.attr and isinstance(n.value, ast.Name)
            and n.value.id == "self" and isinstance(n.ctx, ast.Load)
        ]
        return _iterated_again(semantic, uses)
    return None


def _iterated_again(semantic: SemanticModel, uses: list[ast.AST]) -> str | None:
    for use in uses:
        parent = semantic.parent(use)
        loop = _iterating_for(semantic, use)
        if loop is not None:
            outer = _outer_loop(semantic, loop)
            if outer is not None:
                return f"by the loop at line {outer.lineno}"
            function = semantic.enclosing_def(loop, through_lambdas=False)
            if function is not None:
                for site, how in function_references(semantic, function):
                    if how == "call" and semantic.enclosing_loops(site):
                        return f"in `{function.name}()`, called in the loop at line {semantic.enclosing_loops(site)[0].lineno}"
            continue
        if isinstance(parent, ast.keyword):
            parent = semantic.parent(parent)
        if not isinstance(parent, ast.Call) or use is parent.func:
            continue
        func = parent.func
        if isinstance(func, ast.Name) and func.id in _NOT_ITERATING:
            continue
        loops = [loop for loop in semantic.enclosing_loops(parent) if isinstance(loop, (ast.For, ast.AsyncFor, ast.While))]
        if loops and semantic.is_loop_invariant(use, loops[0]):
            return f"by the loop at line {loops[0].lineno}, which hands it to `{ast.unparse(func)[:40]}()`"
        where = _callee_iterates_in_loop(semantic, parent, use)
        if where is not None:
            return where
    return None


def _iterating_for(semantic: SemanticModel, use: ast.AST) -> ast.AST | None:
    """The `for` statement whose iterable is the loader: `for b in L`, `for i, b in enumerate(L)`,
    `for b in tqdm(L)`."""
    node = use
    for _ in range(3):
        parent = semantic.parent(node)
        if isinstance(parent, (ast.For, ast.AsyncFor)) and parent.iter is node:
            return parent
        if isinstance(parent, ast.keyword):
            parent = semantic.parent(parent)
        if not (isinstance(parent, ast.Call) and node is not parent.func):
            return None
        node = parent
    return None


def _outer_loop(semantic: SemanticModel, loop: ast.AST) -> ast.AST | None:
    outer = [a for a in semantic.enclosing_loops(loop) if isinstance(a, (ast.For, ast.AsyncFor, ast.While))]
    return outer[0] if outer else None


def _callee_iterates_in_loop(semantic: SemanticModel, site: ast.Call, use: ast.AST) -> str | None:
    """`train(model, loader, epochs)` where the local `train` loops over its loader parameter
    inside another loop."""
    function = called_def(semantic, site.func)
    if function is None or not isinstance(function, FUNCTION_NODES[:2]):
        return None
    params = parameters(function)
    offset = 1 if params[:1] in (["self"], ["cls"]) and isinstance(site.func, ast.Attribute) else 0
    name = next((k.arg for k in site.keywords if k.value is use), None)
    if name is None and use in site.args:
        index = site.args.index(use) + offset
        name = params[index] if index < len(params) else None
    if name is None:
        return None
    for node in ast.walk(function):
        if isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Load):
            loop = _iterating_for(semantic, node)
            if loop is not None and _outer_loop(semantic, loop) is not None:
                return f"by the loop at line {_outer_loop(semantic, loop).lineno} in `{function.name}()`"
    return None


def _lightning_epoch_hook(semantic: SemanticModel, stmt: ast.Return) -> str | None:
    """`return DataLoader(...)` from a LightningModule/LightningDataModule's `train_dataloader`
    or `val_dataloader`, which the Trainer iterates every epoch."""
    function = semantic.enclosing_def(stmt, through_lambdas=False)
    if function is None or function.name not in _EPOCH_HOOKS:
        return None
    cls = semantic.parent(function)
    if not isinstance(cls, ast.ClassDef):
        return None
    if not any((semantic.qualified_name(b) or "").startswith(_LIGHTNING_BASES) for b in cls.bases):
        return None
    if any(isinstance(k, ast.keyword) and k.arg == "reload_dataloaders_every_n_epochs" for k in semantic.nodes(ast.keyword)):
        return None  # the loaders are rebuilt anyway
    return f"by the Lightning Trainer every epoch (`{function.name}`)"


# ---------------------------------------------------------------------------- the fix
def _add_keyword(ctx: Context, call: ast.Call, keyword: str, value: str) -> list[Edit]:
    """Append `keyword=value` to the call's arguments with libcst, following its layout: one
    more line in a one-argument-per-line call, `, keyword=value` on a single line."""
    import libcst as cst

    from greenlint.cstfix import lf_view

    module, positions = ctx.cst()
    target = _cst_call(ctx, call, module, positions)
    if target is None or not target.args:
        raise FixUnavailable("could not find the call in the concrete syntax tree")
    args = list(target.args)
    last = args[-1]
    if isinstance(last.comma, cst.Comma):
        closing = last.comma.whitespace_after
        trailing = True
    else:
        closing = last.whitespace_after_arg
        trailing = False
    if len(args) >= 2 and isinstance(args[-2].comma, cst.Comma):
        separator = args[-2].comma.whitespace_after
    else:
        separator = target.whitespace_before_args
    multiline = isinstance(separator, cst.ParenthesizedWhitespace)
    if multiline:
        separator = separator.with_changes(first_line=cst.TrailingWhitespace(), empty_lines=[])
    else:
        separator = cst.SimpleWhitespace(" ")
    if isinstance(closing, cst.ParenthesizedWhitespace) and multiline:
        # The last argument keeps its comment and the lines after it; the new one takes the
        # closing parenthesis's indentation.
        after_last = closing.with_changes(indent=separator.indent, last_line=separator.last_line)
        closing = cst.ParenthesizedWhitespace(indent=closing.indent, last_line=closing.last_line)
    else:
        # Arguments on one line (the closing parenthesis maybe on the next): `, keyword=value`
        # goes right after the last one, before any comment that followed it.
        after_last = separator
    comma = last.comma if trailing else cst.Comma()
    args[-1] = last.with_changes(comma=comma.with_changes(whitespace_after=after_last), whitespace_after_arg=cst.SimpleWhitespace(""))
    new = cst.Arg(
        keyword=cst.Name(keyword),
        value=cst.parse_expression(value),
        equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")),
        comma=cst.Comma(whitespace_after=closing) if trailing else cst.MaybeSentinel.DEFAULT,
        whitespace_after_arg=last.whitespace_after_arg if trailing else closing,
    )
    args.append(new)
    new_module = module.deep_replace(target, target.with_changes(args=args))
    view = lf_view(ctx.text)
    edit = minimal_edit(view, new_module.code)
    if edit is None:
        raise FixUnavailable("nothing to change")
    if view is not ctx.text:
        edit = Edit(edit.start, edit.end, edit.content.replace("\n", "\r"))
    return [edit]


def _cst_call(ctx: Context, call: ast.Call, module, positions):
    """The libcst Call whose callee starts where the ast call's does."""
    import libcst as cst

    cache = ctx.semantic.rule_cache.setdefault("GL303", {})
    index = cache.get("calls")
    if index is None:
        index = {}

        class Collect(cst.CSTVisitor):
            def visit_Call(self, node: cst.Call) -> None:
                start = positions[node.func].start
                index[(start.line, start.column)] = node

        module.visit(Collect())
        cache["calls"] = index
    start = ctx.lines.node_range(call.func)[0]
    row = call.func.lineno
    return index.get((row, start - ctx.lines.line_start(row)))
