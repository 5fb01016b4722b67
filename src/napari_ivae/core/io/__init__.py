"""Reading images (lazily where they are large) and point tables; preparing an image.

The names below are this package's public API; each is imported from its module on first use,
so importing the package costs nothing until one is needed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .image import prepare_image
    from .imageio import (
        TiffStack,
        open_zarr,
        read_image,
        read_points_csv,
        write_image,
        write_points_csv,
    )

_EXPORTS = {
    "TiffStack": "imageio",
    "open_zarr": "imageio",
    "read_image": "imageio",
    "read_points_csv": "imageio",
    "write_image": "imageio",
    "write_points_csv": "imageio",
    "prepare_image": "image",
}

__all__ = [
    "TiffStack",
    "open_zarr",
    "prepare_image",
    "read_image",
    "read_points_csv",
    "write_image",
    "write_points_csv",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
