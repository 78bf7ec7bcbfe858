"""GitLab Code Quality JSON (a subset of Code Climate's issue format).

The fingerprint identifies a finding across commits: a SHA-256 of the file path, the rule and
the text of the finding's first line (whitespace-stripped), plus how many identical ones came
before it in the file. It does not include the line number, so a finding that merely moves
keeps its fingerprint and GitLab does not report it as fixed-and-new.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence

from greenlint.formats._common import RunInfo, display_path, rule_id, span
from greenlint.report import FileReport, with_impact

# GitLab's severities are info, minor, major, critical, blocker.
SEVERITY = {"high": "major", "medium": "minor", "low": "minor"}


def fingerprint(path: str, code: str, line_text: str, occurrence: int = 0) -> str:
    digest = hashlib.sha256()
    for part in (path, code, line_text.strip(), str(occurrence)):
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    return digest.hexdigest()


def render_gitlab(reports: Sequence[FileReport], info: RunInfo) -> str:
    issues = []
    for report in reports:
        path = display_path(report, info.cwd)
        seen: Counter = Counter()
        for d in report.diagnostics:
            row, _, end_row, _ = span(report, d)
            code = rule_id(d)
            text = report.lines.line_text(report.lines.row_col(d.start)[0])
            key = (code, text.strip())
            issues.append(
                {
                    "type": "issue",
                    "check_name": code,
                    "description": f"{code} {with_impact(d)}" if d.code else with_impact(d),
                    "categories": ["Performance"] if d.code else ["Bug Risk"],
                    "severity": SEVERITY.get(d.impact or "", "major"),
                    "fingerprint": fingerprint(path, code, text, seen[key]),
                    "location": {"path": path, "lines": {"begin": row, "end": end_row}},
                }
            )
            seen[key] += 1
    return json.dumps(issues, indent=2) + "\n"
