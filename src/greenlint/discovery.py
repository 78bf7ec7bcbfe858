"""Finding the files to lint: the paths given, and the Python files below given directories.

As in ruff: excludes and .gitignore prune the walk (an excluded directory is never
entered), while a path named explicitly is taken as asked unless force_exclude is set.
"""

from __future__ import annotations

import functools
import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pathspec import GitIgnoreSpec

from greenlint.source import describe_os_error

DEFAULT_EXCLUDES: tuple[str, ...] = (
    ".bzr",
    ".direnv",
    ".eggs",
    ".git",
    ".git-rewrite",
    ".hg",
    ".ipynb_checkpoints",
    ".mypy_cache",
    ".nox",
    ".pants.d",
    ".pyenv",
    ".pytest_cache",
    ".pytype",
    ".ruff_cache",
    ".greenlint_cache",
    ".svn",
    ".tox",
    ".venv",
    ".vscode",
    "__pypackages__",
    "_build",
    "buck-out",
    "build",
    "dist",
    "node_modules",
    "site-packages",
    "venv",
)

PYTHON_SUFFIXES = (".py", ".pyi", ".ipynb")  # notebooks: their code cells

# Characters that make a pattern more than a plain name, in gitignore syntax.
_SPECIAL = frozenset("*?[\\!#")

# pathspec names a group in every pattern's regex; joined, the names would clash.
_NAMED_GROUP = re.compile(r"\(\?P<\w+>")
_ANY_DIRS = "^(?:.+/)?"  # how pathspec starts a pattern that may match at any depth


@dataclass
class Discovery:
    files: list[Path] = field(default_factory=list)  # sorted, de-duplicated
    errors: list[str] = field(default_factory=list)  # one line each, naming the path


def discover(
    paths: Sequence[Path],
    *,
    exclude: Sequence[str] = DEFAULT_EXCLUDES,
    extend_exclude: Sequence[str] = (),
    respect_gitignore: bool = True,
    force_exclude: bool = False,
    root: Path | None = None,
) -> Discovery:
    """The files to lint under paths; root (default: cwd) anchors patterns that contain a slash."""
    patterns = (*exclude, *extend_exclude)
    root_abs = os.path.abspath(os.getcwd() if root is None else root)
    walker = _Walker(_compile_excludes(patterns), root_abs, respect_gitignore)
    for path in paths:
        shown = os.fspath(path)
        try:
            is_dir = stat.S_ISDIR(os.stat(shown).st_mode)
        except OSError as err:
            walker.errors.append(f"{shown}: {describe_os_error(err, shown)}")
            continue
        if force_exclude and is_excluded(Path(shown), patterns, Path(root_abs)):
            continue
        if is_dir:
            walker.walk(shown)
        else:
            walker.add(os.path.abspath(shown), shown)  # named explicitly: any extension
    files = sorted(walker.files.values(), key=lambda p: p.parts)
    return Discovery(files=files, errors=walker.errors)


def is_excluded(path: Path, patterns: Sequence[str], root: Path) -> bool:
    """Whether path, or a directory between root and it, matches one of patterns.

    Outside root only the path's own name is tried: root-relative patterns cannot apply,
    and the names of unrelated folders above it must not count.
    """
    excludes = _compile_excludes(tuple(patterns))
    path_abs = os.path.abspath(path)
    is_dir = os.path.isdir(path_abs)
    rel = _relative_to(path_abs, os.path.abspath(root))
    if rel is None:
        return excludes.match(os.path.basename(path_abs), None, is_dir)
    if not rel:
        return False  # root itself: patterns describe what lies inside it
    parts = rel.split("/")
    return any(
        excludes.match(name, "/".join(parts[: i + 1]), is_dir or i < len(parts) - 1)
        for i, name in enumerate(parts)
    )


