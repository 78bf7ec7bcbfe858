"""The language server end to end: the real `greenlint server` process over stdio, driven by
pytest-lsp's client. Buffers are never written to disk unless a test says so: the server lints
what the editor holds.

Expected results come from the engine itself (`fix_text`, the CLI's `--fix`), so a quick fix
or fix-all is checked to produce exactly what the CLI would.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.protocol import default_converter
from pygls.uris import from_fs_path
from pytest_lsp import ClientServerConfig, LanguageClient
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features
from samples import EVAL

from greenlint.diagnostics import minimal_edit
from greenlint.engine import lint_text
from greenlint.fixer import fix_text
from greenlint.lsp.edits import apply_change, noqa_edit
from greenlint.lsp.positions import UTF8, UTF16, UTF32, PositionMap
from greenlint.rules.base import all_rules

TESTS = Path(__file__).resolve().parent
SERVER = [sys.executable, "-m", "greenlint.cli", "server"]
# The same server with a rule registered that always raises (tests/lsp_crashing_rule.py).
CRASHING_SERVER = [
    sys.executable,
    "-c",
    f"import sys; sys.path.insert(0, {str(TESTS)!r}); import lsp_crashing_rule; from greenlint.lsp import main; main()",
]
DEBOUNCE_MS = 50  # tests wait less; test_debounce uses the default
TIMEOUT = 15.0
URL = "https://greenlint.dev/rules/inference-without-no-grad/"

# --------------------------------------------------------------------------- sources

# An unsafe fix: the output is returned.
PREDICT = """\
import torch as T

def predict(net, xs):
    return [net(x) for x in xs]
"""
# Two edits (an import and a with-block), and characters outside the BMP on the flagged line
# and inside the wrapped block.
WRAP = """\
from transformers import AutoModel

def main(val_loader):
    model = AutoModel.from_pretrained("bert-base-uncased")
    for batch in val_loader:
        tag = "🔥🔥"; out = model(**batch)
        report(out, "🌍 done")
"""
CLEAN = """\
import torch

@torch.no_grad()
def evaluate(model, loader):
    return [model(x) for x, _ in loader]
"""


# Every workspace selects GL101 alone, so rules added later cannot change what these tests see.
GL101_ONLY = '[tool.greenlint]\nselect = ["GL101"]\n'


def rules():
    """The rules the CLI runs under GL101_ONLY."""
    return [rule() for rule in all_rules() if rule.code == "GL101"]


# --------------------------------------------------------------------------- the client


def _client_factory() -> LanguageClient:
    """pytest-lsp's client, also keeping every publishDiagnostics (with its version)."""
    client = LanguageClient(converter_factory=default_converter)
    client.published = []  # type: ignore[attr-defined]
    client.registrations = []  # type: ignore[attr-defined]

    def publish(ls: LanguageClient, params: types.PublishDiagnosticsParams) -> None:
        ls.diagnostics[params.uri] = params.diagnostics
        ls.published.append(params)  # type: ignore[attr-defined]

    def register_capability(ls: LanguageClient, params: types.RegistrationParams) -> None:
        ls.registrations.extend(params.registrations)  # type: ignore[attr-defined]

    features = dict(DEFAULT_CLIENT_FEATURES)
    features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = publish
    features[types.CLIENT_REGISTER_CAPABILITY] = register_capability
    register_lsp_features(client, features)
    return client


def _capabilities(resolve: bool = True, watch: bool = False) -> types.ClientCapabilities:
    code_action = types.CodeActionClientCapabilities(
        code_action_literal_support=types.ClientCodeActionLiteralOptions(
            code_action_kind=types.ClientCodeActionKindOptions(value_set=[k for k in types.CodeActionKind])
        ),
        is_preferred_support=True,
        data_support=resolve,
        resolve_support=types.ClientCodeActionResolveOptions(properties=["edit"]) if resolve else None,
    )
    return types.ClientCapabilities(
        general=types.GeneralClientCapabilities(position_encodings=[types.PositionEncodingKind.Utf16]),
        workspace=types.WorkspaceClientCapabilities(
            workspace_edit=types.WorkspaceEditClientCapabilities(document_changes=resolve),
            did_change_watched_files=types.DidChangeWatchedFilesClientCapabilities(dynamic_registration=watch),
        ),
        text_document=types.TextDocumentClientCapabilities(
            code_action=code_action,
            hover=types.HoverClientCapabilities(content_format=[types.MarkupKind.Markdown]),
            publish_diagnostics=types.PublishDiagnosticsClientCapabilities(version_support=True, data_support=True),
            synchronization=types.TextDocumentSyncClientCapabilities(did_save=True),
        ),
    )


