import os
from pathlib import Path

import pytest

from greenlint import discovery as discovery_module
from greenlint.discovery import DEFAULT_EXCLUDES, discover, is_excluded


def tree(root: Path, *files: str) -> None:
    for name in files:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith("/"):
            path.mkdir(exist_ok=True)
        else:
            path.write_text("x = 1\n")


def found(tmp_path: Path, *paths: str, **options) -> list[str]:
    """discover() run from tmp_path; the files as '/'-joined strings, errors must be none."""
    result = discover([Path(p) for p in paths or ["."]], root=tmp_path, **options)
    assert result.errors == []
    return [p.as_posix() for p in result.files]


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def test_walks_for_py_and_pyi_only(tmp_path):
    tree(tmp_path, "a.py", "b.pyi", "c.txt", "d.pyc", "pkg/e.py", "pkg/sub/f.py", "pkg/g.pyx")
    assert found(tmp_path) == ["a.py", "b.pyi", "pkg/e.py", "pkg/sub/f.py"]


def test_default_excludes_pruned_at_any_depth(tmp_path):
    tree(
        tmp_path,
        "keep.py",
        ".git/hook.py",
        ".venv/lib/x.py",
        "build/x.py",
        "node_modules/x.py",
        "src/dist/x.py",
        "src/__pypackages__/x.py",
        "src/pkg/.mypy_cache/x.py",
        "src/pkg/mod.py",
    )
    assert found(tmp_path) == ["keep.py", "src/pkg/mod.py"]


def test_default_excludes_are_ruffs_plus_our_cache():
    assert sorted(DEFAULT_EXCLUDES) == sorted(
        ".bzr .direnv .eggs .git .git-rewrite .hg .ipynb_checkpoints .mypy_cache .nox .pants.d"
        " .pyenv .pytest_cache .pytype .ruff_cache .greenlint_cache .svn .tox .venv .vscode"
        " __pypackages__ _build buck-out build dist node_modules site-packages venv".split()
    )


def test_custom_exclude_replaces_defaults(tmp_path):
    tree(tmp_path, "build/x.py", "gen/y.py")
    assert found(tmp_path, exclude=["gen"]) == ["build/x.py"]


def test_extend_exclude_name_glob_and_root_relative_path(tmp_path):
    tree(
        tmp_path,
        "api_pb2.py",
        "main.py",
        "src/generated/a.py",
        "lib/generated/b.py",
        "build/c.py",
    )
    files = found(tmp_path, extend_exclude=["*_pb2.py", "src/generated"])
    assert files == ["lib/generated/b.py", "main.py"]  # defaults still apply: build/


def test_directory_only_pattern(tmp_path):
    tree(tmp_path, "tmp_a.py", "tmp_dir/b.py")
    assert found(tmp_path, extend_exclude=["tmp*/"]) == ["tmp_a.py"]


def test_virtualenv_skipped_by_pyvenv_cfg_whatever_its_name(tmp_path):
    tree(tmp_path, "app.py", "myenv/pyvenv.cfg", "myenv/lib/site.py", "myenv/bin/tool.py")
    assert found(tmp_path) == ["app.py"]


def test_virtualenv_named_explicitly_is_walked(tmp_path):
    tree(tmp_path, "myenv/pyvenv.cfg", "myenv/tool.py")
    assert found(tmp_path, "myenv") == ["myenv/tool.py"]


# .gitignore


def test_nested_gitignore_and_info_exclude(tmp_path):
    tree(
        tmp_path,
        ".git/info/",
        "top.py",
        "secret.py",
        "generated/a.py",
        "x.gen.py",
        "pkg/local.py",
        "pkg/mod.py",
        "pkg/keep.gen.py",
        "other/local.py",
    )
    (tmp_path / ".git/info/exclude").write_text("secret.py\n")
    (tmp_path / ".gitignore").write_text("# generated code\ngenerated/\n*.gen.py\n")
    (tmp_path / "pkg/.gitignore").write_text("local.py\n!keep.gen.py\n")
    assert found(tmp_path) == ["other/local.py", "pkg/keep.gen.py", "pkg/mod.py", "top.py"]


def test_gitignore_ignored_when_asked(tmp_path):
    tree(tmp_path, ".git/", "a.py", "b.py")
    (tmp_path / ".gitignore").write_text("b.py\n")
    assert found(tmp_path, respect_gitignore=False) == ["a.py", "b.py"]
    assert found(tmp_path) == ["a.py"]


