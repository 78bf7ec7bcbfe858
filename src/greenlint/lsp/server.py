"""The language server: the CLI's engine, rules and configuration behind LSP (pygls 2).

What it does per open Python document:

* lints the buffer (never the file on disk) on open, on save, and on change after a quiet
  period (`debounceMs` in the client's initializationOptions, 200 by default), and publishes the
  findings (and a syntax error, which replaces them while the code is broken);
* keeps the last lint per document version, so code actions and hovers reuse it;
* offers a quick fix per fixable finding, "Disable GLnnn for this line", and
  `source.fixAll.greenlint` (the CLI's `--fix` on the buffer);
* shows a rule's catalogue entry on hover over a finding.

Configuration is the CLI's: the nearest pyproject.toml with [tool.greenlint] above each
document, or `configPath` from initializationOptions (the CLI's --config). It is reloaded when a
pyproject.toml changes (workspace/didChangeWatchedFiles) or is saved in the editor.

The server keeps its own copy of each buffer, applying the editor's incremental changes with
LSP's own line breaks and position encoding (pygls's copy splits lines with str.splitlines, which
also breaks at form feeds and U+2028).
"""

from __future__ import annotations

import asyncio
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from greenlint import __version__
from greenlint.config import (
    CliOverrides,
    ConfigError,
    Settings,
    SettingsResolver,
    load_settings,
)
from greenlint.diagnostics import (
    Applicability,
    Diagnostic,
    Edit,
    FixUnavailable,
    minimal_edit,
)
from greenlint.engine import LintResult, lint_text, parse
from greenlint.fixer import apply_edits, fix_text
from greenlint.lsp.edits import apply_change, noqa_edit
from greenlint.lsp.positions import UTF16, PositionMap
from greenlint.rules.base import Rule, all_rules

logger = logging.getLogger("greenlint.lsp")

SOURCE = "greenlint"
FIX_ALL_KIND = "source.fixAll.greenlint"
QUICK_FIX_KIND = types.CodeActionKind.QuickFix.value
DEFAULT_DEBOUNCE_MS = 200
PYTHON_SUFFIXES = (".py", ".pyi")
CONFIG_NAMES = ("pyproject.toml",)
HOVER_SECTIONS = ("What it does", "Why it costs energy", "Fix safety")


@dataclass
class Document:
    """The server's copy of an open buffer."""

    uri: str
    text: str
    version: int | None
    language_id: str
    path: Path | None  # the file, for a file: URI

    @property
    def is_python(self) -> bool:
        if self.language_id == "python":
            return True
        return self.path is not None and self.path.suffix in PYTHON_SUFFIXES


@dataclass
class Snapshot:
    """One lint of one version of a document, and what was derived from it."""

    document: Document
    version: int | None
    text: str
    generation: int  # of the configuration
    filename: str
    settings: Settings | None
    rules: list[Rule]
    result: LintResult
    positions: PositionMap
    lsp: list[types.Diagnostic]  # parallel to result.diagnostics
    fix_all: dict[bool, Edit | None] = field(default_factory=dict)  # unsafe_fixes -> edit

    def current(self, server: GreenlintServer) -> bool:
        doc = self.document
        return (
            server.documents.get(doc.uri) is doc
            and doc.text is self.text
            and doc.version == self.version
            and server.generation == self.generation
            and server.encoding == self.positions.encoding
        )


def _option(options: Any, key: str) -> Any:
    return options.get(key) if isinstance(options, dict) else None


def _kind(value: Any) -> str:
    return value.value if hasattr(value, "value") else str(value)


class GreenlintServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("greenlint", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
        self.documents: dict[str, Document] = {}
        self.snapshots: dict[str, Snapshot] = {}
        self.pending: dict[str, asyncio.Task] = {}
        self.debounce = DEFAULT_DEBOUNCE_MS / 1000
        self.config_path: Path | None = None
        self.root = Path.cwd()
        self.generation = 0
        self.rule_list = all_rules()
        self.rule_classes = {rule.code: rule for rule in self.rule_list}
        self._resolver: SettingsResolver | None = None
        self._defaults: Settings | None = None
        self._rule_sets: dict[tuple[int, frozenset[str]], tuple[Settings, list[Rule]]] = {}
        self._logged: set[str] = set()
        self._config_errors: set[str] = set()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="greenlint-lint")

    # -- client facts ------------------------------------------------------------------------

    @property
    def encoding(self) -> str:
        try:
            return _kind(self.workspace.position_encoding or UTF16)
        except Exception:  # not initialised yet
            return UTF16

    def _client(self, *path: str) -> Any:
        value: Any = self.client_capabilities
        for name in path:
            value = getattr(value, name, None)
            if value is None:
                return None
        return value

    @property
    def resolves_edits(self) -> bool:
        properties = self._client("text_document", "code_action", "resolve_support", "properties") or ()
        return "edit" in properties and bool(self._client("text_document", "code_action", "data_support"))

    # -- messages ----------------------------------------------------------------------------

    def log_once(self, message: str, level: types.MessageType = types.MessageType.Error) -> None:
        if message in self._logged:
            return
        self._logged.add(message)
        logger.warning("%s", message)
        self.window_log_message(types.LogMessageParams(type=level, message=f"greenlint: {message}"))

    def _config_problem(self, error: ConfigError) -> None:
        message = str(error)
        if message in self._config_errors:
            return
        self._config_errors.add(message)
        text = f"greenlint: configuration error, using the defaults: {message}"
        self.window_show_message(types.ShowMessageParams(type=types.MessageType.Error, message=text))
        self.window_log_message(types.LogMessageParams(type=types.MessageType.Error, message=text))

    # -- configuration -----------------------------------------------------------------------

    def configure(self, params: types.InitializeParams) -> None:
        options = params.initialization_options
        debounce = _option(options, "debounceMs")
        if isinstance(debounce, (int, float)) and not isinstance(debounce, bool) and debounce >= 0:
            self.debounce = debounce / 1000
        root = self.workspace.root_path
        if root:
            self.root = Path(root)
        config = _option(options, "configPath")
        if isinstance(config, str) and config:
            path = Path(os.path.expanduser(config))
            self.config_path = path if path.is_absolute() else self.root / path

    def reload(self) -> None:
        """Forget every loaded configuration and re-lint the open documents."""
        self.generation += 1
        self._resolver = None
        self._defaults = None
        self._rule_sets.clear()
        self._config_errors.clear()
        for uri in list(self.documents):
            self.schedule(uri, 0)

    def _default_settings(self) -> Settings:
        if self._defaults is None:
            self._defaults = load_settings(None, self.rule_list, CliOverrides(), self.root)
        return self._defaults

    def settings_for(self, path: Path) -> Settings:
        try:
            if self._resolver is None:
                self._resolver = SettingsResolver(self.rule_list, CliOverrides(), explicit_config=self.config_path, cwd=self.root)
            return self._resolver.settings_for(path)
        except ConfigError as error:
            self._config_problem(error)
            return self._default_settings()

    def rules_for(self, settings: Settings, path: Path) -> list[Rule]:
        enabled = settings.enabled_for(path)
        key = (id(settings), enabled)
        found = self._rule_sets.get(key)
        if found is None:
            rules = [self.rule_classes[code](settings.rule_options.get(code)) for code in sorted(enabled) if code in self.rule_classes]
            found = self._rule_sets[key] = (settings, rules)  # settings kept alive: its id stays unique
        return found[1]

    def _filename(self, doc: Document) -> tuple[str, Path]:
        """The name the engine sees (relative to the workspace, as the CLI run from there shows
        it) and the path configuration is looked up for."""
        if doc.path is None:
            return doc.uri, self.root / "untitled.py"
        try:
            relative = os.path.relpath(doc.path, self.root)
        except ValueError:  # another drive
            return str(doc.path), doc.path
        return (str(doc.path) if relative.startswith("..") else relative), doc.path

    # -- linting -----------------------------------------------------------------------------

    def _prepare(self, doc: Document) -> tuple[str, Settings | None, list[Rule]]:
        filename, path = self._filename(doc)
        if not doc.is_python:
            return filename, None, []
        settings = self.settings_for(path)
        return filename, settings, self.rules_for(settings, path)

    def _build(self, doc: Document, version, text: str, generation: int, encoding: str, prepared) -> Snapshot:
        """Lint and convert: pure, safe in the worker thread."""
        filename, settings, rules = prepared
        try:
            result = lint_text(text, filename, rules) if rules else LintResult(skipped=True)
        except Exception as error:  # an engine bug must not take the server down
            logger.exception("linting %s failed", filename)
            result = LintResult(errors=[f"{filename}: internal error: {type(error).__name__}: {error}"])
        positions = PositionMap(text, encoding)
        lsp = [to_lsp(d, positions, version) for d in result.diagnostics]
        return Snapshot(doc, version, text, generation, filename, settings, rules, result, positions, lsp)

    def _report_errors(self, snapshot: Snapshot) -> None:
        prefix = f"{snapshot.filename}: "
        for error in snapshot.result.errors:
            self.log_once(error.removeprefix(prefix))

    def snapshot(self, uri: str) -> Snapshot | None:
        """The lint of the document as it is now: cached, or made now (in the event loop)."""
        doc = self.documents.get(uri)
        if doc is None:
            return None
        cached = self.snapshots.get(uri)
        if cached is not None and cached.current(self):
            return cached
        snapshot = self._build(doc, doc.version, doc.text, self.generation, self.encoding, self._prepare(doc))
        self.snapshots[uri] = snapshot
        self._report_errors(snapshot)
        return snapshot

    async def lint_and_publish(self, uri: str) -> None:
        doc = self.documents.get(uri)
        if doc is None:
            return
        snapshot = self.snapshots.get(uri)
        if snapshot is None or not snapshot.current(self):
            version, text, generation, encoding = doc.version, doc.text, self.generation, self.encoding
            prepared = self._prepare(doc)
            loop = asyncio.get_running_loop()
            snapshot = await loop.run_in_executor(self._executor, self._build, doc, version, text, generation, encoding, prepared)
            if not snapshot.current(self):
                return  # the buffer changed meanwhile: a newer lint is on its way
            self.snapshots[uri] = snapshot
            self._report_errors(snapshot)
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=list(snapshot.lsp), version=snapshot.version)
        )

    def schedule(self, uri: str, delay: float) -> None:
        """Lint `uri` after `delay` seconds of quiet; a newer call replaces a pending one."""
        pending = self.pending.pop(uri, None)
        if pending is not None:
            pending.cancel()
        self.pending[uri] = asyncio.get_running_loop().create_task(self._later(uri, delay))

    async def _later(self, uri: str, delay: float) -> None:
        try:
            if delay > 0:
                await asyncio.sleep(delay)
            await self.lint_and_publish(uri)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # never let one document's failure stop the server
            logger.exception("lint of %s failed", uri)
            self.log_once(f"internal error while linting: {type(error).__name__}: {error}")
        finally:
            if self.pending.get(uri) is asyncio.current_task():
                del self.pending[uri]

    # -- documents ---------------------------------------------------------------------------

    def open(self, item: types.TextDocumentItem) -> Document:
        path = to_fs_path(item.uri) if item.uri.startswith("file:") else None
        doc = Document(item.uri, item.text, item.version, item.language_id, Path(path) if path else None)
        self.documents[item.uri] = doc
        return doc

    def change(self, params: types.DidChangeTextDocumentParams) -> Document | None:
        uri = params.text_document.uri
        doc = self.documents.get(uri)
        if doc is None:  # a change without an open: take pygls's copy
            try:
                pygls_doc = self.workspace.get_text_document(uri)
            except Exception:
                return None
            doc = self.open(types.TextDocumentItem(uri, pygls_doc.language_id or "python", params.text_document.version, pygls_doc.source))
            return doc
        text = doc.text
        for change in params.content_changes:
            if isinstance(change, types.TextDocumentContentChangePartial):
                start, end = change.range.start, change.range.end
                text = apply_change(text, ((start.line, start.character), (end.line, end.character)), change.text, self.encoding)
            else:
                text = change.text
        doc.text = text
        doc.version = params.text_document.version
        return doc

    def close(self, uri: str) -> None:
        pending = self.pending.pop(uri, None)
        if pending is not None:
            pending.cancel()
        self.documents.pop(uri, None)
        self.snapshots.pop(uri, None)
        self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    # -- edits -------------------------------------------------------------------------------

    def workspace_edit(self, snapshot: Snapshot, edits: list[Edit]) -> types.WorkspaceEdit:
        text_edits = [types.TextEdit(range=lsp_range(snapshot.positions, e.start, e.end), new_text=e.content) for e in edits]
        uri = snapshot.document.uri
        if self._client("workspace", "workspace_edit", "document_changes"):
            identifier = types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=snapshot.version)
            return types.WorkspaceEdit(document_changes=[types.TextDocumentEdit(text_document=identifier, edits=text_edits)])
        return types.WorkspaceEdit(changes={uri: text_edits})

    def fix_all_edit(self, snapshot: Snapshot) -> Edit | None:
        """The CLI's `--fix` on the buffer (unsafe fixes too where the config says so), as the
        smallest single edit."""
        unsafe = bool(snapshot.settings and snapshot.settings.unsafe_fixes)
        if unsafe not in snapshot.fix_all:
            result = fix_text(snapshot.text, snapshot.filename, snapshot.rules, unsafe_fixes=unsafe)
            for error in result.errors:
                self.log_once(error)
            snapshot.fix_all[unsafe] = minimal_edit(snapshot.text, result.text)
        return snapshot.fix_all[unsafe]

    def quick_fix_edits(self, snapshot: Snapshot, diagnostic: Diagnostic) -> list[Edit] | None:
        """The finding's own fix edits, when they exist and leave code that parses (the CLI
        would not apply them otherwise)."""
        fix = diagnostic.fix
        if fix is None or fix.applicability is Applicability.DISPLAY_ONLY:
            return None
        try:
            edits = fix.edits
        except FixUnavailable:
            return None
        except Exception as error:  # a fix builder bug: log it, offer nothing
            self.log_once(f"internal error building the {diagnostic.code} fix: {type(error).__name__}: {error}")
            return None
        try:
            parse(apply_edits(snapshot.text, edits), snapshot.filename)
        except (SyntaxError, ValueError, RecursionError):
            return None
        return edits


