"""pytest-benchmark cases for the per-file engine: one `ast` parse, the semantic model and every
rule, on a few files that look like the code greenlint meets.

    PYTHONPATH=src python -m pytest benchmarks/ --benchmark-enable
    PYTHONPATH=src python -m pytest benchmarks/ --benchmark-enable --benchmark-compare   # vs a saved run

The default test command (`python -m pytest`) never collects this folder: pyproject's testpaths
is ["tests"]. Without --benchmark-enable (pyproject's addopts has --benchmark-disable) each case
runs once, as a smoke test.

Files: generated here (a ~2,000-line ML module of models, datasets, training and evaluation
code; a ~1,500-line module with no ML framework in it), the repository's own rule fixtures
concatenated (dense with findings), and, when scripts/build_corpus.py has filled the cache, three
real files of the corpus (skipped otherwise: the corpus is third-party code and is not committed).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# Benchmark this checkout's engine, not whatever greenlint the interpreter has installed.
sys.path.insert(0, str(REPO / "src"))

from greenlint.engine import lint_text  # noqa: E402
from greenlint.fixer import fix_text  # noqa: E402
from greenlint.rules.base import all_rules  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _synthetic import SMELL_BLOCKS, ml_file, plain_file  # noqa: E402

CORPUS = Path.home() / ".cache" / "greenlint" / "corpus"
CORPUS_FILES = {
    # A model zoo file (timm), a framework's core (accelerate), a trainer (trl).
    "corpus_timm_vision_transformer": "timm-1.0.31/timm/models/vision_transformer.py",
    "corpus_accelerate_accelerator": "accelerate-1.15.0/src/accelerate/accelerator.py",
    "corpus_trl_grpo_trainer": "trl-1.16.0/trl/trainer/grpo_trainer.py",
}


def _ml_module() -> str:
    return ml_file(2000, SMELL_BLOCKS, smell_every=2)


def _plain_module() -> str:
    return plain_file(1500)


def _fixtures_concatenated() -> str:
    return "\n\n".join(path.read_text(encoding="utf-8") for path in sorted((REPO / "fixtures").glob("GL*/workload.py")))


SOURCES = {
    "generated_ml_module": _ml_module,
    "generated_plain_module": _plain_module,
    "fixtures_concatenated": _fixtures_concatenated,
}


@pytest.fixture(scope="module")
def rules():
    return [rule() for rule in all_rules()]


def _label(benchmark, text: str, rules: list) -> None:
    benchmark.extra_info["lines"] = text.count("\n")
    benchmark.extra_info["rules"] = len(rules)


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_engine(benchmark, rules, name):
    text = SOURCES[name]()
    _label(benchmark, text, rules)
    result = benchmark(lint_text, text, f"{name}.py", rules)
    assert not result.errors
    if name == "generated_plain_module":
        assert result.skipped  # the text pre-filter rules it out before parsing
    else:
        assert result.diagnostics and not result.skipped


def test_engine_without_prefilter(benchmark, rules):
    """The non-ML module parsed and checked in full: what the pre-filter saves."""
    text = _plain_module()
    _label(benchmark, text, rules)
    result = benchmark(lint_text, text, "generated_plain_module.py", rules, False)
    assert not result.errors and not result.skipped and not result.diagnostics


def test_fix_fixtures(benchmark, rules):
    """Lint + libcst fixes (safe and unsafe) on the smell-dense file."""
    text = _fixtures_concatenated()
    _label(benchmark, text, rules)
    result = benchmark(fix_text, text, "fixtures_concatenated.py", rules, unsafe_fixes=True)
    assert result.changed and not result.errors


@pytest.mark.parametrize("name", sorted(CORPUS_FILES))
def test_engine_corpus_file(benchmark, rules, name):
    path = CORPUS / CORPUS_FILES[name]
    if not path.is_file():
        pytest.skip(f"{path} missing: run scripts/build_corpus.py")
    text = path.read_text(encoding="utf-8")
    _label(benchmark, text, rules)
    result = benchmark(lint_text, text, path.name, rules)
    assert not result.errors and not result.skipped
