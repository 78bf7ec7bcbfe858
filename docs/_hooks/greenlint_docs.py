"""mkdocs hook: the parts of greenlint's documentation site that are generated, not written.

* One page per rule at `rules/<name>/` (the URL greenlint's findings link to, from
  `greenlint.diagnostics.DOCS_URL`), made from the rule's catalogue entry in the repository's
  `rules/*.md`, the registered rule's metadata (impact, fix class, evidence line, options) and
  the `greenlint verify` measurements kept under `docs/`.
* Placeholders (`<!-- greenlint:NAME -->`) in hand-written pages, replaced by tables built from
  the code: the rules index, the CLI reference (from the click commands), rule options and
  default exclusions, a `greenlint verify` JSON report, the fixtures README.

Nothing here lists rules by hand: whatever `rules/*.md` and `greenlint.rules.base.all_rules()`
hold when the site is built is what it shows. Every inconsistency it can see (a placeholder it
does not know, a configuration key the configuration page does not document, a rule page URL
that is not greenlint's DOCS_URL) is logged as a warning, which `mkdocs build --strict` turns
into a failed build.
"""

from __future__ import annotations

import inspect
import json
import logging
import posixpath
import re
import sys
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

REPO = Path(__file__).resolve().parents[2]
# Document the greenlint of this checkout, even when another one is installed.
if str(REPO / "src") not in sys.path:
    sys.path.insert(0, str(REPO / "src"))

import click  # noqa: E402

from greenlint import catalogue  # noqa: E402
from greenlint.diagnostics import DOCS_URL  # noqa: E402
from greenlint.rules.base import all_rules  # noqa: E402

log = logging.getLogger("mkdocs.plugins.greenlint")

PLACEHOLDER = re.compile(r"<!--\s*greenlint:(?P<name>[a-z-]+)(?:\s+(?P<arg>\S+))?\s*-->")
_FENCE = re.compile(r"^\s*(```|~~~)")
_INLINE_LINK = re.compile(r"(?<!!)\[(?P<text>[^\]\n]+)\]\((?P<target>[^)\s]+)\)")
_CODE_SPAN = re.compile(r"`+[^`\n]*`+")
_SCHEMA = "greenlint-energy/1"


# -- what the site is built from ---------------------------------------------------------------


class _State:
    """Everything computed once per build in on_config."""

    rules: list[Any] = []
    entries: dict[str, catalogue.CatalogueEntry] = {}
    pages: dict[str, str] = {}  # rule code -> src_uri of its page ("rules/<name>.md")
    rules_dir: str = "rules"  # the folder under docs_dir the rule pages live in
    docs_dir: Path = REPO / "docs"


STATE = _State()


_COMMAND = {"name": "build"}


def on_startup(command: str, dirty: bool) -> None:
    _COMMAND["name"] = command


def _rule_page_dir(site_url: str | None) -> str:
    """`rules` from DOCS_URL "https://greenlint.dev/rules/{name}/" and site_url
    "https://greenlint.dev/"; a warning when DOCS_URL is not under site_url. `mkdocs serve`
    replaces site_url with its own address, so there only DOCS_URL's path counts."""
    if _COMMAND["name"] == "serve":
        from urllib.parse import urlsplit

        site_url = DOCS_URL[: len(DOCS_URL) - len(urlsplit(DOCS_URL).path)] + "/"
    site = (site_url or "").rstrip("/") + "/"
    if not DOCS_URL.startswith(site) or not DOCS_URL.endswith("/{name}/"):
        log.warning(
            "greenlint's DOCS_URL %r is not <site_url>/<folder>/{name}/ for site_url %r: "
            "findings would link to pages this site does not have",
            DOCS_URL,
            site_url,
        )
        return "rules"
    return DOCS_URL[len(site) : -len("/{name}/")] or "rules"


