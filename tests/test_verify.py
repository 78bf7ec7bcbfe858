"""`greenlint verify`: every fixable rule has a fixture; the after-file is greenlint's own fix;
CI's quick mode checks what is robust on a CPU (the rule fires before and not after, outputs
agree, the report is complete) and leaves savings to the benchmark/GPU runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from greenlint.cli import main
from greenlint.diagnostics import Applicability
from greenlint.engine import lint_text
from greenlint.fixer import fix_text
from greenlint.rules.base import all_rules, rule_by_selector
from greenlint.verify import VerifyError, available_fixtures, prepare

FIXTURES = available_fixtures()


def test_every_rule_with_an_applicable_fix_has_a_fixture():
    # Housekeeping rules (runs_last, e.g. unused-noqa) save no energy themselves: nothing to measure.
    fixable = {r.code for r in all_rules() if r.fix_applicability in (Applicability.SAFE, Applicability.UNSAFE) and not r.runs_last}
    assert fixable - set(FIXTURES) == set()


@pytest.mark.parametrize("code", sorted(FIXTURES))
def test_prepare_writes_greenlints_own_fix(tmp_path, code):
    [pair] = prepare([code], tmp_path)
    before = pair.before.read_text()
    assert before == FIXTURES[code]
    rule = rule_by_selector(code)()
    if not pair.handwritten:
        assert pair.after.read_text() == fix_text(before, f"fixtures/{code}/workload.py", [rule], unsafe_fixes=True).text
    assert lint_text(pair.after.read_text(), "after.py", [rule]).diagnostics == []
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["pairs"] == [{"rule": code, "before": f"{code}/before.py", "after": f"{code}/after.py", "notes": pair.manifest_entry(tmp_path)["notes"]}]


def test_unknown_fixture_is_one_clear_error(tmp_path):
    with pytest.raises(VerifyError, match="no fixture for GL999"):
        prepare(["GL999"], tmp_path)
    result = CliRunner().invoke(main, ["verify", "GL999", "--prepare", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "error: no fixture for GL999" in result.output


def test_quick_verify_of_every_fixture(tmp_path):
    report = tmp_path / "verify.json"
    completed = subprocess.run(
        [sys.executable, "-m", "greenlint.cli", "verify", "--quick", "--json", str(report)],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    data = json.loads(report.read_text())
    assert sorted(p["rule"] for p in data["pairs"]) == sorted(FIXTURES)
    for pair in data["pairs"]:
        assert pair["agreement"]["agree"] is True, (pair["rule"], pair["agreement"])
        assert pair["energy_kind"] in ("nvml", "rapl", "estimate")
        assert pair["energy"]["before_median"] > 0 and pair["energy"]["after_median"] > 0
        assert pair["verdict"] in ("saves energy", "no measurable difference", "regression")
        assert pair["environment"]["python"]
    for code in FIXTURES:
        assert f"{code}: fires" in completed.stderr
        assert code in completed.stdout


def test_prepared_pairs_run_on_a_bare_machine_with_python_m_greenlint_energy(tmp_path):
    """The GPU path: prepare here, then measure with greenlint.energy alone."""
    code = sorted(FIXTURES)[0]
    result = CliRunner().invoke(main, ["verify", code, "--prepare", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert f"python -m greenlint.energy run {tmp_path}" in result.output
    src = Path(__file__).resolve().parent.parent / "src"
    completed = subprocess.run(
        [sys.executable, "-m", "greenlint.energy", "run", str(tmp_path), "--size", "tiny", "--min-trials", "1", "--max-trials", "1", "--min-window", "0.05", "--json", str(tmp_path / "out.json")],
        capture_output=True,
        text=True,
        timeout=600,
        env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"},
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert json.loads((tmp_path / "out.json").read_text())["pairs"][0]["rule"] == code


SCRIPT = """\
import sys
import torch
from torch import nn

torch.manual_seed(0)
net = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4))
net.eval()
rows = torch.randn(int(sys.argv[1]), 16)
preds = []
for x in rows:
    preds.append(net(x.unsqueeze(0)).argmax(1))
print(torch.cat(preds).tolist())
"""


def test_script_mode_fixes_a_copy_runs_both_and_leaves_the_users_file(tmp_path, monkeypatch):
    script = tmp_path / "infer.py"
    script.write_text(SCRIPT)
    monkeypatch.chdir(tmp_path)
    report = tmp_path / "out.json"
    result = CliRunner().invoke(main, ["verify", "--script", str(script), "--quick", "--json", str(report), "--", "12"])
    assert result.exit_code == 0, result.output
    assert "Running only the script you named" in result.output
    assert script.read_text() == SCRIPT
    [pair] = json.loads(report.read_text())["pairs"]
    assert pair["rule"] == "GL101,GL102"
    assert pair["agreement"]["agree"] is True  # same predictions printed before and after


def test_script_with_nothing_to_fix_is_one_clear_error(tmp_path):
    script = tmp_path / "clean.py"
    script.write_text("print('hello')\n")
    result = CliRunner().invoke(main, ["verify", "--script", str(script)])
    assert result.exit_code == 2
    assert "nothing for greenlint to fix (no findings)" in result.output


def test_unwritable_prepare_folder_is_one_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = CliRunner().invoke(main, ["verify", "GL101", "--prepare", str(blocker / "pairs")])
    assert result.exit_code == 2
    assert result.output.startswith("error: ") and str(blocker) in result.output
    assert "Traceback" not in result.output
