"""GL506 cudnn-autotuner-off: a CUDA convnet trained without `torch.backends.cudnn.benchmark =
True`, or `torch.backends.cudnn.deterministic = True` switched on outside tests."""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING

from greenlint.diagnostics import Applicability, Fix
from greenlint.rules._cuda_loops import (
    cuda_loops,
    identifiers,
    imports_package,
    in_function_named,
    loop_header,
)
from greenlint.rules.base import INCLUDE_TESTS, Invalid, Rule, Valid, register
from greenlint.semantic import FUNCTION_NODES, SemanticModel

if TYPE_CHECKING:
    from greenlint.engine import Context

_CONV_LAYERS = frozenset(
    f"torch.nn.{name}"
    for name in ("Conv2d", "Conv3d", "ConvTranspose2d", "ConvTranspose3d", "LazyConv2d", "LazyConv3d", "LazyConvTranspose2d", "LazyConvTranspose3d")
)
# Classification CNNs from torchvision / timm (fixed-size crops); detection models take
# variable image sizes and are left out.
_CNN_NAME = re.compile(
    r"^(resnet|resnext|wide_resnet|vgg|densenet|mobilenet|efficientnet|convnext|regnet|squeezenet|shufflenet|mnasnet"
    r"|alexnet|googlenet|inception|resnest|res2net|dpn|xception|ghostnet|cspresnet|cspdarknet|darknet|hrnet|nfnet|rexnet|dla)",
    re.IGNORECASE,
)
# Input sizes that change from batch to batch: the autotuner re-benchmarks every new shape.
_VARIABLE_SHAPES = re.compile(
    r"(?i)^(pad_sequence|pack_padded_sequence|pad_packed_sequence|pack_sequence|multi_?scale\w*|random_?resize\w*"
    r"|imgsz|img_sizes|image_sizes|bucket\w*|dynamic_shape\w*|variable_size\w*)$"
)
_DETECTION_PACKAGES = ("mmdet", "detectron2", "ultralytics", "yolov5", "effdet", "torchaudio", "speechbrain")
_DETERMINISM_PURPOSE = re.compile(r"(?i)determinis|reproduc")
_CUDA_TEST = re.compile(r"(?i)cuda|gpu")
# Layers cuDNN runs, whose kernel choice `deterministic = True` restricts.
_CUDNN_LAYERS = _CONV_LAYERS | frozenset(
    f"torch.nn.{name}" for name in ("Conv1d", "ConvTranspose1d", "LazyConv1d", "RNN", "LSTM", "GRU")
)


