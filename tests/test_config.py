"""Configuration: discovery, each key, each error, CLI overrides, per-file-ignores, fingerprint."""

from __future__ import annotations

import pickle
import textwrap
from pathlib import Path
from typing import Any, ClassVar

import pytest

from greenlint.config import (
    DEFAULT_EXCLUDE,
    CliOverrides,
    ConfigError,
    Settings,
    SettingsResolver,
    find_config,
    load_settings,
    resolve_selection,
)
from greenlint.rules.base import Option


# Stand-ins for registered rules: only the attributes config reads.
class NoGrad:
    code = "GL101"
    name = "inference-without-no-grad"
    options: ClassVar[dict[str, Option]] = {
        "inference-names": Option(list, ["predict"], "Functions treated as inference.", str),
        "max-depth": Option(int, 3, "How deep to look."),
        "threshold": Option(float, 0.5, "A ratio."),
        "strict": Option(bool, False, "Flag more."),
    }


class EvalMode:
    code = "GL102"
    name = "eval-without-train-toggle"
    options: ClassVar[dict[str, Option]] = {}


class Workers:
    code = "GL201"
    name = "dataloader-without-workers"
    options: ClassVar[dict[str, Option]] = {"min-workers": Option(int, 2, "Workers to suggest.")}


class Precision:
    code = "GL301"
    name = "float64-training"
    options: ClassVar[dict[str, Option]] = {}


RULES = [NoGrad, EvalMode, Workers, Precision]
ALL = frozenset({"GL101", "GL102", "GL201", "GL301"})


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def pyproject(folder: Path, body: str) -> Path:
    """A pyproject.toml whose [tool.greenlint] table is `body`."""
    return write(folder / "pyproject.toml", "[tool.greenlint]\n" + textwrap.dedent(body))


def load(folder: Path, body: str, overrides: CliOverrides | None = None) -> Settings:
    return load_settings(pyproject(folder, body), RULES, overrides or CliOverrides(), cwd=folder)


def config_error(folder: Path, body: str, overrides: CliOverrides | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        load(folder, body, overrides)
    message = str(info.value)
    assert "\n" not in message
    return message


# -- defaults and each key -------------------------------------------------------------------


def test_defaults_without_a_config(tmp_path: Path) -> None:
    settings = load_settings(None, RULES, cwd=tmp_path)
    assert settings.enabled == ALL
    assert settings.unsafe_fixes is False
    assert settings.exclude == DEFAULT_EXCLUDE
    assert settings.extend_exclude == ()
    assert settings.per_file_ignores == ()
    assert dict(settings.rule_options) == {}
    assert settings.config_path is None
    assert settings.root == tmp_path


def test_empty_table_means_defaults_rooted_at_the_config(tmp_path: Path) -> None:
    settings = load(tmp_path / "proj", "")
    assert settings.enabled == ALL
    assert settings.config_path == tmp_path / "proj" / "pyproject.toml"
    assert settings.root == tmp_path / "proj"


def test_select_replaces_the_default(tmp_path: Path) -> None:
    assert load(tmp_path, 'select = ["GL101", "GL201"]').enabled == {"GL101", "GL201"}


def test_empty_select_enables_nothing(tmp_path: Path) -> None:
    assert load(tmp_path, "select = []").enabled == frozenset()


def test_extend_select_adds_to_select(tmp_path: Path) -> None:
    settings = load(tmp_path, 'select = ["GL101"]\nextend-select = ["GL301"]')
    assert settings.enabled == {"GL101", "GL301"}


def test_ignore_wins_over_select_and_extend_select(tmp_path: Path) -> None:
    settings = load(
        tmp_path, 'select = ["GL1"]\nextend-select = ["GL201"]\nignore = ["GL101", "GL201"]'
    )
    assert settings.enabled == {"GL102"}


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("ALL", ALL),
        ("GL", ALL),
        ("GL1", {"GL101", "GL102"}),
        ("GL10", {"GL101", "GL102"}),
        ("GL20", {"GL201"}),
        ("GL102", {"GL102"}),
        ("dataloader-without-workers", {"GL201"}),
    ],
)
def test_selectors(tmp_path: Path, selector: str, expected: set[str]) -> None:
    assert load(tmp_path, f'select = ["{selector}"]').enabled == expected


