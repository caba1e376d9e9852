"""Parsing of the human units users write in YAML: ``"30m"``, ``"5s"``, ``"<100ms"``, ``"100%"``."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator

_DURATION = re.compile(
    r"^\s*(?P<num>\d+(?:\.\d+)?)\s*(?P<unit>ms|s|sec|secs|seconds?|m|min|mins|minutes?|h|hours?|d|days?)\s*$",
    re.IGNORECASE,
)
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


class DurationError(ValueError):
    """Not a duration: config errors word it as "`timeout` must be a duration like 30s"."""


def parse_duration(value: Any) -> float:
    """Seconds from ``"30m"``, ``"2 hours"``, ``"250ms"`` or a bare number of seconds."""
    if isinstance(value, bool):
        raise DurationError("expected a duration such as '30s' or '5m'")
    if isinstance(value, (int, float)):
        if value < 0:
            raise DurationError("a duration cannot be negative")
        return float(value)
    if not isinstance(value, str):
        raise DurationError("expected a duration such as '30s' or '5m'")
    text = value.strip().lstrip("<").strip()
    match = _DURATION.match(text)
    if not match:
        raise DurationError(
            f"{value!r} is not a duration; write e.g. '500ms', '30s', '5m', '2 hours'"
        )
    unit = match["unit"].lower()
    key = "ms" if unit == "ms" else unit[0]
    return float(match["num"]) * _UNIT_SECONDS[key]


def parse_percent(value: Any) -> float:
    """A share in [0, 1] from ``"99.9%"``, ``99.9`` (percent) or ``0.999`` written as a fraction."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, str):
        text = value.strip()
        if not text.endswith("%"):
            raise ValueError(f"{value!r} is not a percentage; write e.g. '99.9%'")
        number = float(text[:-1])
        share = number / 100.0
    elif isinstance(value, (int, float)):
        share = float(value) / 100.0 if value > 1 else float(value)
    else:
        raise ValueError("expected a percentage such as '99.9%'")
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"{value!r} is outside 0%..100%")
    return share


Duration = Annotated[float, BeforeValidator(parse_duration)]
"""Seconds, parsed from a human duration."""

Percent = Annotated[float, BeforeValidator(parse_percent)]
"""A share in [0, 1], parsed from a percentage."""
