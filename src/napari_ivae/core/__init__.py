"""The computational core of napari-ivae.

Nothing under ``napari_ivae.core`` imports Qt, napari or magicgui, so every analysis can run
from a script, a notebook or the command line. Heavy modules (torch, pyro) are imported by the
submodules that need them, not here.
"""

from napari_ivae.core.errors import (
    DeviceError,
    InputError,
    IvaeError,
    ModelFileError,
    TrainingError,
)

__all__ = ["DeviceError", "InputError", "IvaeError", "ModelFileError", "TrainingError"]