def test_resolve_selection_directly() -> None:
    assert resolve_selection(None, (), (), RULES, "x") == ALL
    assert resolve_selection(["GL1"], ["GL3"], ["GL101"], RULES, "x") == {"GL102", "GL301"}
    with pytest.raises(ConfigError, match=r'^somewhere: unknown rule selector "GL9"'):
        resolve_selection(["GL9"], (), (), RULES, "somewhere")
    with pytest.raises(TypeError):
        resolve_selection("GL101", (), (), RULES, "x")  # a string is not a list of selectors


def test_exclude_replaces_defaults_and_extend_exclude_adds(tmp_path: Path) -> None:
    settings = load(tmp_path, 'exclude = ["gen/"]\nextend-exclude = ["*_pb2.py"]')
    assert settings.exclude == ("gen/",)
    assert settings.extend_exclude == ("*_pb2.py",)
    assert load(tmp_path, 'extend-exclude = ["x"]').exclude == DEFAULT_EXCLUDE


def test_unsafe_fixes(tmp_path: Path) -> None:
    assert load(tmp_path, "unsafe-fixes = true").unsafe_fixes is True
    assert load(tmp_path, "unsafe-fixes = false").unsafe_fixes is False


def test_rule_options_by_code_and_by_name(tmp_path: Path) -> None:
    settings = load(
        tmp_path,
        """
        [tool.greenlint.rules.GL101]
        inference-names = ["predict", "generate"]
        max-depth = 5
        threshold = 1
        strict = true
        [tool.greenlint.rules.dataloader-without-workers]
        min-workers = 4
        """,
    )
    assert dict(settings.rule_options["GL101"]) == {
        "inference-names": ["predict", "generate"],
        "max-depth": 5,
        "threshold": 1.0,
        "strict": True,
    }
    assert isinstance(settings.rule_options["GL101"]["threshold"], float)
    assert dict(settings.rule_options["GL201"]) == {"min-workers": 4}  # keyed by code


def test_rule_options_are_read_only(tmp_path: Path) -> None:
    settings = load(tmp_path, "[tool.greenlint.rules.GL201]\nmin-workers = 4")
    with pytest.raises(TypeError):
        settings.rule_options["GL201"]["min-workers"] = 1  # type: ignore[index]
    with pytest.raises(TypeError):
        settings.rule_options["GL101"] = {}  # type: ignore[index]


def test_greenlint_toml_holds_the_keys_at_top_level(tmp_path: Path) -> None:
    path = write(
        tmp_path / "greenlint.toml",
        """
        select = ["GL2"]
        unsafe-fixes = true
        [rules.GL201]
        min-workers = 8
        """,
    )
    settings = load_settings(path, RULES, cwd=tmp_path)
    assert settings.enabled == {"GL201"}
    assert settings.unsafe_fixes is True
    assert dict(settings.rule_options["GL201"]) == {"min-workers": 8}
    assert settings.root == tmp_path


def test_explicit_pyproject_without_the_table_gives_defaults(tmp_path: Path) -> None:
    path = write(tmp_path / "pyproject.toml", '[project]\nname = "x"\n')
    settings = load_settings(path, RULES, cwd=tmp_path)
    assert settings.enabled == ALL
    assert settings.root == tmp_path


def test_relative_config_path_is_taken_from_cwd(tmp_path: Path) -> None:
    pyproject(tmp_path / "proj", 'select = ["GL301"]')
    settings = load_settings(Path("proj/pyproject.toml"), RULES, cwd=tmp_path)
    assert settings.enabled == {"GL301"}
    assert settings.root == tmp_path / "proj"


# -- CLI overrides ---------------------------------------------------------------------------


def test_cli_select_replaces_config_select(tmp_path: Path) -> None:
    settings = load(tmp_path, 'select = ["GL1"]', CliOverrides(select=("GL301",)))
    assert settings.enabled == {"GL301"}


def test_cli_select_starts_afresh_like_ruff(tmp_path: Path) -> None:
    body = 'extend-select = ["GL101"]\nignore = ["GL201"]'
    settings = load(tmp_path, body, CliOverrides(select=("GL2", "GL3")))
    assert settings.enabled == {"GL201", "GL301"}


