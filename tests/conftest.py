"""Fixtures shared by the CLI-level tests."""

import pytest


@pytest.fixture
def project(tmp_path, monkeypatch):
    """tmp_path as the current directory, so display names are relative and config is found."""
    monkeypatch.chdir(tmp_path)
    return tmp_path
