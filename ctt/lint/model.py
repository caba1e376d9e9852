"""What ``ctt lint`` reports: findings at ``file:line:col`` in the user's file, and the report."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field, computed_field

__all__ = ["Finding", "LintReport", "Severity"]


class Severity(StrEnum):
    ERROR = "error"  # Confluent Cloud rejects the statement
    WARNING = "warning"  # Confluent Cloud accepts it but runs it differently than the local stack


class Finding(BaseModel):
    """One thing Confluent Cloud rejects or runs differently, where the user wrote it."""

    rule: str
    severity: Severity
    file: str
    line: int
    col: int
    message: str
    hint: str | None = None
    rewrite: str | None = Field(None, description="the statement as Confluent Cloud accepts it")
    test: str | None = Field(None, description="the spec's test the SQL belongs to")

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"

    def text(self) -> str:
        """``file:line:col: severity[rule]: message`` (the form editors and CI logs jump to)."""
        return f"{self.location}: {self.severity.value}[{self.rule}]: {self.message}"


class LintReport(BaseModel):
    files: list[str] = Field(default_factory=list, description="files read")
    units: int = Field(0, description="SQL texts checked (a spec's tests, SQL files)")
    findings: list[Finding] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity is Severity.ERROR)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.severity is Severity.WARNING)
