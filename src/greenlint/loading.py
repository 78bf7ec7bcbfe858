"""What counts as loading, shared by GL103, GL301 and GL302: resolved calls that read a model,
checkpoint, tokenizer, pipeline, file or dataset, or build a DataLoader; plus the per-call
facts those rules need (where a function is called from, whether it is a request handler).

Every answer is by resolved qualified name (`import pandas as pd; pd.read_csv` ->
`pandas.read_csv`), never by raw text, and errs towards "not a load".
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass

from greenlint.semantic import SemanticModel

# Calls that change the model they are given in place (a fresh copy is needed for each use).
IN_PLACE_ADAPTERS = frozenset(
    {"get_peft_model", "prepare_model_for_kbit_training", "inject_adapter_in_model", "add_adapter", "load_adapter", "quantize_", "prepare"}
)

# Kinds: "model", "pipeline", "tokenizer", "checkpoint", "config", "file", "dataset", "dataloader";
# GL103 reports the first four.
MODEL_KINDS = frozenset({"model", "pipeline", "tokenizer", "checkpoint"})

_EXACT: dict[str, str] = {
    "torch.load": "checkpoint",
    "torch.jit.load": "model",
    "torch.hub.load": "model",
    "torch.hub.load_state_dict_from_url": "checkpoint",
    "safetensors.torch.load_file": "checkpoint",
    "safetensors.safe_open": "checkpoint",
    "joblib.load": "checkpoint",
    "pickle.load": "checkpoint",
    "dill.load": "checkpoint",
    "cloudpickle.load": "checkpoint",
    "json.load": "file",
    "yaml.safe_load": "file",
    "yaml.full_load": "file",
    "numpy.load": "file",
    "numpy.loadtxt": "file",
    "numpy.genfromtxt": "file",
    "numpy.fromfile": "file",
    "PIL.Image.open": "file",
    "cv2.imread": "file",
    "imageio.imread": "file",
    "imageio.v2.imread": "file",
    "imageio.v3.imread": "file",
    "skimage.io.imread": "file",
    "torchvision.io.read_image": "file",
    "torchaudio.load": "file",
    "soundfile.read": "file",
    "librosa.load": "file",
    "transformers.pipeline": "pipeline",
    "datasets.load_dataset": "dataset",
    "datasets.load_from_disk": "dataset",
    "torch.utils.data.DataLoader": "dataloader",
    "torch.utils.data.dataloader.DataLoader": "dataloader",
    "sentence_transformers.SentenceTransformer": "model",
    "sentence_transformers.CrossEncoder": "model",
    "ultralytics.YOLO": "model",
    "ultralytics.RTDETR": "model",
    "whisper.load_model": "model",
    "spacy.load": "model",
    "fasttext.load_model": "model",
    "keras.models.load_model": "model",
    "keras.saving.load_model": "model",
    "tensorflow.keras.models.load_model": "model",
    "tensorflow.saved_model.load": "model",
    "onnxruntime.InferenceSession": "model",
    "open_clip.create_model_and_transforms": "model",
    "clip.load": "model",
    "tokenizers.Tokenizer.from_file": "tokenizer",
}
# Calls that open a file and whose mode argument (position 1 or `mode=`) decides read vs write.
_MODED = {"builtins.open": 1, "io.open": 1, "codecs.open": 1, "h5py.File": 1}
_READERS = frozenset({"read_text", "read_bytes"})  # pathlib.Path(...).read_text()
# Models that only load weights when asked to (otherwise they are a fresh initialisation).
_PRETRAINED_FLAG = ("timm.create_model", "torchvision.models.")
_DATASET_BASES = frozenset(
    {"torch.utils.data.Dataset", "torch.utils.data.IterableDataset", "torch.utils.data.dataset.Dataset"}
)
_FROM_PRETRAINED_KIND = (
    (re.compile(r"Tokenizer"), "tokenizer"),
    (re.compile(r"Processor|FeatureExtractor"), "tokenizer"),
    (re.compile(r"Config$"), "config"),
    (re.compile(r"Pipeline"), "pipeline"),
)
# Where a load's argument names the thing read: the first positional or one of these keywords.
_PATH_KEYWORDS = (
    "f", "file", "fp", "fname", "filename", "path", "filepath_or_buffer", "path_or_buf",
    "pretrained_model_name_or_path", "model_name_or_path", "model_name", "model", "checkpoint",
)
# The last part of every catalogued name, to skip most calls before resolving them.
_LAST_PARTS = frozenset(name.rsplit(".", 1)[-1] for name in (*_EXACT, *_MODED)) | _READERS | {"from_pretrained", "create_model"}

PHRASES = {
    "model": "loads a model",
    "pipeline": "loads a pipeline",
    "tokenizer": "loads a tokenizer",
    "checkpoint": "loads a checkpoint",
    "config": "loads a config",
    "file": "reads a file",
    "dataset": "loads a dataset",
    "dataloader": "builds a DataLoader",
}


@dataclass(frozen=True)
class Load:
    """A resolved loading call: its kind, how to name it, and the argument naming what it reads."""

    kind: str
    name: str  # qualified name, e.g. "transformers.AutoModel.from_pretrained"
    path: ast.AST | None

    @property
    def phrase(self) -> str:
        """What the call does: "loads a model", "builds a DataLoader"."""
        return PHRASES[self.kind]


def load_of(semantic: SemanticModel, call: ast.Call) -> Load | None:
    """The load this call performs, or None. Memoised per call."""
    cache = semantic.rule_cache.setdefault("loading.load_of", {})
    key = id(call)
    if key in cache:
        return cache[key]
    found = cache[key] = _load_of(semantic, call)
    return found


def _load_of(semantic: SemanticModel, call: ast.Call) -> Load | None:
    func = call.func
    if isinstance(func, ast.Attribute):
        last = func.attr
        # Cheap pre-check; a plain name may be an alias (`from transformers import pipeline as p`).
        if last not in _LAST_PARTS and not last.startswith("read_") and not last[:1].isupper():
            return None
    elif isinstance(func, ast.Name):
        last = func.id
        if last not in _LAST_PARTS and not last[:1].isupper() and last not in _imported_names(semantic):
            return None
    else:
        return None
    if last in _READERS:
        # `Path("x.txt").read_text()`: only on a visibly constructed path.
        receiver = func.value if isinstance(func, ast.Attribute) else None
        if isinstance(receiver, ast.Call) and semantic.call_name(receiver) in ("pathlib.Path", "pathlib.PurePath"):
            return Load("file", f"pathlib.Path.{last}", receiver.args[0] if receiver.args else None)
        return None
    name = semantic.qualified_name(func)
    if name is None:
        return _local_load(semantic, call, func)
    last = name.rsplit(".", 1)[-1]
    path = path_argument(call)
    kind = _EXACT.get(name)
    if kind is not None:
        return Load(kind, name, path)
    if name in _MODED:
        return Load("file", name, path) if _reads(call, _MODED[name]) else None
    if name.startswith("pandas.read_") and name.count(".") == 1:
        return Load("file", name, path)
    if name.startswith("torchvision.datasets.") and last[:1].isupper():
        return Load("dataset", name, path)
    if name.startswith(_PRETRAINED_FLAG):
        return Load("model", name, path) if _asks_pretrained(call) else None
    if last == "from_pretrained" and name.count(".") >= 2:
        owner = name.rsplit(".", 2)[-2]
        kind = next((k for pattern, k in _FROM_PRETRAINED_KIND if pattern.search(owner)), "model")
        return Load(kind, name, path)
    return None


# The last part of every name load_of can give a MODEL_KINDS kind without a pretrained keyword.
_MODEL_LAST_PARTS = frozenset(name.rsplit(".", 1)[-1] for name, kind in _EXACT.items() if kind in MODEL_KINDS) | {"from_pretrained"}
_PRETRAINED_KEYWORDS = frozenset({"pretrained", "weights", "pretrained_cfg_overlay", "checkpoint_path"})
# Words one of which a text holding a model load contains: the name's last part is spelled in
# the text (as the attribute called, or on the import line of a plain name), or the pretrained
# keyword is. Words containing a shorter one (`load_model`, `load`) are left out.
_MODEL_WORDS = _MODEL_LAST_PARTS | _PRETRAINED_KEYWORDS
MODEL_LOAD_WORDS = tuple(sorted(w for w in _MODEL_WORDS if not any(o != w and o in w for o in _MODEL_WORDS)))


def model_load_candidates(semantic: SemanticModel) -> list[ast.Call]:
    """The file's calls, in source order, less those whose load_of cannot be of a MODEL_KINDS
    kind: a cheap syntactic test to skip most calls before resolving them. A resolved name ends
    with the attribute called, or, for a plain name, with what an import binds it to;
    torchvision/timm constructors only load with a pretrained keyword."""
    # A plain name resolves to exactly what an import binds it to (in whichever scope).
    imported = frozenset(
        name for scope in semantic.scopes.values() for name, target in scope.imports.items() if target.rsplit(".", 1)[-1] in _MODEL_LAST_PARTS
    )

    def could_load(call: ast.Call, last: str, plain: bool) -> bool:
        return (
            (plain and last in imported)
            or last in _MODEL_LAST_PARTS
            or bool(call.keywords and any(k.arg in _PRETRAINED_KEYWORDS for k in call.keywords))
        )

    return _candidates(semantic, "loading.model_candidates", could_load)


def load_candidates(semantic: SemanticModel) -> list[ast.Call]:
    """The file's calls, in source order, less those _load_of's own cheap pre-check rules out
    (the same test, in one loop instead of a memoised call per node)."""
    imported = _imported_names(semantic)

    def could_load(call: ast.Call, last: str, plain: bool) -> bool:
        if last in _LAST_PARTS or last[:1].isupper():
            return True
        return last in imported if plain else last.startswith("read_")

    return _candidates(semantic, "loading.candidates", could_load)


def _candidates(semantic: SemanticModel, key: str, could_load: Callable[[ast.Call, str, bool], bool]) -> list[ast.Call]:
    """The file's calls (`f(...)` or `x.f(...)`) that pass could_load(call, f, plain name?),
    in source order; once per file."""
    cache = semantic.rule_cache.setdefault(key, {})
    found = cache.get("calls")
    if found is None:
        found = cache["calls"] = []
        Attribute, Name = ast.Attribute, ast.Name
        for call in semantic.nodes(ast.Call):
            func = call.func
            kind = func.__class__
            if kind is Attribute:
                if could_load(call, func.attr, False):
                    found.append(call)
            elif kind is Name and could_load(call, func.id, True):
                found.append(call)
    return found


def _imported_names(semantic: SemanticModel) -> frozenset[str]:
    """Every local name an import binds anywhere in the file (aliases included)."""
    cache = semantic.rule_cache.setdefault("loading.imported", {})
    if "names" not in cache:
        cache["names"] = frozenset(name for scope in semantic.scopes.values() for name in scope.imports)
    return cache["names"]


def path_argument(call: ast.Call) -> ast.AST | None:
    if call.args and not isinstance(call.args[0], ast.Starred):
        return call.args[0]
    return next((k.value for k in call.keywords if k.arg in _PATH_KEYWORDS), None)


def _reads(call: ast.Call, mode_index: int) -> bool:
    """Whether an open-like call reads: no mode, or a constant mode without w/a/x/+."""
    mode = call.args[mode_index] if len(call.args) > mode_index else next((k.value for k in call.keywords if k.arg == "mode"), None)
    if mode is None:
        return True
    return isinstance(mode, ast.Constant) and isinstance(mode.value, str) and not set(mode.value) & set("wax+")


def write_mode(semantic: SemanticModel, call: ast.Call) -> bool:
    """`open(p, "w")` and friends: an open-like call that writes."""
    name = semantic.call_name(call)
    return name in _MODED and not _reads(call, _MODED[name])


def _asks_pretrained(call: ast.Call) -> bool:
    """`timm.create_model(..., pretrained=True)`, `resnet50(weights=...)` (not None/False)."""
    for keyword in call.keywords:
        if keyword.arg in ("pretrained", "weights", "pretrained_cfg_overlay", "checkpoint_path"):
            value = keyword.value
            return not (isinstance(value, ast.Constant) and value.value in (None, False, ""))
    return False


def _local_load(semantic: SemanticModel, call: ast.Call, func: ast.AST) -> Load | None:
    """Classes defined in this file: `MyModel.from_pretrained(...)`, and `MyDataset(...)` for a
    Dataset subclass whose `__init__` itself loads."""
    if isinstance(func, ast.Attribute) and func.attr == "from_pretrained" and isinstance(func.value, ast.Name):
        cls = _module_class(semantic, func.value)
        return None if cls is None else Load("model", f"{cls.name}.from_pretrained", path_argument(call))
    if not isinstance(func, ast.Name) or not func.id[:1].isupper():
        return None
    cls = _module_class(semantic, func)
    if cls is None or not _loading_dataset_class(semantic, cls):
        return None
    return Load("dataset", func.id, path_argument(call))


def _module_class(semantic: SemanticModel, name: ast.Name) -> ast.ClassDef | None:
    found = semantic.lookup(name.id, name)
    if found is None or found[0] is not semantic.module_scope or found[1] != "local":
        return None
    values = found[0].bindings[name.id]
    return values[0] if len(values) == 1 and isinstance(values[0], ast.ClassDef) else None


def _loading_dataset_class(semantic: SemanticModel, cls: ast.ClassDef) -> bool:
    cache = semantic.rule_cache.setdefault("loading.dataset_class", {})
    if cls in cache:
        return cache[cls]
    cache[cls] = False  # recursion guard
    is_dataset = any(semantic.qualified_name(base) in _DATASET_BASES for base in cls.bases)
    init = next((s for s in cls.body if isinstance(s, ast.FunctionDef) and s.name == "__init__"), None)
    result = is_dataset and init is not None and any(
        isinstance(n, ast.Call) and load_of(semantic, n) is not None for n in ast.walk(init)
    )
    cache[cls] = result
    return result


def outermost_load(semantic: SemanticModel, call: ast.Call) -> bool:
    """False for `open(p)` in `json.load(open(p))`: the enclosing load is the one to report."""
    for ancestor in semantic.ancestors(call):
        if isinstance(ancestor, ast.stmt):
            return True
        if isinstance(ancestor, ast.Call) and load_of(semantic, ancestor) is not None:
            return False
    return True


# ---------------------------------------------------------------------------------- per call
# Methods a framework calls once per item or batch.
PER_ITEM_METHODS = {
    "__getitem__": "called per item by a data loader",
    "training_step": "called per batch",
    "validation_step": "called per batch",
    "test_step": "called per batch",
    "predict_step": "called per batch",
}
_MODULE_PER_CALL = {"forward": "called per batch", "__call__": "called per batch"}
_MODULE_BASES = ("torch.nn.Module", "lightning.", "pytorch_lightning.", "transformers.PreTrainedModel")
_ROUTE_METHODS = frozenset({"get", "post", "put", "patch", "delete", "route", "websocket", "api_route", "head", "options"})
_APP_FACTORIES = (
    "fastapi.FastAPI", "fastapi.APIRouter", "flask.Flask", "flask.Blueprint", "quart.Quart", "quart.Blueprint",
    "sanic.Sanic", "sanic.Blueprint", "starlette.applications.Starlette", "litestar.Router",
)
_APP_NAMES = frozenset({"app", "application", "router", "api", "bp", "blueprint", "api_router", "server"})
_WEB_MODULES = ("fastapi", "flask", "quart", "sanic", "starlette", "litestar", "django", "gradio")
_ROUTE_REGISTRATIONS = frozenset({"add_url_rule", "add_api_route", "add_route", "add_websocket_route", "add_api_websocket_route"})
_GRADIO_EVENTS = frozenset({"click", "submit", "change", "input", "upload", "select", "then", "load", "stream"})
_VIEW_BASES = ("django.views", "rest_framework.views", "rest_framework.generics", "flask.views.MethodView", "flask.views.View")
_PER_ITEM_HIGHER_ORDER = frozenset({"map", "imap", "imap_unordered", "starmap", "apply", "map_batches", "applymap", "delayed"})


def imports_any(semantic: SemanticModel, modules: tuple[str, ...]) -> bool:
    cache = semantic.rule_cache.setdefault("loading.imports", {})
    if modules not in cache:
        targets = [t for scope in semantic.scopes.values() for t in scope.imports.values()]
        cache[modules] = any(t.split(".")[0] in modules for t in targets)
    return cache[modules]


def per_call_reason(semantic: SemanticModel, function: ast.AST) -> str | None:
    """Why `function` runs once per item, batch or request, or None: a web request handler
    (FastAPI, Flask, Django, Gradio), a method frameworks call per item (`__getitem__`, a
    module's `forward`, Lightning's `*_step`), or a function this file calls in a loop or maps
    over items. Memoised per function."""
    cache = semantic.rule_cache.setdefault("loading.per_call", {})
    if function in cache:
        return cache[function]
    cache[function] = None  # recursion guard
    reason = cache[function] = _per_call_reason(semantic, function)
    return reason


def _per_call_reason(semantic: SemanticModel, function: ast.AST) -> str | None:
    if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    name = function.name
    owner = semantic.parent(function)
    in_class = isinstance(owner, ast.ClassDef)
    if in_class and name in PER_ITEM_METHODS:
        return f"`{name}`, {PER_ITEM_METHODS[name]}"
    if in_class and name in _MODULE_PER_CALL and _is_module_class(semantic, owner):
        return f"the module's `{name}`, {_MODULE_PER_CALL[name]}"
    if imports_any(semantic, _WEB_MODULES):
        route = _route_reason(semantic, function, owner)
        if route is not None:
            return route
    for site, how in function_references(semantic, function):
        if how == "call" and semantic.enclosing_loops(site):
            return f"called in a loop at line {site.lineno}"
        if how == "mapped":
            return f"mapped over items at line {site.lineno}"
    return None


def _is_module_class(semantic: SemanticModel, cls: ast.ClassDef) -> bool:
    if semantic.is_module_class(cls):
        return True
    return any((semantic.qualified_name(b) or "").startswith(_MODULE_BASES) for b in cls.bases)


def _route_reason(semantic: SemanticModel, function: ast.AST, owner: ast.AST | None) -> str | None:
    for decorator in function.decorator_list:
        func = decorator.func if isinstance(decorator, ast.Call) else None
        if isinstance(func, ast.Attribute) and func.attr in _ROUTE_METHODS and _is_app(semantic, func.value):
            return f"request handler `{function.name}()`"
        qualified = semantic.qualified_name(decorator.func if isinstance(decorator, ast.Call) else decorator) or ""
        if qualified.startswith(("rest_framework.decorators.api_view", "django.views.decorators.")):
            return f"request handler `{function.name}()`"
    if (
        isinstance(owner, ast.ClassDef)
        and function.name in _ROUTE_METHODS
        and any((semantic.qualified_name(b) or "").startswith(_VIEW_BASES) for b in owner.bases)
    ):
        return f"request handler `{owner.name}.{function.name}()`"
    if isinstance(owner, ast.Module) and imports_any(semantic, ("django",)):
        args = function.args.posonlyargs + function.args.args
        if args and args[0].arg == "request" and semantic.filename.replace("\\", "/").endswith("views.py"):
            return f"Django view `{function.name}()`"
    for site, how in function_references(semantic, function):
        if how == "registered":
            return f"request handler `{function.name}()`"
        if how == "gradio":
            return f"Gradio callback `{function.name}()`"
    return None


def _is_app(semantic: SemanticModel, receiver: ast.AST) -> bool:
    """`app` in `@app.get(...)`: bound to FastAPI()/Flask()/APIRouter()/Blueprint(), or, when it
    comes from elsewhere, conventionally named so."""
    if isinstance(receiver, ast.Name):
        found = semantic.lookup(receiver.id, receiver)
        if found is not None and found[1] == "local":
            values = found[0].bindings[receiver.id]
            if any(semantic.call_name(v) in _APP_FACTORIES for v in values):
                return True
        return receiver.id.lower() in _APP_NAMES
    if isinstance(receiver, ast.Attribute):
        return receiver.attr.lower() in _APP_NAMES
    return False


def function_references(semantic: SemanticModel, function: ast.AST) -> list[tuple[ast.AST, str]]:
    """Where this file calls or hands over a def: ("call", call) for `f(...)`, `self.f(...)`
    (same class) or `obj.f(...)` on a local instance; ("mapped", call) for `map(f, ...)`,
    `df.apply(f)`, `delayed(f)`; ("registered", call) for `app.add_url_rule(..., f)`;
    ("gradio", call) for `gr.Interface(fn=f)` and `button.click(f, ...)`."""
    index = _reference_index(semantic)
    return index.get(function, [])


def _reference_index(semantic: SemanticModel) -> dict[ast.AST, list[tuple[ast.AST, str]]]:
    cache = semantic.rule_cache.setdefault("loading.references", {})
    if "index" in cache:
        return cache["index"]
    index: dict[ast.AST, list[tuple[ast.AST, str]]] = {}
    gradio = imports_any(semantic, ("gradio",))
    for call in semantic.nodes(ast.Call):
        target = called_def(semantic, call.func)
        if target is not None:
            index.setdefault(target, []).append((call, "call"))
        func = call.func
        attr = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        handed = [*call.args, *(k.value for k in call.keywords)]
        for arg in handed:
            if not isinstance(arg, (ast.Name, ast.Attribute)):
                continue
            target = called_def(semantic, arg)
            if target is None:
                continue
            if attr in _PER_ITEM_HIGHER_ORDER:
                index.setdefault(target, []).append((call, "mapped"))
            elif attr in _ROUTE_REGISTRATIONS:
                index.setdefault(target, []).append((call, "registered"))
            elif gradio and _is_gradio_hook(semantic, call, attr, arg):
                index.setdefault(target, []).append((call, "gradio"))
    cache["index"] = index
    return index


def _is_gradio_hook(semantic: SemanticModel, call: ast.Call, attr: str, arg: ast.AST) -> bool:
    is_fn = (call.args and call.args[0] is arg) or any(k.value is arg and k.arg == "fn" for k in call.keywords)
    if not is_fn:
        return False
    name = semantic.call_name(call) or ""
    return name.startswith("gradio.") or (isinstance(call.func, ast.Attribute) and attr in _GRADIO_EVENTS)


def called_def(semantic: SemanticModel, func: ast.AST) -> ast.AST | None:
    """The def in this file that `func` (a callee or a function handed over) names, if known."""
    if isinstance(func, ast.Name):
        found = semantic.lookup(func.id, func)
        if found is None or found[1] != "local":
            return None
        values = found[0].bindings[func.id]
        defs = [v for v in values if isinstance(v, (ast.FunctionDef, ast.AsyncFunctionDef))]
        return defs[0] if len(defs) == 1 and len(values) == 1 else None
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        receiver = func.value
        cls = None
        if receiver.id in ("self", "cls"):
            cls = next((a for a in semantic.ancestors(func) if isinstance(a, ast.ClassDef)), None)
        else:
            value = semantic.single_value(receiver)
            if isinstance(value, ast.Call) and isinstance(value.func, ast.Name):
                found = semantic.lookup(value.func.id, value.func)
                if found is not None and found[1] == "local":
                    cls = next((v for v in found[0].bindings[value.func.id] if isinstance(v, ast.ClassDef)), None)
        if cls is None:
            return None
        methods = [s for s in cls.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) and s.name == func.attr]
        return methods[0] if len(methods) == 1 else None
    return None


def parameters(function: ast.AST) -> list[str]:
    args = function.args
    return [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg) if a is not None]


def root_name(node: ast.AST) -> str | None:
    """`df` for `df.loc[0].x`; None when the chain does not start at a plain name."""
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None
