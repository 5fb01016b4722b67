"""A live loss curve drawn with QPainter (no plotting library needed).

Every step is shown from step 0: the raw loss faintly, a smoothed curve on top, epoch marks
along the bottom; on request, each loss term (reconstruction, KL, classifier...) in a row of
its own, each on its own scale.
"""

from __future__ import annotations

import math

from qtpy.QtCore import QPointF, QRectF, Qt
from qtpy.QtGui import QColor, QPainter, QPen, QPolygonF
from qtpy.QtWidgets import QSizePolicy, QWidget

ROW_HEIGHT = 90
TERM_ROW_HEIGHT = 64
COLOURS = ["#ffb000", "#4c9be8", "#e8433d", "#59c46a", "#b07cf0", "#e8a33d"]
TERM_NAMES = {
    "loss": "loss (−ELBO)",
    "recon": "reconstruction",
    "kl": "KL",
    "kl_y": "KL class",
    "ce": "classifier",
    "recon_labeled": "reconstruction (labeled)",
}


def smoothed(values: list[float], tau: float | None = None) -> list[float]:
    """Exponential moving average without the start-up bias (as TensorBoard's smoothing).

    Parameters
    ----------
    values : list of float
    tau : float, optional
        Time constant in points; default ``max(1, len(values) / 30)``.
    """
    if not values:
        return []
    tau = max(1.0, len(values) / 30.0) if tau is None else max(1.0, float(tau))
    decay = 1.0 - 1.0 / tau
    out, mean, weight = [], 0.0, 0.0
    for value in values:
        mean = decay * mean + (1.0 - decay) * value
        weight = decay * weight + (1.0 - decay)
        out.append(mean / weight)
    return out