async def _start(client: LanguageClient, root: Path, resolve: bool = True, debounce_ms: int | None = DEBOUNCE_MS, watch: bool = False):
    options = {} if debounce_ms is None else {"debounceMs": debounce_ms}
    await client.initialize_session(
        types.InitializeParams(
            capabilities=_capabilities(resolve, watch),
            root_uri=from_fs_path(str(root)),
            workspace_folders=[types.WorkspaceFolder(uri=from_fs_path(str(root)), name="ws")],
            initialization_options=options,
        )
    )


def _config(command: list[str]) -> ClientServerConfig:
    return ClientServerConfig(server_command=command, client_factory=_client_factory)


# One server for most tests (starting one takes a second or two): each test works in a folder
# of its own under the workspace, so configuration files written by one touch no other.
@pytest_lsp.fixture(config=_config(SERVER), scope="module")
async def client(lsp_client: LanguageClient, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("workspace")
    lsp_client.root = root  # type: ignore[attr-defined]
    (root / "pyproject.toml").write_text(GL101_ONLY)
    await _start(lsp_client, root)
    yield
    await lsp_client.shutdown_session()


@pytest.fixture
def folder(client: LanguageClient, request: pytest.FixtureRequest) -> Path:
    """This test's own folder in the shared server's workspace."""
    path = client.root / re.sub(r"\W", "_", request.node.name)  # type: ignore[attr-defined]
    path.mkdir()
    return path


@pytest_lsp.fixture(config=_config(SERVER), loop_scope="module")
async def eager_client(lsp_client: LanguageClient, tmp_path: Path):
    """A client without codeAction/resolve or documentChanges (edits come in the actions), that
    watches files for its servers."""
    (tmp_path / "pyproject.toml").write_text(GL101_ONLY)
    await _start(lsp_client, tmp_path, resolve=False, watch=True)
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=_config(SERVER), loop_scope="module")
async def default_client(lsp_client: LanguageClient, tmp_path: Path):
    """No initializationOptions: the default debounce."""
    (tmp_path / "pyproject.toml").write_text(GL101_ONLY)
    await _start(lsp_client, tmp_path, debounce_ms=None)
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=_config(CRASHING_SERVER), loop_scope="module")
async def crashing_client(lsp_client: LanguageClient, tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text('[tool.greenlint]\nselect = ["GL101", "GL999"]\n')
    await _start(lsp_client, tmp_path)
    yield
    await lsp_client.shutdown_session()


# --------------------------------------------------------------------------- helpers


def _uri(root: Path, name: str) -> str:
    return from_fs_path(str(root / name))


def _open(client: LanguageClient, uri: str, text: str, version: int = 1) -> None:
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(uri=uri, language_id="python", version=version, text=text))
    )


def _replace_all(client: LanguageClient, uri: str, text: str, version: int) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


def _edit(client: LanguageClient, uri: str, version: int, start: tuple[int, int], end: tuple[int, int], text: str) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(start=types.Position(*start), end=types.Position(*end)), text=text
                )
            ],
        )
    )


async def _published(client: LanguageClient, uri: str, version: int | None = None, timeout: float = TIMEOUT) -> list[types.Diagnostic]:
    """The diagnostics of the first publish for `uri` (at `version`, if given) from now on, or
    already received."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for params in reversed(client.published):  # type: ignore[attr-defined]
            if params.uri == uri and (version is None or params.version == version):
                return list(params.diagnostics)
        await asyncio.sleep(0.01)
    raise AssertionError(f"no diagnostics published for {uri} (version {version}) in {timeout}s")


def _last(client: LanguageClient, uri: str) -> types.PublishDiagnosticsParams | None:
    return next((p for p in reversed(client.published) if p.uri == uri), None)  # type: ignore[attr-defined]


def _count(client: LanguageClient, uri: str) -> int:
    return sum(p.uri == uri for p in client.published)  # type: ignore[attr-defined]


async def _until(predicate, timeout: float = TIMEOUT, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def _utf16_offset(text: str, position: types.Position) -> int:
    """Independent of the server's own mapping: LSP lines, UTF-16 columns."""
    lines = re.split(r"(?<=\r\n)|(?<=\r)(?!\n)|(?<=\n)", text)
    start = sum(len(line) for line in lines[: position.line])
    line = lines[position.line] if position.line < len(lines) else ""
    units = 0
    for index, char in enumerate(line):
        if units >= position.character:
            return start + index
        units += 2 if ord(char) > 0xFFFF else 1
    return start + len(line.rstrip("\r\n"))


