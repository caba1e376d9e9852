from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ctt.config import load_yaml
from ctt.config.datagen import GeneratorConfig, TableShape
from ctt.errors import ConfigError

SEED_YAML = """\
test_data:
  - time_range: "2 hours"
  - events_per_user: 50
  - late_data_percentage: 5%
"""


def _from_yaml(text: str) -> GeneratorConfig:
    data, smap = load_yaml("spec.yaml", text)
    return GeneratorConfig.from_spec(data["test_data"], smap, root=("test_data",))


def test_seed_list_form_is_accepted_verbatim() -> None:
    cfg = _from_yaml(SEED_YAML)
    assert cfg.time_range == 7200.0
    assert cfg.events_per_key == 50
    assert cfg.late_data_percentage == pytest.approx(0.05)
    assert cfg.total_events() == cfg.keys * 50


def test_mapping_form_and_alias() -> None:
    cfg = GeneratorConfig.from_spec({"events_per_key": 3, "keys": 4, "rate": 10})
    assert cfg.total_events() == 12
    assert GeneratorConfig.from_spec(None) == GeneratorConfig()


def test_unknown_key_names_nearest_and_its_line() -> None:
    with pytest.raises(ConfigError) as err:
        _from_yaml('test_data:\n  - time_range: "2 hours"\n  - events_per_usr: 50\n')
    assert err.value.line == 3
    assert "events_per_user" in str(err.value)


def test_key_given_twice_is_an_error() -> None:
    with pytest.raises(ConfigError, match="twice"):
        _from_yaml("test_data:\n  - keys: 2\n  - keys: 3\n")


def test_bad_value_points_at_its_item() -> None:
    with pytest.raises(ConfigError) as err:
        _from_yaml("test_data:\n  - keys: 2\n  - late_data_percentage: lots\n")
    assert err.value.line == 3


def test_count_contradicting_events_per_key() -> None:
    with pytest.raises(ValueError, match="contradicts"):
        GeneratorConfig(count=10, keys=3, events_per_key=5)


def test_table_shape_accepts_pairs_and_checks_names() -> None:
    shape = TableShape(name="t", columns=[("a", "INT"), ("ts", "TIMESTAMP(3)")], event_time="ts")
    assert shape.column("a").type == "INT"
    with pytest.raises(ValueError, match="did you mean 'ts'"):
        TableShape(name="t", columns=[("a", "INT"), ("ts", "TIMESTAMP(3)")], event_time="tss")


@given(st.floats(min_value=0, max_value=100, allow_nan=False))
def test_late_percentage_parses_any_percent(pct: float) -> None:
    cfg = GeneratorConfig.from_spec([{"late_data_percentage": f"{pct}%"}])
    assert cfg.late_data_percentage == pytest.approx(pct / 100)


@given(st.text(max_size=20))
def test_garbage_durations_never_crash(text: str) -> None:
    with contextlib.suppress(ConfigError):
        GeneratorConfig.from_spec([{"time_range": text}])
