"""The Latent explorer's plots, plain Qt: the latent scatter (hover, box selection), the angle
histogram, the patch-and-decoding preview, and the colours they share."""

from __future__ import annotations

import math

import numpy as np
from qtpy.QtCore import QPointF, QRectF, Qt, Signal
from qtpy.QtGui import QColor, QImage, QPainter, QPen, QPixmap
from qtpy.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from napari_ivae._widgets._writer import CLUSTER_COLOURS

# qualitative colours for classes and clusters: the unsupervised class map's own
QUALITATIVE = CLUSTER_COLOURS
# a short viridis for continuous values
VIRIDIS = np.array(
    [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]], dtype=np.float64
)
DOT_RADIUS = 2.5
HOVER_RADIUS_PX = 8.0


def continuous_colours(values: np.ndarray, *, cyclic: bool = False) -> np.ndarray:
    """RGB colours (N, 3) uint8 for ``values``: viridis over the 2nd-98th percentile, or a
    hue wheel for angles in degrees when ``cyclic``."""
    values = np.asarray(values, dtype=np.float64)
    if cyclic:
        hue = np.mod(values, 360.0) / 360.0
        return _hue_to_rgb(hue)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return np.full((len(values), 3), 128, dtype=np.uint8)
    low, high = np.percentile(finite, [2, 98])
    t = np.clip((values - low) / ((high - low) or 1.0), 0, 1)
    t = np.where(np.isfinite(t), t, 0.0) * (len(VIRIDIS) - 1)
    i = np.minimum(t.astype(int), len(VIRIDIS) - 2)
    frac = (t - i)[:, None]
    return (VIRIDIS[i] * (1 - frac) + VIRIDIS[i + 1] * frac).astype(np.uint8)


def categorical_colours(labels: np.ndarray, palette: list[str] | tuple = QUALITATIVE) -> np.ndarray:
    """RGB colours (N, 3) uint8 for integer labels (negative: grey)."""
    labels = np.asarray(labels, dtype=np.int64)
    table = np.array([QColor(c).getRgb()[:3] for c in palette], dtype=np.uint8)
    out = table[np.mod(labels, len(table))]
    out[labels < 0] = 110
    return out


def _hue_to_rgb(hue: np.ndarray) -> np.ndarray:
    k = (hue[:, None] * 6 + np.array([0.0, 4.0, 2.0])) % 6  # R, G, B phase
    rgb = 1 - np.clip(np.minimum(k, 4 - k), 0, 1)
    return (rgb * 200 + 40).astype(np.uint8)


def box_selection(x: np.ndarray, y: np.ndarray, x_range: tuple, y_range: tuple) -> np.ndarray:
    """Indices of the points inside the data-space box ``x_range`` x ``y_range``."""
    (x0, x1), (y0, y1) = sorted(x_range), sorted(y_range)
    return np.flatnonzero((x >= x0) & (x <= x1) & (y >= y0) & (y <= y1))