class _Excludes:
    """Exclude patterns, split so each entry costs as little as possible.

    Plain names (every default) are a set lookup. Other patterns use gitignore syntax
    through pathspec: without an inner slash they match an entry's own name, with one
    they match its path relative to root.
    """

    def __init__(self, patterns: tuple[str, ...]) -> None:
        self.names: set[str] = set()
        self.dir_names: set[str] = set()  # 'name/' matches directories only
        name_globs: list[str] = []
        path_globs: list[str] = []
        for pattern in patterns:
            bare = pattern[:-1] if pattern.endswith("/") else pattern
            if "/" in bare:
                path_globs.append(pattern)
            elif _SPECIAL.isdisjoint(bare):
                (self.names if bare == pattern else self.dir_names).add(bare)
            else:
                name_globs.append(pattern)
        self.name_spec = GitIgnoreSpec.from_lines(name_globs) if name_globs else None
        self.path_spec = GitIgnoreSpec.from_lines(path_globs) if path_globs else None

    def match(self, name: str, rel: str | None, is_dir: bool) -> bool:
        """rel is the '/'-separated path from root, None when outside it."""
        if name in self.names or (is_dir and name in self.dir_names):
            return True
        slash = "/" if is_dir else ""  # how pathspec tells a directory
        if self.name_spec is not None and self.name_spec.match_file(name + slash):
            return True
        return rel is not None and self.path_matches(rel, is_dir)

    def path_matches(self, rel: str, is_dir: bool) -> bool:
        if self.path_spec is None:
            return False
        return self.path_spec.match_file(rel + ("/" if is_dir else ""))


_compile_excludes = functools.lru_cache(maxsize=32)(_Excludes)


class _IgnoreFile:
    """A compiled .gitignore (or info/exclude), its patterns relative to its directory."""

    def __init__(self, directory: str, lines: list[str]) -> None:
        self.prefix = os.path.join(directory, "")
        self.spec = GitIgnoreSpec.from_lines(lines)
        regexes = [p.regex.pattern for p in self.spec.patterns if p.include is not None]
        self.any = _any_pattern(regexes)

    def verdict(self, path_abs: str, is_dir: bool) -> bool | None:
        """True: ignored, False: re-included (!pattern), None: no pattern matches."""
        rel = path_abs[len(self.prefix) :].replace(os.sep, "/") + ("/" if is_dir else "")
        if self.any is not None and self.any.match(rel) is None:
            return None
        return self.spec.check_file(rel).include


def _any_pattern(regexes: list[str]) -> re.Pattern[str] | None:
    """One regex matching where any of regexes does, or None when there is no shortcut.

    pathspec tries its patterns one by one in Python; this rules most paths out in a
    single call. Most gitignore patterns start with the same "any directories" prefix,
    which is factored out so that the path is not rescanned for each of them.
    """
    if not regexes:
        return None
    floating = [r[len(_ANY_DIRS) :] for r in regexes if r.startswith(_ANY_DIRS)]
    parts = [r for r in regexes if not r.startswith(_ANY_DIRS)]
    if floating:
        parts.append(_ANY_DIRS + "(?:" + "|".join(f"(?:{r})" for r in floating) + ")")
    try:
        return re.compile("|".join(f"(?:{_NAMED_GROUP.sub('(?:', part)})" for part in parts))
    except re.error:
        return None  # pathspec alone still gives the answer


# Ignore files in force for a directory, shallowest first; None outside a repository.
_Levels = tuple[_IgnoreFile, ...]


