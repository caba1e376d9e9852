"""``consolidated-test-report.html``: one self-contained page, viewable offline.

Charts are inline SVG drawn here on the server side, so the page needs no
script, no CDN and no network; CSS is inline too. Diffs are coloured by
their ``+``/``-`` lines.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from ctt.report.metrics import TestMetrics
from ctt.report.performance import MetricCheck, PerfVerdict

__all__ = ["line_chart", "metric_chart", "render_html", "write_html"]

_TEMPLATES = Path(__file__).parent / "templates"


def line_chart(
    title: str,
    points: Sequence[tuple[str, float]],
    *,
    fmt: Callable[[float], str] = lambda v: f"{v:g}",
    y_max: float | None = None,
    y_min: float = 0.0,
    css_class: str = "series",
    width: int = 640,
    height: int = 180,
    baseline: float | None = None,
    band: tuple[float, float] | None = None,
    flagged: frozenset[int] = frozenset(),
) -> Markup:
    """An SVG line chart of ``(label, value)`` points, oldest first, with hover titles.

    ``baseline`` draws a dashed line, ``band`` a shaded ``(low, high)`` range behind the
    series, and the points at ``flagged`` indexes are drawn larger in the ``flagged`` class.
    """
    pad_l, pad_r, pad_t, pad_b = 56, 12, 24, 28
    plot_w, plot_h = width - pad_l - pad_r, height - pad_t - pad_b
    values = [v for _, v in points]
    extra = [v for v in (baseline, *(band or ())) if v is not None]
    top = y_max if y_max is not None else max([*values, *extra, y_min + 1e-9]) * 1.1
    top = top if top > y_min else y_min + 1.0

    def x(i: int) -> float:
        return pad_l + (plot_w * i / (len(points) - 1) if len(points) > 1 else plot_w / 2)

    def y(v: float) -> float:
        return pad_t + plot_h * (1 - (min(max(v, y_min), top) - y_min) / (top - y_min))

    parts = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
        f'<text class="chart-title" x="{pad_l}" y="15">{escape(title)}</text>',
    ]
    if band is not None:
        hi, lo = y(band[1]), y(band[0])
        parts.append(
            f'<rect class="band" x="{pad_l}" y="{hi:.1f}" width="{plot_w}" '
            f'height="{max(lo - hi, 0.5):.1f}"/>'
        )
    if baseline is not None:
        by = y(baseline)
        parts.append(
            f'<line class="baseline" x1="{pad_l}" x2="{width - pad_r}" y1="{by:.1f}" '
            f'y2="{by:.1f}"><title>baseline median: {escape(fmt(baseline))}</title></line>'
        )
    for frac in (0.0, 0.5, 1.0):
        gv = y_min + (top - y_min) * frac
        gy = y(gv)
        parts.append(
            f'<line class="grid" x1="{pad_l}" x2="{width - pad_r}" y1="{gy:.1f}" y2="{gy:.1f}"/>'
            f'<text class="axis" x="{pad_l - 6}" y="{gy + 4:.1f}" text-anchor="end">'
            f"{escape(fmt(gv))}</text>"
        )
    if not points:
        parts.append(
            f'<text class="axis" x="{pad_l + plot_w / 2}" y="{pad_t + plot_h / 2}" '
            'text-anchor="middle">no history yet</text>'
        )
    else:
        coords = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, (_, v) in enumerate(points))
        parts.append(f'<polyline class="{css_class}" fill="none" points="{coords}"/>')
        for i, (label, v) in enumerate(points):
            cls, r = ("flagged", 5) if i in flagged else (css_class, 3)
            parts.append(
                f'<circle class="{cls}" cx="{x(i):.1f}" cy="{y(v):.1f}" r="{r}">'
                f"<title>{escape(label)}: {escape(fmt(v))}</title></circle>"
            )
        parts.append(
            f'<text class="axis" x="{pad_l}" y="{height - 8}">{escape(points[0][0])}</text>'
            f'<text class="axis" x="{width - pad_r}" y="{height - 8}" text-anchor="end">'
            f"{escape(points[-1][0])}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def metric_chart(check: MetricCheck) -> Markup:
    """A small trend chart of one test's metric: its passing runs, the current run last, the
    baseline median dashed, the margin shaded, and the runs beyond the margin marked."""
    band = None
    if check.baseline_median is not None and check.allowed is not None:
        band = (check.baseline_median - check.allowed, check.baseline_median + check.allowed)
    css = {PerfVerdict.REGRESSED: "series-bad", PerfVerdict.WARNING: "series-warn"}
    return line_chart(
        f"{check.metric} ({check.unit})",
        [(p.label, p.value) for p in check.trend],
        fmt=lambda v: f"{v:.4g}",
        css_class=css.get(check.verdict, "series-duration"),
        width=340,
        height=140,
        baseline=check.baseline_median,
        band=band,
        flagged=frozenset(i for i, p in enumerate(check.trend) if p.beyond),
        y_min=min(0.0, *(p.value for p in check.trend)) if check.trend else 0.0,
    )


_PERF_CHARTS = 60
"""Charts in the Performance section: regressed and warned metrics first (the report's order)."""


def _pct(v: float) -> str:
    return f"{v * 100:.1f}%" if v < 0.999 or v == 1 else f"{v * 100:.2f}%"


def _secs(v: float | None) -> str:
    if v is None:
        return "-"
    if v < 60:
        return f"{v:.1f}s"
    minutes, sec = divmod(round(v), 60)
    return f"{minutes}m{sec:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


def _diff_lines(text: str | None) -> list[tuple[str, str]]:
    if not text:
        return []
    out = []
    for line in text.splitlines():
        cls = "add" if line.startswith("+") else "del" if line.startswith("-") else ""
        out.append((cls, line))
    return out


def render_html(metrics: TestMetrics, *, max_failures: int = 200) -> str:
    env = Environment(
        loader=FileSystemLoader(_TEMPLATES),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = _pct
    env.filters["secs"] = _secs
    env.filters["diff_lines"] = _diff_lines
    trend = metrics.trend
    labels = [f"{p.created_at:%m-%d %H:%M} {(p.commit or '')[:8]}".strip() for p in trend]
    charts = [
        line_chart(
            "Pass rate",
            [(lb, p.pass_rate) for lb, p in zip(labels, trend, strict=True)],
            fmt=_pct,
            y_max=1.0,
            css_class="series-pass",
        ),
        line_chart(
            "Duration (sum of suites)",
            [(lb, p.serial_seconds) for lb, p in zip(labels, trend, strict=True)],
            fmt=_secs,
            css_class="series-duration",
        ),
        line_chart(
            "Flaky share",
            [(lb, p.flaky_share) for lb, p in zip(labels, trend, strict=True)],
            fmt=_pct,
            css_class="series-flaky",
        ),
    ]
    checks = metrics.performance_checks
    perf_charts = [
        (c, metric_chart(c))
        for c in (checks.checks if checks else [])
        if c.verdict is not PerfVerdict.NO_BASELINE or len(c.trend) > 1
    ][:_PERF_CHARTS]
    slowest = sorted(metrics.suites, key=lambda s: -s.duration)[:15]
    longest = max((s.duration for s in slowest), default=0.0) or 1.0
    return env.get_template("report.html.j2").render(
        m=metrics,
        charts=charts,
        perf=checks,
        perf_charts=perf_charts,
        slowest=slowest,
        longest=longest,
        failures=metrics.failures[:max_failures],
        failures_hidden=max(len(metrics.failures) - max_failures, 0),
    )


def write_html(metrics: TestMetrics, path: Path | str) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_html(metrics), encoding="utf-8")
    return target
