"""GL402 cpu-tensor-then-moved: a tensor built on the CPU by a torch factory and copied to the
device straight away (`torch.zeros(n).to(device)`, `torch.randn(n).cuda()`) instead of being
created there with `device=`."""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING

from greenlint.diagnostics import Applicability, Edit, Fix
from greenlint.fixes import newline_of
from greenlint.rules.base import INCLUDE_TESTS, Invalid, Rule, Valid, register
from greenlint.semantic import SemanticModel

if TYPE_CHECKING:
    from greenlint.engine import Context

# Factories that always build on the CPU unless given `device=` (not `*_like` or `as_tensor`,
# which follow their argument's device).
_FACTORIES = frozenset("zeros ones empty full arange eye tensor linspace logspace".split())
# The CUDA generator draws different numbers than the CPU one for the same seed.
_RANDOM = frozenset("rand randn randint randperm normal".split())
# Factories whose values do not depend on the dtype they are computed in.
_EXACT = frozenset("zeros ones empty eye".split())
_DTYPES = frozenset(
    "float float16 float32 float64 half double bfloat16 int int8 int16 int32 int64 uint8 long short bool complex64 complex128 cfloat cdouble".split()
)
_DEVICE_STRING = re.compile(r"^(cuda|mps|xpu|hpu|npu|xla|meta)(:\d+)?$")
_DEVICE_NAME = re.compile(r"(^|_)(device|dev)(_|$)|^(device|dev)\w*$", re.IGNORECASE)
# `.to()` keywords that change how the copy happens: the advice stays, the rewrite does not.
_COPY_OPTIONS = frozenset({"non_blocking", "copy", "memory_format"})


