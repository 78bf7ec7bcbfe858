"""`greenlint server`: the language server (LSP over stdio) for editors.

Importing this package is cheap and needs no pygls: the server itself (`greenlint.lsp.server`)
is imported only by `serve()`. Install the extra with `pip install 'greenlint[lsp]'`.
"""

from __future__ import annotations

import logging
import sys


class LspUnavailable(RuntimeError):
    """pygls / lsprotocol are not installed."""


def serve() -> None:
    """Run the server on stdin/stdout until the client says exit."""
    try:
        from greenlint.lsp.server import create_server
    except ImportError as error:
        missing = (error.name or "").split(".")[0]
        if missing in ("pygls", "lsprotocol", "cattrs", "attrs"):
            raise LspUnavailable(f"the language server needs {missing}: pip install 'greenlint[lsp]'") from error
        raise
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="greenlint-lsp %(levelname)s: %(message)s")
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    # stdout carries the protocol: a stray print() anywhere must land on stderr instead.
    sys.stdout = sys.stderr
    create_server().start_io(stdin, stdout)


def main() -> None:
    try:
        serve()
    except LspUnavailable as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
