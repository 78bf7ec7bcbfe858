"""Report formats for CI systems, beside the ones in greenlint.report (text, concise, json):

* ``json-lines``: one ruff-style JSON object (the ``json`` format's items) per line;
* ``sarif``: SARIF 2.1.0, for GitHub code scanning and other SARIF viewers;
* ``github``: GitHub Actions workflow commands (``::warning file=...::...``), shown as annotations;
* ``junit``: JUnit XML, one testsuite per file and one failed testcase per finding;
* ``gitlab``: GitLab Code Quality JSON (a Code Climate subset).

Every format carries each finding's energy impact (high / medium / low). A renderer takes the
run's file reports and a :class:`RunInfo` and returns the whole report as one string.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from greenlint.formats._common import RunInfo
from greenlint.formats.github import render_github
from greenlint.formats.gitlab import render_gitlab
from greenlint.formats.jsonlines import render_json_lines
from greenlint.formats.junit import render_junit
from greenlint.formats.sarif import render_sarif
from greenlint.report import FileReport

RENDERERS: dict[str, Callable[[Sequence[FileReport], RunInfo], str]] = {
    "json-lines": render_json_lines,
    "junit": render_junit,
    "github": render_github,
    "gitlab": render_gitlab,
    "sarif": render_sarif,
}

# Formats that show fix edits: their findings need the edits resolved (and so no cache).
NEEDS_EDITS = frozenset({"json", "json-lines", "sarif"})


def render(output_format: str, reports: Sequence[FileReport], info: RunInfo) -> str:
    return RENDERERS[output_format](reports, info)


__all__ = ["NEEDS_EDITS", "RENDERERS", "RunInfo", "render"]