def _apply(text: str, edits: list[types.TextEdit]) -> str:
    """Apply LSP text edits as an editor does: all ranges refer to the original text, and
    insertions at one position keep their order."""
    spans = [(_utf16_offset(text, e.range.start), _utf16_offset(text, e.range.end), e.new_text) for e in edits]
    out, cursor = [], 0
    for start, end, new in sorted(spans, key=lambda s: (s[0], s[1])):
        assert start >= cursor, "overlapping edits"
        out.append(text[cursor:start])
        out.append(new)
        cursor = end
    out.append(text[cursor:])
    return "".join(out)


def _workspace_edits(edit: types.WorkspaceEdit, uri: str) -> list[types.TextEdit]:
    if edit.document_changes:
        (change,) = edit.document_changes
        assert change.text_document.uri == uri
        return list(change.edits)
    return list(edit.changes[uri])


async def _actions(client: LanguageClient, uri: str, rng: types.Range, only=None) -> list[types.CodeAction]:
    result = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=rng,
            context=types.CodeActionContext(diagnostics=[], only=only),
        )
    )
    return list(result or [])


async def _resolved(client: LanguageClient, action: types.CodeAction) -> types.CodeAction:
    if action.edit is None:
        action = await client.code_action_resolve_async(action)
    assert action.edit is not None, action.title
    return action


def _range(line: int, start: int, end: int) -> types.Range:
    return types.Range(start=types.Position(line, start), end=types.Position(line, end))


# --------------------------------------------------------------------------- diagnostics


@pytest.mark.asyncio(loop_scope="module")
async def test_open_publishes_the_finding(client: LanguageClient, folder: Path):
    uri = _uri(folder, "evaluate.py")
    _open(client, uri, EVAL)
    diagnostics = await _published(client, uri, version=1)
    assert len(diagnostics) == 1
    (d,) = diagnostics
    line = EVAL.splitlines()[5]
    column = line.index("model(x)")
    assert d.range == _range(5, column, column + len("model(x)"))
    assert d.code == "GL101"
    assert d.source == "greenlint"
    assert d.severity == types.DiagnosticSeverity.Warning
    assert d.code_description is not None and d.code_description.href == URL
    assert "evaluate()" in d.message
    assert d.data["fix"] == "safe"


@pytest.mark.asyncio(loop_scope="module")
async def test_ranges_count_utf16_code_units(client: LanguageClient, folder: Path):
    uri = _uri(folder, "wrap.py")
    _open(client, uri, WRAP)
    (d,) = await _published(client, uri, version=1)
    line = WRAP.splitlines()[5]
    column = line.index("model(**batch)")
    # Two emoji before the call: each one character in Python, two UTF-16 code units in LSP.
    assert d.range == _range(5, column + 2, column + 2 + len("model(**batch)"))


@pytest.mark.asyncio(loop_scope="module")
async def test_lints_the_buffer_not_the_file(client: LanguageClient, folder: Path):
    path = folder / "on_disk.py"
    path.write_text(CLEAN)
    uri = _uri(folder, "on_disk.py")
    _open(client, uri, EVAL)  # unsaved edits: the buffer has the smell, the disk does not
    assert [d.code for d in await _published(client, uri, version=1)] == ["GL101"]
    _replace_all(client, uri, CLEAN, 2)
    assert await _published(client, uri, version=2) == []
    client.text_document_did_save(types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri)))


@pytest.mark.asyncio(loop_scope="module")
async def test_untitled_buffer(client: LanguageClient):
    uri = "untitled:Untitled-1"
    _open(client, uri, EVAL)
    assert [d.code for d in await _published(client, uri, version=1)] == ["GL101"]


