"""Checking (and fixing) files, one job per file, in parallel across processes.

A worker reads, lints or fixes, and writes its file itself; it returns a picklable outcome
(findings with their fix edits resolved or dropped), so output order stays deterministic
whatever order the workers finish in.
"""

from __future__ import annotations

import dataclasses
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from greenlint.cache import ResultCache
from greenlint.config import Settings
from greenlint.diagnostics import Diagnostic, Fix, FixUnavailable
from greenlint.engine import LintResult, lint_text
from greenlint.fixer import fix_text
from greenlint.notebook import SUFFIX as NOTEBOOK_SUFFIX
from greenlint.notebook import CellMap, Notebook, NotebookError
from greenlint.report import unified_diff
from greenlint.rules.base import Rule
from greenlint.source import SourceError, SourceFile, read_source, write_source

# Below this many files a process pool costs more than it saves.
PARALLEL_THRESHOLD = 16


@dataclass(frozen=True)
class Mode:
    want_fixes: bool = False  # compute fixes (for --fix or --diff)
    write: bool = False  # write fixed files back
    use_cache: bool = False
    need_edits: bool = False  # keep fix edits in the outcome (JSON output shows them)


@dataclass
class FileOutcome:
    display: str
    absolute: str
    text: str = ""  # the text the findings' offsets refer to (kept only when there are findings)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    fixed: Counter = field(default_factory=Counter)
    diff: str | None = None
    cells: CellMap | None = None  # a notebook's: findings' rows are in its virtual source


def rules_for(settings: Settings, path: Path, rule_classes: Sequence[type[Rule]]) -> list[Rule]:
    classes = {rule.code: rule for rule in rule_classes}
    return [classes[code](settings.rule_options.get(code)) for code in sorted(settings.enabled_for(path)) if code in classes]


def check_source(
    source: SourceFile, settings: Settings, mode: Mode, rule_classes: Sequence[type[Rule]], absolute: str | None = None
) -> tuple[FileOutcome, str]:
    """Lint or fix one source already read; writes nothing. Returns the outcome and the text
    after fixes (the original text when nothing was fixed). A notebook's code cells are checked
    as one virtual source and the fixes go back into its JSON."""
    if not source.display_name.endswith(NOTEBOOK_SUFFIX) and (source.path is None or source.path.suffix != NOTEBOOK_SUFFIX):
        return _check_text(source, settings, mode, rule_classes, absolute)
    try:
        notebook = Notebook(source.text, source.display_name)
    except NotebookError as error:
        return FileOutcome(source.display_name, absolute or source.display_name, errors=[str(error)]), source.text
    outcome, fixed = _check_text(dataclasses.replace(source, text=notebook.source), settings, mode, rule_classes, absolute)
    outcome.cells = notebook.cell_map
    try:
        written = notebook.apply(fixed)
        if outcome.diff:
            outcome.diff = notebook.diff(fixed)
        return outcome, written
    except NotebookError as error:
        # Nothing goes back into the file: report the findings as they stand.
        outcome, _ = _check_text(dataclasses.replace(source, text=notebook.source), settings, Mode(need_edits=mode.need_edits), rule_classes, absolute)
        outcome.cells = notebook.cell_map
        outcome.errors.insert(0, str(error))
        return outcome, source.text


def _check_text(
    source: SourceFile, settings: Settings, mode: Mode, rule_classes: Sequence[type[Rule]], absolute: str | None = None
) -> tuple[FileOutcome, str]:
    path = source.path or Path(source.display_name)
    where = absolute or (str(source.path.resolve()) if source.path else source.display_name)
    outcome = FileOutcome(source.display_name, where)
    rules = rules_for(settings, path, rule_classes)
    text = source.text
    if mode.want_fixes:
        result = fix_text(text, source.display_name, rules, unsafe_fixes=settings.unsafe_fixes)
        lint, text = result.remaining, result.text
        outcome.errors.extend(result.errors)
        if result.changed:
            outcome.fixed = result.fixed
            outcome.diff = unified_diff(source.text, text, source.display_name)
    elif mode.use_cache and source.path is not None:
        cache = ResultCache(settings.root, settings.fingerprint())
        key = cache.key(source.display_name, text)
        cached = cache.get(key)
        if cached is not None:
            lint = LintResult(diagnostics=cached)
        else:
            lint = lint_text(text, source.display_name, rules)
            if not lint.errors:
                cache.put(key, lint.diagnostics)
    else:
        lint = lint_text(text, source.display_name, rules)
    outcome.errors.extend(e for e in lint.errors if e not in outcome.errors)
    if lint.diagnostics:
        outcome.text = text
        outcome.diagnostics = [_portable(d, mode.need_edits) for d in lint.diagnostics]
    return outcome, text


def _portable(diagnostic: Diagnostic, need_edits: bool) -> Diagnostic:
    """The finding with its lazy fix builder resolved (or dropped): picklable across processes."""
    fix = diagnostic.fix
    if fix is None:
        return diagnostic
    resolved = Fix(fix.applicability, fix.message, fix.changes_numerics)
    if need_edits:
        try:
            resolved._edits = fix.edits
        except FixUnavailable:
            pass
    diagnostic.fix = resolved
    return diagnostic


Job = tuple[Path, str, Settings, Mode, tuple[type[Rule], ...]]


def check_file(job: Job) -> FileOutcome:
    """Read, check and (when asked) write back one file. Every failure is an error line."""
    path, display, settings, mode, rule_classes = job
    try:
        source = read_source(path, display)
    except SourceError as error:
        return FileOutcome(display, str(path), errors=[str(error)])
    original = source.text
    outcome, fixed_text = check_source(source, settings, mode, rule_classes)
    if mode.write and fixed_text != original:
        try:
            write_source(source, fixed_text)
        except SourceError as error:
            # Nothing was written: report the findings as they stand on disk.
            source.text = original
            outcome, _ = check_source(source, settings, Mode(need_edits=mode.need_edits), rule_classes)
            outcome.errors.insert(0, str(error))
    return outcome


def check_files(jobs: list[Job], workers: int) -> Iterable[FileOutcome]:
    """Outcomes in the order of `jobs`."""
    if workers <= 1 or len(jobs) < PARALLEL_THRESHOLD:
        return [check_file(job) for job in jobs]
    chunk = max(1, min(32, len(jobs) // (workers * 4)))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(check_file, jobs, chunksize=chunk))


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