def test_cli_select_still_validates_the_config(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ignore"):
        load(tmp_path, 'ignore = ["GL999"]', CliOverrides(select=("GL2",)))


def test_cli_extend_select_and_ignore_add_to_the_config(tmp_path: Path) -> None:
    body = 'select = ["GL1"]\nextend-select = ["GL201"]\nignore = ["GL102"]'
    settings = load(tmp_path, body, CliOverrides(extend_select=("GL301",), ignore=("GL101",)))
    assert settings.enabled == {"GL201", "GL301"}


def test_cli_unsafe_fixes_overrides_either_way(tmp_path: Path) -> None:
    assert (
        load(tmp_path, "unsafe-fixes = true", CliOverrides(unsafe_fixes=False)).unsafe_fixes
        is False
    )
    assert (
        load(tmp_path, "unsafe-fixes = false", CliOverrides(unsafe_fixes=True)).unsafe_fixes is True
    )
    assert load(tmp_path, "unsafe-fixes = true", CliOverrides()).unsafe_fixes is True


def test_cli_exclude_replaces_and_extend_exclude_adds(tmp_path: Path) -> None:
    body = 'exclude = ["a"]\nextend-exclude = ["b"]'
    settings = load(tmp_path, body, CliOverrides(exclude=("c",), extend_exclude=("d",)))
    assert settings.exclude == ("c",)
    assert settings.extend_exclude == ("b", "d")


def test_cli_overrides_apply_without_a_config(tmp_path: Path) -> None:
    settings = load_settings(
        None, RULES, CliOverrides(select=("GL1",), ignore=("GL102",)), cwd=tmp_path
    )
    assert settings.enabled == {"GL101"}


@pytest.mark.parametrize(
    ("overrides", "flag"),
    [
        (CliOverrides(select=("GL9",)), "--select"),
        (CliOverrides(extend_select=("GL9",)), "--extend-select"),
        (CliOverrides(ignore=("GL9",)), "--ignore"),
    ],
)
def test_unknown_cli_selector_names_the_flag(
    tmp_path: Path, overrides: CliOverrides, flag: str
) -> None:
    message = config_error(tmp_path, "", overrides)
    assert message.startswith(f'{flag}: unknown rule selector "GL9"')


def test_config_select_is_validated_even_when_cli_select_replaces_it(tmp_path: Path) -> None:
    message = config_error(tmp_path, 'select = ["GL999"]', CliOverrides(select=("GL1",)))
    assert message.startswith(
        'pyproject.toml: [tool.greenlint] "select": unknown rule selector "GL999"'
    )


# -- per-file-ignores ------------------------------------------------------------------------


def test_per_file_ignores_nested_path_and_basename(tmp_path: Path) -> None:
    settings = load(
        tmp_path,
        """
        [tool.greenlint.per-file-ignores]
        "src/legacy/**/*.py" = ["GL1"]
        "conftest.py" = ["GL201"]
        "scripts/*.py" = ["inference-without-no-grad"]
        """,
    )
    assert settings.enabled_for(tmp_path / "src/legacy/old.py") == {"GL201", "GL301"}
    assert settings.enabled_for(tmp_path / "src/legacy/deep/er/old.py") == {"GL201", "GL301"}
    assert settings.enabled_for(tmp_path / "src/new/old.py") == ALL
    # A pattern without '/' matches the file name at any depth.
    assert settings.enabled_for(tmp_path / "conftest.py") == ALL - {"GL201"}
    assert settings.enabled_for(tmp_path / "tests/unit/conftest.py") == ALL - {"GL201"}
    # '*' stays within one folder.
    assert settings.enabled_for(tmp_path / "scripts/run.py") == ALL - {"GL101"}
    assert settings.enabled_for(tmp_path / "scripts/sub/run.py") == ALL
    # Patterns stack.
    assert settings.enabled_for(tmp_path / "src/legacy/conftest.py") == {"GL301"}


def test_per_file_ignores_are_anchored_at_the_root(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    settings = load(root, '[tool.greenlint.per-file-ignores]\n"tests/*.py" = ["GL101"]')
    assert settings.enabled_for(root / "tests/test_a.py") == ALL - {"GL101"}
    assert settings.enabled_for(root / "pkg/tests/test_a.py") == ALL  # not at the root
    assert settings.enabled_for(tmp_path / "tests/test_a.py") == ALL  # outside the root


def test_per_file_ignores_relative_path_is_from_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load(tmp_path, '[tool.greenlint.per-file-ignores]\n"pkg/*.py" = ["GL101"]')
    (tmp_path / "pkg").mkdir()
    monkeypatch.chdir(tmp_path / "pkg")
    assert settings.enabled_for(Path("mod.py")) == ALL - {"GL101"}
    assert settings.enabled_for(Path("../other/mod.py")) == ALL


def test_per_file_ignores_through_a_symlinked_root(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    settings = load(link, '[tool.greenlint.per-file-ignores]\n"tests/*.py" = ["GL101"]')
    assert settings.root == link
    assert settings.enabled_for(real / "tests/test_a.py") == ALL - {"GL101"}


def test_per_file_ignores_pattern_forms(tmp_path: Path) -> None:
    settings = load(
        tmp_path,
        """
        [tool.greenlint.per-file-ignores]
        "!src/**" = ["GL301"]
        "./docs/" = ["GL201"]
        "**/test_?.py" = ["GL102"]
        "{bench,examples}/[a-c]*.py" = ["GL101"]
        """,
    )
    assert settings.enabled_for(tmp_path / "src/pkg/mod.py") == ALL  # negation: only outside src
    assert settings.enabled_for(tmp_path / "tools/x.py") == ALL - {"GL301"}
    assert settings.enabled_for(tmp_path / "docs/conf/x.py") == ALL - {"GL201", "GL301"}
    assert settings.enabled_for(tmp_path / "src/test_a.py") == ALL - {"GL102"}
    assert settings.enabled_for(tmp_path / "src/test_ab.py") == ALL
    assert settings.enabled_for(tmp_path / "examples/bert.py") == ALL - {"GL101", "GL301"}
    assert settings.enabled_for(tmp_path / "examples/dino.py") == ALL - {"GL301"}


def test_per_file_ignores_codes_only_subtract_enabled_rules(tmp_path: Path) -> None:
    settings = load(
        tmp_path, 'select = ["GL1"]\n[tool.greenlint.per-file-ignores]\n"*.py" = ["GL"]'
    )
    assert settings.enabled_for(tmp_path / "a.py") == frozenset()
    assert settings.enabled_for(tmp_path / "a.txt") == {"GL101", "GL102"}


# -- errors ----------------------------------------------------------------------------------


def test_unknown_key_suggests_the_right_one(tmp_path: Path) -> None:
    message = config_error(tmp_path, 'selct = ["GL101"]')
    assert (
        message == 'pyproject.toml: [tool.greenlint] unknown key "selct" (did you mean "select"?)'
    )


def test_unknown_key_snake_case(tmp_path: Path) -> None:
    message = config_error(tmp_path, "unsafe_fixes = true")
    assert message.endswith('unknown key "unsafe_fixes" (did you mean "unsafe-fixes"?)')


def test_unknown_key_without_a_close_match(tmp_path: Path) -> None:
    message = config_error(tmp_path, "zzz = 1")
    assert message == 'pyproject.toml: [tool.greenlint] unknown key "zzz"'


def test_error_carries_path_and_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, 'unsafe-fixes = "yes"')
    assert info.value.path == tmp_path / "pyproject.toml"
    assert info.value.key == "tool.greenlint.unsafe-fixes"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('select = "GL101"', '[tool.greenlint] "select" must be a list of strings, got str'),
        (
            "extend-select = [1]",
            '[tool.greenlint] "extend-select" must be a list of strings, got a list containing int',
        ),
        ("ignore = true", '[tool.greenlint] "ignore" must be a list of strings, got bool'),
        ('exclude = "build"', '[tool.greenlint] "exclude" must be a list of strings, got str'),
        (
            'extend-exclude = ["a", 2]',
            '[tool.greenlint] "extend-exclude" must be a list of strings,'
            " got a list containing int (item 2)",
        ),
        ('unsafe-fixes = "yes"', '[tool.greenlint] "unsafe-fixes" must be a boolean, got str'),
        (
            'per-file-ignores = ["x"]',
            '[tool.greenlint] "per-file-ignores" must be a table, got list',
        ),
        ('rules = ["GL101"]', '[tool.greenlint] "rules" must be a table, got list'),
        (
            '[tool.greenlint.per-file-ignores]\n"tests/*" = "GL101"',
            '[tool.greenlint.per-file-ignores] "tests/*" must be a list of strings, got str',
        ),
        (
            "[tool.greenlint.rules]\nGL101 = 3",
            '[tool.greenlint.rules] "GL101" must be a table, got int',
        ),
    ],
)
def test_wrong_types_name_the_file_and_key(tmp_path: Path, body: str, expected: str) -> None:
    message = config_error(tmp_path, body)
    assert message.startswith(f"pyproject.toml: {expected}")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "[tool.greenlint.rules.GL101]\ninference-names = 3",
            '[tool.greenlint.rules.GL101] "inference-names" must be a list of strings, got int',
        ),
        (
            '[tool.greenlint.rules.GL101]\ninference-names = ["a", 3]',
            '[tool.greenlint.rules.GL101] "inference-names" must be a list of strings,'
            " got a list containing int (item 2)",
        ),
        (
            '[tool.greenlint.rules.GL101]\nmax-depth = "3"',
            '[tool.greenlint.rules.GL101] "max-depth" must be an integer, got str',
        ),
        (
            # bool is an int in Python, not in TOML
            "[tool.greenlint.rules.GL101]\nmax-depth = true",
            '[tool.greenlint.rules.GL101] "max-depth" must be an integer, got bool',
        ),
        (
            "[tool.greenlint.rules.GL101]\nmax-depth = 2.5",
            '[tool.greenlint.rules.GL101] "max-depth" must be an integer, got float',
        ),
        (
            '[tool.greenlint.rules.GL101]\nthreshold = "high"',
            '[tool.greenlint.rules.GL101] "threshold" must be a number, got str',
        ),
        (
            "[tool.greenlint.rules.GL101]\nstrict = 1",
            '[tool.greenlint.rules.GL101] "strict" must be a boolean, got int',
        ),
        (
            "[tool.greenlint.rules.dataloader-without-workers]\nmin-workers = []",
            '[tool.greenlint.rules.dataloader-without-workers] "min-workers" must be an integer,'
            " got list",
        ),
    ],
)
def test_wrong_option_types_name_the_full_key(tmp_path: Path, body: str, expected: str) -> None:
    assert config_error(tmp_path, body) == f"pyproject.toml: {expected}"