@pytest.mark.asyncio(loop_scope="module")
async def test_syntax_error_while_typing_replaces_findings(client: LanguageClient, folder: Path):
    uri = _uri(folder, "evaluate.py")
    _open(client, uri, EVAL)
    assert [d.code for d in await _published(client, uri, version=1)] == ["GL101"]
    # Type an unclosed "(" after `def evaluate` (an incremental change).
    line = EVAL.splitlines()[2]
    at = line.index("(")
    _edit(client, uri, 2, (2, at), (2, at + 1), "((")
    (error,) = await _published(client, uri, version=2)
    assert error.code is None and error.severity == types.DiagnosticSeverity.Error
    assert error.message.startswith("SyntaxError")
    assert error.source == "greenlint"
    # Undo it: the finding is back, at the right place (the server's buffer is in sync).
    _edit(client, uri, 3, (2, at), (2, at + 2), "(")
    (d,) = await _published(client, uri, version=3)
    assert d.code == "GL101" and d.range.start.line == 5
    # The server still answers.
    assert await _actions(client, uri, d.range)


@pytest.mark.parametrize("seed", [7, 11, 23])
@pytest.mark.asyncio(loop_scope="module")
async def test_incremental_changes_keep_the_servers_copy_in_sync(client: LanguageClient, folder: Path, seed: int):
    """Random incremental edits (astral characters, CRLF, form feeds, multi-line ranges): the
    findings at the end are those of the same text opened fresh."""
    import random

    rng = random.Random(seed)
    pieces = ["x", "😀", "é", "\r\n", "\n", "\x0c", "  ", "# 🌍 note\n", ""]
    text = WRAP + EVAL.replace("import torch\n", "").replace("evaluate", "evaluate_two")
    edited = _uri(folder, "edited.py")
    _open(client, edited, text)
    for version in range(2, 40):
        lines = re.split(r"(?<=\r\n)|(?<=\r)(?!\n)|(?<=\n)", text)
        start_line = rng.randrange(1, len(lines))  # line 0 keeps its import: the file stays linted
        end_line = min(len(lines) - 1, start_line + rng.choice([0, 0, 1]))
        def units(line: str) -> int:
            return len(line.rstrip("\r\n").encode("utf-16-le")) // 2
        start = types.Position(start_line, rng.randint(0, units(lines[start_line])))
        end = types.Position(end_line, rng.randint(0, units(lines[end_line])))
        if (end.line, end.character) < (start.line, start.character):
            start, end = end, start
        new = rng.choice(pieces)
        # Never split a surrogate pair: snap both ends to character boundaries.
        start_offset, end_offset = _utf16_offset(text, start), _utf16_offset(text, end)
        start = types.Position(start.line, units(lines[start.line][: start_offset - sum(map(len, lines[: start.line]))]))
        end = types.Position(end.line, units(lines[end.line][: end_offset - sum(map(len, lines[: end.line]))]))
        _edit(client, edited, version, (start.line, start.character), (end.line, end.character), new)
        text = _apply(text, [types.TextEdit(range=types.Range(start=start, end=end), new_text=new)])
    after = await _published(client, edited, version=39)
    fresh = _uri(folder, "fresh.py")
    _open(client, fresh, text)
    expected = await _published(client, fresh, version=1)

    def shape(diagnostics):
        return [(d.range, d.code, d.message) for d in diagnostics]

    assert after and shape(after) == shape(expected)


@pytest.mark.asyncio(loop_scope="module")
async def test_close_clears(client: LanguageClient, folder: Path):
    uri = _uri(folder, "evaluate.py")
    _open(client, uri, EVAL)
    assert await _published(client, uri, version=1)
    client.text_document_did_close(types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri)))
    await _until(lambda: _last(client, uri) is not None and not _last(client, uri).diagnostics, what="cleared diagnostics")


@pytest.mark.asyncio(loop_scope="module")
async def test_changes_are_debounced(default_client: LanguageClient, tmp_path: Path):
    client = default_client
    uri = _uri(tmp_path, "evaluate.py")
    _open(client, uri, EVAL)
    await _published(client, uri, version=1)
    started = time.monotonic()
    # A burst of keystrokes well inside the 200 ms quiet period: "# done" typed at the end.
    for version, char in enumerate("# done", start=2):
        _edit(client, uri, version, (7, version - 2), (7, version - 2), char)
    await _published(client, uri, version=7)
    assert time.monotonic() - started >= 0.18
    versions = [p.version for p in client.published if p.uri == uri]
    assert versions == [1, 7], versions  # one lint, of the last version
    (d,) = client.diagnostics[uri]
    assert d.code == "GL101" and d.range.start.line == 5