class LatentScatter(QWidget):
    """A scatter plot with box selection and hover, drawn with QPainter."""

    selection_changed = Signal(object)  # (K,) int array of selected dot indices
    hovered = Signal(int)  # dot index under the cursor, -1 for none

    MARGIN = (40, 8, 8, 22)  # left, top, right, bottom (pixels)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.x = np.zeros(0)
        self.y = np.zeros(0)
        self.colours = np.zeros((0, 3), dtype=np.uint8)
        self.selected = np.zeros(0, dtype=bool)
        self.x_label = self.y_label = ""
        self._drag_start: QPointF | None = None
        self._drag_end: QPointF | None = None
        self._hover = -1
        self.setMouseTracking(True)
        self.setMinimumSize(200, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setToolTip("drag a box to select patches (Shift adds); hover a dot to see it")

    # ---- data ---------------------------------------------------------------------------
    def set_data(
        self,
        x: np.ndarray,
        y: np.ndarray,
        colours: np.ndarray,
        x_label: str = "",
        y_label: str = "",
    ) -> None:
        """Show dots at (x, y) with RGB ``colours``; the selection is kept if sizes match."""
        self.x = np.asarray(x, dtype=np.float64)
        self.y = np.asarray(y, dtype=np.float64)
        self.colours = np.asarray(colours, dtype=np.uint8).reshape(-1, 3)
        if len(self.selected) != len(self.x):
            self.selected = np.zeros(len(self.x), dtype=bool)
        self.x_label, self.y_label = x_label, y_label
        self._hover = -1
        self.update()

    def set_selected(self, indices: np.ndarray) -> None:
        """Mark ``indices`` as selected (no signal: for selections made elsewhere)."""
        self.selected = np.zeros(len(self.x), dtype=bool)
        indices = np.asarray(indices, dtype=np.int64)
        self.selected[indices[(indices >= 0) & (indices < len(self.x))]] = True
        self.update()

    # ---- geometry -----------------------------------------------------------------------
    def _plot_rect(self) -> QRectF:
        left, top, right, bottom = self.MARGIN
        return QRectF(self.rect()).adjusted(left, top, -right, -bottom)

    def _ranges(self) -> tuple[tuple[float, float], tuple[float, float]]:
        def padded(v: np.ndarray) -> tuple[float, float]:
            v = v[np.isfinite(v)]
            if v.size == 0:
                return -1.0, 1.0
            low, high = float(v.min()), float(v.max())
            pad = 0.05 * (high - low) or 0.5
            return low - pad, high + pad

        return padded(self.x), padded(self.y)

    def to_screen(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Widget pixel coordinates of data points."""
        rect = self._plot_rect()
        (x0, x1), (y0, y1) = self._ranges()
        sx = rect.left() + (np.asarray(x) - x0) / (x1 - x0) * rect.width()
        sy = rect.bottom() - (np.asarray(y) - y0) / (y1 - y0) * rect.height()
        return sx, sy

    def to_data(self, point: QPointF) -> tuple[float, float]:
        """Data coordinates of a widget pixel."""
        rect = self._plot_rect()
        (x0, x1), (y0, y1) = self._ranges()
        return (
            x0 + (point.x() - rect.left()) / rect.width() * (x1 - x0),
            y0 + (rect.bottom() - point.y()) / rect.height() * (y1 - y0),
        )

    def nearest(self, point: QPointF) -> int:
        """Index of the dot within a few pixels of ``point``, or -1."""
        if len(self.x) == 0:
            return -1
        sx, sy = self.to_screen(self.x, self.y)
        d2 = (sx - point.x()) ** 2 + (sy - point.y()) ** 2
        d2 = np.where(np.isfinite(d2), d2, np.inf)
        best = int(np.argmin(d2))
        return best if d2[best] <= HOVER_RADIUS_PX**2 else -1

    # ---- mouse --------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt override
        if event.button() == Qt.MouseButton.LeftButton:
            self._drag_start = self._drag_end = QPointF(
                event.position() if hasattr(event, "position") else event.pos()
            )

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 - Qt override
        pos = QPointF(event.position() if hasattr(event, "position") else event.pos())
        if self._drag_start is not None:
            self._drag_end = pos
            self.update()
            return
        hover = self.nearest(pos)
        if hover != self._hover:
            self._hover = hover
            self.hovered.emit(hover)
            self.update()

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 - Qt override
        if self._drag_start is None:
            return
        start = self._drag_start
        end = QPointF(event.position() if hasattr(event, "position") else event.pos())
        self._drag_start = self._drag_end = None
        add = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if abs(end.x() - start.x()) < 3 and abs(end.y() - start.y()) < 3:
            hit = self.nearest(end)
            picked = np.array([hit] if hit >= 0 else [], dtype=np.int64)
        else:
            (xa, ya), (xb, yb) = self.to_data(start), self.to_data(end)
            picked = box_selection(self.x, self.y, (xa, xb), (ya, yb))
        self.select(picked, add=add)

    def select(self, indices: np.ndarray, *, add: bool = False) -> None:
        """Select dots ``indices`` (added to the current selection with ``add``) and emit
        ``selection_changed`` with the whole selection."""
        if not add:
            self.selected = np.zeros(len(self.x), dtype=bool)
        self.selected[np.asarray(indices, dtype=np.int64)] = True
        self.update()
        self.selection_changed.emit(np.flatnonzero(self.selected))

    def leaveEvent(self, event) -> None:  # noqa: N802 - Qt override
        if self._hover != -1:
            self._hover = -1
            self.hovered.emit(-1)
            self.update()

    # ---- drawing ------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), QColor("#262930"))
        rect = self._plot_rect()
        painter.setPen(QPen(QColor("#5a626c"), 1))
        painter.drawRect(rect)
        painter.setPen(QColor("#c0c4c8"))
        if len(self.x) == 0:
            painter.drawText(
                rect,
                Qt.AlignmentFlag.AlignCenter,
                "write results (Results) to see the latent space",
            )
            return
        (x0, x1), (y0, y1) = self._ranges()
        painter.drawText(
            QRectF(rect.left(), rect.bottom() + 2, 60, 16), Qt.AlignmentFlag.AlignLeft, _short(x0)
        )
        painter.drawText(
            QRectF(rect.right() - 60, rect.bottom() + 2, 60, 16),
            Qt.AlignmentFlag.AlignRight,
            _short(x1),
        )
        painter.drawText(
            QRectF(rect.left(), rect.bottom() + 2, rect.width(), 16),
            Qt.AlignmentFlag.AlignHCenter,
            self.x_label,
        )
        painter.drawText(
            QRectF(0, rect.top(), self.MARGIN[0] - 4, 16), Qt.AlignmentFlag.AlignRight, _short(y1)
        )
        painter.drawText(
            QRectF(0, rect.bottom() - 14, self.MARGIN[0] - 4, 16),
            Qt.AlignmentFlag.AlignRight,
            _short(y0),
        )
        painter.save()
        painter.translate(10, rect.center().y())
        painter.rotate(-90)
        painter.drawText(
            QRectF(-rect.height() / 2, -8, rect.height(), 16),
            Qt.AlignmentFlag.AlignHCenter,
            self.y_label,
        )
        painter.restore()
        sx, sy = self.to_screen(self.x, self.y)
        painter.setPen(Qt.PenStyle.NoPen)
        dimmed = self.selected.any()
        for i in np.flatnonzero(~self.selected & np.isfinite(sx) & np.isfinite(sy)):
            r, g, b = (int(c) for c in self.colours[i])
            painter.setBrush(QColor(r, g, b, 90 if dimmed else 220))
            painter.drawEllipse(QPointF(sx[i], sy[i]), DOT_RADIUS, DOT_RADIUS)
        painter.setPen(QPen(QColor("white"), 1))
        for i in np.flatnonzero(self.selected & np.isfinite(sx) & np.isfinite(sy)):
            r, g, b = (int(c) for c in self.colours[i])
            painter.setBrush(QColor(r, g, b))
            painter.drawEllipse(QPointF(sx[i], sy[i]), DOT_RADIUS + 1, DOT_RADIUS + 1)
        if self._hover >= 0:
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(QPen(QColor("#ffffff"), 1.5))
            painter.drawEllipse(QPointF(sx[self._hover], sy[self._hover]), 6, 6)
        if self._drag_start is not None and self._drag_end is not None:
            painter.setBrush(QColor(255, 255, 255, 30))
            painter.setPen(QPen(QColor("#ffffff"), 1, Qt.PenStyle.DashLine))
            painter.drawRect(QRectF(self._drag_start, self._drag_end).normalized())


class AngleHistogram(QWidget):
    """Histogram of the patches' angles (degrees), the selection drawn on top."""

    BINS = 36

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.counts = np.zeros(self.BINS)
        self.selected_counts = np.zeros(self.BINS)
        self.setFixedHeight(70)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip(
            "angles of all patches (grey) and of the selected ones (colour), -180 to 180 degrees"
        )

    def set_angles(self, angles_deg: np.ndarray | None, selected: np.ndarray | None = None) -> None:
        """Count ``angles_deg`` (and the ``selected`` subset) into 10-degree bins."""
        edges = np.linspace(-180, 180, self.BINS + 1)
        if angles_deg is None or len(angles_deg) == 0:
            self.counts = np.zeros(self.BINS)
            self.selected_counts = np.zeros(self.BINS)
        else:
            wrapped = np.mod(np.asarray(angles_deg, dtype=np.float64) + 180.0, 360.0) - 180.0
            self.counts = np.histogram(wrapped, edges)[0].astype(float)
            chosen = wrapped[selected] if selected is not None and len(selected) else []
            self.selected_counts = np.histogram(chosen, edges)[0].astype(float)
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#262930"))
        rect = QRectF(self.rect()).adjusted(40, 4, -8, -16)
        painter.setPen(QColor("#c0c4c8"))
        painter.drawText(
            QRectF(rect.left(), rect.bottom() + 1, rect.width(), 14),
            Qt.AlignmentFlag.AlignHCenter,
            "angle (deg)",
        )
        painter.drawText(
            QRectF(rect.left(), rect.bottom() + 1, 40, 14), Qt.AlignmentFlag.AlignLeft, "-180"
        )
        painter.drawText(
            QRectF(rect.right() - 40, rect.bottom() + 1, 40, 14), Qt.AlignmentFlag.AlignRight, "180"
        )
        top = self.counts.max()
        if top <= 0:
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, "no angles (not a rotation model)")
            return
        width = rect.width() / self.BINS
        painter.setPen(Qt.PenStyle.NoPen)
        for counts, colour in (
            (self.counts, QColor("#7a828c")),
            (self.selected_counts, QColor("#e69f00")),
        ):
            painter.setBrush(colour)
            for i, c in enumerate(counts):
                h = rect.height() * c / top
                painter.drawRect(
                    QRectF(rect.left() + i * width, rect.bottom() - h, max(width - 1, 1), h)
                )


class PatchPreview(QWidget):
    """A patch beside its decoding, both at the patch's own contrast."""

    SIZE = 96

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.images: list[QLabel] = []
        self.captions: list[QLabel] = []
        for caption in ("patch", "decoded"):
            column = QVBoxLayout()
            image = QLabel()
            image.setFixedSize(self.SIZE, self.SIZE)
            image.setStyleSheet("background: #262930;")
            text = QLabel(caption)
            text.setAlignment(Qt.AlignmentFlag.AlignHCenter)
            column.addWidget(image)
            column.addWidget(text)
            layout.addLayout(column)
            self.images.append(image)
            self.captions.append(text)
        self.caption = QLabel("hover a dot")
        self.caption.setWordWrap(True)
        layout.addWidget(self.caption, 1)

    def show_patches(
        self, patch: np.ndarray | None, decoded: np.ndarray | None, caption: str
    ) -> None:
        """Show ``patch`` and ``decoded`` (either may be None) scaled by the patch's
        1st-99th percentile."""
        reference = patch if patch is not None else decoded
        if reference is None:
            for label in self.images:
                label.clear()
        else:
            low, high = np.percentile(reference, [1, 99])
            for label, image in zip(self.images, (patch, decoded)):
                if image is None:
                    label.clear()
                    continue
                label.setPixmap(_pixmap(image, float(low), float(high), self.SIZE))
        self.caption.setText(caption)


def _pixmap(image: np.ndarray, low: float, high: float, size: int) -> QPixmap:
    grey = np.clip((np.asarray(image, dtype=np.float64) - low) / ((high - low) or 1.0), 0, 1)
    data = np.ascontiguousarray((grey * 255).astype(np.uint8))
    qimage = QImage(
        data.data, data.shape[1], data.shape[0], data.strides[0], QImage.Format.Format_Grayscale8
    ).copy()
    return QPixmap.fromImage(qimage).scaled(
        size, size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation
    )


def _short(value: float) -> str:
    if not math.isfinite(value):
        return "-"
    return f"{value:.3g}"