def on_config(config: Any) -> Any:
    STATE.rules = all_rules()
    catalogue._load.cache_clear()  # `mkdocs serve` rebuilds: pick up edited entries
    STATE.entries = {entry.code: entry for entry in catalogue.entries()}
    STATE.rules_dir = _rule_page_dir(config.get("site_url"))
    STATE.docs_dir = Path(config["docs_dir"])
    names = {rule.code: rule.name for rule in STATE.rules}
    names.update({code: entry.name for code, entry in STATE.entries.items() if code not in names})
    STATE.pages = {code: f"{STATE.rules_dir}/{name}.md" for code, name in sorted(names.items())}
    for code, entry in STATE.entries.items():
        rule = next((r for r in STATE.rules if r.code == code), None)
        if rule is not None and rule.name != entry.name:
            log.warning("%s: the catalogue entry is named %r, the rule %r", entry.source, entry.name, rule.name)
    _fill_rules_nav(config)
    return config


def _fill_rules_nav(config: Any) -> None:
    """Append the rule pages to the nav section whose first page is `<rules_dir>/index.md`."""
    index = f"{STATE.rules_dir}/index.md"
    pages = [{_nav_title(code): uri} for code, uri in STATE.pages.items()]

    def visit(items: list[Any]) -> bool:
        for item in items:
            if not isinstance(item, dict):
                continue
            for value in item.values():
                if isinstance(value, list):
                    if value and index in (value[0], *(value[0].values() if isinstance(value[0], dict) else ())):
                        value[1:] = pages
                        return True
                    if visit(value):
                        return True
        return False

    if config.get("nav") and not visit(config["nav"]):
        log.warning("mkdocs.yml: no nav section starts with %s; the rule pages are left out of the nav", index)


def _nav_title(code: str) -> str:
    rule = next((r for r in STATE.rules if r.code == code), None)
    return f"{code} {rule.name if rule else STATE.entries[code].name}"


def on_files(files: Files, config: Any) -> Files:
    for code, uri in STATE.pages.items():
        if files.get_file_from_path(uri) is not None:
            log.warning("%s is generated from the rule catalogue; remove the hand-written file", uri)
            continue
        files.append(File.generated(config, uri, content=_rule_page(code)))
    return files


# -- a rule's page -------------------------------------------------------------------------------


def _fix_label(rule: Any) -> str:
    return rule.fix_applicability.value if rule.fix_applicability is not None else "none"


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _rule_page(code: str) -> str:
    rule = next((r for r in STATE.rules if r.code == code), None)
    entry = STATE.entries.get(code)
    uri = STATE.pages[code]
    out: list[str] = []
    if entry is not None:
        lines = entry.markdown.splitlines()
        title_at = next(i for i, line in enumerate(lines) if line.strip())
        out.append(lines[title_at])
        body = "\n".join(lines[title_at + 1 :])
    else:
        out.append(f"# {rule.code} {rule.name}")
        body = inspect.cleandoc(rule.__doc__ or rule.summary)
    out.append("")
    out += _glance(code, rule, entry)
    out.append("")
    out.append(_nest_lists(_rewrite_links(body, entry.source, uri)) if entry else body)
    out.append("")
    out += _measured(code, uri)
    return "\n".join(out) + "\n"


def _glance(code: str, rule: Any, entry: Any) -> list[str]:
    if rule is None:
        return [
            '!!! warning "Not a registered rule"',
            f"    This catalogue entry has no rule registered under {code} in this version of greenlint.",
        ]
    rows = [("Energy impact", f"**{rule.impact}**"), ("Fix", _fix_label(rule))]
    if rule.evidence:
        rows.append(("Evidence", _cell(rule.evidence)))
    if rule.options:
        rows.append(("Options", ", ".join(f"`{key}`" for key in sorted(rule.options))))
    rows.append(("Suppress", f"`# noqa: {rule.code}`"))
    lines = [f'!!! abstract "{rule.code} {rule.name}: {_cell(rule.summary)}"', ""]
    lines += [f"    * **{key}:** {value}" for key, value in rows]
    if entry is None:
        lines += ["", "    This rule has no catalogue entry yet; the text below is its docstring."]
    return lines


_LIST_ITEM = re.compile(r"^(?P<indent> *)(?:[*+-]|\d+[.)])\s")


