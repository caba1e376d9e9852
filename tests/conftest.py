"""Test-wide settings: integration tests need the real stack, started once per session."""

from __future__ import annotations

import shutil

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests under tests/integration are marked `integration` so `-m "not integration"` runs fast."""
    for item in items:
        if "/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


needs_terraform = pytest.mark.skipif(
    shutil.which("terraform") is None,
    reason="terraform is not on PATH: ctt drives the user's terraform binary and cannot fetch one "
    "(the HashiCorp releases are out of reach here); install Terraform >= 1.6 to run these",
)
