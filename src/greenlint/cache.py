"""A result cache for `check`: findings keyed on file path + content, effective settings and
greenlint's version. A corrupt, foreign or unreadable entry is ignored and rebuilt."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from greenlint import __version__
from greenlint.diagnostics import Applicability, Diagnostic, Fix

CACHE_DIR = ".greenlint_cache"
_FORMAT = 1


class ResultCache:
    def __init__(self, root: Path, settings_fingerprint: str) -> None:
        self.folder = root / CACHE_DIR / __version__ / settings_fingerprint[:16]
        self._ready = False

    @staticmethod
    def key(name: str, text: str) -> str:
        digest = hashlib.sha256(name.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
        digest.update(text.encode("utf-8", "surrogatepass"))
        return digest.hexdigest()

    def get(self, key: str) -> list[Diagnostic] | None:
        try:
            data = json.loads((self.folder / f"{key}.json").read_text("utf-8"))
            if data.get("format") != _FORMAT or data.get("key") != key:
                return None
            return [_load(item) for item in data["diagnostics"]]
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, key: str, diagnostics: list[Diagnostic]) -> None:
        """Best effort: a read-only tree or a full disk must not fail the lint."""
        try:
            if not self._ready:
                self.folder.mkdir(parents=True, exist_ok=True)
                gitignore = self.folder.parents[1] / ".gitignore"
                if not gitignore.exists():
                    gitignore.write_text("# Automatically created by greenlint.\n*\n", "utf-8")
                self._ready = True
            payload = json.dumps({"format": _FORMAT, "key": key, "diagnostics": [_dump(d) for d in diagnostics]})
            handle, temp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as stream:
                    stream.write(payload)
                os.replace(temp, self.folder / f"{key}.json")
            except BaseException:
                Path(temp).unlink(missing_ok=True)
                raise
        except OSError:
            pass


def _dump(d: Diagnostic) -> dict:
    fix = d.fix
    return {
        "code": d.code,
        "name": d.name,
        "message": d.message,
        "start": d.start,
        "end": d.end,
        "impact": d.impact,
        "fix": None if fix is None else {"applicability": fix.applicability.value, "message": fix.message, "changes_numerics": fix.changes_numerics},
    }


def _load(item: dict) -> Diagnostic:
    fix = item["fix"]
    return Diagnostic(
        item["code"],
        item["name"],
        item["message"],
        int(item["start"]),
        int(item["end"]),
        None if fix is None else Fix(Applicability(fix["applicability"]), fix["message"], bool(fix["changes_numerics"])),
        item["impact"],
    )
