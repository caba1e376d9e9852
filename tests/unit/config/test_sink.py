"""The spec's sink: section: good input parses, bad input is a ConfigError at the user's line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ctt.config.sink import Nested, SinkMode
from ctt.errors import ConfigError
from ctt.validate.registry import load_spec

HEAD = """flink_transformation_tests:
  t:
    flink_sql: "CREATE TABLE o AS SELECT * FROM src"
    tables:
      src:
        schema: {id: BIGINT, amount: "DECIMAL(10, 2)"}
    test_data:
      src:
        rows: [{id: 1, amount: 1.5}]
"""


def _load(tmp_path: Path, section: str) -> Any:
    p = tmp_path / "spec.yaml"
    p.write_text(HEAD + section)
    return load_spec(p)


def test_a_valid_section_parses_with_its_defaults(tmp_path: Path) -> None:
    (lt,) = _load(
        tmp_path,
        "    sink:\n      mode: UPSERT\n      primary_key: id\n      delete_on_tombstone: true\n"
        "      config: {batch.size: 10, hibernate.show_sql: false}\n",
    )
    sink = lt.test.sink
    assert sink.mode is SinkMode.UPSERT and sink.primary_key == ["id"]
    assert sink.nested is Nested.JSON and sink.schemas is True
    assert sink.config == {"batch.size": "10", "hibernate.show_sql": "false"}
    assert sink.target_name("o", "abc") == "o_abc"


@pytest.mark.parametrize(
    ("section", "line", "text"),
    [
        ("    sink:\n      mode: upsert\n", 10, "needs `primary_key:`"),
        ("    sink:\n      primary_key: [id]\n", 10, "is for mode upsert"),
        ("    sink:\n      delete_on_tombstone: true\n", 10, "needs mode upsert"),
        ("    sink:\n      mode: merge\n", 11, "mode"),
        ("    sink:\n      tabel: x\n", 11, "tabel"),
        ("    sink:\n      table: Bad-Name\n", 10, "lower-case"),
        ("    sink:\n      config: {topics: x}\n", 10, "set by ctt"),
        ("    sink:\n      malformed: 3\n", 10, "dead_letter_topic"),
        ("    sink:\n      timeout: 0s\n", 10, "more than 0"),
    ],
)
def test_bad_sections_name_the_line(tmp_path: Path, section: str, line: int, text: str) -> None:
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, section)
    assert text in str(err.value)
    assert err.value.line == line, str(err.value)


_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.text(max_size=8),
    st.lists(st.text(max_size=4), max_size=3),
    st.dictionaries(st.text(max_size=6), st.text(max_size=4), max_size=2),
)
_KEYS = st.sampled_from(
    [
        "output",
        "table",
        "mode",
        "primary_key",
        "delete_on_tombstone",
        "schemas",
        "nested",
        "dead_letter_topic",
        "malformed",
        "config",
        "timeout",
        "bogus",
    ]
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(section=st.one_of(st.dictionaries(_KEYS, _VALUES, max_size=5), _VALUES))
def test_any_sink_section_parses_or_is_a_config_error_in_the_file(
    tmp_path: Path, section: Any
) -> None:
    """No input makes the loader crash; every rejection names the spec and a line of it."""
    text = yaml.safe_dump({"sink": section}, default_flow_style=False)
    block = "".join(f"    {ln}\n" for ln in text.splitlines())
    try:
        _load(tmp_path, block)
    except ConfigError as exc:
        assert exc.file is not None and exc.file.endswith("spec.yaml")
        assert exc.line is not None and exc.line >= 10
