"""SARIF 2.1.0 (OASIS), as read by GitHub code scanning and SARIF viewers.

One run; `tool.driver.rules` describes every rule (help text from the rule catalogue, docs URL,
impact and fix class); each finding is a result with a region whose columns count Unicode code
points (`columnKind`), file URIs relative to `SRCROOT` (the working folder), and, for findings
with an applicable fix, `fixes` with the exact replacements.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

from greenlint import __version__
from greenlint.catalogue import entry
from greenlint.diagnostics import DOCS_URL, Diagnostic, LineIndex
from greenlint.formats._common import (
    SYNTAX_ERROR,
    RunInfo,
    absolute_path,
    applicable_edits,
    relative_path,
    rule_id,
    span,
)
from greenlint.report import FileReport
from greenlint.rules.base import all_rules

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
INFORMATION_URI = "https://greenlint.dev/"
SRCROOT = "SRCROOT"


def render_sarif(reports: Sequence[FileReport], info: RunInfo) -> str:
    descriptors = [_descriptor(rule) for rule in all_rules()]
    if any(d.code is None for report in reports for d in report.diagnostics):
        descriptors.append(_syntax_error_descriptor())
    index = {descriptor["id"]: i for i, descriptor in enumerate(descriptors)}
    results = []
    for report in reports:
        location = _artifact_location(report, info.cwd)
        for diagnostic in report.diagnostics:
            results.append(_result(report, diagnostic, location, index))
    invocation: dict = {"executionSuccessful": not info.errors}
    if info.errors:
        invocation["toolExecutionNotifications"] = [{"level": "error", "message": {"text": error}} for error in info.errors]
    run = {
        "tool": {
            "driver": {
                "name": "greenlint",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": INFORMATION_URI,
                "rules": descriptors,
            }
        },
        "originalUriBaseIds": {SRCROOT: {"uri": _directory_uri(info.cwd)}},
        "columnKind": "unicodeCodePoints",
        "invocations": [invocation],
        "results": results,
    }
    return json.dumps({"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}, indent=2) + "\n"


def _descriptor(rule) -> dict:
    page = entry(rule.code)
    what = page.section("What it does") if page is not None else None
    full = what or (rule.__doc__ or rule.summary).strip()
    markdown = page.markdown if page is not None else full
    fix = rule.fix_applicability.value if rule.fix_applicability is not None else "none"
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": full, "markdown": full},
        "help": {"text": markdown, "markdown": markdown},
        "helpUri": DOCS_URL.format(name=rule.name),
        "defaultConfiguration": {"level": "warning"},
        "properties": {
            "impact": rule.impact,
            "fixApplicability": fix,
            "tags": ["energy", f"impact:{rule.impact}"],
        },
    }


def _syntax_error_descriptor() -> dict:
    return {
        "id": SYNTAX_ERROR,
        "name": SYNTAX_ERROR,
        "shortDescription": {"text": "The file could not be parsed; no rule ran on it."},
        "defaultConfiguration": {"level": "error"},
    }


def _result(report: FileReport, diagnostic: Diagnostic, location: dict, index: dict[str, int]) -> dict:
    row, column, end_row, end_column = span(report, diagnostic)
    identifier = rule_id(diagnostic)
    result: dict = {
        "ruleId": identifier,
        "ruleIndex": index[identifier],
        "level": "warning" if diagnostic.code else "error",
        "message": {"text": diagnostic.message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": location,
                    "region": {"startLine": row, "startColumn": column, "endLine": end_row, "endColumn": end_column},
                }
            }
        ],
    }
    if diagnostic.impact:
        result["properties"] = {"impact": diagnostic.impact}
    cell = report.where(diagnostic.start)[0]
    if cell is not None:  # the region's lines count within this notebook cell
        result.setdefault("properties", {})["cell"] = cell
    edits = applicable_edits(diagnostic)
    if edits and report.cells is None:  # a notebook's edits are in cell code, not in its JSON
        fix = diagnostic.fix
        result["fixes"] = [
            {
                "description": {"text": fix.message},
                "artifactChanges": [
                    {"artifactLocation": location, "replacements": [_replacement(report.lines, e) for e in edits]}
                ],
                "properties": {"applicability": fix.applicability.value, "changesNumerics": fix.changes_numerics},
            }
        ]
    return result


def _replacement(lines: LineIndex, edit) -> dict:
    row, column = lines.row_col(edit.start)
    end_row, end_column = lines.row_col(edit.end)
    return {
        "deletedRegion": {"startLine": row, "startColumn": column, "endLine": end_row, "endColumn": end_column},
        "insertedContent": {"text": edit.content},
    }


def _artifact_location(report: FileReport, cwd: Path) -> dict:
    relative = relative_path(report, cwd)
    if relative is not None:
        return {"uri": quote(relative), "uriBaseId": SRCROOT}
    if report.filename == "-":
        return {"uri": "stdin"}
    return {"uri": Path(absolute_path(report, cwd)).as_uri()}


def _directory_uri(folder: Path) -> str:
    uri = Path(folder).absolute().as_uri()
    return uri if uri.endswith("/") else uri + "/"