@register
class CpuTensorThenMoved(Rule):
    """
    ## What it does
    Flags a torch tensor factory (`zeros`, `ones`, `empty`, `full`, `arange`, `eye`, `tensor`,
    `rand`, `randn`, ...) whose result is copied to a device right away, chained
    (`torch.zeros(n).to(device)`) or in the next statement (`x = torch.zeros(n)` then
    `x = x.to(device)`).

    ## Fix
    Passes `device=` (and `dtype=`, when the move carried one) to the factory: safe for
    deterministic factories, unsafe for random ones (the CUDA generator draws other numbers).
    """

    code = "GL402"
    name = "cpu-tensor-then-moved"
    summary = "Tensor created on the CPU and immediately copied to the device"
    impact = "low"
    evidence = 'GPU only: skips a host allocation and a host-to-device copy; creedengo GCI104 reports ~50% less for building on device (CPU, not re-measured).'
    frameworks = ("torch",)
    fix_applicability = Applicability.SAFE
    options = {
        "include-tests": INCLUDE_TESTS,
    }

    VALID = [
        Valid(
            """
            import torch

            def make(n, device):
                return torch.zeros(n, device=device)
            """,
            why="created on the device",
        ),
        Valid(
            """
            import torch

            def make(n, device):
                mask = torch.zeros(n, dtype=torch.bool)
                mask[::2] = True
                return mask.to(device)
            """,
            why="filled on the CPU before the move",
        ),
        Valid(
            """
            import torch

            def stage(n, device):
                buffer = torch.empty(n, pin_memory=True)
                staged = torch.empty(n).pin_memory().to(device, non_blocking=True)
                return buffer.to(device, non_blocking=True), staged
            """,
            why="pinned-memory staging",
        ),
        Valid(
            """
            import torch

            def convert(n, x):
                a = torch.arange(n).to(torch.float16)
                b = torch.ones(n).to(x)
                c = torch.ones(n).to(dtype=x.dtype)
                d = torch.ones(n).cpu()
                return a, b, c, d
            """,
            why="dtype-only moves, a tensor argument, .cpu()",
        ),
        Valid(
            """
            import torch

            noise = torch.randn(4, 8, generator=torch.Generator().manual_seed(0)).to("cuda")
            """,
            why="an explicit CPU generator: the draw is meant to come from the CPU",
        ),
        Valid(
            """
            import numpy as np
            import torch

            def load(path, device):
                return torch.from_numpy(np.load(path)).to(device)
            """,
            why="data that originates on the host",
        ),
        Valid(
            """
            import torch

            def make(n):
                return torch.zeros(n).to("cpu")
            """,
            why="not a move off the CPU",
        ),
        Valid(
            """
            import torch

            def make(n, device):
                x = torch.zeros(n)
                print(x)
                x = x.to(device)
                return x
            """,
            why="used on the CPU before the move",
        ),
        Valid(
            """
            import torch

            def like(x, data, device):
                return torch.zeros_like(x).to(device), torch.as_tensor(data).to(device)
            """,
            why="`*_like` and `as_tensor` follow their argument's device, which may already be the GPU",
        ),
        Valid(
            """
            import torch

            def test_moves(device):
                assert torch.ones(3).to(device).sum() == 3
            """,
            filename="tests/test_device.py",
            why="test files are skipped unless include-tests is set",
        ),
        Valid(
            """
            from mylib import zeros

            def make(n, device):
                return zeros(n).to(device)
            """,
            why="not torch's factory",
        ),
    ]
    INVALID = [
        Invalid(
            """
            import torch

            def make(batch, device):
                return torch.zeros(batch, 16).to(device)
            """,
            fixed="""
            import torch

            def make(batch, device):
                return torch.zeros(batch, 16, device=device)
            """,
            applicability=Applicability.SAFE,
            changes_numerics=False,
            message="torch.zeros",
        ),
        Invalid(
            """
            import torch as T

            positions = T.arange(
                0,
                512,  # max length
            ).cuda()
            ids = T.tensor([1, 2, 3]).cuda(1)
            """,
            count=2,
            fixed="""
            import torch as T

            positions = T.arange(
                0,
                512,  # max length
                device="cuda",
            )
            ids = T.tensor([1, 2, 3], device="cuda:1")
            """,
            applicability=Applicability.SAFE,
        ),
        Invalid(
            """
            from torch import ones, float16

            def mask(n, device):
                return ones(n, n).to(device, float16).triu()
            """,
            fixed="""
            from torch import ones, float16

            def mask(n, device):
                return ones(n, n, device=device, dtype=float16).triu()
            """,
            applicability=Applicability.SAFE,
        ),
        Invalid(
            """
            import torch

            def noise(b, device):
                return torch.randn(b, 128).to(device=device)
            """,
            fixed="""
            import torch

            def noise(b, device):
                return torch.randn(b, 128, device=device)
            """,
            applicability=Applicability.UNSAFE,
            changes_numerics=True,
            message="random",
        ),
        Invalid(
            """
            import torch

            def init_hidden(layers, batch, size, device):
                h0 = torch.zeros(layers, batch, size)
                h0 = h0.to(device)
                return h0
            """,
            fixed="""
            import torch

            def init_hidden(layers, batch, size, device):
                h0 = torch.zeros(layers, batch, size, device=device)
                return h0
            """,
            applicability=Applicability.SAFE,
        ),
        Invalid(
            """
            import torch

            def make(x, n):
                return torch.full((n,), 0.5).to(x.device, non_blocking=True)
            """,
            applicability=Applicability.DISPLAY_ONLY,
        ),
        Invalid(
            """
            import torch

            def scale(n, device):
                return torch.full((n,), 0.1).to(device, dtype=torch.float16)
            """,
            fixed="""
            import torch

            def scale(n, device):
                return torch.full((n,), 0.1, device=device, dtype=torch.float16)
            """,
            applicability=Applicability.UNSAFE,
            changes_numerics=True,
            message="torch.full",
        ),
    ]

    def check(self, ctx: Context) -> None:
        semantic = ctx.semantic
        for call in semantic.nodes(ast.Call):
            func = call.func
            if not isinstance(func, ast.Attribute) or func.attr not in ("to", "cuda"):
                continue
            receiver = func.value
            if isinstance(receiver, ast.Call):
                factory = self._factory(semantic, receiver)
                if factory is not None:
                    self._consider(ctx, factory, receiver, call, None)
            elif isinstance(receiver, ast.Name):
                self._consider_assigned(ctx, receiver, call)

    @staticmethod
    def _factory(semantic: SemanticModel, call: ast.Call) -> str | None:
        name = semantic.call_name(call)
        if name is None or not name.startswith("torch."):
            return None
        last = name[len("torch.") :]
        if last not in _FACTORIES and last not in _RANDOM:
            return None
        keywords = {k.arg for k in call.keywords}
        # Already placed, pinned on purpose, written into `out`, or drawn from a given generator.
        if keywords & {"device", "pin_memory", "out", "generator"}:
            return None
        return last

    def _consider_assigned(self, ctx: Context, name: ast.Name, move: ast.Call) -> None:
        """`x = torch.zeros(n)` directly followed by `x = x.to(device)`."""
        semantic = ctx.semantic
        stmt = semantic.parent(move)
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
            return
        if stmt.targets[0].id != name.id or stmt.value is not move:
            return
        found = semantic.body_containing(stmt)
        if found is None or found[1] == 0:
            return
        previous = found[0][found[1] - 1]
        if not (isinstance(previous, ast.Assign) and len(previous.targets) == 1 and isinstance(previous.targets[0], ast.Name)):
            return
        if previous.targets[0].id != name.id or not isinstance(previous.value, ast.Call):
            return
        factory = self._factory(semantic, previous.value)
        if factory is not None:
            self._consider(ctx, factory, previous.value, move, stmt)

    def _consider(self, ctx: Context, factory: str, creation: ast.Call, move: ast.Call, move_statement: ast.Assign | None) -> None:
        target = _move_target(ctx, move)
        if target is None:
            return
        device, dtype, rewritable = target
        random = factory in _RANDOM
        spelled = f"{ast.unparse(creation.func)}(...)"
        message = f"`{spelled}` is built on the CPU and then copied to the device; create it there with `device=`"
        if random:
            message += " (random values then come from the device's generator)"
        keywords = {k.arg for k in creation.keywords}
        if not rewritable or None in keywords or (dtype is not None and "dtype" in keywords):
            ctx.report(creation, message, Fix(Applicability.DISPLAY_ONLY, f"Pass `device=` to `{spelled}`"))
            return
        edits = _edits(ctx, creation, move, move_statement, device, dtype)
        if edits is None:
            ctx.report(creation, message, Fix(Applicability.DISPLAY_ONLY, f"Pass `device=` to `{spelled}`"))
            return
        # Random draws differ between generators; a non-exact factory given the dtype computes
        # in it instead of converting to it; with requires_grad the device tensor becomes the leaf.
        changes_numerics = random or (dtype is not None and factory not in _EXACT)
        unsafe = changes_numerics or "requires_grad" in keywords
        applicability = Applicability.UNSAFE if unsafe else Applicability.SAFE
        fix_message = f"Pass `device={device}`" + (f" and `dtype={dtype}`" if dtype else "") + f" to `{spelled}`"
        ctx.report(creation, message, Fix(applicability, fix_message, changes_numerics=changes_numerics, build=lambda: edits))


