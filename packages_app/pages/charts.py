"""Daily downloads as SVG bar geometry (drawn by the template, no script)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Sum
from django.utils import timezone

from ..models import DownloadCount, Package

CHART_DAYS = 30


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    day: date
    count: int


@dataclass(frozen=True)
class DownloadChart:
    """Daily downloads as SVG bars in a WIDTH x HEIGHT box (drawn by the template, no script)."""

    bars: list[Bar]
    peak: int
    start: date
    end: date
    width: int = 300
    height: int = 60


def download_chart(*, package: Package, days: int = CHART_DAYS) -> DownloadChart:
    end = timezone.localdate()
    start = end - timedelta(days=days - 1)
    rows = (
        DownloadCount.objects.filter(manifest__package=package, day__gte=start).values("day").annotate(n=Sum("count"))
    )
    per_day = {row["day"]: int(row["n"]) for row in rows}
    peak = max(per_day.values(), default=0)
    width, height = DownloadChart.width, DownloadChart.height
    step = width / days
    bars = []
    for i in range(days):
        day = start + timedelta(days=i)
        count = per_day.get(day, 0)
        bar_height = max(count / peak * (height - 2), 1.0) if peak and count else 0.0
        bars.append(
            Bar(
                round(i * step + 1, 2),
                round(height - bar_height, 2),
                round(step - 2, 2),
                round(bar_height, 2),
                day,
                count,
            )
        )
    return DownloadChart(bars, peak, start, end)
