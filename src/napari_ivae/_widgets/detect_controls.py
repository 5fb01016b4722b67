"""The Detect dock's particle-mode controls: the threshold method and the size floor."""

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


__all__ = ["method_box", "min_size_box"]
