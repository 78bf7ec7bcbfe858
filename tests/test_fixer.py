"""The fixer: edits, passes to a fixed point, conflicts, invalid and non-converging fixes.

Fake rules (never registered, so the real registry stays as it is) make each situation exact.
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Callable

import pytest
from click.testing import CliRunner

from greenlint import cli
from greenlint.diagnostics import Applicability, Edit, Fix, FixUnavailable
from greenlint.engine import lint_text
from greenlint.fixer import MAX_ITERATIONS, apply_edits, fix_text
from greenlint.rules.base import Rule

SAFE, UNSAFE, DISPLAY = Applicability.SAFE, Applicability.UNSAFE, Applicability.DISPLAY_ONLY

SOURCE = "import torch\nvalue = aaa + bbb\n"


# --------------------------------------------------------------------------- fake rules

Plan = Callable[["object", ast.Name], "Fix | None"]


class NameRule(Rule):
    """Flags every Name whose id is in `plan`; plan[id](ctx, node) builds the finding's fix."""

    code = "GLX01"
    name = "fake-names"
    summary = "test rule"
    impact = "low"
    frameworks = ("torch",)
    fix_applicability = SAFE

    def __init__(self, plan: dict[str, Plan] | None = None, options=None) -> None:
        super().__init__(options)
        self.plan = plan or {}
        self.seen: list[str] = []  # the text of each check() call, i.e. each pass

    def check(self, ctx) -> None:
        self.seen.append(ctx.text)
        for node in ast.walk(ctx.tree):
            if isinstance(node, ast.Name) and node.id in self.plan:
                ctx.report(node, f"name {node.id}", self.plan[node.id](ctx, node))


class RaisingRule(Rule):
    code = "GLX02"
    name = "always-raises"
    summary = "test rule that crashes"
    impact = "low"
    frameworks = ("torch",)

    def check(self, ctx) -> None:
        first = ctx.tree.body[0]
        ctx.report(first, "reported before the crash")  # must be dropped with the crash
        raise RuntimeError("boom")


def span(ctx, node) -> tuple[int, int]:
    return ctx.lines.node_range(node)


def replace(content: str, applicability: Applicability = SAFE) -> Plan:
    def plan(ctx, node):
        start, end = span(ctx, node)
        return Fix(applicability, f"replace with {content}", build=lambda: [Edit(start, end, content)])

    return plan


def insert_at_start(content: str, only_if_missing: bool = True) -> Plan:
    def plan(ctx, node):
        if only_if_missing and content in ctx.text:
            return None
        return Fix(SAFE, "insert", build=lambda: [Edit(0, 0, content)])

    return plan


# --------------------------------------------------------------------------- Edit / apply_edits


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (Edit(0, 5), Edit(5, 10), False),  # adjacent replacements
        (Edit(0, 5), Edit(4, 10), True),
        (Edit(0, 10), Edit(3, 4), True),  # containment
        (Edit(3, 3, "x"), Edit(0, 5), True),  # insertion strictly inside a replacement
        (Edit(5, 5, "x"), Edit(0, 5), False),  # insertion at a replacement's end
        (Edit(5, 5, "x"), Edit(5, 10), False),  # insertion at a replacement's start
        (Edit(5, 5, "x"), Edit(5, 5, "y"), True),  # two insertions at one point: order unknowable
        (Edit(5, 5, "x"), Edit(5, 5, "x"), True),
        (Edit(5, 5, "x"), Edit(6, 6, "y"), False),
        (Edit(0, 3), Edit(7, 9), False),
        (Edit(2, 8), Edit(2, 8, "z"), True),
    ],
)
def test_edit_overlaps_is_symmetric(a, b, expected):
    assert a.overlaps(b) is expected
    assert b.overlaps(a) is expected


@pytest.mark.parametrize(
    ("edits", "expected"),
    [
        ([], "0123456789"),
        ([Edit(0, 0, "<")], "<0123456789"),
        ([Edit(10, 10, ">")], "0123456789>"),
        ([Edit(2, 4, "ab")], "01ab456789"),
        ([Edit(2, 4)], "01456789"),
        ([Edit(8, 9, "X"), Edit(0, 1, "Y")], "Y1234567X9"),  # given unsorted
        ([Edit(0, 5, "A"), Edit(5, 10, "B")], "AB"),  # adjacent
        ([Edit(5, 5, "|"), Edit(0, 5, "A")], "A|56789"),  # insertion at a replacement's end
        ([Edit(5, 5, "|"), Edit(5, 10, "B")], "01234|B"),  # insertion at a replacement's start
    ],
)
def test_apply_edits(edits, expected):
    assert apply_edits("0123456789", edits) == expected