def _nest_lists(markdown: str) -> str:
    """Catalogue entries nest lists GitHub's way, by the width of the parent's marker (two
    spaces under `* `); Python-Markdown needs four. Inside a list, every indented line's
    indentation is doubled (a fenced block moves with its opening line), which keeps each
    line's level and turns two-space nesting into four. An item that follows, with no blank
    line, a paragraph of the item before it gets a blank line first: GitHub starts a new item
    there, Python-Markdown would read it as more of that paragraph."""
    out: list[str] = []
    in_list = False
    loose = False  # the current item has had a paragraph after a blank line
    fence: str | None = None  # the fence marker while inside a fenced block
    shift = 0  # spaces added to the lines of the current fenced block
    for line in markdown.splitlines():
        stripped = line.lstrip(" ")
        indent = len(line) - len(stripped)
        if fence is not None:
            out.append(" " * shift + line if line.strip() else line)
            if stripped.startswith(fence):
                fence = None
            continue
        if line.strip() and indent == 0 and not _LIST_ITEM.match(line):
            in_list = False
        elif _LIST_ITEM.match(line):
            if in_list and loose and out and out[-1].strip():
                out.append("")
            in_list, loose = True, False
        elif in_list and indent and out and not out[-1].strip():
            loose = True
        opening = _FENCE.match(line)
        if opening:
            fence, shift = opening.group(1), indent if in_list else 0
            out.append(" " * shift + line)
            continue
        out.append(" " * indent + line if in_list and indent else line)
    return "\n".join(out)


def _rewrite_links(markdown: str, source: str, page_uri: str) -> str:
    """Make a catalogue entry's relative links work on the site: a link to another entry
    (`GL201.md`) goes to that rule's page, one into docs/ to that page, anything else in the
    repository (fixtures, source files) becomes plain text naming the repository path."""
    entry_dir = "rules"  # catalogue entries live in the repository's rules/
    page_dir = posixpath.dirname(page_uri)
    by_file = {Path(e.source).name: STATE.pages[c] for c, e in STATE.entries.items()}

    def replace(match: re.Match[str]) -> str:
        text, target = match["text"], match["target"]
        if re.match(r"^[a-z][a-z0-9+.-]*:|^#|^/", target, re.IGNORECASE):
            return match[0]  # absolute URL, anchor, or site-absolute path
        path, _, anchor = target.partition("#")
        repo_path = posixpath.normpath(posixpath.join(entry_dir, path))
        if repo_path.startswith("rules/") and posixpath.basename(repo_path) in by_file:
            doc = by_file[posixpath.basename(repo_path)]
        elif repo_path.startswith("docs/") and (STATE.docs_dir / repo_path[5:]).exists():
            doc = repo_path[5:]
        else:
            return f"{text} (`{repo_path}` in the greenlint repository)"
        rel = posixpath.relpath(doc, page_dir)
        return f"[{text}]({rel}{'#' + anchor if anchor else ''})"

    out, fenced = [], False
    for line in markdown.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
        if fenced or "](" not in line:
            out.append(line)
            continue
        spans: list[str] = []
        masked = _CODE_SPAN.sub(lambda m: spans.append(m[0]) or f"\x00{len(spans) - 1}\x00", line)
        masked = _INLINE_LINK.sub(replace, masked)
        out.append(re.sub(r"\x00(\d+)\x00", lambda m: spans[int(m[1])], masked))
    return "\n".join(out)


# -- measurements ------------------------------------------------------------------------------


def _md_measurements() -> list[tuple[str, str, list[str], str]]:
    """(docs page, its title, table header lines, rows by code) from `docs/verify-*.md` pages:
    every Markdown table whose first column is `rule`."""
    found = []
    for page in sorted(STATE.docs_dir.glob("verify-*.md")):
        text = page.read_text(encoding="utf-8")
        title = _title(page)
        lines = text.splitlines()
        for i, line in enumerate(lines[:-1]):
            if re.match(r"^\|\s*rule\s*\|", line, re.IGNORECASE) and re.match(r"^\|[\s:|-]+\|$", lines[i + 1]):
                rows = []
                for row in lines[i + 2 :]:
                    if not row.startswith("|"):
                        break
                    rows.append(row)
                found.append((page.name, title, [line, lines[i + 1]], "\n".join(rows)))
    return found


