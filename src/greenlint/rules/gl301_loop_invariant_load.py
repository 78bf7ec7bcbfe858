"""GL301 loop-invariant-load: a file, checkpoint, model, tokenizer, dataset or DataLoader loaded
on every iteration of a loop although nothing it reads depends on the loop."""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING

from greenlint.diagnostics import Applicability, Edit, Fix, FixUnavailable, minimal_edit
from greenlint.loading import (
    IN_PLACE_ADAPTERS,
    Load,
    load_candidates,
    load_of,
    outermost_load,
    root_name,
    write_mode,
)
from greenlint.rules.base import Invalid, Rule, Valid, register
from greenlint.semantic import FUNCTION_NODES, SemanticModel

if TYPE_CHECKING:
    from greenlint.engine import Context

_STATEMENT_LOOPS = (ast.For, ast.AsyncFor, ast.While)
# Calls in a load's arguments whose result can change between iterations although no name does.
_DYNAMIC_CALL = re.compile(
    r"^(i?glob|rglob|listdir|scandir|iterdir|walk|latest\w*|newest\w*|last\w*|recent\w*|random\w*|choice|choices|sample"
    r"|shuffle|randint|time|now|today|utcnow|uuid\d|mkstemp|mkdtemp|NamedTemporaryFile|getmtime|stat|urlopen|next|input"
    r"|pop|popleft|get_nowait|recv|receive|read|readline)$"
)
_DYNAMIC_MODULES = ("requests.", "urllib.", "httpx.", "random.", "numpy.random.", "tempfile.", "glob.", "time.")
# A file the run itself produces is read back on purpose (best/last checkpoint, a cache).
_RUN_OUTPUT = re.compile(r"(?i)(^|[^a-z])(best|last|latest|tmp|temp|ckpt|checkpoints?|outputs?|saved?|resume|cache|current|cur)([^a-z]|$)")
# Callee names that write or replace what a path names.
_WRITE_WORDS = re.compile(r"(?i)(save|write|dump|download|copy|move|rename|replace|export|store|^to_|^put|unlink|remove|rmtree|makedirs|mkdir|touch|urlretrieve|extract)")
_CHECKS_FILE = frozenset({"exists", "isfile", "isdir", "is_file", "is_dir", "getsize", "getmtime"})
# Methods that change their receiver in place (a hoisted value would carry the change over).
# pandas' drop/rename/fillna return a new frame unless inplace=True, which is checked separately.
_MUTATORS = frozenset(
    {
        "append", "extend", "insert", "pop", "popitem", "remove", "clear", "update", "setdefault", "add", "discard",
        "sort", "reverse", "train", "fit", "partial_fit", "load_state_dict", "load_adapter", "add_adapter",
        "set_adapter", "resize_token_embeddings", "add_tokens", "add_special_tokens", "thumbnail", "paste",
        "putpixel", "putalpha", "seek", "read", "readline", "readlines", "write", "close", "truncate", "shuffle",
        "map_", "apply_", "zero_grad", "register_buffer", "register_parameter",
        "register_forward_hook", "register_forward_pre_hook", "register_full_backward_hook", "set_epoch",
        "set_format", "set_transform", "reset_format", "with_format", "cast_", "__setitem__", "__delitem__",
    }
)
_RANDOM_MUTATORS = frozenset({"random.shuffle", "numpy.random.shuffle"})
_READ_ONLY_BUILTINS = frozenset(
    {"builtins.print", "builtins.len", "builtins.isinstance", "builtins.type", "builtins.id", "builtins.repr", "builtins.str", "builtins.hasattr", "builtins.getattr"}
)
_ESCAPES = frozenset({"append", "extend", "insert", "add", "put", "put_nowait", "appendleft"})