def test_gitignore_outside_a_repository_has_no_effect(tmp_path):
    # As in git and ruff: a .gitignore means nothing without a repository.
    tree(tmp_path, "a.py", "b.py")
    (tmp_path / ".gitignore").write_text("b.py\n")
    assert found(tmp_path) == ["a.py", "b.py"]


def test_gitignore_in_parent_directories_applies(tmp_path):
    tree(tmp_path, ".git/", "src/pkg/a.py", "src/pkg/skip.py", "src/pkg/deep/b.py")
    (tmp_path / ".gitignore").write_text("src/pkg/skip.py\n")
    (tmp_path / "src/.gitignore").write_text("deep/\n")
    assert found(tmp_path, "src/pkg") == ["src/pkg/a.py"]


def test_gitignore_of_an_outer_repository_stops_at_a_nested_one(tmp_path):
    tree(tmp_path, ".git/", "a.py", "b.py", "vendor/lib/.git/", "vendor/lib/b.py")
    tree(tmp_path, "vendor/lib/c.py")
    (tmp_path / ".gitignore").write_text("b.py\n")
    (tmp_path / "vendor/lib/.gitignore").write_text("c.py\n")
    assert found(tmp_path) == ["a.py", "vendor/lib/b.py"]


def test_ignored_directory_named_explicitly_is_walked(tmp_path):
    tree(tmp_path, ".git/", "gen/a.py", "gen/junk.py")
    (tmp_path / ".gitignore").write_text("gen/\n")
    (tmp_path / "gen/.gitignore").write_text("junk.py\n")
    assert found(tmp_path) == []
    assert found(tmp_path, "gen") == ["gen/a.py"]


# Paths named explicitly


def test_explicit_file_always_included(tmp_path):
    tree(tmp_path, ".git/", "script", "build/x.py", "ignored.py", "notes.txt")
    (tmp_path / ".gitignore").write_text("ignored.py\n")
    assert found(tmp_path, "script", "build/x.py", "ignored.py", "notes.txt") == [
        "build/x.py",
        "ignored.py",
        "notes.txt",
        "script",
    ]


def test_force_exclude_drops_excluded_explicit_paths(tmp_path):
    tree(tmp_path, "build/x.py", "src/gen/y.py", "src/ok.py")
    assert found(tmp_path, "build/x.py", "src/gen", "src/ok.py", extend_exclude=["src/gen"]) == [
        "build/x.py",
        "src/gen/y.py",
        "src/ok.py",
    ]
    forced = found(
        tmp_path, "build/x.py", "src/gen", "src/ok.py", extend_exclude=["src/gen"], force_exclude=True
    )
    assert forced == ["src/ok.py"]


def test_excluded_directory_named_explicitly_is_walked(tmp_path):
    tree(tmp_path, "build/a.py", "build/sub/b.py", "build/node_modules/c.py", "gen/d.py")
    assert found(tmp_path, "build") == ["build/a.py", "build/sub/b.py"]
    assert found(tmp_path, "gen", extend_exclude=["/gen"]) == ["gen/d.py"]


def test_missing_path_is_an_error_and_the_rest_goes_on(tmp_path):
    tree(tmp_path, "a.py")
    result = discover([Path("nope.py"), Path("a.py")], root=tmp_path)
    assert result.errors == ["nope.py: no such file or directory"]
    assert result.files == [Path("a.py")]


def test_explicit_symlink_loop_and_broken_link_are_errors(tmp_path):
    os.symlink("loop2", tmp_path / "loop1")
    os.symlink("loop1", tmp_path / "loop2")
    os.symlink("gone.py", tmp_path / "dangling.py")
    result = discover([Path("loop1"), Path("dangling.py")], root=tmp_path)
    assert result.errors == ["loop1: symbolic link loop", "dangling.py: broken symbolic link"]
    assert result.files == []


def test_symlinks_in_the_walk_do_not_loop(tmp_path):
    tree(tmp_path, "pkg/a.py", "outside/b.py")
    os.symlink("..", tmp_path / "pkg/up")  # a directory loop
    os.symlink(tmp_path / "outside", tmp_path / "pkg/linked")  # directory links are not followed
    os.symlink("self.py", tmp_path / "pkg/self.py")  # a file loop named like a module
    os.symlink("a.py", tmp_path / "pkg/alias.py")  # a file link is a file
    assert found(tmp_path, "pkg") == ["pkg/a.py", "pkg/alias.py"]


def test_unreadable_directory_reported_and_walk_continues(tmp_path):
    tree(tmp_path, "a.py", "locked/b.py", "z/c.py")
    locked = tmp_path / "locked"
    locked.chmod(0)
    try:
        if os.access(locked, os.R_OK):
            pytest.skip("this user can read any directory (root)")
        result = discover([Path(".")], root=tmp_path)
    finally:
        locked.chmod(0o755)
    assert result.errors == ["locked: permission denied"]
    assert result.files == [Path("a.py"), Path("z/c.py")]