def test_unknown_option_suggests(tmp_path: Path) -> None:
    message = config_error(tmp_path, "[tool.greenlint.rules.GL101]\ninference-name = []")
    assert message == (
        'pyproject.toml: [tool.greenlint.rules.GL101] unknown option "inference-name"'
        ' (did you mean "inference-names"?)'
    )


def test_option_for_a_rule_without_options(tmp_path: Path) -> None:
    message = config_error(tmp_path, "[tool.greenlint.rules.GL102]\nlevel = 1")
    assert (
        message == 'pyproject.toml: [tool.greenlint.rules.GL102] unknown option "level"'
        " (GL102 takes no options)"
    )


def test_unknown_rule_in_rules_table(tmp_path: Path) -> None:
    message = config_error(tmp_path, "[tool.greenlint.rules.GL2011]\nx = 1")
    assert message.startswith(
        'pyproject.toml: [tool.greenlint.rules] unknown rule "GL2011" (did you mean "GL201"?)'
    )


def test_same_rule_configured_by_code_and_name(tmp_path: Path) -> None:
    body = """
    [tool.greenlint.rules.GL201]
    min-workers = 1
    [tool.greenlint.rules.dataloader-without-workers]
    min-workers = 2
    """
    message = config_error(tmp_path, body)
    assert message.startswith(
        "pyproject.toml: [tool.greenlint.rules.dataloader-without-workers] configures GL201 again"
    )
    assert "[tool.greenlint.rules.GL201]" in message


