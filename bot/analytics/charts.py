"""Bar and scatter charts as PNG bytes (matplotlib, headless Agg backend), shared by the analytics report,
the benchmark and the load test."""

from __future__ import annotations

import io
from typing import Mapping, Optional, Sequence, Tuple

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
from matplotlib.ticker import MaxNLocator  # noqa: E402


def _png(figure: "plt.Figure") -> bytes:
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    return buffer.getvalue()


def bar_chart(
    values: Mapping[str, float],
    title: str,
    xlabel: str = "",
    horizontal: bool = False,
    reference: Optional[float] = None,
    counts: bool = False,
) -> bytes:
    """One bar per key, in the mapping's order; `reference` draws a dashed line (e.g. ratio 1.0);
    `counts` keeps the value axis to whole numbers."""
    labels, heights = list(values), [float(value) for value in values.values()]
    figure, axes = plt.subplots(figsize=(8, max(3.0, 0.35 * len(labels) + 1.5) if horizontal else 4.0))
    try:
        if horizontal:
            axes.barh(labels[::-1], heights[::-1], color="#3b7dd8")
            axes.set_xlabel(xlabel)
        else:
            axes.bar(labels, heights, color="#3b7dd8")
            axes.set_ylabel(xlabel)
            axes.tick_params(axis="x", labelrotation=30)
        if counts:
            (axes.xaxis if horizontal else axes.yaxis).set_major_locator(MaxNLocator(integer=True))
        if reference is not None:
            (axes.axvline if horizontal else axes.axhline)(reference, color="#d83b3b", linestyle="--")
        if not labels:
            axes.text(0.5, 0.5, "no data yet", ha="center", va="center", transform=axes.transAxes)
        axes.set_title(title)
        return _png(figure)
    finally:
        plt.close(figure)


def scatter_chart(
    points: Sequence[Tuple[float, float]],
    title: str,
    xlabel: str,
    ylabel: str,
    marked: Sequence[Tuple[float, float]] = (),
    marked_label: str = "",
    line: Sequence[Tuple[float, float]] = (),
    line_label: str = "",
) -> bytes:
    """Points (x, y), `marked` points in red (e.g. failures) and an optional `line` (e.g. a
    moving percentile), as PNG bytes."""
    figure, axes = plt.subplots(figsize=(9, 4.5))
    try:
        if points:
            axes.scatter(*zip(*points), s=6, color="#3b7dd8", alpha=0.5, label="answered")
        if marked:
            axes.scatter(*zip(*marked), s=12, color="#d83b3b", marker="x", label=marked_label)
        if line:
            axes.plot(*zip(*line), color="#222222", linewidth=1.5, label=line_label)
        if not (points or marked):
            axes.text(0.5, 0.5, "no data", ha="center", va="center", transform=axes.transAxes)
        else:
            axes.legend(loc="upper left")
        axes.set_xlabel(xlabel)
        axes.set_ylabel(ylabel)
        axes.set_title(title)
        return _png(figure)
    finally:
        plt.close(figure)
