"""The user-facing catalogue (rules/*.md) against the registered rules, and its packaging."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from greenlint import catalogue
from greenlint.catalogue import CatalogueError, entries, entry, parse
from greenlint.rules.base import all_rules

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
RULES = all_rules()
ENTRIES = entries()
REQUIRED_SECTIONS = (
    "What it does",
    "Why it costs energy",
    "Example",
    "Use instead",
    "Fix safety",
    "When it stays silent",
    "Options",
    "References",
)
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+\S", re.MULTILINE)


def _by_code(code: str):
    found = entry(code)
    assert found is not None, f"{code} has no catalogue entry: add rules/{code}.md"
    return found


def test_catalogue_is_found():
    assert ENTRIES, "no catalogue entries found (rules/*.md, or greenlint/catalogue_data in a wheel)"


def test_every_rule_has_an_entry():
    missing = [rule.code for rule in RULES if entry(rule.code) is None]
    assert not missing, f"registered rules without a catalogue entry (rules/<CODE>.md): {missing}"


def test_every_entry_names_a_registered_rule():
    registered = {rule.code for rule in RULES}
    orphans = [f"{e.code} ({e.source})" for e in ENTRIES if e.code not in registered]
    assert not orphans, f"catalogue entries for no registered rule: {orphans}"


def test_codes_are_unique():
    codes = [e.code for e in ENTRIES]
    assert len(codes) == len(set(codes)), codes


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_title_line_matches_rule(rule):
    found = _by_code(rule.code)
    assert found.title == f"{rule.code} {rule.name}", found.source
    first_line = found.markdown.lstrip().splitlines()[0]
    assert first_line == f"# {rule.code} {rule.name}", found.source
    assert entry(rule.name) is found


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_required_sections_in_order_and_non_empty(rule):
    found = _by_code(rule.code)
    headings = list(found.sections)
    missing = [s for s in REQUIRED_SECTIONS if s not in found.sections]
    assert not missing, f"{found.source}: missing sections {missing}"
    order = [h for h in headings if h in REQUIRED_SECTIONS]
    assert order == list(REQUIRED_SECTIONS), f"{found.source}: sections out of order: {order}"
    empty = [s for s in REQUIRED_SECTIONS if not found.sections[s].strip()]
    assert not empty, f"{found.source}: empty sections {empty}"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_fix_safety_names_declared_applicability(rule):
    text = _by_code(rule.code).sections["Fix safety"].lower()
    if rule.fix_applicability is None:
        assert "no fix" in text, f"{rule.code} offers no fix; its Fix safety section must say 'no fix'"
    else:
        word = rule.fix_applicability.value  # safe / unsafe / display-only
        assert re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text), (
            f"{rule.code} declares fix_applicability={word!r}; its Fix safety section must name it"
        )


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_options_section_documents_every_option(rule):
    text = _by_code(rule.code).sections["Options"]
    undocumented = [name for name in rule.options if f"`{name}`" not in text]
    assert not undocumented, f"{rule.code}: options not documented in its Options section: {undocumented}"


@pytest.mark.parametrize("found", ENTRIES, ids=lambda e: e.code)
def test_references_have_items(found):
    assert _LIST_ITEM.search(found.sections.get("References", "")), f"{found.source}: References lists nothing"


# -- the loader ------------------------------------------------------------------------------


def test_lookup_by_code_any_case_and_by_name():
    rule = RULES[0]
    found = entry(rule.code)
    assert entry(rule.code.lower()) is found
    assert entry(rule.name) is found
    assert entry("GL000-not-a-rule") is None


def test_parse_ignores_headings_in_code_fences():
    page = "# GL999 some-rule\n\n## Example\n\n```python\n## not a heading\nx = 1\n```\n\n## References\n\n* a\n"
    parsed = parse(page)
    assert (parsed.code, parsed.name, parsed.title) == ("GL999", "some-rule", "GL999 some-rule")
    assert list(parsed.sections) == ["Example", "References"]
    assert "## not a heading" in parsed.sections["Example"]
    assert parsed.section("references") == "* a"


def test_parse_rejects_a_page_without_title():
    with pytest.raises(CatalogueError):
        parse("## What it does\n\nnothing\n", "bad.md")


def test_entries_are_sorted_copies():
    first = entries()
    assert [e.code for e in first] == sorted(e.code for e in first)
    first.clear()
    assert entries(), "entries() must return a fresh list"


# -- packaging -------------------------------------------------------------------------------


def _setuptools_config() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as handle:
        return tomllib.load(handle)["tool"]["setuptools"]


def test_catalogue_ships_in_the_wheel():
    config = _setuptools_config()
    assert config["package-dir"].get("greenlint.catalogue_data") == "rules"
    assert "greenlint.catalogue_data" in config["packages"]
    assert "*.md" in config["package-data"]["greenlint.catalogue_data"]
    on_disk = sorted(p.name for p in (ROOT / "rules").glob("*.md"))
    assert on_disk == sorted(Path(e.source).name for e in ENTRIES)


def test_every_source_package_is_listed():
    """pyproject.toml lists packages explicitly (the catalogue mapping needs it): a subpackage
    missing from the list would silently drop out of the wheel."""
    listed = set(_setuptools_config()["packages"])
    src = ROOT / "src"
    found = {
        ".".join(init.parent.relative_to(src).parts)
        for init in src.rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    missing = sorted(found - listed)
    assert not missing, f"add these packages to [tool.setuptools] packages in pyproject.toml: {missing}"


def test_catalogue_reads_rules_folder_in_a_checkout():
    folder = catalogue._data_dir()
    assert folder is not None
    assert any(item.name.endswith(".md") for item in folder.iterdir())