@pytest.mark.asyncio(loop_scope="module")
async def test_a_misbehaving_rule_is_logged_once_and_the_rest_run(crashing_client: LanguageClient, tmp_path: Path):
    client = crashing_client
    uri = _uri(tmp_path, "evaluate.py")
    _open(client, uri, EVAL)
    assert [d.code for d in await _published(client, uri, version=1)] == ["GL101"]
    _replace_all(client, uri, EVAL + "\n", 2)
    assert [d.code for d in await _published(client, uri, version=2)] == ["GL101"]
    crashes = [m for m in client.log_messages if "GL999" in m.message]
    assert len(crashes) == 1, crashes
    assert crashes[0].type == types.MessageType.Error
    assert "internal error in GL999" in crashes[0].message


# --------------------------------------------------------------------------- code actions


@pytest.mark.asyncio(loop_scope="module")
async def test_quick_fix_is_the_clis_fix(client: LanguageClient, folder: Path):
    uri = _uri(folder, "evaluate.py")
    _open(client, uri, EVAL)
    (d,) = await _published(client, uri, version=1)
    actions = await _actions(client, uri, d.range, only=[types.CodeActionKind.QuickFix])
    fixes = [a for a in actions if a.is_preferred]
    assert len(fixes) == 1, [a.title for a in actions]
    (fix,) = fixes
    assert fix.kind == types.CodeActionKind.QuickFix
    assert "(unsafe)" not in fix.title and "no_grad" in fix.title
    assert [x.code for x in fix.diagnostics] == ["GL101"]
    fixed = _apply(EVAL, _workspace_edits(fix.edit, uri))
    assert fixed == fix_text(EVAL, "evaluate.py", rules()).text
    assert fixed.startswith("import torch\n\n@torch.no_grad()\ndef evaluate")


@pytest.mark.asyncio(loop_scope="module")
async def test_unsafe_quick_fix_is_marked_and_not_preferred(client: LanguageClient, folder: Path):
    uri = _uri(folder, "predict.py")
    _open(client, uri, PREDICT)
    (d,) = await _published(client, uri, version=1)
    assert d.data["fix"] == "unsafe"
    actions = await _actions(client, uri, d.range)
    fixes = [a for a in actions if a.title.endswith("(unsafe)")]
    assert len(fixes) == 1 and not fixes[0].is_preferred
    fixed = _apply(PREDICT, _workspace_edits(fixes[0].edit, uri))
    assert fixed == fix_text(PREDICT, "predict.py", rules(), unsafe_fixes=True).text
    # Fix-all applies safe fixes only (unsafe-fixes is off): nothing to offer.
    assert await _actions(client, uri, d.range, only=[types.CodeActionKind.SourceFixAll]) == []


@pytest.mark.asyncio(loop_scope="module")
async def test_quick_fix_with_two_edits_and_astral_characters(client: LanguageClient, folder: Path):
    uri = _uri(folder, "wrap.py")
    _open(client, uri, WRAP)
    (d,) = await _published(client, uri, version=1)
    (fix,) = [a for a in await _actions(client, uri, d.range) if a.is_preferred]
    edits = _workspace_edits(fix.edit, uri)
    assert len(edits) == 2  # `import torch`, and the with-block
    fixed = _apply(WRAP, edits)
    assert fixed == fix_text(WRAP, "wrap.py", rules()).text
    assert "with torch.no_grad():" in fixed and "🔥🔥" in fixed


