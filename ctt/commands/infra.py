"""``ctt infra plan|apply|destroy|output [MODULE]``: Terraform modules, one workspace per run.

``plan`` shows what an apply in a fresh workspace would do (or, with
``--workspace``, what would change in an existing one) and removes a workspace it
made; ``apply`` keeps its new workspace ``ctt-<run id>`` and prints its name (a
failed apply is destroyed at once); ``output`` and ``destroy`` address it with
``--workspace``. The work is in :mod:`ctt.infra.provision`.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, Field
from rich.table import Table

from ctt.console import Output
from ctt.errors import UsageError
from ctt.infra.provision import (
    apply_kept,
    forget_workspace,
    module_variables,
    resolve_module,
    workspace_name,
)
from ctt.infra.terraform import PlanSummary, Terraform, TerraformOutput
from ctt.kafka.naming import new_run_id

__all__ = ["apply", "destroy", "output", "parse_vars", "plan"]

_SYMBOL = {"create": "+", "delete": "-", "update": "~", "replace": "-/+", "read": "<="}


class InfraResult(BaseModel):
    """The ``--json`` document of every ``ctt infra`` command."""

    module: str
    workspace: str
    summary: PlanSummary | None = None
    outputs: dict[str, TerraformOutput] = Field(default_factory=dict)


def parse_vars(pairs: list[str]) -> dict[str, Any]:
    """``--var KEY=VALUE``: a JSON value (number, list, object) or else the text as is."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--var {pair!r}: expected KEY=VALUE")
        try:
            out[key.strip()] = json.loads(text)
        except json.JSONDecodeError:
            out[key.strip()] = text
    return out


def _masked(outputs: dict[str, TerraformOutput]) -> dict[str, TerraformOutput]:
    return {
        k: v.model_copy(update={"value": "(sensitive)"}) if v.sensitive else v
        for k, v in outputs.items()
    }


def _show_outputs(out: Output, outputs: dict[str, TerraformOutput]) -> None:
    table = Table("output", "value", title="outputs")
    for name, o in sorted(outputs.items()):
        value = "(sensitive)" if o.sensitive else o.value
        table.add_row(name, value if isinstance(value, str) else json.dumps(value))
    out.table(table)


def _show_plan(out: Output, summary: PlanSummary, title: str) -> None:
    table = Table("", "resource", "action", title=title)
    for change in sorted(summary.changes, key=lambda c: c.address):
        table.add_row(_SYMBOL.get(change.action, "?"), change.address, change.action)
    out.table(table)
    out.info(f"plan: {summary.add} to add, {summary.change} to change, {summary.remove} to destroy")


def plan(out: Output, module: str | None, *, workspace: str | None, var: list[str]) -> None:
    run_id = new_run_id()
    if workspace:
        tf, _ = _existing(module, workspace)
        path = tf.workdir
    else:
        path = resolve_module(module)
        tf = Terraform(path, workspace=workspace_name(run_id))
    ws = tf.workspace or ""
    try:
        if workspace is None:
            tf.init()  # creates the workspace
        summary = tf.plan(variables=module_variables(run_id, parse_vars(var)))
    finally:
        if workspace is None:
            forget_workspace(tf)  # planned only: it tracks nothing
    if out.json_mode:
        out.emit_json(InfraResult(module=str(path), workspace=ws, summary=summary))
        return
    _show_plan(out, summary, f"{path} (workspace {ws})")


def apply(out: Output, module: str | None, *, var: list[str]) -> None:
    path = resolve_module(module)
    run_id = new_run_id()
    done = apply_kept(
        path, run_id=run_id, variables=module_variables(run_id, parse_vars(var)), say=out.info
    )
    if out.json_mode:
        out.emit_json(
            InfraResult(
                module=done.module,
                workspace=done.workspace,
                summary=done.applied,
                outputs=_masked(done.outputs),
            )
        )
        return
    _show_outputs(out, done.outputs)
    out.info(
        f"applied {path}: {done.applied.add} created, workspace {done.workspace}; remove it with "
        f"`ctt infra destroy {path} --workspace {done.workspace}`"
    )


def _existing(module: str | None, workspace: str) -> tuple[Terraform, str]:
    """terraform in an existing workspace (init with TF_WORKSPACE would create a missing one)."""
    path = resolve_module(module)
    if workspace == "default":
        raise UsageError("ctt manages the workspaces it created (ctt-<run id>), not default")
    base = Terraform(path)
    base.init()
    if workspace not in base.workspaces():
        raise UsageError(
            f"{path} has no workspace {workspace}", hint="`ctt infra` workspaces: ctt-<run id>"
        )
    return Terraform(path, workspace=workspace), str(path)


def output(out: Output, module: str | None, *, workspace: str) -> None:
    tf, path = _existing(module, workspace)
    outputs = tf.output()
    if out.json_mode:
        out.emit_json(InfraResult(module=path, workspace=workspace, outputs=_masked(outputs)))
        return
    _show_outputs(out, outputs)


def destroy(out: Output, module: str | None, *, workspace: str, var: list[str]) -> None:
    tf, path = _existing(module, workspace)
    run_id = workspace.removeprefix("ctt-")
    summary = tf.destroy(variables=module_variables(run_id, parse_vars(var)))
    tf.delete_workspace(workspace)
    if out.json_mode:
        out.emit_json(InfraResult(module=path, workspace=workspace, summary=summary))
        return
    out.info(f"destroyed {summary.remove} resource(s) of {path}; workspace {workspace} deleted")
