"""The shared semantic model rules ask instead of re-deriving: one pass over the stdlib `ast`.

It resolves imports and aliases to qualified names (`import torch as T; T.no_grad` ->
`torch.no_grad`), tracks scopes, parents and enclosing loops, and answers the questions most
energy rules need: is autograd off here, does this scope train, is this expression a model.
Every answer errs towards "don't know", which rules treat as "stay silent".
"""

from __future__ import annotations

import ast
import builtins
import operator
import re
from collections import defaultdict
from collections.abc import Iterator

FUNCTION_NODES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
SCOPE_NODES = (*FUNCTION_NODES, ast.ClassDef, ast.Module)
LOOP_NODES = (ast.For, ast.AsyncFor, ast.While, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_BUILTINS = frozenset(dir(builtins))

# Context managers and decorators that switch autograd off; `set_grad_enabled` and
# `inference_mode` take a flag, handled in _grad_mode_of_call.
_GRAD_OFF = frozenset(
    {
        "torch.no_grad",
        "torch.autograd.no_grad",
        "torch.autograd.grad_mode.no_grad",
        "torch.inference_mode",
        "torch.autograd.inference_mode",
        "torch.autograd.grad_mode.inference_mode",
    }
)
_GRAD_ON = frozenset({"torch.enable_grad", "torch.autograd.enable_grad", "torch.autograd.grad_mode.enable_grad"})
_SET_GRAD_ENABLED = frozenset(
    {"torch.set_grad_enabled", "torch.autograd.set_grad_enabled", "torch.autograd.grad_mode.set_grad_enabled"}
)
_INFERENCE_MODE = frozenset(
    {"torch.inference_mode", "torch.autograd.inference_mode", "torch.autograd.grad_mode.inference_mode"}
)

# Framework hooks that already run with autograd off (Lightning's evaluation loops).
GRAD_FREE_HOOKS = frozenset(
    {
        "validation_step",
        "test_step",
        "predict_step",
        "on_validation_batch_end",
        "on_test_batch_end",
        "on_predict_batch_end",
        "validation_epoch_end",
        "test_epoch_end",
        "on_validation_epoch_end",
        "on_test_epoch_end",
    }
)

_MODULE_BASES = frozenset(
    {
        "torch.nn.Module",
        "torch.nn.modules.module.Module",
        "lightning.LightningModule",
        "lightning.pytorch.LightningModule",
        "pytorch_lightning.LightningModule",
        "pytorch_lightning.core.LightningModule",
        "transformers.PreTrainedModel",
    }
)
_MODEL_FACTORIES = frozenset(
    {
        "torch.load",
        "torch.jit.load",
        "torch.jit.script",
        "torch.jit.trace",
        "torch.hub.load",
        "torch.compile",
        "timm.create_model",
        "open_clip.create_model",
    }
)
# from_pretrained classes that are not forward-callable models (pipelines disable grad themselves).
_NOT_A_MODEL = re.compile(r"Tokenizer|Processor|Extractor|Config|Scheduler|Pipeline|pipeline")
_SELF_MANAGED = ("ultralytics.", "transformers.pipeline", "diffusers.", "sklearn.")
_MODEL_FACTORY_PREFIXES = ("torchvision.models.", "timm.models.", "segmentation_models_pytorch.")
# Methods that return the model they are called on.
_MODEL_PASSTHROUGH = frozenset({"to", "cuda", "cpu", "eval", "train", "half", "float", "bfloat16", "double", "requires_grad_"})
# Methods that only models have (zero-argument .eval() distinguishes them from pandas' df.eval(expr)).
_MODEL_ONLY_METHODS = frozenset({"eval", "parameters", "named_parameters", "state_dict", "load_state_dict", "zero_grad"})
_MODEL_NAME = re.compile(
    r"^(model|net|network|classifier|encoder|decoder|backbone|generator|discriminator|policy|actor|critic"
    r"|teacher|student|detector|segmenter|unet|vae|transformer|cnn|rnn|lstm|mlp|resnet)(_\w+)?$"
    r"|^\w+_(model|net|network|classifier|encoder|decoder|backbone)$",
    re.IGNORECASE,
)


# `self.X` names: only the noun forms (`self.get_model` is a method, not a model).
_SELF_MODEL_NAME = re.compile(_MODEL_NAME.pattern.split("|^")[0], re.IGNORECASE)


def is_model_name(name: str) -> bool:
    return bool(_MODEL_NAME.match(name))


class Scope:
    """A module, class or function scope and the names it binds."""

    __slots__ = ("node", "parent", "imports", "bindings", "kind")

    def __init__(self, node: ast.AST, parent: Scope | None) -> None:
        self.node = node
        self.parent = parent
        self.imports: dict[str, str] = {}
        # name -> values assigned to it (None for bindings whose value is unknown: parameters,
        # loop targets, with-targets, augmented assignments, defs and classes).
        self.bindings: dict[str, list[ast.AST | None]] = defaultdict(list)
        self.kind = "module" if isinstance(node, ast.Module) else "class" if isinstance(node, ast.ClassDef) else "function"


class SemanticModel:
    """Built once per file; rules share it."""

    def __init__(self, tree: ast.Module, filename: str = "") -> None:
        self.tree = tree
        self.filename = filename
        self.parents: dict[ast.AST, ast.AST] = {}
        self.scopes: dict[ast.AST, Scope] = {}
        self._scope_of: dict[ast.AST, Scope] = {}
        self.by_type: dict[type, list[ast.AST]] = defaultdict(list)
        self.module_scope = Scope(tree, None)
        self.scopes[tree] = self.module_scope
        self._grad_off_cache: dict[ast.AST, bool] = {}
        self._local_classes: dict[str, ast.ClassDef] = {}
        self._calls_by_callee: dict[str, list[ast.Call]] | None = None
        self._grad_off_statements: list[tuple[ast.AST | None, tuple[int, int]]] | None = None
        self._resolving: set[tuple[int, str]] = set()
        # Per-file memo space for rules' own derived facts, keyed by the rule's code.
        self.rule_cache: dict[str, dict] = {}
        self._model_names: dict[tuple[int, str], bool] = {}
        self._scope_body_cache: dict[ast.AST, list[ast.AST]] = {}
        self._scope_calls_cache: dict[ast.AST, list[ast.Call]] = {}
        self._autograd_cache: dict[ast.AST, bool] = {}
        self._model_method_receivers: dict[ast.AST, set[str]] | None = None
        self._sorted: set[type] = set()
        self._bound_cache: dict[ast.AST, frozenset[str]] = {}
        self._uses_cuda: bool | None = None
        self._class_cache: dict[ast.ClassDef, tuple[set[str], dict[str, list[ast.AST]]]] = {}
        self._qualified: dict[ast.AST, str | None] = {}
        self._build()

    # ------------------------------------------------------------------ building
    def _build(self) -> None:
        # Iterative walk (deep expressions must not hit the recursion limit), with the child
        # iteration inlined: this loop is most of greenlint's time on a large tree.
        AST, list_ = ast.AST, list
        stack: list[tuple[ast.AST, Scope]] = [(self.tree, self.module_scope)]
        parents = self.parents
        by_type = self.by_type
        scope_of = self._scope_of
        binders = _BINDERS
        child_fields = _CHILD_FIELDS
        Name, Constant = ast.Name, ast.Constant
        while stack:
            node, scope = stack.pop()
            scope_of[node] = scope
            kind = node.__class__
            by_type[kind].append(node)
            fields = child_fields.get(kind)
            if fields is None:
                fields = child_fields[kind] = _child_fields(kind)
            if not fields:
                continue  # a leaf: Name, Constant, alias, pass ...
            inner = scope
            binder = binders.get(kind)
            if binder is not None:
                inner = binder(self, node, scope) or scope
            for field, inner_if_node, inner_if_list in fields:
                value = getattr(node, field, None)
                if value.__class__ is list_:
                    # Only a def's or class's body runs in its scope; decorators, defaults,
                    # bases and annotations run outside.
                    child_scope = inner if inner_if_list else scope
                    for item in reversed(value):
                        leaf = item.__class__
                        if leaf is Name or leaf is Constant:  # the commonest leaves, done here
                            parents[item] = node
                            scope_of[item] = child_scope
                            by_type[leaf].append(item)
                        elif isinstance(item, AST):
                            parents[item] = node
                            stack.append((item, child_scope))
                else:
                    leaf = value.__class__
                    if leaf is Name or leaf is Constant:
                        parents[value] = node
                        scope_of[value] = inner if inner_if_node else scope
                        by_type[leaf].append(value)
                    elif isinstance(value, AST):
                        parents[value] = node
                        # A lambda's body is inside it; its defaults are not.
                        stack.append((value, inner if inner_if_node else scope))

    def _bind_scope(self, node: ast.AST, outer: Scope) -> Scope:
        inner = Scope(node, outer)
        self.scopes[node] = inner
        self._bind_definition(node, outer, inner)
        return inner

    def _bind_for(self, node: ast.AST, scope: Scope) -> None:
        self._bind_targets(node.target, None, scope)

    def _bind_withitem(self, node: ast.withitem, scope: Scope) -> None:
        if node.optional_vars is not None:
            self._bind_targets(node.optional_vars, None, scope)

    def _bind_definition(self, node: ast.AST, outer: Scope, inner: Scope) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            outer.bindings[node.name].append(node)
            if isinstance(node, ast.ClassDef) and outer is self.module_scope:
                self._local_classes[node.name] = node
        if isinstance(node, FUNCTION_NODES):
            args = node.args
            for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
                if arg is not None:
                    inner.bindings[arg.arg].append(None)

    def _bind_import(self, node: ast.Import | ast.ImportFrom, scope: Scope) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    scope.imports[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    scope.imports[top] = top
            return
        prefix = "." * node.level + (f"{node.module}." if node.module else "")
        for alias in node.names:
            if alias.name == "*":
                continue  # unknowable without importing: names stay unresolved
            scope.imports[alias.asname or alias.name] = prefix + alias.name

    def _bind_assignment(self, node: ast.AST, scope: Scope) -> None:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                self._bind_targets(target, node.value, scope)
        elif isinstance(node, ast.AnnAssign):
            self._bind_targets(node.target, node.value, scope)
        elif isinstance(node, ast.AugAssign):
            self._bind_targets(node.target, None, scope)
        elif isinstance(node, ast.NamedExpr):
            # A walrus in a comprehension binds in the enclosing function; close enough here.
            self._bind_targets(node.target, node.value, scope)

    def _bind_targets(self, target: ast.AST, value: ast.AST | None, scope: Scope) -> None:
        if isinstance(target, ast.Name):
            scope.bindings[target.id].append(value)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._bind_targets(element, None, scope)
        elif isinstance(target, ast.Starred):
            self._bind_targets(target.value, None, scope)

    # ------------------------------------------------------------------ structure
    def nodes(self, node_type: type) -> list:
        """All nodes of a type, in source order."""
        found = self.by_type.get(node_type)
        if found is None:
            return []
        if node_type not in self._sorted:
            found.sort(key=_BY_POSITION if "lineno" in node_type._attributes else _position)
            self._sorted.add(node_type)
        return found

    def parent(self, node: ast.AST) -> ast.AST | None:
        return self.parents.get(node)

    def ancestors(self, node: ast.AST) -> Iterator[ast.AST]:
        parent = self.parents.get(node)
        while parent is not None:
            yield parent
            parent = self.parents.get(parent)

    def scope_of(self, node: ast.AST) -> Scope:
        return self._scope_of.get(node, self.module_scope)

    def enclosing_function(self, node: ast.AST) -> ast.AST | None:
        """The innermost def or lambda whose body holds the node (None at module level)."""
        scope: Scope | None = self.scope_of(node)
        while scope is not None and scope.kind == "class":
            scope = scope.parent
        return None if scope is None or scope.kind == "module" else scope.node

    def enclosing_def(self, node: ast.AST, through_lambdas: bool = True) -> ast.AST | None:
        """The innermost `def` around the node; with through_lambdas=False, None inside a lambda."""
        for ancestor in self.ancestors(node):
            if isinstance(ancestor, (ast.FunctionDef, ast.AsyncFunctionDef)):
                return ancestor
            if isinstance(ancestor, ast.Lambda) and not through_lambdas:
                return None
        return None

    def enclosing_statement(self, node: ast.AST) -> ast.stmt:
        current = node
        while not isinstance(current, ast.stmt):
            current = self.parents[current]
        return current

    def enclosing_loops(self, node: ast.AST) -> list[ast.AST]:
        """Loops around the node within its function, innermost first. A comprehension only
        counts when the node is in its element (or a later generator), not its first iterable."""
        loops = []
        child = grandchild = node
        for ancestor in self.ancestors(node):
            if isinstance(ancestor, FUNCTION_NODES):
                break
            if isinstance(ancestor, (ast.For, ast.AsyncFor)):
                if child is not ancestor.iter and child is not ancestor.target and child not in ancestor.orelse:
                    loops.append(ancestor)
            elif isinstance(ancestor, ast.While):
                if child not in ancestor.orelse:
                    loops.append(ancestor)
            elif isinstance(ancestor, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
                first = ancestor.generators[0]
                # The first iterable is evaluated once, outside the comprehension's loop.
                if not (child is first and grandchild is first.iter):
                    loops.append(ancestor)
            grandchild, child = child, ancestor
        return loops

    def body_containing(self, stmt: ast.stmt) -> tuple[list[ast.stmt], int] | None:
        """The statement list holding `stmt` and its index there."""
        parent = self.parents.get(stmt)
        if parent is None:
            return None
        for field in ("body", "orelse", "finalbody", "handlers"):
            block = getattr(parent, field, None)
            if isinstance(block, list):
                for index, item in enumerate(block):
                    if item is stmt:
                        return block, index
        return None

    # ------------------------------------------------------------------ names
    def lookup(self, name: str, node: ast.AST) -> tuple[Scope, str] | None:
        """The scope that binds `name` as seen from `node`, and how: 'import' or 'local'.
        Class scopes are skipped for code in nested functions, as Python does."""
        scope: Scope | None = self.scope_of(node)
        first = True
        while scope is not None:
            if scope.kind != "class" or first:
                if name in scope.imports:
                    # A later assignment of the same name shadows the import; treat as unknown.
                    return scope, "shadowed" if name in scope.bindings else "import"
                if name in scope.bindings:
                    return scope, "local"
            first = False
            scope = scope.parent
        return None

    def qualified_name(self, expr: ast.AST) -> str | None:
        """`torch.no_grad` for `T.no_grad` after `import torch as T`; None when unresolvable."""
        # Memoised: many rules ask it of the same calls.
        try:
            return self._qualified[expr]
        except KeyError:
            name = self._qualified[expr] = self._resolve_qualified(expr)
            return name

    def _resolve_qualified(self, expr: ast.AST) -> str | None:
        parts: list[str] = []
        while isinstance(expr, ast.Attribute):
            parts.append(expr.attr)
            expr = expr.value
        if not isinstance(expr, ast.Name):
            return None
        found = self.lookup(expr.id, expr)
        if found is None:
            if expr.id in _BUILTINS:
                base = f"builtins.{expr.id}"
            else:
                return None
        else:
            scope, how = found
            if how != "import":
                return None
            base = scope.imports[expr.id]
        return ".".join([base, *reversed(parts)])

    def call_name(self, call: ast.AST) -> str | None:
        return self.qualified_name(call.func) if isinstance(call, ast.Call) else None

    def import_binding(self, qualified: str) -> str | None:
        """How module-level code can spell `qualified` (e.g. 'T.no_grad' or 'no_grad'), if imported."""
        imports = self.module_scope.imports
        for local, target in imports.items():
            if local in self.module_scope.bindings:
                continue
            if target == qualified:
                return local
            if qualified.startswith(target + "."):
                return local + qualified[len(target) :]
        return None

    def single_value(self, name: ast.Name) -> ast.AST | None:
        """The one value assigned to a local name, when there is exactly one."""
        found = self.lookup(name.id, name)
        if found is None or found[1] != "local":
            return None
        values = found[0].bindings[name.id]
        return values[0] if len(values) == 1 else None

    # ------------------------------------------------------------------ autograd
    def _grad_mode_of_call(self, call: ast.AST) -> bool | None:
        """False when this context manager / decorator disables grad, True when it enables,
        None when it does not touch grad mode."""
        target = call.func if isinstance(call, ast.Call) else call
        name = self.qualified_name(target)
        if name is None:
            return self._grad_mode_of_unknown(target)
        args = call.args if isinstance(call, ast.Call) else []
        keywords = call.keywords if isinstance(call, ast.Call) else []
        if name in _INFERENCE_MODE or name in _SET_GRAD_ENABLED:
            flag = args[0] if args else next((k.value for k in keywords if k.arg == "mode"), None)
            if flag is None:
                return False if name in _INFERENCE_MODE else None
            if isinstance(flag, ast.Constant):
                # inference_mode(True) disables grad; set_grad_enabled(True) enables it.
                enabled = bool(flag.value) if name in _SET_GRAD_ENABLED else not flag.value
                return enabled
            return False  # a runtime flag: assume evaluation code passes False, stay silent
        if name in _GRAD_OFF:
            return False
        if name in _GRAD_ON:
            return True
        return self._grad_mode_of_unknown(target) if not name.startswith("torch.") else None

    def _grad_mode_of_unknown(self, target: ast.AST) -> bool | None:
        """Grad-off for what we cannot resolve but is named so (`smart_inference_mode`,
        `self.no_grad_ctx`) or is a local bound to a grad-off manager
        (`ctx = nullcontext if with_grad else torch.no_grad`): prefer silence."""
        text = target.attr if isinstance(target, ast.Attribute) else target.id if isinstance(target, ast.Name) else ""
        if "no_grad" in text or "inference_mode" in text:
            return False
        if isinstance(target, ast.Name):
            found = self.lookup(target.id, target)
            if found is not None and found[1] == "local":
                for value in found[0].bindings[target.id]:
                    if value is not None and any(self.qualified_name(n) in _GRAD_OFF for n in ast.walk(value) if isinstance(n, (ast.Name, ast.Attribute))):
                        return False
        return None

    def function_grad_mode(self, func: ast.AST) -> bool | None:
        """Grad mode a def's decorators impose (False: off), or None."""
        for decorator in getattr(func, "decorator_list", []):
            mode = self._grad_mode_of_call(decorator)
            if mode is not None:
                return mode
        return None

    def is_grad_disabled(self, node: ast.AST) -> bool:
        """Whether autograd is off where `node` runs: inside a grad-off with-block, a def so
        decorated (this one or an enclosing one), a Lightning evaluation hook, or a function
        whose every call site in this file is itself grad-off."""
        if self._disabled_by_statement(node):
            return True
        child = node
        for ancestor in self.ancestors(node):
            if isinstance(ancestor, (ast.With, ast.AsyncWith)) and child not in ancestor.items:
                for item in reversed(ancestor.items):
                    mode = self._grad_mode_of_call(item.context_expr)
                    if mode is not None:
                        return not mode
            elif isinstance(ancestor, FUNCTION_NODES):
                mode = self.function_grad_mode(ancestor)
                if mode is not None:
                    return not mode
                if getattr(ancestor, "name", None) in GRAD_FREE_HOOKS and isinstance(self.parents.get(ancestor), ast.ClassDef):
                    return True
                if self._called_only_without_grad(ancestor):
                    return True
            child = ancestor
        return False

    def _disabled_by_statement(self, node: ast.AST) -> bool:
        """`torch.set_grad_enabled(False)` as a statement: at module level it covers the file,
        in a function everything after it there."""
        if self._grad_off_statements is None:
            self._grad_off_statements = [
                (self.enclosing_function(stmt), _position(stmt))
                for stmt in self.nodes(ast.Expr)
                if isinstance(stmt.value, ast.Call)
                and self.qualified_name(stmt.value.func) in _SET_GRAD_ENABLED
                and self._grad_mode_of_call(stmt.value) is False
            ]
        if not self._grad_off_statements:
            return False
        function = self.enclosing_function(node)
        position = _position(node)
        return any(scope is None or (scope is function and where < position) for scope, where in self._grad_off_statements)

    def _called_only_without_grad(self, func: ast.AST) -> bool:
        name = getattr(func, "name", None)
        if name is None:
            return False
        if func in self._grad_off_cache:
            return self._grad_off_cache[func]
        self._grad_off_cache[func] = False  # recursion guard
        sites = self.call_sites(name)
        result = bool(sites) and all(self.is_grad_disabled(site) for site in sites)
        self._grad_off_cache[func] = result
        return result

    def call_sites(self, name: str) -> list[ast.Call]:
        """Calls in this file of a function or method by its plain name (`f(...)`, `self.f(...)`)."""
        if self._calls_by_callee is None:
            index: dict[str, list[ast.Call]] = defaultdict(list)
            for call in self.nodes(ast.Call):
                func = call.func
                if isinstance(func, ast.Name):
                    index[func.id].append(call)
                elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in ("self", "cls"):
                    index[func.attr].append(call)
            self._calls_by_callee = index
        return self._calls_by_callee.get(name, [])

    # ------------------------------------------------------------------ phase
    def scope_body(self, scope_node: ast.AST) -> list[ast.AST]:
        """Every node lexically inside a function (nested defs included) or, for the module,
        the module-level code outside defs and classes. Cached: rules ask this often."""
        cached = self._scope_body_cache.get(scope_node)
        if cached is not None:
            return cached
        if isinstance(scope_node, ast.Module):
            nodes = walk(scope_node, stop=(*FUNCTION_NODES, ast.ClassDef))[1:]
        else:
            nodes = walk(scope_node)
        self._scope_body_cache[scope_node] = nodes
        return nodes

    def scope_calls(self, scope_node: ast.AST) -> list[ast.Call]:
        cached = self._scope_calls_cache.get(scope_node)
        if cached is None:
            cached = [n for n in self.scope_body(scope_node) if isinstance(n, ast.Call)]
            cached.sort(key=_position)
            self._scope_calls_cache[scope_node] = cached
        return cached

    def uses_autograd(self, scope_node: ast.AST) -> bool:
        """Whether the scope trains or otherwise needs gradients: backward, an optimizer step,
        autograd.grad, fit/train calls, inputs set to require grad."""
        cached = self._autograd_cache.get(scope_node)
        if cached is None:
            cached = self._autograd_cache[scope_node] = self._uses_autograd(scope_node)
        return cached

    def _uses_autograd(self, scope_node: ast.AST) -> bool:
        for node in self.scope_body(scope_node):
            if isinstance(node, ast.Call):
                func = node.func
                name = self.qualified_name(func)
                if name in ("torch.autograd.grad", "torch.autograd.backward", "torch.autograd.functional.jacobian"):
                    return True
                if isinstance(func, ast.Attribute):
                    attr = func.attr
                    if attr in ("backward", "manual_backward", "fit", "fit_generator", "gradient"):
                        return True
                    if attr == "requires_grad_" and not _is_false_call(node):
                        return True
                    if attr == "step" and looks_like_optimizer(func.value):
                        return True
                    if attr == "train" and isinstance(func.value, ast.Name) and func.value.id in ("trainer", "self") and not node.args:
                        return True
            elif isinstance(node, (ast.Assign, ast.AugAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                value = node.value
                for target in targets:
                    if isinstance(target, ast.Attribute) and target.attr == "requires_grad":
                        if not (isinstance(value, ast.Constant) and value.value is False):
                            return True
        return False

    # ------------------------------------------------------------------ loops
    def names_bound_in(self, node: ast.AST) -> frozenset[str]:
        """Names a loop (target and body) or any statement assigns, imports or defines."""
        cached = self._bound_cache.get(node)
        if cached is None:
            names: set[str] = set()
            for inner in ast.walk(node):
                if isinstance(inner, ast.Name) and isinstance(inner.ctx, (ast.Store, ast.Del)):
                    names.add(inner.id)
                elif isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    names.add(inner.name)
                elif isinstance(inner, (ast.Import, ast.ImportFrom)):
                    names.update((a.asname or a.name).split(".")[0] for a in inner.names)
                elif isinstance(inner, ast.comprehension):
                    names.update(n.id for n in ast.walk(inner.target) if isinstance(n, ast.Name))
            cached = self._bound_cache[node] = frozenset(names)
        return cached

    def is_loop_invariant(self, expr: ast.AST, loop: ast.AST) -> bool:
        """Whether `expr` reads no name the loop binds (its target or anything its body assigns)
        and calls nothing that could depend on the iteration (no `self.` state, no `next()`)."""
        bound = self.names_bound_in(loop)
        for inner in ast.walk(expr):
            if isinstance(inner, ast.Name) and inner.id in bound:
                return False
            if isinstance(inner, (ast.Await, ast.Yield, ast.YieldFrom, ast.NamedExpr)):
                return False
            if isinstance(inner, ast.Call) and isinstance(inner.func, ast.Name) and inner.func.id in ("next", "input", "random", "time"):
                return False
        return True

    def loop_body_trains(self, loop: ast.AST) -> bool:
        """A training-step loop: its body calls backward or steps an optimizer."""
        return self.uses_autograd(loop)

    # ------------------------------------------------------------------ device
    def uses_cuda(self) -> bool:
        """Whether the file visibly targets a GPU: `.cuda()`, any `torch.cuda.*` use, or a
        "cuda"/"cuda:0"/"gpu" string (`.to("cuda")`, `device="cuda" if ... else "cpu"`)."""
        if self._uses_cuda is None:
            self._uses_cuda = _mentions_cuda(self)
        return self._uses_cuda

    # ------------------------------------------------------------------ kinds
    def is_module_class(self, cls: ast.ClassDef, _seen: frozenset[str] = frozenset()) -> bool:
        for base in cls.bases:
            name = self.qualified_name(base)
            if name in _MODULE_BASES:
                return True
            if isinstance(base, ast.Name) and base.id in self._local_classes and base.id not in _seen:
                if self.is_module_class(self._local_classes[base.id], _seen | {base.id}):
                    return True
        return False

    def is_model_source(self, value: ast.AST | None) -> bool:
        """Whether an assigned value is a model: a constructor of a local nn.Module subclass or of
        torch.nn, from_pretrained, torch.load and friends, or a model passed through .to()/.eval()."""
        if not isinstance(value, ast.Call):
            return False
        func = value.func
        name = self.qualified_name(func)
        if name is not None:
            if name in _MODEL_FACTORIES or name.startswith(_MODEL_FACTORY_PREFIXES):
                return True
            last = name.rsplit(".", 1)[-1]
            if name.startswith("torch.nn.") and last[:1].isupper() and not last.startswith("Parameter"):
                return True
            if last == "from_pretrained" and name.startswith(("transformers.", "diffusers.", "peft.", "sentence_transformers.")):
                return not _NOT_A_MODEL.search(name)
        if isinstance(func, ast.Attribute) and func.attr in _MODEL_PASSTHROUGH:
            return self.is_model(func.value)
        if isinstance(func, ast.Name) and func.id in self._local_classes:
            if self.lookup(func.id, func) == (self.module_scope, "local"):
                return self.is_module_class(self._local_classes[func.id])
        return False

    def is_model(self, expr: ast.AST) -> bool:
        """Whether an expression is (very likely) a model: see is_model_source, plus names used
        with model-only methods, model-named parameters and self attributes."""
        if isinstance(expr, ast.Name):
            found = self.lookup(expr.id, expr)
            if found is None or found[1] != "local":
                return False
            key = (id(found[0]), expr.id)
            if key in self._model_names:
                return self._model_names[key]
            if key in self._resolving:  # `model = model.to(device)` refers to itself
                return False
            self._resolving.add(key)
            try:
                result = self._model_names[key] = self._is_model_name_binding(expr, found[0])
                return result
            finally:
                self._resolving.discard(key)
        if isinstance(expr, ast.Call):  # `nn.Sequential(...).to(device)`
            return self.is_model_source(expr)
        if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name) and expr.value.id == "self":
            key = (0, "self." + expr.attr)
            if key in self._resolving:  # `self.model = self.model.to(device)`
                return False
            self._resolving.add(key)
            try:
                return self._self_attribute_is_model(expr)
            finally:
                self._resolving.discard(key)
        return False

    def _is_model_name_binding(self, expr: ast.Name, scope: Scope) -> bool:
        values = scope.bindings[expr.id]
        if any(isinstance(v, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)) for v in values):
            return False
        if any(self.is_model_source(v) for v in values):
            return True
        if any(self._is_self_managed(v) for v in values):
            return False
        if any(isinstance(v, (ast.Constant, ast.JoinedStr, ast.List, ast.Dict, ast.Tuple)) for v in values):
            return False
        if self._has_model_method_call(expr.id, scope.node):
            return True
        return is_model_name(expr.id)

    def _is_self_managed(self, value: ast.AST | None) -> bool:
        """Wrappers whose __call__ disables grad itself (pipelines, ultralytics models)."""
        name = self.call_name(value)
        return name is not None and (name.startswith(_SELF_MANAGED) or bool(_NOT_A_MODEL.search(name)))

    def _has_model_method_call(self, name: str, scope_node: ast.AST) -> bool:
        """Whether scope_body(scope_node) calls a model-only method on `name` (`name.eval()`)."""
        if self._model_method_receivers is None:
            # One pass over the few such calls, each filed under every def, lambda or class
            # around it (their bodies hold it), or under the module when none is.
            index: dict[ast.AST, set[str]] = defaultdict(set)
            for node in self.nodes(ast.Call):
                func = node.func
                if func.__class__ is ast.Attribute and func.attr in _MODEL_ONLY_METHODS and func.value.__class__ is ast.Name and not node.args:
                    owners = [a for a in self.ancestors(node) if isinstance(a, (*FUNCTION_NODES, ast.ClassDef))]
                    for owner in owners or (self.tree,):
                        index[owner].add(func.value.id)
            self._model_method_receivers = index
        receivers = self._model_method_receivers.get(scope_node)
        return receivers is not None and name in receivers

    def _self_attribute_is_model(self, expr: ast.Attribute) -> bool:
        """`self.X` is a model when the class assigns it one; with no assignment in sight, when
        it is named like one and is not one of the class's methods."""
        cls = self.enclosing_class(expr)
        if cls is None:
            return False
        methods, assigned = self._class_members(cls)
        if expr.attr in methods:
            return False
        values = assigned.get(expr.attr)
        if not values:
            return bool(_SELF_MODEL_NAME.match(expr.attr))
        return any(self.is_model_source(v) or (isinstance(v, ast.Name) and self.is_model(v)) for v in values)

    def _class_members(self, cls: ast.ClassDef) -> tuple[set[str], dict[str, list[ast.AST]]]:
        """A class's method names and what it assigns to each `self.X` (gathered for every
        class in one pass over the file's defs and assignments)."""
        if not self._class_cache:
            for klass in self.nodes(ast.ClassDef):
                self._class_cache[klass] = (set(), defaultdict(list))
            for kind in (ast.FunctionDef, ast.AsyncFunctionDef):
                for func in self.nodes(kind):
                    owner = self.enclosing_class(func)
                    if owner is not None:
                        self._class_cache[owner][0].add(func.name)
            for node in self.nodes(ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self":
                        owner = self.enclosing_class(node)
                        if owner is not None:
                            self._class_cache[owner][1][target.attr].append(node.value)
        return self._class_cache.get(cls) or (set(), {})

    def enclosing_class(self, node: ast.AST) -> ast.ClassDef | None:
        """The innermost class around the node, if any."""
        return next((a for a in self.ancestors(node) if isinstance(a, ast.ClassDef)), None)


def _mentions_cuda(semantic: SemanticModel) -> bool:
    for call in semantic.nodes(ast.Call):
        func = call.func
        if isinstance(func, ast.Attribute) and func.attr == "cuda":
            return True
        name = semantic.qualified_name(func)
        if name is not None and name.startswith("torch.cuda."):
            return True
    return any(isinstance(c.value, str) and _DEVICE_STRING.match(c.value) for c in semantic.nodes(ast.Constant))


# A device string: "cuda", "cuda:0", "GPU", "gpu:1" (not a "gpus" or "gpu_ids" config key).
_DEVICE_STRING = re.compile(r"(?i)(cuda|gpu)(:\d+)?\Z")


def _position(node: ast.AST) -> tuple[int, int]:
    return getattr(node, "lineno", 0), getattr(node, "col_offset", 0)


_BY_POSITION = operator.attrgetter("lineno", "col_offset")  # _position for nodes that have one


def walk(root: ast.AST, stop: tuple[type, ...] = ()) -> list[ast.AST]:
    """`root` and every node below it, breadth first as `ast.walk`, but without the shared
    context and operator singletons, and not below nodes of the `stop` types (which are left
    out, unless `root` is one). Several times faster than `ast.walk`."""
    AST, list_ = ast.AST, list
    child_fields = _CHILD_FIELDS
    found = [root]
    index = 0
    while index < len(found):
        node = found[index]
        index += 1
        fields = child_fields.get(node.__class__)
        if fields is None:
            fields = child_fields[node.__class__] = _child_fields(node.__class__)
        for field, _, _ in fields:
            value = getattr(node, field, None)
            if value.__class__ is list_:
                for item in value:
                    if isinstance(item, AST) and not isinstance(item, stop):
                        found.append(item)
            elif isinstance(value, AST) and not isinstance(value, stop):
                found.append(value)
    return found


def _is_false_call(call: ast.Call) -> bool:
    flag = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "requires_grad"), None)
    return isinstance(flag, ast.Constant) and flag.value is False


def looks_like_optimizer(expr: ast.AST) -> bool:
    """`optimizer.step()`, `opt.step()`, `self.optim.step()`, `scaler.step(opt)`; not `scheduler.step()`."""
    name = expr.attr if isinstance(expr, ast.Attribute) else expr.id if isinstance(expr, ast.Name) else ""
    name = name.lower()
    return ("optim" in name or name in ("opt", "scaler") or name.startswith("opt_") or name.endswith("_opt")) and "sched" not in name


def forward_target(call: ast.Call) -> ast.AST | None:
    """`model` for `model(x)` and `model.forward(x)`; `self.net` for `self.net(x)`: the thing
    whose forward pass a call would run, if it is a model (ask `is_model`)."""
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr == "forward":
        return func.value
    if isinstance(func, ast.Name):
        return func
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "self":
        return func
    return None


_TEST_FOLDER = re.compile(r"(^|/)(tests?|testing)/")


def is_test_file(filename: str) -> bool:
    """test_*.py, *_test.py, conftest.py or a file under a tests/, test/ or testing/ folder
    (test helpers, as in torch.testing): rules skip these by default (option include-tests), as
    running a model once in a test wastes little."""
    path = filename.replace("\\", "/")
    base = path.rsplit("/", 1)[-1]
    return base.startswith("test_") or base.endswith("_test.py") or base == "conftest.py" or bool(_TEST_FOLDER.search(path))


# ---------------------------------------------------------------------------- step loops
_STATEMENT_LOOPS = (ast.For, ast.AsyncFor, ast.While)

# Helpers that run one whole step: `self.train_step(batch)`, `step_fn(x, y)`.
_STEP_HELPER = re.compile(r"^_?(train|training|eval|evaluation|validation|val|test|predict|prediction|inference|infer)_(step|batch)$|^_?step_fn$")


def is_step_call(semantic: SemanticModel, call: ast.Call) -> str | None:
    """'train' for a backward, an optimizer step or a training-step helper, 'forward' for a
    model's forward pass or an evaluation-step helper."""
    func = call.func
    if isinstance(func, ast.Attribute):
        if func.attr in ("backward", "manual_backward"):
            return "train"
        if func.attr == "step" and looks_like_optimizer(func.value):
            return "train"
    helper = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    match = _STEP_HELPER.match(helper)
    if match:
        return "train" if match.group(1) in ("train", "training") else "forward"
    target = forward_target(call)
    if target is not None and semantic.is_model(target) and not is_criterion_call(semantic, call):
        return "forward"
    return None


_CRITERION_NAME = re.compile(r"^(criterion|loss_fn|loss_func|loss_function|lossfn|loss_fcn|\w*_criterion|criterion_\w+|\w*_loss_fn)$", re.IGNORECASE)
_FUNCTIONAL_LOSSES = frozenset({"cross_entropy", "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div"})


def is_criterion_call(semantic: SemanticModel, call: ast.Call) -> bool:
    """`criterion(out, y)`, `loss_fn(...)`, a call of a name bound to a torch.nn loss, or a
    torch.nn.functional loss."""
    func = call.func
    name = semantic.qualified_name(func)
    if name is not None:
        last = name.rsplit(".", 1)[-1]
        return name.startswith("torch.nn.functional.") and ("loss" in last or last in _FUNCTIONAL_LOSSES)
    self_attribute = isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "self"
    target = func.attr if self_attribute else func.id if isinstance(func, ast.Name) else None
    if target is None:
        return False
    if _CRITERION_NAME.match(target):
        return True
    if isinstance(func, ast.Name):
        found = semantic.lookup(func.id, func)
        if found is not None and found[1] == "local":
            for value in found[0].bindings[func.id]:
                called = semantic.call_name(value)
                if called is not None and called.startswith("torch.nn.") and called.endswith("Loss"):
                    return True
    return False


def _innermost_loop(semantic: SemanticModel, node: ast.AST) -> ast.AST | None:
    return next((loop for loop in semantic.enclosing_loops(node) if isinstance(loop, _STATEMENT_LOOPS)), None)


def step_loops(semantic: SemanticModel) -> dict[ast.AST, str]:
    """Loops whose every iteration is one training or inference step, mapped to 'training' or
    'inference': a loop that runs a forward pass, backward or optimizer step itself (not in a
    nested loop) and holds no such step loop inside (that makes it an epoch loop)."""
    cache = semantic.rule_cache.setdefault("semantic", {})
    found = cache.get("step_loops")
    if found is not None:
        return found
    direct: dict[ast.AST, str] = {}
    for call in semantic.nodes(ast.Call):
        kind = is_step_call(semantic, call)
        if kind is None:
            continue
        loop = _innermost_loop(semantic, call)
        if loop is not None and direct.get(loop) != "train" and not _in_module_class(semantic, loop):
            direct[loop] = kind
    epochs = set()
    for loop in direct:
        for ancestor in semantic.ancestors(loop):
            if isinstance(ancestor, FUNCTION_NODES):
                break
            if ancestor in direct:
                epochs.add(ancestor)
    found = {loop: "training" if kind == "train" else "inference" for loop, kind in direct.items() if loop not in epochs}
    cache["step_loops"] = found
    return found


def _in_module_class(semantic: SemanticModel, node: ast.AST) -> bool:
    """Inside an nn.Module subclass: its loops run layers or blocks within a forward pass."""
    owner = next((a for a in semantic.ancestors(node) if isinstance(a, ast.ClassDef)), None)
    return owner is not None and semantic.is_module_class(owner)


def step_loop_around(semantic: SemanticModel, node: ast.AST) -> ast.AST | None:
    """The step loop whose body runs `node` on every iteration (directly or in a nested loop)."""
    loops = step_loops(semantic)
    if not loops:
        return None
    return next((loop for loop in semantic.enclosing_loops(node) if loop in loops), None)


_DEF_TYPES = frozenset({ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef})
# Fields that never hold a node worth visiting: identifiers, flags, and the shared singleton
# nodes for load/store context and operators (the same object everywhere in a tree, so a parent
# or scope recorded for one would be meaningless).
_NOT_CHILDREN = frozenset(
    {"ctx", "op", "ops", "id", "attr", "arg", "name", "asname", "module", "level", "kind", "type_comment", "is_async", "conversion", "tag"}
)
_NOT_CHILDREN_OF = {ast.Constant: {"value"}, ast.MatchSingleton: {"value"}, ast.Global: {"names"}, ast.Nonlocal: {"names"}, ast.MatchClass: {"kwd_attrs"}, ast.MatchMapping: {"rest"}}
_CHILD_FIELDS: dict[type, tuple[tuple[str, bool, bool], ...]] = {}


def _child_fields(kind: type) -> tuple[tuple[str, bool, bool], ...]:
    """The fields of a node type that can hold child nodes, each with whether a child there
    is in the scope the node opens: (field, when it holds one node, when it holds a list)."""
    skip = _NOT_CHILDREN | _NOT_CHILDREN_OF.get(kind, set())
    return tuple(
        (field, kind is not ast.Lambda or field == "body", kind not in _DEF_TYPES or field == "body")
        for field in kind._fields
        if field not in skip
    )


_BINDERS = {
    ast.FunctionDef: SemanticModel._bind_scope,
    ast.AsyncFunctionDef: SemanticModel._bind_scope,
    ast.ClassDef: SemanticModel._bind_scope,
    ast.Lambda: SemanticModel._bind_scope,
    ast.Import: SemanticModel._bind_import,
    ast.ImportFrom: SemanticModel._bind_import,
    ast.Assign: SemanticModel._bind_assignment,
    ast.AnnAssign: SemanticModel._bind_assignment,
    ast.AugAssign: SemanticModel._bind_assignment,
    ast.NamedExpr: SemanticModel._bind_assignment,
    ast.For: SemanticModel._bind_for,
    ast.AsyncFor: SemanticModel._bind_for,
    ast.comprehension: SemanticModel._bind_for,
    ast.withitem: SemanticModel._bind_withitem,
}
