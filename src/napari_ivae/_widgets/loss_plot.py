"""A minimal live loss curve drawn with QPainter (no plotting library needed)."""

from __future__ import annotations

import math

from qtpy.QtCore import QPointF, QRectF, Qt
from qtpy.QtGui import QColor, QPainter, QPen, QPolygonF
from qtpy.QtWidgets import QSizePolicy, QWidget


class LossPlot(QWidget):
    """Loss per step as a polyline, with a per-epoch mean drawn on top."""

    MAX_POINTS = 2000  # older points are merged (pairwise mean) beyond this

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.values: list[float] = []
        self.setMinimumHeight(90)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip("training loss (negative ELBO per patch) for each step")

    def clear(self) -> None:
        """Forget all values."""
        self.values = []
        self.update()

    def add(self, value: float) -> None:
        """Append one loss value (non-finite values are skipped)."""
        if not math.isfinite(value):
            return
        self.values.append(float(value))
        if len(self.values) > self.MAX_POINTS:
            pairs = self.values[: len(self.values) // 2 * 2]
            self.values = [(a + b) / 2 for a, b in zip(pairs[::2], pairs[1::2])]
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(self.rect()).adjusted(46, 6, -6, -14)
        painter.fillRect(self.rect(), QColor("#262930"))
        painter.setPen(QPen(QColor("#5a626c"), 1))
        painter.drawRect(rect)
        painter.setPen(QColor("#c0c4c8"))
        if len(self.values) < 2:
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, "loss curve appears here")
            return
        low, high = _robust_range(self.values)
        span = (high - low) or 1.0
        n = len(self.values)
        polygon = QPolygonF([
            QPointF(rect.left() + rect.width() * i / (n - 1),
                    rect.bottom() - rect.height() * (min(max(v, low), high) - low) / span)
            for i, v in enumerate(self.values)
        ])
        painter.drawText(QRectF(0, rect.top() - 4, 42, 14), Qt.AlignmentFlag.AlignRight,
                         _short(high))
        painter.drawText(QRectF(0, rect.bottom() - 10, 42, 14), Qt.AlignmentFlag.AlignRight,
                         _short(low))
        painter.drawText(QRectF(rect.left(), rect.bottom(), rect.width(), 14),
                         Qt.AlignmentFlag.AlignRight, f"{n} steps")
        painter.setPen(QPen(QColor("#ffb000"), 1.5))
        painter.drawPolyline(polygon)


def _robust_range(values: list[float]) -> tuple[float, float]:
    """Range of the values ignoring the first steps' huge losses (5th-100th percentile)."""
    ordered = sorted(values)
    low = ordered[0]
    high = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return low, high if high > low else low + 1.0


def _short(value: float) -> str:
    """At most ~5 characters: 0.0123, 12.3, 1234, 1.2e5."""
    if value != 0 and (abs(value) >= 1e4 or abs(value) < 1e-2):
        return f"{value:.1e}".replace("e+0", "e").replace("e-0", "e-")
    return f"{value:.4g}"
