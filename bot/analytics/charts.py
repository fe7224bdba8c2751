"""Bar charts as PNG bytes (matplotlib, headless Agg backend), shared by the analytics report
and the benchmark."""

from __future__ import annotations

import io
from typing import Mapping, Optional

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
from matplotlib.ticker import MaxNLocator  # noqa: E402


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
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=90)
        return buffer.getvalue()
    finally:
        plt.close(figure)