class _Walker:
    def __init__(self, excludes: _Excludes, root: str, respect_gitignore: bool) -> None:
        self.excludes = excludes
        self.root = root
        self.respect_gitignore = respect_gitignore
        self.files: dict[str, Path] = {}  # absolute path -> the path to show
        self.errors: list[str] = []
        self._ignore_files: dict[str, _Levels] = {}  # each read and compiled once

    def add(self, path_abs: str, shown: str) -> None:
        self.files.setdefault(path_abs, Path(shown))

    def walk(self, top: str) -> None:
        top_abs = os.path.abspath(top)
        rel = _relative_to(top_abs, self.root)
        if rel and self.excludes.path_matches(rel, True):
            # Asked for although excluded: pathspec would match all inside through it,
            # so root-relative patterns sit this walk out.
            rel = None
        levels = self._levels_above(top_abs) if self.respect_gitignore else None
        if levels and _git_ignored(levels, top_abs, True):
            levels = ()  # likewise: only the ignore files inside it apply
        # Iterative, so deep trees cannot hit the recursion limit.
        stack: list[tuple[str, str, str | None, _Levels | None]] = [(top_abs, top, rel, levels)]
        while stack:
            dir_abs, dir_shown, dir_rel, levels = stack.pop()
            try:
                with os.scandir(dir_abs) as it:
                    entries = sorted(it, key=lambda e: e.name)  # deterministic, errors too
            except OSError as err:
                self.errors.append(f"{dir_shown}: {describe_os_error(err, dir_abs)}")
                continue
            names = {entry.name for entry in entries}
            if "pyvenv.cfg" in names and dir_abs != top_abs:
                continue  # a virtual environment, whatever its name
            if self.respect_gitignore:
                if ".git" in names:  # a repository (perhaps nested) starts here
                    exclude_file = os.path.join(dir_abs, ".git", "info", "exclude")
                    levels = self._ignore_file(dir_abs, exclude_file)
                if levels is not None and ".gitignore" in names:
                    gitignore = os.path.join(dir_abs, ".gitignore")
                    levels += self._ignore_file(dir_abs, gitignore, _join(dir_shown, ".gitignore"))
            subdirs = []
            for entry in entries:
                name = entry.name
                rel = None if dir_rel is None else f"{dir_rel}/{name}" if dir_rel else name
                # Directory symlinks are not followed: no loops, no escaping the tree.
                if entry.is_dir(follow_symlinks=False):
                    if not self._skip(entry.path, name, rel, True, levels):
                        subdirs.append((entry.path, _join(dir_shown, name), rel, levels))
                elif name.endswith(PYTHON_SUFFIXES) and _is_file(entry):
                    if not self._skip(entry.path, name, rel, False, levels):
                        self.add(entry.path, _join(dir_shown, name))
            stack.extend(reversed(subdirs))

    def _skip(
        self, path_abs: str, name: str, rel: str | None, is_dir: bool, levels: _Levels | None
    ) -> bool:
        if self.excludes.match(name, rel, is_dir):
            return True
        return bool(levels) and _git_ignored(levels, path_abs, is_dir)

    def _levels_above(self, top_abs: str) -> _Levels | None:
        """Ignore files that apply to top from above it; None outside a git repository."""
        chain = []
        directory = os.path.dirname(top_abs)
        while not os.path.lexists(os.path.join(directory, ".git")):
            chain.append(directory)
            parent = os.path.dirname(directory)
            if parent == directory:
                return None  # like git (and ruff): no repository, no .gitignore
            directory = parent
        levels = self._ignore_file(directory, os.path.join(directory, ".git", "info", "exclude"))
        for base in (directory, *reversed(chain)):
            levels += self._ignore_file(base, os.path.join(base, ".gitignore"))
        return levels

    def _ignore_file(self, base: str, path: str, shown: str | None = None) -> _Levels:
        """The file as one level, patterns relative to base; no level when it is absent."""
        if path not in self._ignore_files:
            level: _Levels = ()
            try:
                with open(path, "rb") as f:
                    data = f.read()
            except (FileNotFoundError, NotADirectoryError):
                pass  # NotADirectoryError: .git is a file (a worktree or submodule)
            except OSError as err:
                self.errors.append(f"{shown or path}: {describe_os_error(err, path)}")
            else:
                # Git reads bytes; surrogateescape matches what os.scandir makes of odd names.
                level = (_IgnoreFile(base, data.decode("utf-8", "surrogateescape").splitlines()),)
            self._ignore_files[path] = level
        return self._ignore_files[path]


def _git_ignored(levels: _Levels, path_abs: str, is_dir: bool) -> bool:
    # The deepest ignore file with an opinion decides, as in git.
    for ignore_file in reversed(levels):
        verdict = ignore_file.verdict(path_abs, is_dir)
        if verdict is not None:
            return verdict
    return False


def _join(dir_shown: str, name: str) -> str:
    # Messages say 'pkg/a.py', not './pkg/a.py', for a walk of '.'.
    return name if dir_shown == os.curdir else os.path.join(dir_shown, name)


def _is_file(entry: os.DirEntry[str]) -> bool:
    """A regular file, or a symlink to one."""
    try:
        return entry.is_file()
    except OSError:  # a symlink loop: is_file() only swallows FileNotFoundError
        return False


def _relative_to(path_abs: str, root_abs: str) -> str | None:
    """path's '/'-separated path from root ('' for root itself), None outside it."""
    if path_abs == root_abs:
        return ""
    prefix = os.path.join(root_abs, "")
    if not path_abs.startswith(prefix):
        return None
    return path_abs[len(prefix) :].replace(os.sep, "/")
