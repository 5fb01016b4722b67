"""Reading images (lazily where they are large) and point tables; preparing an image.

The names below are this package's public API; each is imported from its module on first use,
so importing the package costs nothing until one is needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from napari_ivae.core._lazy import lazy_api

if TYPE_CHECKING:
    from .calibrated import CalibratedImage, read_calibrated
    from .digital_micrograph import read_dm
    from .emd import read_emd
    from .gwyddion import read_gwy
    from .image import prepare_image
    from .imageio import (
        TiffStack,
        open_zarr,
        read_image,
        read_pixel_size,
        read_points_csv,
        write_image,
        write_points_csv,
    )
    from .mrc import read_mrc
    from .nanonis_sxm import read_sxm
    from .tia_ser import read_ser

_EXPORTS = {
    "CalibratedImage": "calibrated",
    "read_calibrated": "calibrated",
    "read_mrc": "mrc",
    "read_dm": "digital_micrograph",
    "read_ser": "tia_ser",
    "read_emd": "emd",
    "read_sxm": "nanonis_sxm",
    "read_gwy": "gwyddion",
    "read_pixel_size": "imageio",
    "TiffStack": "imageio",
    "open_zarr": "imageio",
    "read_image": "imageio",
    "read_points_csv": "imageio",
    "write_image": "imageio",
    "write_points_csv": "imageio",
    "prepare_image": "image",
}

__all__ = [
    "CalibratedImage",
    "TiffStack",
    "open_zarr",
    "prepare_image",
    "read_calibrated",
    "read_dm",
    "read_emd",
    "read_gwy",
    "read_image",
    "read_mrc",
    "read_pixel_size",
    "read_points_csv",
    "read_ser",
    "read_sxm",
    "write_image",
    "write_points_csv",
]


__getattr__, __dir__ = lazy_api(__name__, _EXPORTS)
