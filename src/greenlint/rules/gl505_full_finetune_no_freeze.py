"""GL505 full-finetune-no-freeze: every parameter of a pretrained backbone is trained, nothing
is frozen and no adapter (PEFT/LoRA) is used.

The module also holds what GL602 (train-from-scratch) and GL603 (over-parallel-inference) share
with it: which calls build a standard architecture with or without pretrained weights, how big a
named checkpoint is, and which optimizers or trainers train which models.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from greenlint.diagnostics import Applicability, Fix
from greenlint.rules.base import INCLUDE_TESTS, Invalid, Option, Rule, Valid, register
from greenlint.semantic import SemanticModel

if TYPE_CHECKING:
    from greenlint.engine import Context

# ---------------------------------------------------------------------------- checkpoint sizes
# Parameter counts (millions) of common architectures, from the torchvision and timm model
# cards. Keys are lower-case name prefixes; the longest matching prefix wins.
_KNOWN_PARAMS: dict[str, float] = {
    "resnet18": 11.7, "resnet34": 21.8, "resnet50": 25.6, "resnet101": 44.5, "resnet152": 60.2,
    "resnet26": 16.0, "resnet10": 5.4,
    "wide_resnet50": 68.9, "wide_resnet101": 126.9, "resnext50": 25.0, "resnext101_32x8d": 88.8,
    "resnext101_64x4d": 83.5, "resnext101": 88.8,
    "vgg11": 132.9, "vgg13": 133.0, "vgg16": 138.4, "vgg19": 143.7, "alexnet": 61.1,
    "densenet121": 8.0, "densenet161": 28.7, "densenet169": 14.1, "densenet201": 20.0,
    "mobilenet": 5.5, "mnasnet": 4.4, "shufflenet": 2.3, "squeezenet": 1.2, "ghostnet": 5.2,
    "googlenet": 6.6, "inception_v3": 27.2, "inception_v4": 42.7,
    "efficientnet_b0": 5.3, "efficientnet-b0": 5.3, "efficientnet_b1": 7.8, "efficientnet-b1": 7.8,
    "efficientnet_b2": 9.1, "efficientnet-b2": 9.1, "efficientnet_b3": 12.2, "efficientnet-b3": 12.2,
    "efficientnet_b4": 19.3, "efficientnet-b4": 19.3, "efficientnet_b5": 30.4, "efficientnet-b5": 30.4,
    "efficientnet_b6": 43.0, "efficientnet-b6": 43.0, "efficientnet_b7": 66.3, "efficientnet-b7": 66.3,
    "efficientnet_v2_s": 21.5, "efficientnet_v2_m": 54.1, "efficientnet_v2_l": 118.5,
    "convnext_tiny": 28.6, "convnext_small": 50.2, "convnext_base": 88.6, "convnext_large": 197.8,
    "vit_b_16": 86.6, "vit_b_32": 88.2, "vit_l_16": 304.3, "vit_l_32": 306.5, "vit_h_14": 632.0,
    "swin_t": 28.3, "swin_s": 49.6, "swin_b": 87.8, "swin_v2_t": 28.4, "swin_v2_s": 49.7, "swin_v2_b": 87.9,
    "maxvit_t": 30.9, "regnet_y_128gf": 644.8, "regnet_y_32gf": 145.0, "regnet_y_16gf": 83.6,
    "regnet": 20.0,
    "fasterrcnn_resnet50": 41.8, "fasterrcnn_mobilenet": 19.4, "maskrcnn_resnet50": 44.4,
    "retinanet_resnet50": 34.0, "keypointrcnn_resnet50": 59.1, "fcos_resnet50": 32.3, "ssd300": 35.6,
    "ssdlite": 3.4, "fcn_resnet50": 35.3, "fcn_resnet101": 54.3, "deeplabv3_resnet50": 42.0,
    "deeplabv3_resnet101": 61.0, "deeplabv3_mobilenet": 11.0, "lraspp": 3.2,
    "r3d_18": 33.4, "r2plus1d_18": 31.5, "mc3_18": 11.7,
    # Hugging Face names without a size word.
    "gpt2": 124.0, "gpt2-medium": 355.0, "gpt2-large": 774.0, "gpt2-xl": 1558.0, "distilgpt2": 82.0,
    "all-minilm": 22.7, "paraphrase-minilm": 22.7, "distilbert": 66.0, "distilroberta": 82.0, "albert": 12.0,
    "phi-2": 2700.0, "phi-1": 1300.0, "microsoft/phi-2": 2700.0, "microsoft/phi-1": 1300.0,
}
# Size words in checkpoint names and a low parameter count for each, in millions: "large" is
# ViT-L's 304M (BERT-large has 335M, GPT-2 large 774M), "xl" GPT-2 XL's 1.5B (T5-XL has 3B).
_SIZE_WORDS: dict[str, float] = {
    "xxl": 11000.0, "xxlarge": 11000.0, "xl": 1500.0, "xlarge": 1500.0, "huge": 630.0, "giant": 1000.0,
    "gigantic": 1800.0, "large": 300.0, "medium": 350.0, "base": 110.0, "small": 60.0, "mini": 20.0,
    "tiny": 10.0, "nano": 5.0, "micro": 5.0, "pico": 2.0, "distil": 66.0, "distilled": 66.0,
}
_COUNT = re.compile(r"(?<![a-z0-9.])(?:(\d+)x)?(\d+(?:\.\d+)?)([bm])(?![a-z0-9])")
_SPLIT = re.compile(r"[-_./:\s]+")


def checkpoint_size(label: str | None) -> tuple[float, bool] | None:
    """Millions of parameters a checkpoint or architecture name shows, and whether that is only
    a lower bound read from a size word; None when the name does not say.
    "meta-llama/Llama-2-7b-hf" (7000, False), "resnet50" (25.6, False), "Qwen2.5-0.5B" (500,
    False), "mixtral-8x7b" (56000, False), "bert-large-uncased" (300, True)."""
    if not label:
        return None
    name = label.lower().strip()
    counts = [
        float(count) * (int(experts) if experts else 1) * (1000.0 if unit == "b" else 1.0)
        for experts, count, unit in _COUNT.findall(name)
    ]
    if counts:
        return max(counts), False
    best = ""
    for candidate in (name, name.rsplit("/", 1)[-1]):
        for prefix in _KNOWN_PARAMS:
            if candidate.startswith(prefix) and len(prefix) > len(best):
                best = prefix
    if best:
        return _KNOWN_PARAMS[best], False
    words = _SPLIT.split(name.rsplit("/", 1)[-1])
    sizes = [_SIZE_WORDS[w] for w in words if w in _SIZE_WORDS]
    if any(w.startswith("distil") for w in words):
        sizes.append(_SIZE_WORDS["distil"])
    return (max(sizes), True) if sizes else None


def checkpoint_params(label: str | None) -> float | None:
    """Millions of parameters a checkpoint or architecture name shows (see checkpoint_size)."""
    size = checkpoint_size(label)
    return size[0] if size else None


def describe_size(label: str | None) -> str:
    """"~7B parameters", "~25.6M parameters", "300M+ parameters" (a size word), or ""."""
    size = checkpoint_size(label)
    if size is None:
        return ""
    millions, lower_bound = size
    text = f"{millions / 1000:.3g}B" if millions >= 1000 else f"{millions:.3g}M"
    return f"{text}+ parameters" if lower_bound else f"~{text} parameters"


# ---------------------------------------------------------------------------- model sources
@dataclass(frozen=True)
class Source:
    """A call that builds a standard architecture: with pretrained weights or from scratch."""

    call: ast.Call
    pretrained: bool
    label: str  # what the code names: a checkpoint id, an architecture, `Net.from_pretrained`
    params: float | None  # millions, when the name shows it
    family: str  # "transformers", "torchvision", "timm", "keras", "local", "other"
    task_head: bool  # a downstream-task architecture (classifier, detector, ...)

    @property
    def spelled(self) -> str:
        """How a message names it: "`bert-large-uncased`", "model from `Net.from_pretrained(...)`"."""
        if self.label.endswith((".from_pretrained", ".from_config")):
            return f"model from `{self.label}(...)`"
        return f"`{self.label}`"


_NOT_A_MODEL = re.compile(r"Tokenizer|Processor|Extractor|Config|Scheduler|Pipeline|pipeline|Quantiz|Generation")
_HF_TASK_HEAD = re.compile(
    r"For(Sequence|Token|Image|Audio|Video|Zero\w*)Classification$|ForQuestionAnswering$|ForMultipleChoice$"
    r"|ForObjectDetection$|For(Semantic|Instance|Universal)Segmentation$|ForCTC$|ForDepthEstimation$"
)
_HF_MODEL_CLASS = re.compile(r"^(?!Auto|PreTrained|TF|Flax)[A-Z]\w*(Model|For[A-Z]\w+|LMHeadModel)$")
_TIMM_FACTORIES = frozenset({"timm.create_model", "timm.models.create_model", "timm.models._factory.create_model"})
_TORCHVISION_HELPERS = frozenset({"get_weight", "list_models", "get_model_weights", "get_model_builder"})
_KERAS_APPS = ("tensorflow.keras.applications.", "keras.applications.", "tf_keras.applications.")
_WEIGHTS_VALUE = re.compile(r"Weights|DEFAULT|IMAGENET|imagenet", re.IGNORECASE)


def _keyword(call: ast.Call, *names: str) -> ast.AST | None:
    return next((k.value for k in call.keywords if k.arg in names), None)


def _constant(node: ast.AST | None, *values: object) -> bool:
    return isinstance(node, ast.Constant) and any(node.value is v if v in (None, True, False) else node.value == v for v in values)


def _string(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def model_source(semantic: SemanticModel, call: ast.AST) -> Source | None:
    """The Source this call is, or None (an unknown call, or a flag only known at run time)."""
    if not isinstance(call, ast.Call):
        return None
    cache = semantic.rule_cache.setdefault("GL505.sources", {})
    if id(call) not in cache:
        cache[id(call)] = (call, _model_source(semantic, call))
    return cache[id(call)][1]


def _model_source(semantic: SemanticModel, call: ast.Call) -> Source | None:
    func = call.func
    name = semantic.qualified_name(func)
    if name is None:
        return _local_from_pretrained(semantic, call)
    last = name.rsplit(".", 1)[-1]
    if last in ("from_pretrained", "from_config") and name.count(".") >= 2:
        owner = name.rsplit(".", 2)[-2]
        if _NOT_A_MODEL.search(owner) or not owner[:1].isupper():
            return None
        family = name.split(".", 1)[0]
        family = family if family in ("transformers", "diffusers", "timm", "sentence_transformers") else "other"
        label = checkpoint_name(semantic, call.args[0] if call.args else _keyword(call, "pretrained_model_name_or_path"))
        if last == "from_config":
            if family != "transformers":
                return None
            return Source(call, False, f"{owner}.from_config", None, family, bool(_HF_TASK_HEAD.search(owner)))
        return Source(call, True, label or f"{owner}.from_pretrained", checkpoint_params(label), family, bool(_HF_TASK_HEAD.search(owner)))
    if name.startswith("transformers.") and _HF_MODEL_CLASS.match(last) and not _NOT_A_MODEL.search(last):
        if call.args or _keyword(call, "config") is not None:  # `BertForSequenceClassification(config)`
            return Source(call, False, last, None, "transformers", bool(_HF_TASK_HEAD.search(last)))
        return None
    if name.startswith("sentence_transformers.") and last in ("SentenceTransformer", "CrossEncoder"):
        label = checkpoint_name(semantic, call.args[0] if call.args else _keyword(call, "model_name_or_path"))
        return Source(call, True, label or last, checkpoint_params(label), "sentence_transformers", True) if label else None
    if name in _TIMM_FACTORIES:
        label = checkpoint_name(semantic, call.args[0] if call.args else _keyword(call, "model_name"))
        if label is None:
            return None
        flag = _keyword(call, "pretrained")
        if flag is None and len(call.args) > 1:
            flag = call.args[1]
        loads = _keyword(call, "checkpoint_path", "pretrained_cfg_overlay")
        if _constant(flag, True):
            return Source(call, True, label, checkpoint_params(label), "timm", True)
        if _constant(flag, False) and (loads is None or _constant(loads, None, "")):
            return Source(call, False, label, checkpoint_params(label), "timm", True)
        return None
    if name.startswith("torchvision.models.") and last[:1].islower() and last not in _TORCHVISION_HELPERS:
        label = checkpoint_name(semantic, call.args[0]) if last == "get_model" and call.args else last
        if label is None:
            return None
        weights = _keyword(call, "weights")
        flag = _keyword(call, "pretrained")
        if flag is None and call.args and last != "get_model" and isinstance(call.args[0], ast.Constant):
            flag = call.args[0]  # the pre-0.13 positional `pretrained`
        backbone = _keyword(call, "weights_backbone", "pretrained_backbone")
        if _constant(flag, True) or (weights is not None and _weights_value(weights)):
            return Source(call, True, label, checkpoint_params(label), "torchvision", True)
        explicit_scratch = _constant(weights, None) or _constant(flag, False)
        if explicit_scratch and (backbone is None or _constant(backbone, None, False)):
            return Source(call, False, label, checkpoint_params(label), "torchvision", True)
        return None
    if name.startswith(_KERAS_APPS) and last[:1].isupper():
        weights = _keyword(call, "weights")
        if _constant(weights, None):
            return Source(call, False, last, checkpoint_params(last), "keras", True)
        if weights is None or _constant(weights, "imagenet"):
            return Source(call, True, last, checkpoint_params(last), "keras", True)
    return None


_SOURCE_PACKAGES = frozenset({"transformers", "sentence_transformers", "timm", "torchvision", "tensorflow", "keras", "tf_keras"})
_SOURCE_METHODS = frozenset({"from_pretrained", "from_config"})


def source_callees(semantic: SemanticModel):
    """A cheap test, True for every call `model_source` can return a Source for: a
    `.from_pretrained`/`.from_config` method, or a callee whose root name is imported from a
    package `_model_source` knows (or as a from_pretrained/from_config function)."""
    roots = {
        local
        for scope in semantic.scopes.values()
        for local, target in scope.imports.items()
        if target.split(".", 1)[0] in _SOURCE_PACKAGES or target.rsplit(".", 1)[-1] in _SOURCE_METHODS
    }

    def maybe(call: ast.Call) -> bool:
        func = call.func
        if isinstance(func, ast.Attribute) and func.attr in _SOURCE_METHODS:
            return True
        while isinstance(func, ast.Attribute):
            func = func.value
        return isinstance(func, ast.Name) and func.id in roots

    return maybe


def checkpoint_name(semantic: SemanticModel, node: ast.AST | None) -> str | None:
    """The checkpoint or architecture name an argument holds, when the code shows it: a string
    literal, a name bound only to one string literal (`MODEL_ID = "roberta-large"`), or
    `args.X` whose argparse option `--X` has a string default."""
    text = _string(node)
    if text is not None or node is None:
        return text
    if isinstance(node, ast.Name):
        found = semantic.lookup(node.id, node)
        if found is None or found[1] != "local":
            return None
        values = {_string(v) for v in found[0].bindings[node.id]}
        return values.pop() if len(values) == 1 else None
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return _argparse_default(semantic, node.attr)
    return None


def _argparse_default(semantic: SemanticModel, dest: str) -> str | None:
    """The string default of `parser.add_argument("--dest", default="...")` (dashes or
    underscores), when exactly one such option exists in the file."""
    cache = semantic.rule_cache.setdefault("GL505.argparse", {})
    if not cache:
        defaults: dict[str, set] = {}
        for call in semantic.nodes(ast.Call):
            if not (isinstance(call.func, ast.Attribute) and call.func.attr == "add_argument"):
                continue
            flags = [_string(a) for a in call.args]
            explicit = _string(_keyword(call, "dest"))
            names = {explicit} if explicit else {f.lstrip("-").replace("-", "_") for f in flags if f and f.startswith("--")}
            default = _keyword(call, "default")
            for name in names:
                defaults.setdefault(name, set()).add(_string(default) if default is not None else None)
        cache.update(defaults)
        cache["__built__"] = {None}
    values = cache.get(dest)
    if not values or len(values) != 1:
        return None
    return next(iter(values))


def _weights_value(node: ast.AST) -> bool:
    """`weights="IMAGENET1K_V2"`, `weights=ResNet50_Weights.DEFAULT`, `weights="DEFAULT"`."""
    text = _string(node)
    if text is not None:
        return bool(text)
    if isinstance(node, (ast.Attribute, ast.Name)):
        return bool(_WEIGHTS_VALUE.search(ast.unparse(node)))
    return False


def _local_from_pretrained(semantic: SemanticModel, call: ast.Call) -> Source | None:
    """`Backbone.from_pretrained(...)` for an nn.Module subclass defined in this file."""
    func = call.func
    if not (isinstance(func, ast.Attribute) and func.attr == "from_pretrained" and isinstance(func.value, ast.Name)):
        return None
    found = semantic.lookup(func.value.id, func.value)
    if found is None or found[0] is not semantic.module_scope or found[1] != "local":
        return None
    values = found[0].bindings[func.value.id]
    if len(values) != 1 or not isinstance(values[0], ast.ClassDef) or not semantic.is_module_class(values[0]):
        return None
    label = checkpoint_name(semantic, call.args[0]) if call.args else None
    return Source(call, True, label or f"{func.value.id}.from_pretrained", checkpoint_params(label), "local", False)


# ---------------------------------------------------------------------------- what holds a model
_PASSTHROUGH = frozenset({"to", "cuda", "cpu", "train", "eval", "half", "float", "bfloat16", "requires_grad_", "to_empty"})


def peel(node: ast.AST) -> ast.AST:
    """`X` for `X.to(device).train()`: the expression a chain of model-returning methods starts from."""
    while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _PASSTHROUGH:
        node = node.func.value
    return node


def class_assignments(semantic: SemanticModel, cls: ast.ClassDef) -> dict[str, list[ast.AST]]:
    """What each method of the class assigns to `self.X`."""
    cache = semantic.rule_cache.setdefault("GL505.class_assignments", {})
    if cls not in cache:
        found: dict[str, list[ast.AST]] = {}
        for node in ast.walk(cls):
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self":
                        if semantic.enclosing_class(node) is cls:
                            found.setdefault(target.attr, []).append(node.value)
        cache[cls] = (cls, found)
    return cache[cls][1]


def values_of(semantic: SemanticModel, expr: ast.AST) -> list[ast.AST] | None:
    """What a local name or `self.X` was assigned (None: not a local name or self attribute)."""
    if isinstance(expr, ast.Name):
        found = semantic.lookup(expr.id, expr)
        if found is None or found[1] != "local":
            return None
        values = [v for v in found[0].bindings[expr.id] if v is not None and not _constant(v, None)]
        return values + _arguments_for(semantic, expr, found[0])
    if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name) and expr.value.id == "self":
        cls = semantic.enclosing_class(expr)
        if cls is None:
            return None
        return [v for v in class_assignments(semantic, cls).get(expr.attr, []) if not _constant(v, None)]
    return None


def _arguments_for(semantic: SemanticModel, name: ast.Name, scope) -> list[ast.AST]:
    """For a function parameter: what this file's calls of the function pass for it."""
    function = scope.node
    if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)) or isinstance(semantic.parent(function), ast.ClassDef):
        return []
    params = [a.arg for a in (*function.args.posonlyargs, *function.args.args)]
    if name.id not in params and name.id not in [a.arg for a in function.args.kwonlyargs]:
        return []
    passed = []
    for site in semantic.call_sites(function.name):
        if not isinstance(site.func, ast.Name):
            continue
        keyword = next((k.value for k in site.keywords if k.arg == name.id), None)
        if keyword is not None:
            passed.append(keyword)
        elif name.id in params and params.index(name.id) < len(site.args):
            arg = site.args[params.index(name.id)]
            if not isinstance(arg, ast.Starred):
                passed.append(arg)
    return passed


