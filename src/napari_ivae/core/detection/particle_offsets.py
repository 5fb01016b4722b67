"""The pixels of blobs' squares as offsets from their centres: distances and sectors.

:func:`~napari_ivae.core.detection.particle_profiles.profile_model` measures each kept blob on
the square of pixels around its centre, as distances (``np.hypot`` of the offsets) and
``SECTORS`` sectors (from ``np.arctan2``), two or three times per blob. These give the same
numbers with fewer transcendental functions: a centre on a pixel has the same integer offsets
as every other such centre (one table for them all), and with eight sectors a pixel's sector
is its octant, decided by comparisons wherever no offset lies near an octant's edge.
"""

from __future__ import annotations

import numpy as np

from napari_ivae.core.detection.particle_surround import SECTORS

# the octant of an offset (y, x), indexed by 4 (y < 0) + 2 (x < 0) + (|y| < |x|): the sector
# floor((arctan2(y, x) + pi) / (2 pi) 8) of every offset inside that octant
OCTANT_SECTORS = np.array([5, 4, 6, 7, 2, 3, 1, 0], dtype=np.int8)
# a centre's sub-pixel offset this far from the octants' edges keeps every pixel of its square
# clear of them: arctan2's rounding (about 1e-15) cannot move a pixel across
EDGE_MARGIN = 1e-6


def sector_of(along_y, along_x) -> np.ndarray:
    """``floor((arctan2(y, x) + pi) / (2 pi) SECTORS) % SECTORS`` of the offsets (int64)."""
    angle = np.arctan2(along_y, along_x)
    return np.floor((angle + np.pi) / (2 * np.pi) * SECTORS).astype(np.int64) % SECTORS


def square_distances(along_y, along_x, on_pixel: bool, keep=None) -> np.ndarray:
    """``np.hypot`` of each blob's offsets, ``(n, side * side)`` (rows of the squares, row-major),
    or of the pixels ``keep`` of each square, ``(n, len(keep))``.

    Parameters
    ----------
    along_y, along_x : numpy.ndarray
        ``(n, side, 1)`` row and ``(n, 1, side)`` column offsets from each blob's centre.
    on_pixel : bool
        Every centre lies on a pixel: the offsets are the same integers for every blob, and
        one table serves them all (a read-only view).
    keep : numpy.ndarray, optional
        Ascending flat (row-major) indices into a square.
    """
    blobs, side = along_y.shape[0], along_y.shape[1]
    if on_pixel and blobs:
        table = np.hypot(along_y[0], along_x[0]).reshape(-1)
        table = table if keep is None else table[keep]
        return np.broadcast_to(table, (blobs, len(table)))
    if keep is None:
        return np.hypot(along_y, along_x).reshape(blobs, -1)
    grid_y, grid_x = np.divmod(np.asarray(keep), side)
    return np.hypot(
        np.take(along_y[:, :, 0], grid_y, axis=1), np.take(along_x[:, 0], grid_x, axis=1)
    )


def square_sectors(along_y, along_x, inside, centre_offset) -> np.ndarray:
    """:func:`sector_of` the offsets of the pixels ``inside`` each blob's square (row-major,
    as ``along_y`` and ``along_x`` broadcast against each other index them): the same numbers.

    The offsets of a blob are integers less its centre's sub-pixel offset ``(fy, fx)``. Where
    none of ``fy``, ``fx``, ``fy - fx``, ``fy + fx`` is near an integer, no pixel lies near
    an octant's edge (``y = 0``, ``x = 0``, ``|y| = |x|``), and the octant (the signs and
    which of ``|y|``, ``|x|`` is larger) is the sector. A centre on a pixel takes a table of
    its group's integer offsets; any other blob (a centre on a diagonal between pixels) the
    arc tangent.

    Parameters
    ----------
    along_y, along_x : numpy.ndarray
        ``(n, side, 1)`` and ``(n, 1, side)`` offsets from the blobs' centres.
    inside : numpy.ndarray of bool
        ``(n, side, side)`` the pixels asked about.
    centre_offset : numpy.ndarray
        ``(n, 2)`` each centre less the pixel its square is built on.

    Returns
    -------
    numpy.ndarray
        The sectors (int64) of the ``inside`` pixels.
    """
    blobs = along_y.shape[0]
    square = (blobs, along_y.shape[1], along_x.shape[2])
    if SECTORS != 8 or not blobs:
        return sector_of(
            np.broadcast_to(along_y, square)[inside], np.broadcast_to(along_x, square)[inside]
        )
    fy, fx = centre_offset[:, 0], centre_offset[:, 1]

    def clear(value):
        return np.abs(value - np.rint(value)) > EDGE_MARGIN

    octant = clear(fy) & clear(fx) & clear(fy - fx) & clear(fy + fx)
    on_pixel = ~(fy.astype(bool) | fx.astype(bool))
    code = (
        ((along_y < 0) * np.int8(4)).astype(np.int8) + ((along_x < 0) * np.int8(2)).astype(np.int8)
    ) + (np.abs(along_y) < np.abs(along_x))
    sectors = OCTANT_SECTORS[code]
    if on_pixel.any():
        first = int(np.flatnonzero(on_pixel)[0])
        sectors[on_pixel] = sector_of(along_y[first], along_x[first])
    rest = ~(octant | on_pixel)
    if rest.any():
        sectors[rest] = sector_of(along_y[rest], along_x[rest])
    return sectors[inside].astype(np.int64)


__all__ = ["sector_of", "square_distances", "square_sectors"]
