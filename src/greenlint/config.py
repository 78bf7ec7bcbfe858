"""Configuration: find it, read it, validate it, and resolve it into Settings.

Modelled on ruff. Settings live under [tool.greenlint] in a pyproject.toml, or at the top level
of a standalone file (greenlint.toml) given with --config. Discovery walks up from each linted
file to the nearest pyproject.toml that has a [tool.greenlint] table; the folder holding that
file is the project root that relative patterns are anchored to.

Configuration is data only: it is parsed with tomllib and checked against a fixed schema and
the rules' declared options. Nothing in it is ever evaluated or imported.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on 3.10
    import tomli as tomllib

from greenlint.diagnostics import IMPACTS
from greenlint.discovery import DEFAULT_EXCLUDES

__all__ = [
    "DEFAULT_EXCLUDE",
    "CliOverrides",
    "ConfigError",
    "Settings",
    "SettingsResolver",
    "find_config",
    "load_settings",
    "resolve_selection",
]

PYPROJECT = "pyproject.toml"

# Setting `exclude` replaces discovery's defaults, so a user who wants to add to them uses
# `extend-exclude`.
DEFAULT_EXCLUDE = DEFAULT_EXCLUDES

_KEYS = (
    "select",
    "extend-select",
    "ignore",
    "exclude",
    "extend-exclude",
    "per-file-ignores",
    "unsafe-fixes",
    "fail-on",
    "rules",
)

# Bumped when the fingerprint's layout changes, so old cache entries can never collide.
_FINGERPRINT_VERSION = 1


class ConfigError(Exception):
    """A configuration problem, as one user-facing line naming the file and the key.

    `path` and `key` (dotted, e.g. "tool.greenlint.select") are kept for tools such as an
    editor integration that want to point at the spot; either may be None (a CLI flag has no
    file, a missing file has no key).
    """

    def __init__(self, message: str, path: Path | None = None, key: str | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.key = key


class _FrozenMap(Mapping[str, Any]):
    """A read-only mapping that, unlike MappingProxyType, pickles (for worker processes)."""

    def __init__(self, data: Mapping[str, Any] | None = None) -> None:
        self._data = dict(data or {})

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return repr(self._data)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return dict(self.items()) == dict(other.items())
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # values may be lists


# -- path patterns ---------------------------------------------------------------------------


def _translate_glob(pattern: str) -> str:
    """A glob as a regex over '/'-separated paths.

    `*` and `?` stay inside one path component; `**` as a whole component spans any number of
    them (including none); `[...]`, `[!...]` and `{a,b}` work as in shells; `\\` escapes.
    """
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*":
            if pattern.startswith("**", i):
                whole = (i == 0 or pattern[i - 1] == "/") and (i + 2 == n or pattern[i + 2] == "/")
                if whole:
                    if i + 2 == n:
                        out.append(".*")
                        i += 2
                    else:
                        out.append("(?:.*/)?")
                        i += 3
                    continue
                i += 1  # a '**' inside a component means the same as '*'
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            j = i + 1
            if j < n and pattern[j] in "!^":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1  # a leading ']' is literal
            j = pattern.find("]", j)
            if j == -1:
                out.append(re.escape(c))  # no closing bracket: a literal '['
            else:
                body = pattern[i + 1 : j].replace("\\", "\\\\")
                if body[:1] in ("!", "^"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = j
        elif c == "{":
            j = pattern.find("}", i)
            if j == -1:
                out.append(re.escape(c))
            else:
                alternatives = pattern[i + 1 : j].split(",")
                out.append("(?:" + "|".join(_translate_glob(a) for a in alternatives) + ")")
                i = j
        elif c == "\\" and i + 1 < n:
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


class _PathPattern:
    """One per-file-ignores key, compiled: relative to the root, absolute, or a basename."""

    def __init__(self, pattern: str) -> None:
        self.negated = pattern.startswith("!")  # as in ruff: applies to files NOT matching
        glob = pattern[1:] if self.negated else pattern
        while glob.startswith("./"):
            glob = glob[2:]
        if glob.endswith("/"):
            glob += "**"  # a folder: everything inside it
        self.absolute = glob.startswith("/")
        # Like ruff, a pattern without a separator also matches the file's name at any depth.
        self.basename = "/" not in glob
        self.regex = re.compile(_translate_glob(glob))

    def matches(self, absolute: str, relative: str | None, name: str) -> bool:
        if self.absolute:
            hit = self.regex.fullmatch(absolute) is not None
        else:
            hit = (relative is not None and self.regex.fullmatch(relative) is not None) or (
                self.basename and self.regex.fullmatch(name) is not None
            )
        return hit != self.negated


def _abspath(path: Path, base: Path | None = None) -> Path:
    """Absolute and normalised ('..' folded) without resolving symlinks."""
    if not path.is_absolute():
        path = (base if base is not None else Path.cwd()) / path
    return Path(os.path.normpath(path))


def _relative_to(path: Path, root: Path) -> str | None:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        pass
    # The root may have been reached through a symlink the path wasn't (or the reverse).
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except (ValueError, OSError):
        return None


# -- settings --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """Resolved configuration for the files under one config file (or the defaults)."""

    enabled: frozenset[str]
    unsafe_fixes: bool = False
    # The least impact that makes the run fail (exit 1); findings below it are still shown.
    fail_on: str = "low"
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    extend_exclude: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, frozenset[str]], ...] = ()
    rule_options: Mapping[str, Mapping[str, Any]] = field(default_factory=_FrozenMap)
    config_path: Path | None = None
    root: Path = field(default_factory=Path.cwd)
    _patterns: tuple[_PathPattern, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Normalise whatever collection types a caller passed, so equality, hashing and the
        # fingerprint only ever see one shape; compile the patterns once, not per file.
        set_ = object.__setattr__
        set_(self, "enabled", frozenset(self.enabled))
        set_(self, "exclude", tuple(self.exclude))
        set_(self, "extend_exclude", tuple(self.extend_exclude))
        pfi = tuple((glob, frozenset(codes)) for glob, codes in self.per_file_ignores)
        set_(self, "per_file_ignores", pfi)
        options = {code: _FrozenMap(opts) for code, opts in self.rule_options.items()}
        set_(self, "rule_options", _FrozenMap(options))
        set_(self, "root", _abspath(Path(self.root)))
        set_(self, "_patterns", tuple(_PathPattern(glob) for glob, _ in pfi))

    def enabled_for(self, path: Path) -> frozenset[str]:
        """The rules enabled for `path` (absolute, or relative to the current directory)."""
        if not self.per_file_ignores:
            return self.enabled
        absolute = _abspath(Path(path))
        relative = _relative_to(absolute, self.root)
        ignored: set[str] = set()
        for pattern, (_, codes) in zip(self._patterns, self.per_file_ignores, strict=True):
            if pattern.matches(absolute.as_posix(), relative, absolute.name):
                ignored |= codes
        return self.enabled - ignored

    def fingerprint(self) -> str:
        """A stable hash of everything that can change what a lint run reports.

        Equivalent configurations hash alike: order of codes and of per-file-ignores, a rule
        named by code or by name, `1` or `1.0` for a number option. The config file's own path
        is left out (the root covers where patterns are anchored). Include greenlint's version
        alongside this in any cache key: rule code changes are not settings.
        """
        memo = self.__dict__.get("_fingerprint")  # asked once per file; the settings are frozen
        if memo is None:
            memo = self.__dict__["_fingerprint"] = self._compute_fingerprint()
        return memo

    def _compute_fingerprint(self) -> str:
        payload = {
            "version": _FINGERPRINT_VERSION,
            "enabled": sorted(self.enabled),
            "unsafe_fixes": self.unsafe_fixes,
            "exclude": list(self.exclude),
            "extend_exclude": list(self.extend_exclude),
            "per_file_ignores": sorted(
                [glob, sorted(codes)] for glob, codes in self.per_file_ignores
            ),
            "rule_options": {
                code: dict(opts.items()) for code, opts in self.rule_options.items() if opts
            },
            "root": self.root.as_posix(),
        }
        blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=_json_default)
        return hashlib.sha256(blob.encode()).hexdigest()

    def __hash__(self) -> int:
        # The generated hash would choke on rule_options; equal Settings share a fingerprint.
        return hash(self.fingerprint())


def _json_default(value: Any) -> Any:
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)  # set options: order is not a setting
    if isinstance(value, Mapping):
        return dict(value)
    return str(value)  # dates and times, should an option ever use them


@dataclass(frozen=True)
class CliOverrides:
    """What the command line says; None means the flag was not given."""

    select: tuple[str, ...] | None = None
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    unsafe_fixes: bool | None = None
    exclude: tuple[str, ...] | None = None
    extend_exclude: tuple[str, ...] = ()
    fail_on: str | None = None


# -- messages --------------------------------------------------------------------------------


def _q(text: str) -> str:
    """Double-quoted and escaped, so a message stays on one line whatever the text holds."""
    return json.dumps(text, ensure_ascii=False)


def _did_you_mean(word: str, candidates: Iterable[str]) -> str:
    candidates = list(candidates)
    for candidate in candidates:  # a case slip is the likeliest typo: "gl101", "all"
        if candidate.lower() == word.lower():
            return f" (did you mean {_q(candidate)}?)"
    close = difflib.get_close_matches(word, candidates, n=1)
    return f" (did you mean {_q(close[0])}?)" if close else ""


def _type_name(value: Any) -> str:
    return {dict: "table", list: "list"}.get(type(value), type(value).__name__)


_A_TYPE = {
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    str: "a string",
    dict: "a table",
}
_TYPES = {bool: "booleans", int: "integers", float: "numbers", str: "strings", dict: "tables"}
_SEQUENCES = (list, tuple, set, frozenset)


def _describe(typ: type, item_type: type | None) -> str:
    if typ in _SEQUENCES:
        return f"a list of {_TYPES.get(item_type, item_type.__name__)}" if item_type else "a list"
    if typ is dict and item_type:
        return f"a table of {_TYPES.get(item_type, item_type.__name__)}"
    return _A_TYPE.get(typ, f"a {typ.__name__}")


def _display(path: Path, cwd: Path) -> str:
    """The path as the user most likely typed it: relative to cwd when inside it."""
    try:
        return path.relative_to(cwd).as_posix()
    except ValueError:
        return str(path)


@dataclass(frozen=True)
class _Source:
    """Where a table came from, to build messages like
    'pyproject.toml: [tool.greenlint.rules.GL101] "x" must be ...'."""

    path: Path
    label: str  # the file as displayed
    prefix: tuple[str, ...]  # ("tool", "greenlint") for a pyproject, () for greenlint.toml

    def error(self, section: Sequence[str], message: str, key: str | None = None) -> ConfigError:
        parts = (*self.prefix, *section)
        header = f"[{'.'.join(parts)}] " if parts else ""
        dotted = ".".join((*parts, key) if key is not None else parts) or None
        return ConfigError(f"{self.label}: {header}{message}", self.path, dotted)


# -- validation ------------------------------------------------------------------------------


def _check_value(value: Any, typ: type, item_type: type | None = None) -> tuple[bool, Any, str]:
    """(ok, value converted to `typ`, what was wrong) for a TOML value against a declared type."""
    if typ in _SEQUENCES:
        if not isinstance(value, list):
            return False, None, _type_name(value)
        items = []
        for index, item in enumerate(value):
            if item_type is not None:
                ok, item, _ = _check_value(item, item_type)
                if not ok:
                    return (
                        False,
                        None,
                        f"a list containing {_type_name(value[index])} (item {index + 1})",
                    )
            items.append(item)
        return True, items if typ is list else typ(items), ""
    if typ is dict:
        if not isinstance(value, dict):
            return False, None, _type_name(value)
        out = {}
        for key, item in value.items():
            if item_type is not None:
                ok, item, _ = _check_value(item, item_type)
                if not ok:
                    return False, None, f"a table with {_q(key)} = {_type_name(value[key])}"
            out[key] = item
        return True, out, ""
    # bool is an int subclass in Python; TOML keeps them apart and so do we.
    if typ is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif typ is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value  # so `1` and `1.0` configure (and hash) alike
    else:
        try:
            ok = isinstance(value, typ)
        except TypeError:  # a typing construct we can't check: trust the rule to cope
            ok = True
    return ok, value if ok else None, "" if ok else _type_name(value)


def _string_list(src: _Source, section: Sequence[str], key: str, value: Any) -> tuple[str, ...]:
    ok, items, got = _check_value(value, list, str)
    if not ok:
        raise src.error(section, f"{_q(key)} must be a list of strings, got {got}", key)
    return tuple(items)


_PREFIX = re.compile(r"[A-Z]+[0-9]*")


def _match_selector(selector: str, rules: Sequence[type]) -> frozenset[str] | None:
    """The codes `selector` picks out, or None when it names nothing."""
    if selector == "ALL":
        return frozenset(rule.code for rule in rules)
    exact = frozenset(rule.code for rule in rules if selector in (rule.code, rule.name))
    if exact:
        return exact
    # The regex keeps '' and lowercase words from being read as prefixes of every code.
    if _PREFIX.fullmatch(selector):
        prefixed = frozenset(rule.code for rule in rules if rule.code.startswith(selector))
        if prefixed:
            return prefixed
    return None


def _expand(
    selectors: Iterable[str], rules: Sequence[type], where: str, make_error: Any
) -> set[str]:
    codes: set[str] = set()
    for selector in selectors:
        matched = _match_selector(selector, rules)
        if matched is None:
            candidates = ["ALL", *(r.code for r in rules), *(r.name for r in rules)]
            hint = _did_you_mean(selector, candidates)
            raise make_error(f"{where}unknown rule selector {_q(selector)}{hint}")
        codes |= matched
    return codes


def resolve_selection(
    select: Iterable[str] | None,
    extend_select: Iterable[str],
    ignore: Iterable[str],
    rules: Sequence[type],
    source: str,
) -> frozenset[str]:
    """enabled = (select, or ALL when None) + extend-select - ignore, as sets of codes.

    `source` names where the selectors came from ("pyproject.toml", "--select") and prefixes
    any error about a selector that matches no rule.
    """
    for selectors in (select, extend_select, ignore):
        if isinstance(selectors, str):  # a bare string would be read one letter at a time
            raise TypeError(f"selectors must be a sequence of strings, got {selectors!r}")

    def fail(message: str) -> ConfigError:
        return ConfigError(f"{source}: {message}")

    base = _expand(("ALL",) if select is None else select, rules, "", fail)
    return frozenset(base | _expand(extend_select, rules, "", fail)) - _expand(
        ignore, rules, "", fail
    )


def _rule_options(src: _Source, table: Any, rules: Sequence[type]) -> dict[str, dict[str, Any]]:
    if not isinstance(table, dict):
        raise src.error((), f'"rules" must be a table, got {_type_name(table)}', "rules")
    by_selector = {rule.code: rule for rule in rules} | {rule.name: rule for rule in rules}
    result: dict[str, dict[str, Any]] = {}
    written_as: dict[str, str] = {}
    for selector, options in table.items():
        rule = by_selector.get(selector)
        if rule is None:
            hint = _did_you_mean(selector, by_selector)
            raise src.error(("rules",), f"unknown rule {_q(selector)}{hint}", selector)
        section = ("rules", selector)
        if rule.code in written_as:  # by code and by name: which one wins would be a guess
            raise src.error(
                section,
                f"configures {rule.code} again (already set as"
                f" [{'.'.join((*src.prefix, 'rules', written_as[rule.code]))}])",
            )
        written_as[rule.code] = selector
        if not isinstance(options, dict):
            raise src.error(
                ("rules",), f"{_q(selector)} must be a table, got {_type_name(options)}", selector
            )
        declared = getattr(rule, "options", {}) or {}
        checked: dict[str, Any] = {}
        for key, value in options.items():
            option = declared.get(key)
            if option is None:
                if not declared:
                    raise src.error(
                        section, f"unknown option {_q(key)} ({rule.code} takes no options)", key
                    )
                hint = _did_you_mean(key, declared)
                raise src.error(section, f"unknown option {_q(key)}{hint}", key)
            ok, converted, got = _check_value(value, option.type, option.item_type)
            if not ok:
                wanted = _describe(option.type, option.item_type)
                raise src.error(section, f"{_q(key)} must be {wanted}, got {got}", key)
            checked[key] = converted
        result[rule.code] = checked
    return result


# -- reading files ---------------------------------------------------------------------------


def _read_toml(path: Path, label: str) -> dict[str, Any]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{label}: cannot read: {exc.strerror or exc}", path) from None
    try:
        text = data.decode("utf-8-sig")
        return tomllib.loads(text)
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{label}: not valid UTF-8 ({exc.reason} at byte {exc.start})", path
        ) from None
    except tomllib.TOMLDecodeError as exc:
        message = " ".join(str(exc).split())  # one line, whatever the parser produced
        raise ConfigError(f"{label}: invalid TOML: {message}", path) from None


def _greenlint_table(path: Path, label: str) -> dict[str, Any] | None:
    """The greenlint settings in `path`: [tool.greenlint] of a pyproject.toml, else the whole
    file; None for a pyproject.toml that has no [tool.greenlint]."""
    document = _read_toml(path, label)
    if path.name != PYPROJECT:
        return document
    tool = document.get("tool")
    if tool is None:
        return None
    if not isinstance(tool, dict):
        raise ConfigError(f'{label}: "tool" must be a table, got {_type_name(tool)}', path, "tool")
    table = tool.get("greenlint")
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ConfigError(
            f'{label}: [tool] "greenlint" must be a table, got {_type_name(table)}',
            path,
            "tool.greenlint",
        )
    return table


def _start_dir(path: Path) -> Path:
    return path if path.is_dir() else path.parent


def find_config(start: Path) -> Path | None:
    """The nearest pyproject.toml at or above `start` (a file or folder) with [tool.greenlint].

    A pyproject.toml without that table is passed over, as ruff does, so a tool-less
    pyproject.toml in a sub-package doesn't hide the project's configuration. One that isn't
    valid TOML is an error rather than skipped: it might hold the settings the user meant.
    """
    cwd = Path.cwd()
    first = _start_dir(_abspath(Path(start)))
    for folder in (first, *first.parents):
        candidate = folder / PYPROJECT
        if (
            candidate.is_file()
            and _greenlint_table(candidate, _display(candidate, cwd)) is not None
        ):
            return candidate
    return None


# -- building settings -----------------------------------------------------------------------


def _build(
    config_path: Path | None,
    table: Mapping[str, Any],
    rules: Sequence[type],
    overrides: CliOverrides,
    cwd: Path,
) -> Settings:
    if config_path is None:
        src = _Source(cwd / PYPROJECT, "(defaults)", ())  # never used: an empty table can't err
        root = cwd
    else:
        prefix = ("tool", "greenlint") if config_path.name == PYPROJECT else ()
        src = _Source(config_path, _display(config_path, cwd), prefix)
        root = config_path.parent

    for key in table:
        if key not in _KEYS:
            hint = _did_you_mean(key, _KEYS)
            if key == "tool" and not src.prefix:  # pyproject layout pasted into greenlint.toml
                hint = f" ({config_path.name} holds the [tool.greenlint] keys at its top level)"
            raise src.error((), f"unknown key {_q(key)}{hint}", key)

    def strings(key: str) -> tuple[str, ...] | None:
        return _string_list(src, (), key, table[key]) if key in table else None

    def selection(key: str, selectors: Iterable[str]) -> set[str]:
        return _expand(selectors, rules, f"{_q(key)}: ", lambda msg: src.error((), msg, key))

    def cli(flag: str, selectors: Iterable[str]) -> set[str]:
        return _expand(selectors, rules, "", lambda msg: ConfigError(f"{flag}: {msg}"))

    # As in ruff, CLI --select starts afresh: the config's select, extend-select and ignore
    # are still validated (a typo shouldn't hide) but no longer apply. CLI --extend-select
    # and --ignore add to whichever selection is in force.
    config_select = strings("select")
    config_extend = selection("extend-select", strings("extend-select") or ())
    config_ignore = selection("ignore", strings("ignore") or ())
    if overrides.select is not None:
        enabled = cli("--select", overrides.select)
        if config_select is not None:
            selection("select", config_select)
    else:
        enabled = selection("select", ("ALL",) if config_select is None else config_select)
        enabled = (enabled | config_extend) - config_ignore
    enabled |= cli("--extend-select", overrides.extend_select)
    enabled -= cli("--ignore", overrides.ignore)

    unsafe_fixes = table.get("unsafe-fixes", False)
    if not isinstance(unsafe_fixes, bool):
        raise src.error(
            (), f'"unsafe-fixes" must be a boolean, got {_type_name(unsafe_fixes)}', "unsafe-fixes"
        )
    if overrides.unsafe_fixes is not None:
        unsafe_fixes = overrides.unsafe_fixes

    fail_on = table.get("fail-on", "low")
    if fail_on not in IMPACTS:
        choices = ", ".join(f'"{i}"' for i in IMPACTS)
        shown = f"{_q(fail_on)}{_did_you_mean(fail_on, IMPACTS)}" if isinstance(fail_on, str) else _type_name(fail_on)
        raise src.error((), f'"fail-on" must be one of {choices}, got {shown}', "fail-on")
    if overrides.fail_on is not None:
        fail_on = overrides.fail_on

    exclude = strings("exclude")
    if overrides.exclude is not None:
        exclude = tuple(overrides.exclude)
    extend_exclude = (strings("extend-exclude") or ()) + tuple(overrides.extend_exclude)

    per_file_ignores: list[tuple[str, frozenset[str]]] = []
    pfi = table.get("per-file-ignores", {})
    if not isinstance(pfi, dict):
        raise src.error(
            (), f'"per-file-ignores" must be a table, got {_type_name(pfi)}', "per-file-ignores"
        )
    section = ("per-file-ignores",)
    for glob, value in pfi.items():
        selectors = _string_list(src, section, glob, value)
        codes = _expand(
            selectors, rules, f"{_q(glob)}: ", lambda msg, g=glob: src.error(section, msg, g)
        )
        per_file_ignores.append((glob, frozenset(codes)))

    options = _rule_options(src, table.get("rules", {}), rules)

    return Settings(
        enabled=frozenset(enabled),
        unsafe_fixes=unsafe_fixes,
        fail_on=fail_on,
        exclude=DEFAULT_EXCLUDE if exclude is None else exclude,
        extend_exclude=extend_exclude,
        per_file_ignores=tuple(per_file_ignores),
        rule_options=options,
        config_path=config_path,
        root=root,
    )


def load_settings(
    config_path: Path | None,
    rules: Sequence[type],
    overrides: CliOverrides = CliOverrides(),
    cwd: Path | None = None,
) -> Settings:
    """Settings from `config_path` (None: the defaults, rooted at `cwd`) with CLI overrides.

    A file named pyproject.toml is read from its [tool.greenlint] table (an absent table means
    the defaults, rooted at the file's folder); any other file, such as greenlint.toml, holds the
    same keys at its top level. Raises ConfigError for anything wrong.
    """
    cwd = _abspath(Path(cwd) if cwd is not None else Path.cwd())
    rules = tuple(rules)
    if config_path is None:
        return _build(None, {}, rules, overrides, cwd)
    path = _abspath(Path(config_path), cwd)
    table = _greenlint_table(path, _display(path, cwd))
    return _build(path, table or {}, rules, overrides, cwd)


class SettingsResolver:
    """Settings for each file: from the nearest config above it, each config loaded once.

    An explicit --config applies to every file. A file with no config above it gets the config
    found from the working directory, else the defaults (ruff's fallback).
    """

    def __init__(
        self,
        rules: Sequence[type],
        overrides: CliOverrides = CliOverrides(),
        explicit_config: Path | None = None,
        cwd: Path | None = None,
    ) -> None:
        self._rules = tuple(rules)
        self._overrides = overrides
        self._cwd = _abspath(Path(cwd) if cwd is not None else Path.cwd())
        self._folder_config: dict[Path, Path | None] = {}
        self._tables: dict[Path, dict[str, Any]] = {}
        self._settings: dict[Path | None, Settings] = {}
        self._fallback: Settings | None = None
        self._by_folder: dict[str, Settings] = {}
        # Loaded now, so a broken --config fails before any file is looked at.
        self._explicit = (
            load_settings(explicit_config, self._rules, overrides, self._cwd)
            if explicit_config is not None
            else None
        )

    def settings_for(self, path: Path) -> Settings:
        if self._explicit is not None:
            return self._explicit
        config = self._config_for(_start_dir(_abspath(Path(path), self._cwd)))
        if config is None:
            return self._fallback_settings()
        return self._load(config)

    def settings_for_file(self, path: Path) -> Settings:
        """settings_for a path known to be a file: no stat, and looked up once per folder."""
        folder = os.path.dirname(path)
        settings = self._by_folder.get(folder)
        if settings is None:
            settings = self._by_folder[folder] = self.settings_for(Path(folder) if folder else self._cwd)
        return settings

    def _load(self, config: Path) -> Settings:
        settings = self._settings.get(config)
        if settings is None:
            settings = _build(config, self._tables[config], self._rules, self._overrides, self._cwd)
            self._settings[config] = settings
        return settings

    def _fallback_settings(self) -> Settings:
        if self._fallback is None:
            config = self._config_for(self._cwd)
            if config is None:
                self._fallback = _build(None, {}, self._rules, self._overrides, self._cwd)
            else:
                self._fallback = self._load(config)
        return self._fallback

    def _config_for(self, folder: Path) -> Path | None:
        """find_config, memoised per folder so each is looked at once per run."""
        walked: list[Path] = []
        found: Path | None = None
        current = folder
        while True:
            if current in self._folder_config:
                found = self._folder_config[current]
                break
            walked.append(current)
            candidate = current / PYPROJECT
            if candidate.is_file():
                table = _greenlint_table(candidate, _display(candidate, self._cwd))
                if table is not None:
                    self._tables[candidate] = table
                    found = candidate
                    break
            if current.parent == current:
                break
            current = current.parent
        for visited in walked:
            self._folder_config[visited] = found
        return found
