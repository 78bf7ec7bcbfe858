"""GitHub Actions workflow commands: each finding becomes an annotation on the pull request.

    ::warning file=a.py,line=6,col=21,endLine=6,endColumn=29,title=GL101 inference-without-no-grad::...

Escaping follows GitHub's toolkit (`@actions/core`): in the message `%`, CR and LF become
`%25`, `%0D` and `%0A`; in property values `:` and `,` also become `%3A` and `%2C`.
"""

from __future__ import annotations

from collections.abc import Sequence

from greenlint.formats._common import RunInfo, display_path, span, title
from greenlint.report import FileReport, with_impact


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(reports: Sequence[FileReport], info: RunInfo) -> str:
    out = []
    for report in reports:
        path = display_path(report, info.cwd)
        for d in report.diagnostics:
            row, column, end_row, end_column = span(report, d)
            level = "warning" if d.code else "error"
            props = {
                "file": path,
                "line": row,
                "col": column,
                "endLine": end_row,
                "endColumn": end_column,
                "title": title(d),
            }
            joined = ",".join(f"{key}={escape_property(str(value))}" for key, value in props.items())
            out.append(f"::{level} {joined}::{escape_data(with_impact(d))}\n")
    return "".join(out)