@register
class LoopInvariantLoad(Rule):
    """
    ## What it does
    Flags a load (a file read, `torch.load`, `np.load`, `pd.read_*`, `from_pretrained`,
    `pipeline(...)`, `load_dataset`, building a `DataLoader`) inside a loop whose arguments do not
    depend on the loop, so every iteration re-reads the same thing.

    ## Fix
    Hoists a simple `name = load(...)` statement above the loop (unsafe).
    """

    code = "GL301"
    name = "loop-invariant-load"
    summary = "The same file, checkpoint, model or DataLoader is loaded again on every loop iteration"
    impact = "high"
    evidence = 'greenlint CPU re-run: np.load of a 40 MB array every iteration ~22x the time of loading it once.'
    frameworks = (
        "torch", "numpy", "pandas", "transformers", "datasets", "PIL", "sklearn", "joblib", "tensorflow", "keras",
        "cv2", "timm", "diffusers", "sentence_transformers", "ultralytics", "safetensors",
    )
    fix_applicability = Applicability.UNSAFE

    VALID = [
        Valid(
            """
            import pandas as pd

            for path in paths:
                df = pd.read_csv(path)
                print(df.shape)
            """,
            why="a different file each iteration",
        ),
        Valid(
            """
            import torch

            for fold in range(5):
                ckpt = f"fold{fold}.pt"
                state = torch.load(ckpt)
                evaluate(state)
            """,
            why="the path is assigned from the loop variable",
        ),
        Valid(
            """
            import torch
            from transformers import AutoModel

            for epoch in range(10):
                if epoch == 0:
                    model = AutoModel.from_pretrained("bert-base-uncased")
                train_one_epoch(model)
            """,
            why="first-iteration guard",
        ),
        Valid(
            """
            import torch

            for step, batch in enumerate(loader):
                if step % 100 == 0:
                    reference = torch.load("reference.pt")
                    compare(batch, reference)
            """,
            why="interval guard",
        ),
        Valid(
            """
            import torch

            for epoch in range(3):
                loss = train(epoch)
                with open("log.txt", "a") as log:
                    log.write(f"{epoch} {loss}\\n")
            """,
            why="append mode is a write, not a load",
        ),
        Valid(
            """
            import time
            from transformers import AutoModel

            while True:
                try:
                    model = AutoModel.from_pretrained("bert-base-uncased")
                    break
                except OSError:
                    continue
            """,
            why="retry loop",
        ),
        Valid(
            """
            import torch

            for epoch in range(10):
                train(model)
                torch.save(model.state_dict(), weights_path)
                model.load_state_dict(torch.load(weights_path))
            """,
            why="the loop writes the file it reads",
        ),
        Valid(
            """
            import json
            import torch

            while True:
                status = json.load(open("status.json"))
                if status["done"]:
                    break
            """,
            why="polling a file another process writes",
        ),
        Valid(
            """
            import torch

            for epoch in range(10):
                train(model)
                state = torch.load("checkpoints/best.pt")
                report(state)
            """,
            why="reads back a file the run itself writes",
        ),
        Valid(
            """
            import numpy as np

            for epoch in range(10):
                try:
                    train(model)
                except RuntimeError:
                    weights = np.load("weights.npy")
            """,
            why="only on error",
        ),
        Valid(
            """
            import torch

            cached = None
            for batch in loader:
                cached = cached or torch.load("table.pt")
                use(batch, cached)
            """,
            why="lazily loaded once",
        ),
        Valid(
            """
            import torch
            from torch.utils.data import DataLoader

            for epoch in range(10):
                dataset = build_dataset(epoch)
                loader = DataLoader(dataset, batch_size=32)
                train(loader)
            """,
            why="the dataset changes every epoch (curriculum)",
        ),
        Valid(
            """
            import torch

            def serve(path):
                for request in requests:
                    def handler():
                        return torch.load(path)
                    respond(handler)
            """,
            why="the load is in a function defined in the loop, not run by it",
        ),
        Valid(
            """
            import torch
            from glob import glob

            for epoch in range(10):
                train(model)
                state = torch.load(sorted(glob("runs/*.pt"))[-1])
            """,
            why="which file is read is decided anew each iteration",
        ),
        Valid(
            """
            import torch

            for line in open("files.txt"):
                print(line)
            """,
            why="the loop's own iterable is evaluated once",
        ),
        Valid(
            """
            import numpy as np

            rows = {i: row * 2 for i, row in enumerate(np.load("table.npy"))}
            """,
            why="a comprehension's first iterable is evaluated once",
        ),
    ]
    INVALID = [
        Invalid(
            """
            import pandas as pd
            import torch

            def train(model, optimizer, path, epochs):
                for epoch in range(epochs):
                    frame = pd.read_csv(path)
                    x = torch.tensor(frame.drop(columns="y").to_numpy(), dtype=torch.float32)
                    loss = model(x).pow(2).mean()
                    loss.backward()
                    optimizer.step()
            """,
            fixed="""
            import pandas as pd
            import torch

            def train(model, optimizer, path, epochs):
                frame = pd.read_csv(path)
                for epoch in range(epochs):
                    x = torch.tensor(frame.drop(columns="y").to_numpy(), dtype=torch.float32)
                    loss = model(x).pow(2).mean()
                    loss.backward()
                    optimizer.step()
            """,
            applicability=Applicability.UNSAFE,
            message="pd.read_csv",
        ),
        Invalid(
            """
            import pandas as pd

            for epoch in range(5):
                # re-read the table
                df = pd.read_csv("train.csv")  # slow
                train_one_epoch(df)
            """,
            fixed="""
            import pandas as pd

            # re-read the table
            df = pd.read_csv("train.csv")  # slow
            for epoch in range(5):
                train_one_epoch(df)
            """,
            applicability=Applicability.UNSAFE,
            message="pd.read_csv",
        ),
        Invalid(
            """
            import torch as T
            from torch.utils.data import DataLoader as DL

            def train(model, dataset, epochs):
                for epoch in range(epochs):
                    loader = DL(dataset,
                                batch_size=64,
                                shuffle=True)
                    for x, y in loader:
                        step(model, x, y)
            """,
            fixed="""
            import torch as T
            from torch.utils.data import DataLoader as DL

            def train(model, dataset, epochs):
                loader = DL(dataset,
                            batch_size=64,
                            shuffle=True)
                for epoch in range(epochs):
                    for x, y in loader:
                        step(model, x, y)
            """,
            applicability=Applicability.UNSAFE,
            message="DataLoader",
        ),
        Invalid(
            """
            from transformers import AutoModelForSequenceClassification, AutoTokenizer
            import torch

            for text in texts:
                tok = AutoTokenizer.from_pretrained(MODEL)
                model = AutoModelForSequenceClassification.from_pretrained(MODEL).eval()
                print(model(**tok(text, return_tensors="pt")).logits)
            """,
            count=2,
            fixed="""
            from transformers import AutoModelForSequenceClassification, AutoTokenizer
            import torch

            tok = AutoTokenizer.from_pretrained(MODEL)
            model = AutoModelForSequenceClassification.from_pretrained(MODEL).eval()
            for text in texts:
                print(model(**tok(text, return_tensors="pt")).logits)
            """,
            applicability=Applicability.UNSAFE,
        ),
        Invalid(
            """
            import numpy as np

            for i in range(3):
                for j in range(4):
                    table = np.load("table.npy")
                    print(table[i, j])
            """,
            fixed="""
            import numpy as np

            table = np.load("table.npy")
            for i in range(3):
                for j in range(4):
                    print(table[i, j])
            """,
            applicability=Applicability.UNSAFE,
        ),
        Invalid(
            """
            import torch
            import pandas as pd

            for epoch in range(5):
                df = pd.read_csv("train.csv")
                df["y"] = df["y"] / epochs
                train_one_epoch(df)
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="changed in the loop",
        ),
        Invalid(
            """
            import torch
            import json

            for batch in loader:
                with open("labels.json") as f:
                    labels = json.load(f)
                score(batch, labels)
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="`open(...)` reads a file on every iteration",
        ),
        Invalid(
            """
            from PIL import Image
            import torch

            crops = [Image.open("watermark.png").crop(box) for box in boxes]
            """,
            applicability=Applicability.DISPLAY_ONLY,
        ),
        Invalid(
            """
            import torch
            from transformers import AutoModel

            for fold in range(5):
                model = AutoModel.from_pretrained("bert-base-uncased")
                optimizer = torch.optim.AdamW(model.parameters())
                for batch in folds[fold]:
                    model(**batch).loss.backward()
                    optimizer.step()
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="changed in the loop",
        ),
        Invalid(
            """
            import torch
            from peft import LoraConfig, get_peft_model
            from transformers import AutoModelForCausalLM as LM

            for rank in (4, 8, 16):
                base = LM.from_pretrained("gpt2")
                get_peft_model(base, LoraConfig(r=rank)).save_pretrained(f"adapter-{rank}")
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="`base` is changed in the loop",
        ),
        Invalid(
            """
            import torch

            async def consume(queue):
                async for item in queue:
                    weights = torch.load("weights.pt", map_location="cpu")
                    await send(apply(weights, item))
            """,
            fixed="""
            import torch

            async def consume(queue):
                weights = torch.load("weights.pt", map_location="cpu")
                async for item in queue:
                    await send(apply(weights, item))
            """,
            applicability=Applicability.UNSAFE,
        ),
    ]

    def check(self, ctx: Context) -> None:
        semantic = ctx.semantic
        for call in load_candidates(semantic):  # the others cannot be loads
            # In a loop (an ancestor walk) before resolving what the call loads.
            loops = semantic.enclosing_loops(call)
            if not loops:
                continue
            load = load_of(semantic, call)
            if load is None or not outermost_load(semantic, call):
                continue
            loop = loops[0]
            if not _invariant(semantic, call, loop) or _deliberate(semantic, call, load, loop):
                continue
            where = f"the loop at line {loop.lineno}" if isinstance(loop, _STATEMENT_LOOPS) else "this comprehension"
            fix, note = _fix(ctx, call, load, loop)
            message = f"`{_spelled(call)}(...)` {load.phrase} on every iteration of {where}, with the same arguments each time"
            ctx.report(call, message + (f"; {note}" if note else ""), fix)


