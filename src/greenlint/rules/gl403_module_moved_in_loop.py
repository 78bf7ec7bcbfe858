"""GL403 module-moved-in-loop: `model.to(device)` / `model.cuda()` on every step of a training
or inference loop, though the model already sits there after the first."""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING

from greenlint.diagnostics import Applicability, Edit, Fix
from greenlint.fixes import newline_of
from greenlint.rules.base import Invalid, Rule, Valid, register
from greenlint.semantic import SemanticModel, step_loop_around, step_loops

if TYPE_CHECKING:
    from greenlint.engine import Context

_STATEMENT_LOOPS = (ast.For, ast.AsyncFor, ast.While)
_MOVES = frozenset({"to", "cuda", "cpu", "half", "float", "bfloat16", "double", "xpu", "mps"})
# Words that end a model-like name but make it data: `model_inputs`, `model_output`, `net_config`.
_DATA_WORDS = frozenset(
    "input inputs output outputs batch data kwargs args config cfg name names path dir id ids type state "
    "params weights ckpt checkpoint file out emb embeds embeddings features feats logits preds mask".split()
)


@register
class ModuleMovedInLoop(Rule):
    """
    ## What it does
    Flags `model.to(device)` / `model.cuda()` on a module inside a training or inference step
    loop, with the same module and arguments on every iteration.

    ## Fix
    Moves the statement above the loop (unsafe: it then also runs when the loop runs zero times).
    """

    code = "GL403"
    name = "module-moved-in-loop"
    summary = "Model moved to its device on every step of a loop"
    impact = "medium"
    evidence = 'greenlint CPU run: a no-op model.to() still costs 2.9-3.9 ms per call (144-200 parameters); on a GPU a real move copies every weight.'
    frameworks = ("torch",)
    fix_applicability = Applicability.UNSAFE

    VALID = [
        Valid(
            """
            import torch

            def train(model, loader, optimizer, device):
                model.to(device)
                for x, y in loader:
                    loss = torch.nn.functional.mse_loss(model(x.to(device)), y.to(device))
                    loss.backward()
                    optimizer.step()
            """,
            why="moved once before the loop; tensors moved inside it",
        ),
        Valid(
            """
            import torch

            def train(model, loader, optimizer, device):
                for step, batch in enumerate(loader):
                    if step == 0:
                        model.to(device)
                    model(batch).sum().backward()
                    optimizer.step()
            """,
            why="first-iteration guard",
        ),
        Valid(
            """
            import torch

            def evaluate_all(models, x):
                for m in models:
                    m.to("cuda")
                    print(m(x))
            """,
            why="a different model each iteration",
        ),
        Valid(
            """
            import torch

            def per_device(model, x):
                for i in range(torch.cuda.device_count()):
                    model.to(f"cuda:{i}")
                    print(model(x.to(f"cuda:{i}")))
            """,
            why="a different device each iteration: the device depends on the loop variable",
        ),
        Valid(
            """
            import torch

            def generate(text_encoder, unet, prompts):
                for prompt in prompts:
                    text_encoder.cuda()
                    emb = text_encoder(prompt)
                    text_encoder.cpu()
                    unet.cuda()
                    yield unet(emb)
                    unet.cpu()
            """,
            why="offloading: the loop moves the models away again on purpose",
        ),
        Valid(
            """
            import torch

            def train(model, loader, optimizer, device):
                for epoch in range(10):
                    model.to(device)
                    for x, y in loader:
                        model(x).sum().backward()
                        optimizer.step()
            """,
            why="once per epoch, outside the step loop",
        ),
        Valid(
            """
            import torch

            def run(model_inputs, model, loader, device):
                for batch in loader:
                    model_inputs = model_inputs.to(device)
                    model(batch, model_inputs)
            """,
            why="data named after the model is not a module",
        ),
        Valid(
            """
            import torch

            def sweep(loader, device, widths):
                for width in widths:
                    model = torch.nn.Linear(8, width)
                    model.to(device)
                    for x in loader:
                        model(x)
            """,
            why="a new model built each iteration of a non-step loop",
        ),
    ]
    INVALID = [
        Invalid(
            """
            import torch

            def train(model, loader, optimizer, device):
                for x, y in loader:
                    # make sure the weights are on the GPU
                    model.to(device)  # cheap when already there
                    loss = torch.nn.functional.cross_entropy(model(x), y)
                    loss.backward()
                    optimizer.step()
            """,
            fixed="""
            import torch

            def train(model, loader, optimizer, device):
                # make sure the weights are on the GPU
                model.to(device)  # cheap when already there
                for x, y in loader:
                    loss = torch.nn.functional.cross_entropy(model(x), y)
                    loss.backward()
                    optimizer.step()
            """,
            applicability=Applicability.UNSAFE,
            message="model.to(device)",
        ),
        Invalid(
            """
            import torch
            from torchvision.models import resnet18

            net = resnet18()
            with torch.no_grad():
                for images in batches:
                    net = net.cuda()
                    print(net(images.cuda()).argmax(1))
            """,
            fixed="""
            import torch
            from torchvision.models import resnet18

            net = resnet18()
            with torch.no_grad():
                net = net.cuda()
                for images in batches:
                    print(net(images.cuda()).argmax(1))
            """,
            applicability=Applicability.UNSAFE,
            message="inference loop",
        ),
        Invalid(
            """
            import torch

            class Trainer:
                def fit(self, loader):
                    for step, batch in enumerate(loader):
                        self.model.to(self.device)
                        self.optimizer.zero_grad()
                        self.model(batch).mean().backward()
                        self.optimizer.step()
            """,
            fixed="""
            import torch

            class Trainer:
                def fit(self, loader):
                    self.model.to(self.device)
                    for step, batch in enumerate(loader):
                        self.optimizer.zero_grad()
                        self.model(batch).mean().backward()
                        self.optimizer.step()
            """,
            applicability=Applicability.UNSAFE,
        ),
        Invalid(
            """
            import torch

            def train(model, loader, optimizer):
                for x, y in loader:
                    out = model.cuda()(x)
                    out.sum().backward()
                    optimizer.step()
            """,
            applicability=Applicability.DISPLAY_ONLY,
        ),
        Invalid(
            """
            import torch

            def train(model, loader, optimizer, device):
                while True:
                    x = next(loader)
                    with torch.autocast("cuda"):
                        model.to(device, dtype=torch.float32)
                        loss = model(x).sum()
                    loss.backward()
                    optimizer.step()
            """,
            applicability=Applicability.DISPLAY_ONLY,
        ),
    ]

    def check(self, ctx: Context) -> None:
        semantic = ctx.semantic
        loops = None
        for call in semantic.nodes(ast.Call):
            func = call.func
            if not isinstance(func, ast.Attribute) or func.attr not in ("to", "cuda"):
                continue
            # Only a call inside a statement loop can be in a step loop: a cheap ancestor walk
            # before asking whether the receiver is a model.
            if not any(isinstance(loop, _STATEMENT_LOOPS) for loop in semantic.enclosing_loops(call)):
                continue
            receiver = func.value
            if not _is_module(semantic, receiver):
                continue
            if loops is None:
                loops = step_loops(semantic)
            if not loops:
                return
            loop = step_loop_around(semantic, call)
            if loop is None or self._conditional(semantic, call, loop):
                continue
            statement = semantic.enclosing_statement(call)
            if not _invariant(semantic, receiver, call, loop, statement) or _moved_elsewhere(semantic, receiver, call, loop):
                continue
            name = ast.unparse(receiver)
            ctx.report(
                call,
                f"`{_short(call)}` moves `{name}` on every step of this {loops[loop]} loop; it stays on the device after the first, so move it once before the loop",
                self._fix(ctx, call, statement, loop, receiver),
            )

    @staticmethod
    def _conditional(semantic: SemanticModel, call: ast.Call, loop: ast.AST) -> bool:
        """Under an `if`, `try`, or in a nested function or comprehension inside the loop."""
        for ancestor in semantic.ancestors(call):
            if ancestor is loop:
                return False
            if isinstance(ancestor, (ast.If, ast.IfExp, ast.Try, ast.ExceptHandler, ast.Match, ast.BoolOp)):
                return True
        return False

    def _fix(self, ctx: Context, call: ast.Call, statement: ast.stmt, loop: ast.AST, receiver: ast.AST) -> Fix:
        """Hoist a standalone `model.to(device)` or `model = model.to(device)` that sits directly
        in the loop's body to just above the loop."""
        advice = Fix(Applicability.DISPLAY_ONLY, f"Move `{ast.unparse(receiver)}` to its device once, before the loop")
        standalone = isinstance(statement, ast.Expr) and statement.value is call
        reassigned = (
            isinstance(statement, ast.Assign)
            and statement.value is call
            and len(statement.targets) == 1
            and ast.unparse(statement.targets[0]) == ast.unparse(receiver)
        )
        if not (standalone or reassigned) or not any(s is statement for s in getattr(loop, "body", [])):
            return advice
        edits = _hoist(ctx, statement, loop)
        if edits is None:
            return advice
        return Fix(Applicability.UNSAFE, f"Move `{_short(call)}` above the loop", build=lambda: edits)


