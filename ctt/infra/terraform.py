"""A thin wrapper of the terraform CLI: init, validate, plan, apply, destroy, output, test.

Every command that has a machine-readable mode runs with ``-json`` and its
stream of JSON lines is read here, so errors come back as one line with the
``file:line`` terraform reported, never as terraform's box-drawn text. A
missing binary, a timeout and a failing command become :class:`TerraformError`.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from ctt.errors import InfraError

__all__ = [
    "Diagnostic",
    "PlanSummary",
    "PlannedChange",
    "Terraform",
    "TerraformError",
    "TerraformOutput",
    "TestRun",
    "TestSummary",
]


class Diagnostic(BaseModel):
    severity: str
    summary: str
    detail: str = ""
    file: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}: " if self.file else ""
        detail = " ".join(self.detail.split())
        return f"{where}{self.summary}" + (f": {detail}" if detail else "")


class TerraformError(InfraError):
    """terraform failed; carries its error diagnostics."""

    def __init__(
        self, message: str, *, diagnostics: Sequence[Diagnostic] = (), hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.diagnostics = list(diagnostics)


class PlannedChange(BaseModel):
    """One resource a plan would touch: ``create``, ``update``, ``delete``, ``replace``..."""

    address: str
    action: str


class PlanSummary(BaseModel):
    add: int = 0
    change: int = 0
    remove: int = 0
    import_: int = Field(default=0, alias="import")
    changes: list[PlannedChange] = Field(default_factory=list)


class TerraformOutput(BaseModel):
    value: Any = None
    type: Any = None
    sensitive: bool = False


class TestRun(BaseModel):
    __test__ = False  # not a pytest class
    file: str
    run: str
    status: str
    diagnostics: list[Diagnostic] = Field(default_factory=list)


class TestSummary(BaseModel):
    __test__ = False
    status: str
    passed: int = 0
    failed: int = 0
    errored: int = 0
    skipped: int = 0
    runs: list[TestRun] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "pass"


def _diagnostic(raw: Mapping[str, Any]) -> Diagnostic:
    rng = raw.get("range") or {}
    return Diagnostic(
        severity=str(raw.get("severity", "error")),
        summary=str(raw.get("summary", "")),
        detail=str(raw.get("detail", "")),
        file=rng.get("filename"),
        line=(rng.get("start") or {}).get("line"),
    )


class Terraform:
    """terraform in one working directory, non-interactive, with ``-json`` where it exists."""

    def __init__(
        self,
        workdir: Path | str,
        *,
        binary: str = "terraform",
        env: Mapping[str, str] | None = None,
        workspace: str | None = None,
        timeout_s: float = 1800.0,
    ) -> None:
        """``workspace``: run every command in it (``TF_WORKSPACE``); ``init`` creates it."""
        self.workdir = Path(workdir)
        found = shutil.which(binary)
        if found is None:
            raise TerraformError(
                f"terraform not found on PATH ({binary})",
                hint="install terraform >= 1.6 (https://developer.hashicorp.com/terraform/install)",
            )
        self.binary = found
        self.timeout_s = timeout_s
        self.env = {**os.environ, "TF_IN_AUTOMATION": "1", "TF_INPUT": "0", **(env or {})}
        self.env.pop("TF_WORKSPACE", None)
        self.workspace = workspace
        if workspace:
            self.env["TF_WORKSPACE"] = workspace

    # ------------------------------------------------------------------ commands

    def version(self) -> str:
        return str(self._json_doc(["version", "-json"]).get("terraform_version", ""))

    def init(self, *, test_directory: str | None = None, backend: bool = True) -> None:
        args = ["init", "-json", "-input=false", "-no-color"]
        if test_directory:
            args.append(f"-test-directory={test_directory}")
        if not backend:
            args.append("-backend=false")
        try:
            self._stream(args, "init")
        except TerraformError as exc:
            if "registry" not in exc.message or exc.hint:
                raise
            raise TerraformError(
                exc.message,
                diagnostics=exc.diagnostics,
                hint="a provider could not be downloaded: terraform needs registry access "
                "(or a provider mirror) for it; the modules' spec/ directories need none",
            ) from exc

    def validate(self) -> list[Diagnostic]:
        """Warnings of a valid configuration; raises with the errors of an invalid one."""
        doc = self._json_doc(["validate", "-json", "-no-color"], ok_codes=(0, 1))
        diags = [_diagnostic(d) for d in doc.get("diagnostics", [])]
        errors = [d for d in diags if d.severity == "error"]
        if errors or not doc.get("valid", False):
            raise TerraformError(
                f"terraform validate: {errors[0] if errors else 'invalid'}", diagnostics=errors
            )
        return diags

    def plan(
        self,
        *,
        variables: Mapping[str, Any] | None = None,
        out: str | None = None,
        destroy: bool = False,
    ) -> PlanSummary:
        args = ["plan", "-json", "-input=false", "-no-color", *self._var_args(variables)]
        if out:
            args.append(f"-out={out}")
        if destroy:
            args.append("-destroy")
        messages = self._stream(args, "plan")
        summary = self._summary(messages)
        summary.changes = [
            PlannedChange(
                address=str((change.get("resource") or {}).get("addr", "?")),
                action=str(change.get("action", "?")),
            )
            for msg in messages
            if msg.get("type") == "planned_change"
            for change in [msg.get("change") or {}]
        ]
        return summary

    def apply(
        self, *, plan_file: str | None = None, variables: Mapping[str, Any] | None = None
    ) -> PlanSummary:
        args = ["apply", "-json", "-input=false", "-no-color", "-auto-approve"]
        args += [plan_file] if plan_file else self._var_args(variables)
        return self._summary(self._stream(args, "apply"))

    def destroy(self, *, variables: Mapping[str, Any] | None = None) -> PlanSummary:
        args = ["destroy", "-json", "-input=false", "-no-color", "-auto-approve"]
        return self._summary(self._stream(args + self._var_args(variables), "destroy"))

    def workspaces(self) -> list[str]:
        """The workspaces of this directory (``terraform workspace list`` has no ``-json``)."""
        proc = self._run(["workspace", "list", "-no-color"], (0,), workspace=False)
        return [line.strip(" *") for line in proc.stdout.splitlines() if line.strip(" *")]

    def delete_workspace(self, name: str) -> None:
        """Delete an empty workspace (terraform refuses one that still tracks resources)."""
        self._run(["workspace", "delete", "-no-color", name], (0,), workspace=False)

    def output(self) -> dict[str, TerraformOutput]:
        doc = self._json_doc(["output", "-json", "-no-color"])
        return {k: TerraformOutput.model_validate(v) for k, v in doc.items()}

    def test(
        self,
        *,
        test_directory: str | None = None,
        filters: Sequence[str] = (),
        variables: Mapping[str, Any] | None = None,
    ) -> TestSummary:
        """Run ``terraform test``; a failing test is a result, not an exception."""
        args = ["test", "-json", "-no-color", *self._var_args(variables)]
        if test_directory:
            args.append(f"-test-directory={test_directory}")
        args += [f"-filter={f}" for f in filters]
        messages = self._stream(args, "test", ok_codes=(0, 1), raise_on_error=False)
        runs: dict[tuple[str, str], TestRun] = {}
        summary: dict[str, Any] | None = None
        errors: list[Diagnostic] = []
        for msg in messages:
            kind = msg.get("type")
            if kind == "test_run":
                info = msg.get("test_run") or {}
                key = (msg.get("@testfile", ""), msg.get("@testrun", info.get("run", "")))
                run = runs.setdefault(key, TestRun(file=key[0], run=key[1], status=""))
                if info.get("progress") == "complete":
                    run.status = str(info.get("status", ""))
            elif kind == "diagnostic":
                diag = _diagnostic(msg.get("diagnostic") or {})
                key = (msg.get("@testfile", ""), msg.get("@testrun", ""))
                if key in runs:
                    runs[key].diagnostics.append(diag)
                elif diag.severity == "error":
                    errors.append(diag)
            elif kind == "test_summary":
                summary = msg.get("test_summary") or {}
        if summary is None:
            raise TerraformError(
                "terraform test ended without a summary" + (f": {errors[0]}" if errors else ""),
                diagnostics=errors,
            )
        return TestSummary(
            status=str(summary.get("status", "")),
            passed=int(summary.get("passed", 0)),
            failed=int(summary.get("failed", 0)),
            errored=int(summary.get("errored", 0)),
            skipped=int(summary.get("skipped", 0)),
            runs=list(runs.values()),
        )

    # ------------------------------------------------------------------ plumbing

    @staticmethod
    def _var_args(variables: Mapping[str, Any] | None) -> list[str]:
        out = []
        for key, value in (variables or {}).items():
            text = value if isinstance(value, str) else json.dumps(value)
            out.append(f"-var={key}={text}")
        return out

    @staticmethod
    def _summary(messages: list[dict[str, Any]]) -> PlanSummary:
        for msg in messages:
            if msg.get("type") == "change_summary":
                return PlanSummary.model_validate(msg.get("changes") or {})
        return PlanSummary()

    def _run(
        self, args: list[str], ok_codes: Sequence[int], *, workspace: bool = True
    ) -> subprocess.CompletedProcess[str]:
        env = self.env if workspace else {k: v for k, v in self.env.items() if k != "TF_WORKSPACE"}
        try:
            child = subprocess.Popen(
                [self.binary, *args],
                cwd=self.workdir,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,  # Ctrl-C reaches terraform once, through us
            )
        except OSError as exc:
            raise TerraformError(f"cannot run terraform {args[0]}: {exc}") from exc
        try:
            stdout, stderr = child.communicate(timeout=self.timeout_s)
        except KeyboardInterrupt:
            child.send_signal(signal.SIGINT)  # terraform stops cleanly and writes its state
            child.communicate(timeout=self.timeout_s)
            raise
        except subprocess.TimeoutExpired as exc:
            child.send_signal(signal.SIGINT)
            try:
                child.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                child.kill()
                child.communicate()
            raise TerraformError(
                f"terraform {args[0]} in {self.workdir} took longer than {self.timeout_s:.0f}s"
            ) from exc
        proc = subprocess.CompletedProcess(child.args, child.returncode, stdout, stderr)
        if proc.returncode not in ok_codes:
            # commands without -json output, or a crash before the JSON stream began
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            raise TerraformError(
                f"terraform {args[0]} failed (exit {proc.returncode}) in {self.workdir}: {tail[0]}"
            )
        return proc

    def _json_doc(self, args: list[str], ok_codes: Sequence[int] = (0,)) -> dict[str, Any]:
        proc = self._run(args, ok_codes)
        try:
            doc = json.loads(proc.stdout or "{}")
        except json.JSONDecodeError as exc:
            raise TerraformError(f"terraform {args[0]} -json printed no JSON") from exc
        return doc if isinstance(doc, dict) else {}

    def _stream(
        self,
        args: list[str],
        what: str,
        *,
        ok_codes: Sequence[int] = (0,),
        raise_on_error: bool = True,
    ) -> list[dict[str, Any]]:
        """Run a ``-json`` streaming command; raise with its first error diagnostic."""
        proc = self._run(args, (*ok_codes, 1))
        messages = []
        for line in proc.stdout.splitlines():
            try:
                msg = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(msg, dict):
                messages.append(msg)
        errors = [
            _diagnostic(m.get("diagnostic") or {})
            for m in messages
            if m.get("type") == "diagnostic"
            and (m.get("diagnostic") or {}).get("severity") == "error"
        ]
        if proc.returncode not in ok_codes or (raise_on_error and errors):
            first = errors[0] if errors else (proc.stderr.strip().splitlines() or ["failed"])[-1]
            raise TerraformError(f"terraform {what}: {first}", diagnostics=errors)
        return messages