@pytest.mark.parametrize("key", ["select", "extend-select", "ignore"])
def test_unknown_selector_names_file_and_key(tmp_path: Path, key: str) -> None:
    message = config_error(tmp_path, f'{key} = ["GL101", "GL999"]')
    assert message.startswith(
        f'pyproject.toml: [tool.greenlint] "{key}": unknown rule selector "GL999"'
    )


@pytest.mark.parametrize(
    ("selector", "suggestion"),
    [("gl101", "GL101"), ("all", "ALL"), ("inference-without-nograd", "inference-without-no-grad")],
)
def test_unknown_selector_suggests(tmp_path: Path, selector: str, suggestion: str) -> None:
    message = config_error(tmp_path, f'select = ["{selector}"]')
    assert message.endswith(f'unknown rule selector "{selector}" (did you mean "{suggestion}"?)')


@pytest.mark.parametrize("selector", ["", "G L", "gl", "GL4"])
def test_non_matching_selectors_are_rejected(tmp_path: Path, selector: str) -> None:
    assert "unknown rule selector" in config_error(tmp_path, f'select = ["{selector}"]')


def test_unknown_selector_in_per_file_ignores(tmp_path: Path) -> None:
    message = config_error(tmp_path, '[tool.greenlint.per-file-ignores]\n"tests/*" = ["GL9"]')
    assert message.startswith(
        'pyproject.toml: [tool.greenlint.per-file-ignores] "tests/*": unknown rule selector "GL9"'
    )


