"""A spec's ``state:`` section: checkpointing, state backend, state TTL and restart strategy.

Each setting becomes a Flink configuration option that ctt passes with the job (as a SQL
``SET`` would), so two tests in one session cluster can run with different backends and
intervals. A setting the spec leaves out is not sent: the cluster's default applies
(stack/templates/config.yaml.j2). Reference: docs/spec-reference.md, ``state:``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ctt.config.durations import Duration


class CheckpointMode(StrEnum):
    EXACTLY_ONCE = "exactly_once"
    AT_LEAST_ONCE = "at_least_once"


class StateBackend(StrEnum):
    HASHMAP = "hashmap"
    ROCKSDB = "rocksdb"


class RestartType(StrEnum):
    NONE = "none"
    FIXED_DELAY = "fixed_delay"


def _snake(v: Any) -> Any:
    """``exactly-once`` and ``EXACTLY_ONCE`` read as ``exactly_once``: users copy Flink's spelling."""
    return v.strip().lower().replace("-", "_") if isinstance(v, str) else v


class RestartStrategy(BaseModel):
    """How often Flink restarts a failed job before it fails for good."""

    model_config = ConfigDict(extra="forbid")

    type: RestartType = RestartType.FIXED_DELAY
    attempts: int = Field(3, ge=0, description="restarts before the job fails (fixed_delay)")
    delay: Duration = Field(1.0, description="wait between restarts (fixed_delay)")

    @field_validator("type", mode="before")
    @classmethod
    def _type(cls, v: Any) -> Any:
        return _snake(v)

    def flink_options(self) -> dict[str, str]:
        if self.type is RestartType.NONE:
            return {"restart-strategy.type": "none"}
        return {
            "restart-strategy.type": "fixed-delay",
            "restart-strategy.fixed-delay.attempts": str(self.attempts),
            "restart-strategy.fixed-delay.delay": _millis(self.delay),
        }


