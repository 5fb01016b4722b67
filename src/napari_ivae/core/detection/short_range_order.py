"""A frame's short-range order without a lattice: a ring in its power spectrum.

An amorphous network (2D silica, a continuous random network of carbon), a strained or
polycrystalline frame of grains a few nanometres wide, or a glassy packing of columns has no
Bragg spot, so :mod:`~napari_ivae.core.detection.spacing` finds no lattice. Its atoms still keep
each other at a distance: their pair distribution has an empty core and a first shell, and so
the spectrum (its Fourier transform) rises from a dip at low frequency to a ring at the shell's
period before it falls to the noise's flat floor. Noise, a gradient under counts and an
amorphous film of atoms at random places (which overlap: no distance is preferred) have no
ring: their spectrum only falls, from the slow variation down to the floor (measured on the 60
atom frames of ``benchmarks/empty_frames.py``: a rise of at most 1.35 over the dip where the
spectrum is above 4 times its floor, at most 2.2 where it is at the floor; the amorphous
network of ``12028.npy``: 3.4, at 39 times the floor).

The ring's period is a length of the structure (for a honeycomb network, 1.5 bonds; for a
glassy packing, about 0.9 of the nearest-neighbour distance; with an atom on every bond, three
bonds); the detector's first pass then measures the atoms' separation from it
(:mod:`~napari_ivae.core.detection.atom_defaults`).
"""

from __future__ import annotations

import numpy as np

MAX_SIDE = 512  # the spectrum is taken on a central square crop at most this large
MIN_PERIODS = 3  # the ring's period is at most the crop's side over this
POOL = 0.1  # each frequency's power is pooled over +-this fraction of it (at least one bin)
FLOOR_FROM = 0.8  # the floor: the median pooled power above this fraction of Nyquist
MIN_RISE = 2.0  # the ring's power over the lowest power between it and the slow variation
MIN_ABOVE_FLOOR = 4.0  # ... and over the noise's floor
MIN_Z = 5.0  # ... and the rise in spreads of the two pooled powers (log scale)
# ... and at least this much of the strongest pooled power below it: a structure's ring tops the
# spectrum (networks: 1.0-1.5 of it), the side lobe of a sharp-edged spot's Airy pattern is
# under 2 % of its main lobe (40 random discs: 0.015)
MIN_OVER_SLOWER = 0.3


def ring_period(frame: np.ndarray) -> float | None:
    """The period (pixels) of the ring in the frame's power spectrum, or ``None`` without one.

    Parameters
    ----------
    frame : numpy.ndarray
        The 2D frame (its central square crop of at most ``MAX_SIDE`` pixels is used).

    Returns
    -------
    float or None
        The crop's side over the ring's frequency (in cycles per side): the strongest pooled
        power that rises ``MIN_RISE`` times and ``MIN_Z`` spreads over the dip below it
        (:func:`_rise_over_dip`), ``MIN_ABOVE_FLOOR`` times over the floor, and is at least
        ``MIN_OVER_SLOWER`` of every pooled power below it; ``None`` when no frequency does.
    """
    return _period(ring_measures(frame))


def faint_ring_period(frame: np.ndarray) -> float | None:
    """The period (pixels) of a ring that passes every test of :func:`ring_period` but the
    floor's: one that rises over the dip below it as surely, but by less than
    ``MIN_ABOVE_FLOOR`` over the noise's floor (a polycrystal or a network at a fraction of a
    count per atom); ``None`` without one. No frame of noise, film, gradient or scan lines
    makes one (the 60 atom frames of ``benchmarks/empty_frames.py``, with no floor test at
    all), but it is too faint for the first pass to measure the atoms' separation from.
    """
    return ring_periods(frame)[1]


def ring_periods(frame: np.ndarray) -> tuple[float | None, float | None]:
    """:func:`ring_period` and :func:`faint_ring_period` from one spectrum of ``frame``."""
    ring, faint = _accepted_rings(frame)
    return _period(ring), _period(faint)


def ring_measures(frame: np.ndarray) -> dict | None:
    """:func:`ring_period`'s measures: ``period``, ``rise``, ``above_floor`` and ``z`` of the
    ring it accepts, ``None`` when the frame is too small or none passes."""
    return _accepted_rings(frame)[0]