def test_apply_edits_on_non_ascii_text_uses_character_offsets():
    assert apply_edits("é = ü", [Edit(4, 5, "ß")]) == "é = ß"


# --------------------------------------------------------------------------- Fix


def test_fix_edits_are_built_lazily_once_and_sorted():
    calls = []

    def build():
        calls.append(1)
        return [Edit(5, 6, "b"), Edit(0, 1, "a")]

    fix = Fix(SAFE, "m", build=build)
    assert calls == []
    assert fix.edits == [Edit(0, 1, "a"), Edit(5, 6, "b")]
    assert fix.edits == [Edit(0, 1, "a"), Edit(5, 6, "b")]
    assert calls == [1]


def test_fix_without_builder_or_with_no_edits_is_unavailable():
    with pytest.raises(FixUnavailable):
        _ = Fix(DISPLAY, "advice only").edits
    with pytest.raises(FixUnavailable, match="nothing to change"):
        _ = Fix(SAFE, "m", build=list).edits


def test_numerics_changing_fix_can_never_be_safe():
    with pytest.raises(ValueError):
        Fix(SAFE, "m", changes_numerics=True)
    assert Fix(UNSAFE, "m", changes_numerics=True).changes_numerics


@pytest.mark.parametrize(
    ("applicability", "unsafe", "allowed"),
    [(SAFE, False, True), (SAFE, True, True), (UNSAFE, False, False), (UNSAFE, True, True), (DISPLAY, False, False), (DISPLAY, True, False)],
)
def test_applicability_allowed(applicability, unsafe, allowed):
    assert applicability.allowed(unsafe) is allowed


# --------------------------------------------------------------------------- fix_text passes


def test_single_fix():
    rule = NameRule({"aaa": replace("ccc")})
    result = fix_text(SOURCE, "f.py", [rule])
    assert result.text == "import torch\nvalue = ccc + bbb\n"
    assert result.fixed == Counter({"GLX01": 1})
    assert result.changed
    assert result.errors == []
    assert result.remaining.diagnostics == []
    assert rule.seen == [SOURCE, result.text]


def test_overlapping_edits_are_deferred_to_the_next_pass():
    def wide(ctx, node):  # replaces `aaa + bbb`, which contains the other finding's edit
        start = span(ctx, node)[0]
        end = ctx.text.index("bbb") + 3
        return Fix(SAFE, "wide", build=lambda: [Edit(start, end, "ccc + bbb")])

    rule = NameRule({"aaa": wide, "bbb": replace("ddd")})
    result = fix_text(SOURCE, "f.py", [rule])
    assert result.text == "import torch\nvalue = ccc + ddd\n"
    assert result.fixed == Counter({"GLX01": 2})
    assert result.errors == []
    # pass 1 applied only the first fix; pass 2 the second, against the updated text; pass 3 found nothing
    assert rule.seen == [SOURCE, "import torch\nvalue = ccc + bbb\n", "import torch\nvalue = ccc + ddd\n"]


def test_two_insertions_at_one_point_take_two_passes():
    rule = NameRule({"aaa": insert_at_start("# a\n"), "bbb": insert_at_start("# b\n")})
    result = fix_text(SOURCE, "f.py", [rule])
    assert result.text == "# b\n# a\n" + SOURCE
    assert result.fixed == Counter({"GLX01": 2})
    assert len(rule.seen) == 3


def test_identical_edits_from_two_findings_applied_once_counted_twice():
    rule = NameRule({"aaa": insert_at_start("# header\n"), "bbb": insert_at_start("# header\n")})
    result = fix_text(SOURCE, "f.py", [rule])
    assert result.text == "# header\n" + SOURCE
    assert result.fixed == Counter({"GLX01": 2})
    assert result.errors == []
    assert len(rule.seen) == 2


