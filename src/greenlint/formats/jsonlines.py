"""JSON Lines: the `json` format's objects (ruff-compatible fields, impact included), one per line."""

from __future__ import annotations

import json
from collections.abc import Sequence

from greenlint.formats._common import RunInfo
from greenlint.report import FileReport, render_json


def render_json_lines(reports: Sequence[FileReport], info: RunInfo) -> str:
    # Built from render_json's own output, so the two formats cannot drift apart.
    return "".join(json.dumps(item) + "\n" for item in json.loads(render_json(reports)))
