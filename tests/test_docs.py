"""The documentation site builds strictly (`mkdocs build --strict`, as CI runs it), every
registered rule has its page at the address findings link to (DOCS_URL), and the CLI reference
names every option of `greenlint check`."""

from __future__ import annotations

import html
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from greenlint.cli import main
from greenlint.diagnostics import DOCS_URL
from greenlint.rules.base import all_rules

pytest.importorskip("mkdocs", reason="mkdocs is not installed (pip install -e '.[dev]')")
pytest.importorskip("material", reason="mkdocs-material is not installed (pip install -e '.[dev]')")

ROOT = Path(__file__).resolve().parents[1]
SITE_URL = "https://greenlint.dev/"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(ROOT / "mkdocs.yml"), "-d", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"}  # material's banner about MkDocs 2,
    )
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stdout}\n{result.stderr}"
    return out


def test_every_rule_has_its_page_where_findings_link(site: Path) -> None:
    assert DOCS_URL.startswith(SITE_URL)
    for rule in all_rules():
        url = DOCS_URL.format(name=rule.name)
        page = site / url[len(SITE_URL) :] / "index.html"
        assert page.is_file(), f"{rule.code}: no page at {url}"
        text = page.read_text(encoding="utf-8")
        assert f"{rule.code} {rule.name}" in text
        assert f"<strong>{rule.impact}</strong>" in text, f"{rule.code}: impact missing from its page"


def test_rules_index_lists_every_rule(site: Path) -> None:
    text = (site / "rules" / "index.html").read_text(encoding="utf-8")
    for rule in all_rules():
        assert f'href="{rule.name}/"' in text, f"{rule.code} is missing from the rules index"
        assert html.escape(rule.summary, quote=False).split("`")[0] in text


def test_cli_page_names_every_option_of_check(site: Path) -> None:
    text = html.unescape((site / "cli" / "index.html").read_text(encoding="utf-8"))
    check = main.commands["check"]
    options = [p for p in check.params if isinstance(p, click.Option)]
    assert options
    for option in options:
        for name in (*option.opts, *option.secondary_opts):
            assert f"<code>{name}</code>" in text, f"greenlint check {name} is missing from the CLI reference"
    for command in main.commands:
        assert f"greenlint {command}" in text


def test_workflow_files_are_published(site: Path) -> None:
    for name in ("github-actions.yml", "gitlab-ci.yml"):
        published = site / "integrations" / name
        assert published.read_bytes() == (ROOT / "docs" / "integrations" / name).read_bytes()
    page = (site / "integrations" / "github-actions" / "index.html").read_text(encoding="utf-8")
    assert "upload-sarif" in page and "--output-format sarif" in html.unescape(page)
