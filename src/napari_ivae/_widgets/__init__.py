"""napari dock widgets of napari-ivae: Detect, Patches and labels, Train, Results.

Each widget lives in its own module and imports torch / scikit-image only when it runs a step,
so opening napari and the widgets stays fast. The widgets share one :class:`Session` per viewer.
"""
