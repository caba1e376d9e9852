"""Verdicts, scores, timeouts and the baseline rule, with `ctt run` replaced by tiny scripts (no JVM)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import ctt.mutate.run as mrun
from ctt.commands.mutate import mutate
from ctt.console import Output
from ctt.errors import ConfigError, ExitCode, TestsFailed, UsageError
from ctt.mutate.models import MutantStatus
from ctt.mutate.run import BaselineFailed, MutateOptions, plan, run
from ctt.mutate.workspace import Workspace

ROOT = Path(__file__).resolve().parents[3]
TUMBLE = ROOT / "specs" / "windows" / "tumble_aggregates.yaml"

# operator -> what the fake `ctt run` does
SCRIPTS = {
    "baseline": "sys.exit(0)",
    "aggregate_swap": "sys.exit(0)",  # survives
    "comparison": (
        "import json; open(sys.argv[1], 'w').write(json.dumps({'tests': [{'name': 't',"
        " 'status': 'failed', 'outcomes': [{'name': 'rows', 'passed': False}]}]})); sys.exit(1)"
    ),
    "filter_removal": "print('error: Flink rejected the SQL: boom', file=sys.stderr); sys.exit(2)",
    "window_size": "import time; time.sleep(30)",
}


class Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def begin(self, phase: str, total: int) -> None:
        self.lines.append(f"begin {phase} {total}")

    def advance(self, line: str) -> None:
        self.lines.append(line)

    def end(self) -> None:
        pass


@pytest.fixture
def fake_run(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    scripts = dict(SCRIPTS)

    def command(job: mrun._Job, ws: Workspace, options: MutateOptions) -> list[str]:
        kind = job.mutant.operator if job.mutant else "baseline"
        return [sys.executable, "-c", "import sys\n" + scripts[kind], str(ws.results)]

    monkeypatch.setattr(mrun, "_command", command)
    monkeypatch.setattr(mrun, "_GRACE_S", 1.0)
    return scripts


def opts(**kw: object) -> MutateOptions:
    base: dict[str, object] = {"select": "tumble_tvf", "max_mutants": None, "parallel": 3}
    return MutateOptions.model_validate({**base, **kw})


def test_verdicts_from_exit_codes(fake_run: dict[str, str]) -> None:
    options = opts(operators=["aggregate_swap", "comparison", "filter_removal"], max_mutants=4)
    report = run(plan([TUMBLE], options), options, Lines())
    (spec,) = report.specs
    by_status = {r.mutant.operator: r for r in spec.results}
    assert by_status["aggregate_swap"].status is MutantStatus.SURVIVED
    assert by_status["comparison"].status is MutantStatus.KILLED
    assert by_status["comparison"].detail == "t: rows"
    assert by_status["filter_removal"].status is MutantStatus.ERRORED
    assert by_status["filter_removal"].detail == "Flink rejected the SQL: boom"
    assert (spec.killed, spec.survived, spec.errored) == (1, 2, 1)
    assert spec.score == pytest.approx(33.3)
    assert report.total.killed == 1 and report.total.results == []


def test_a_run_past_its_deadline_is_a_timeout(fake_run: dict[str, str]) -> None:
    options = opts(operators=["window_size"], max_mutants=1, timeout_s=0.5)
    report = run(plan([TUMBLE], options), options, Lines())
    (r,) = report.specs[0].results
    assert r.status is MutantStatus.TIMEOUT
    assert report.specs[0].score is None


@pytest.mark.parametrize(("code", "exit_code"), [(1, ExitCode.USAGE), (3, ExitCode.INFRA)])
def test_no_score_when_the_unmutated_spec_fails(
    fake_run: dict[str, str], code: int, exit_code: ExitCode
) -> None:
    fake_run["baseline"] = f"sys.exit({code})"
    options = opts(operators=["comparison"])
    with pytest.raises(BaselineFailed) as err:
        run(plan([TUMBLE], options), options, Lines())
    assert "does not pass as written" in str(err.value)
    assert err.value.exit_code is exit_code


def test_min_score_and_output_file(fake_run: dict[str, str], tmp_path: Path) -> None:
    options = opts(operators=["aggregate_swap", "comparison"], max_mutants=2, min_score=90)
    out_file = tmp_path / "mutation-report.json"
    with pytest.raises(TestsFailed, match="below 90%"):
        mutate(Output(quiet=True), [TUMBLE], options, output=out_file)
    doc = json.loads(out_file.read_text())
    assert doc["below_min_score"] == ["specs/windows/tumble_aggregates.yaml"]
    assert doc["specs"][0]["score"] == 50.0
    assert "text" not in doc["specs"][0]["results"][0]["mutant"]


def test_bad_input_is_a_usage_or_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such spec"):
        mutate(Output(quiet=True), [tmp_path / "nope.yaml"], opts())
    with pytest.raises(UsageError, match="did you mean 'window_size'"):
        mutate(Output(quiet=True), [TUMBLE], opts(operators=["window_sise"]))
    with pytest.raises(ConfigError, match="no mutants"):
        mutate(Output(quiet=True), [TUMBLE], opts(operators=["join_type"]))
    with pytest.raises(ConfigError, match="no tests to mutate"):
        mutate(Output(quiet=True), [TUMBLE], opts(select="nothing-like-this"))
    readme = tmp_path / "README.md"
    readme.write_text("# hi\n")
    with pytest.raises(ConfigError, match="not a spec file"):
        mutate(Output(quiet=True), [readme], opts())


def test_the_real_command_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """What runs in the copy: the real CLI on the copied spec, one test when one is reached."""
    monkeypatch.setattr(mrun, "_run_supports_ci", lambda: True)
    options = opts(operators=["aggregate_swap"], max_mutants=1)
    (p,) = plan([TUMBLE], options)
    job = mrun._Job(p, p.mutants[0], 60.0)
    ws = Workspace(p.layout, p.mutants[0])
    try:
        cmd = mrun._command(job, ws, options)
    finally:
        ws.remove()
    assert cmd[1:5] == ["-m", "ctt", "run", "specs/windows/tumble_aggregates.yaml"]
    assert cmd[cmd.index("-k") + 1] == "tumble_tvf_aggregates"
    assert cmd[cmd.index("--parallel") + 1] == "1"  # 4 slots / 3 runs at once
    assert cmd[-1] == "--ci"


def _marked(tmp_path: Path, entries: list[dict[str, str]]) -> Path:
    """A copy of the tumble spec whose x-ctt-mutate marks ``entries`` (appended: lines stay)."""
    spec = tmp_path / TUMBLE.name
    text = TUMBLE.read_text()
    text = text[: text.index("x-ctt-mutate:")] if "x-ctt-mutate:" in text else text  # its own
    spec.write_text(
        text
        + "x-ctt-mutate:\n  equivalent:\n"
        + "".join(f"    - {json.dumps(e)}\n" for e in entries)
    )
    return spec


def test_marked_equivalent_survivors_are_listed_not_scored(
    fake_run: dict[str, str], tmp_path: Path
) -> None:
    options = opts(operators=["aggregate_swap", "comparison"], max_mutants=2)
    (p,) = plan([TUMBLE], options)
    swap, comparison = (
        next(m for m in p.mutants if m.operator == op) for op in ("aggregate_swap", "comparison")
    )
    spec = _marked(
        tmp_path,
        [
            {"mutant": swap.description, "why": "one row per group"},
            {"mutant": comparison.description, "why": "a wrong mark"},
        ],
    )
    (marked,) = plan([spec], options)
    assert set(marked.equivalent.values()) == {"one row per group", "a wrong mark"}
    report = run([marked], options, Lines())
    (s,) = report.specs
    by_op = {r.mutant.operator: r for r in s.results}
    assert by_op["aggregate_swap"].status is MutantStatus.EQUIVALENT
    assert by_op["aggregate_swap"].detail == "one row per group"
    # a marked mutant that a test kills is killed: the mark cannot hide a kill
    assert by_op["comparison"].status is MutantStatus.KILLED
    assert (by_op["comparison"].detail or "").startswith(
        "marked equivalent in the spec, yet killed"
    )
    assert (s.killed, s.survived, s.equivalent, s.score) == (1, 0, 1, 100.0)
    assert report.total.equivalent == 1


def test_an_equivalent_mark_must_name_one_mutant(fake_run: dict[str, str], tmp_path: Path) -> None:
    options = opts(operators=["aggregate_swap"], max_mutants=1)
    (p,) = plan([TUMBLE], options)
    label = p.mutants[0].description.rpartition(" at ")[0]
    stale = _marked(tmp_path, [{"mutant": f"{label} at {TUMBLE.name}:1:1", "why": "moved"}])
    with pytest.raises(ConfigError, match="not one of this spec's mutants") as err:
        plan([stale], options)
    assert err.value.file == str(stale) and "ctt mutate --list" in (err.value.hint or "")
    no_why = _marked(tmp_path, [{"mutant": p.mutants[0].description}])
    with pytest.raises(ConfigError, match=r"x-ctt-mutate\.equivalent\.0\.why"):
        plan([no_why], options)
    # a mark for another test's mutant is fine under -k (matched against every mutant)
    other = next(
        m for m in plan([TUMBLE], opts(select=None))[0].mutants if "tumble_tvf" not in m.tests[0]
    )
    ok = _marked(tmp_path, [{"mutant": other.description, "why": "elsewhere"}])
    (q,) = plan([ok], options)
    assert q.equivalent == {}
