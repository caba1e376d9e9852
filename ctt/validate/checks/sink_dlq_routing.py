"""sink_dlq_routing: records the connector cannot read are in its own dead-letter topic, and only they.

Ground truth as for the Flink DLQ (``dlq_routing``): ctt sends ``sink.malformed``
undecodable records to the transformed topic after Flink's output; each must be in
the connector's dead-letter topic (``errors.deadletterqueue.topic.name``) once, byte
for byte, and the topic must hold nothing else (a good row there was lost from the
table). Connect's DLQ covers conversion and transformation errors; a row the database
refuses fails the task instead (a FAILED test with the task's trace).
"""

from __future__ import annotations

from collections import Counter

from ctt.observed.model import Outcome, ValidationContext
from ctt.validate.checks._args import flag
from ctt.validate.checks._data import fail
from ctt.validate.checks._dlq import cut
from ctt.validate.registry import register

_NAME = "sink_dlq_routing"


@register(_NAME, parse=flag)
def check(enabled: bool, ctx: ValidationContext) -> Outcome:
    if not enabled:
        return Outcome(name=_NAME, passed=True, summary="disabled")
    tt = ctx.target
    if tt is None:
        raise fail(ctx, _NAME, "the test has no `sink:` section (or its connector never ran)")
    sink = ctx.spec.test.sink if ctx.spec else None
    if sink is not None and not sink.dead_letter_topic:
        raise fail(ctx, _NAME, "give the sink `dead_letter_topic: true` (and `malformed: N`)")
    waiting = Counter(tt.injected)
    unmatched = []
    for value in tt.dead_letters:
        if waiting[value] > 0:
            waiting[value] -= 1
        else:
            unmatched.append(value)
    missing = list(waiting.elements())
    problems = []
    if missing:
        problems.append(
            f"{len(missing)} undecodable record(s) not in the DLQ, e.g. {cut(missing[0])}"
        )
    if unmatched:
        problems.append(
            f"{len(unmatched)} DLQ record(s) that ctt did not send undecodable, "
            f"e.g. {cut(unmatched[0])}"
        )
    matched = len(tt.injected) - len(missing)
    return Outcome(
        name=_NAME,
        passed=not problems,
        summary="; ".join(problems)
        or f"all {len(tt.injected)} undecodable records in the connector's DLQ, nothing else there",
        measured=float(matched),
        threshold=float(len(tt.injected)),
    )