def test_unsafe_fix_needs_unsafe_fixes():
    rule = NameRule({"aaa": replace("ccc", UNSAFE)})
    result = fix_text(SOURCE, "f.py", [rule])
    assert result.text == SOURCE
    assert not result.changed
    assert [d.message for d in result.remaining.diagnostics] == ["name aaa"]
    assert fix_text(SOURCE, "f.py", [rule], unsafe_fixes=True).text == "import torch\nvalue = ccc + bbb\n"


def test_display_only_fix_is_never_applied():
    def advice(ctx, node):
        start, end = span(ctx, node)
        return Fix(DISPLAY, "consider ccc", build=lambda: [Edit(start, end, "ccc")])

    result = fix_text(SOURCE, "f.py", [NameRule({"aaa": advice})], unsafe_fixes=True)
    assert result.text == SOURCE
    assert not result.changed


def test_suppressed_finding_is_not_fixed():
    source = "import torch\nvalue = aaa + bbb  # noqa: GLX01\n"
    result = fix_text(source, "f.py", [NameRule({"aaa": replace("ccc")})])
    assert result.text == source
    assert result.remaining.diagnostics == []


def test_syntax_error_input_is_returned_unchanged():
    source = "import torch\nvalue = aaa +\n"
    result = fix_text(source, "f.py", [NameRule({"aaa": replace("ccc")})])
    assert result.text == source
    assert result.remaining.syntax_error
    assert result.errors == []


# --------------------------------------------------------------------------- invalid fixes


def test_fix_that_would_not_parse_is_rejected_and_reported():
    rule = NameRule({"aaa": replace("(")})
    result = fix_text(SOURCE, "f.py", [rule])
    assert result.text == SOURCE
    assert not result.changed
    assert result.fixed == Counter()
    assert result.errors == ["f.py:2: the GLX01 fix would produce invalid code; not applied"]
    assert [d.message for d in result.remaining.diagnostics] == ["name aaa"]


def test_invalid_fix_rejected_while_a_valid_one_in_the_same_pass_lands():
    rule = NameRule({"aaa": replace("("), "bbb": replace("ddd")})
    result = fix_text(SOURCE, "f.py", [rule])
    assert result.text == "import torch\nvalue = aaa + ddd\n"
    assert result.fixed == Counter({"GLX01": 1})
    assert result.errors == ["f.py:2: the GLX01 fix would produce invalid code; not applied"]
    assert [d.message for d in result.remaining.diagnostics] == ["name aaa"]


def test_fix_builder_crash_is_reported_and_the_finding_kept():
    def broken(ctx, node):
        return Fix(SAFE, "broken", build=lambda: {}["missing"])

    rule = NameRule({"aaa": broken, "bbb": replace("ddd")})
    result = fix_text(SOURCE, "f.py", [rule])
    assert result.text == "import torch\nvalue = aaa + ddd\n"
    assert result.errors == ["f.py: internal error building the GLX01 fix: KeyError: 'missing'"]
    assert [d.message for d in result.remaining.diagnostics] == ["name aaa"]


def test_unavailable_fix_is_silently_left():
    def unavailable(ctx, node):
        def build():
            raise FixUnavailable("cannot here")

        return Fix(SAFE, "m", build=build)

    result = fix_text(SOURCE, "f.py", [NameRule({"aaa": unavailable})])
    assert result.text == SOURCE
    assert result.errors == []
    assert len(result.remaining.diagnostics) == 1


# --------------------------------------------------------------------------- convergence


def test_fix_that_never_converges_stops_at_the_cap_and_keeps_the_original():
    rule = NameRule({"aaa": insert_at_start("# again\n", only_if_missing=False)})
    result = fix_text(SOURCE, "f.py", [rule])
    assert result.text == SOURCE
    assert result.errors == [f"f.py: fixes did not converge after {MAX_ITERATIONS} passes; file left unchanged"]
    assert result.fixed == Counter()
    assert not result.changed
    assert [d.message for d in result.remaining.diagnostics] == ["name aaa"]
    assert len(rule.seen) == MAX_ITERATIONS + 1  # every pass, then the original re-linted


def test_oscillating_fixes_do_not_converge():
    rule = NameRule({"aaa": replace("bbb"), "bbb": replace("aaa")})
    source = "import torch\nvalue = aaa\n"
    result = fix_text(source, "f.py", [rule])
    assert result.text == source
    assert result.errors == [f"f.py: fixes did not converge after {MAX_ITERATIONS} passes; file left unchanged"]