def test_bad_toml_is_one_line_with_the_parser_message(tmp_path: Path) -> None:
    path = write(tmp_path / "pyproject.toml", '[tool.greenlint]\nselect = ["GL101"\nignore = []\n')
    with pytest.raises(ConfigError) as info:
        load_settings(path, RULES, cwd=tmp_path)
    message = str(info.value)
    assert message.startswith("pyproject.toml: invalid TOML: ")
    assert "line 3" in message
    assert "\n" not in message


def test_invalid_utf8(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_bytes(b'[tool.greenlint]\nselect = ["\xff"]\n')
    with pytest.raises(ConfigError, match=r"^pyproject.toml: not valid UTF-8"):
        load_settings(path, RULES, cwd=tmp_path)


def test_missing_explicit_config(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^nope/greenlint.toml: cannot read: "):
        load_settings(Path("nope/greenlint.toml"), RULES, cwd=tmp_path)


def test_file_outside_cwd_is_named_in_full(tmp_path: Path) -> None:
    pyproject(tmp_path / "proj", "selct = []")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path / "proj" / "pyproject.toml", RULES, cwd=elsewhere)
    assert str(info.value).startswith(
        f"{tmp_path / 'proj' / 'pyproject.toml'}: [tool.greenlint] unknown key"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('tool = "x"\n', 'pyproject.toml: "tool" must be a table, got str'),
        ("[tool]\ngreenlint = 1\n", 'pyproject.toml: [tool] "greenlint" must be a table, got int'),
    ],
)
def test_misshapen_tool_table(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path / "pyproject.toml", text)
    with pytest.raises(ConfigError) as info:
        load_settings(path, RULES, cwd=tmp_path)
    assert str(info.value) == expected


