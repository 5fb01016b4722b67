"""Whether the part judged non-crystalline shows the lattice too: grains of other orientations.

The crystalline region (:mod:`napari_ivae.core.detection.crystal`) is where the image's Bragg
reflections are strong. A polycrystal of small grains at random orientations spreads its power
over many reflections on the same ring (every grain has the same lattice spacing): the few that
stand out belong to a few grains, and the others -- as crystalline, only turned -- fell below the
region's edge. What every grain shares is the ring: the power on it, against the power just
inside and outside it (the diffuse spectrum of noise or an amorphous film, which has no sharp
ring at the lattice's frequency), does not depend on the orientation.

:func:`ring_excess` measures that ring on a part of the frame (the rest set to zero): the
power on the ring over the power beside it, minus one. Lattice power and diffuse power both
grow with the area they cover, so the excess is the crystalline share of the part times the
lattice's contrast: the region's own excess is that contrast with a share of one.
:func:`outside_is_crystal` compares the two parts: the rim of a particle on amorphous carbon or
next to vacuum leaves the outside part 0.2-2 % of the region's excess (a row of columns
beyond the edge); grains of other orientations 50 % and more.
"""

from __future__ import annotations

import numpy as np

# the outside part is crystalline when its ring excess is at least this share of the region's
# (measured: particles on amorphous carbon, vacuum edges, real nanoparticles <= 0.02;
# polycrystals of 2-4 nm grains >= 0.5)
OUTSIDE_SHARE = 0.2
BESIDE = ((0.7, 0.85), (1.2, 1.35))  # the rings beside the lattice's, in units of its radius
MIN_RING_SAMPLES = 8  # a ring closer to the centre has no room beside it
SPOT_BOX = 5  # samples: a grain's Bragg spot is a few wide, the noise's speckle one
SPOT_SHARE = 1.8  # a powder ring's spread (box means) over the median ring's: spots, not speckle
POWDER_REACH = 0.35  # the rings beside a powder ring, as a fraction of its radius


def ring_excess(part: np.ndarray, frequency: float) -> float:
    """Power on the ring of ``frequency`` over the power beside it, minus one.

    Parameters
    ----------
    part : numpy.ndarray
        2D image, zero where it is not part of the measurement (background removed).
    frequency : float
        The lattice ring's radius in cycles per pixel.

    Returns
    -------
    float
        ``nan`` when the ring lies too close to the centre of the spectrum or beyond its edge.
    """
    from scipy import fft

    power = np.abs(fft.fft2(np.asarray(part, dtype=np.float64), workers=1)) ** 2
    n = max(part.shape)
    radius = np.hypot(fft.fftfreq(part.shape[0])[:, None], fft.fftfreq(part.shape[1])[None, :])
    ring = np.rint(radius * n).astype(np.int64).ravel()
    counts = np.bincount(ring)
    profile = np.bincount(ring, power.ravel()) / np.maximum(counts, 1)
    r = frequency * n
    if r < MIN_RING_SAMPLES or BESIDE[1][1] * r >= min(part.shape) / 2:
        return float("nan")
    centre = int(round(r))
    on = profile[centre - 1 : centre + 2].max()  # the ring, within one sample of rounding
    beside = np.concatenate(
        [profile[int(round(lo * r)) : int(round(hi * r)) + 1] for lo, hi in BESIDE]
    )
    return float(on / max(np.median(beside), np.finfo(np.float64).tiny) - 1.0)


def outside_is_crystal(detail, inside, coarse_step, coarse_origin, frequency) -> bool:
    """Whether the part outside ``inside`` shows the lattice's ring about as the region does.

    Parameters
    ----------
    detail : numpy.ndarray
        The background-free image the region was found on.
    inside : numpy.ndarray
        Boolean crystalline region on the coarse grid.
    coarse_step, coarse_origin : tuple of float
        ``detail`` pixels per coarse sample and the ``detail`` position of sample ``(0, 0)``.
    frequency : float
        The strongest reflection's spatial frequency in cycles per ``detail`` pixel.

    Returns
    -------
    bool
        True when the outside part's ring excess is at least ``OUTSIDE_SHARE`` of the region's
        (False when the region shows no ring, or the ring cannot be measured).
    """
    rows, cols = (
        np.clip(np.rint((np.arange(n) - o) / s).astype(int), 0, m - 1)
        for n, o, s, m in zip(detail.shape, coarse_origin, coarse_step, inside.shape)
    )
    inside = inside[np.ix_(rows, cols)]
    region = ring_excess(np.where(inside, detail, 0.0), frequency)
    outside = ring_excess(np.where(inside, 0.0, detail), frequency)
    if not (region > 0 and np.isfinite(outside)):
        return False
    return bool(outside >= OUTSIDE_SHARE * region)


def powder_floor(power: np.ndarray, ring: np.ndarray, floor: np.ndarray, band: np.ndarray):
    """The diffuse floor with each powder ring's taken from the rings beside it.

    Parameters
    ----------
    power : numpy.ndarray
        A periodogram (the real FFT's half plane).
    ring : numpy.ndarray
        Each sample's ring (integer frequency radius), as ``power``.
    floor : numpy.ndarray
        Each sample's ring's diffuse level (its median power over ln 2), as ``power``.
    band : numpy.ndarray
        Boolean, the samples of the frequencies searched: its rings set the reference.

    Returns
    -------
    numpy.ndarray or None
        ``floor`` with every powder ring's level replaced by the median level of the
        non-powder rings within ``POWDER_REACH`` of its radius, where that is lower; ``None``
        when no ring in the band is a powder ring.
    """
    from scipy import ndimage

    smoothed = ndimage.uniform_filter(power, SPOT_BOX, mode=("wrap", "nearest")).ravel()
    index = ring.ravel()
    counts = np.maximum(np.bincount(index), 1)
    mean = np.bincount(index, smoothed) / counts
    spread = np.sqrt(np.maximum(np.bincount(index, smoothed**2) / counts - mean**2, 0.0))
    spots = spread / np.maximum(mean, np.finfo(np.float64).tiny)
    searched = np.unique(index[band.ravel()])
    if len(searched) < 8:
        return None
    powder = np.zeros(len(counts), dtype=bool)
    powder[searched] = spots[searched] > SPOT_SHARE * np.median(spots[searched])
    if not powder.any():
        return None
    levels = np.zeros(len(counts))
    levels[index] = floor.ravel()  # one level per ring
    radii = np.arange(len(counts))
    replaced = levels.copy()
    for r in np.flatnonzero(powder):
        beside = ~powder & (np.abs(radii - r) <= POWDER_REACH * r) & (radii > 0)
        if beside.any():
            replaced[r] = min(levels[r], float(np.median(levels[beside])))
    return replaced[ring]


__all__ = ["outside_is_crystal", "powder_floor", "ring_excess"]
