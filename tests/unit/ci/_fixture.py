"""A small repository of realistic shape for selection tests: SQL lineage, specs, modules."""

from __future__ import annotations

from pathlib import Path

from ctt.ci.analysis import ChangeAnalysis, ChangedFile, DiffSource, FileStatus
from ctt.ci.select import Selector, load_selector
from ctt.ci.selection_history import History
from tests.unit.ci._repo import Repo

SELECTION = """\
test_selection:
  change_detection:
    paths:
      - path: "terraform/modules/topics/"
        tests: ["topic_tests"]
      - path: "ctt/**/*.py"
        tests: ["unit"]
      - path: "flink-sql/"
        tests: ["enrich_specs"]
    global_paths: ["/.gitlab-ci.yml", "*.lock"]
  dependencies:
    connector_tests:
      requires: ["rbac_tests"]
  execution_strategy:
    parallel_limit: 2
    timeout_per_test: "30m"
    retry_failed_tests: 1
"""

SUITES = """\
suites:
  enrich_specs: {kind: flink, path: specs/enrich}
  agg_specs: {kind: flink, path: specs/agg}
  other_specs: {kind: flink, path: specs/other}
  topic_tests: {kind: terraform, path: terraform/modules/topics}
  connector_tests: {kind: terraform, path: terraform/modules/connectors}
  rbac_tests: {kind: terraform, path: terraform/modules/rbac}
  job_tests: {kind: terraform, path: flink/modules/flink-job, timeout: 2m}
  unit: {kind: command, command: "pytest"}
  smoke: {kind: command, command: "true", always_run: true}
"""

FILES: dict[str, str | bytes] = {
    "conf/test-selection.yaml": SELECTION,
    "conf/suites.yaml": SUITES,
    "flink/sql/transformations/enrich.sql": (
        "INSERT INTO {{ sink }}\nSELECT e.*, u.name FROM {{ source }} e\n"
        "JOIN users FOR SYSTEM_TIME AS OF e.ts AS u ON e.user_id = u.id;\n"
    ),
    "flink/sql/transformations/agg.sql": (
        "INSERT INTO summary SELECT user_id, COUNT(*) FROM enriched GROUP BY user_id;\n"
    ),
    "flink/sql/transformations/orphan.sql": "INSERT INTO nowhere SELECT * FROM nothing;\n",
    "specs/enrich/enrich.yaml": """\
flink_transformation_tests:
  enrich:
    sql_template: flink/sql/transformations/enrich.sql
    params: {source: events, sink: enriched}
    tables:
      events: {topic: events-raw}
      enriched: {topic: events-enriched}
      users: {topic: users}
""",
    "specs/agg/agg.yaml": """\
flink_transformation_tests:
  agg:
    sql_template: flink/sql/transformations/agg.sql
    tables:
      enriched: {topic: events-enriched}
      summary: {topic: summary}
""",
    "specs/agg/down.yaml": """\
flink_transformation_tests:
  reads_other:
    flink_sql: "INSERT INTO sink_t SELECT * FROM out_t"
""",
    "specs/other/other.yaml": """\
flink_transformation_tests:
  other:
    flink_sql: |
      CREATE TABLE out_t AS SELECT * FROM in_t;
""",
    "terraform/modules/topics/main.tf": 'resource "x" "y" {}\n',
    "terraform/modules/connectors/main.tf": (
        'module "topics" {\n  source = "../topics"\n  name   = "t"\n}\n'
        'module "remote" {\n  source = "confluentinc/confluent/x"\n}\n'
    ),
    "terraform/modules/rbac/main.tf": "",
    "flink/modules/flink-job/main.tf": (
        'resource "confluent_flink_statement" "s" {\n'
        '  statement = templatefile("${path.module}/sql/job.sql", {})\n}\n'
    ),
    "flink/modules/flink-job/sql/job.sql": "INSERT INTO a SELECT * FROM b;\n",
    "ctt/core/x.py": "x = 1\n",
    "README.md": "hello\n",
    ".gitlab-ci.yml": "stages: []\n",
}


def make_repo(root: Path, extra: dict[str, str | bytes] | None = None) -> Repo:
    repo = Repo(root)
    repo.commit({**FILES, **(extra or {})})
    return repo


def selector(root: Path, history: History | None = None) -> Selector:
    return load_selector(
        root, root / "conf/test-selection.yaml", root / "conf/suites.yaml", history=history
    )


def changes(*paths: str, status: FileStatus = FileStatus.MODIFIED) -> ChangeAnalysis:
    return ChangeAnalysis(
        source=DiffSource.RANGE,
        base="0" * 40,
        head="1" * 40,
        files=[ChangedFile(path=p, status=status) for p in paths],
    )