def test_non_converging_fix_through_the_cli_leaves_the_file(tmp_path, monkeypatch):
    class Looping(NameRule):
        def __init__(self, options=None) -> None:
            super().__init__({"aaa": insert_at_start("# again\n", only_if_missing=False)}, options)

    monkeypatch.setattr(cli, "all_rules", lambda: [Looping])
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "f.py"
    path.write_text(SOURCE)
    result = CliRunner().invoke(cli.main, ["--fix", "--no-cache", "--output-format", "concise", "."])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert path.read_text() == SOURCE
    assert result.stderr == f"error: f.py: fixes did not converge after {MAX_ITERATIONS} passes; file left unchanged\n"
    assert result.stdout.startswith("f.py:2:9: GLX01 [*] name aaa (impact: low)\n")
    assert result.exit_code == 2


# --------------------------------------------------------------------------- crashing rules


def test_crashing_rule_is_reported_and_others_still_run():
    good = NameRule({"aaa": replace("ccc")})
    result = lint_text(SOURCE, "f.py", [RaisingRule(), good])
    assert result.errors == ["f.py: internal error in GLX02 (always-raises): RuntimeError: boom"]
    assert [(d.code, d.message) for d in result.diagnostics] == [("GLX01", "name aaa")]


def test_crashing_rule_during_fix_reported_once_and_fixes_still_land():
    good = NameRule({"aaa": replace("ccc")})
    result = fix_text(SOURCE, "f.py", [RaisingRule(), good])
    assert result.text == "import torch\nvalue = ccc + bbb\n"
    assert result.errors == ["f.py: internal error in GLX02 (always-raises): RuntimeError: boom"]


def test_crashing_rule_through_the_cli_exits_2(tmp_path, monkeypatch):
    monkeypatch.setattr(cli, "all_rules", lambda: [RaisingRule])
    monkeypatch.chdir(tmp_path)
    (tmp_path / "f.py").write_text(SOURCE)
    result = CliRunner().invoke(cli.main, ["--no-cache", "."])
    assert result.stderr == "error: f.py: internal error in GLX02 (always-raises): RuntimeError: boom\n"
    assert result.exit_code == 2


# --------------------------------------------------------------------------- edit order within a fix


def test_insertions_at_one_offset_keep_the_rules_order():
    """Regression: Edit ordering once included `content`, so these came out alphabetically."""
    source = "def evaluate(model, x):\n    import torch\n    return model(x)\n"

    def import_then_decorate(ctx, node):
        if "@torch.no_grad()" in ctx.text:
            return None
        start = ctx.lines.line_start(1)
        return Fix(SAFE, "m", build=lambda: [Edit(start, start, "import torch\n"), Edit(start, start, "@torch.no_grad()\n")])

    result = fix_text(source, "f.py", [NameRule({"model": import_then_decorate})])
    assert result.errors == []
    assert result.text == "import torch\n@torch.no_grad()\n" + source


def test_apply_edits_keeps_the_given_order_of_insertions_at_one_offset():
    assert apply_edits("x", [Edit(0, 0, "b"), Edit(0, 0, "a")]) == "bax"
    assert Fix(SAFE, "m", build=lambda: [Edit(0, 0, "b"), Edit(0, 0, "a")]).edits == [Edit(0, 0, "b"), Edit(0, 0, "a")]


@pytest.mark.parametrize(
    "source",
    [
        "def evaluate(model, x):\n    import torch\n    model.eval()\n    return model(x).argmax(1).item()\n",
        "# a torch model\ndef evaluate(model, x):\n    model.eval()\n    return model(x).argmax(1).item()\n",
    ],
    ids=["local-import", "comment-only"],
)
def test_gl101_import_and_decorator_at_the_same_offset(source):
    from greenlint.rules.gl101_inference_without_no_grad import InferenceWithoutNoGrad

    result = fix_text(source, "f.py", [InferenceWithoutNoGrad()])
    assert result.errors == []
    head, sep, rest = source.partition("def evaluate")
    assert result.text == head + "import torch\n@torch.no_grad()\n" + sep + rest
