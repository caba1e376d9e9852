"""Error categories with messages a user can act on, and the one map from them to exit codes.

Every error ctt raises on purpose derives from one of four categories:

- :class:`ConfigError` / :class:`UsageError`: the user's input, spec or SQL is wrong (exit 2);
- :class:`TestsFailed`: the run completed and a test or a blocking gate failed (exit 1);
- :class:`InfraError`: something ctt depends on at run time is broken (exit 3);
- :class:`Interrupted`: Ctrl-C (exit 130).

Library errors (httpx, confluent-kafka, subprocess) are translated into these at
the edge with ``raise ... from``. :func:`exit_code_for` is the only place that
turns an error into a process exit code; nothing else calls ``sys.exit``.
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
    """A user-written file (spec, SQL, selection, gates, suites) is wrong.

    Carries ``file:line[:col]`` so editors and CI logs can jump to the place,
    and optionally a ``snippet`` (the offending line and a caret) rendered
    below the one-line message, as testdrive does.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        col: int | None = None,
        hint: str | None = None,
        snippet: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.file = file
        self.line = line
        self.col = col
        self.snippet = snippet

    @property
    def location(self) -> str:
        if self.file is None:
            return ""
        if not self.line:
            return self.file
        return f"{self.file}:{self.line}:{self.col}" if self.col else f"{self.file}:{self.line}"

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


class Interrupted(CttError):
    """The user pressed Ctrl-C; whatever was gathered has been written."""

    exit_code = ExitCode.INTERRUPTED


def exit_code_for(exc: BaseException) -> ExitCode:
    """The documented exit code of an error: the one place that decides it."""
    if isinstance(exc, KeyboardInterrupt):
        return ExitCode.INTERRUPTED
    if isinstance(exc, CttError):
        return exc.exit_code
    return ExitCode.INFRA  # an unexpected exception is ctt's fault, never "tests failed"


def snippet(text: str, line: int, col: int | None = None, *, context: int = 2) -> str:
    """The lines before ``line`` of ``text``, the line itself and a caret under ``col``.

    What testdrive prints below ``file:line:col: error:``; every error that points
    into a user's file (spec, SQL, selection, gates) renders its snippet with this.
    """
    lines = text.splitlines()
    if not 1 <= line <= len(lines):
        return ""
    first = max(1, line - context)
    width = len(str(line))
    out = [f"{n:>{width}} | {lines[n - 1]}" for n in range(first, line + 1)]
    if col:
        out.append(f"{'':>{width}} | {' ' * (col - 1)}^")
    return "\n".join(out)
