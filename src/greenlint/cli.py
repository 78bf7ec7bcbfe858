"""The command line: `greenlint check` (the default command), `rule`, `rules`. Kept thin:
it wires discovery, configuration, the engine, the fixer and the reporters together."""

from __future__ import annotations

import gc
import io
import os
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import click

from greenlint import __version__
from greenlint.config import CliOverrides, ConfigError, SettingsResolver
from greenlint.diagnostics import IMPACTS, Applicability, LineIndex
from greenlint.discovery import DEFAULT_EXCLUDES, discover
from greenlint.formats import NEEDS_EDITS, RENDERERS, RunInfo, render
from greenlint.report import (
    FORMATS,
    SORTS,
    FileReport,
    by_impact,
    failing,
    render_concise,
    render_json,
    render_statistics,
    render_text,
    summary,
)
from greenlint.rules.base import all_rules
from greenlint.run import FileOutcome, Mode, check_files, check_source, default_workers
from greenlint.source import (
    SourceError,
    source_from_bytes,
)

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class DefaultGroup(click.Group):
    """Runs `check` when no subcommand is named, so `greenlint --fix .` works like ruff."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not any(a in ("--help", "-h", "--version") for a in args[:1]) and (not args or args[0] not in self.commands):
            args = ["check", *args]
        return super().parse_args(ctx, args)


@click.group(cls=DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="greenlint")
def main() -> None:
    """greenlint: find, fix and measure energy waste in Python AI code."""


def _split(values: Sequence[str]) -> tuple[str, ...]:
    return tuple(part.strip() for value in values for part in value.split(",") if part.strip())


@dataclass
class RunState:
    reports: list[FileReport] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    fixed: Counter = field(default_factory=Counter)
    diffs: list[str] = field(default_factory=list)
    fixed_by_file: dict[str, Counter] = field(default_factory=dict)

    def add(self, outcome: FileOutcome) -> None:
        self.errors.extend(outcome.errors)
        if outcome.fixed:
            self.fixed.update(outcome.fixed)
            self.fixed_by_file[outcome.display] = outcome.fixed
        if outcome.diff:
            self.diffs.append(outcome.diff)
        if outcome.diagnostics:
            self.reports.append(FileReport(outcome.display, outcome.absolute, LineIndex(outcome.text), outcome.diagnostics, outcome.cells))


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--fix", is_flag=True, help="Apply fixes (safe ones; add --unsafe-fixes for the rest).")
@click.option("--unsafe-fixes/--no-unsafe-fixes", default=None, help="Also apply (or show as fixable) unsafe fixes.")
@click.option("--diff", "show_diff", is_flag=True, help="Print the fixes as a unified diff; write nothing; exit 1 if any.")
@click.option("--show-fixes", is_flag=True, help="List what --fix changed, per file and rule.")
@click.option("--select", multiple=True, help="Rules to enable: code, prefix (GL1), name or ALL. Replaces the config.")
@click.option("--extend-select", multiple=True, help="Rules to enable on top of the selection.")
@click.option("--ignore", multiple=True, help="Rules to disable.")
@click.option("--exclude", multiple=True, help="Paths to exclude (replaces the defaults).")
@click.option("--extend-exclude", multiple=True, help="Paths to exclude on top of the defaults.")
@click.option("--output-format", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option("--statistics", is_flag=True, help="Count findings per rule instead of listing them.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when findings remain.")
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False), help="Use this pyproject.toml / greenlint.toml for every file.")
@click.option("--stdin-filename", help="The name of the file read from stdin (`-`), for config and messages.")
@click.option("--quiet", "-q", is_flag=True, help="Print findings only, no summary.")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the result cache (.greenlint_cache).")
@click.option("--force-exclude", is_flag=True, help="Apply exclusions to files named on the command line too (pre-commit passes files).")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, help="Worker processes (default: one per available core).")
@click.option("--output-file", "-o", type=click.Path(path_type=Path, dir_okay=False), help="Write the report to this file instead of stdout (folders are created).")
@click.option("--add-noqa", is_flag=True, help="Add `# noqa: GLnnn` to every line with a finding, so the next check is clean.")
@click.option("--sort", "sort_by", type=click.Choice(SORTS), default="file", show_default=True, help="Order findings by file, or by energy impact (high first: the order to fix them in).")
@click.option("--fail-on", type=click.Choice(IMPACTS), default=None, help="The least impact that makes the exit status 1 (config: fail-on; default low, i.e. any finding).")
def check(
    paths: tuple[Path, ...],
    fix: bool,
    unsafe_fixes: bool | None,
    show_diff: bool,
    show_fixes: bool,
    select: tuple[str, ...],
    extend_select: tuple[str, ...],
    ignore: tuple[str, ...],
    exclude: tuple[str, ...],
    extend_exclude: tuple[str, ...],
    output_format: str,
    statistics: bool,
    exit_zero: bool,
    config_path: Path | None,
    stdin_filename: str | None,
    quiet: bool,
    no_cache: bool,
    force_exclude: bool,
    jobs: int | None,
    output_file: Path | None = None,
    add_noqa: bool = False,
    sort_by: str = "file",
    fail_on: str | None = None,
) -> None:
    """Lint PATHS (default: the current folder); `-` reads stdin."""
    rules = all_rules()
    overrides = CliOverrides(
        select=_split(select) or None,
        extend_select=_split(extend_select),
        ignore=_split(ignore),
        unsafe_fixes=unsafe_fixes,
        exclude=_split(exclude) or None,
        extend_exclude=_split(extend_exclude),
        fail_on=fail_on,
    )
    cwd = Path.cwd()
    state = RunState()
    write = fix and not show_diff
    # Cached results carry no fix edits, so JSON output (which shows edits) lints afresh.
    mode = Mode(
        want_fixes=fix or show_diff,
        write=write,
        use_cache=not (no_cache or fix or show_diff or output_format in NEEDS_EDITS),
        need_edits=output_format in NEEDS_EDITS,
    )
    from_stdin = paths == (Path("-"),)
    if add_noqa and (fix or show_diff or from_stdin):
        click.echo(f"error: --add-noqa cannot be combined with {'--fix' if fix else '--diff' if show_diff else 'stdin'}", err=True)
        sys.exit(EXIT_ERROR)
    try:
        resolver = SettingsResolver(rules, overrides, explicit_config=config_path, cwd=cwd)
        if from_stdin:
            _check_stdin(resolver, stdin_filename, cwd, mode, tuple(rules), state)
        else:
            _check_paths(resolver, paths, cwd, mode, tuple(rules), jobs or default_workers(), state, force_exclude)
        run_settings = resolver.settings_for(cwd)
    except ConfigError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(EXIT_ERROR)
    if add_noqa:
        sys.exit(_add_noqa(state, quiet))
    if sort_by == "impact":
        state.reports = by_impact(state.reports)
    emit = (state, output_format, statistics, show_diff, show_fixes, fix, quiet, run_settings.unsafe_fixes, run_settings.fail_on)
    if output_file is None:
        _emit(*emit, stdin_fix=fix and from_stdin)
    else:
        buffer = io.StringIO()
        _emit(*emit, stdin_fix=fix and from_stdin, out=buffer)
        try:
            output_file.parent.mkdir(parents=True, exist_ok=True)
            output_file.write_text(buffer.getvalue(), encoding="utf-8")
        except OSError as error:
            click.echo(f"error: cannot write the report to {output_file}: {error.strerror or error}", err=True)
            sys.exit(EXIT_ERROR)
    sys.exit(_exit_code(state, show_diff, exit_zero, run_settings.fail_on))


def _add_noqa(state: RunState, quiet: bool) -> int:
    from greenlint.add_noqa import add_noqa

    outcome = add_noqa(state.reports)
    for error in [*state.errors, *outcome.errors]:
        click.echo(f"error: {error}", err=True)
    if not quiet:
        click.echo(f"Added {outcome.added} noqa directive{'s' if outcome.added != 1 else ''}.", err=True)
    return EXIT_ERROR if state.errors or outcome.errors else EXIT_CLEAN


def _check_stdin(resolver, stdin_filename, cwd, mode: Mode, rules, state: RunState) -> None:
    name = stdin_filename or "-"
    path = Path(stdin_filename).resolve() if stdin_filename else None
    settings = resolver.settings_for(path or cwd)
    data = sys.stdin.buffer.read()
    try:
        source = source_from_bytes(data, name)
    except SourceError as error:
        state.errors.append(str(error))
        if mode.write:  # the caller pipes stdout back into the file: give the input back untouched
            sys.stdout.buffer.write(data)
        return
    outcome, fixed_text = check_source(source, settings, Mode(want_fixes=mode.want_fixes, need_edits=mode.need_edits), rules, str(path or name))
    state.add(outcome)
    if mode.write:
        sys.stdout.write(fixed_text)
        sys.stdout.flush()


def _check_paths(resolver, paths, cwd, mode: Mode, rules, workers: int, state: RunState, force_exclude: bool = False) -> None:
    # Linting allocates millions of short-lived AST nodes, few of them in reference cycles: a
    # collection every 700 allocations (the default) costs ~4% of a run for nearly nothing.
    # Workers are forked after this and inherit it.
    gc.set_threshold(10_000, 10, 10)
    base_settings = resolver.settings_for(cwd)
    found = discover(
        list(paths) or [Path(".")],
        exclude=base_settings.exclude or DEFAULT_EXCLUDES,
        extend_exclude=base_settings.extend_exclude,
        force_exclude=force_exclude,
        root=base_settings.root,
    )
    state.errors.extend(found.errors)
    jobs = [(path, _display(path, cwd), resolver.settings_for_file(path), mode, rules) for path in found.files]
    for outcome in check_files(jobs, workers):
        state.add(outcome)


def _display(path: Path, cwd: Path) -> str:
    try:
        return os.path.relpath(path, cwd) if path.is_absolute() else str(path)
    except ValueError:  # another drive on Windows
        return str(path)


def _emit(state: RunState, output_format, statistics, show_diff, show_fixes, fix, quiet, unsafe, fail_on, stdin_fix, out=None) -> None:
    # With `--fix` on stdin the fixed code owns stdout; findings go to stderr. `out`: --output-file.
    if out is None:
        out = sys.stderr if stdin_fix else sys.stdout
    for error in state.errors:
        click.echo(f"error: {error}", err=True)
    if show_diff:
        out.write("".join(state.diffs))
        if not quiet:
            count = sum(state.fixed.values())
            click.echo(f"Would fix {count} error{'s' if count != 1 else ''}." if count else "No fixes would be applied.", err=True)
        return
    if statistics:
        out.write(render_statistics(state.reports, unsafe, output_format))
        return
    if output_format == "json":
        out.write(render_json(state.reports))
        return
    if output_format in RENDERERS:
        out.write(render(output_format, state.reports, RunInfo(Path.cwd(), unsafe, tuple(state.errors))))
        return
    if output_format == "concise":
        out.write(render_concise(state.reports, unsafe))
    else:
        out.write(render_text(state.reports, unsafe, {rule.code: rule.evidence for rule in all_rules()}))
    if show_fixes and fix and state.fixed_by_file:
        out.write(_fixed_listing(state))
    if not quiet:
        out.write(summary(state.reports, sum(state.fixed.values()), unsafe, failed=len(state.errors), fail_on=fail_on))


def _fixed_listing(state: RunState) -> str:
    names = {rule.code: rule.name for rule in all_rules()}
    total = sum(state.fixed.values())
    lines = [f"\nFixed {total} error{'s' if total != 1 else ''}:"]
    for filename, counts in sorted(state.fixed_by_file.items()):
        lines.append(f"- {filename}:")
        for code, count in sorted(counts.items()):
            lines.append(f"    {count} × {code} ({names.get(code, '')})")
    return "\n".join(lines) + "\n\n"


def _exit_code(state: RunState, show_diff: bool, exit_zero: bool, fail_on: str) -> int:
    if state.errors:
        return EXIT_ERROR
    if show_diff:
        return EXIT_FINDINGS if state.diffs else EXIT_CLEAN
    if exit_zero:
        return EXIT_CLEAN
    return EXIT_FINDINGS if failing(state.reports, fail_on) else EXIT_CLEAN


@main.command()
@click.argument("codes", nargs=-1)
@click.option("--size", type=click.Choice(["tiny", "cpu", "gpu"]), default=None, help="Workload size (default cpu; gpu fills a GPU for a few seconds).")
@click.option("--quick", is_flag=True, help="CI mode: tiny workloads, one trial pair; checks the fixes and outputs, not the savings.")
@click.option("--budget", type=float, default=None, help="Seconds per rule at most.")
@click.option("--json", "json_path", type=click.Path(path_type=Path, dir_okay=False), help="Write the full results as JSON.")
@click.option("--chart", type=click.Path(path_type=Path, dir_okay=False), help="Write a before/after chart (PNG or SVG; needs matplotlib).")
@click.option("--prepare", "prepare_dir", type=click.Path(path_type=Path, file_okay=False), help="Only write the before/after pairs and manifest.json here.")
@click.option(
    "--script",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Measure your own script instead: greenlint fixes a temporary copy and runs both; arguments after `--` go to the script.",
)
def verify(codes, size, quick, budget, json_path, chart, prepare_dir, script) -> None:
    """Measure greenlint's own fixes on the bundled fixture workloads (CODES: all by default).

    For each rule: the rule must fire on its fixture, greenlint fixes it (unsafe fixes
    included), the rule must be silent on the result; then both run in alternating
    single-threaded subprocesses under the best meter available (NVML, RAPL, else a
    CPU-time estimate, labelled so) until the saving's 95% CI is narrow or the budget ends.
    """
    import tempfile

    from greenlint.verify import (
        Plan,
        VerifyError,
        measure,
        prepare,
        prepare_script,
        write_chart,
    )

    plan = Plan.quick() if quick else Plan()
    if size is not None or budget is not None:
        plan = Plan(**{**plan.__dict__, **({"size": size} if size else {}), **({"budget_s": budget} if budget else {})})
    with tempfile.TemporaryDirectory(prefix="greenlint-verify-") as scratch:
        dest = prepare_dir or Path(scratch)
        try:
            dest.mkdir(parents=True, exist_ok=True)
            if script is not None:
                click.echo(f"Running only the script you named, {script}, and a fixed copy of it (your file is not changed).", err=True)
                pairs = [prepare_script(script, codes, dest, Path.cwd())]
            else:
                pairs = prepare(codes, dest)
        except VerifyError as error:
            click.echo(f"error: {error}", err=True)
            sys.exit(EXIT_ERROR)
        except OSError as error:  # an unwritable --prepare folder, a full disk
            click.echo(f"error: {error.filename or dest}: {error.strerror or error}", err=True)
            sys.exit(EXIT_ERROR)
        for pair in pairs:
            origin = "hand-written after (display-only rule)" if pair.handwritten else "after = greenlint's own fix"
            click.echo(f"{pair.rule}: fires {pair.findings_before}x on before, 0x on after; {origin}", err=True)
        if prepare_dir is not None:
            click.echo(f"Wrote {len(pairs)} pair(s) and manifest.json to {dest}; measure with: python -m greenlint.energy run {dest}")
            return
        from greenlint.energy import format_table, write_json

        results = measure(pairs, plan, progress=lambda line: click.echo(line, err=True))
    click.echo(format_table(results))
    if json_path is not None:
        write_json(results, json_path)
    if chart is not None:
        try:
            write_chart(results, chart)
        except VerifyError as error:
            click.echo(f"error: {error}", err=True)
            sys.exit(EXIT_ERROR)
    disagree = [r.rule for r in results if r.agreement.agree is False]
    if disagree:
        click.echo(f"error: outputs differ after the fix beyond the stated tolerance: {', '.join(disagree)}", err=True)
        sys.exit(EXIT_FINDINGS)


@main.command("rules")
@click.option("--output-format", type=click.Choice(["text", "json"]), default="text", show_default=True)
def list_rules(output_format: str) -> None:
    """List every rule with its impact and fix availability."""
    rules = all_rules()
    labels = {None: "none", **{a: a.value for a in Applicability}}
    if output_format == "json":
        import json

        rows = [{"code": r.code, "name": r.name, "summary": r.summary, "impact": r.impact, "fix": labels[r.fix_applicability]} for r in rules]
        click.echo(json.dumps(rows, indent=2))
        return
    click.echo(f"{'code':<7} {'name':<34} {'impact':<7} {'fix':<13} summary")
    for r in rules:
        click.echo(f"{r.code:<7} {r.name:<34} {r.impact:<7} {labels[r.fix_applicability]:<13} {r.summary}")


@main.command("rule")
@click.argument("selector")
def show_rule(selector: str) -> None:
    """Print a rule's catalogue entry (by code or name)."""
    from greenlint.catalogue import entry
    from greenlint.rules.base import rule_by_selector

    rule = rule_by_selector(selector.upper() if selector[:2].lower() == "gl" else selector)
    if rule is None:
        click.echo(f"error: unknown rule {selector!r}; `greenlint rules` lists them", err=True)
        sys.exit(EXIT_ERROR)
    found = entry(rule.code)
    click.echo(found.markdown if found is not None else (rule.__doc__ or rule.summary))


@main.command("server")
def lsp_server() -> None:
    """Run the language server (LSP over stdio) for editors; see docs/editors.md."""
    from greenlint.lsp import (  # pygls is imported only from here on
        LspUnavailable,
        serve,
    )

    try:
        serve()
    except LspUnavailable as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(EXIT_ERROR)


if __name__ == "__main__":  # pragma: no cover
    main()
