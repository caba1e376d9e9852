"""Expectations independent of the SQL: realistic edits to shipped specs fail, unedited specs pass.

The oracle translates a test's own SQL, so it agrees with any edit to it; the
committed snapshot (and the assertions) do not. Each case copies a shipped spec
with its snapshots into a temporary directory, applies one edit to the file's
text and runs it through the CLI, as a user would.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.conftest import StackHandle, developer_env

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "specs"


def copy_spec(rel: str, dest: Path, *, snapshots: bool = True) -> Path:
    """The spec, its query files and (optionally) its snapshots, laid out as in the repository."""
    src = SPECS / rel
    target = dest / src.name
    shutil.copy(src, target)
    for extra in ("queries", *(["__snapshots__"] if snapshots else [])):
        if (src.parent / extra).is_dir():
            shutil.copytree(src.parent / extra, dest / extra)
    return target


def ctt_run(spec: Path, test: str, tmp: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = developer_env()
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "ctt",
            "run",
            str(spec),
            "-k",
            test,
            "-p",
            "1",
            "--junit",
            str(tmp / "junit.xml"),
            "--results",
            str(tmp / "results.json"),
            *extra,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


EDITS = [
    pytest.param(
        "windows/seed_windowed_aggregation.yaml",
        "windowed_aggregation",
        "INTERVAL '1' HOUR",
        "INTERVAL '2' HOUR",
        0,
        id="window-1h-to-2h",
    ),
    pytest.param(
        "windows/tumble_aggregates.yaml",
        "tumble_tvf_aggregates",
        "SUM(amount)",
        "MAX(amount)",
        1,
        id="sum-to-max",
    ),
    pytest.param(
        "windows/tumble_aggregates.yaml",
        "tumble_tvf_aggregates",
        "quantity > 1",
        "quantity >= 1",
        1,
        id="filter-gt-to-ge",
    ),
    pytest.param(
        "joins/interval_join.yaml",
        "interval_join_inner",
        "\n      JOIN shipments s",
        "\n      LEFT JOIN shipments s",
        1,
        id="join-to-left-join",
    ),
    pytest.param(
        "joins/interval_join.yaml",
        "interval_join_inner",
        "'30' MINUTE",
        "'60' MINUTE",
        0,
        id="interval-30-to-60-minutes",
    ),
]


@pytest.mark.parametrize(("rel", "test", "old", "new", "count"), EDITS)
def test_a_user_edit_to_the_sql_fails_with_a_diff(
    stack: StackHandle, tmp_path: Path, rel: str, test: str, old: str, new: str, count: int
) -> None:
    spec = copy_spec(rel, tmp_path)
    text = spec.read_text()
    assert old in text
    spec.write_text(text.replace(old, new, count or -1))
    res = ctt_run(spec, test, tmp_path)
    out = res.stdout + res.stderr
    assert res.returncode == 1, out
    assert "snapshot_match: differs from the snapshot" in out, out
    assert "expected " in out and ("  ~ [" in out or "  - {" in out or "  + {" in out), out


def test_the_unedited_spec_passes(stack: StackHandle, tmp_path: Path) -> None:
    spec = copy_spec("windows/seed_windowed_aggregation.yaml", tmp_path)
    res = ctt_run(spec, "windowed_aggregation", tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr


def test_record_then_an_edit_fails(stack: StackHandle, tmp_path: Path) -> None:
    spec = copy_spec("windows/seed_windowed_aggregation.yaml", tmp_path, snapshots=False)
    snap = tmp_path / "__snapshots__" / spec.stem / "windowed_aggregation.snap"
    missing = ctt_run(spec, "windowed_aggregation", tmp_path)
    assert missing.returncode == 1 and "--update-snapshots" in missing.stdout and not snap.exists()
    recorded = ctt_run(spec, "windowed_aggregation", tmp_path, "--update-snapshots")
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    assert snap.is_file() and "user_activity_summary:" in snap.read_text()
    spec.write_text(spec.read_text().replace("event_type = 'purchase'", "event_type = 'click'"))
    edited = ctt_run(spec, "windowed_aggregation", tmp_path)
    assert edited.returncode == 1, edited.stdout
    assert "purchase_count: expected" in edited.stdout, edited.stdout
    refused = subprocess.run(
        [sys.executable, "-m", "ctt", "run", str(spec), "--update-snapshots", "--ci"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert refused.returncode == 2 and "refused in CI" in refused.stdout + refused.stderr