class StateConfig(BaseModel):
    """``state:``: how the job keeps and checkpoints its state."""

    model_config = ConfigDict(extra="forbid")

    checkpoint_interval: Duration | None = Field(
        None, description="time between checkpoints; none: the job does not checkpoint"
    )
    mode: CheckpointMode = CheckpointMode.EXACTLY_ONCE
    backend: StateBackend | None = Field(None, description="default: the cluster's (hashmap)")
    incremental: bool = Field(False, description="incremental checkpoints (rocksdb only)")
    min_pause: Duration | None = Field(None, description="least time between two checkpoints")
    checkpoint_timeout: Duration | None = Field(None, description="a slower checkpoint fails")
    ttl: Duration | None = Field(
        None, description="idle state expires after this (table.exec.state.ttl)"
    )
    restart_strategy: RestartStrategy | None = None
    min_checkpoints: int = Field(
        0,
        ge=0,
        description="before judging, wait (with the test's deadline) until this many "
        "checkpoints completed; for jobs that keep running (`completion: quiet`)",
    )

    @field_validator("mode", "backend", mode="before")
    @classmethod
    def _spelling(cls, v: Any) -> Any:
        return _snake(v)

    @field_validator("restart_strategy", mode="before")
    @classmethod
    def _restart_shorthand(cls, v: Any) -> Any:
        """``restart_strategy: none`` is the short form of ``{type: none}``."""
        return {"type": v} if isinstance(v, str) else v

    @model_validator(mode="after")
    def _consistent(self) -> StateConfig:
        if self.incremental and self.backend is not StateBackend.ROCKSDB:
            raise ValueError("incremental checkpoints need `backend: rocksdb`")
        for name in ("checkpoint_interval", "min_pause", "checkpoint_timeout", "ttl"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be more than 0")
        return self

    def flink_options(self) -> dict[str, str]:
        """The Flink configuration options this section stands for (what a SQL ``SET`` sets)."""
        out: dict[str, str] = {}
        if self.checkpoint_interval is not None:
            out["execution.checkpointing.interval"] = _millis(self.checkpoint_interval)
            out["execution.checkpointing.mode"] = self.mode.value.upper()
        if self.min_pause is not None:
            out["execution.checkpointing.min-pause"] = _millis(self.min_pause)
        if self.checkpoint_timeout is not None:
            out["execution.checkpointing.timeout"] = _millis(self.checkpoint_timeout)
        if self.backend is not None:
            out["state.backend.type"] = self.backend.value
            out["execution.checkpointing.incremental"] = str(self.incremental).lower()
        if self.ttl is not None:
            out["table.exec.state.ttl"] = _millis(self.ttl)
        if self.restart_strategy is not None:
            out.update(self.restart_strategy.flink_options())
        return out


def _millis(seconds: float) -> str:
    return f"{round(seconds * 1000)} ms"


class ScenarioKind(StrEnum):
    KILL_TASKMANAGER = "kill_taskmanager"
    STOP_WITH_SAVEPOINT_AND_RESUME = "stop_with_savepoint_and_resume"
    RESTART_JOBMANAGER = "restart_jobmanager"


class Guarantee(StrEnum):
    EXACTLY_ONCE = "exactly_once"  # 0 lost and 0 duplicated, or the test fails
    AT_LEAST_ONCE = "at_least_once"  # 0 lost; duplicates are counted and reported


class RecoveryScenario(BaseModel):
    """``recovery:``: one fault ctt injects mid-stream, and what the output must still be.

    The fault fires once ``after_records`` input records were produced, the job read them and
    a checkpoint completed after that; then ``in_flight`` more records are produced and read
    (they are what a restore replays) before the fault.
    """

    model_config = ConfigDict(extra="forbid")

    scenario: ScenarioKind
    after_records: int = Field(ge=1, description="input records produced before the fault")
    in_flight: int = Field(0, ge=0, description="records read after the checkpoint, replayed")
    guarantee: Guarantee = Guarantee.EXACTLY_ONCE
    resume_sql: str | None = Field(
        None,
        description="the SQL the job resumes with, a changed version of `flink_sql` "
        "(Jinja as it); the state must restore into it or the test fails saying why",
    )
    allow_non_restored_state: bool = Field(
        False,
        description="drop state the resumed SQL has no operator for "
        "(execution.state-recovery.ignore-unclaimed-state)",
    )

    @field_validator("scenario", "guarantee", mode="before")
    @classmethod
    def _spelling(cls, v: Any) -> Any:
        return _snake(v)

    @model_validator(mode="after")
    def _resume_needs_a_resubmit(self) -> RecoveryScenario:
        if (
            self.resume_sql is not None or self.allow_non_restored_state
        ) and self.scenario is ScenarioKind.KILL_TASKMANAGER:
            raise ValueError(
                "resume_sql and allow_non_restored_state need a scenario that resubmits the job: "
                "stop_with_savepoint_and_resume or restart_jobmanager"
            )
        return self

    def resume_options(self, restore_from: str) -> dict[str, str]:
        """Options of the resubmitted job: where its state is, and whether state may be left."""
        out = {"execution.state-recovery.path": restore_from}
        if self.allow_non_restored_state:
            out["execution.state-recovery.ignore-unclaimed-state"] = "true"
        return out

    def job_options(self) -> dict[str, str]:
        """Options the scenario needs on the job: a JobManager restart without HA loses the job,
        so its checkpoints must stay on disk for ctt to resubmit from the latest one."""
        if self.scenario is not ScenarioKind.RESTART_JOBMANAGER:
            return {}
        return {
            "execution.checkpointing.externalized-checkpoint-retention": "RETAIN_ON_CANCELLATION"
        }

    def sink_options(self, topic: str, *, generation: int = 0) -> dict[str, str]:
        """Kafka sink options for the guarantee: exactly-once writes in transactions.

        The transactional id prefix is the run-scoped topic, so parallel runs never fence each
        other; a job resubmitted on TaskManagers that ran its predecessor takes the next
        ``generation`` (Flink's Kafka connector registers each writer in the TaskManager by
        subtask, attempt and prefix until it closes; the restored job still commits and aborts
        the old prefix's transactions from its state). The transaction timeout stays under the
        broker's 15 min maximum.
        """
        if self.guarantee is not Guarantee.EXACTLY_ONCE:
            return {}
        return {
            "sink.delivery-guarantee": "exactly-once",
            "sink.transactional-id-prefix": f"{topic}-g{generation}" if generation else topic,
            "properties.transaction.timeout.ms": "900000",
        }


__all__ = [
    "CheckpointMode",
    "Guarantee",
    "PerformanceConfig",
    "RecoveryScenario",
    "RestartStrategy",
    "RestartType",
    "ScenarioKind",
    "StateBackend",
    "StateConfig",
]


class PerformanceConfig(BaseModel):
    """``performance:``: thresholds over the run, each judged by a validator (over enough samples).

    ``warmup`` records are dropped first and fewer than ``min_samples`` left is a spec error
    for latency, a failure for throughput: a rate over a handful of records says nothing.
    """

    model_config = ConfigDict(extra="forbid")

    throughput_min: float | None = Field(None, gt=0, description="output records/s ctt read")
    backpressure_max: float | None = Field(
        None, ge=0, le=1, description="highest share of time any vertex was backpressured"
    )
    latency_p95_max: Duration | None = Field(None, description="input ack to output read")
    checkpoint_duration_p95_max: Duration | None = None
    warmup: int = Field(10, ge=0)
    min_samples: int = Field(50, ge=2)

    @field_validator("backpressure_max", mode="before")
    @classmethod
    def _percent(cls, v: Any) -> Any:
        if isinstance(v, str) and v.strip().endswith("%"):
            return float(v.strip()[:-1]) / 100
        return v

    def validations(self) -> list[dict[str, Any]]:
        """The validation items these thresholds stand for (names of ``ctt.validate`` checks)."""
        sample = {"warmup": self.warmup, "min_samples": self.min_samples}
        out: list[dict[str, Any]] = []
        if self.throughput_min is not None:
            out.append({"throughput_min": {"records_per_s": self.throughput_min, **sample}})
        if self.backpressure_max is not None:
            out.append({"backpressure_max": self.backpressure_max})
        if self.latency_p95_max is not None:
            out.append({"processing_latency_sla": {"p95": self.latency_p95_max, **sample}})
        if self.checkpoint_duration_p95_max is not None:
            out.append({"checkpoint_duration_p95": self.checkpoint_duration_p95_max})
        return out