def _is_module(semantic: SemanticModel, expr: ast.AST) -> bool:
    """A module per the semantic model, and not data named after one (`model_inputs`)."""
    name = expr.id if isinstance(expr, ast.Name) else expr.attr if isinstance(expr, ast.Attribute) else None
    if name is None or not semantic.is_model(expr):
        return False
    return not any(word in _DATA_WORDS for word in name.lower().split("_")[1:])


def _invariant(semantic: SemanticModel, receiver: ast.AST, call: ast.Call, loop: ast.AST, statement: ast.stmt) -> bool:
    """The same module and the same arguments on every iteration: the loop rebinds neither
    the module (other than by the move's own `model = model.to(...)`) nor what the arguments read."""
    wanted = ast.unparse(receiver)
    for node in ast.walk(loop):
        if node is statement:
            continue
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.For, ast.AsyncFor, ast.comprehension, ast.withitem)):
            targets = (
                node.targets if isinstance(node, ast.Assign)
                else [node.optional_vars] if isinstance(node, ast.withitem)
                else [node.target]
            )
            if any(isinstance(n, (ast.Name, ast.Attribute)) and ast.unparse(n) == wanted for t in targets if t is not None for n in ast.walk(t)):
                return False
    return all(semantic.is_loop_invariant(argument, loop) for argument in (*call.args, *(k.value for k in call.keywords)))


