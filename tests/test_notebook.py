"""Jupyter notebooks: code cells are linted as one program, findings point at cell and line,
IPython syntax is left alone, and --fix changes only the fixed cells' source in the JSON."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from samples import write

from greenlint.cli import main
from greenlint.notebook import Notebook, NotebookError

CELLS = [
    {"cell_type": "markdown", "metadata": {}, "source": ["# Evaluate\n", "model(x) in prose is not code"]},
    {
        "cell_type": "code", "execution_count": 1, "metadata": {"tags": ["setup"]},
        "outputs": [{"name": "stdout", "output_type": "stream", "text": ["ok\n"]}],
        "source": ["%matplotlib inline\n", "!pip install torch\n", "import torch\n", "model = torch.nn.Linear(3, 2)"],
    },
    {
        "cell_type": "code", "execution_count": 2, "metadata": {}, "outputs": [],
        "source": ["def evaluate(model, xs):\n", "    model.eval()\n", "    print([model(x).argmax().item() for x in xs])"],
    },
    {"cell_type": "code", "execution_count": 3, "metadata": {}, "outputs": [], "source": "%%bash\necho model(x)\n"},
    {"cell_type": "code", "execution_count": 4, "metadata": {}, "outputs": [], "source": ["files = !ls\n", "x = torch.zeros(3).to('cuda')\n", "model?"]},
]


def notebook_text(cells=CELLS, indent=1) -> str:
    data = {"cells": cells, "metadata": {"kernelspec": {"name": "python3"}, "language_info": {"name": "python"}}, "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(data, indent=indent, ensure_ascii=False) + "\n"


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(main, ["--no-cache", *args], input=input)


def test_findings_point_at_cell_and_line(project):
    write(project, "eval.ipynb", notebook_text())
    result = run("--output-format", "concise", "-q", "--select", "GL101,GL402", ".")
    assert result.stdout.splitlines() == [
        "eval.ipynb:cell 3:3:12: GL101 [*] `model(...)` runs with autograd on in `evaluate()`, an inference function; use `torch.no_grad()` (impact: medium)",
        "eval.ipynb:cell 5:2:5: GL402 [*] `torch.zeros(...)` is built on the CPU and then copied to the device; create it there with `device=` (impact: low)",
    ]
    assert result.exit_code == 1


def test_json_output_has_the_cell(project):
    write(project, "eval.ipynb", notebook_text())
    items = json.loads(run("--output-format", "json", "--select", "GL402", ".").stdout)
    assert [(i["cell"], i["location"], i["end_location"]) for i in items] == [(5, {"row": 2, "column": 5}, {"row": 2, "column": 19})]
    assert items[0]["fix"]["edits"][0]["location"]["row"] == 2


def test_fix_changes_only_the_fixed_cells(project):
    original = notebook_text()
    path = write(project, "eval.ipynb", original)
    result = run("--fix", "-q", "--select", "GL101,GL402", ".")
    assert result.exit_code == 0, result.output
    expected = original.replace(
        '   "source": [\n    "def evaluate(model, xs):\\n",',
        '   "source": [\n    "@torch.no_grad()\\n",\n    "def evaluate(model, xs):\\n",',
    ).replace("\"x = torch.zeros(3).to('cuda')\\n\"", "\"x = torch.zeros(3, device='cuda')\\n\"")
    assert expected != original
    assert path.read_text() == expected
    assert run("-q", "--select", "GL101,GL402", ".").exit_code == 0


def test_diff_is_per_cell(project):
    write(project, "eval.ipynb", notebook_text())
    result = run("--diff", "--select", "GL402", ".")
    assert result.stdout == (
        "--- a/eval.ipynb:cell 5\n+++ b/eval.ipynb:cell 5\n@@ -1,3 +1,3 @@\n files = !ls\n"
        "-x = torch.zeros(3).to('cuda')\n+x = torch.zeros(3, device='cuda')\n model?\n"
    )


def test_source_stored_as_one_string_stays_a_string(project):
    cells = [dict(c) for c in CELLS]
    cells[4] = {**cells[4], "source": "import torch\nx = torch.zeros(3).to('cuda')"}
    path = write(project, "s.ipynb", notebook_text(cells))
    assert run("--fix", "-q", "--select", "GL402", ".").exit_code == 0
    assert json.loads(path.read_text())["cells"][4]["source"] == "import torch\nx = torch.zeros(3, device='cuda')"


def test_unreproducible_layout_is_reported_and_never_written(project):
    text = notebook_text().replace('\n "metadata"', '\n  "metadata"')  # hand-edited spacing
    path = write(project, "odd.ipynb", text)
    result = run("--fix", "--select", "GL402", ".")
    assert "error: odd.ipynb: the notebook's JSON layout cannot be reproduced exactly; fixes not written" in result.stderr
    assert result.exit_code == 2
    assert path.read_text() == text
    assert "odd.ipynb:cell 5:2:5: GL402" in result.stdout  # the finding is still reported


def test_bad_notebook_is_one_error_line_and_the_run_goes_on(project):
    write(project, "bad.ipynb", '{"cells": [')
    write(project, "list.ipynb", "[1, 2]")
    write(project, "eval.ipynb", notebook_text())
    result = run("--output-format", "concise", "-q", "--select", "GL402", ".")
    assert result.stderr.splitlines() == [
        "error: bad.ipynb: not a valid notebook (invalid JSON: Expecting value: line 1 column 12 (char 11))",
        'error: list.ipynb: not a valid notebook (no "cells" list)',
    ]
    assert result.stdout.startswith("eval.ipynb:cell 5:2:5: GL402")
    assert result.exit_code == 2


def test_non_python_notebook_is_skipped_quietly(project):
    data = json.loads(notebook_text())
    data["metadata"]["language_info"]["name"] = "R"
    write(project, "r.ipynb", json.dumps(data))
    assert run(".").stdout == "All checks passed!\n"


def test_add_noqa_in_a_notebook(project):
    path = write(project, "eval.ipynb", notebook_text())
    assert run("--add-noqa", "--select", "GL402", ".").exit_code == 0
    assert json.loads(path.read_text())["cells"][4]["source"][1] == "x = torch.zeros(3).to('cuda')  # noqa: GL402\n"
    assert run("-q", "--select", "GL402", ".").exit_code == 0


def test_stdin_notebook(project):
    result = run("-", "--stdin-filename", "eval.ipynb", "--fix", "--select", "GL402", input=notebook_text())
    assert json.loads(result.stdout)["cells"][4]["source"][1] == "x = torch.zeros(3, device='cuda')\n"


def test_a_fix_that_crosses_a_cell_or_moves_ipython_syntax_is_refused():
    notebook = Notebook(notebook_text(), "n.ipynb")
    with pytest.raises(NotebookError, match="crossed a cell boundary"):
        notebook.apply(notebook.source.replace("# greenlint: notebook cell 1\n", ""))
    with pytest.raises(NotebookError, match="moved IPython syntax in cell 2"):
        notebook.apply(notebook.source.replace("pass  # greenlint: IPython line 0\n", ""))
    assert notebook.apply(notebook.source) == notebook.text
