"""The pre-commit hooks (.pre-commit-hooks.yaml), run by the real `pre-commit` in throwaway git
repositories.

pre-commit installs a hook repository by cloning it at a commit, so the hooks are taken from a
snapshot of this working tree committed to a temporary repository: what is tested is the tree
as it is now, committed or not. (`pre-commit try-repo` would not do: its shadow commit takes
only changes to files git already tracks, so new, untracked files such as a new hook manifest are
left out.) Installing the hook's environment pip-installs greenlint and its dependencies from
the configured package index; that happens once per test session and takes up to a minute.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from samples import EVAL as SMELLY
from samples import EVAL_FIXED as FIXED

pytest.importorskip("pre_commit", reason="pre-commit is not installed (pip install -e '.[dev]')")
if shutil.which("git") is None:
    pytest.skip("git is not installed", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[1]

CLEAN = """\
import torch

def train_step(model, batch, optimizer):
    loss = model(batch).sum()
    loss.backward()
    optimizer.step()
"""
# pip's words when it cannot reach the package index: only then is a failed install a skip.
OFFLINE_SIGNS = (
    "NewConnectionError",
    "Temporary failure in name resolution",
    "Network is unreachable",
    "Max retries exceeded",
    "No matching distribution found",
)


def _env(home: Path, git_config: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") and not k.startswith("PRE_COMMIT")}
    env.update(
        PRE_COMMIT_HOME=str(home),
        PRE_COMMIT_COLOR="never",
        GIT_CONFIG_GLOBAL=str(git_config),  # no user hooksPath, signing or templates
        GIT_CONFIG_NOSYSTEM="1",
    )
    return env


def _git(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def _init(repo: Path, env: dict[str, str]) -> None:
    repo.mkdir(parents=True, exist_ok=True)
    for args in (
        ("init", "-q"),
        ("config", "user.name", "greenlint tests"),
        ("config", "user.email", "tests@greenlint.invalid"),
        ("config", "commit.gpgsign", "false"),
    ):
        assert _git(*args, cwd=repo, env=env).returncode == 0


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """(hook repository, its commit, pre-commit's environment) for the whole module."""
    base = tmp_path_factory.mktemp("precommit")
    git_config = base / "gitconfig"
    git_config.write_text("")
    env = _env(base / "pre-commit-home", git_config)
    listing = _git("ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=ROOT, env=env)
    if listing.returncode != 0:
        pytest.skip(f"{ROOT} is not a git work tree, so there is no hook repository to install")
    snapshot = base / "greenlint-snapshot"
    for name in filter(None, listing.stdout.split("\0")):
        source = ROOT / name
        if source.is_file():  # a tracked file deleted in the work tree is left out
            (snapshot / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, snapshot / name)
    _init(snapshot, env)
    assert _git("add", "-A", cwd=snapshot, env=env).returncode == 0
    assert _git("commit", "-q", "-m", "snapshot", cwd=snapshot, env=env).returncode == 0
    sha = _git("rev-parse", "HEAD", cwd=snapshot, env=env).stdout.strip()
    return snapshot, sha, env


@pytest.fixture
def project(setup, tmp_path):
    """A fresh git repository using both hooks, with pre-commit's git hook installed and the hook
    environment built (once; later tests reuse it from PRE_COMMIT_HOME)."""
    snapshot, sha, env = setup
    repo = tmp_path / "project"
    _init(repo, env)
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n"
        f"  - repo: {snapshot.as_posix()}\n"
        f"    rev: {sha}\n"
        f"    hooks:\n"
        f"      - id: greenlint-fix\n"
        f"      - id: greenlint\n"
    )
    install = _pre_commit("install", "--install-hooks", cwd=repo, env=env)
    if install.returncode != 0:
        output = install.stdout + install.stderr
        log = Path(env["PRE_COMMIT_HOME"]) / "pre-commit.log"
        output += log.read_text(errors="replace") if log.exists() else ""
        if any(sign in output for sign in OFFLINE_SIGNS):
            pytest.skip(f"pre-commit cannot build the hook environment without the package index:\n{output[-2000:]}")
        pytest.fail(f"pre-commit install --install-hooks failed:\n{output[-4000:]}")
    _git("add", ".pre-commit-config.yaml", cwd=repo, env=env)
    return repo, env


def _pre_commit(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


def _commit(repo: Path, env: dict[str, str], skip: str = "") -> subprocess.CompletedProcess:
    return _git("commit", "-m", "change", cwd=repo, env={**env, "SKIP": skip})


def _commits(repo: Path, env: dict[str, str]) -> int:
    result = _git("rev-list", "--count", "HEAD", cwd=repo, env=env)
    return int(result.stdout) if result.returncode == 0 else 0


def test_manifest_declares_both_hooks():
    import yaml  # pre-commit depends on PyYAML

    hooks = {hook["id"]: hook for hook in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert set(hooks) == {"greenlint", "greenlint-fix"}
    assert hooks["greenlint"]["entry"] == "greenlint check --force-exclude"
    assert hooks["greenlint-fix"]["entry"] == "greenlint check --force-exclude --fix"
    for hook in hooks.values():
        assert hook["language"] == "python"
        assert hook["types_or"] == ["python", "pyi", "jupyter"]
        assert hook["require_serial"] is True
        assert hook["minimum_pre_commit_version"] == "2.9.2"
        assert not hook.get("always_run") and hook.get("pass_filenames", True)


def test_commit_with_a_smell_is_blocked(project):
    repo, env = project
    (repo / "smelly.py").write_text(SMELLY)
    _git("add", "smelly.py", cwd=repo, env=env)
    result = _commit(repo, env, skip="greenlint-fix")
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert _commits(repo, env) == 0  # nothing was committed
    assert "smelly.py:6:21: GL101" in output
    assert any(line.startswith("greenlint (fix)") and line.endswith("Skipped") for line in output.splitlines())
    assert (repo / "smelly.py").read_text() == SMELLY  # the check hook changes nothing


def test_clean_commit_passes(project):
    repo, env = project
    (repo / "train.py").write_text(CLEAN)
    _git("add", "train.py", cwd=repo, env=env)
    result = _commit(repo, env)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert _commits(repo, env) == 1
    assert "greenlint" in output and "Passed" in output


def test_no_python_files_means_the_hook_does_not_run(project):
    """With no staged Python file pre-commit skips the hook rather than calling it with no
    paths, which would make greenlint check (or, as greenlint-fix, rewrite) the whole folder,
    the untracked smelly file here included."""
    repo, env = project
    (repo / "untracked_smell.py").write_text(SMELLY)
    (repo / "README.md").write_text("# notes\n")
    _git("add", "README.md", cwd=repo, env=env)
    result = _commit(repo, env)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "(no files to check)Skipped" in output
    assert "GL101" not in output
    assert (repo / "untracked_smell.py").read_text() == SMELLY
    assert _commits(repo, env) == 1


def test_fix_hook_rewrites_the_file_then_the_commit_goes_through(project):
    repo, env = project
    (repo / "smelly.py").write_text(SMELLY)
    _git("add", "smelly.py", cwd=repo, env=env)
    first = _commit(repo, env, skip="greenlint")
    output = first.stdout + first.stderr
    # pre-commit fails a hook that modified files, so the fix can be reviewed and staged.
    assert first.returncode != 0, output
    assert "files were modified by this hook" in output
    assert (repo / "smelly.py").read_text() == FIXED
    assert _commits(repo, env) == 0
    _git("add", "smelly.py", cwd=repo, env=env)
    second = _commit(repo, env)  # both hooks now
    assert second.returncode == 0, second.stdout + second.stderr
    assert _commits(repo, env) == 1
    committed = _git("show", "HEAD:smelly.py", cwd=repo, env=env).stdout
    assert committed == FIXED