@pytest.mark.asyncio(loop_scope="module")
async def test_fix_all(client: LanguageClient, folder: Path):
    text = EVAL + "\n\n" + WRAP.replace("def main(", "def run(")
    uri = _uri(folder, "both.py")
    _open(client, uri, text)
    diagnostics = await _published(client, uri, version=1)
    assert len(diagnostics) == 2
    (action,) = await _actions(client, uri, _range(0, 0, 0), only=[types.CodeActionKind.SourceFixAll])
    assert action.kind == "source.fixAll.greenlint"
    action = await _resolved(client, action)
    expected = fix_text(text, "both.py", rules())
    assert sum(expected.fixed.values()) == 2
    assert _apply(text, _workspace_edits(action.edit, uri)) == expected.text
    # Also offered when only `source` is asked for, never for `refactor`.
    assert [a.kind for a in await _actions(client, uri, _range(0, 0, 0), only=[types.CodeActionKind.Source])] == [
        "source.fixAll.greenlint"
    ]
    assert await _actions(client, uri, _range(0, 0, 0), only=[types.CodeActionKind.Refactor]) == []


@pytest.mark.asyncio(loop_scope="module")
async def test_fix_all_applies_unsafe_fixes_when_configured(client: LanguageClient, folder: Path):
    (folder / "pyproject.toml").write_text(GL101_ONLY + "unsafe-fixes = true\n")
    uri = _uri(folder, "predict.py")
    _open(client, uri, PREDICT)
    await _published(client, uri, version=1)
    (action,) = await _actions(client, uri, _range(0, 0, 0), only=["source.fixAll.greenlint"])
    action = await _resolved(client, action)
    expected = fix_text(PREDICT, "predict.py", rules(), unsafe_fixes=True).text
    assert _apply(PREDICT, _workspace_edits(action.edit, uri)) == expected != PREDICT


@pytest.mark.asyncio(loop_scope="module")
async def test_fix_all_matches_the_cli_command(client: LanguageClient, folder: Path):
    """The real `greenlint --fix` on stdin, not just the library call."""
    text = EVAL + "\n\n" + WRAP.replace("def main(", "def run(")
    uri = _uri(folder, "both.py")
    _open(client, uri, text)
    await _published(client, uri, version=1)
    (action,) = await _actions(client, uri, _range(0, 0, 0), only=[types.CodeActionKind.SourceFixAll])
    action = await _resolved(client, action)
    cli = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "greenlint.cli", "check", "--fix", "--no-cache", "--stdin-filename", "both.py", "-"],
        input=text.encode(),
        capture_output=True,
        cwd=folder,
        check=False,
    )
    assert _apply(text, _workspace_edits(action.edit, uri)) == cli.stdout.decode()


@pytest.mark.asyncio(loop_scope="module")
async def test_disable_for_line(client: LanguageClient, folder: Path):
    uri = _uri(folder, "evaluate.py")
    _open(client, uri, EVAL)
    (d,) = await _published(client, uri, version=1)
    (action,) = [a for a in await _actions(client, uri, d.range) if a.title == "Disable GL101 for this line"]
    assert action.kind == types.CodeActionKind.QuickFix and not action.is_preferred
    action = await _resolved(client, action)
    silenced = _apply(EVAL, _workspace_edits(action.edit, uri))
    assert silenced.splitlines()[5] == EVAL.splitlines()[5] + "  # noqa: GL101"
    assert silenced.replace("  # noqa: GL101", "") == EVAL
    _replace_all(client, uri, silenced, 2)
    assert await _published(client, uri, version=2) == []


@pytest.mark.asyncio(loop_scope="module")
async def test_disable_adds_to_an_existing_noqa_list(client: LanguageClient, folder: Path):
    text = EVAL.replace(".sum().item()", ".sum().item()  # noqa: E501")
    uri = _uri(folder, "evaluate.py")
    _open(client, uri, text)
    (d,) = await _published(client, uri, version=1)
    (action,) = [a for a in await _actions(client, uri, d.range) if a.title.startswith("Disable")]
    silenced = _apply(text, _workspace_edits((await _resolved(client, action)).edit, uri))
    assert silenced.splitlines()[5].endswith(".sum().item()  # noqa: E501, GL101")
    assert lint_text(silenced, "evaluate.py", rules()).diagnostics == []