def _moved_elsewhere(semantic: SemanticModel, receiver: ast.AST, call: ast.Call, loop: ast.AST) -> bool:
    """The loop also moves or casts the module differently (offloading, device juggling)."""
    wanted = ast.unparse(receiver)
    signature = ast.dump(call)
    for node in ast.walk(loop):
        if node is call or not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in _MOVES and ast.unparse(func.value) == wanted and ast.dump(node) != signature:
            return True
    return False


def _hoist(ctx: Context, statement: ast.stmt, loop: ast.AST) -> list[Edit] | None:
    """Cut the statement's lines (with the comment lines right above it) and paste them above
    the loop at its indentation. None when the lines hold other code."""
    text, lines = ctx.text, ctx.lines
    first, last = statement.lineno, statement.end_lineno
    start = lines.line_start(first)
    if text[start : lines.offset(first, statement.col_offset)].strip():
        return None  # shares its first line with other code
    _, end = lines.node_range(statement)
    trailing = text[end : lines.line_end(last)]
    if trailing.strip() and not trailing.strip().startswith("#"):
        return None  # `model.to(device); x = ...`
    while first - 1 > loop.lineno and lines.line_text(first - 1).strip().startswith("#"):
        first -= 1
    loop_start = lines.line_start(loop.lineno)
    if text[loop_start : lines.offset(loop.lineno, loop.col_offset)].strip():
        return None  # the loop does not start its line
    cut_start = lines.line_start(first)
    cut_end = lines.line_starts[last] if last < len(lines.line_starts) else len(text)
    block = text[cut_start:cut_end]
    if not block.endswith(("\n", "\r")):
        block += newline_of(text)
    old_indent = text[lines.line_start(statement.lineno) : lines.offset(statement.lineno, statement.col_offset)]
    new_indent = text[loop_start : lines.offset(loop.lineno, loop.col_offset)]
    moved = "".join(
        new_indent + line[len(old_indent) :] if line.startswith(old_indent) else line
        for line in re.split(r"(?<=\n)", block)
        if line
    )
    return [Edit(loop_start, loop_start, moved), Edit(cut_start, cut_end, "")]


def _short(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 40 else text[:37] + "..."
