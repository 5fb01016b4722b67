"""The lattice's periodic part of a frame: the dark/bright call where the frame's blobs tie.

:func:`~napari_ivae.core.detection.atom_geometry.atom_polarity` compares the strongest dark and
bright blobs of the whole frame. Where a crystal lies on a textured support (a particle on
amorphous carbon in HRTEM, whose columns are dark at Scherzer defocus) the support's blobs are
as strong on both sides and the ratio stays near 1 whatever the columns' sign. The same ratio
read on the lattice's periodic part (the frame kept at its reciprocal lattice only: the
unit cell's average, repeated) sees the columns alone: sharp dark dips on a flat bright
network between them are dark atoms there, bright peaks on a flat dark floor bright ones, and
near-sinusoidal fringes neither.
"""

from __future__ import annotations

import numpy as np

REFLECTION_WIDTH = 1.0 / 16.0  # Gaussian window around each reflection: cycles per spacing
HARMONICS = 2.0  # the reciprocal lattice kept up to this many times its longer basis vector


def periodic_part(frame: np.ndarray, spacing: float) -> np.ndarray | None:
    """The frame kept at its reciprocal lattice only (:func:`lattice_reflections`).

    Parameters
    ----------
    frame : numpy.ndarray
        2D image.
    spacing : float
        Nearest-neighbour distance in pixels.

    Returns
    -------
    numpy.ndarray or None
        The filtered frame (float32, mean 0), or ``None`` when the frame shows no Bragg
        reflection.
    """
    from scipy import fft

    from napari_ivae.core.detection._filters import gaussian_smooth
    from napari_ivae.core.detection.bragg_reflections import bragg_reflections

    frame = np.asarray(frame, dtype=np.float32)
    detail = frame - gaussian_smooth(frame, 0.5 * spacing)
    reflections = bragg_reflections(detail, spacing)
    if len(reflections) == 0:
        return None
    shape = frame.shape
    spectrum = fft.rfft2(detail - float(detail.mean()))
    window = np.zeros(spectrum.shape, dtype=np.float32)
    width = REFLECTION_WIDTH / spacing
    for g in lattice_reflections(reflections):
        # the rfft holds one of g and -g: the half plane of non-negative columns
        g = g if g[1] > 0 or (g[1] == 0 and g[0] >= 0) else -g
        _add_window(window, g, width, shape)
        if g[1] == 0:
            _add_window(window, -g, width, shape)
    np.minimum(window, 1.0, out=window)
    return fft.irfft2(spectrum * window, s=shape).astype(np.float32)


def _add_window(window, g, width, shape) -> None:
    """Add a Gaussian of ``width`` (cycles per pixel) at frequency ``g`` to the rfft-shaped
    ``window``, in a box of 4 widths around it (rows wrap)."""
    reach = 4.0 * width
    rows = np.arange(
        int(np.floor((g[0] - reach) * shape[0])), int(np.ceil((g[0] + reach) * shape[0])) + 1
    )
    cols = np.arange(
        max(int(np.floor((g[1] - reach) * shape[1])), 0),
        min(int(np.ceil((g[1] + reach) * shape[1])), window.shape[1] - 1) + 1,
    )
    if not len(rows) or not len(cols):
        return
    weight = np.exp(
        -((rows[:, None] / shape[0] - g[0]) ** 2 + (cols[None, :] / shape[1] - g[1]) ** 2)
        / (2.0 * width**2)
    ).astype(np.float32)
    window[np.ix_(rows % shape[0], cols)] += weight


def lattice_reflections(reflections: np.ndarray) -> np.ndarray:
    """The reciprocal lattice spanned by the strongest reflection and the strongest one
    independent of it, up to ``HARMONICS`` times the longer (half plane), with the
    reflections found: the harmonics hold the columns' shape, which the first orders alone
    (on a square lattice a sum of cosines, as symmetric as its negative) do not.

    Parameters
    ----------
    reflections : numpy.ndarray
        ``(n, 2)`` Bragg vectors (cycles per pixel), strongest first.

    Returns
    -------
    numpy.ndarray
        ``(m, 2)`` vectors, the reflections first.
    """
    reflections = np.asarray(reflections, dtype=np.float64).reshape(-1, 2)
    first = reflections[0]
    norm = np.hypot(*reflections.T)
    cross = np.abs(first[0] * reflections[:, 1] - first[1] * reflections[:, 0])
    independent = np.flatnonzero(cross > 0.3 * norm[0] * norm)
    if len(independent) == 0:  # one set of fringes: no lattice to repeat
        return reflections
    second = reflections[independent[0]]
    reach = HARMONICS * max(norm[0], norm[independent[0]])
    steps = np.arange(-4, 5)
    h, k = (a.ravel() for a in np.meshgrid(steps, steps))
    combined = h[:, None] * first + k[:, None] * second
    size = np.hypot(*combined.T)
    upper = (combined[:, 0] > 0) | ((combined[:, 0] == 0) & (combined[:, 1] > 0))
    return np.concatenate([reflections, combined[upper & (size > 0) & (size <= reach)]])


def periodic_polarity(frame: np.ndarray, spacing: float) -> tuple[str, float]:
    """:func:`~napari_ivae.core.detection.atom_geometry.atom_polarity` of :func:`periodic_part`
    (``("bright", 0.0)`` when the frame shows no Bragg reflection)."""
    from napari_ivae.core.detection.atom_geometry import atom_polarity

    part = periodic_part(frame, spacing)
    if part is None:
        return "bright", 0.0
    return atom_polarity(part, spacing)


__all__ = ["lattice_reflections", "periodic_part", "periodic_polarity"]