class LossPlot(QWidget):
    """Loss per step (and, with :attr:`show_terms`, each loss term) from step 0."""

    MAX_POINTS = 4000  # beyond this, neighbouring points are merged (pairwise mean)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.series: dict[str, list[float]] = {"loss": []}
        self.epoch_starts: list[int] = []  # step at which each epoch after the first began
        self.steps = 0  # steps added (before any merging)
        self.steps_per_epoch: int | None = None  # as the trainer counts them, when it says
        self.per_point = 1  # steps per stored point
        self._epoch: int | None = None
        self._pending: dict[str, list[float]] = {}  # steps not yet merged into a point
        self.show_terms = False
        self.setMinimumHeight(ROW_HEIGHT)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip(
            "training loss (negative ELBO per patch) at every step from step 0: "
            "faint = each step, bright = smoothed; ticks = epoch starts"
        )

    @property
    def values(self) -> list[float]:
        """The loss of each stored point (one per step until :attr:`MAX_POINTS`)."""
        return self.series["loss"]

    def clear(self) -> None:
        """Forget all values."""
        self.series = {"loss": []}
        self.epoch_starts, self.steps, self.per_point, self._epoch = [], 0, 1, None
        self.steps_per_epoch = None
        self._pending = {}
        self._fit_height()
        self.update()

    def set_show_terms(self, show: bool) -> None:
        """Show each loss term in a row of its own under the total."""
        self.show_terms = bool(show)
        self._fit_height()
        self.update()

    def add(
        self,
        value: float,
        terms: dict | None = None,
        epoch: int | None = None,
        steps_per_epoch: int | None = None,
    ) -> None:
        """Append one step: the loss, its terms, its epoch and the steps an epoch has (a
        non-finite loss is skipped)."""
        if steps_per_epoch:
            self.steps_per_epoch = int(steps_per_epoch)
        if not math.isfinite(value):
            return
        if epoch is not None and self._epoch is not None and epoch != self._epoch:
            self.epoch_starts.append(self.steps)
        if epoch is not None:
            self._epoch = epoch
        self.steps += 1
        # a step that brings a new term gives it the same number of points as the loss
        for name in terms or {}:
            if name not in self.series:
                self.series[name] = [math.nan] * len(self.values)
                self._fit_height()
        row = {"loss": value, **(terms or {})}
        for name in self.series:
            self._pending.setdefault(name, []).append(float(row.get(name, math.nan)))
        if len(self._pending["loss"]) >= self.per_point:
            for name, points in self.series.items():
                pending = self._pending.pop(name, [])
                points.append(sum(pending) / len(pending) if pending else math.nan)
        if len(self.values) > self.MAX_POINTS:
            for name, points in self.series.items():
                pairs = points[: len(points) // 2 * 2]
                self.series[name] = [(a + b) / 2 for a, b in zip(pairs[::2], pairs[1::2])]
            self.per_point *= 2
        self.update()

    @property
    def caption(self) -> str:
        """What was trained: "120 steps, 3 epochs", or after a stop mid-epoch (the trainer
        having said how many steps an epoch has) "2 epochs + 17 of 55 steps"."""
        epochs = len(self.epoch_starts) + (1 if self.steps else 0)
        text = f"{self.steps} steps, {epochs} epoch{'s' * (epochs != 1)}"
        per_epoch = self.steps_per_epoch
        last = self.steps - (self.epoch_starts[-1] if self.epoch_starts else 0)
        if per_epoch and 0 < last < per_epoch:  # the last epoch was begun, not run
            complete = epochs - 1
            text = (
                f"{self.steps} steps, {complete} epoch{'s' * (complete != 1)} "
                f"+ {last} of {per_epoch} steps"
            )
        return text

    def rows(self) -> list[str]:
        """Names of the series drawn, top to bottom."""
        return list(self.series) if self.show_terms else ["loss"]

    def y_range(self, name: str) -> tuple[float, float]:
        """The vertical range of a row: every step's value, step 0 included."""
        finite = [v for v in self.series[name] if math.isfinite(v)]
        if not finite:
            return (0.0, 1.0)
        low, high = min(finite), max(finite)
        return (low, high) if high > low else (low, low + 1.0)

    def _fit_height(self) -> None:
        n_terms = len(self.series) - 1 if self.show_terms else 0
        self.setMinimumHeight(ROW_HEIGHT + TERM_ROW_HEIGHT * n_terms)
        self.updateGeometry()

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), QColor("#262930"))
        rows = self.rows()
        full = QRectF(self.rect())
        if len(self.values) < 2:
            painter.setPen(QColor("#c0c4c8"))
            painter.drawText(
                full.adjusted(46, 6, -6, -14),
                Qt.AlignmentFlag.AlignCenter,
                "loss curve appears here",
            )
            return
        heights = [ROW_HEIGHT] + [TERM_ROW_HEIGHT] * (len(rows) - 1)
        scale = full.height() / sum(heights)
        top = full.top()
        for index, name in enumerate(rows):
            height = heights[index] * scale
            rect = QRectF(full.left(), top, full.width(), height).adjusted(46, 6, -6, -14)
            self._draw_row(
                painter, rect, name, COLOURS[index % len(COLOURS)], last=index == len(rows) - 1
            )
            top += height

    def _draw_row(
        self, painter: QPainter, rect: QRectF, name: str, colour: str, last: bool
    ) -> None:
        values = self.series[name]
        low, high = self.y_range(name)
        span = high - low
        n = len(values)

        def point(i: int, v: float) -> QPointF:
            return QPointF(
                rect.left() + rect.width() * i / max(n - 1, 1),
                rect.bottom() - rect.height() * (v - low) / span,
            )

        painter.setPen(QPen(QColor("#5a626c"), 1))
        painter.drawRect(rect)
        # epoch marks: a tick at the bottom where each epoch began (at most ~25 drawn)
        every = max(1, math.ceil(len(self.epoch_starts) / 25))
        for k, step in enumerate(self.epoch_starts):
            if (k + 1) % every:
                continue
            x = rect.left() + rect.width() * (step / self.per_point) / max(n - 1, 1)
            painter.drawLine(QPointF(x, rect.bottom()), QPointF(x, rect.bottom() - 5))
        finite = [(i, v) for i, v in enumerate(values) if math.isfinite(v)]
        faint = QColor(colour)
        faint.setAlpha(70)
        painter.setPen(QPen(faint, 1))
        painter.drawPolyline(QPolygonF([point(i, v) for i, v in finite]))
        smooth = smoothed([v for _, v in finite])
        painter.setPen(QPen(QColor(colour), 1.8))
        painter.drawPolyline(QPolygonF([point(i, s) for (i, _), s in zip(finite, smooth)]))
        painter.setPen(QColor("#c0c4c8"))
        painter.drawText(
            QRectF(0, rect.top() - 4, 42, 14), Qt.AlignmentFlag.AlignRight, _short(high)
        )
        painter.drawText(
            QRectF(0, rect.bottom() - 10, 42, 14), Qt.AlignmentFlag.AlignRight, _short(low)
        )
        label = f"{TERM_NAMES.get(name, name)} {_short(smooth[-1])}" if smooth else name
        painter.drawText(
            rect.adjusted(4, 2, -4, -2),
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop,
            label,
        )
        if last:
            painter.drawText(
                QRectF(rect.left(), rect.bottom(), rect.width(), 14),
                Qt.AlignmentFlag.AlignRight,
                self.caption,
            )


def _short(value: float) -> str:
    """At most ~5 characters: 0.0123, 12.3, 1234, 1.2e5."""
    if value != 0 and (abs(value) >= 1e4 or abs(value) < 1e-2):
        return f"{value:.1e}".replace("e+0", "e").replace("e-0", "e-")
    return f"{value:.4g}"