def sources_in(semantic: SemanticModel, expr: ast.AST, depth: int = 0, seen: frozenset = frozenset()) -> list[Source]:
    """The model sources whose parameters `expr` holds: the model itself (`model`, `self.backbone`,
    `model.to(device)`), a container built around one (`nn.Sequential(backbone, head)`,
    `Classifier(backbone)`), an instance of a local class that builds one in `__init__`, or
    `self` in such a class."""
    if depth > 5:
        return []
    expr = peel(expr)
    if isinstance(expr, ast.Call):
        found = model_source(semantic, expr)
        if found is not None:
            return [found]
        func = expr.func
        result: list[Source] = []
        cls = _local_class(semantic, func)
        if cls is not None:
            result += _class_sources(semantic, cls, depth, seen)
        if _is_container(semantic, func, cls):
            for arg in (*expr.args, *(k.value for k in expr.keywords)):
                if not isinstance(arg, ast.Starred):
                    result += sources_in(semantic, arg, depth + 1, seen)
        return result
    if isinstance(expr, (ast.List, ast.Tuple)):  # `keras.Sequential([base, Dense(10)])`
        return [found for element in expr.elts for found in sources_in(semantic, element, depth + 1, seen)]
    if isinstance(expr, ast.Name) and expr.id == "self":
        cls = semantic.enclosing_class(expr)
        return _class_sources(semantic, cls, depth, seen) if cls is not None else []
    key = (ast.unparse(expr), id(semantic.enclosing_class(expr)) if isinstance(expr, ast.Attribute) else id(semantic.scope_of(expr)))
    if key in seen:
        return []
    values = values_of(semantic, expr)
    if not values:
        return []
    result = []
    for value in values:
        result += sources_in(semantic, value, depth + 1, seen | {key})
    return result