# ---------------------------------------------------------------------------------- detection
def _spelled(call: ast.Call) -> str:
    text = ast.unparse(call.func)
    return text if len(text) <= 50 else "..." + text[-47:]


def _invariant(semantic: SemanticModel, call: ast.Call, loop: ast.AST) -> bool:
    """No name the loop binds, no attribute or item it assigns, and no call whose result can
    change from one iteration to the next."""
    if not semantic.is_loop_invariant(call, loop):
        return False
    stored = _stored_paths(semantic, loop)
    for node in ast.walk(call):
        if isinstance(node, (ast.Attribute, ast.Subscript)) and stored:
            text = ast.unparse(node)
            if any(text == s or s.startswith((text + ".", text + "[")) for s in stored):
                return False
        if isinstance(node, ast.Call) and node is not call:
            func = node.func
            last = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if _DYNAMIC_CALL.match(last):
                return False
            if (semantic.qualified_name(func) or "").startswith(_DYNAMIC_MODULES):
                return False
            if isinstance(func, ast.Attribute) and root_name(func) in ("self", "cls") and load_of(semantic, node) is None:
                return False  # object state can change between iterations
    return True


def _stored_paths(semantic: SemanticModel, loop: ast.AST) -> frozenset[str]:
    """`self.path`, `cfg["data"]`: attribute and item targets the loop assigns."""
    cache = semantic.rule_cache.setdefault("GL301.stored", {})
    if loop not in cache:
        cache[loop] = frozenset(
            ast.unparse(node)
            for node in ast.walk(loop)
            if isinstance(node, (ast.Attribute, ast.Subscript)) and isinstance(node.ctx, (ast.Store, ast.Del))
        )
    return cache[loop]