def test_greenlint_toml_errors_have_no_tool_prefix(tmp_path: Path) -> None:
    path = write(tmp_path / "greenlint.toml", "[rules.GL101]\nmax-depth = 'deep'\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path, RULES, cwd=tmp_path)
    assert (
        str(info.value) == 'greenlint.toml: [rules.GL101] "max-depth" must be an integer, got str'
    )


def test_pyproject_layout_in_greenlint_toml_is_explained(tmp_path: Path) -> None:
    path = write(tmp_path / "greenlint.toml", '[tool.greenlint]\nselect = ["GL1"]\n')
    with pytest.raises(ConfigError) as info:
        load_settings(path, RULES, cwd=tmp_path)
    assert str(info.value) == (
        'greenlint.toml: unknown key "tool"'
        " (greenlint.toml holds the [tool.greenlint] keys at its top level)"
    )


# -- discovery -------------------------------------------------------------------------------


def test_find_config_skips_pyproject_without_the_table(tmp_path: Path) -> None:
    outer = pyproject(tmp_path, 'select = ["GL1"]')
    write(
        tmp_path / "pkg" / "pyproject.toml",
        '[project]\nname = "pkg"\n[tool.black]\nline-length = 99\n',
    )
    (tmp_path / "pkg" / "sub").mkdir()
    source = write(tmp_path / "pkg" / "sub" / "mod.py", "x = 1\n")
    assert find_config(source) == outer
    assert find_config(source.parent) == outer
    assert find_config(tmp_path) == outer


def test_find_config_takes_the_nearest(tmp_path: Path) -> None:
    pyproject(tmp_path, 'select = ["GL1"]')
    inner = pyproject(tmp_path / "pkg", 'select = ["GL2"]')
    assert find_config(tmp_path / "pkg" / "mod.py") == inner


def test_find_config_none(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[project]\n")
    found = find_config(tmp_path / "a" / "b.py")
    # Nothing under tmp_path qualifies (whatever may sit above it on this machine).
    assert found is None or tmp_path not in found.parents


def test_find_config_reports_broken_pyproject(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pyproject(tmp_path, 'select = ["GL1"]')
    write(tmp_path / "pkg" / "pyproject.toml", "[project\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"^pkg/pyproject.toml: invalid TOML"):
        find_config(tmp_path / "pkg" / "mod.py")


def test_resolver_uses_the_nearest_config_per_file(tmp_path: Path) -> None:
    pyproject(tmp_path, 'select = ["GL1"]')
    pyproject(tmp_path / "sub", 'select = ["GL2"]')
    write(tmp_path / "other" / "pyproject.toml", "[tool.ruff]\n")
    resolver = SettingsResolver(RULES, cwd=tmp_path)
    top = resolver.settings_for(tmp_path / "a.py")
    assert top.enabled == {"GL101", "GL102"}
    assert resolver.settings_for(tmp_path / "sub" / "deep" / "b.py").enabled == {"GL201"}
    assert resolver.settings_for(tmp_path / "other" / "c.py") is top  # loaded once, shared
    assert resolver.settings_for(Path("sub/x.py")).root == tmp_path / "sub"  # relative to cwd


def test_resolver_applies_overrides_to_every_config(tmp_path: Path) -> None:
    pyproject(tmp_path, 'select = ["GL1"]')
    pyproject(tmp_path / "sub", 'select = ["GL2"]')
    resolver = SettingsResolver(RULES, CliOverrides(extend_select=("GL301",)), cwd=tmp_path)
    assert resolver.settings_for(tmp_path / "a.py").enabled == {"GL101", "GL102", "GL301"}
    assert resolver.settings_for(tmp_path / "sub" / "b.py").enabled == {"GL201", "GL301"}


def test_resolver_explicit_config_applies_to_every_file(tmp_path: Path) -> None:
    explicit = write(tmp_path / "cfg" / "greenlint.toml", 'select = ["GL301"]\n')
    pyproject(tmp_path / "proj", 'select = ["GL1"]')
    resolver = SettingsResolver(RULES, explicit_config=explicit, cwd=tmp_path)
    settings = resolver.settings_for(tmp_path / "proj" / "a.py")
    assert settings.enabled == {"GL301"}
    assert settings.root == tmp_path / "cfg"


def test_resolver_reports_a_broken_explicit_config_up_front(tmp_path: Path) -> None:
    explicit = write(tmp_path / "greenlint.toml", "selct = []\n")
    with pytest.raises(ConfigError, match="unknown key"):
        SettingsResolver(RULES, explicit_config=explicit, cwd=tmp_path)


def test_resolver_falls_back_to_the_cwd_config_then_defaults(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    pyproject(project, 'select = ["GL3"]')
    outside = tmp_path / "scratch" / "x.py"
    assert SettingsResolver(RULES, cwd=project).settings_for(outside).enabled == {"GL301"}
    plain = tmp_path / "plain"
    plain.mkdir()
    defaults = SettingsResolver(RULES, cwd=plain).settings_for(outside)
    assert defaults.enabled == ALL
    assert defaults.config_path is None
    assert defaults.root == plain


# -- fingerprint -----------------------------------------------------------------------------

BASE = """
select = ["GL1", "GL2"]
ignore = ["GL102"]
exclude = ["build"]
extend-exclude = ["gen"]
unsafe-fixes = false
[tool.greenlint.per-file-ignores]
"tests/*.py" = ["GL101"]
[tool.greenlint.rules.GL101]
max-depth = 3
threshold = 0.5
inference-names = ["predict"]
"""


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('select = ["GL1", "GL2"]', 'select = ["GL1", "GL2", "GL3"]'),
        ('ignore = ["GL102"]', "ignore = []"),
        ('exclude = ["build"]', 'exclude = ["dist"]'),
        ('extend-exclude = ["gen"]', 'extend-exclude = ["gen", "out"]'),
        ("unsafe-fixes = false", "unsafe-fixes = true"),
        ('"tests/*.py" = ["GL101"]', '"tests/**/*.py" = ["GL101"]'),
        ('"tests/*.py" = ["GL101"]', '"tests/*.py" = ["GL101", "GL201"]'),
        ("max-depth = 3", "max-depth = 4"),
        ("threshold = 0.5", "threshold = 0.25"),
        ('inference-names = ["predict"]', 'inference-names = ["predict", "generate"]'),
        ('inference-names = ["predict"]', 'inference-names = ["predict"]\nstrict = false'),
    ],
)
def test_fingerprint_changes_with_each_setting(tmp_path: Path, old: str, new: str) -> None:
    assert old in BASE
    before = load(tmp_path / "a", BASE).fingerprint()
    after = load(tmp_path / "a", BASE.replace(old, new)).fingerprint()
    assert before != after


def test_fingerprint_changes_with_cli_overrides_and_root(tmp_path: Path) -> None:
    base = load(tmp_path / "a", BASE).fingerprint()
    assert load(tmp_path / "a", BASE, CliOverrides(unsafe_fixes=True)).fingerprint() != base
    assert load(tmp_path / "a", BASE, CliOverrides(extend_select=("GL301",))).fingerprint() != base
    assert load(tmp_path / "b", BASE).fingerprint() != base  # patterns anchor elsewhere


def test_fingerprint_ignores_what_cannot_change_results(tmp_path: Path) -> None:
    base = load(tmp_path, BASE).fingerprint()
    assert load(tmp_path, BASE).fingerprint() == base  # stable across loads
    assert len(base) == 64 and int(base, 16) >= 0
    equivalent = """
    # the same settings, written differently
    ignore = ["eval-without-train-toggle"]
    select = ["GL201", "GL10"]
    extend-exclude = ["gen"]
    exclude = ["build"]
    [tool.greenlint.rules.inference-without-no-grad]
    inference-names = ["predict"]
    threshold = 0.5
    max-depth = 3
    [tool.greenlint.per-file-ignores]
    "tests/*.py" = ["inference-without-no-grad"]
    """
    assert load(tmp_path, equivalent).fingerprint() == base
    # The same settings from greenlint.toml beside it: the file name is not a setting.
    standalone = textwrap.dedent(BASE).replace("[tool.greenlint.", "[")
    path = write(tmp_path / "greenlint.toml", standalone)
    assert load_settings(path, RULES, cwd=tmp_path).fingerprint() == base


def test_settings_equality_hash_and_pickle(tmp_path: Path) -> None:
    first, second = load(tmp_path, BASE), load(tmp_path, BASE)
    assert first == second
    assert hash(first) == hash(second)
    assert len({first, second}) == 1
    clone = pickle.loads(pickle.dumps(first))  # worker processes receive Settings this way
    assert clone == first
    assert clone.enabled_for(tmp_path / "tests/test_x.py") == {"GL201"}
    assert clone.fingerprint() == first.fingerprint()


def test_settings_built_directly_normalise_their_fields(tmp_path: Path) -> None:
    options: dict[str, Any] = {"GL101": {"max-depth": 2}}
    settings = Settings(
        enabled={"GL101", "GL201"},  # type: ignore[arg-type]
        per_file_ignores=[("*.py", {"GL101"})],  # type: ignore[arg-type]
        rule_options=options,
        root=tmp_path,
    )
    options["GL101"]["max-depth"] = 9  # the caller's dict no longer reaches the settings
    assert settings.rule_options["GL101"]["max-depth"] == 2
    assert settings.enabled_for(tmp_path / "m.py") == {"GL201"}
    assert isinstance(settings.enabled, frozenset)
