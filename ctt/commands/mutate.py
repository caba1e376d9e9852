"""What ``ctt mutate`` does: plan mutants, run them through the real CLI, report the scores.

Exit codes: 0 done (and every spec reached ``--min-score``), 1 a spec scored below
``--min-score``, 2 bad input (no such file, not a spec, unknown operator, no mutants, a
spec that fails unmutated), 3 the unmutated run hit an infrastructure error, 130 Ctrl-C
(the report of what finished is still printed and written).
"""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from ctt.config import suggest
from ctt.config.durations import parse_duration
from ctt.config.spec import discover
from ctt.console import Output
from ctt.errors import ConfigError, Interrupted, TestsFailed, UsageError
from ctt.mutate import run as mutation_run
from ctt.mutate.models import MutantStatus, MutationReport, SpecScore
from ctt.mutate.operators import OPERATORS
from ctt.mutate.run import MutateOptions, SpecPlan, plan

__all__ = ["mutate", "mutate_cli"]


class _PlainProgress:
    """One line per finished run: what CI logs and pipes can hold."""

    def __init__(self, out: Output) -> None:
        self.out, self.done, self.total, self.phase = out, 0, 0, ""

    def begin(self, phase: str, total: int) -> None:
        self.phase, self.done, self.total = phase, 0, total
        self.out.info(f"running {total} {phase} run(s)")

    def advance(self, line: str) -> None:
        self.done += 1
        self.out.info(f"({self.done}/{self.total}) {escape(line)}")

    def end(self) -> None:
        pass


class _RichProgress:
    """A bar for the phase, with each finished run printed above it."""

    def __init__(self, out: Output) -> None:
        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=out.out,
        )
        self.task: TaskID | None = None

    def begin(self, phase: str, total: int) -> None:
        self.bar.start()
        self.task = self.bar.add_task(phase, total=total)

    def advance(self, line: str) -> None:
        self.bar.console.print(escape(line))
        if self.task is not None:
            self.bar.advance(self.task)

    def end(self) -> None:
        self.bar.stop()


def _check_operators(names: list[str] | None) -> None:
    for name in names or []:
        if name not in OPERATORS:
            near = suggest(name, OPERATORS)
            raise UsageError(
                f"unknown operator {name!r}",
                hint=f"did you mean {near!r}?" if near else f"known: {', '.join(OPERATORS)}",
            )


def _score(s: SpecScore) -> str:
    return "-" if s.score is None else f"{s.score:.0f}%"


def _render(out: Output, report: MutationReport) -> None:
    table = Table(title="Mutation score (killed / (killed + survived))")
    cols = ["spec", "mutants", "killed", "survived", "errored", "timeout", "score"]
    if any(s.equivalent for s in report.specs):
        cols.insert(6, "equivalent")
    for col in cols:
        if col == "spec":
            table.add_column(col, overflow="fold", min_width=20)
        else:
            table.add_column(col, justify="right")
    rows = [*report.specs, report.total] if len(report.specs) > 1 else report.specs
    for s in rows:
        style = "bold" if s is report.total else None
        counts = [s.mutants, s.killed, s.survived, s.errored, s.timeout]
        if "equivalent" in cols:
            counts.append(s.equivalent)
        table.add_row(escape(s.spec), *map(str, counts), _score(s), style=style)
    out.table(table)
    for s in report.specs:
        survivors = sorted(s.survivors, key=lambda r: (r.mutant.file, r.mutant.line, r.mutant.col))
        if survivors:
            out.info(
                f"[yellow]survived in {escape(s.spec)}[/yellow] (no test noticed these edits):"
            )
        for r in survivors:
            out.info(f"  {escape(r.mutant.description)}")
            for line in r.mutant.diff:
                colour = "red" if line.startswith("-") else "green"
                out.info(f"    [{colour}]{escape(line)}[/{colour}]")
        equivalent = [r for r in s.results if r.status is MutantStatus.EQUIVALENT]
        if equivalent:
            out.info(f"equivalent in {escape(s.spec)} (survived; the spec says why, not scored):")
        for r in equivalent:
            out.info(f"  {escape(r.mutant.description)}: {escape(r.detail or '')}")
        errored = [r for r in s.results if r.status in (MutantStatus.ERRORED, MutantStatus.TIMEOUT)]
        if errored:
            out.info(f"not scored in {escape(s.spec)} (the mutant did not run to a verdict):")
        for r in errored:
            out.info(f"  {escape(r.mutant.description)}: {escape(r.detail or r.status.value)}")
    out.info(f"wall time {report.wall_s:.0f} s, {report.parallel} run(s) at once")


def _list(out: Output, plans: list[SpecPlan]) -> None:
    for p in plans:
        out.info(f"{escape(p.name)}: {len(p.mutants)} mutant(s)")
        for m in p.mutants:
            mark = " (marked equivalent)" if m.key in p.equivalent else ""
            out.info(f"  {escape(f'[{m.operator}]')} {escape(m.description)}{mark}")
        for note in p.notes:
            out.warn(escape(note))


def mutate(
    out: Output,
    paths: list[Path],
    options: MutateOptions,
    *,
    output: Path | None = None,
    list_only: bool = False,
) -> MutationReport | None:
    """Plan and run the mutants of ``paths``; raise the error that maps to the exit code."""
    _check_operators(options.operators)
    plans = plan(discover(paths), options)
    count = sum(len(p.mutants) for p in plans)
    if count == 0:
        notes = "; ".join(n for p in plans for n in p.notes)
        raise ConfigError(
            "no mutants: none of the operators matches the SQL of "
            + ", ".join(p.name for p in plans)
            + (f" ({notes})" if notes else "")
        )
    if list_only:
        if out.json_mode:
            out.emit_json([m.model_dump(mode="json") for p in plans for m in p.mutants])
        _list(out, plans)
        return None
    for p in plans:
        if not p.mutants:
            out.warn(f"{escape(p.name)}: no mutants (skipped)")
        for note in p.notes:
            out.warn(escape(note))
    progress = _RichProgress(out) if out.live else _PlainProgress(out)
    out.info(f"{count} mutant(s) in {len(plans)} spec(s), {options.parallel} `ctt run` at once")
    report = mutation_run.run(plans, options, progress)
    _render(out, report)
    if out.json_mode:
        out.emit_json(report)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
        out.info(f"report: {output}")
    if report.interrupted:
        raise Interrupted(f"interrupted after {report.total.mutants} of {count} mutant(s)")
    if report.below_min_score:
        raise TestsFailed(
            f"mutation score below {options.min_score:g}% in: {', '.join(report.below_min_score)}"
        )
    return report


def mutate_cli(
    out: Output,
    paths: list[Path],
    *,
    select: str | None,
    operators: list[str] | None,
    max_mutants: int | None,
    parallel: int,
    timeout: str | None,
    min_score: float | None,
    output: Path | None,
    list_only: bool,
) -> None:
    """`ctt mutate` as the CLI calls it: options as typed on the command line."""
    try:
        limit = parse_duration(timeout) if timeout else None
    except ValueError as exc:
        raise UsageError(f"--timeout: {exc}") from None
    options = MutateOptions(
        select=select,
        operators=operators or None,
        max_mutants=max_mutants,
        parallel=parallel,
        timeout_s=limit,
        min_score=min_score,
    )
    mutate(out, paths, options, output=output, list_only=list_only)