@pytest.mark.asyncio(loop_scope="module")
async def test_actions_without_resolve_support(eager_client: LanguageClient, tmp_path: Path):
    client = eager_client
    text = EVAL + "\n\n" + WRAP.replace("def main(", "def run(")
    uri = _uri(tmp_path, "both.py")
    _open(client, uri, text)
    diagnostics = await _published(client, uri, version=1)
    actions = await _actions(client, uri, diagnostics[0].range)
    assert all(a.edit is not None and a.edit.changes for a in actions), actions
    titles = [a.title for a in actions]
    assert "Disable GL101 for this line" in titles and any(a.kind == "source.fixAll.greenlint" for a in actions)
    (fix_all,) = [a for a in actions if a.kind == "source.fixAll.greenlint"]
    assert _apply(text, fix_all.edit.changes[uri]) == fix_text(text, "both.py", rules()).text
    (quick,) = [a for a in actions if a.is_preferred]
    single = fix_text(EVAL, "both.py", rules()).text + "\n\n" + WRAP.replace("def main(", "def run(")
    assert _apply(text, quick.edit.changes[uri]) == single


@pytest.mark.asyncio(loop_scope="module")
async def test_registers_a_pyproject_watcher_where_the_client_watches(eager_client: LanguageClient):
    (registration,) = await _until(lambda: eager_client.registrations, what="client/registerCapability")  # type: ignore[attr-defined]
    assert registration.method == types.WORKSPACE_DID_CHANGE_WATCHED_FILES
    globs = [w["globPattern"] if isinstance(w, dict) else w.glob_pattern for w in registration.register_options["watchers"]]
    assert globs == ["**/pyproject.toml"]


@pytest.mark.asyncio(loop_scope="module")
async def test_no_actions_away_from_findings(client: LanguageClient, folder: Path):
    uri = _uri(folder, "evaluate.py")
    _open(client, uri, EVAL)
    await _published(client, uri, version=1)
    assert await _actions(client, uri, _range(0, 0, 0), only=[types.CodeActionKind.QuickFix]) == []


# --------------------------------------------------------------------------- hover


@pytest.mark.asyncio(loop_scope="module")
async def test_hover_shows_the_catalogue_entry(client: LanguageClient, folder: Path):
    uri = _uri(folder, "evaluate.py")
    _open(client, uri, EVAL)
    (d,) = await _published(client, uri, version=1)
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(5, d.range.start.character + 2))
    )
    assert hover is not None
    assert hover.contents.kind == types.MarkupKind.Markdown
    text = hover.contents.value
    assert "GL101 inference-without-no-grad" in text
    assert "### What it does" in text and "### Why it costs energy" in text
    assert "autograd" in text
    assert hover.range == d.range
    nothing = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(0, 0))
    )
    assert nothing is None


# --------------------------------------------------------------------------- configuration


@pytest.mark.asyncio(loop_scope="module")
async def test_config_reload_on_watched_file_change(client: LanguageClient, folder: Path):
    uri = _uri(folder, "evaluate.py")
    _open(client, uri, EVAL)
    assert [d.code for d in await _published(client, uri, version=1)] == ["GL101"]
    count = _count(client, uri)
    config = folder / "pyproject.toml"
    config.write_text(GL101_ONLY + 'ignore = ["GL101"]\n')
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(changes=[types.FileEvent(uri=_uri(folder, "pyproject.toml"), type=types.FileChangeType.Created)])
    )
    await _until(lambda: _count(client, uri) > count, what="a re-lint")
    assert list(client.diagnostics[uri]) == []
    # Saving the pyproject.toml in the editor reloads too.
    count = _count(client, uri)
    config.write_text(GL101_ONLY)
    client.text_document_did_save(types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=_uri(folder, "pyproject.toml"))))
    await _until(lambda: _count(client, uri) > count, what="a re-lint")
    assert [d.code for d in client.diagnostics[uri]] == ["GL101"]


@pytest.mark.asyncio(loop_scope="module")
async def test_config_error_is_shown_and_defaults_apply(client: LanguageClient, folder: Path):
    (folder / "pyproject.toml").write_text('[tool.greenlint]\nselect = ["GL1O1"]\n')
    uri = _uri(folder, "evaluate.py")
    _open(client, uri, EVAL)
    assert "GL101" in [d.code for d in await _published(client, uri, version=1)]  # the defaults: every rule
    (message,) = await _until(lambda: [m for m in client.messages if "configuration error" in m.message], what="an error message")
    assert message.type == types.MessageType.Error and "GL1O1" in message.message


