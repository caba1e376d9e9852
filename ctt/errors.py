"""Error types with messages a user can act on, and the exit codes they map to.

Every error ctt raises on purpose derives from :class:`CttError`. The CLI maps
them to exit codes in one place (``ctt.cli``); nothing else calls ``sys.exit``.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Documented process exit codes (docs/user-guide.md)."""

    OK = 0
    TESTS_FAILED = 1  # a test failed, or a blocking quality gate failed
    USAGE = 2  # bad input: arguments, config files, specs, SQL
    INFRA = 3  # the stack, Kafka, Flink, a download or another service failed
    INTERRUPTED = 130  # Ctrl-C


class CttError(Exception):
    """Base of every deliberate ctt error: one line, with what to do about it."""

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UsageError(CttError):
    """The command line asks for something impossible."""


class ConfigError(CttError):
    """A user-written file (spec, selection, gates, suites) is wrong.

    Carries ``file:line`` so editors and CI logs can jump to the place.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.file = file
        self.line = line

    @property
    def location(self) -> str:
        if self.file is None:
            return ""
        return f"{self.file}:{self.line}" if self.line else self.file

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}" if self.location else self.message
        return f"{text} ({self.hint})" if self.hint else text


class InfraError(CttError):
    """Something ctt depends on at run time is not working (stack, broker, engine)."""

    exit_code = ExitCode.INFRA


class TestsFailed(CttError):
    """The run completed and at least one test or blocking gate failed."""

    exit_code = ExitCode.TESTS_FAILED
    __test__ = False  # not a pytest class
