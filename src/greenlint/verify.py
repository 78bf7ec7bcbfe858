"""`greenlint verify`: greenlint measures its own fixes on the bundled fixture workloads.

Each `fixtures/<CODE>/workload.py` is the smelly form. The "after" is never hand-written when
the rule can fix: it is greenlint's own fix output (unsafe fixes included), and the rule must
fire on "before" and be silent on "after". Display-only rules may ship an explicit
`after_handwritten.py`, reported as such. Measurement is greenlint.energy's job.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from greenlint.data import shipped_dir
from greenlint.engine import lint_text
from greenlint.fixer import fix_text
from greenlint.rules.base import rule_by_selector

WORKLOAD = "workload.py"
HANDWRITTEN = "after_handwritten.py"


class VerifyError(Exception):
    """One line naming the fixture and what is wrong with it."""


@dataclass
class PreparedPair:
    rule: str
    before: Path
    after: Path
    handwritten: bool
    findings_before: int

    @property
    def notes(self) -> str:
        return "after is hand-written (display-only rule)" if self.handwritten else "after is greenlint's own fix (unsafe fixes on)"

    def manifest_entry(self, root: Path) -> dict:
        return {"rule": self.rule, "before": str(self.before.relative_to(root)), "after": str(self.after.relative_to(root)), "notes": self.notes}


def available_fixtures() -> dict[str, str]:
    """Rule code -> workload source, for every bundled fixture."""
    folder = shipped_dir("fixtures_data", "fixtures")
    if folder is None:
        return {}
    found = {}
    for item in folder.iterdir():
        workload = item / WORKLOAD
        if item.is_dir() and workload.is_file():
            found[item.name] = workload.read_text(encoding="utf-8")
    return dict(sorted(found.items()))


def _handwritten_after(code: str) -> str | None:
    folder = shipped_dir("fixtures_data", "fixtures")
    candidate = folder / code / HANDWRITTEN if folder is not None else None
    return candidate.read_text(encoding="utf-8") if candidate is not None and candidate.is_file() else None


def prepare(codes: Sequence[str], dest: Path) -> list[PreparedPair]:
    """Write each selected fixture's before/after pair and `manifest.json` into `dest`."""
    fixtures = available_fixtures()
    wanted = [c.upper() for c in codes] or list(fixtures)
    unknown = [c for c in wanted if c not in fixtures]
    if unknown:
        raise VerifyError(f"no fixture for {', '.join(unknown)}; fixtures exist for {', '.join(fixtures) or 'no rule'}")
    pairs = []
    for code in wanted:
        pairs.append(_prepare_one(code, fixtures[code], dest))
    manifest = {"pairs": [p.manifest_entry(dest) for p in pairs]}
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return pairs


def _prepare_one(code: str, before: str, dest: Path) -> PreparedPair:
    rule_class = rule_by_selector(code)
    if rule_class is None:
        raise VerifyError(f"fixtures/{code}: no rule {code} is registered")
    rule = rule_class()
    filename = f"fixtures/{code}/{WORKLOAD}"
    findings = [d for d in lint_text(before, filename, [rule]).diagnostics if d.code == code]
    if not findings:
        raise VerifyError(f"{filename}: {code} does not fire on its own fixture")
    handwritten = _handwritten_after(code)
    if handwritten is not None:
        after = handwritten
    else:
        result = fix_text(before, filename, [rule], unsafe_fixes=True)
        if result.errors or not result.changed:
            reason = "; ".join(result.errors) or "no fix applies"
            raise VerifyError(f"{filename}: greenlint could not fix it ({reason})")
        after = result.text
        left = [d for d in lint_text(after, filename, [rule]).diagnostics if d.code == code]
        if left:
            raise VerifyError(f"{filename}: {code} still fires after greenlint's fix ({len(left)} finding(s))")
    folder = dest / code
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "before.py").write_text(before, encoding="utf-8")
    (folder / "after.py").write_text(after, encoding="utf-8")
    return PreparedPair(code, folder / "before.py", folder / "after.py", handwritten is not None, len(findings))


