"""What a first detection pass tells about the atoms: their separation and their width.

The autocorrelation gives the lattice's periodicity, but not always the distance between
neighbouring atoms: at low dose only the first-order Bragg peaks stand out of the noise, and
their autocorrelation repeats with the lattice constant, not with the separation of the two
atoms of a honeycomb cell. Nor does it give the atoms' width, which decides how much smoothing
a noisy image needs (the filter that best tells an atom from noise is one of the atom's own
width, the matched filter). Both follow from the atoms themselves: a first pass with the
lattice-based parameters finds them, then

* their median nearest-neighbour distance is the atom separation;
* the mean profile of the strongest of them (windows at their integer positions, averaged)
  falls to half its height at a radius that gives the width (a Gaussian's
  ``sigma = r_half / 1.1774``).

When the image shows no periodicity at all (isolated atoms, a small cluster, an amorphous
film), :func:`blob_scale` gives a starting scale from the scale-normalised Laplacian of
Gaussian instead. :func:`atom_polarity` tells dark atoms (annular bright field) from bright ones.
"""

from __future__ import annotations

import numpy as np

MIN_ATOMS = 20  # fewer found atoms say nothing reliable about the geometry
SEPARATION_RATIO = 0.85  # a nearest-neighbour distance this much below the estimate replaces it
KEPT_AT_SPACING = 0.2  # ... unless this share of the atoms still has its nearest at the estimate
SHARED = 0.75  # ... and less than this share has its nearest within 15 % of the separation
SIGMA_RANGE = (0.1, 0.15)  # smoothing in spacings: atom width, clipped to this range
PROFILE_ATOMS = 400  # the strongest atoms averaged into the mean profile
DARK_RATIO = 1.5  # dark/bright blob strength from which atoms are called dark (see atom_polarity)
BLOB_SLOW = 4.0  # blob_scale's noise: variation slower than this many times its largest scale off
BLOB_SEED = 20261204  # fixed: the same frame always gets the same blob scale
BLOB_SIDE = 512  # ... whose noise share is measured on a central crop at most this large
BLOB_BLOCK = 16  # ... from its pixels shuffled within blocks this large


def first_pass_geometry(
    frame: np.ndarray, points: np.ndarray, prominence: np.ndarray, spacing: float
) -> dict:
    """Atom separation and width measured from a first pass's atoms.

    Parameters
    ----------
    frame : numpy.ndarray
        The 2D frame.
    points : numpy.ndarray
        ``(N, 2)`` (row, col) atoms found with the lattice-based parameters.
    prominence : numpy.ndarray
        Their local contrast (the strongest give the profile).
    spacing : float
        The spacing used for the first pass (pixels).

    Returns
    -------
    dict
        ``separation`` (median nearest-neighbour distance, or ``None`` with fewer than
        ``MIN_ATOMS`` atoms), ``at_spacing`` and ``shared`` (the shares of atoms whose
        nearest neighbour lies within 15 % of ``spacing`` and of the separation) and
        ``width`` (Gaussian sigma in pixels, or ``None``).
    """
    from scipy.spatial import cKDTree

    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(points) < MIN_ATOMS:
        return {"separation": None, "at_spacing": None, "shared": None, "width": None}
    distances = cKDTree(points).query(points, k=2)[0][:, 1]
    separation = float(np.median(distances))
    strongest = points[np.argsort(-np.asarray(prominence))[:PROFILE_ATOMS]]
    return {
        "separation": separation,
        "at_spacing": float(np.mean(np.abs(distances - spacing) <= 0.15 * spacing)),
        "shared": float(np.mean(np.abs(distances - separation) <= 0.15 * separation)),
        "width": atom_width(frame, strongest, spacing),
    }


