"""What mutation testing passes around: mutants, their verdicts and the report, all serialisable.

The report is the ``--json`` document and the ``--output`` file, so its field names are a
contract for CI scripts; the mutated file text stays out of it (it is the user's whole file).
The public names are exported by :mod:`ctt.mutate`.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field


class Target(StrEnum):
    """What an operator reads: Flink SQL (inline or a template) or a table's watermark expression."""

    SQL = "sql"
    WATERMARK = "watermark"


class Mutant(BaseModel):
    """One edit a user could have made by mistake, located in the file the user would edit.

    Operators build it in the coordinates of the text they were given (``file`` empty);
    :mod:`ctt.mutate.sources` moves it into the user's file. ``start``/``end`` is the one
    span that changes; ``line``/``col`` (1-based) point at the edit's main site inside it.
    """

    operator: str
    label: str = Field(description="what changed, e.g. 'SUM -> MAX'")
    description: str = Field(description="label and place: 'SUM -> MAX at specs/x.yaml:12:9'")
    file: str = ""
    line: int
    col: int
    site: int = Field(description="offset of the main site of the edit")
    start: int
    end: int
    original: str
    replacement: str
    text: str = Field(exclude=True, repr=False, description="the whole file after the edit")
    tests: list[str] = Field(default_factory=list, description="tests whose SQL the edit reaches")
    diff: list[str] = Field(default_factory=list, description="'-'/'+' lines of the change")

    @property
    def key(self) -> tuple[str, int, int, str]:
        """Identity of the edit: the same change reached through two tests is one mutant."""
        return (self.file, self.start, self.end, self.replacement)


class MutantStatus(StrEnum):
    KILLED = "killed"  # `ctt run` exit 1: a test failed
    SURVIVED = "survived"  # exit 0: every test passed with the bug in place
    ERRORED = "errored"  # exit 2/3: did not compile, or infrastructure failed (not scored)
    TIMEOUT = "timeout"  # ran past the deadline (not scored)
    INTERRUPTED = "interrupted"  # Ctrl-C before it finished (not scored)
    EQUIVALENT = "equivalent"  # survived, and the spec's x-ctt-mutate marks it so (not scored)


class MutantResult(BaseModel):
    mutant: Mutant
    status: MutantStatus
    exit_code: int | None = None
    duration_s: float = 0.0
    detail: str | None = Field(
        None,
        description="killed: the failing checks; errored: the first line of the error; "
        "equivalent: why the spec says so",
    )


class SpecScore(BaseModel):
    """One spec's (or the total's) counts; ``score`` is killed / (killed + survived), in percent."""

    spec: str
    mutants: int = 0
    killed: int = 0
    survived: int = 0
    errored: int = 0
    timeout: int = 0
    interrupted: int = 0
    equivalent: int = 0
    score: float | None = Field(None, description="percent; None when nothing was scored")
    baseline_s: float | None = Field(None, description="wall time of the unmutated run")
    results: list[MutantResult] = Field(default_factory=list)

    def add(self, result: MutantResult) -> None:
        self.results.append(result)
        self.mutants += 1
        setattr(self, result.status.value, getattr(self, result.status.value) + 1)
        scored = self.killed + self.survived
        self.score = round(100.0 * self.killed / scored, 1) if scored else None

    @property
    def survivors(self) -> list[MutantResult]:
        return [r for r in self.results if r.status is MutantStatus.SURVIVED]


class MutationReport(BaseModel):
    """The whole run: per spec, the total, and whether ``--min-score`` held."""

    specs: list[SpecScore] = Field(default_factory=list)
    total: SpecScore = Field(default_factory=lambda: SpecScore(spec="total"))
    wall_s: float = 0.0
    parallel: int = 1
    min_score: float | None = None
    below_min_score: list[str] = Field(
        default_factory=list, description="specs whose score is under --min-score"
    )
    interrupted: bool = False
