"""Folders that ship both in a source checkout (top level: rules/, fixtures/) and inside the
wheel (as data packages greenlint.<name>_data, mapped in pyproject.toml)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable


def shipped_dir(packaged: str, checkout: str) -> Traversable | None:
    """The wheel's `greenlint/<packaged>`, else the checkout's top-level `<checkout>/`."""
    folder = resources.files("greenlint") / packaged
    if folder.is_dir():
        return folder
    local = Path(__file__).resolve().parent.parent.parent / checkout  # src/greenlint/ -> repo
    return local if local.is_dir() else None