def _deliberate(semantic: SemanticModel, call: ast.Call, load: Load, loop: ast.AST) -> bool:
    """Loads that run on purpose per iteration, or not on every iteration."""
    bound = semantic.names_bound_in(loop)
    child: ast.AST = call
    for ancestor in semantic.ancestors(call):
        if ancestor is loop:
            break
        if isinstance(ancestor, ast.ExceptHandler):
            return True  # only on error
        if isinstance(ancestor, (ast.If, ast.IfExp)) and child is not ancestor.test and _varies(semantic, ancestor.test, bound):
            return True  # first-iteration, interval or lazy-load guard
        if isinstance(ancestor, ast.BoolOp) and child is not ancestor.values[0]:
            before = ancestor.values[: ancestor.values.index(child)] if child in ancestor.values else []
            if any(_varies(semantic, v, bound) for v in before):
                return True
        if isinstance(ancestor, ast.Try) and child in ancestor.body and _leaves(loop):
            return True  # retry loop
        child = ancestor
    if isinstance(loop, ast.While) and (_leaves(loop) or _names(loop.test) & _assigned_names(semantic, call)):
        return True  # polling or retrying until something changes
    if _sleeps(semantic, loop):
        return True
    if load.path is not None:
        if any(_RUN_OUTPUT.search(c.value) for c in ast.walk(load.path) if isinstance(c, ast.Constant) and isinstance(c.value, str)):
            return True
        if any(_RUN_OUTPUT.search(n.id if isinstance(n, ast.Name) else n.attr) for n in ast.walk(load.path) if isinstance(n, (ast.Name, ast.Attribute))):
            return True
        if _loop_writes(semantic, loop, load.path, call):
            return True
    return False