_SCRIPT_WRAPPER = '''"""Written by `greenlint verify --script`: runs {name} ({variant}) as __main__."""

import contextlib
import io
import os
import runpy
import sys

SCRIPT = {script!r}
ARGS = {args!r}
CWD = {cwd!r}
IMPORT_DIR = {import_dir!r}
WARMUP = 0  # a whole script is its own warm-up
USES_TORCH = {uses_torch!r}  # the runner pins torch's threads when a workload mentions torch


def run(size="cpu"):
    """The script's stdout is its output: before and after must print the same."""
    saved = sys.argv[:], sys.path[:], os.getcwd()
    sys.argv = [SCRIPT, *ARGS]
    sys.path.insert(0, IMPORT_DIR)  # the script's own sibling modules, as `python script.py` sees them
    os.chdir(CWD)
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            runpy.run_path(SCRIPT, run_name="__main__")
    except SystemExit as stop:
        if stop.code not in (None, 0):
            raise
    finally:
        sys.argv, sys.path[:], _ = saved[0], saved[1], os.chdir(saved[2])
    return printed.getvalue()
'''


def prepare_script(script: Path, args: Sequence[str], dest: Path, cwd: Path) -> PreparedPair:
    """The user's own workload: fix a copy with every rule (unsafe fixes on) and wrap both
    copies so the energy runner can call them. The user's file is never written."""
    from greenlint.rules.base import all_rules
    from greenlint.source import SourceError, read_source

    try:
        source = read_source(script)
    except SourceError as error:
        raise VerifyError(str(error)) from None
    rules = [rule() for rule in all_rules()]
    findings = [d for d in lint_text(source.text, str(script), rules).diagnostics if d.code]
    result = fix_text(source.text, str(script), rules, unsafe_fixes=True)
    if not result.changed:
        counted = f"{len(findings)} finding(s), none with an applicable fix" if findings else "no findings"
        raise VerifyError(f"{script}: nothing for greenlint to fix ({counted}); there is no after to measure")
    pair = PreparedPair(",".join(sorted(result.fixed)), dest / "before.py", dest / "after.py", False, len(findings))
    for variant, text in (("before", source.text), ("after", result.text)):
        copy = dest / variant / script.name
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_text(text, encoding="utf-8")
        wrapper = _SCRIPT_WRAPPER.format(
            name=script.name,
            variant=variant,
            script=str(copy),
            args=list(args),
            cwd=str(cwd),
            import_dir=str(script.resolve().parent),
            uses_torch="torch" in text,
        )
        (dest / f"{variant}.py").write_text(wrapper, encoding="utf-8")
    manifest = {"pairs": [pair.manifest_entry(dest)]}
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return pair


@dataclass(frozen=True)
class Plan:
    """How hard to measure. `quick` is CI's: tiny sizes, one trial pair, short windows."""

    size: str = "cpu"
    budget_s: float | None = None
    min_trials: int = 6
    max_trials: int = 30
    min_window_s: float | None = None

    @classmethod
    def quick(cls) -> Plan:
        return cls(size="tiny", min_trials=1, max_trials=1, min_window_s=0.05)


def measure(pairs: Sequence[PreparedPair], plan: Plan, progress: Callable[[str], None] | None = None) -> list:
    from greenlint.energy import measure_pair

    results = []
    for number, pair in enumerate(pairs, 1):
        step = f"[{number}/{len(pairs)}]"
        say = None if progress is None else (lambda line, step=step: progress(f"{step} {line}"))
        if say is not None:
            say(f"{pair.rule}: measuring before/after ({plan.size})")
        results.append(
            measure_pair(
                pair.before,
                pair.after,
                size=plan.size,
                min_trials=plan.min_trials,
                max_trials=plan.max_trials,
                budget_s=plan.budget_s,
                min_window_s=plan.min_window_s,
                rule=pair.rule,
                notes=pair.notes,
                progress=say,
            )
        )
    return results


def write_chart(results: Sequence, path: Path) -> None:
    """Before/after energy per rule with 95% CI whiskers on the ratio (matplotlib, optional)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise VerifyError("--chart needs matplotlib (pip install matplotlib)") from None
    rules = [r.rule for r in results]
    before = [r.energy.before_median for r in results]
    after = [r.energy.after_median for r in results]
    low = [r.energy.before_median * (r.energy.ratio - r.energy.ci_low) for r in results]
    high = [r.energy.before_median * (r.energy.ci_high - r.energy.ratio) for r in results]
    kinds = sorted({r.energy_kind for r in results})
    figure, axes = plt.subplots(figsize=(max(4, 1.6 * len(rules)), 3.5))
    positions = range(len(rules))
    axes.bar([p - 0.2 for p in positions], before, width=0.4, label="before")
    axes.bar([p + 0.2 for p in positions], after, width=0.4, yerr=[low, high], capsize=4, label="after (95% CI)")
    axes.set_xticks(list(positions), rules)
    axes.set_ylabel(f"J per run ({', '.join(kinds)})")
    axes.set_title("greenlint verify: energy per run, before and after greenlint's fix")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
