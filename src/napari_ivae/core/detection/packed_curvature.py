"""A packed layer whose gaps the level cut cannot keep: its phases cut on the curvature.

:func:`~napari_ivae.core.detection.packed.packed_phase` cuts the smoothed frame at one level.
Where the gaps between touching particles are narrower than the blur (an in-situ film
under liquid: 0.5-1.5 px gaps after a 1.2 px blur keep a fifth to half of the particles'
contrast), no level keeps them whole and the particles apart: the particles' phase
percolates, or the gaps break into pockets. A gap is a ridge whatever its level, and the
particles' interiors curve the other way: cut on the Hessian's eigenvalue across a gap
(the smaller one for dark particles, where the gaps are bright ridges; the larger one for
bright particles), the slow background (a liquid's thickness) drops out and the gaps stay
a network. The same layer tests then run on it (:func:`curvature_layer`), and one more
(:func:`regular_layer`): noise and a texture cut on their curvature give pieces as compact
as particles, and touching random particles a network of gaps, but neither surrounds its
pieces with neighbours as a layer does.
"""

from __future__ import annotations

import numpy as np

CURVATURE_SIGMAS = (3.0, 4.5)  # the Hessian's scales tried, smallest first (px)
LAYER_NEIGHBOURS = 5  # a layer's median particle: at least this many of its hex six near it


def curvature_field(frame: np.ndarray, sigma: float, name: str) -> np.ndarray:
    """The Hessian eigenvalue of ``frame`` smoothed by ``sigma`` px that is lowest inside
    ``name``'s particles and highest on their gaps: minus the smaller eigenvalue for dark
    particles (their gaps bright ridges), the larger one for bright particles."""
    return _polarity_field(_hessian_parts(frame, sigma), name)


def _hessian_parts(frame: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """The mean of the Hessian's eigenvalues of ``frame`` smoothed by ``sigma`` px and half
    their difference: both polarities' :func:`curvature_field` from one Hessian."""
    from napari_ivae.core.detection._filters import gaussian_smooth

    smooth = gaussian_smooth(frame, sigma)
    along_rows = np.gradient(smooth, axis=0)
    rows = np.gradient(along_rows, axis=0)
    cols = np.gradient(np.gradient(smooth, axis=1), axis=1)
    cross = np.gradient(along_rows, axis=1)
    half = 0.5 * (rows + cols)
    root = np.sqrt(0.25 * (rows - cols) ** 2 + cross**2)
    return half, root


def _polarity_field(parts: tuple[np.ndarray, np.ndarray], name: str) -> np.ndarray:
    half, root = parts
    return -(half - root) if name == "dark" else half + root


def curvature_layer(frame: np.ndarray, use: np.ndarray) -> tuple[str, float, float] | None:
    """:func:`~napari_ivae.core.detection.packed.packed_phase`'s layer found on the
    :func:`curvature_field` at the smallest of ``CURVATURE_SIGMAS`` where one is, or None.

    The particles are the field's low phase (both polarities are tried), and the layer must
    be :func:`regular_layer` besides. The smallest scale first: the least smoothing that
    keeps the gaps' ridges above the noise (a film of Au discs, radius 8-11 px, gaps of
    0.5-1.5 px, 8-20 counts a pixel: no layer at 2 px, one at 3 and 4.5 px).
    """
    from napari_ivae.core.detection.packed import _layer_phase

    for sigma in CURVATURE_SIGMAS:
        parts = _hessian_parts(frame, sigma)
        for name in ("dark", "bright"):
            found = _layer_phase(_polarity_field(parts, name), use, ("dark",), True)
            if found is not None:
                return name, found[1], found[2]
    return None


def regular_layer(centres: np.ndarray) -> bool:
    """Whether the median of ``centres`` has at least ``LAYER_NEIGHBOURS`` others within
    ``LAYER_REACH`` x the median nearest-neighbour distance.

    In a packed layer each particle is ringed by its neighbours: six on a hexagonal lattice,
    all at about the nearest-neighbour distance (the next ring at sqrt 3 x that, beyond the
    reach), five where one is missing. Particles that merely touch at random, noise and
    textures cut on their curvature leave most of that ring empty. Measured (the curvature
    phases at 1.5-6 px): in-situ Au films 5-6; touching random particles (400 of radius 7 px
    on 384 px, a 0.42 cover) 1-4; white, 1/f and Poisson noise 1-2; a monolayer's gaps taken
    for the particles 1-3.
    """
    from scipy.spatial import cKDTree

    from napari_ivae.core.detection.packed import LAYER_REACH

    if len(centres) < LAYER_NEIGHBOURS + 1:
        return False
    tree = cKDTree(np.asarray(centres, dtype=np.float64))
    reach = LAYER_REACH * float(np.median(tree.query(centres, k=2)[0][:, 1]))
    near = tree.query_ball_point(centres, reach, return_length=True) - 1
    return bool(np.median(near) >= LAYER_NEIGHBOURS)
