"""ctt.kafka.naming: the run id in every name, read back for cleanup."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ctt.flinktest import leftovers
from ctt.kafka import naming
from ctt.kafka.naming import created_at, job_name, new_run_id, run_id_of, run_id_of_job, scoped


def test_job_and_topic_names_give_back_their_run_id() -> None:
    rid = new_run_id()
    scope = naming.test_scope("specs/a.yaml", "my test")
    assert run_id_of_job(job_name(rid, scope)) == rid
    assert run_id_of(scoped(rid, scope, "orders")) == rid


def test_names_ctt_did_not_give_have_no_run_id() -> None:
    assert run_id_of_job("insert-into_default_catalog.default_database.sink") is None
    assert run_id_of_job("ctt-nightly-report") is None  # ctt- but no run id after it
    assert run_id_of_job("other-20261203t081500-a1b2c3-x") is None


def test_one_runs_sweep_never_takes_anothers() -> None:
    a, b = "20261203t081500-a1b2c3", "20261203t081500-d4e5f6"
    owned = leftovers.of_run(a)
    assert owned(a) and not owned(b)


def test_an_age_sweep_spares_young_runs() -> None:
    rid = new_run_id()
    born = created_at(rid)
    assert born is not None
    assert not leftovers.older_than(3600, now=born)(rid)
    assert leftovers.older_than(0, now=born)(rid)


@given(st.text(max_size=80))
def test_any_job_name_parses_or_is_none(name: str) -> None:
    rid = run_id_of_job(name)
    assert rid is None or created_at(rid) is not None