# -- conversions -----------------------------------------------------------------------------


def lsp_range(positions: PositionMap, start: int, end: int) -> types.Range:
    (start_line, start_char), (end_line, end_char) = positions.range(start, end)
    return types.Range(start=types.Position(start_line, start_char), end=types.Position(end_line, end_char))


def to_lsp(diagnostic: Diagnostic, positions: PositionMap, version: int | None) -> types.Diagnostic:
    rng = lsp_range(positions, diagnostic.start, diagnostic.end)
    if diagnostic.code is None:  # a syntax error
        return types.Diagnostic(range=rng, message=diagnostic.message, severity=types.DiagnosticSeverity.Error, source=SOURCE)
    fix = diagnostic.fix
    data = {
        "code": diagnostic.code,
        "name": diagnostic.name,
        "start": diagnostic.start,
        "end": diagnostic.end,
        "version": version,
        "fix": fix.applicability.value if fix is not None else None,
        "fixTitle": fix.message if fix is not None else None,
    }
    url = diagnostic.url
    return types.Diagnostic(
        range=rng,
        message=diagnostic.message,
        severity=types.DiagnosticSeverity.Warning,
        code=diagnostic.code,
        code_description=types.CodeDescription(href=url) if url else None,
        source=SOURCE,
        data=data,
    )


