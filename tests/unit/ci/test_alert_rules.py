"""The shipped Prometheus alert rules: checked and unit-tested by promtool when it is installed
(installed by scripts/install-system-deps.sh from Debian, or ``CTT_PROMTOOL``),
and always checked against the metric names ``ctt metrics export`` writes."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from ctt.ci.telemetry import METRICS

ROOT = Path(__file__).resolve().parents[3]
RULES = ROOT / "continuous-testing" / "monitoring" / "ctt-alerts.yaml"
RULE_TESTS = RULES.with_name("ctt-alerts.test.yaml")


def _rules() -> list[dict[str, object]]:
    doc = yaml.safe_load(RULES.read_text())
    return [r for g in doc["groups"] for r in g["rules"]]


def test_every_rule_reads_metrics_that_ctt_exports() -> None:
    rules = _rules()
    assert {r["alert"] for r in rules} >= {
        "CttQualityGateFailing",
        "CttFlakinessRising",
        "CttPerformanceRegression",
    }
    for rule in rules:
        names = set(re.findall(r"\bctt_[a-z_]+\b", str(rule["expr"])))
        assert names, rule["alert"]
        assert names <= set(METRICS), (rule["alert"], names - set(METRICS))
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}  # type: ignore[index]
        assert {"summary", "description"} <= set(rule["annotations"])  # type: ignore[arg-type]


def test_every_alert_has_a_promtool_test() -> None:
    doc = yaml.safe_load(RULE_TESTS.read_text())
    tested = {t["alertname"] for case in doc["tests"] for t in case["alert_rule_test"]}
    assert tested == {r["alert"] for r in _rules()}


def _promtool() -> str:
    tool = os.environ.get("CTT_PROMTOOL") or shutil.which("promtool")
    assert tool, "promtool is missing: run `make install` (scripts/install-system-deps.sh)"
    return tool


@pytest.mark.parametrize(
    "command", [["check", "rules", RULES.name], ["test", "rules", RULE_TESTS.name]]
)
def test_promtool(command: list[str]) -> None:
    done = subprocess.run(
        [_promtool(), *command], cwd=RULES.parent, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