def _varies(semantic: SemanticModel, test: ast.AST, bound: frozenset[str]) -> bool:
    for node in ast.walk(test):
        if isinstance(node, ast.Name) and node.id in bound:
            return True
        if isinstance(node, ast.Call):
            func = node.func
            last = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if last in _CHECKS_FILE or _DYNAMIC_CALL.match(last):
                return True
    return False


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _assigned_names(semantic: SemanticModel, call: ast.Call) -> set[str]:
    stmt = semantic.enclosing_statement(call)
    if isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return set()


def _own_statements(loop: ast.AST):
    """Statements of the loop's body, not descending into nested loops or defs."""
    stack = list(loop.body)
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (*_STATEMENT_LOOPS, *FUNCTION_NODES, ast.ClassDef)):
            continue
        stack.extend(c for c in ast.iter_child_nodes(node) if isinstance(c, (ast.stmt, ast.ExceptHandler, ast.match_case)))


def _leaves(loop: ast.AST) -> bool:
    """The loop has its own `break` (or `return`): a retry or search loop."""
    return any(isinstance(s, (ast.Break, ast.Return)) for s in _own_statements(loop))


def _sleeps(semantic: SemanticModel, loop: ast.AST) -> bool:
    return any(
        isinstance(n, ast.Call) and (semantic.call_name(n) or "").endswith((".sleep", "time.sleep")) for n in ast.walk(loop)
    )


def _loop_writes(semantic: SemanticModel, loop: ast.AST, path: ast.AST, call: ast.Call) -> bool:
    wanted = ast.dump(path)
    for node in ast.walk(loop):
        if not isinstance(node, ast.Call) or node is call:
            continue
        func = node.func
        last = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if not (_WRITE_WORDS.search(last) or write_mode(semantic, node)):
            continue
        if any(ast.dump(sub) == wanted for arg in (*node.args, *(k.value for k in node.keywords)) for sub in ast.walk(arg)):
            return True
    return False


# ---------------------------------------------------------------------------------- fixing
def _fix(ctx: Context, call: ast.Call, load: Load, loop: ast.AST) -> tuple[Fix, str]:
    """The fix, and a note for the message when only advice can be given."""
    semantic = ctx.semantic
    advice = f"Load it once before the loop at line {loop.lineno}" if isinstance(loop, _STATEMENT_LOOPS) else "Load it once before the comprehension"
    stmt = semantic.enclosing_statement(call)
    if not isinstance(loop, _STATEMENT_LOOPS) or not any(s is stmt for s in loop.body):
        return Fix(Applicability.DISPLAY_ONLY, advice), ""
    if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
        return Fix(Applicability.DISPLAY_ONLY, advice), ""
    name = stmt.targets[0].id
    if load.name in ("builtins.open", "io.open", "codecs.open"):
        return Fix(Applicability.DISPLAY_ONLY, f"{advice}, reading its content once: a file object is used up by reading it"), ""
    if not semantic.is_loop_invariant(stmt.value, loop) or len(loop.body) < 2:
        return Fix(Applicability.DISPLAY_ONLY, advice), ""
    if stmt.lineno == loop.lineno or any(s is not stmt and stmt.lineno <= s.lineno <= stmt.end_lineno for s in loop.body):
        return Fix(Applicability.DISPLAY_ONLY, advice), ""  # shares its line with the loop or another statement
    problem = _hoist_problem(semantic, stmt, name, load, loop)
    if problem is not None:
        note = f"`{name}` is {problem}, so load it once and copy it per iteration"
        return Fix(Applicability.DISPLAY_ONLY, f"{advice} and copy it per iteration (`{name}` is {problem})"), note

    def build() -> list[Edit]:
        return [_hoist_edit(ctx, loop, stmt)]

    return Fix(Applicability.UNSAFE, f"Hoist `{name} = {_spelled(call)}(...)` above the loop", build=build), ""


