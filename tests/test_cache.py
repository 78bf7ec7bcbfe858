"""The result cache: same output warm as cold, keyed on content and settings, never trusted when corrupt."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from greenlint.cache import CACHE_DIR, ResultCache
from greenlint.cli import main

SMELLY = "import torch\n\ndef evaluate(model, x):\n    return model(x).sum().item()\n"


def run(tmp_path: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["check", str(tmp_path / "a.py"), "--output-format", "concise", *args])
    return result.exit_code, result.output.replace(str(tmp_path) + "/", "")


def entries(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / CACHE_DIR).rglob("*.json"))


def test_warm_run_reads_the_cache_and_matches_the_cold_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.py").write_text(SMELLY)
    cold = run(tmp_path)
    assert cold[0] == 1 and "GL101" in cold[1]
    assert len(entries(tmp_path)) == 1
    # Prove the warm run reads the entry: the linter itself must not run.
    monkeypatch.setattr("greenlint.run.lint_text", lambda *a, **k: (_ for _ in ()).throw(AssertionError("linted")))
    assert run(tmp_path) == cold


def test_no_cache_neither_reads_nor_writes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.py").write_text(SMELLY)
    assert run(tmp_path, "--no-cache")[0] == 1
    assert entries(tmp_path) == []


def test_changed_content_or_settings_miss_the_cache(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.py").write_text(SMELLY)
    run(tmp_path)
    (tmp_path / "a.py").write_text(SMELLY.replace("def evaluate", "@torch.no_grad()\ndef evaluate"))
    assert run(tmp_path)[0] == 0
    assert run(tmp_path, "--ignore", "GL101")[0] == 0
    assert len(entries(tmp_path)) == 3


def test_corrupt_or_foreign_entry_is_ignored_and_rebuilt(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.py").write_text(SMELLY)
    cold = run(tmp_path)
    [entry] = entries(tmp_path)
    for garbage in ("{not json", '{"format": 1, "key": "someone-else", "diagnostics": []}', '{"format": 1}'):
        entry.write_text(garbage)
        assert run(tmp_path) == cold
    assert '"GL101"' in entry.read_text()


def test_key_depends_on_name_and_text():
    assert ResultCache.key("a.py", "x") != ResultCache.key("b.py", "x") != ResultCache.key("a.py", "y")


def test_unwritable_cache_folder_does_not_fail_the_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.py").write_text(SMELLY)
    (tmp_path / CACHE_DIR).write_text("a file where the folder should be")
    assert run(tmp_path)[0] == 1


def test_warm_run_of_a_tree_starts_no_worker_and_rechecks_only_what_changed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for index in range(40):  # above the size where the checker goes parallel
        (tmp_path / f"m{index}.py").write_text(SMELLY if index % 2 else "import torch\n")
    invoke = lambda: CliRunner().invoke(main, ["check", ".", "--output-format", "concise", "-j", "2"])  # noqa: E731
    cold = invoke()
    assert cold.exit_code == 1 and cold.output.count("GL101") == 20

    def no_pool(*args, **kwargs):
        raise AssertionError("a warm run started worker processes")

    monkeypatch.setattr("greenlint.run.ProcessPoolExecutor", no_pool)
    warm = invoke()
    assert (warm.exit_code, warm.output) == (cold.exit_code, cold.output)
    # One changed file is checked again (in this process: one file is below the parallel size).
    (tmp_path / "m1.py").write_text("import torch\n")
    after = invoke()
    assert after.output.count("GL101") == 19 and "m1.py" not in after.output
