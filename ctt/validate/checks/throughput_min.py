"""throughput_min: output records per second as ctt read them, after a warm-up, e.g. 1000."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ctt.observed.model import Outcome, ValidationContext
from ctt.validate.registry import register


class Throughput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    records_per_s: float = Field(gt=0)
    warmup: int = Field(10, ge=0)
    min_samples: int = Field(50, ge=2)


def _parse(raw: Any) -> Throughput:
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return Throughput(records_per_s=raw)
    if isinstance(raw, dict):
        return Throughput.model_validate(raw)
    raise ValueError("give records/s, or {records_per_s, warmup, min_samples}")


@register("throughput_min", parse=_parse)
def check(arg: Throughput, ctx: ValidationContext) -> Outcome:
    """(records - 1) / (last read - first read) over every output, the first ``warmup`` dropped.

    What the user gets, measured at ctt's reader: it includes Kafka and the read, and a job
    fed slower than the threshold fails it (the input rate bounds the output rate).
    """
    times = sorted(
        r.received_at for out in ctx.outputs.values() for r in out.records if r.received_at
    )[arg.warmup :]
    if len(times) < arg.min_samples:
        return Outcome(
            name="throughput_min",
            passed=False,
            summary=f"{len(times)} output records after a warm-up of {arg.warmup}, need "
            f"{arg.min_samples}: produce more input",
        )
    span = times[-1] - times[0]
    rate = (len(times) - 1) / span if span > 0 else float("inf")
    passed = rate >= arg.records_per_s
    return Outcome(
        name="throughput_min",
        passed=passed,
        summary=f"{rate:.0f} records/s over {len(times)} records "
        f"({'>=' if passed else '<'} {arg.records_per_s:g})",
        measured=rate,
        threshold=arg.records_per_s,
        properties={
            "throughput_records_per_s": f"{rate:.1f}",
            "throughput_samples": str(len(times)),
        },
    )