def _hoist_problem(semantic: SemanticModel, stmt: ast.Assign, name: str, load: Load, loop: ast.AST) -> str | None:
    """Why moving `name = load(...)` out of the loop would change what the loop sees, or None."""
    index = next(i for i, s in enumerate(loop.body) if s is stmt)
    stores = 0
    for node in ast.walk(loop):
        if isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, (ast.Store, ast.Del)):
            stores += 1
        elif isinstance(node, (ast.Global, ast.Nonlocal)) and name in node.names:
            return "declared global"
    if stores != 1:
        return "re-bound in the loop"
    earlier = [*loop.body[:index], *([loop.test] if isinstance(loop, ast.While) else [])]
    if any(isinstance(n, ast.Name) and n.id == name for s in earlier for n in ast.walk(s)):
        return "used before it is loaded in the loop"
    inside = [s for s in loop.body[index + 1 :]]
    for node in (n for s in inside for n in ast.walk(s)):
        if isinstance(node, (ast.Attribute, ast.Subscript)) and isinstance(node.ctx, (ast.Store, ast.Del)) and root_name(node) == name:
            return "changed in the loop"
        if isinstance(node, ast.AugAssign) and root_name(node.target) == name:
            return "changed in the loop"
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and root_name(func.value) == name:
                method = func.attr
                if method in _MUTATORS or (method.endswith("_") and not method.startswith("_")) or method in ("parameters", "named_parameters"):
                    return "changed in the loop"
                if any(k.arg == "inplace" and not (isinstance(k.value, ast.Constant) and k.value.value is False) for k in node.keywords):
                    return "changed in the loop"
            args = [*node.args, *(k.value for k in node.keywords)]
            if any(isinstance(a, ast.Name) and a.id == name for a in args):
                callee = semantic.call_name(node) or ""
                last = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
                if callee in _RANDOM_MUTATORS or last in IN_PLACE_ADAPTERS:
                    return "changed in the loop"
                # Helpers that receive a model commonly wrap, train or quantise it in place.
                if load.kind == "model" and callee not in _READ_ONLY_BUILTINS and load_of(semantic, node) is None:
                    return "handed to a function that may change it"
                if isinstance(func, ast.Attribute) and func.attr in _ESCAPES:
                    return "kept across iterations"
        if isinstance(node, (ast.Yield, ast.YieldFrom)) and node.value is not None and any(
            isinstance(n, ast.Name) and n.id == name for n in ast.walk(node.value)
        ):
            return "handed out per iteration"
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Name)
            and node.value.id == name
            and any(isinstance(t, (ast.Subscript, ast.Attribute)) for t in node.targets)
        ):
            return "kept across iterations"
    if load.kind in ("model", "checkpoint") and semantic.loop_body_trains(loop):
        # A forward pass with autograd on in a training loop leaves gradients on the model.
        for node in (n for s in inside for n in ast.walk(s)):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name and not semantic.is_grad_disabled(node):
                return "changed in the loop (trained)"
    return None


def _hoist_edit(ctx: Context, loop: ast.AST, stmt: ast.stmt) -> Edit:
    from greenlint.rules._gl301_cst import Hoist  # libcst only when a fix is built

    module, positions = ctx.cst()
    mover = Hoist(positions, loop.lineno, stmt.lineno)
    new_module = module.visit(mover)
    if not mover.done:
        raise FixUnavailable("the loop or the statement could not be located")
    edit = minimal_edit(ctx.text, new_module.code)
    if edit is None:
        raise FixUnavailable("the hoist changed nothing")
    return edit