def atom_width(frame: np.ndarray, points: np.ndarray, spacing: float) -> float | None:
    """Gaussian sigma (pixels) of the mean atom profile around ``points``.

    The profile is the radial mean of the average window, less its value at half a spacing
    (between atoms); ``None`` when it has no clear peak.
    """
    radius = max(2, int(np.ceil(0.5 * spacing)))
    centres = np.rint(points).astype(np.int64)
    inside = (
        (centres[:, 0] >= radius)
        & (centres[:, 0] < frame.shape[0] - radius)
        & (centres[:, 1] >= radius)
        & (centres[:, 1] < frame.shape[1] - radius)
    )
    centres = centres[inside]
    if len(centres) < MIN_ATOMS // 2:
        return None
    offsets = np.arange(-radius, radius + 1)
    rows = centres[:, 0, None, None] + offsets[None, :, None]
    cols = centres[:, 1, None, None] + offsets[None, None, :]
    mean = np.asarray(frame, dtype=np.float64)[rows, cols].mean(axis=0)
    distance = np.hypot(*np.meshgrid(offsets, offsets, indexing="ij"))
    ring = np.rint(distance).astype(np.int64)
    profile = np.bincount(ring.ravel(), mean.ravel()) / np.bincount(ring.ravel())
    profile = profile[: radius + 1] - profile[radius]
    if not profile[0] > 0:
        return None
    below = np.flatnonzero(profile < 0.5 * profile[0])
    if len(below) == 0:
        return None
    k = int(below[0])  # first radius below half height: interpolate the crossing
    r_half = (k - 1) + (profile[k - 1] - 0.5 * profile[0]) / (profile[k - 1] - profile[k])
    # integer window positions blur the mean profile by a uniform +-0.5 px (variance 1/12
    # per axis); take that out
    sigma = np.sqrt(max((r_half / 1.1774) ** 2 - 1.0 / 12.0, 0.25))
    return float(sigma)


def second_pass_spacing(lattice_spacing: float, geometry: dict) -> float:
    """The atom separation when the first pass found atoms closer than the lattice estimate
    (a cell with several atoms), else the lattice estimate.

    A cell with several atoms gives every atom a neighbour closer than the lattice spacing,
    at a distance most of them share. When a share ``KEPT_AT_SPACING`` of the atoms still has
    its nearest neighbour at the spacing and the closer distances are spread (less than
    ``SHARED`` of the atoms within 15 % of their median), the median is set by noise peaks
    between the atoms and by the scatter of noisy positions (the nearest of six jittered
    neighbours is closer than their mean), not by the structure, and the estimate stays."""
    separation = geometry["separation"]
    if noise_spread(geometry):
        return lattice_spacing
    if separation is not None and 0.45 * lattice_spacing < separation < (
        SEPARATION_RATIO * lattice_spacing
    ):
        return separation
    return lattice_spacing


def noise_spread(geometry: dict) -> bool:
    """Whether a first pass's closer nearest distances are noise's (see
    :func:`second_pass_spacing`): a share ``KEPT_AT_SPACING`` of its atoms keeps its nearest
    at the spacing and less than ``SHARED`` of them lie within 15 % of the median."""
    at_spacing, shared = geometry.get("at_spacing"), geometry.get("shared")
    return (
        at_spacing is not None
        and shared is not None
        and at_spacing >= KEPT_AT_SPACING
        and shared < SHARED
    )


def smoothing_for(spacing: float, width: float | None) -> float:
    """Smoothing sigma: the atom width (matched filter), within ``SIGMA_RANGE`` spacings."""
    low, high = SIGMA_RANGE[0] * spacing, SIGMA_RANGE[1] * spacing
    return low if width is None else float(np.clip(width, low, high))