@pytest.mark.asyncio(loop_scope="module")
async def test_per_file_ignores_use_the_document_path(client: LanguageClient, folder: Path):
    (folder / "pyproject.toml").write_text(GL101_ONLY + '[tool.greenlint.per-file-ignores]\n"scripts/*" = ["GL101"]\n')
    quiet = _uri(folder, "scripts/evaluate.py")
    loud = _uri(folder, "evaluate.py")
    _open(client, quiet, EVAL)
    _open(client, loud, EVAL)
    assert await _published(client, quiet, version=1) == []
    assert [d.code for d in await _published(client, loud, version=1)] == ["GL101"]


# --------------------------------------------------------------------------- the command


def test_importing_the_cli_does_not_import_pygls():
    code = "import sys, greenlint.cli; print(sorted(m for m in sys.modules if m.split('.')[0] in ('pygls', 'lsprotocol') or m.startswith('greenlint.lsp')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_server_without_pygls_says_what_to_install():
    code = "import sys; sys.modules['pygls'] = None; sys.argv = ['greenlint', 'server']; from greenlint.cli import main; main()"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2
    assert "pip install 'greenlint[lsp]'" in proc.stderr


def test_server_subcommand_is_listed():
    out = subprocess.run([sys.executable, "-m", "greenlint.cli", "--help"], capture_output=True, text=True, check=True).stdout
    assert "server" in out


# --------------------------------------------------------------------------- pure helpers


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [(UTF16, (1, 9)), (UTF8, (1, 12)), (UTF32, (1, 8))],
)
def test_position_map_encodings(encoding, expected):
    text = "x = 1\ns = '😀é' + y\n"
    offset = text.index("' + y") + 1
    positions = PositionMap(text, encoding)
    assert positions.position(offset) == expected
    assert positions.offset(*expected) == offset


def test_position_map_line_breaks():
    text = "a\r\nb\rc\nd\x0ce\u2028f"  # form feed and U+2028 are no LSP line breaks
    positions = PositionMap(text)
    assert positions.position(text.index("b")) == (1, 0)
    assert positions.position(text.index("c")) == (2, 0)
    assert positions.position(text.index("f")) == (3, 4)
    assert positions.position(2) == (0, 1)  # between "\r" and "\n": the end of the line
    assert positions.offset(0, 99) == 1  # past the end of a line: its end
    assert positions.offset(99, 0) == len(text)
    assert positions.offset(3, 4) == text.index("f")


def test_position_inside_a_surrogate_pair_means_the_character():
    positions = PositionMap("😀x")
    assert positions.offset(0, 1) == 0
    assert positions.offset(0, 2) == 1


def test_apply_change_with_astral_characters():
    text = "a = '😀'\nb = 2\n"
    assert apply_change(text, ((0, 7), (0, 7)), "!", UTF16) == "a = '😀!'\nb = 2\n"
    assert apply_change(text, ((0, 4), (1, 0)), "", UTF16) == "a = b = 2\n"


@pytest.mark.parametrize(
    ("old", "new"),
    [("abc", "abc"), ("abc", "aXc"), ("a\r\nb", "a\r\nXb"), ("ab\r\n", "a\r\n"), ("", "x"), ("x", ""), ("aaa", "aaaa")],
)
def test_minimal_edit(old, new):
    edit = minimal_edit(old, new)
    if old == new:
        assert edit is None
        return
    assert old[: edit.start] + edit.content + old[edit.end :] == new
    for offset in (edit.start, edit.end):  # never between "\r" and "\n"
        assert not (0 < offset < len(old) and old[offset - 1] == "\r" and old[offset] == "\n")


def test_noqa_edit_after_a_line_continuation_goes_on_the_last_line():
    text = textwrap.dedent(
        """\
        import torch

        def evaluate(model, x):
            return model(x,
                         1) \\
                + 1
        """
    )
    start = text.index("model(x")
    end = text.index("1)") + 2
    edit = noqa_edit(text, "GL101", start, end)
    assert edit is not None
    silenced = text[: edit.start] + edit.content + text[edit.end :]
    assert "1) \\" in silenced and "model(x,  # noqa: GL101" in silenced


def test_noqa_edit_skips_a_line_that_ends_inside_a_string():
    text = 'import torch\n\ndef evaluate(model):\n    return model("""\n    a""")\n'
    start = text.index("model(")
    end = text.index('a""")') + 5
    edit = noqa_edit(text, "GL101", start, end)
    silenced = text[: edit.start] + edit.content + text[edit.end :]
    assert silenced.endswith('    a""")  # noqa: GL101\n')
