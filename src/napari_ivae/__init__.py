"""napari-ivae: invariant variational autoencoders for microscopy images.

The computational core lives in :mod:`napari_ivae.core` and imports no Qt, napari or
magicgui; the napari widgets live in :mod:`napari_ivae._widgets`.
"""

__version__ = "0.1.0"