def _local_class(semantic: SemanticModel, func: ast.AST) -> ast.ClassDef | None:
    if not isinstance(func, ast.Name):
        return None
    found = semantic.lookup(func.id, func)
    if found is None or found[0] is not semantic.module_scope or found[1] != "local":
        return None
    values = found[0].bindings[func.id]
    return values[0] if len(values) == 1 and isinstance(values[0], ast.ClassDef) else None


def _class_sources(semantic: SemanticModel, cls: ast.ClassDef, depth: int, seen: frozenset) -> list[Source]:
    key = ("class", id(cls))
    if key in seen:
        return []
    result = []
    for values in class_assignments(semantic, cls).values():
        for value in values:
            result += sources_in(semantic, value, depth + 1, seen | {key})
    return result


def _is_container(semantic: SemanticModel, func: ast.AST, cls: ast.ClassDef | None) -> bool:
    """A call that builds a module around its arguments: `nn.Sequential`, `DataParallel`, a local
    nn.Module subclass, or another class (capitalised name) that is not a known non-model."""
    if cls is not None:
        return semantic.is_module_class(cls)
    name = semantic.qualified_name(func)
    if name is not None:
        last = name.rsplit(".", 1)[-1]
        return name.startswith("torch.nn.") and last[:1].isupper() or (last[:1].isupper() and not _NOT_A_MODEL.search(last) and "optim" not in name)
    return isinstance(func, ast.Name) and func.id[:1].isupper()