def _accepted_rings(frame: np.ndarray) -> tuple[dict | None, dict | None]:
    """The measures of the ring :func:`ring_period` accepts and of the one it would accept
    without the floor's test (:func:`faint_ring_period`), each ``None`` without one."""
    power, samples, side = radial_power(frame)
    if side < 8 * MIN_PERIODS:
        return None, None
    pooled, counts = _pooled(power, samples)
    top = len(pooled)
    floor = float(np.median(pooled[int(FLOOR_FROM * top) :]))
    if not floor > 0:
        return None, None
    best, best_faint = None, None
    for k in range(MIN_PERIODS + 1, int(FLOOR_FROM * top)):
        rise, z = _rise_over_dip(pooled, counts, k)
        above = pooled[k] / floor
        tops = pooled[k] >= MIN_OVER_SLOWER * float(np.max(pooled[MIN_PERIODS:k]))
        if not (rise >= MIN_RISE and z >= MIN_Z and tops):
            continue
        found = (pooled[k], k, rise, above, z)
        if best_faint is None or pooled[k] > best_faint[0]:
            best_faint = found
        if above >= MIN_ABOVE_FLOOR and (best is None or pooled[k] > best[0]):
            best = found
    return _measures(best, side), _measures(best_faint, side)


def _period(found: dict | None) -> float | None:
    return None if found is None else found["period"]


def _measures(found: tuple | None, side: int) -> dict | None:
    if found is None:
        return None
    _, k, rise, above, z = found
    return {"period": side / k, "rise": float(rise), "above_floor": float(above), "z": float(z)}


def _rise_over_dip(pooled: np.ndarray, counts: np.ndarray, k: int) -> tuple[float, float]:
    """The rise of frequency ``k``'s pooled power over a lower frequency's (the dip), and its
    z (in spreads of the two pooled powers' logarithms): of the lower frequencies it rises
    ``MIN_RISE`` times over, the one it rises over most surely; else the lowest power's.

    The lowest pooled power below ``k`` is the noisiest one where the spectrum is flat (the
    noise's floor under a low dose: the few samples of the lowest rings), and its z then fails
    a ring that stands as far over dozens of better-sampled rings.
    """
    lower = pooled[MIN_PERIODS:k]
    rise = pooled[k] / np.maximum(lower, 1e-300)
    z = np.log(rise) / np.sqrt(1.0 / counts[k] + 1.0 / counts[MIN_PERIODS:k])
    risen = rise >= MIN_RISE
    dip = int(np.argmax(np.where(risen, z, -np.inf))) if risen.any() else int(np.argmax(rise))
    return float(rise[dip]), float(z[dip])


def radial_power(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Mean power per integer frequency (cycles per side) of the central square crop, less its
    mean, up to Nyquist; the axes (the crop's edges and scan lines put their power there) are
    left out. Returns the means, the samples in each and the crop's side."""
    frame = np.asarray(frame, dtype=np.float64)
    side = int(min(MAX_SIDE, *frame.shape))
    starts = [(n - side) // 2 for n in frame.shape]
    crop = frame[starts[0] : starts[0] + side, starts[1] : starts[1] + side]
    power = np.abs(np.fft.rfft2(crop - crop.mean())) ** 2
    rows = np.fft.fftfreq(side) * side
    cols = np.fft.rfftfreq(side) * side
    off_axes = (np.abs(rows)[:, None] > 1.5) & (np.abs(cols)[None, :] > 1.5)
    radius = np.rint(np.hypot(rows[:, None], cols[None, :])).astype(np.int64)[off_axes]
    samples = np.bincount(radius, minlength=side)[: side // 2]
    sums = np.bincount(radius, power[off_axes], minlength=side)[: side // 2]
    return sums / np.maximum(samples, 1), samples, side


def _pooled(power: np.ndarray, samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each frequency's mean power over +-``POOL`` of it (a ring is that wide), and the
    samples behind it."""
    pooled, counts = np.zeros(len(power)), np.zeros(len(power))
    for k in range(1, len(power)):
        half = max(1, int(round(POOL * k)))
        window = slice(max(k - half, 1), min(k + half + 1, len(power)))
        counts[k] = samples[window].sum()
        pooled[k] = (power[window] * samples[window]).sum() / max(counts[k], 1.0)
    return pooled, np.maximum(counts, 1.0)


__all__ = ["faint_ring_period", "radial_power", "ring_measures", "ring_period", "ring_periods"]
