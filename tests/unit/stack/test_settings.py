"""``ctt.stack.settings``: ``--with`` names the optional components, and nothing else."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ctt.commands.stack import settings_from_args
from ctt.errors import ExitCode, UsageError
from ctt.stack.settings import Extra, StackSettings, parse_extras


def test_names_blanks_case_and_repeats() -> None:
    assert parse_extras("connect,postgres") == {Extra.CONNECT, Extra.POSTGRES}
    assert parse_extras(" Postgres , ,postgres") == {Extra.POSTGRES}
    assert parse_extras("") == frozenset() == parse_extras(None)


def test_unknown_names_are_a_usage_error_that_lists_the_choices() -> None:
    with pytest.raises(UsageError) as err:
        parse_extras("connect,postgre,kafka")
    assert "'kafka', 'postgre'" in err.value.message and "components" in err.value.message
    assert err.value.hint == "choose from: connect, postgres (comma-separated)"
    assert err.value.exit_code is ExitCode.USAGE


@given(st.lists(st.sampled_from([e.value for e in Extra]), max_size=5), st.sampled_from([",", ", ", " ,"]))
def test_any_list_of_known_names_parses_to_its_set(names: list[str], sep: str) -> None:
    assert parse_extras(sep.join(n.upper() if i % 2 else n for i, n in enumerate(names))) == {
        Extra(n) for n in names
    }


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz-_", min_size=1, max_size=12))
def test_any_other_name_is_refused(name: str) -> None:
    if name in {e.value for e in Extra}:
        assert parse_extras(name) == {Extra(name)}
    else:
        with pytest.raises(UsageError, match="unknown stack component"):
            parse_extras(f"connect,{name}")


def test_default_stack_has_no_extras_and_the_cli_options_map_to_settings() -> None:
    assert StackSettings().extras == frozenset()
    s = settings_from_args(with_="postgres", postgres_port=5555, connect_port=0, slots=2)
    assert s.wants(Extra.POSTGRES) and not s.wants(Extra.CONNECT)
    assert (s.postgres_port, s.slots) == (5555, 2)