def atom_polarity(frame: np.ndarray, spacing: float) -> tuple[str, float]:
    """Whether the atoms are bright (HAADF) or dark (ABF, bright-field) peaks.

    At the atom scale (a LoG of 0.2 spacings), the strongest bright and the strongest dark
    responses (as many as atoms could fill 30 % of the frame) are compared, each over the
    response's robust spread. Gaussian atoms on synthetic lattices give a dark/bright ratio
    of at most 0.5 when bright and at least 2 when dark; a near-sinusoidal lattice (STM,
    HRTEM) is both and stays "bright" unless the dark side wins by ``DARK_RATIO``.

    Returns
    -------
    (str, float)
        ``"bright"`` or ``"dark"`` and the dark/bright ratio.
    """
    from napari_ivae.core.detection.particle_scale_space import scale_space

    sigma = max(1.0, 0.2 * spacing)
    values = scale_space(np.asarray(frame, dtype=np.float32), [sigma])[0].ravel()
    spread = 1.4826 * np.median(np.abs(values - np.median(values)))
    count = min(values.size // 2, max(4, int(0.3 * values.size / (np.pi * (2 * sigma) ** 2))))
    ends = np.partition(values, [count, values.size - count])
    bright, dark = ends[-count:].mean(), -ends[:count].mean()
    if not (spread > 0 and bright > 0):
        return "bright", 0.0
    ratio = float(dark / bright)
    return ("dark" if ratio >= DARK_RATIO else "bright"), ratio


def blob_scale(frame: np.ndarray, noisy_limit: float | None = None) -> float:
    """Sigma (pixels) of the blobs that dominate a frame, from the scale-normalised LoG.

    For each scale, the mean of the strongest responses (as many as blobs of that scale could
    fill a tenth of the frame) of ``-sigma^2 LoG`` on bright features; the scale where that
    mean peaks is the blobs' sigma. Where it peaks at the smallest scale searched, the pixel
    noise may be what peaks there (its response falls as ``1 / sigma``: at under a count per
    pixel at an atom, the single counts are the frame's strongest "blobs"). With a
    ``noisy_limit``, the same means on the frame's own pixels shuffled within blocks of
    ``BLOB_BLOCK`` pixels are then taken off each scale's (both with the frame's slow
    variation taken off, on a central crop of at most ``BLOB_SIDE`` pixels), and the scale up
    to ``noisy_limit`` where the rest peaks is the blobs' (at that limit, no peak: the
    smallest scale stays, as for noise alone).
    """
    frame = np.asarray(frame, dtype=np.float32)
    scales = np.geomspace(1.0, max(1.5, min(frame.shape) / 16.0), 16)
    strengths = _log_strengths(frame, scales)
    best = int(np.argmax(strengths))
    if best == 0 and noisy_limit is not None:
        from napari_ivae.core.detection._filters import smooth_background

        window = tuple(slice(max((n - BLOB_SIDE) // 2, 0), None) for n in frame.shape)
        crop = frame[window][:BLOB_SIDE, :BLOB_SIDE]
        residual = crop - smooth_background(crop, BLOB_SLOW * scales[-1])
        scales = scales[: max(1, int(np.searchsorted(scales, noisy_limit, side="right")))]
        noise = _log_strengths(_block_shuffled(residual, BLOB_BLOCK), scales)
        best = int(np.argmax(_log_strengths(residual, scales) - noise))
        if best == len(scales) - 1:  # no peak within the range: no blob scale stands out
            best = 0
    return float(scales[best])


def _block_shuffled(frame: np.ndarray, block: int) -> np.ndarray:
    """``frame`` with its pixels shuffled within square blocks of ``block`` pixels (the
    noise keeps its local level: Poisson counts under a gradient); a rest at the far edges
    is shuffled within its strips."""
    rng = np.random.default_rng(BLOB_SEED)
    out = np.array(frame, dtype=np.float32, copy=True)
    for r in range(0, out.shape[0], block):
        for c in range(0, out.shape[1], block):
            tile = out[r : r + block, c : c + block]
            tile[...] = rng.permutation(tile.ravel()).reshape(tile.shape)
    return out


def _log_strengths(frame: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """:func:`blob_scale`'s means of the strongest responses, one per scale.

    The responses come from one Fourier transform of the frame (:func:`scale_responses`),
    whose cost does not grow with the scale: spatial kernels of 8 sigma up to a sixteenth of
    the frame took 290 s on a 4096² cryo-EM micrograph."""
    from napari_ivae.core.detection.particle_scale_space import scale_responses

    frame = frame - float(np.median(frame))
    strengths = []
    for sigma, response in zip(scales, scale_responses(frame, scales)):
        count = max(4, int(0.1 * frame.size / (np.pi * (2 * sigma) ** 2)))
        strengths.append(np.partition(response.ravel(), -count)[-count:].mean(dtype=np.float64))
    return np.asarray(strengths)


__all__ = [
    "atom_polarity",
    "atom_width",
    "blob_scale",
    "first_pass_geometry",
    "noise_spread",
    "second_pass_spacing",
    "smoothing_for",
]
