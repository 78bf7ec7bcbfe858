"""GL602 train-from-scratch: a standard architecture for which pretrained weights exist is built
with random weights (`weights=None`, `pretrained=False`, `from_config`) and then trained."""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING

from greenlint.diagnostics import Applicability, Fix
from greenlint.rules.base import INCLUDE_TESTS, Invalid, Rule, Valid, register
from greenlint.rules.gl505_full_finetune_no_freeze import (
    Source,
    model_source,
    peel,
    source_callees,
    sources_in,
    trainings,
    values_of,
)
from greenlint.semantic import SemanticModel

if TYPE_CHECKING:
    from greenlint.engine import Context

# Config fields that change the architecture's shape or input: pretrained weights no longer fit.
_ARCHITECTURE_FIELDS = frozenset(
    {
        "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "n_layer", "n_embd",
        "n_head", "n_inner", "d_model", "d_ff", "d_kv", "num_layers", "num_heads", "encoder_layers",
        "decoder_layers", "encoder_attention_heads", "decoder_attention_heads", "encoder_ffn_dim",
        "decoder_ffn_dim", "dim", "n_layers", "n_heads", "hidden_dim", "embed_dim", "embedding_size",
        "hidden_sizes", "depths", "num_channels", "image_size", "patch_size", "vocab_size",
        "max_position_embeddings", "num_key_value_heads", "num_experts", "n_positions", "type_vocab_size",
    }
)
_DATA_CALLS = ("torch.utils.data.", "torchvision.datasets.", "datasets.load_dataset", "datasets.load_from_disk",
               "tensorflow.keras.datasets.", "keras.datasets.", "tensorflow.data.", "tensorflow.keras.utils.image_dataset_from_directory",
               "keras.utils.image_dataset_from_directory", "tensorflow_datasets.load")
_DATA_NAME = re.compile(r"loader|dataset|datamodule|data_module", re.IGNORECASE)
_INIT_NAME = re.compile(r"init|reset_parameters", re.IGNORECASE)
_LOADERS = frozenset({"load_state_dict", "load_weights", "load_checkpoint", "load_pretrained", "load_model", "set_weights", "load_adapter"})
_SUGGESTION = {
    "torchvision": 'pass `weights="DEFAULT"` and replace the classifier head for your classes',
    "timm": "pass `pretrained=True` (timm resizes the classifier for `num_classes`)",
    "transformers": "load it with `from_pretrained(...)` from a checkpoint of this architecture",
    "keras": 'pass `weights="imagenet"` with `include_top=False` and add your own head',
}