def test_unreadable_directory_reported_even_when_simulated(tmp_path, monkeypatch):
    # Runs as root too, where chmod cannot lock a directory.
    tree(tmp_path, "a.py", "locked/b.py", "z/c.py")
    real_scandir = os.scandir

    def scandir(path):
        if os.path.basename(path) == "locked":
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(discovery_module.os, "scandir", scandir)
    result = discover([Path(".")], root=tmp_path)
    assert result.errors == ["locked: permission denied"]
    assert result.files == [Path("a.py"), Path("z/c.py")]


def test_order_is_sorted_deduplicated_and_independent_of_input_order(tmp_path):
    tree(tmp_path, "b.py", "a/z.py", "a/b/c.py", "a.py", "B.py")
    forward = discover([Path("."), Path("a"), Path("a/z.py")], root=tmp_path)
    backward = discover([Path("a/z.py"), Path("a"), Path(".")], root=tmp_path)
    expected = ["B.py", "a/b/c.py", "a/z.py", "a.py", "b.py"]
    assert [p.as_posix() for p in forward.files] == expected
    assert [p.as_posix() for p in backward.files] == expected


def test_paths_keep_the_spelling_given(tmp_path):
    tree(tmp_path, "pkg/a.py")
    assert discover([tmp_path / "pkg"], root=tmp_path).files == [tmp_path / "pkg/a.py"]


def test_one_file_under_two_spellings_listed_once(tmp_path):
    tree(tmp_path, "pkg/a.py")
    result = discover([Path("pkg"), tmp_path / "pkg", Path("pkg/../pkg/a.py")], root=tmp_path)
    assert result.files == [Path("pkg/a.py")]  # the first spelling met


@pytest.mark.parametrize(
    "lines",
    [
        ["build/", "*.py[cod]", "/top.py", "docs/_build/", "a/**/b.py", "!keep.py", "**/gen/*.py"],
        ["*", "!*/", "!*.py"],  # the "ignore all but Python files" idiom
        ["# only a comment", ""],
    ],
)
def test_gitignore_shortcut_never_changes_pathspecs_answer(lines):
    # The combined-regex shortcut may only rule out what pathspec would not match anyway.
    from pathspec import GitIgnoreSpec

    spec = GitIgnoreSpec.from_lines(lines)
    ignore_file = discovery_module._IgnoreFile("/r", lines)
    paths = [
        "top.py", "x/top.py", "build", "x/build", "m.pyc", "x/y/m.pyo", "docs/_build",
        "x/docs/_build", "a/b.py", "a/x/y/b.py", "b.py", "keep.py", "x/keep.py",
        "gen/z.py", "x/gen/z.py", "x/gen", "plain.py", "x/plain.txt",
    ]
    for rel in paths:
        for is_dir in (False, True):
            expected = spec.check_file(rel + ("/" if is_dir else "")).include
            assert ignore_file.verdict(f"/r/{rel}", is_dir) == expected, (rel, is_dir)


def test_is_excluded_checks_the_path_and_its_directories_below_root(tmp_path):
    tree(tmp_path, "build/x.py", "src/gen/y.py", "src/z.py")
    assert is_excluded(tmp_path / "build/x.py", DEFAULT_EXCLUDES, tmp_path)
    assert is_excluded(tmp_path / "src/gen/y.py", ["src/gen"], tmp_path)
    assert not is_excluded(tmp_path / "src/z.py", ["src/gen", *DEFAULT_EXCLUDES], tmp_path)
    # 'name/' matches directories only.
    tree(tmp_path, "data/", "src/data")
    assert is_excluded(tmp_path / "data", ["data/"], tmp_path)
    assert not is_excluded(tmp_path / "src/data", ["data/"], tmp_path)
    assert is_excluded(tmp_path / "src/data", ["data"], tmp_path)
    # Folders above root do not count, whatever their names.
    assert not is_excluded(tmp_path / "build/x.py", DEFAULT_EXCLUDES, tmp_path / "build")


def test_is_excluded_outside_root_judges_the_name_only(tmp_path):
    tree(tmp_path, "build/src/x.py", "proj/")
    assert not is_excluded(tmp_path / "build/src/x.py", DEFAULT_EXCLUDES, tmp_path / "proj")
    assert is_excluded(tmp_path / "build", DEFAULT_EXCLUDES, tmp_path / "proj")
