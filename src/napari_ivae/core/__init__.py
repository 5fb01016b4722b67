"""The computational core of napari-ivae.

Nothing under ``napari_ivae.core`` imports Qt, napari or magicgui, so every analysis can run
from a script, a notebook or the command line. One sub-package per stage, each declaring its
public API and loading it lazily:

* :mod:`napari_ivae.core.io`: read images (lazily where large) and point tables;
* :mod:`napari_ivae.core.detection`: atoms and particles, every setting from the image;
* :mod:`napari_ivae.core.patches`: patches at points or on a grid, in memory or on demand;
* :mod:`napari_ivae.core.models`: the models, training, inference and model files;
* :mod:`napari_ivae.core.analysis`: maps, classes, segmentation, scores, the beta(t) search;
* :mod:`napari_ivae.core.synthetic`: data with known ground truth.

Heavy modules (torch, pyro) are imported by the submodules that need them, not here.
"""

from napari_ivae.core.errors import (
    DeviceError,
    InputError,
    IvaeError,
    ModelFileError,
    TrainingError,
)

__all__ = ["DeviceError", "InputError", "IvaeError", "ModelFileError", "TrainingError"]
