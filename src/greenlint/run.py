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
    # Rules keep no state between files: one set of instances per configuration serves them all.
    enabled = settings.enabled_for(path)
    key = (settings.fingerprint(), enabled, tuple(rule_classes))
    rules = _RULE_SETS.get(key)
    if rules is None:
        classes = {rule.code: rule for rule in rule_classes}
        rules = _RULE_SETS[key] = [classes[code](settings.rule_options.get(code)) for code in sorted(enabled) if code in classes]
    return rules


_RULE_SETS: dict[tuple, list[Rule]] = {}


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
    text = source.text
    if mode.want_fixes:
        rules = rules_for(settings, path, rule_classes)
        result = fix_text(text, source.display_name, rules, unsafe_fixes=settings.unsafe_fixes)
        outcome = _outcome(source, absolute, result.remaining, result.text, mode)
        outcome.errors = list(dict.fromkeys([*result.errors, *outcome.errors]))
        if result.changed:
            outcome.fixed = result.fixed
            outcome.diff = unified_diff(source.text, result.text, source.display_name)
        return outcome, result.text
    if mode.use_cache and source.path is not None:
        cache = ResultCache(settings.root, settings.fingerprint())
        key = cache.key(source.display_name, text)
        cached = cache.get(key)
        if cached is not None:
            return _outcome(source, absolute, LintResult(diagnostics=cached), text, mode), text
        lint = lint_text(text, source.display_name, rules_for(settings, path, rule_classes))
        if not lint.errors:
            cache.put(key, lint.diagnostics)
        return _outcome(source, absolute, lint, text, mode), text
    return _outcome(source, absolute, lint_text(text, source.display_name, rules_for(settings, path, rule_classes)), text, mode), text


def _outcome(source: SourceFile, absolute: str | None, lint: LintResult, text: str, mode: Mode) -> FileOutcome:
    """What a worker sends back: `text` is the text the findings' offsets refer to."""
    where = absolute or (os.path.realpath(source.path) if source.path else source.display_name)
    outcome = FileOutcome(source.display_name, where, errors=list(dict.fromkeys(lint.errors)))
    if lint.diagnostics:
        outcome.text = text
        outcome.diagnostics = [_portable(d, mode.need_edits) for d in lint.diagnostics]
    return outcome


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


def cached_outcome(job: Job) -> FileOutcome | None:
    """The outcome of an unchanged file straight from the result cache; None when it has to be
    checked (a miss, a notebook, fixing, no cache, or a read error the check will report)."""
    path, display, settings, mode, rule_classes = job
    if not mode.use_cache or mode.want_fixes or path.suffix == NOTEBOOK_SUFFIX:
        return None
    try:
        source = read_source(path, display)
    except SourceError:
        return None
    cached = ResultCache(settings.root, settings.fingerprint()).get(ResultCache.key(display, source.text))
    return None if cached is None else _outcome(source, None, LintResult(diagnostics=cached), source.text, mode)


def check_files(jobs: list[Job], workers: int) -> Iterable[FileOutcome]:
    """Outcomes in the order of `jobs`. Unchanged files are answered from the result cache
    here, so a warm run starts no worker processes."""
    outcomes = [cached_outcome(job) for job in jobs]
    todo = [job for job, outcome in zip(jobs, outcomes, strict=True) if outcome is None]
    if workers <= 1 or len(todo) < PARALLEL_THRESHOLD:
        checked = iter([check_file(job) for job in todo])
    else:
        # Largest files first, in small chunks: no worker is left with a big file at the end
        # while the others wait.
        order = sorted(range(len(todo)), key=lambda index: -_size(todo[index][0]))
        chunk = max(1, min(8, len(todo) // (workers * 16)))
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = pool.map(check_file, [todo[index] for index in order], chunksize=chunk)
            by_index = dict(zip(order, results, strict=True))
        checked = iter([by_index[index] for index in range(len(todo))])
    return [outcome if outcome is not None else next(checked) for outcome in outcomes]


def _size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0  # the check reports it


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
