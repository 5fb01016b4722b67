"""The automatic patch size: two spacings (the spacing measured from the points or the image),
or for particles two of their measured diameters when that is smaller."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from napari_ivae.core.validation import MIN_PATCH_SIZE

DEFAULT_PATCH_SIZE = 32  # px, when no spacing is known
PARTICLE_DIAMETERS = 2  # a particle's patch: this many of its median diameters, at most 2 spacings

#: columns that measure a particle's size, in the order read, with the factor to a diameter
#: (None: an area, the diameter of a disc of that area)
_SIZE_COLUMNS = (
    ("equivalent_diameter", 1.0),
    ("diameter", 1.0),
    ("radius", 2.0),
    ("area", None),
)


def _as_diameter(values, factor):
    """Sizes read from a :data:`_SIZE_COLUMNS` column as diameters (px)."""
    return 2 * np.sqrt(values / np.pi) if factor is None else factor * values


def auto_patch_size(spacing: float | None, diameter: float | None = None) -> int:
    """Patch side for a spacing and, for particles, their median diameter.

    Two spacings (one shell of neighbours), or :data:`PARTICLE_DIAMETERS` diameters when a
    diameter is given and that is smaller (sparse particles: the particle and a margin of half
    its diameter around it, not a patch that reaches to the neighbours far away); even, at
    least :data:`~napari_ivae.core.validation.MIN_PATCH_SIZE`.
    :data:`DEFAULT_PATCH_SIZE` when neither is known.
    """
    return AutoSize(spacing, diameter).size


@dataclass(frozen=True)
class AutoSize:
    """The automatic patch size and what it was taken from.

    Attributes
    ----------
    spacing : float or None
        Distance between neighbouring points (or the lattice spacing), px.
    diameter : float or None
        The particles' median diameter, px (None for atoms and points without one).
    """

    spacing: float | None
    diameter: float | None = None

    @property
    def by_diameter(self) -> bool:
        """True when the particles' diameter sets the size (smaller than two spacings)."""
        if not self.diameter:
            return False
        spacing_size = self._spacing_size()
        return spacing_size is None or self._diameter_size() < spacing_size

    @property
    def size(self) -> int:
        """The patch side, px."""
        if self.by_diameter:
            return self._diameter_size()
        return self._spacing_size() or DEFAULT_PATCH_SIZE

    def _spacing_size(self) -> int | None:
        if not self.spacing:
            return None
        return int(max(MIN_PATCH_SIZE, 2 * round(self.spacing)))

    def _diameter_size(self) -> int:
        assert self.diameter is not None
        return int(max(MIN_PATCH_SIZE, 2 * round(PARTICLE_DIAMETERS * self.diameter / 2)))

    @property
    def basis(self) -> float | None:
        """The length the size is a multiple of (the diameter or the spacing), or None."""
        return self.diameter if self.by_diameter else self.spacing

    def reason(self) -> str:
        """The size's origin in words: '2 x particle diameter 19.3 px', 'two spacings of
        10.0 px', or '' when neither is known."""
        if self.by_diameter:
            return f"{PARTICLE_DIAMETERS} x particle diameter {self.diameter:.1f} px"
        if not self.spacing:
            return ""
        return f"two spacings of {self.spacing:.1f} px"


def particle_diameter(table) -> tuple[float, str] | None:
    """The particles' median diameter from a points table's measured sizes, and the column.

    Parameters
    ----------
    table : pandas.DataFrame or mapping of column name to values
        The points' table (napari's ``features``, a CSV read by ``read_points_csv``). The first
        of ``equivalent_diameter`` (what Detect writes for particles), ``diameter``, ``radius``
        (x 2) or ``area`` (the diameter of a disc of that area) with positive finite values is
        used; names are matched without regard to case.

    Returns
    -------
    (float, str) or None
        The median diameter in pixels and the column it was read from; None when no column
        measures a size (atoms, points from elsewhere).
    """
    if table is None:
        return None
    names = {str(name).lower(): name for name in table}
    for key, factor in _SIZE_COLUMNS:
        if key not in names:
            continue
        try:
            values = np.asarray(table[names[key]], dtype=np.float64)
        except (TypeError, ValueError):
            continue
        values = values[np.isfinite(values) & (values > 0)]
        if not len(values):
            continue
        median = float(np.median(values))
        return float(_as_diameter(median, factor)), str(names[key])
    return None


def point_diameters(table) -> np.ndarray | None:
    """Each point's particle diameter (px), from the column :func:`particle_diameter` reads;
    a point whose value is missing, not positive or not finite gets the median diameter.

    Returns
    -------
    (N,) float64 array or None
        One diameter per row of ``table``; None when no column measures a size (atoms).
    """
    measured = particle_diameter(table)
    if measured is None:
        return None
    median, column = measured
    factor = dict(_SIZE_COLUMNS)[column.lower()]
    values = np.asarray(table[column], dtype=np.float64)
    good = np.isfinite(values) & (values > 0)
    return np.where(good, _as_diameter(np.where(good, values, 0.0), factor), median)


def patch_diameters(table, indices) -> np.ndarray | None:
    """:func:`point_diameters` of the points a patch set kept (its ``indices``, rows of
    ``table``), in the patches' order; None for points that carry no size."""
    diameters = point_diameters(table)
    if diameters is None:
        return None
    return diameters[np.asarray(indices, dtype=np.int64)]


def median_particle_diameter(table) -> float | None:
    """The particles' median diameter in pixels (:func:`particle_diameter` without the
    column's name), or None for points that carry no size (atoms)."""
    measured = particle_diameter(table)
    return None if measured is None else measured[0]


def points_spacing(coords) -> float | None:
    """Median nearest-neighbour distance of points.

    Parameters
    ----------
    coords : (N, 2) or (N, D) array
        ``(row, col)``, or leading columns naming a frame (``frame, row, col``): neighbours
        are then looked for within each frame (the same atoms in every frame of a stack would
        otherwise be each other's neighbours at distance 0).

    Returns
    -------
    float or None
        None with fewer than 2 points in every frame, or when the distance is 0.
    """
    from scipy.spatial import cKDTree

    coords = np.asarray(coords, dtype=np.float64)
    if coords.ndim != 2 or len(coords) < 2:
        return None
    frames = np.round(coords[:, :-2])
    nearest = []
    for frame in np.unique(frames, axis=0):
        points = coords[np.all(frames == frame, axis=1), -2:]
        if len(points) >= 2:
            nearest.append(cKDTree(points).query(points, k=2)[0][:, 1])
    if not nearest:
        return None
    spacing = float(np.median(np.concatenate(nearest)))
    return spacing if spacing > 0 else None
