"""JUnit XML, as CI test-report views read it: one testsuite per file with findings, one failed
testcase per finding (an `error` for a syntax error). A clean run is one passing testcase, so
the report is never empty."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence

from greenlint.formats._common import (
    RunInfo,
    display_path,
    rule_id,
    span,
    title,
)
from greenlint.report import FileReport, with_impact


def render_junit(reports: Sequence[FileReport], info: RunInfo) -> str:
    root = ET.Element("testsuites", name="greenlint")
    total = failures = errors = 0
    for report in reports:
        if not report.diagnostics:
            continue
        path = display_path(report, info.cwd)
        suite = ET.SubElement(root, "testsuite", name=path)
        suite_failures = suite_errors = 0
        for d in report.diagnostics:
            row, column, _, _ = span(report, d)
            case = ET.SubElement(
                suite,
                "testcase",
                name=f"{title(d)} at {row}:{column}",
                classname=path,
                file=path,
                line=str(row),
            )
            kind = "failure" if d.code else "error"
            detail = ET.SubElement(case, kind, message=with_impact(d), type=rule_id(d))
            detail.text = f"{path}:{row}:{column}: {d.code or 'SyntaxError'} {with_impact(d)}"
            if d.code:
                suite_failures += 1
            else:
                suite_errors += 1
        count = suite_failures + suite_errors
        suite.set("tests", str(count))
        suite.set("failures", str(suite_failures))
        suite.set("errors", str(suite_errors))
        total, failures, errors = total + count, failures + suite_failures, errors + suite_errors
    if total == 0:
        suite = ET.SubElement(root, "testsuite", name="greenlint", tests="1", failures="0", errors="0")
        ET.SubElement(suite, "testcase", name="No findings", classname="greenlint")
        total = 1
    root.set("tests", str(total))
    root.set("failures", str(failures))
    root.set("errors", str(errors))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
