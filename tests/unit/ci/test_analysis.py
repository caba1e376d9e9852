from __future__ import annotations

from pathlib import Path

import pytest

from ctt.ci.analysis import ChangeAnalysis, load_analysis
from ctt.errors import ConfigError
from tests.unit.ci._fixture import changes


def test_load_analysis_reads_back_what_analyze_wrote_and_names_the_file(tmp_path: Path) -> None:
    analysis_file = tmp_path / "change-analysis.json"
    analysis_file.write_text(changes("ctt/core/x.py").model_dump_json())
    with pytest.raises(ConfigError, match="ctt analyze"):
        load_analysis(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text('{"source": "nope"}')
    with pytest.raises(ConfigError, match="not a change analysis"):
        load_analysis(tmp_path / "bad.json")
    assert isinstance(load_analysis(analysis_file), ChangeAnalysis)
