"""The pure parts of provisioning: names, variables, the outputs -> engine settings map."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ctt.commands.infra import parse_vars
from ctt.errors import UsageError
from ctt.infra.provision import (
    FLINK_TESTING_SETTINGS,
    Provisioned,
    module_variables,
    resolve_module,
    workspace_name,
)
from ctt.infra.terraform import TerraformError, TerraformOutput

REPO = Path(__file__).resolve().parents[3]


@given(st.text(max_size=60))
def test_workspace_names_are_always_valid(run_id: str) -> None:
    assert re.fullmatch(r"ctt-[a-z0-9][a-z0-9-]*|ctt-run", workspace_name(run_id))


def test_workspace_name_keeps_a_run_id() -> None:
    assert workspace_name("20261202t221225-ab9c87") == "ctt-20261202t221225-ab9c87"


def test_module_variables_from_confluent_env_and_tf_var_wins() -> None:
    env = {"CONFLUENT_ORG_ID": "org", "CONFLUENT_ENV_ID": "env-1", "TF_VAR_cluster_id": "x"}
    env["CONFLUENT_KAFKA_CLUSTER_ID"] = "lkc-1"
    got = module_variables("r1", {"region": "eu-west-1"}, env=env)
    assert got == {
        "run_id": "r1",
        "organization_id": "org",
        "environment_id": "env-1",
        "region": "eu-west-1",
    }


def test_settings_env_maps_every_output_and_stringifies() -> None:
    outputs = {name: TerraformOutput(value=f"v-{name}") for name in FLINK_TESTING_SETTINGS}
    outputs["compute_pool_id"] = TerraformOutput(value=None)  # e.g. no pool: leave unset
    env = Provisioned(module="m", workspace="ctt-r", outputs=outputs).settings_env()
    assert env["CONFLUENT_FLINK_API_SECRET"] == "v-flink_api_secret"
    assert "CONFLUENT_COMPUTE_POOL_ID" not in env
    assert len(env) == len(FLINK_TESTING_SETTINGS) - 1


def test_settings_env_names_missing_outputs() -> None:
    with pytest.raises(TerraformError, match=r"m has no output .*compute_pool_id"):
        Provisioned(module="m", workspace="ctt-r", outputs={}).settings_env()


def test_real_module_and_standin_have_every_output_the_engine_needs() -> None:
    """The map is checked against both modules' text: a renamed output fails here."""
    for module in ("terraform/modules/flink-testing", "terraform/standin/flink-testing"):
        text = (REPO / module / "main.tf").read_text()
        declared = set(re.findall(r'^output "([a-z_]+)"', text, re.M))
        assert set(FLINK_TESTING_SETTINGS) <= declared, module


def test_standin_declares_every_variable_of_the_real_module() -> None:
    def variables(module: str) -> set[str]:
        text = (REPO / module / "main.tf").read_text()
        return set(re.findall(r'^variable "([a-z_]+)"', text, re.M))

    real = variables("terraform/modules/flink-testing")
    standin = variables("terraform/standin/flink-testing")
    assert real <= standin and standin - real == {
        "standin_events_file",
        "standin_flink_rest_endpoint",
        "standin_schema_registry_url",
    }


def test_resolve_module_by_name_and_refuses_a_non_module(tmp_path: Path) -> None:
    assert resolve_module(REPO / "terraform/modules/topics") == REPO / "terraform/modules/topics"
    with pytest.raises(UsageError, match="not a Terraform module directory"):
        resolve_module(tmp_path)


def test_parse_vars_json_or_text() -> None:
    got = parse_vars(["n=3", 'names=["a"]', "region=us-west-2", "empty="])
    assert got == {"n": 3, "names": ["a"], "region": "us-west-2", "empty": ""}
    with pytest.raises(UsageError, match="expected KEY=VALUE"):
        parse_vars(["novalue"])


@given(st.lists(st.text(min_size=0, max_size=20), max_size=5))
def test_parse_vars_keys_or_one_usage_error(pairs: list[str]) -> None:
    valid = all("=" in p and p.partition("=")[0].strip() for p in pairs)
    if not valid:
        with pytest.raises(UsageError):
            parse_vars(pairs)
        return
    assert set(parse_vars(pairs)) == {p.partition("=")[0].strip() for p in pairs}