def _move_target(ctx: Context, move: ast.Call) -> tuple[str, str | None, bool] | None:
    """(device source, dtype source or None, whether a rewrite keeps behaviour) for a move to
    a device; None when the call is not one (a dtype-only `.to`, `.to(other_tensor)`, CPU)."""
    semantic = ctx.semantic

    def source(node: ast.AST) -> str:
        return ctx.text[slice(*ctx.lines.node_range(node))]

    func = move.func
    keywords = {k.arg: k.value for k in move.keywords}
    if None in keywords:
        return None
    rewritable = not (_COPY_OPTIONS & keywords.keys())
    if func.attr == "cuda":
        device_arg = move.args[0] if move.args else keywords.get("device")
        if device_arg is None:
            return '"cuda"', None, rewritable
        if isinstance(device_arg, ast.Constant) and isinstance(device_arg.value, int) and not isinstance(device_arg.value, bool):
            return f'"cuda:{device_arg.value}"', None, rewritable
        if isinstance(device_arg, ast.Constant) and isinstance(device_arg.value, str) and _DEVICE_STRING.match(device_arg.value):
            return source(device_arg), None, rewritable
        return source(device_arg), None, False
    args = list(move.args)
    if any(isinstance(a, ast.Starred) for a in args):
        return None
    device = keywords.get("device")
    dtype = keywords.get("dtype")
    if device is None and args and _is_device(semantic, args[0]):
        device = args.pop(0)
    if device is None or not _is_device(semantic, device):
        return None
    if args:
        if dtype is not None or len(args) > 1 or not _is_dtype(semantic, args[0]):
            return None
        dtype = args[0]
    return source(device), (source(dtype) if dtype is not None else None), rewritable


