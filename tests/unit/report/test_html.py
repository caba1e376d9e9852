"""The HTML report: self-contained, charts present, and it renders in headless Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ctt.report.html import line_chart, render_html, write_html
from ctt.report.metrics import (
    FailureEntry,
    NewFailures,
    TestMetrics,
    Totals,
    TrendPoint,
)
from ctt.report.results import RunMeta, SuiteSummary


def _metrics() -> TestMetrics:
    now = datetime(2025, 3, 1, tzinfo=UTC)
    return TestMetrics(
        generated_at=now,
        run=RunMeta(
            run_key="r", created_at=now, branch="feat", commit="abc123", target_branch="main"
        ),
        totals=Totals(tests=10, passed=8, failed=1, errors=1, pass_rate=0.8, serial_seconds=42),
        suites=[
            SuiteSummary(name="flink", status="failed", duration=30, tests=6, failed=1),
            SuiteSummary(name="unit <b>", status="passed", duration=12, tests=4),
        ],
        failures=[
            FailureEntry(
                suite="flink",
                test="specs::windows",
                status="failed",
                message="2 windows differ",
                details="- count=3\n+ count=4\n<script>alert(1)</script>",
            )
        ],
        new_failures=NewFailures(target_branch="main", tests=["specs::windows"]),
        trend=[
            TrendPoint(
                run_key=f"r{i}",
                created_at=now - timedelta(days=5 - i),
                branch="main",
                commit=f"{i:08x}",
                tests=10,
                pass_rate=0.8 + i * 0.03,
                flaky_share=0.01 * i,
                serial_seconds=40 + i,
                wall_seconds=20,
            )
            for i in range(5)
        ],
        problems=["junit-broken.xml:3: XML ends early (truncated file?)"],
    )


def test_page_is_self_contained_and_escaped() -> None:
    html = render_html(_metrics())
    assert html.count('<svg class="chart"') == 3
    assert "<script" not in html  # the diff's <script> is escaped, and the page has none
    assert "&lt;script&gt;" in html and "unit &lt;b&gt;" in html
    assert not re.search(r"""(src|href)=["']?https?://""", html)  # nothing fetched from the network
    assert 'class="add">+ count=4' in html and 'class="del">- count=3' in html
    assert "truncated file" in html


def test_chart_without_history_says_so() -> None:
    assert "no history yet" in line_chart("Pass rate", [])
    one = line_chart("x", [("a", 5.0)])
    assert one.count("<circle") == 1


@pytest.mark.skipif(
    shutil.which("chromium") is None,
    reason="chromium is not installed (scripts/install-system-deps.sh)",
)
def test_renders_in_headless_chromium_without_console_errors(tmp_path: Path) -> None:
    page = write_html(_metrics(), tmp_path / "report.html")
    profile = tmp_path / "profile"
    proc = subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=2000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    assert 'id="verdict"' in dom and "FAILED" in dom
    assert dom.count("<svg") == 3 and dom.count("<polyline") == 3 and dom.count("<circle") == 15
    assert "specs::windows" in dom
    console_errors = [
        line
        for line in proc.stderr.splitlines()
        if ("CONSOLE" in line and "ERROR" in line) or "Uncaught" in line
    ]
    assert console_errors == []

    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            f"--user-data-dir={profile}",
            f"--screenshot={shot}",
            "--window-size=1200,1600",
            page.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert shot.exists() and shot.stat().st_size > 10_000  # something was painted
