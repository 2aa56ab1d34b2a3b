"""Bar geometry for the weekly sales charts in the admin (server-rendered SVG, no JavaScript).

`sales_chart()` turns weekly amounts into rectangles in an SVG user-space box; the template
`orders/admin/_sales_chart.html` draws them. Money stays Decimal: floats appear only for pixel
positions, computed from the ratio of each week to the best week.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from .selectors import WeekSales


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    week_start: date
    amount: Decimal
    label_x: float
    current: bool  # the week in progress

    @property
    def label(self) -> str:
        return f"{self.week_start.day} {self.week_start:%b}"

    @property
    def long_label(self) -> str:
        return f"week of {self.week_start.day} {self.week_start:%b %Y}"


@dataclass(frozen=True)
class Chart:
    """One chart: `dom_id` keeps its <title>/<desc> ids unique when a page shows several."""

    dom_id: str
    title: str
    bars: tuple[Bar, ...]
    width: int
    height: int
    baseline_y: float
    top_y: float
    label_y: float
    max_amount: Decimal
    total: Decimal
    compact: bool

    @property
    def best(self) -> Bar | None:
        """The week with the most sales (the earliest of equals), or None without any sale."""
        return max(self.bars, key=lambda bar: bar.amount) if self.total else None

    @property
    def current(self) -> Bar | None:
        return self.bars[-1] if self.bars else None

    @property
    def scale_y(self) -> float:
        return self.top_y - 6


FULL = {"width": 600, "height": 180, "top": 18, "bottom": 22, "gap": 0.3}
COMPACT = {"width": 180, "height": 40, "top": 2, "bottom": 2, "gap": 0.2}


def sales_chart(
    weeks: Sequence[WeekSales], *, dom_id: str, title: str, compact: bool = False
) -> Chart:
    """Bars for `weeks` (oldest first): full size with week labels, or a compact sparkline."""
    size = COMPACT if compact else FULL
    width, height = size["width"], size["height"]
    baseline_y = float(height - size["bottom"])
    top_y = float(size["top"])
    plot_height = baseline_y - top_y
    slot = width / max(len(weeks), 1)
    bar_width = slot * (1 - size["gap"])
    max_amount = max((week.amount for week in weeks), default=Decimal("0"))
    bars = []
    for index, week in enumerate(weeks):
        ratio = float(week.amount / max_amount) if max_amount > 0 else 0.0
        bar_height = round(plot_height * ratio, 1)
        if week.amount > 0:
            bar_height = max(bar_height, 1.0)  # a small sale stays visible next to a big one
        x = index * slot + (slot - bar_width) / 2
        bars.append(
            Bar(
                x=round(x, 1),
                y=round(baseline_y - bar_height, 1),
                width=round(bar_width, 1),
                height=bar_height,
                week_start=week.start,
                amount=week.amount,
                label_x=round(x + bar_width / 2, 1),
                current=index == len(weeks) - 1,
            )
        )
    return Chart(
        dom_id=dom_id,
        title=title,
        bars=tuple(bars),
        width=width,
        height=height,
        baseline_y=baseline_y,
        top_y=top_y,
        label_y=float(height - 6),
        max_amount=max_amount,
        total=sum((week.amount for week in weeks), Decimal("0")),
        compact=compact,
    )