def _is_dtype(semantic: SemanticModel, expr: ast.AST) -> bool:
    name = semantic.qualified_name(expr)
    if name is not None:
        return name.startswith("torch.") and name.rsplit(".", 1)[-1] in _DTYPES
    return isinstance(expr, ast.Attribute) and expr.attr == "dtype"


def _is_device(semantic: SemanticModel, expr: ast.AST, depth: int = 0) -> bool:
    """A device other than the CPU, or an expression named like a device (`device`,
    `self.device`, `x.device`, `torch.device(...)`)."""
    if depth > 3:
        return False
    if isinstance(expr, ast.Constant):
        return isinstance(expr.value, str) and bool(_DEVICE_STRING.match(expr.value))
    if isinstance(expr, ast.JoinedStr):
        first = expr.values[0] if expr.values else None
        return isinstance(first, ast.Constant) and str(first.value).startswith("cuda")
    if isinstance(expr, ast.Call):
        return semantic.call_name(expr) == "torch.device"
    if isinstance(expr, ast.IfExp):
        return _is_device(semantic, expr.body, depth + 1) or _is_device(semantic, expr.orelse, depth + 1)
    if isinstance(expr, ast.Attribute):
        return expr.attr == "device" or bool(_DEVICE_NAME.search(expr.attr))
    if isinstance(expr, ast.Name):
        if _DEVICE_NAME.search(expr.id):
            return True
        value = semantic.single_value(expr)
        return value is not None and _is_device(semantic, value, depth + 1)
    return False


def _edits(ctx: Context, creation: ast.Call, move: ast.Call, move_statement: ast.Assign | None, device: str, dtype: str | None) -> list[Edit] | None:
    """Insert the keywords before the factory's closing parenthesis, keeping its layout, and
    drop the `.to(...)` (or the whole `x = x.to(...)` line). None when the text is not plain."""
    text = ctx.text
    start, end = ctx.lines.node_range(creation)
    if text[end - 1 : end] != ")":
        return None
    close = end - 1
    addition = f"device={device}" + (f", dtype={dtype}" if dtype else "")
    arguments = [*creation.args, *creation.keywords]
    if not arguments:
        insert = [Edit(close, close, addition)]
    else:
        last_end = max(ctx.lines.node_range(a)[1] for a in arguments)
        gap = text[last_end:close]
        code = re.sub(r"#[^\n]*", "", gap)
        if "," not in code:
            insert = [Edit(last_end, last_end, ", " + addition)]
        elif "\n" in gap:
            # A trailing comma before a line break: add one more argument line like the last.
            line_start = text.rfind("\n", 0, last_end) + 1
            indent = re.match(r"[ \t]*", text[line_start:]).group()
            at = last_end + gap.rfind("\n") + 1
            insert = [Edit(at, at, f"{indent}{addition},{newline_of(text)}")]
        else:
            at = last_end + code.index(",") + 1
            insert = [Edit(at, at, f" {addition},")]
    if move_statement is None:
        _, move_end = ctx.lines.node_range(move)
        removed = text[end:move_end]
        if not re.match(r"^[\s\\]*\.[\s\\]*(to|cuda)[\s\\]*\(", removed) or "#" in removed:
            return None
        return [*insert, Edit(end, move_end, "")]
    lines = ctx.lines
    first, last = move_statement.lineno, move_statement.end_lineno
    line_text = text[lines.line_start(first) : lines.line_end(last)]
    statement_text = text[slice(*lines.node_range(move_statement))]
    if line_text.strip() != statement_text.strip():
        return None  # shares its line with other code or a comment
    drop_end = lines.line_starts[last] if last < len(lines.line_starts) else len(text)
    return [*insert, Edit(lines.line_start(first), drop_end, "")]