def _json_reports() -> list[tuple[str, dict[str, Any]]]:
    """(path under docs/, report) for every `greenlint verify --json` report under docs/."""
    reports = []
    for path in sorted(STATE.docs_dir.rglob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("schema") == _SCHEMA and isinstance(data.get("pairs"), list):
            reports.append((path.relative_to(STATE.docs_dir).as_posix(), data))
    return reports


def _page_citing(path: str) -> str | None:
    """The docs page that presents a data file (it names the file), if any."""
    pages = [p for p in sorted(STATE.docs_dir.rglob("*.md")) if not p.parts[len(STATE.docs_dir.parts)].startswith("_")]
    texts = {page: page.read_text(encoding="utf-8") for page in pages}
    for wanted in (f"greenlint:verify-json {path}", path):  # the page that tabulates it, else one naming it
        for page, text in texts.items():
            if wanted in text:
                return page.relative_to(STATE.docs_dir).as_posix()
    return None


def _title(page: Path) -> str:
    text = page.read_text(encoding="utf-8")
    return next((line[2:].strip() for line in text.splitlines() if line.startswith("# ")), page.stem)


def _joules(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g} J"


def _seconds(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.3g} s" if value >= 1 else f"{value * 1e3:.3g} ms"


def _saving(cmp: dict[str, Any]) -> str:
    lo, hi = cmp.get("saving_ci_pct") or (float("nan"), float("nan"))
    return f"{cmp['saving_pct']:+.1f}% [{lo:+.1f}, {hi:+.1f}]"


def _agreement(pair: dict[str, Any]) -> str:
    agreement = pair.get("agreement") or {}
    if agreement.get("agree") is None:
        return "unknown"
    if not agreement["agree"]:
        return f"**no**: {agreement.get('message', '')}"
    diff = agreement.get("max_abs_diff")
    return "yes (exact)" if agreement.get("mode") == "exact" or not diff else f"yes (max diff {diff:.2g})"


JSON_HEADER = [
    "| rule | energy per run, before → after | saving [95% CI] | p | pairs | time per run | outputs agree | verdict |",
    "|---|---|---|---|---|---|---|---|",
]


def _json_row(pair: dict[str, Any], link: str | None = None) -> str:
    energy, time = pair["energy"], pair["time"]
    kind = f" [{pair.get('energy_kind')}]" if pair.get("energy_kind") else ""
    code = pair.get("rule") or "?"
    rule_cell = f"[{code}]({link})" if link else code
    return (
        f"| {rule_cell} | {_joules(energy.get('before_median'))} → {_joules(energy.get('after_median'))}{kind} "
        f"| {_saving(energy)} | {energy.get('p_value', float('nan')):.2g} | {pair.get('n_pairs', '?')} "
        f"| {_seconds(time.get('before_median'))} → {_seconds(time.get('after_median'))} "
        f"| {_cell(_agreement(pair))} | {pair.get('verdict', '?')} |"
    )


def _environment(report: dict[str, Any]) -> str:
    env = report.get("environment") or {}
    torch = env.get("torch") or {}
    parts = [env.get("gpu") or env.get("cpu_model") or "unknown machine", f"torch {torch.get('version', '?')}"]
    return ", ".join(parts)


def _measured(code: str, page_uri: str) -> list[str]:
    page_dir = posixpath.dirname(page_uri)
    out = ["## Measured by `greenlint verify`", ""]
    workload = REPO / "fixtures" / code / "workload.py"
    if workload.is_file():
        handwritten = (REPO / "fixtures" / code / "after_handwritten.py").is_file()
        after = "a hand-written after (the rule's fix is advice only)" if handwritten else "greenlint's own fix of it"
        out += [
            f"The fixture `fixtures/{code}/workload.py` holds this smell; `greenlint verify {code}` "
            f"checks the rule fires on it, builds {after}, and measures both in interleaved pairs "
            "([how](" + posixpath.relpath("measuring.md", page_dir) + ")).",
            "",
        ]
    else:
        out += [f"{code} has no fixture workload, so `greenlint verify` does not measure it; the "
                "evidence above is the catalogue's.", ""]
    found = False
    for page, title, header, rows in _md_measurements():
        mine = [row for row in rows.splitlines() if re.match(rf"^\|\s*{re.escape(code)}\b", row)]
        if mine:
            found = True
            out += [f"From [{title}]({posixpath.relpath(page, page_dir)}):", "", *header, *mine, ""]
    for path, report in _json_reports():
        mine = [pair for pair in report["pairs"] if pair.get("rule") == code]
        if not mine:
            continue
        found = True
        cited = _page_citing(path)
        date = ((report.get("environment") or {}).get("date") or "")[:10]
        label = _title(STATE.docs_dir / cited) if cited else f"the `greenlint verify --json` report of {date}"
        out += [f"From [{label}]({posixpath.relpath(cited or path, page_dir)}) "
                f"({_environment(report)}):", "", *JSON_HEADER, *(_json_row(p) for p in mine), ""]
        for pair in mine:
            for warning in pair.get("warnings") or []:
                out.append(f"* warning: {_cell(warning)}")
        out.append("")
    if not found and workload.is_file():
        out += ["No run of its fixture is recorded in this documentation yet.", ""]
    return out


# -- placeholders ------------------------------------------------------------------------------


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    page_dir = posixpath.dirname(page.file.src_uri)

    def replace(match: re.Match[str]) -> str:
        name, arg = match["name"], match["arg"]
        maker = PLACEHOLDERS.get(name)
        if maker is None:
            log.warning("%s: unknown placeholder %r", page.file.src_uri, match[0])
            return match[0]
        return maker(arg, page_dir)

    markdown = PLACEHOLDER.sub(replace, markdown)
    if page.file.src_uri == "configuration.md":
        _check_configuration_page(markdown)
    return markdown


def _rules_table(_arg: str | None, page_dir: str) -> str:
    lines = [
        "| code | name | impact | fix | summary | evidence |",
        "|---|---|---|---|---|---|",
    ]
    for rule in STATE.rules:
        link = posixpath.relpath(STATE.pages[rule.code], page_dir)
        lines.append(
            f"| [{rule.code}]({link}) | [`{rule.name}`]({link}) | {rule.impact} | {_fix_label(rule)} "
            f"| {_cell(rule.summary)} | {_cell(rule.evidence) or '—'} |"
        )
    extra = [code for code in STATE.entries if all(r.code != code for r in STATE.rules)]
    if extra:
        lines += ["", "Catalogue entries without a registered rule in this version: "
                  + ", ".join(f"[{c}]({posixpath.relpath(STATE.pages[c], page_dir)})" for c in extra) + "."]
    return "\n".join(lines)


def _rule_options(_arg: str | None, page_dir: str) -> str:
    lines = ["| rule | option | type | default | meaning |", "|---|---|---|---|---|"]
    for rule in STATE.rules:
        link = posixpath.relpath(STATE.pages[rule.code], page_dir)
        for key, option in sorted((rule.options or {}).items()):
            kind = option.type.__name__
            if option.item_type is not None:
                kind += f" of {option.item_type.__name__}"
            lines.append(
                f"| [{rule.code}]({link}) | `{key}` | {kind} | `{json.dumps(option.default)}` | {_cell(option.doc)} |"
            )
    return "\n".join(lines)


def _default_excludes(_arg: str | None, _page_dir: str) -> str:
    from greenlint.discovery import DEFAULT_EXCLUDES

    return ", ".join(f"`{name}`" for name in DEFAULT_EXCLUDES)


def _check_configuration_page(markdown: str) -> None:
    from greenlint import config

    for key in getattr(config, "_KEYS", ()):
        if not re.search(rf"^#+\s+`{re.escape(key)}`", markdown, re.MULTILINE):
            log.warning("configuration.md: the configuration key %r has no `### `%s`` section", key, key)


def _cli(_arg: str | None, _page_dir: str) -> str:
    from greenlint.cli import main

    ctx = click.Context(main, info_name="greenlint", **main.context_settings)
    out = [_command_block(main, ctx, "greenlint", level=2, group=True)]
    # `check` first: it is the default command.
    for name in sorted(main.commands, key=lambda n: (n != "check", n)):
        command = main.commands[name]
        sub = click.Context(command, info_name=name, parent=ctx, **command.context_settings)
        out.append(_command_block(command, sub, f"greenlint {name}", level=2))
    return "\n\n".join(out)


def _command_block(command: click.Command, ctx: click.Context, title: str, level: int, group: bool = False) -> str:
    heading = "#" * level
    usage = " ".join([ctx.command_path, *command.collect_usage_pieces(ctx)])
    lines = [f"{heading} `{title}`", "", "```text", usage, "```", ""]
    if command.help:
        lines += [_help_text(command.help), ""]
    if group:
        lines += ["Without a command name, `greenlint` runs `check` with the arguments it was given, "
                  "so `greenlint --fix .` is `greenlint check --fix .`.", ""]
    arguments = [p for p in command.params if isinstance(p, click.Argument)]
    if arguments:
        lines += ["Arguments: " + ", ".join(
            f"`{a.make_metavar(ctx) if _metavar_takes_ctx() else a.make_metavar()}`" for a in arguments), ""]
    options = [p for p in command.get_params(ctx) if isinstance(p, click.Option) and not p.hidden]
    if not group:  # every command takes -h/--help; the table of `greenlint` itself lists it
        options = [p for p in options if p is not command.get_help_option(ctx)]
    if options:
        lines += ["| option | value | default | meaning |", "|---|---|---|---|"]
        for option in options:
            names = ", ".join(f"`{o}`" for o in (*option.opts, *option.secondary_opts))
            lines.append(f"| {names} | {_value(option, ctx)} | {_default(option)} | {_cell(option.help or '')} |")
    return "\n".join(lines)


def _metavar_takes_ctx() -> bool:
    return "ctx" in inspect.signature(click.Parameter.make_metavar).parameters


def _help_text(text: str) -> str:
    return inspect.cleandoc(text).replace("\b\n", "")


def _value(option: click.Option, ctx: click.Context) -> str:
    if option.is_flag or option.count:
        return "flag"
    kind = option.type
    if isinstance(kind, click.Choice):
        value = "one of " + ", ".join(f"`{c}`" for c in kind.choices)
    else:
        metavar = kind.get_metavar(option, ctx) if _metavar_takes_ctx() else kind.get_metavar(option)
        if isinstance(kind, click.types._NumberRangeBase):
            base = "INTEGER" if isinstance(kind, click.IntRange) else "FLOAT"
            value = f"`{base}` ({kind._describe_range()})"
        else:
            value = f"`{metavar or kind.name.upper()}`"
    return value + ("; repeatable" if option.multiple else "")


_UNSET = getattr(click.core, "UNSET", None)  # click >= 8.3: "no default given"


def _default(option: click.Option) -> str:
    if option.is_flag and not option.secondary_opts:
        return ""
    default = option.default
    if default is None or default is _UNSET or callable(default) or default in ((), []):
        return ""
    return f"`{default}`"


def _verify_json(arg: str | None, page_dir: str) -> str:
    if not arg:
        log.warning("greenlint:verify-json needs a path under docs/")
        return ""
    path = STATE.docs_dir / posixpath.normpath(posixpath.join(page_dir, arg))
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        log.warning("greenlint:verify-json %s: %s", arg, error)
        return ""
    rows = []
    for pair in report.get("pairs", []):
        uri = STATE.pages.get(pair.get("rule"))
        rows.append(_json_row(pair, posixpath.relpath(uri, page_dir) if uri else None))
    return "\n".join([*JSON_HEADER, *rows])


def _fixtures(_arg: str | None, _page_dir: str) -> str:
    """fixtures/README.md without its title, its headings one level down."""
    text = (REPO / "fixtures" / "README.md").read_text(encoding="utf-8")
    lines, fenced = [], False
    for line in text.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
        if not fenced and line.startswith("# "):
            continue
        lines.append("#" + line if not fenced and line.startswith("#") else line)
    return "\n".join(lines)


def _include(arg: str | None, page_dir: str) -> str:
    """A file as a code block: `repo:PATH` from the repository root, else a path relative to
    the page (under docs/)."""
    if not arg:
        log.warning("greenlint:include needs a path")
        return ""
    if arg.startswith("repo:"):
        path = REPO / arg[len("repo:") :]
    else:
        path = STATE.docs_dir / posixpath.normpath(posixpath.join(page_dir, arg))
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        log.warning("greenlint:include %s: %s", arg, error)
        return ""
    language = {".yml": "yaml", ".yaml": "yaml", ".toml": "toml", ".py": "python", ".json": "json"}.get(path.suffix, "text")
    fence = "~~~~" if "```" in text else "```"
    return f"{fence}{language}\n{text.rstrip()}\n{fence}"


PLACEHOLDERS = {
    "include": _include,
    "rules-table": _rules_table,
    "rule-options": _rule_options,
    "default-excludes": _default_excludes,
    "cli": _cli,
    "verify-json": _verify_json,
    "fixtures": _fixtures,
}
