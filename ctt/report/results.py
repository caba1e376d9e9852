"""The consolidated run: what aggregation builds, the history store keeps and reports show.

Kept apart from ``aggregate`` and ``history`` so both can use it without
importing each other.
"""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime

from pydantic import BaseModel, Field

from ctt.report.junit import TestSuiteResult

__all__ = ["ConsolidatedRun", "RunMeta", "SuiteSummary"]


class RunMeta(BaseModel):
    """Where a run came from: commit, branch, pipeline (GitLab's predefined variables)."""

    run_key: str = Field(description="unique per run: the pipeline id in CI, a timestamp locally")
    created_at: datetime
    commit: str | None = None
    branch: str | None = None
    target_branch: str | None = Field(None, description="MR target, compared for new failures")
    pipeline_id: str | None = None
    pipeline_source: str | None = None
    mode: str | None = None

    @classmethod
    def from_env(cls, *, branch: str | None = None, target_branch: str | None = None) -> RunMeta:
        env = os.environ
        now = datetime.now(UTC)
        commit = env.get("CI_COMMIT_SHA") or _git("rev-parse", "HEAD")
        branch = (
            branch
            or env.get("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME")
            or env.get("CI_COMMIT_BRANCH")
            or env.get("CI_COMMIT_REF_NAME")
            or _git("rev-parse", "--abbrev-ref", "HEAD")
        )
        target = (
            target_branch
            or env.get("CI_MERGE_REQUEST_TARGET_BRANCH_NAME")
            or env.get("CI_DEFAULT_BRANCH")
            or "main"
        )
        pipeline = env.get("CI_PIPELINE_ID")
        return cls(
            run_key=f"pipeline-{pipeline}" if pipeline else f"local-{now:%Y%m%dT%H%M%S.%f}",
            created_at=now,
            commit=commit,
            branch=branch,
            target_branch=target,
            pipeline_id=pipeline,
            pipeline_source=env.get("CI_PIPELINE_SOURCE"),
            mode=env.get("TEST_SELECTION_MODE"),
        )


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    text = out.stdout.strip()
    return text if out.returncode == 0 and text else None


class SuiteSummary(BaseModel):
    """One ctt suite of the run (a CI job): status, duration, metrics, where its result came from."""

    name: str
    kind: str = "unknown"
    status: str = Field(description="passed, failed, error, skipped or missing")
    reason: str | None = None
    duration: float = 0.0
    expected_seconds: float | None = None
    attempts: int = 1
    tests: int = 0
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    flaky: int = 0
    metrics: dict[str, float] = Field(default_factory=dict)
    junit_files: list[str] = Field(default_factory=list)


class ConsolidatedRun(BaseModel):
    """All suites of one run with their test cases, plus what was wrong with the inputs."""

    meta: RunMeta
    suites: list[SuiteSummary]
    results: list[TestSuiteResult] = Field(
        default_factory=list, description="JUnit suites, each tagged with its ctt suite"
    )
    suite_of: list[str] = Field(
        default_factory=list, description="ctt suite name of each entry in results"
    )
    problems: list[str] = Field(default_factory=list)
    wall_seconds: float | None = None
