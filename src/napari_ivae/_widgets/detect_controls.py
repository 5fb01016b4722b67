"""The Detect dock's particle-mode controls: the threshold method, the size floor and the
auto method's sensitivity."""

from __future__ import annotations

from magicgui.widgets import ComboBox, FloatSpinBox

AUTO_TEXT = "auto"  # a spin box at 0


def method_box() -> ComboBox:
    """The particle method: scale-space blobs with every setting from the image, a global or
    local threshold, or Laplacian-of-Gaussian blobs."""
    return ComboBox(
        choices=["auto", "otsu", "li", "local", "log"],
        value="auto",
        label="threshold",
        visible=False,
    )


def min_size_box() -> FloatSpinBox:
    """The smallest particle kept, in whole pixels (0: auto). A float box shown without
    decimals: magicgui's integer box (superqt's) shows no "auto" at 0."""
    box = FloatSpinBox(
        value=0.0,
        min=0.0,
        max=1e7,
        step=5.0,
        label="min size (px)",
        tooltip="Particles smaller than this many pixels are left out; 0 = auto (the "
        "threshold methods: 2 % of the median object's area, at least 10 px; the auto method "
        "keeps every size). Not used by the log method.",
        visible=False,
    )
    box.native.setDecimals(0)
    box.native.setSpecialValueText(AUTO_TEXT)
    return box


def sensitivity_box() -> FloatSpinBox:
    """The auto method's sensitivity: every strength cut a particle must pass (measured from
    the image) is divided by it."""
    return FloatSpinBox(
        value=1.0,
        min=0.25,
        max=4.0,
        step=0.05,
        label="sensitivity",
        tooltip="Auto method: above 1 finds fainter particles, below 1 keeps only the "
        "clearest (the strength a particle must reach, measured from the image's noise and "
        "background, is divided by this). The threshold methods do not use it.",
        visible=False,
    )


__all__ = ["method_box", "min_size_box", "sensitivity_box"]
