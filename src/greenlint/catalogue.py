"""The user-facing rule catalogue: one Markdown page per rule (ruff's rule-doc style).

The pages live in the repository's top-level `rules/` folder. A wheel ships them as the data
folder `greenlint/catalogue_data/` (pyproject.toml maps the package `greenlint.catalogue_data` to
`rules/`). In a source checkout, an editable install included, they are read from `rules/`
directly, so editing a page needs no reinstall.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

from greenlint.data import shipped_dir

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

_TITLE = re.compile(r"^#\s+(?P<code>[A-Z]+[0-9]+)\s+(?P<name>[a-z0-9]+(?:-[a-z0-9]+)*)\s*$")
_SECTION = re.compile(r"^##\s+(?P<heading>\S.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


@dataclass(frozen=True)
class CatalogueEntry:
    """One rule page: `code` ("GL101"), `name` ("inference-without-no-grad"), `title` (the title
    line without its "# "), the whole `markdown` text and its `## ` sections, heading -> body
    (stripped), in the order they appear."""

    code: str
    name: str
    title: str
    markdown: str
    sections: dict[str, str] = field(default_factory=dict)
    source: str = ""  # where the page was read from, for messages

    def section(self, heading: str) -> str | None:
        """The body of a section by its heading, compared case-insensitively."""
        wanted = heading.strip().lower()
        for key, body in self.sections.items():
            if key.lower() == wanted:
                return body
        return None


class CatalogueError(ValueError):
    """A catalogue page that does not start with a `# CODE name` title line."""


def parse(markdown: str, source: str = "<string>") -> CatalogueEntry:
    """A catalogue entry from a page's Markdown text. Headings inside fenced code blocks (a
    `# bad` comment in an example, say) are not section breaks."""
    lines = markdown.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    match = _TITLE.match(lines[first]) if first is not None else None
    if match is None:
        raise CatalogueError(f"{source}: the first line must be a title like '# GL101 rule-name'")
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    fenced = False
    for line in lines[first + 1 :]:
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            heading = _SECTION.match(line)
            if heading is not None:
                current = sections.setdefault(heading["heading"], [])
                continue
        if current is not None:
            current.append(line)
    return CatalogueEntry(
        code=match["code"],
        name=match["name"],
        title=lines[first][1:].strip(),
        markdown=markdown,
        sections={heading: "\n".join(body).strip() for heading, body in sections.items()},
        source=source,
    )


def _data_dir() -> Traversable | None:
    """Where the pages are: the wheel's package data, else a source checkout's `rules/`."""
    folder = shipped_dir("catalogue_data", "rules")
    return folder if folder is not None and any(i.name.endswith(".md") for i in folder.iterdir()) else None


@lru_cache(maxsize=1)
def _load() -> tuple[CatalogueEntry, ...]:
    folder = _data_dir()
    if folder is None:
        return ()
    pages = [item for item in folder.iterdir() if item.name.endswith(".md") and item.is_file()]
    found = [parse(page.read_text(encoding="utf-8"), source=str(page)) for page in pages]
    return tuple(sorted(found, key=lambda e: e.code))


def entries() -> list[CatalogueEntry]:
    """Every catalogue entry, sorted by code."""
    return list(_load())


def entry(code_or_name: str) -> CatalogueEntry | None:
    """The entry for a rule code (any case: "GL101", "gl101") or name
    ("inference-without-no-grad"), if the catalogue has one."""
    wanted = code_or_name.strip()
    for item in _load():
        if wanted.upper() == item.code or wanted.lower() == item.name:
            return item
    return None