# ---------------------------------------------------------------------------- what trains a model
_TRAINERS = re.compile(r"^(transformers(\.trainer(_seq2seq)?)?\.(Seq2Seq)?Trainer|trl(\.\w+)*\.\w*Trainer|sentence_transformers(\.\w+)*\.SentenceTransformerTrainer)$")
_OPTIMIZER_FACTORIES = frozenset({"timm.optim.create_optimizer_v2", "timm.optim.create_optimizer"})


@dataclass(frozen=True)
class Training:
    """A call that trains parameters of `holder`: an optimizer or a trainer."""

    call: ast.Call
    holder: ast.AST  # the expression whose parameters it trains
    all_parameters: bool  # every parameter of holder, not a filtered subset


def is_optimizer(semantic: SemanticModel, call: ast.Call) -> bool:
    name = semantic.call_name(call) or ""
    if name in _OPTIMIZER_FACTORIES:
        return True
    last = name.rsplit(".", 1)[-1]
    module = name.rsplit(".", 1)[0] if "." in name else ""
    if not last[:1].isupper() or "lr_scheduler" in name or "swa_utils" in name or last in ("Optimizer", "LBFGS"):
        return False
    in_optim_module = any(part.startswith("optim") and part != "optimum" for part in module.lower().split("."))
    return in_optim_module or name in ("transformers.AdamW", "transformers.Adafactor", "transformers.optimization.AdamW", "transformers.optimization.Adafactor")