def _wanted(only: Any, kind: str) -> bool:
    if not only:
        return True
    return any(kind == _kind(o) or kind.startswith(_kind(o) + ".") for o in only)


def hover_markdown(diagnostic: Diagnostic) -> str:
    from greenlint.catalogue import entry

    found = entry(diagnostic.code or "")
    lines = [f"**{diagnostic.code} {diagnostic.name}**" + (f" (impact: {diagnostic.impact})" if diagnostic.impact else ""), "", diagnostic.message]
    if found is not None:
        for heading in HOVER_SECTIONS:
            body = found.section(heading)
            if body:
                lines += ["", f"### {heading}", "", body]
    else:
        rule = next((r for r in all_rules() if r.code == diagnostic.code), None)
        if rule is not None:
            lines += ["", rule.summary]
    if diagnostic.url:
        lines += ["", f"[Full documentation]({diagnostic.url})"]
    return "\n".join(lines)


# -- the protocol ----------------------------------------------------------------------------


def create_server() -> GreenlintServer:
    server = GreenlintServer()

    @server.feature(types.INITIALIZE)
    def initialize(ls: GreenlintServer, params: types.InitializeParams) -> None:
        ls.configure(params)

    @server.feature(types.INITIALIZED)
    async def initialized(ls: GreenlintServer, params: types.InitializedParams) -> None:
        if not ls._client("workspace", "did_change_watched_files", "dynamic_registration"):
            return  # the client watches nothing for us: saves of pyproject.toml still reload
        watchers = [types.FileSystemWatcher(glob_pattern=f"**/{name}") for name in CONFIG_NAMES]
        if ls.config_path is not None:
            watchers.append(types.FileSystemWatcher(glob_pattern=ls.config_path.as_posix()))
        registration = types.Registration(
            id="greenlint-config-watcher",
            method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
            register_options=types.DidChangeWatchedFilesRegistrationOptions(watchers=watchers),
        )
        try:
            await ls.client_register_capability_async(types.RegistrationParams(registrations=[registration]))
        except Exception as error:  # the client refused: saves still reload
            logger.warning("could not register the pyproject.toml watcher: %s", error)

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: GreenlintServer, params: None) -> None:
        for task in ls.pending.values():
            task.cancel()
        ls.pending.clear()
        ls._executor.shutdown(wait=False, cancel_futures=True)

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: GreenlintServer, params: types.DidOpenTextDocumentParams) -> None:
        doc = ls.open(params.text_document)
        if doc.is_python:
            ls.schedule(doc.uri, 0)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: GreenlintServer, params: types.DidChangeTextDocumentParams) -> None:
        doc = ls.change(params)
        if doc is not None and doc.is_python:
            ls.schedule(doc.uri, ls.debounce)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE, types.SaveOptions(include_text=False))
    def did_save(ls: GreenlintServer, params: types.DidSaveTextDocumentParams) -> None:
        uri = params.text_document.uri
        if _is_config(ls, uri):
            ls.reload()
            return
        doc = ls.documents.get(uri)
        if doc is not None and doc.is_python:
            ls.schedule(uri, 0)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: GreenlintServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.close(params.text_document.uri)

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched_files(ls: GreenlintServer, params: types.DidChangeWatchedFilesParams) -> None:
        if any(_is_config(ls, change.uri) for change in params.changes):
            ls.reload()

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(
            code_action_kinds=[types.CodeActionKind.QuickFix, types.CodeActionKind.SourceFixAll, FIX_ALL_KIND],
            resolve_provider=True,
        ),
    )
    def code_action(ls: GreenlintServer, params: types.CodeActionParams) -> list[types.CodeAction] | None:
        snapshot = ls.snapshot(params.text_document.uri)
        if snapshot is None or snapshot.settings is None:
            return None
        only = params.context.only
        positions = snapshot.positions
        start = positions.offset(params.range.start.line, params.range.start.character)
        end = positions.offset(params.range.end.line, params.range.end.character)
        defer = ls.resolves_edits
        actions: list[types.CodeAction] = []
        if _wanted(only, QUICK_FIX_KIND):
            hits = [
                (d, lsp)
                for d, lsp in zip(snapshot.result.diagnostics, snapshot.lsp)
                if d.code is not None and d.start <= end and start <= d.end
            ]
            fixes: dict[tuple[Edit, ...], types.CodeAction] = {}
            for d, lsp in hits:
                edits = ls.quick_fix_edits(snapshot, d)
                if edits is None:
                    continue
                key = tuple(edits)
                if key in fixes:
                    fixes[key].diagnostics.append(lsp)
                    continue
                unsafe = d.fix.applicability is Applicability.UNSAFE
                fixes[key] = types.CodeAction(
                    title=f"greenlint ({d.code}): {d.fix.message}" + (" (unsafe)" if unsafe else ""),
                    kind=QUICK_FIX_KIND,
                    diagnostics=[lsp],
                    is_preferred=not unsafe,
                    edit=ls.workspace_edit(snapshot, edits),
                )
            actions.extend(fixes.values())
            silenced: set[tuple[str, int]] = set()
            for d, lsp in hits:
                key = (d.code, lsp.range.start.line)
                if key in silenced:
                    continue
                silenced.add(key)
                action = types.CodeAction(
                    title=f"Disable {d.code} for this line",
                    kind=QUICK_FIX_KIND,
                    diagnostics=[lsp],
                    data={"action": "noqa", "uri": snapshot.document.uri, "version": snapshot.version, "code": d.code, "start": d.start, "end": d.end},
                )
                if not defer:
                    edit = noqa_edit(snapshot.text, d.code, d.start, d.end)
                    if edit is None:
                        continue
                    action.edit = ls.workspace_edit(snapshot, [edit])
                actions.append(action)
        if _wanted(only, FIX_ALL_KIND):
            unsafe = bool(snapshot.settings.unsafe_fixes)
            fixable = any(d.fix is not None and d.fix.applicability.allowed(unsafe) for d in snapshot.result.diagnostics)
            if fixable:
                action = types.CodeAction(
                    title="greenlint: Fix all auto-fixable problems",
                    kind=FIX_ALL_KIND,
                    data={"action": "fixAll", "uri": snapshot.document.uri, "version": snapshot.version},
                )
                if not defer:
                    edit = ls.fix_all_edit(snapshot)
                    action.edit = ls.workspace_edit(snapshot, [edit] if edit is not None else [])
                actions.append(action)
        return actions

    @server.feature(types.CODE_ACTION_RESOLVE)
    def code_action_resolve(ls: GreenlintServer, action: types.CodeAction) -> types.CodeAction:
        data = action.data if isinstance(action.data, dict) else {}
        snapshot = ls.snapshot(data.get("uri", ""))
        if snapshot is None or action.edit is not None:
            return action
        if data.get("action") == "fixAll":
            edit = ls.fix_all_edit(snapshot)
            action.edit = ls.workspace_edit(snapshot, [edit] if edit is not None else [])
        elif data.get("action") == "noqa" and data.get("version") == snapshot.version:
            edit = noqa_edit(snapshot.text, str(data.get("code")), int(data.get("start", 0)), int(data.get("end", 0)))
            if edit is not None:
                action.edit = ls.workspace_edit(snapshot, [edit])
        return action

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(ls: GreenlintServer, params: types.HoverParams) -> types.Hover | None:
        snapshot = ls.snapshot(params.text_document.uri)
        if snapshot is None:
            return None
        offset = snapshot.positions.offset(params.position.line, params.position.character)
        hits = [(d, lsp) for d, lsp in zip(snapshot.result.diagnostics, snapshot.lsp) if d.code and d.start <= offset <= d.end]
        if not hits:
            return None
        seen: set[str] = set()
        parts = []
        for d, _ in hits:
            if d.code not in seen:
                seen.add(d.code)
                parts.append(hover_markdown(d))
        return types.Hover(
            contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value="\n\n---\n\n".join(parts)),
            range=hits[0][1].range,
        )

    return server


def _is_config(ls: GreenlintServer, uri: str) -> bool:
    path = to_fs_path(uri) if uri.startswith("file:") else None
    if path is None:
        return False
    if Path(path).name in CONFIG_NAMES:
        return True
    return ls.config_path is not None and Path(path) == ls.config_path