@register
class CudnnAutotunerOff(Rule):
    """
    ## What it does
    Flags a CUDA training loop of a convolutional network in a file that never sets
    `torch.backends.cudnn.benchmark`, and an unconditional `torch.backends.cudnn.deterministic =
    True` outside tests.

    ## Fix
    None automatic (display-only): set `torch.backends.cudnn.benchmark = True` before training
    when input shapes are fixed; drop `deterministic = True` unless bit-reproducibility is needed.
    """

    code = "GL506"
    name = "cudnn-autotuner-off"
    summary = "Fixed-shape CUDA convnet trained without cudnn.benchmark, or cudnn.deterministic left on"
    # Large on older GPUs (reported), nil in greenlint's own H200 check: low until measured otherwise.
    impact = "low"
    evidence = "speechbrain PR #294: V100 17 -> 12 min/epoch, 1080 Ti 60 -> 25 min/epoch with cudnn.benchmark; greenlint on an H200 (cuDNN 9): no difference."
    frameworks = ("torch",)
    # `cudnn.deterministic = True`, or a convnet (the check below needs "Conv", "models" or
    # "create_model" in the text before it looks for one).
    requires = ("deterministic", "Conv", "models", "create_model")
    fix_applicability = Applicability.DISPLAY_ONLY
    options = {"include-tests": INCLUDE_TESTS}

    VALID = [
        Valid(
            """
            import torch
            from torch import nn

            torch.backends.cudnn.benchmark = True
            model = nn.Sequential(nn.Conv2d(3, 16, 3), nn.ReLU(), nn.Flatten(), nn.LazyLinear(10)).cuda()
            for x, y in loader:
                loss = nn.functional.cross_entropy(model(x.cuda()), y.cuda())
                loss.backward()
                optimizer.step()
            """,
            why="autotuner on",
        ),
        Valid(
            """
            import torch
            from torch import nn

            torch.backends.cudnn.benchmark = False  # input sizes vary with the dataset
            model = nn.Conv2d(3, 16, 3).cuda()
            for x, y in loader:
                model(x.cuda()).mean().backward()
                optimizer.step()
            """,
            why="set explicitly: the author chose",
        ),
        Valid(
            """
            import torch
            from torch import nn

            model = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 4)).cuda()
            for x, y in loader:
                nn.functional.cross_entropy(model(x.cuda()), y.cuda()).backward()
                optimizer.step()
            """,
            why="no convolutions: cuDNN's autotuner has nothing to pick",
        ),
        Valid(
            """
            import torch
            from torch import nn
            from torch.nn.utils.rnn import pad_sequence

            model = nn.Sequential(nn.Conv2d(1, 8, 3), nn.Flatten(), nn.LazyLinear(2)).cuda()
            for batch in loader:
                x = pad_sequence(batch).unsqueeze(1)
                model(x.cuda()).sum().backward()
                optimizer.step()
            """,
            why="padded to each batch's length: shapes change every step",
        ),
        Valid(
            """
            import torch
            from torch import nn

            model = nn.Conv2d(3, 16, 3).cuda().eval()
            with torch.no_grad():
                for x in loader:
                    print(model(x.cuda()).shape)
            """,
            why="inference only: the rule looks at training loops",
        ),
        Valid(
            """
            import random
            import numpy as np
            import torch

            def set_seed(seed, deterministic=False):
                random.seed(seed)
                np.random.seed(seed)
                torch.manual_seed(seed)
                if deterministic:
                    torch.backends.cudnn.deterministic = True
                    torch.backends.cudnn.benchmark = False
            """,
            why="determinism behind a flag",
        ),
        Valid(
            """
            import random
            import torch
            from torch import nn

            def main(args):
                if args.seed is not None:
                    random.seed(args.seed)
                    torch.manual_seed(args.seed)
                    torch.backends.cudnn.deterministic = True
                model = nn.Conv2d(3, 8, 3).cuda()
            """,
            why="determinism only when the user asks for a seeded run",
        ),
        Valid(
            """
            import torch
            from torch import nn

            def set_seed(seed):
                torch.manual_seed(seed)
                torch.cuda.manual_seed_all(seed)
                torch.backends.cudnn.deterministic = True

            head = nn.Sequential(nn.Linear(1024, 256), nn.ReLU(), nn.Linear(256, 4)).cuda()
            """,
            why="no convolution or recurrent layer in sight: the flag restricts nothing here",
        ),
        Valid(
            """
            import torch

            def make_deterministic():
                torch.backends.cudnn.deterministic = True
                torch.backends.cudnn.benchmark = False
            """,
            why="a function whose purpose is determinism, called when wanted",
        ),
        Valid(
            """
            import torch

            torch.backends.cudnn.deterministic = True
            """,
            filename="tests/conftest.py",
            why="test configuration",
        ),
        Valid(
            """
            import torch
            import lightning as L
            from torch import nn

            class Net(L.LightningModule):
                def __init__(self):
                    super().__init__()
                    self.conv = nn.Conv2d(3, 8, 3)

            L.Trainer(accelerator="gpu", benchmark=True).fit(Net())
            """,
            why="Lightning: benchmark is a Trainer argument",
        ),
    ]
    INVALID = [
        Invalid(
            """
            import torch
            from torch import nn

            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.conv = nn.Conv2d(3, 32, 3, padding=1)
                    self.head = nn.Linear(32, 10)

                def forward(self, x):
                    return self.head(self.conv(x).mean((2, 3)))

            def train(loader, epochs=10):
                model = Net().cuda()
                optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
                for epoch in range(epochs):
                    for images, labels in loader:
                        optimizer.zero_grad()
                        loss = nn.functional.cross_entropy(model(images.cuda()), labels.cuda())
                        loss.backward()
                        optimizer.step()
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="cudnn.benchmark",
        ),
        Invalid(
            """
            import torch
            import torchvision

            device = "cuda"
            model = torchvision.models.resnet18(num_classes=10).to(device)
            for step, (x, y) in enumerate(train_loader):
                loss = torch.nn.functional.cross_entropy(model(x.to(device)), y.to(device))
                loss.backward()
                optimizer.step()
            """,
            applicability=Applicability.DISPLAY_ONLY,
        ),
        Invalid(
            """
            import random
            import numpy as np
            import torch

            from torch import nn

            def set_seed(seed):
                random.seed(seed)
                np.random.seed(seed)
                torch.manual_seed(seed)
                if torch.cuda.is_available():
                    torch.cuda.manual_seed_all(seed)
                    torch.backends.cudnn.deterministic = True
                    torch.backends.cudnn.benchmark = False

            class Encoder(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.conv = nn.Conv1d(80, 256, 5)
                    self.rnn = nn.LSTM(256, 256, batch_first=True)
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="deterministic",
        ),
        Invalid(
            """
            import torch.backends.cudnn as cudnn
            from torch import nn

            cudnn.deterministic = True
            model = nn.Conv2d(3, 8, 3).cuda()
            for x, y in loader:
                model(x.cuda()).sum().backward()
                optimizer.step()
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="deterministic",
        ),
    ]

    def check(self, ctx: Context) -> None:
        semantic = ctx.semantic
        # Cheap text checks first: most files never name these switches or train a convnet.
        mentions = "deterministic" in ctx.text or "benchmark" in ctx.text
        flags = _cudnn_flags(semantic, ctx.text) if mentions else {"benchmark": False, "deterministic": False, "deterministic_on": []}
        for node in flags["deterministic_on"]:
            ctx.report(
                node,
                "`cudnn.deterministic = True` makes cuDNN use only its deterministic kernels, often slower ones, "
                "for every convolution of the run; keep it for reproducibility checks, not for production training",
                Fix(Applicability.DISPLAY_ONLY, "Remove it, or set it only behind a `--deterministic` flag", changes_numerics=True),
            )
        if flags["benchmark"] or flags["deterministic"]:
            return
        if "Conv" not in ctx.text and "models" not in ctx.text and "create_model" not in ctx.text:
            return
        training = [loop for loop in cuda_loops(semantic) if loop.kind == "training"]
        if not training or not _has_conv(semantic) or _variable_shapes(semantic):
            return
        ctx.report(
            loop_header(training[0].node),
            "this CUDA training loop runs convolutions with `torch.backends.cudnn.benchmark` off: cuDNN picks its "
            "kernels by heuristic instead of timing them once per input shape; with fixed input sizes, turn it on",
            Fix(
                Applicability.DISPLAY_ONLY,
                "Set `torch.backends.cudnn.benchmark = True` before training when input shapes are fixed",
                changes_numerics=True,
            ),
        )


def _cudnn_flags(semantic: SemanticModel, text: str) -> dict:
    """Where the file touches cuDNN's switches: `benchmark` (any mention, or a `benchmark=`
    keyword), `deterministic` (any mention, or `use_deterministic_algorithms`), and the
    unconditional `cudnn.deterministic = True` statements that the rule reports."""
    benchmark = deterministic = False
    # An identifier is spelled in the text, so a word absent from it needs no look.
    if "benchmark" in text:
        benchmark = any(k.arg == "benchmark" for node in (*semantic.nodes(ast.Call), *semantic.nodes(ast.ClassDef)) for k in node.keywords) or any(
            node.attr == "benchmark" and _under_cudnn(semantic, node) for node in semantic.nodes(ast.Attribute)
        )
    if "deterministic" in text:
        deterministic = any(node.attr == "deterministic" and _under_cudnn(semantic, node) for node in semantic.nodes(ast.Attribute)) or (
            "use_deterministic_algorithms" in text and any(word == "use_deterministic_algorithms" for word, _ in identifiers(semantic))
        )
    reported = []
    candidates = [
        node
        for node in semantic.nodes(ast.Assign)
        if isinstance(node.value, ast.Constant) and node.value.value is True and any(isinstance(t, ast.Attribute) and t.attr == "deterministic" for t in node.targets)
    ]
    if not candidates or not _has_conv(semantic, _CUDNN_LAYERS):
        return {"benchmark": benchmark, "deterministic": deterministic, "deterministic_on": reported}
    for node in candidates:
        for target in node.targets:
            if isinstance(target, ast.Attribute) and semantic.qualified_name(target) == "torch.backends.cudnn.deterministic":
                if not _guarded(semantic, node) and not in_function_named(semantic, node, _DETERMINISM_PURPOSE):
                    reported.append(target)
    return {"benchmark": benchmark, "deterministic": deterministic, "deterministic_on": reported}


def _under_cudnn(semantic: SemanticModel, node: ast.AST) -> bool:
    """`cudnn.benchmark`, `torch.backends.cudnn.benchmark`, `backends.cudnn.deterministic`."""
    if not isinstance(node, ast.Attribute):
        return False
    qualified = semantic.qualified_name(node)
    if qualified is not None:
        return qualified.startswith("torch.backends.cudnn.")
    value = node.value
    return (isinstance(value, ast.Attribute) and value.attr == "cudnn") or (isinstance(value, ast.Name) and value.id == "cudnn")


def _guarded(semantic: SemanticModel, node: ast.AST) -> bool:
    """Under an `if` within its function (a `--deterministic` or `--seed` option); a test
    that only asks whether CUDA is there (`if torch.cuda.is_available():`) is no opt-in."""
    for ancestor in semantic.ancestors(node):
        if isinstance(ancestor, FUNCTION_NODES):
            return False
        if isinstance(ancestor, (ast.If, ast.IfExp)) and not _CUDA_TEST.search(ast.unparse(ancestor.test)):
            return True
        if isinstance(ancestor, ast.Match):
            return True
    return False


def _has_conv(semantic: SemanticModel, layers: frozenset[str] = _CONV_LAYERS) -> bool:
    """The file builds convolutions (or, with `layers`, other cuDNN layers) or a CNN from
    torchvision / timm."""
    for call in semantic.nodes(ast.Call):
        name = semantic.qualified_name(call.func)
        if name is None:
            continue
        if name in layers:
            return True
        if name.startswith("torchvision.models.") and name.count(".") == 2 and _CNN_NAME.match(name.rsplit(".", 1)[-1]):
            return True
        if name == "timm.create_model" and call.args:
            first = call.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str) and _CNN_NAME.match(first.value):
                return True
    return False


def _variable_shapes(semantic: SemanticModel) -> bool:
    if imports_package(semantic, _DETECTION_PACKAGES):
        return True
    if any(name.startswith("torchvision.models.detection") for name in _qualified_calls(semantic)):
        return True
    return any(_VARIABLE_SHAPES.match(word) for word, _ in identifiers(semantic))


def _qualified_calls(semantic: SemanticModel) -> list[str]:
    return [n for n in (semantic.qualified_name(c.func) for c in semantic.nodes(ast.Call)) if n is not None]