def trainings(semantic: SemanticModel) -> list[Training]:
    """Every optimizer construction and trainer in the file, with what it trains."""
    cache = semantic.rule_cache.setdefault("GL505", {})
    if "trainings" in cache:
        return cache["trainings"]
    found: list[Training] = []
    aliases = _training_aliases(semantic)
    for call in semantic.nodes(ast.Call):
        # Cheap first: the callee's last name must be able to name a trainer or an optimizer.
        func = call.func
        if isinstance(func, ast.Attribute):
            last = func.attr
            if not (last[:1].isupper() or last.endswith("Trainer") or last in _FACTORY_LAST):
                continue
        elif not (isinstance(func, ast.Name) and func.id in aliases):
            continue
        name = semantic.call_name(call) or ""
        if _TRAINERS.match(name) or _local_trainer(semantic, call.func):
            model = _keyword(call, "model") or (call.args[0] if call.args else None)
            if model is not None and not isinstance(model, ast.Starred):
                # A trainer with its own optimizers may train a subset.
                custom = _keyword(call, "optimizers", "optimizer_cls_and_kwargs")
                found.append(Training(call, model, custom is None or _constant(custom, None)))
            continue
        if not is_optimizer(semantic, call):
            continue
        if name in _OPTIMIZER_FACTORIES:
            model = call.args[0] if call.args else _keyword(call, "model_or_params")
            if model is not None:
                found.append(Training(call, model, True))
            continue
        params = call.args[0] if call.args else _keyword(call, "params")
        if params is None or isinstance(params, ast.Starred):
            continue
        for holder, every in parameter_holders(semantic, params):
            found.append(Training(call, holder, every))
    cache["trainings"] = found
    return found


_FACTORY_LAST = frozenset(name.rsplit(".", 1)[-1] for name in _OPTIMIZER_FACTORIES)


def _may_name_training(last: str) -> bool:
    """Whether a qualified name ending in `last` can be a trainer or an optimizer: trainers end in
    "Trainer", optimizers are capitalised classes or a timm factory."""
    return last[:1].isupper() or last.endswith("Trainer") or last in _FACTORY_LAST


def _training_aliases(semantic: SemanticModel) -> set[str]:
    """The local names a trainer or optimizer call can be spelled with: a name imported as one
    (the last part of a qualified name is the imported name), or a local class with a trainer base."""
    aliases = {local for scope in semantic.scopes.values() for local, target in scope.imports.items() if _may_name_training(target.rsplit(".", 1)[-1])}
    aliases.update(
        cls.name for cls in semantic.nodes(ast.ClassDef) if any(_TRAINERS.match(semantic.qualified_name(base) or "") for base in cls.bases)
    )
    return aliases


def _local_trainer(semantic: SemanticModel, func: ast.AST) -> bool:
    """`CustomTrainer(...)` for a class in this file that subclasses a Hugging Face/TRL trainer."""
    cls = _local_class(semantic, func)
    return cls is not None and any(_TRAINERS.match(semantic.qualified_name(base) or "") for base in cls.bases)


def parameter_holders(semantic: SemanticModel, params: ast.AST, depth: int = 0) -> list[tuple[ast.AST, bool]]:
    """Whose parameters an optimizer's first argument holds, and whether all of them:
    `model.parameters()` (all), `list(model.parameters())` (all), a name bound to one of these,
    Hugging Face's two weight-decay groups over `model.named_parameters()` (all), any other
    expression that mentions `X.parameters()` or `X.named_parameters()` (a subset)."""
    if depth > 3:
        return []
    inner = params
    if isinstance(inner, ast.Call) and isinstance(inner.func, ast.Name) and inner.func.id in ("list", "tuple") and len(inner.args) == 1:
        inner = inner.args[0]
    if _parameters_call(inner) is not None:
        return [(_parameters_call(inner), True)]
    if isinstance(inner, ast.Name):
        values = values_of(semantic, inner) or []
        if len(values) == 1:
            return parameter_holders(semantic, values[0], depth + 1)
        return []
    if isinstance(inner, ast.List):
        complete = _complementary_groups(inner)
        if complete is not None:
            return [(complete, True)]
    holders = []
    for node in ast.walk(params):
        receiver = _parameters_call(node)
        if receiver is not None:
            holders.append((receiver, False))
    return holders


