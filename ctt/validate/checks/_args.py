"""Parsers for validator arguments as the seed writes them."""

from __future__ import annotations

from typing import Any

from ctt.config.durations import parse_duration, parse_percent


def flag(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    raise ValueError(f"expected true or false, got {raw!r}")


def share(raw: Any) -> float:
    """``100%`` / ``99.9%`` / ``true`` (= 100%)."""
    if raw is True:
        return 1.0
    return parse_percent(raw)


def seconds(raw: Any) -> float:
    """``"5s"`` / ``"<100ms"``."""
    return parse_duration(raw)


def count(raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
        raise ValueError(f"expected a row count, got {raw!r}")
    return raw


def pct(x: float) -> str:
    return f"{x * 100:.2f}%".replace(".00%", "%")
