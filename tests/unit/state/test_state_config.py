"""`state:` in a spec: each setting becomes the Flink option a SQL SET would set, or a spec error."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from ctt.config.spec import load_spec
from ctt.config.state import RecoveryScenario, ScenarioKind, StateConfig
from ctt.errors import ConfigError


def test_every_setting_maps_to_its_flink_option() -> None:
    cfg = StateConfig.model_validate(
        {
            "checkpoint_interval": "500ms",
            "mode": "at-least-once",
            "backend": "RocksDB",
            "incremental": True,
            "min_pause": "100ms",
            "checkpoint_timeout": "1m",
            "ttl": "1h",
            "restart_strategy": {"type": "fixed-delay", "attempts": 4, "delay": "2s"},
        }
    )
    assert cfg.flink_options() == {
        "execution.checkpointing.interval": "500 ms",
        "execution.checkpointing.mode": "AT_LEAST_ONCE",
        "execution.checkpointing.min-pause": "100 ms",
        "execution.checkpointing.timeout": "60000 ms",
        "state.backend.type": "rocksdb",
        "execution.checkpointing.incremental": "true",
        "table.exec.state.ttl": "3600000 ms",
        "restart-strategy.type": "fixed-delay",
        "restart-strategy.fixed-delay.attempts": "4",
        "restart-strategy.fixed-delay.delay": "2000 ms",
    }


def test_what_the_spec_leaves_out_is_not_sent() -> None:
    assert StateConfig().flink_options() == {}
    assert StateConfig.model_validate({"restart_strategy": "none"}).flink_options() == {
        "restart-strategy.type": "none"
    }


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ({"incremental": True}, "need `backend: rocksdb`"),
        ({"backend": "memory"}, "hashmap"),
        ({"mode": "twice"}, "exactly_once"),
        ({"checkpoint_interval": "0s"}, "more than 0"),
        ({"interval": "1s"}, "Extra inputs"),
        ({"restart_strategy": {"type": "forever"}}, "fixed_delay"),
    ],
)
def test_bad_state_is_a_validation_error(raw: dict[str, object], fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        StateConfig.model_validate(raw)


@given(st.integers(min_value=1, max_value=10**9))
def test_interval_round_trips_in_milliseconds(ms: int) -> None:
    cfg = StateConfig.model_validate({"checkpoint_interval": f"{ms}ms"})
    assert cfg.flink_options()["execution.checkpointing.interval"] == f"{ms} ms"


def test_recovery_scenario_spelling() -> None:
    sc = RecoveryScenario.model_validate(
        {"scenario": "kill-taskmanager", "after_records": 10, "guarantee": "at-least-once"}
    )
    assert sc.scenario is ScenarioKind.KILL_TASKMANAGER
    with pytest.raises(ValidationError, match="after_records"):
        RecoveryScenario.model_validate({"scenario": "kill_taskmanager", "after_records": 0})


def test_a_typo_in_state_points_at_its_line(tmp_path: Path) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "flink_transformation_tests:\n"
        "  t:\n"
        "    flink_sql: INSERT INTO o SELECT * FROM i;\n"
        "    state:\n"
        "      backend: rocksdb\n"
        "      checkpoint_intervall: 1s\n"
    )
    with pytest.raises(ConfigError) as exc:
        load_spec(spec)
    assert exc.value.line == 6
    assert "checkpoint_intervall" in str(exc.value)