def _parameters_call(node: ast.AST) -> ast.AST | None:
    """`X` for `X.parameters()` or `X.named_parameters()`."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("parameters", "named_parameters"):
        if not node.args and all(k.arg == "recurse" for k in node.keywords):
            return node.func.value
    return None


def _complementary_groups(groups: ast.List) -> ast.AST | None:
    """The model, when the list is two parameter groups `{"params": [p for n, p in
    model.named_parameters() if C]}` and `... if not C`: together they hold every parameter."""
    if len(groups.elts) != 2 or not all(isinstance(g, ast.Dict) for g in groups.elts):
        return None
    parts = []
    for group in groups.elts:
        value = next((v for k, v in zip(group.keys, group.values) if _string(k) == "params"), None)
        if not isinstance(value, ast.ListComp) or len(value.generators) != 1:
            return None
        generator = value.generators[0]
        receiver = _parameters_call(generator.iter)
        if receiver is None or len(generator.ifs) != 1:
            return None
        parts.append((ast.unparse(receiver), receiver, generator.ifs[0]))
    (text_a, receiver, cond_a), (text_b, _, cond_b) = parts
    if text_a != text_b or not (_negates(cond_a, cond_b) or _negates(cond_b, cond_a)):
        return None
    return receiver


def _negates(a: ast.AST, b: ast.AST) -> bool:
    if isinstance(b, ast.UnaryOp) and isinstance(b.op, ast.Not):
        return ast.dump(a) == ast.dump(b.operand)
    if isinstance(a, ast.Compare) and isinstance(b, ast.Compare) and len(a.ops) == len(b.ops) == 1:
        pairs = {(ast.In, ast.NotIn), (ast.NotIn, ast.In), (ast.Is, ast.IsNot), (ast.IsNot, ast.Is), (ast.Eq, ast.NotEq), (ast.NotEq, ast.Eq)}
        same = ast.dump(a.left) == ast.dump(b.left) and ast.dump(a.comparators[0]) == ast.dump(b.comparators[0])
        return same and (type(a.ops[0]), type(b.ops[0])) in pairs
    return False


# ---------------------------------------------------------------------------- freezing and adapters
_FREEZE_WORDS = re.compile(
    r"freez|frozen|finetuning|(?<![a-z])(lora|peft|adapter|prefix_tun|prompt_tun|p_tuning|ptuning|ia3(?![a-z0-9])|bitfit|linear_prob)",
    re.IGNORECASE,
)
_ADAPTER_MODULES = ("peft", "loralib", "unsloth", "adapters", "opendelta", "adapter_transformers", "lora")


def freezing_evidence(semantic: SemanticModel) -> str | None:
    """Why this file may freeze something or train adapters, or None: `requires_grad_(False)`,
    `p.requires_grad = False`, `.trainable = False`, a peft/LoRA import, or a name, keyword or
    short string that mentions freezing, LoRA, PEFT or adapters (`freeze_backbone`,
    `model.freeze()`, `BackboneFinetuning`, `lora_r=8`)."""
    cache = semantic.rule_cache.setdefault("GL505", {})
    if "freezing" not in cache:
        cache["freezing"] = _freezing_evidence(semantic)
    return cache["freezing"]


def _freezing_evidence(semantic: SemanticModel) -> str | None:
    for scope in semantic.scopes.values():
        for module in scope.imports.values():
            if module.split(".", 1)[0] in _ADAPTER_MODULES or _FREEZE_WORDS.search(module):
                return f"imports `{module}`"
    for call in semantic.nodes(ast.Call):
        if isinstance(call.func, ast.Attribute) and call.func.attr == "requires_grad_":
            flag = call.args[0] if call.args else _keyword(call, "requires_grad")
            if flag is not None and not _constant(flag, True):
                return "calls `requires_grad_(...)`"
        for keyword in call.keywords:
            if keyword.arg and _FREEZE_WORDS.search(keyword.arg):
                return f"passes `{keyword.arg}=`"
    for kind in (ast.Assign, ast.AugAssign, ast.AnnAssign):
        for node in semantic.nodes(kind):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Attribute) and target.attr in ("requires_grad", "trainable"):
                    if not _constant(node.value, True):
                        return f"sets `.{target.attr}`"
    for node in semantic.nodes(ast.Attribute):
        if _FREEZE_WORDS.search(node.attr):
            return f"uses `.{node.attr}`"
    for node in semantic.nodes(ast.Name):
        if _FREEZE_WORDS.search(node.id):
            return f"uses `{node.id}`"
    for kind in (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef):
        for node in semantic.nodes(kind):
            if _FREEZE_WORDS.search(node.name):
                return f"defines `{node.name}`"
    for node in semantic.nodes(ast.Constant):
        if isinstance(node.value, str) and len(node.value) <= 40 and _FREEZE_WORDS.search(node.value):
            return f"mentions {node.value!r}"
    return None


# ---------------------------------------------------------------------------- training signals
def file_trains(semantic: SemanticModel) -> bool:
    """Whether anything in the file trains: an optimizer or trainer is built, a loss is
    back-propagated, an optimizer steps, a Lightning module defines `training_step` or
    `configure_optimizers`, or a Keras/sklearn-style `.fit(` runs."""
    cache = semantic.rule_cache.setdefault("GL505", {})
    if "file_trains" not in cache:
        cache["file_trains"] = _file_trains(semantic)
    return cache["file_trains"]


def _file_trains(semantic: SemanticModel) -> bool:
    if trainings(semantic):
        return True
    for kind in (ast.FunctionDef, ast.AsyncFunctionDef):
        for node in semantic.nodes(kind):
            if node.name in ("training_step", "configure_optimizers", "train_step", "train_one_epoch", "train_epoch"):
                return True
    for scope in (semantic.tree, *(n for k in (ast.FunctionDef, ast.AsyncFunctionDef) for n in semantic.nodes(k))):
        if semantic.uses_autograd(scope):
            return True
    return False


# ---------------------------------------------------------------------------- the rule
@register
class FullFinetuneNoFreeze(Rule):
    """
    ## What it does
    Flags an optimizer (or a Hugging Face / TRL trainer) over every parameter of a pretrained
    backbone when nothing in the file freezes any parameter and no PEFT/LoRA adapter is used.

    ## Fix
    None automatic: freeze the backbone and train the head, or train adapters.
    """

    code = "GL505"
    name = "full-finetune-no-freeze"
    summary = "Every parameter of a large pretrained backbone is fine-tuned; nothing is frozen and no adapter is used"
    impact = "low"
    evidence = "No energy study of frozen vs full fine-tuning found (research note 3.20); greenlint CPU fixture: frozen backbone 0.44x the CPU time [95% CI 0.38, 0.46]."
    frameworks = ("torch", "transformers", "timm", "torchvision", "trl", "lightning")
    # A finding needs a pretrained source (model_source): `from_pretrained`, a sentence_transformers
    # model, timm's `create_model`, a torchvision.models builder or a Keras `applications` model.
    requires = ("from_pretrained", "sentence_transformers", "create_model", "torchvision", "applications")
    fix_applicability = Applicability.DISPLAY_ONLY
    options = {
        "include-tests": INCLUDE_TESTS,
        "min-params": Option(int, 300, "Only flag backbones whose name shows at least this many million parameters"),
        "unknown-size": Option(bool, True, "Also flag backbones whose size the code does not show (a checkpoint name read at run time)"),
    }

    VALID = [
        Valid(
            """
            import torch
            from transformers import AutoModelForSequenceClassification

            model = AutoModelForSequenceClassification.from_pretrained("bert-large-uncased", num_labels=2)
            for p in model.bert.parameters():
                p.requires_grad = False
            optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
            """,
            why="the encoder is frozen",
        ),
        Valid(
            """
            import torch
            from peft import LoraConfig, get_peft_model
            from transformers import AutoModelForCausalLM

            model = AutoModelForCausalLM.from_pretrained("meta-llama/Llama-2-7b-hf")
            model = get_peft_model(model, LoraConfig(r=8))
            optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
            """,
            why="LoRA adapters: only they train",
        ),
        Valid(
            """
            import torch
            from transformers import AutoModelForSequenceClassification

            model = AutoModelForSequenceClassification.from_pretrained("distilbert-base-uncased", num_labels=2)
            optimizer = torch.optim.AdamW(model.parameters(), lr=5e-5)
            """,
            why="a 66M-parameter model: below min-params",
        ),
        Valid(
            """
            import torch
            import torchvision

            model = torchvision.models.resnet50(weights="IMAGENET1K_V2")
            optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
            """,
            why="ResNet-50 has 25.6M parameters: below min-params",
        ),
        Valid(
            """
            import torch
            import torchvision

            model = torchvision.models.vit_l_16(weights=None)
            optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
            """,
            why="not pretrained (GL602's concern, not this rule's)",
        ),
        Valid(
            """
            import timm
            import torch

            model = timm.create_model("vit_large_patch16_224", pretrained=True, num_classes=5)
            optimizer = torch.optim.AdamW(model.get_classifier().parameters(), lr=1e-3)
            """,
            why="the optimizer only trains the head",
        ),
        Valid(
            """
            import timm
            import torch

            model = timm.create_model("vit_large_patch16_224", pretrained=True, num_classes=5)
            model.requires_grad_(False)
            model.get_classifier().requires_grad_(True)
            optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
            """,
            why="frozen with requires_grad_(False): the optimizer skips parameters without gradients",
        ),
        Valid(
            """
            import torch
            from transformers import AutoModel

            encoder = AutoModel.from_pretrained("roberta-large")
            head = torch.nn.Linear(1024, 2)
            optimizer = torch.optim.Adam(head.parameters(), lr=1e-3)
            for x, y in loader:
                with torch.no_grad():
                    features = encoder(**x).pooler_output
                loss = torch.nn.functional.cross_entropy(head(features), y)
                loss.backward()
                optimizer.step()
            """,
            why="the backbone is a frozen feature extractor; only the head trains",
        ),
        Valid(
            """
            import torch
            from transformers import AutoModelForCausalLM

            model = AutoModelForCausalLM.from_pretrained(args.model_name, device_map="auto")
            optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
            """,
            options={"unknown-size": False},
            why="size unknown and unknown-size is off",
        ),
        Valid(
            """
            import torch
            from transformers import AutoModelForCausalLM

            model = AutoModelForCausalLM.from_pretrained("gpt2-xl")
            optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
            """,
            filename="tests/test_training.py",
            why="test files are skipped unless include-tests is set",
        ),
        Valid(
            """
            import torch
            from transformers import AutoModelForCausalLM, Trainer
            from trl import SFTTrainer

            model = AutoModelForCausalLM.from_pretrained(args.model)
            trainer = SFTTrainer(model=model, train_dataset=ds, peft_config=get_peft_config(args))
            """,
            why="a PEFT config is passed (the name mentions peft)",
        ),
        Valid(
            """
            import torch
            from transformers import AutoModelForSequenceClassification, Trainer

            model = AutoModelForSequenceClassification.from_pretrained("bert-large-cased")
            trainer = Trainer(model=model, optimizers=(make_optimizer(model), None))
            """,
            why="a custom optimizer is given to the Trainer: it may train a subset",
        ),
        Valid(
            """
            import torch
            from transformers import AutoModelForSequenceClassification

            model = AutoModelForSequenceClassification.from_pretrained("bert-large-cased")
            model.eval()
            with torch.no_grad():
                logits = model(**batch).logits
            """,
            why="inference only: nothing trains",
        ),
        Valid(
            """
            import lightning as L
            import torch
            from transformers import AutoModel
            from lightning.pytorch.callbacks import BackboneFinetuning

            class Classifier(L.LightningModule):
                def __init__(self):
                    super().__init__()
                    self.backbone = AutoModel.from_pretrained("roberta-large")
                    self.head = torch.nn.Linear(1024, 2)

                def configure_optimizers(self):
                    return torch.optim.AdamW(self.parameters(), lr=2e-5)

            trainer = L.Trainer(callbacks=[BackboneFinetuning(unfreeze_backbone_at_epoch=5)])
            """,
            why="Lightning's BackboneFinetuning callback freezes the backbone for the first epochs",
        ),
    ]
    INVALID = [
        Invalid(
            """
            import torch
            from transformers import AutoModelForSequenceClassification

            model = AutoModelForSequenceClassification.from_pretrained("bert-large-uncased", num_labels=2)
            optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="`bert-large-uncased`",
        ),
        Invalid(
            """
            import timm
            import torch

            backbone = timm.create_model("vit_large_patch16_224", pretrained=True, num_classes=0)
            model = torch.nn.Sequential(backbone, torch.nn.Linear(1024, 5)).cuda()
            opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="300M+ parameters",
        ),
        Invalid(
            """
            import torch
            from torchvision import models

            class Net(torch.nn.Module):
                def __init__(self):
                    super().__init__()
                    self.backbone = models.vit_h_14(weights=models.ViT_H_14_Weights.DEFAULT)
                    self.head = torch.nn.Linear(1000, 10)

                def forward(self, x):
                    return self.head(self.backbone(x))

            net = Net().to("cuda")
            optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="`vit_h_14`",
        ),
        Invalid(
            """
            import lightning as L
            import torch
            from transformers import AutoModel

            class Classifier(L.LightningModule):
                def __init__(self, name):
                    super().__init__()
                    self.encoder = AutoModel.from_pretrained(name)
                    self.head = torch.nn.Linear(1024, 2)

                def configure_optimizers(self):
                    return torch.optim.AdamW(self.parameters(), lr=2e-5)
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="size not shown",
        ),
        Invalid(
            """
            import torch
            from transformers import AutoModelForCausalLM, Trainer, TrainingArguments

            model = AutoModelForCausalLM.from_pretrained("meta-llama/Llama-2-7b-hf")
            trainer = Trainer(model=model, args=TrainingArguments("out"), train_dataset=train_ds)
            trainer.train()
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="~7B parameters",
        ),
        Invalid(
            """
            import torch
            from transformers import AutoModelForSequenceClassification

            def train(model, loader):
                no_decay = ["bias", "LayerNorm.weight"]
                groups = [
                    {"params": [p for n, p in model.named_parameters() if not any(nd in n for nd in no_decay)], "weight_decay": 0.01},
                    {"params": [p for n, p in model.named_parameters() if any(nd in n for nd in no_decay)], "weight_decay": 0.0},
                ]
                optimizer = torch.optim.AdamW(groups, lr=2e-5)
                for batch in loader:
                    model(**batch).loss.backward()
                    optimizer.step()

            model = AutoModelForSequenceClassification.from_pretrained("roberta-large", num_labels=3)
            train(model, loader)
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="`roberta-large`",
        ),
    ]

    def check(self, ctx: Context) -> None:
        semantic = ctx.semantic
        # A finding needs a pretrained source somewhere in the file: cheaper to rule out first
        # than what trains (model_source answers are remembered and shared with GL602).
        maybe = source_callees(semantic)
        if not any(maybe(c) and (s := model_source(semantic, c)) is not None and s.pretrained for c in semantic.nodes(ast.Call)):
            return
        items = trainings(semantic)
        if not items or freezing_evidence(semantic) is not None:
            return
        reported: set[int] = set()
        for training in items:
            if not training.all_parameters or id(training.call) in reported:
                continue
            sources = sources_in(semantic, training.holder)
            pretrained = [s for s in sources if s.pretrained]
            if not pretrained or len(pretrained) != len(sources):
                continue  # nothing pretrained, or a pretrained and a fresh model (distillation, GANs)
            source = max(pretrained, key=lambda s: s.params or 0.0)
            if not self._large_enough(pretrained):
                continue
            if any(_frozen_by_use(semantic, s) for s in pretrained):
                continue
            reported.add(id(training.call))
            size = describe_size(source.label) or "size not shown in the code"
            spelled = ast.unparse(training.call.func)
            what = f"`{spelled}(...)`" if len(spelled) <= 40 else "This optimizer"
            ctx.report(
                training.call,
                f"{what} trains every parameter of the pretrained {source.spelled} (line {source.call.lineno}; {size}), "
                "and nothing in this file freezes parameters or adds PEFT/LoRA adapters; when the task is close to the "
                "pretraining one, a frozen backbone or adapters need far less backward compute and optimizer memory",
                Fix(
                    Applicability.DISPLAY_ONLY,
                    "Freeze the backbone (`backbone.requires_grad_(False)`) and give the optimizer only the trainable "
                    "parameters, or train LoRA adapters with `peft`; check the accuracy on a validation set",
                ),
            )

    def _large_enough(self, sources: list[Source]) -> bool:
        sizes = [s.params for s in sources]
        if any(size is not None and size >= self.settings["min-params"] for size in sizes):
            return True
        return self.settings["unknown-size"] and all(size is None for size in sizes)


def _frozen_by_use(semantic: SemanticModel, source: Source) -> bool:
    """The backbone is only used as a fixed feature extractor: its forward runs under
    `torch.no_grad()` in a scope that trains, or it is put in `.eval()` and never in `.train()`."""
    stmt = semantic.enclosing_statement(source.call)
    if not isinstance(stmt, (ast.Assign, ast.AnnAssign)):
        return False
    targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
    names = {ast.unparse(t) for t in targets if isinstance(t, (ast.Name, ast.Attribute))}
    if not names:
        return False
    evals = trains = False
    for call in semantic.nodes(ast.Call):
        func = call.func
        if isinstance(func, ast.Attribute) and ast.unparse(func.value) in names:
            if func.attr == "eval":
                evals = True
            elif func.attr == "train":
                trains = True
            elif func.attr in ("forward", "encode", "extract_features", "forward_features") and semantic.is_grad_disabled(call):
                return True
        elif ast.unparse(func) in names and semantic.is_grad_disabled(call):
            scope = semantic.enclosing_function(call) or semantic.tree
            if semantic.uses_autograd(scope):
                return True
    return evals and not trains and not any(_TRAINERS.match(semantic.call_name(t.call) or "") for t in trainings(semantic))
