"""GL503/GL504/GL701 behaviour that the rules' own VALID/INVALID examples cannot express: the
GL503 fix runs under scikit-learn, keeps CRLF newlines, and places the experimental import
where it runs before the halving search is imported."""

from __future__ import annotations

import pytest

from greenlint.engine import lint_text
from greenlint.fixer import fix_text
from greenlint.rules.base import rule_by_selector

GL503 = rule_by_selector("GL503")

SEARCH = """\
import numpy as np
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.svm import SVC

X, y = make_classification(n_samples=200, n_features=8, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
search = GridSearchCV(
    SVC(),
    {"C": [0.1, 1, 10, 100], "gamma": [1, 0.1, 0.01, 0.001]},
    cv=4,
)
search.fit(X_train, y_train)
RESULT = search.score(X_test, y_test)
"""


def _fixed(text: str, filename: str = "search.py") -> str:
    return fix_text(text, filename, [GL503()], unsafe_fixes=True).text


def test_gl503_fixed_code_runs_under_scikit_learn():
    pytest.importorskip("sklearn")
    fixed = _fixed(SEARCH)
    assert "HalvingGridSearchCV(" in fixed and "enable_halving_search_cv" in fixed
    namespace: dict = {}
    np = pytest.importorskip("numpy")
    np.random.seed(0)
    exec(compile(fixed, "search.py", "exec"), namespace)
    assert type(namespace["search"]).__name__ == "HalvingGridSearchCV"
    assert namespace["search"].return_train_score is False
    assert 0.5 < namespace["RESULT"] <= 1.0


def test_gl503_fix_keeps_crlf_newlines():
    text = SEARCH.replace("\n", "\r\n")
    fixed = _fixed(text)
    assert "\n" not in fixed.replace("\r\n", "")
    assert "from sklearn.experimental import enable_halving_search_cv  # noqa\r\n" in fixed
    assert "    return_train_score=False,\r\n)" in fixed


def test_gl503_enabler_goes_above_a_function_local_import_when_there_is_no_top_level_one():
    text = (
        "def tune(X, y, SVC):\n"
        "    from sklearn.model_selection import GridSearchCV\n"
        "\n"
        '    search = GridSearchCV(SVC(), {"C": [1, 10, 100, 1000], "gamma": [1, 0.1, 0.01]}, cv=5)\n'
        "    return search.fit(X, y)\n"
    )
    fixed = _fixed(text)
    assert fixed.splitlines()[1:3] == [
        "    from sklearn.experimental import enable_halving_search_cv  # noqa",
        "    from sklearn.model_selection import HalvingGridSearchCV",
    ]
    assert lint_text(fixed, "search.py", [GL503()]).diagnostics == []


def test_gl503_min_fits_option_counts_folds():
    text = 'from sklearn.model_selection import GridSearchCV\nGridSearchCV(m, {"a": [1, 2, 3, 4, 5, 6]}, cv=10).fit(X, y)\n'
    assert len(lint_text(text, "s.py", [GL503()]).diagnostics) == 1  # 60 fits
    assert lint_text(text, "s.py", [GL503({"min-fits": 61})]).diagnostics == []


def test_gl504_and_gl701_skip_files_without_keras_or_sklearn():
    text = "import torch\nfor i in range(3):\n    model = Sequential()\n    model.fit(x, y, epochs=100)\n"
    for code in ("GL504", "GL701"):
        assert lint_text(text, "train.py", [rule_by_selector(code)()]).diagnostics == []