@register
class TrainFromScratch(Rule):
    """
    ## What it does
    Flags a standard architecture (torchvision, timm, Hugging Face task models, Keras
    Applications) built with random weights and then trained in the same file, when pretrained
    weights for it exist and nothing loads them.

    ## Fix
    None automatic: start from the pretrained weights and fine-tune.
    """

    code = "GL602"
    name = "train-from-scratch"
    summary = "A standard architecture with published pretrained weights is trained from random initialisation"
    impact = "medium"
    evidence = "Luccioni et al. (FAccT 2024, A100): BLOOMz training 10,505-51,686 kWh vs fine-tuning 543-7,571 kWh per model size."
    frameworks = ("torch", "torchvision", "timm", "transformers", "keras", "tensorflow")
    # A finding is a from-scratch source (model_source): `from_config` or a class of transformers,
    # timm's `create_model`, a torchvision.models builder, a Keras `applications` model.
    requires = ("from_config", "transformers", "create_model", "torchvision", "applications")
    fix_applicability = Applicability.DISPLAY_ONLY
    options = {"include-tests": INCLUDE_TESTS}

    VALID = [
        Valid(
            """
            import torch
            import torchvision
            from torch.utils.data import DataLoader

            model = torchvision.models.resnet50(weights="IMAGENET1K_V2")
            model.fc = torch.nn.Linear(2048, 10)
            optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
            loader = DataLoader(train_set, batch_size=64)
            """,
            why="pretrained weights",
        ),
        Valid(
            """
            import torch
            import torchvision
            from torch.utils.data import DataLoader

            model = torchvision.models.resnet18(weights=None, num_classes=10)
            model.load_state_dict(torch.load("resnet18_cifar.pt"))
            optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
            loader = DataLoader(train_set, batch_size=64)
            """,
            why="weights are loaded after construction",
        ),
        Valid(
            """
            import torch
            import torchvision

            model = torchvision.models.resnet18(weights=None, num_classes=10).eval()
            with torch.no_grad():
                print(model(torch.randn(1, 3, 224, 224)).shape)
            """,
            why="not trained: a shape check",
        ),
        Valid(
            """
            import timm
            import torch
            from torch.utils.data import DataLoader

            model = timm.create_model("resnet50", pretrained=args.pretrained, num_classes=10)
            optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
            loader = DataLoader(train_set, batch_size=64)
            """,
            why="pretrained is chosen at run time",
        ),
        Valid(
            """
            import torch
            from torch.utils.data import DataLoader
            from transformers import BertConfig, BertForSequenceClassification

            config = BertConfig(hidden_size=128, num_hidden_layers=2, num_attention_heads=2, intermediate_size=512)
            model = BertForSequenceClassification(config)
            optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
            loader = DataLoader(train_set, batch_size=32)
            """,
            why="a custom-sized architecture: no pretrained weights exist for it",
        ),
        Valid(
            """
            import torch
            from torch.utils.data import DataLoader
            from transformers import AutoConfig, AutoModelForCausalLM

            config = AutoConfig.from_pretrained("gpt2")
            model = AutoModelForCausalLM.from_config(config)
            optimizer = torch.optim.AdamW(model.parameters(), lr=6e-4)
            loader = DataLoader(corpus, batch_size=8)
            """,
            why="language-model pretraining is itself what pretrained weights come from",
        ),
        Valid(
            """
            import torch
            import torchvision
            from torch.utils.data import DataLoader

            def init_weights(m):
                if isinstance(m, torch.nn.Conv2d):
                    torch.nn.init.orthogonal_(m.weight)

            model = torchvision.models.resnet18(weights=None, num_classes=10)
            model.apply(init_weights)
            optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
            loader = DataLoader(train_set, batch_size=128)
            """,
            why="the code studies initialisation",
        ),
        Valid(
            """
            import torch
            import torchvision
            from torch.utils.data import DataLoader

            teacher = torchvision.models.resnet50(weights="DEFAULT").eval()
            student = torchvision.models.resnet18(weights=None)
            optimizer = torch.optim.SGD(student.parameters(), lr=0.1)
            loader = DataLoader(train_set, batch_size=128)
            """,
            why="a pretrained model is used too (distillation, or a choice between the two)",
        ),
        Valid(
            """
            import torch
            import torchvision

            model = torchvision.models.resnet50(weights=None).cuda()
            optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
            x = torch.randn(64, 3, 224, 224, device="cuda")
            for _ in range(100):
                optimizer.zero_grad()
                model(x).sum().backward()
                optimizer.step()
            """,
            why="no data set: a synthetic throughput benchmark",
        ),
        Valid(
            """
            import torch
            import torchvision
            from torch.utils.data import DataLoader

            model = torchvision.models.detection.fasterrcnn_resnet50_fpn(weights=None, weights_backbone="DEFAULT", num_classes=3)
            optimizer = torch.optim.SGD(model.parameters(), lr=0.005)
            loader = DataLoader(train_set, batch_size=4)
            """,
            why="the backbone is pretrained; only the detection heads start random",
        ),
        Valid(
            """
            import torch
            from torch.utils.data import DataLoader
            from torchvision.models.segmentation import deeplabv3_resnet50

            model = deeplabv3_resnet50(weights=None, num_classes=5)
            model.backbone.conv1 = torch.nn.Conv2d(4, 64, kernel_size=7, stride=2, padding=3, bias=False)
            optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
            loader = DataLoader(multispectral_tiles, batch_size=8)
            """,
            why="4-band imagery: the stem is replaced, ImageNet weights fit less well",
        ),
        Valid(
            """
            import timm
            import torch
            from torch.utils.data import DataLoader

            try:
                model = timm.create_model("convnext_tiny", pretrained=args.pretrained, num_classes=10)
            except Exception:
                model = timm.create_model("convnext_tiny", pretrained=False, num_classes=10)
            optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
            loader = DataLoader(train_set, batch_size=64)
            """,
            why="random weights only as a fallback of a run-time choice",
        ),
        Valid(
            """
            import torch
            import torchvision
            from torch.utils.data import DataLoader

            model = torchvision.models.resnet50(weights=None, num_classes=1000)
            optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
            loader = DataLoader(torchvision.datasets.ImageFolder("imagenet/train"), batch_size=256)
            """,
            why="ImageNet-1k from scratch: this is how pretrained weights are made",
        ),
    ]
    INVALID = [
        Invalid(
            """
            import torch
            import torchvision
            from torch.utils.data import DataLoader

            model = torchvision.models.resnet50(weights=None, num_classes=10)
            optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
            loader = DataLoader(train_set, batch_size=128, shuffle=True)
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="`resnet50`",
        ),
        Invalid(
            """
            import timm
            import torch
            from torch.utils.data import DataLoader

            model = timm.create_model("convnext_tiny", pretrained=False, num_classes=37).cuda()
            opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
            for x, y in DataLoader(pets, batch_size=64):
                opt.zero_grad()
                torch.nn.functional.cross_entropy(model(x.cuda()), y.cuda()).backward()
                opt.step()
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="pass `pretrained=True`",
        ),
        Invalid(
            """
            from datasets import load_dataset
            from transformers import AutoConfig, AutoModelForSequenceClassification, Trainer, TrainingArguments

            config = AutoConfig.from_pretrained("bert-base-uncased", num_labels=2)
            model = AutoModelForSequenceClassification.from_config(config)
            dataset = load_dataset("imdb")
            trainer = Trainer(model=model, args=TrainingArguments("out"), train_dataset=dataset["train"])
            trainer.train()
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="from_pretrained",
        ),
        Invalid(
            """
            import tensorflow as tf

            (x_train, y_train), _ = tf.keras.datasets.cifar10.load_data()
            model = tf.keras.applications.ResNet50(weights=None, input_shape=(32, 32, 3), classes=10)
            model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
            model.fit(x_train, y_train, epochs=30)
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="`ResNet50`",
        ),
        Invalid(
            """
            import lightning as L
            import torch
            from torchvision import models

            class Classifier(L.LightningModule):
                def __init__(self, num_classes):
                    super().__init__()
                    self.net = models.efficientnet_b0(weights=None, num_classes=num_classes)

                def configure_optimizers(self):
                    return torch.optim.Adam(self.parameters(), lr=1e-3)

            class Data(L.LightningDataModule):
                pass
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="`efficientnet_b0`",
        ),
    ]

    def check(self, ctx: Context) -> None:
        semantic = ctx.semantic
        # The model sources first: a file without a from-scratch architecture (most) needs no
        # look for what trains.
        maybe = source_callees(semantic)
        sources = [s for s in (model_source(semantic, c) for c in semantic.nodes(ast.Call) if maybe(c)) if s is not None]
        scratch = [s for s in sources if not s.pretrained and s.task_head]
        if not scratch or any(s.pretrained for s in sources):
            return
        items = trainings(semantic)
        fits = [c for c in semantic.nodes(ast.Call) if isinstance(c.func, ast.Attribute) and c.func.attr in ("fit", "fit_generator")]
        if not items and not fits:
            return
        if not _has_data(semantic) or _studies_initialisation(semantic) or _non_rgb_input(semantic):
            return
        for source in scratch:
            label = f"`{source.label}`"
            if source.family == "transformers":
                label = _standard_config(semantic, source.call)
                if label is None:
                    continue
            if _fallback_or_alternative(semantic, source) or _pretraining_scale(semantic, source):
                continue
            trainer = _trained_by(semantic, source, items, fits)
            if trainer is None or _weights_loaded(semantic, source):
                continue
            how, line = trainer
            ctx.report(
                source.call,
                f"{_spell(source)} builds {label} with random weights and this file trains it ({how}, line {line}); "
                "pretrained weights exist for this architecture, and fine-tuning them usually reaches the same accuracy "
                f"with a fraction of the data and epochs: {_SUGGESTION[source.family]}",
                Fix(Applicability.DISPLAY_ONLY, f"Start from pretrained weights: {_SUGGESTION[source.family]}"),
            )


def _spell(source: Source) -> str:
    text = ast.unparse(source.call)
    if len(text) <= 60:
        return f"`{text}`"
    return f"`{ast.unparse(source.call.func)}(...)`"


def _trained_by(semantic: SemanticModel, source: Source, items, fits) -> tuple[str, int] | None:
    """The optimizer, trainer or `.fit()` that trains the model, and its line."""
    for training in items:
        if any(s.call is source.call for s in sources_in(semantic, training.holder)):
            return f"`{ast.unparse(training.call.func)}(...)`", training.call.lineno
    for call in fits:
        if any(s.call is source.call for s in sources_in(semantic, call.func.value)):
            return f"`.{call.func.attr}(...)`", call.lineno
    return None


def _has_data(semantic: SemanticModel) -> bool:
    """A real data set feeds the training: a DataLoader, a torchvision/HF/Keras data set, a
    Lightning data module, or a name that says loader/dataset. Synthetic benchmarks have none."""
    for call in semantic.nodes(ast.Call):
        name = semantic.call_name(call) or ""
        if name.startswith(_DATA_CALLS):
            return True
    for node in semantic.nodes(ast.Name):
        if _DATA_NAME.search(node.id):
            return True
    for node in semantic.nodes(ast.Attribute):
        if _DATA_NAME.search(node.attr):
            return True
    return any(_DATA_NAME.search(n.name) for n in semantic.nodes(ast.ClassDef)) or any(
        _DATA_NAME.search(k.arg or "") for c in semantic.nodes(ast.Call) for k in c.keywords
    )


def _studies_initialisation(semantic: SemanticModel) -> bool:
    """`torch.nn.init.*` calls, `model.apply(init_fn)`, `reset_parameters()`, `_init_weights`:
    the code controls the initialisation itself, likely on purpose."""
    for call in semantic.nodes(ast.Call):
        name = semantic.call_name(call) or ""
        if name.startswith(("torch.nn.init.", "tensorflow.keras.initializers.", "keras.initializers.")):
            return True
        func = call.func
        attr = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if attr == "reset_parameters" or "init_weights" in attr:
            return True
        if attr == "apply" and call.args and _INIT_NAME.search(ast.unparse(call.args[0])):
            return True
    return False


# Class counts of the data sets pretrained weights come from: ImageNet-1k, ImageNet-21k (full and
# processed), COCO detection. Training on them from scratch is producing pretrained weights.
_PRETRAINING_CLASSES = frozenset({1000, 21843, 11821, 91})


def _pretraining_scale(semantic: SemanticModel, source: Source) -> bool:
    """`num_classes=1000` (`classes=1000` in Keras) or an ImageNet data set in the file: the job
    reproduces the pretraining itself."""
    for keyword in source.call.keywords:
        if keyword.arg in ("num_classes", "classes", "num_labels"):
            value = keyword.value
            if isinstance(value, ast.Constant) and value.value in _PRETRAINING_CLASSES:
                return True
    for call in semantic.nodes(ast.Call):
        name = semantic.call_name(call) or ""
        if "imagenet" in name.rsplit(".", 1)[-1].lower() and name.startswith(("torchvision.datasets.", "timm.data.")):
            return True
    return False


def _fallback_or_alternative(semantic: SemanticModel, source: Source) -> bool:
    """Random weights as a fallback (`except` branch), or as one alternative of a run-time choice:
    the same variable is elsewhere assigned a model whose weights are not known to be random
    (`timm.create_model(name, pretrained=args.pretrained)`)."""
    if any(isinstance(a, ast.ExceptHandler) for a in semantic.ancestors(source.call)):
        return True
    stmt = semantic.enclosing_statement(source.call)
    targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target] if isinstance(stmt, ast.AnnAssign) else []
    for target in targets:
        if not isinstance(target, (ast.Name, ast.Attribute)):
            continue
        for value in values_of(semantic, target) or []:
            root = peel(value)
            if root is source.call or not isinstance(root, ast.Call):
                continue
            other = model_source(semantic, root)
            if other is None and _is_model_factory(semantic, root):
                return True
    return False


def _is_model_factory(semantic: SemanticModel, call: ast.Call) -> bool:
    name = semantic.call_name(call) or ""
    last = name.rsplit(".", 1)[-1]
    return name.startswith(("torchvision.models.", "timm.")) or last in ("from_pretrained", "from_config", "create_model")


_CHANNEL_KEYWORDS = ("in_chans", "in_channels", "num_channels", "input_channels")
_CONVOLUTIONS = frozenset({"torch.nn.Conv1d", "torch.nn.Conv2d", "torch.nn.Conv3d"})


def _non_rgb_input(semantic: SemanticModel) -> bool:
    """Inputs that are not 3-channel images, where ImageNet weights fit less well: an
    architecture built with `in_chans=1`, or a convolution with 1, 2 or 4-15 input channels
    (a replaced stem for grey-scale, multispectral or medical images)."""
    for call in semantic.nodes(ast.Call):
        name = semantic.call_name(call) or ""
        values = [k.value for k in call.keywords if k.arg in _CHANNEL_KEYWORDS]
        if name in _CONVOLUTIONS and call.args:
            values.append(call.args[0])
        for value in values:
            if isinstance(value, ast.Constant) and type(value.value) is int and value.value != 3 and value.value < 16:
                return True
    return False


def _weights_loaded(semantic: SemanticModel, source: Source) -> bool:
    """A later `load_state_dict`/`load_weights`/`load_checkpoint(model, ...)` on the model or
    anything built around it (resuming or initialising from a checkpoint)."""
    for call in semantic.nodes(ast.Call):
        func = call.func
        attr = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if attr not in _LOADERS:
            continue
        candidates = [func.value] if isinstance(func, ast.Attribute) else []
        candidates += [a for a in call.args[:1] if not isinstance(a, ast.Starred)]
        for candidate in candidates:
            root = peel(candidate)
            while isinstance(root, ast.Attribute) and not (isinstance(root.value, ast.Name) and root.value.id == "self"):
                root = root.value  # `model.backbone.load_state_dict` loads into `model`
            if any(s.call is source.call for s in sources_in(semantic, root)):
                return True
    return False


def _standard_config(semantic: SemanticModel, call: ast.Call) -> str | None:
    """How to name the published architecture a Hugging Face model is built from ("the
    `bert-base-uncased` architecture", "`BertConfig`'s default architecture"), or None when the
    config is not a published one: it must be read from a checkpoint
    (`AutoConfig.from_pretrained("bert-base-uncased")`) or be a config class's defaults, with no
    architecture field changed (layers, widths, heads, vocabulary, input)."""
    config = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "config"), None)
    if config is None:
        return None
    values = [config]
    if isinstance(config, ast.Name):
        values = values_of(semantic, config) or []
        if len(values) != 1 or _fields_assigned(semantic, config.id):
            return None
    value = values[0]
    if not isinstance(value, ast.Call):
        return None
    name = semantic.call_name(value) or ""
    if not name.startswith("transformers.") or any(k.arg in _ARCHITECTURE_FIELDS or k.arg is None for k in value.keywords):
        return None
    if name.endswith(".from_pretrained") and name.rsplit(".", 2)[-2].endswith("Config"):
        checkpoint = value.args[0] if value.args else None
        if isinstance(checkpoint, ast.Constant) and isinstance(checkpoint.value, str):
            return f"the `{checkpoint.value}` architecture"
        return "a published architecture (its config is read from a checkpoint)"
    last = name.rsplit(".", 1)[-1]
    if last.endswith("Config") and not value.args:
        return f"`{last}`'s default architecture"
    return None


def _fields_assigned(semantic: SemanticModel, name: str) -> bool:
    """`config.num_hidden_layers = 4` somewhere in the file."""
    for node in semantic.nodes(ast.Assign):
        for target in node.targets:
            if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == name:
                if target.attr in _ARCHITECTURE_FIELDS:
                    return True
    return False
