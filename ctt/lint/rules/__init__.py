"""The lint rules, one per module, registered by name: ``check(unit) -> Iterator[Finding]``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import ModuleType

from ctt.lint.model import Finding
from ctt.lint.rules import (
    connector_option,
    error_handling_mode,
    legacy_group_window,
    plain_format,
    proctime,
    scan_startup_mode,
    sparse_partitions,
    temporary_object,
    window_without_watermark,
)
from ctt.lint.units import LintUnit

__all__ = ["RULES", "Rule"]

Rule = Callable[[LintUnit], Iterator[Finding]]

_MODULES: tuple[ModuleType, ...] = (
    legacy_group_window,
    proctime,
    temporary_object,
    connector_option,
    plain_format,
    scan_startup_mode,
    window_without_watermark,
    sparse_partitions,
    error_handling_mode,
)
RULES: dict[str, Rule] = {m.NAME: m.check for m in _MODULES}
