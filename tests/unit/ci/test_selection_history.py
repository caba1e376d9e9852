"""History as selection reads it: a JSON summary or the history store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ctt.ci.selection_history import JsonHistory, open_history
from ctt.errors import ConfigError


def test_json_history(tmp_path: Path) -> None:
    path = tmp_path / "h.json"
    path.write_text(json.dumps({"last_failed": ["a"], "median_durations": {"a": 12.5}}))
    history = open_history(path, ["a"])
    assert history.last_failed_suites() == {"a"}
    assert history.median_durations() == {"a": 12.5}
    path.write_text("[]")
    with pytest.raises(ConfigError, match="JSON object"):
        JsonHistory.load(path)
    with pytest.raises(ConfigError, match="not found"):
        open_history(tmp_path / "missing.sqlite", ["a"])
