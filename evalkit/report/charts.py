"""Geometry of the per-benchmark dot-and-whisker charts (the template draws them as inline SVG)."""

from __future__ import annotations

from typing import Any

from evalkit.report.collect import Column

WIDTH, VALUE, ROW, TOP = 640, 90, 24, 26
CHAR_PX, MIN_LABEL, MAX_LABEL = 7.2, 120, 300  # label area sized to the longest label, within bounds


def _ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    step = (hi - lo) / (count - 1)
    return [lo + i * step for i in range(count)]


def chart(col: Column, labels: list[str], cells: list[dict[str, Any]]) -> dict[str, Any]:
    """Rows (label, dot x, whisker x-range, value text) for one benchmark, on a shared x scale."""
    present = [(label, c) for label, c in zip(labels, cells) if c["value"] is not None]
    if col.percent:
        lo, hi = 0.0, 1.0
    else:
        points = [v for _, c in present for v in (c["value"], c["lo"], c["hi"]) if v is not None]
        lo, hi = (min(points), max(points)) if points else (0.0, 1.0)
        pad = (hi - lo) * 0.05 or 1.0
        lo, hi = lo - pad, hi + pad
    longest = max((len(label) for label, _ in present), default=0)
    label_px = int(min(MAX_LABEL, max(MIN_LABEL, longest * CHAR_PX + 16)))
    width = WIDTH + max(0, label_px - 220)  # a wider label area widens the chart, not the plot
    span = width - label_px - VALUE

    def x(v: float) -> float:
        return round(label_px + (min(max(v, lo), hi) - lo) / (hi - lo) * span, 1)

    rows = []
    for i, (label, c) in enumerate(present):
        y = TOP + i * ROW + ROW / 2
        rows.append({"label": label, "y": y, "x": x(c["value"]),
                     "x_lo": x(c["lo"] if c["lo"] is not None else c["value"]),
                     "x_hi": x(c["hi"] if c["hi"] is not None else c["value"]),
                     "text": c["text"] + (" " + c["ci"] if c["ci"] else "")})
    scale = 100 if col.percent else 1
    ticks = [{"x": x(t), "text": f"{t * scale:.3g}"} for t in _ticks(lo, hi)]
    return {"name": col.name, "metric": col.metric, "percent": col.percent, "rows": rows, "ticks": ticks,
            "width": width, "height": TOP + max(1, len(rows)) * ROW + 8, "plot_top": TOP - 6,
            "plot_bottom": TOP + max(1, len(rows)) * ROW, "label_x": label_px - 8, "value_x": width - VALUE + 6,
            "label_chars": max(8, int((label_px - 16) / CHAR_PX))}
