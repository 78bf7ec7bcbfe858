"""GL603 over-parallel-inference: inference spread over several GPUs with `nn.DataParallel`, or a
model that fits one GPU split across several (`device_map="auto"`, vLLM tensor parallelism)."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from greenlint.diagnostics import Applicability, Fix
from greenlint.rules.base import INCLUDE_TESTS, Invalid, Option, Rule, Valid, register
from greenlint.rules.gl505_full_finetune_no_freeze import (
    checkpoint_name,
    checkpoint_params,
    describe_size,
    file_trains,
    peel,
)
from greenlint.semantic import SemanticModel, forward_target

if TYPE_CHECKING:
    from greenlint.engine import Context

_DATA_PARALLEL = frozenset(
    {"torch.nn.DataParallel", "torch.nn.parallel.DataParallel", "torch.nn.parallel.data_parallel.DataParallel"}
)
_DATA_PARALLEL_FUNCTION = frozenset({"torch.nn.parallel.data_parallel", "torch.nn.parallel.data_parallel.data_parallel"})
# device_map values that spread a model over every visible GPU ("sequential" fills GPU 0 first).
_SPREADING_MAPS = frozenset({"auto", "balanced", "balanced_low_0"})
_VLLM = frozenset({"vllm.LLM", "vllm.entrypoints.llm.LLM", "vllm.AsyncEngineArgs", "vllm.EngineArgs"})
_CALLEES = _DATA_PARALLEL | _DATA_PARALLEL_FUNCTION | _VLLM
_CALLEE_LAST = frozenset(name.rsplit(".", 1)[-1] for name in _CALLEES)


@register
class OverParallelInference(Rule):
    """
    ## What it does
    Flags `nn.DataParallel` in code that only runs inference, and a model that fits one GPU
    loaded with `device_map="auto"` (or vLLM `tensor_parallel_size > 1`) for inference.

    ## Fix
    None automatic: run the model on one GPU (one process per GPU for more throughput).
    """

    code = "GL603"
    name = "over-parallel-inference"
    summary = "Inference of a model that fits one GPU is spread over several (DataParallel, device_map, tensor parallelism)"
    impact = "low"
    evidence = "Fernandez et al. 2025 (Llama-3.1-8B): tensor parallelism over 2/4 GPUs cut latency 40%/61% but raised energy 29%/55% at batch 1."
    frameworks = ("torch", "transformers", "vllm")
    # Each finding names its trigger: `DataParallel`/`data_parallel`, the `device_map` keyword, or
    # vLLM's `tensor_parallel_size`/`pipeline_parallel_size` keyword.
    requires = ("DataParallel", "data_parallel", "device_map", "parallel_size")
    fix_applicability = Applicability.DISPLAY_ONLY
    options = {
        "include-tests": INCLUDE_TESTS,
        "max-params": Option(
            int, 3000, "Largest model (million parameters, read from its name) taken to fit one GPU, for device_map and tensor-parallel findings"
        ),
    }

    VALID = [
        Valid(
            """
            import torch

            model = torch.nn.DataParallel(Net()).cuda()
            optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
            for x, y in loader:
                optimizer.zero_grad()
                torch.nn.functional.cross_entropy(model(x), y).backward()
                optimizer.step()
            """,
            why="training: DataParallel's gradient reduction is what it is for (PyTorch prefers DDP, another matter)",
        ),
        Valid(
            """
            import torch

            model = Net().cuda().eval()
            with torch.no_grad():
                predictions = [model(x.cuda()).argmax(1) for x in loader]
            """,
            why="one GPU",
        ),
        Valid(
            """
            import torch
            from transformers import AutoModelForCausalLM

            model = AutoModelForCausalLM.from_pretrained("meta-llama/Llama-2-70b-hf", device_map="auto")
            with torch.no_grad():
                out = model.generate(**inputs)
            """,
            why="a 70B model needs several GPUs",
        ),
        Valid(
            """
            import torch
            from transformers import AutoModelForCausalLM

            model = AutoModelForCausalLM.from_pretrained(args.model, device_map="auto")
            out = model.generate(**inputs)
            """,
            why="size unknown: device_map may be needed",
        ),
        Valid(
            """
            import torch
            from transformers import AutoModelForCausalLM

            model = AutoModelForCausalLM.from_pretrained("gpt2", device_map="auto")
            optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
            """,
            why="the file trains",
        ),
        Valid(
            """
            import torch

            def wrap(model):
                return torch.nn.DataParallel(model)
            """,
            why="no sign of how the wrapped model is used",
        ),
        Valid(
            """
            import torch

            def build_model(cfg, for_eval):
                model = UNet(cfg.channels)
                if for_eval:
                    model.load_state_dict(torch.load(cfg.weights))
                    model.eval()
                if torch.cuda.device_count() > 1:
                    model = torch.nn.DataParallel(model)
                return model.cuda()
            """,
            why="eval() comes before the wrapping: a builder, likely used for training elsewhere",
        ),
        Valid(
            """
            from transformers import AutoModelForSequenceClassification

            model = AutoModelForSequenceClassification.from_pretrained("bert-base-uncased", device_map="sequential")
            print(model(**batch).logits)
            """,
            why='"sequential" fills the first GPU before using another',
        ),
        Valid(
            """
            import torch
            from transformers import AutoModelForCausalLM

            model = AutoModelForCausalLM.from_pretrained("gpt2", device_map="auto", max_memory={0: "2GiB", 1: "2GiB"})
            out = model.generate(**inputs)
            """,
            why="max_memory: the split is designed by hand",
        ),
    ]
    INVALID = [
        Invalid(
            """
            import torch
            from torch import nn

            model = nn.DataParallel(ResNet()).cuda()
            model.load_state_dict(torch.load("model.pt"))
            model.eval()
            with torch.no_grad():
                for images, _ in test_loader:
                    predictions.append(model(images.cuda()).argmax(1))
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="`nn.DataParallel(...)`",
        ),
        Invalid(
            """
            import torch

            class Predictor:
                def __init__(self, path):
                    self.model = torch.load(path)
                    if torch.cuda.device_count() > 1:
                        self.model = torch.nn.DataParallel(self.model)
                    self.model.eval()

                @torch.inference_mode()
                def predict(self, batch):
                    return self.model(batch)
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="only runs inference",
        ),
        Invalid(
            """
            from transformers import AutoModelForSequenceClassification

            model = AutoModelForSequenceClassification.from_pretrained("distilbert-base-uncased", device_map="auto")
            logits = model(**batch).logits
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message='`device_map="auto"`',
        ),
        Invalid(
            """
            from vllm import LLM, SamplingParams

            llm = LLM(model="facebook/opt-125m", tensor_parallel_size=4)
            outputs = llm.generate(prompts, SamplingParams(temperature=0.8))
            """,
            applicability=Applicability.DISPLAY_ONLY,
            message="`tensor_parallel_size=4`",
        ),
    ]

    def check(self, ctx: Context) -> None:
        semantic = ctx.semantic
        candidates = []
        aliases = {local for scope in semantic.scopes.values() for local, target in scope.imports.items() if target in _CALLEES}
        for call in semantic.nodes(ast.Call):
            # Resolve the callee only when its last name can be one of ours or it passes device_map.
            func = call.func
            if not (
                (func.attr in _CALLEE_LAST if isinstance(func, ast.Attribute) else isinstance(func, ast.Name) and func.id in aliases)
                or any(k.arg == "device_map" for k in call.keywords)
            ):
                continue
            name = semantic.call_name(call) or ""
            if name in _DATA_PARALLEL or name in _DATA_PARALLEL_FUNCTION or name in _VLLM:
                candidates.append((call, name))
            elif any(k.arg == "device_map" for k in call.keywords):
                candidates.append((call, name))
        # Drop, before the costly file_trains, what the checks below would pass over anyway.
        candidates = [(call, name) for call, name in candidates if _may_report(call, name)]
        if not candidates or file_trains(semantic):
            return
        for call, name in candidates:
            if name in _DATA_PARALLEL or name in _DATA_PARALLEL_FUNCTION:
                self._data_parallel(ctx, call, name in _DATA_PARALLEL_FUNCTION)
            elif name in _VLLM:
                self._tensor_parallel(ctx, call)
            else:
                self._device_map(ctx, call, name)

    def _data_parallel(self, ctx: Context, call: ast.Call, functional: bool) -> None:
        semantic = ctx.semantic
        inference = semantic.is_grad_disabled(call) if functional else _used_for_inference(semantic, call)
        if not inference:
            return
        spelled = f"`{ast.unparse(call.func)}(...)`"
        ctx.report(
            call,
            f"{spelled} in code that only runs inference: DataParallel copies the whole model to every GPU on each "
            "forward call, splits the batch and gathers the outputs on the first GPU from threads of one process, which "
            "for inference is often no faster than one GPU while every GPU draws power",
            Fix(
                Applicability.DISPLAY_ONLY,
                "Run the model on one GPU; for more throughput, start one process per GPU, each with its own copy and "
                "share of the data (torchrun, accelerate's split_between_processes)",
            ),
        )

    def _device_map(self, ctx: Context, call: ast.Call, name: str) -> None:
        value = next((k.value for k in call.keywords if k.arg == "device_map"), None)
        if not (isinstance(value, ast.Constant) and value.value in _SPREADING_MAPS):
            return
        if any(k.arg == "max_memory" for k in call.keywords):
            return
        if name.endswith(".from_pretrained"):
            label = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "pretrained_model_name_or_path"), None)
        elif name == "transformers.pipeline":
            label = next((k.value for k in call.keywords if k.arg == "model"), call.args[1] if len(call.args) > 1 else None)
        else:
            return
        checkpoint = checkpoint_name(ctx.semantic, label)
        size = checkpoint_params(checkpoint)
        if size is None or size > self.settings["max-params"]:
            return
        ctx.report(
            call,
            f'`device_map="{value.value}"` for inference of `{checkpoint}` ({describe_size(checkpoint)}), which fits one '
            "GPU: on a machine with several GPUs it is split evenly across all of them, and its layers then run one GPU "
            "after another, so each GPU idles most of the time while drawing power",
            Fix(
                Applicability.DISPLAY_ONLY,
                'Put the model on one GPU (`device_map={"": 0}` or `.to("cuda")`); for more throughput, run one process per GPU',
            ),
        )

    def _tensor_parallel(self, ctx: Context, call: ast.Call) -> None:
        for keyword in ("tensor_parallel_size", "pipeline_parallel_size"):
            value = next((k.value for k in call.keywords if k.arg == keyword), None)
            if not (isinstance(value, ast.Constant) and isinstance(value.value, int) and value.value > 1):
                continue
            label = next((k.value for k in call.keywords if k.arg == "model"), call.args[0] if call.args else None)
            checkpoint = checkpoint_name(ctx.semantic, label)
            size = checkpoint_params(checkpoint)
            if size is None or size > self.settings["max-params"]:
                return
            ctx.report(
                call,
                f"`{keyword}={value.value}` shards `{checkpoint}` ({describe_size(checkpoint)}), which fits one GPU, "
                f"over {value.value} GPUs: sharding cuts latency but adds communication, and measured energy per request "
                "rises with the number of shards",
                Fix(
                    Applicability.DISPLAY_ONLY,
                    f"Drop `{keyword}` (one GPU); for more throughput, run one replica per GPU (data parallelism)",
                ),
            )
            return


