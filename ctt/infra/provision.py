"""Terraform for one run: apply a module in a workspace of its own, hand its outputs on, destroy.

``ctt run --engine confluent --provision`` and ``ctt infra`` go through here. Each
run gets its own workspace (``ctt-<run id>``, selected with ``TF_WORKSPACE`` so
that parallel runs in the same module directory never share state); the destroy
and the workspace's removal sit in a ``finally``, so a failed apply, a failed run
and a Ctrl-C all end with nothing left behind. A destroy that fails keeps the
workspace and says how to retry it.

The engine reads its settings from ``CONFLUENT_*`` variables; the provisioned
module's outputs become those variables for the length of the run
(:data:`FLINK_TESTING_SETTINGS`), and the module's identifying inputs come from
the same variables (:data:`FLINK_TESTING_INPUTS`).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from pydantic import BaseModel, Field

from ctt.errors import UsageError
from ctt.infra.terraform import PlanSummary, Terraform, TerraformError, TerraformOutput

__all__ = [
    "DEFAULT_MODULE",
    "FLINK_TESTING_INPUTS",
    "FLINK_TESTING_SETTINGS",
    "MODULES_DIR",
    "Provisioned",
    "apply_kept",
    "confluent_run",
    "forget_workspace",
    "module_variables",
    "provisioned",
    "resolve_module",
    "workspace_name",
]

MODULES_DIR = Path("terraform/modules")
DEFAULT_MODULE = MODULES_DIR / "flink-testing"

# flink-testing output -> the variable ctt.engines.confluent.ConfluentSettings (and the
# Kafka client of the Confluent run) reads.
FLINK_TESTING_SETTINGS: dict[str, str] = {
    "organization_id": "CONFLUENT_ORG_ID",
    "environment_id": "CONFLUENT_ENV_ID",
    "kafka_cluster_id": "CONFLUENT_KAFKA_CLUSTER_ID",
    "cloud": "CONFLUENT_CLOUD",
    "region": "CONFLUENT_REGION",
    "compute_pool_id": "CONFLUENT_COMPUTE_POOL_ID",
    "service_account_id": "CONFLUENT_PRINCIPAL_ID",
    "flink_rest_endpoint": "CONFLUENT_FLINK_REST_ENDPOINT",
    "flink_api_key": "CONFLUENT_FLINK_API_KEY",
    "flink_api_secret": "CONFLUENT_FLINK_API_SECRET",
    "kafka_bootstrap_servers": "CONFLUENT_KAFKA_BOOTSTRAP",
    "kafka_api_key": "CONFLUENT_KAFKA_API_KEY",
    "kafka_api_secret": "CONFLUENT_KAFKA_API_SECRET",
    "schema_registry_url": "CONFLUENT_SCHEMA_REGISTRY_URL",
    "schema_registry_api_key": "CONFLUENT_SCHEMA_REGISTRY_API_KEY",
    "schema_registry_api_secret": "CONFLUENT_SCHEMA_REGISTRY_API_SECRET",
}
# environment variable -> flink-testing variable, passed when set (a TF_VAR_ still wins)
FLINK_TESTING_INPUTS: dict[str, str] = {
    "CONFLUENT_ORG_ID": "organization_id",
    "CONFLUENT_ENV_ID": "environment_id",
    "CONFLUENT_KAFKA_CLUSTER_ID": "cluster_id",
}

_UNSAFE = re.compile(r"[^a-z0-9-]+")


class Provisioned(BaseModel):
    """What an apply left: where, in which workspace, what it did and its outputs."""

    module: str
    workspace: str
    applied: PlanSummary = Field(default_factory=PlanSummary)
    outputs: dict[str, TerraformOutput] = Field(default_factory=dict)

    def settings_env(self, mapping: Mapping[str, str] = FLINK_TESTING_SETTINGS) -> dict[str, str]:
        """The engine's variables from the outputs; a missing output is the module's fault."""
        missing = sorted(name for name in mapping if name not in self.outputs)
        if missing:
            raise TerraformError(
                f"{self.module} has no output {', '.join(missing)}",
                hint="a module for --provision needs the outputs of terraform/modules/flink-testing",
            )
        env = {}
        for name, var in mapping.items():
            value = self.outputs[name].value
            if value is not None:
                env[var] = value if isinstance(value, str) else str(value)
        return env


def workspace_name(run_id: str) -> str:
    """``ctt-<run id>``: terraform allows letters, digits, '-' and '_' in workspace names."""
    return "ctt-" + (_UNSAFE.sub("-", run_id.lower()).strip("-") or "run")


def resolve_module(module: str | Path | None) -> Path:
    """A module directory: a path, or a name under terraform/modules/ (default flink-testing)."""
    if module is None:
        path = DEFAULT_MODULE
    else:
        path = Path(module)
        if not path.exists() and len(path.parts) == 1:
            path = MODULES_DIR / path
    if not path.is_dir() or not any(path.glob("*.tf")):
        raise UsageError(
            f"{path} is not a Terraform module directory (no *.tf files)",
            hint=f"give a directory or a module name under {MODULES_DIR}/",
        )
    return path


def module_variables(
    run_id: str,
    extra: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """``run_id`` and the inputs known from ``CONFLUENT_*``; ``TF_VAR_*`` and ``extra`` win."""
    env = os.environ if env is None else env
    variables: dict[str, Any] = {"run_id": run_id}
    for var, name in FLINK_TESTING_INPUTS.items():
        if env.get(var) and f"TF_VAR_{name}" not in env:
            variables[name] = env[var]
    variables.update(extra or {})
    return variables


def forget_workspace(tf: Terraform) -> None:
    """Remove a workspace that tracks nothing (a plan's, or one whose init failed)."""
    if tf.workspace and (tf.workdir / "terraform.tfstate.d" / tf.workspace).exists():
        with contextlib.suppress(TerraformError):
            tf.delete_workspace(tf.workspace)
        # terraform refuses to delete a workspace of an uninitialized directory
        ws_dir = tf.workdir / "terraform.tfstate.d" / tf.workspace
        for d in (ws_dir, ws_dir.parent):
            if d.is_dir() and not any(d.iterdir()):
                d.rmdir()


@contextmanager
def _shielded(say: Callable[[str], None]) -> Iterator[None]:
    """Ctrl-C during cleanup says so instead of abandoning half-destroyed resources."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        say("still destroying what this run created; wait for it (state is kept if it fails)")

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _init(tf: Terraform) -> None:
    """``terraform init``, which creates the workspace; a failed one leaves none behind."""
    try:
        tf.init()
    except BaseException:
        forget_workspace(tf)
        raise


def _teardown(
    tf: Terraform, variables: Mapping[str, Any], say: Callable[[str], None], module: Path
) -> None:
    assert tf.workspace is not None
    with _shielded(say):
        try:
            done = tf.destroy(variables=variables)
            tf.delete_workspace(tf.workspace)
        except TerraformError as exc:
            raise TerraformError(
                f"destroy of {module} failed, workspace {tf.workspace} kept: {exc}",
                diagnostics=exc.diagnostics,
                hint=f"retry: ctt infra destroy {module} --workspace {tf.workspace}",
            ) from exc
    say(f"terraform: destroyed {done.remove} resource(s) of {module} (workspace {tf.workspace})")


@contextmanager
def provisioned(
    module: Path,
    *,
    run_id: str,
    variables: Mapping[str, Any] | None = None,
    say: Callable[[str], None] = lambda _: None,
    binary: str = "terraform",
    env: Mapping[str, str] | None = None,
) -> Iterator[Provisioned]:
    """Apply ``module`` in workspace ``ctt-<run_id>``, yield its outputs, always destroy it."""
    tf = Terraform(module, binary=binary, env=env, workspace=workspace_name(run_id))
    values = dict(variables or {})
    say(f"terraform: applying {module} in workspace {tf.workspace}")
    _init(tf)
    try:
        applied = tf.apply(variables=values)
        say(f"terraform: {applied.add} created, {applied.change} changed")
        assert tf.workspace is not None
        yield Provisioned(
            module=str(module), workspace=tf.workspace, applied=applied, outputs=tf.output()
        )
    finally:
        _teardown(tf, values, say, module)


def apply_kept(
    module: Path,
    *,
    run_id: str,
    variables: Mapping[str, Any] | None = None,
    say: Callable[[str], None] = lambda _: None,
) -> Provisioned:
    """``ctt infra apply``: apply in a new workspace and keep it; a failed apply is undone."""
    tf = Terraform(module, workspace=workspace_name(run_id))
    values = dict(variables or {})
    _init(tf)
    try:
        applied = tf.apply(variables=values)
        assert tf.workspace is not None
        return Provisioned(
            module=str(module), workspace=tf.workspace, applied=applied, outputs=tf.output()
        )
    except BaseException:
        say(f"terraform: apply of {module} did not finish; destroying what it made")
        _teardown(tf, values, say, module)
        raise


@contextmanager
def confluent_run(
    *,
    enabled: bool,
    engine: str,
    module: str | Path | None,
    run_id: str,
    say: Callable[[str], None],
) -> Iterator[None]:
    """The ``ctt run --provision`` hook: provisioned settings in ``os.environ`` during the run."""
    if not enabled:
        yield
        return
    if engine != "confluent":
        raise UsageError(
            f"--provision creates Confluent Cloud resources; it needs --engine confluent, not {engine}"
        )
    path = resolve_module(module)
    with provisioned(path, run_id=run_id, variables=module_variables(run_id), say=say) as done:
        settings = done.settings_env()
        saved = {name: os.environ.get(name) for name in settings}
        os.environ.update(settings)
        say(
            f"engine settings from {path}: compute pool {settings.get('CONFLUENT_COMPUTE_POOL_ID')}"
            f", principal {settings.get('CONFLUENT_PRINCIPAL_ID')}"
        )
        try:
            yield
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