def _may_report(call: ast.Call, name: str) -> bool:
    """False for a candidate that `_device_map` or `_tensor_parallel` would not report whatever
    the rest of the file holds (a cheap look at the call alone)."""
    if name in _DATA_PARALLEL or name in _DATA_PARALLEL_FUNCTION:
        return True
    if name in _VLLM:
        return any(
            k.arg in ("tensor_parallel_size", "pipeline_parallel_size") and isinstance(k.value, ast.Constant) and isinstance(k.value.value, int) and k.value.value > 1
            for k in call.keywords
        )
    value = next((k.value for k in call.keywords if k.arg == "device_map"), None)
    if not (isinstance(value, ast.Constant) and value.value in _SPREADING_MAPS) or any(k.arg == "max_memory" for k in call.keywords):
        return False
    return name.endswith(".from_pretrained") or name == "transformers.pipeline"


def _used_for_inference(semantic: SemanticModel, call: ast.Call) -> bool:
    """The wrapped model, or the wrapper, is put in eval mode, called with autograd off or asked
    to generate/predict, after the wrapping."""
    names = set()
    if call.args and not isinstance(call.args[0], ast.Starred):
        names.add(ast.unparse(peel(call.args[0])))
    node: ast.AST = call
    parent = semantic.parent(node)
    while isinstance(parent, ast.Attribute) and isinstance(semantic.parent(parent), ast.Call):
        if parent.attr == "eval":
            return True  # `nn.DataParallel(model).cuda().eval()`
        node = semantic.parent(parent)
        parent = semantic.parent(node)
    stmt = semantic.enclosing_statement(call)
    if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        names.update(ast.unparse(t) for t in targets if isinstance(t, (ast.Name, ast.Attribute)))
    names.discard("")
    if not names:
        return False
    after = (call.lineno, call.col_offset)
    for other in semantic.nodes(ast.Call):
        if (other.lineno, other.col_offset) <= after:
            continue  # what happens to the model before it is wrapped says nothing of the wrapper
        func = other.func
        if isinstance(func, ast.Attribute) and func.attr == "eval" and not other.args and ast.unparse(func.value) in names:
            return True
        target = forward_target(other)
        if target is not None and ast.unparse(target) in names and semantic.is_grad_disabled(other):
            return True
        if isinstance(func, ast.Attribute) and func.attr in ("generate", "predict") and ast.unparse(func.value) in names:
            return True
    return False
