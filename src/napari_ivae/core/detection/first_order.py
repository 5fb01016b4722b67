"""The autocorrelation a peak is judged on: the cosines that turn at most about once over it.

:mod:`~napari_ivae.core.detection.spacing` finds the lattice in the autocorrelation of the
frequencies that stand out of the diffuse spectrum. A weak periodic interference much finer
than the lattice (a scan's electrical pickup, a period of a few pixels, under a lattice of 20-30
px) stands out too and ripples the autocorrelation: on a broad hump or along a ridge its
ripples are local maxima, and between them dips, that no lattice makes. Whether a maximum at a
lag is resolved from the central peak, and whether it is a maximum at all, is a question for the
components that turn at most about once over that lag (``FIRST_ORDER`` cycles): a lattice with
that lag for its shortest vector has its fundamentals among them, finer components only ripple.
A lag is judged so only where those components hold most of the power and some is finer: where
finer ones hold most, the peak is a finer lattice's own (a harmonic), and where there is nothing
finer, the autocorrelation's own judgement stands.
"""

from __future__ import annotations

import numpy as np

FIRST_ORDER = 1.5  # cycles over the lag: the fundamentals (one), not the second order (two)
RISE = 0.02  # of the zero-lag value: how much higher a point beside a maximum may not be
RIM = 0.75  # of the disc's radius: where the disc's largest value says the maximum is beyond


def components(power: np.ndarray):
    """The autocorrelation's cosines: ``(frequencies (n, 2), weights (n,))`` of the nonzero
    samples of its half-plane spectrum (``power``, laid out as ``rfft2`` gives it; a sample
    between the first and the Nyquist column stands for its mirror image too)."""
    from scipy import fft

    rows, cols = np.nonzero(power)
    width = 2 * (power.shape[1] - 1)  # the frame's width up to parity: only the columns count
    twice = (cols > 0) & (2 * cols != width)
    frequencies = np.stack([fft.fftfreq(power.shape[0])[rows], cols / width], axis=1)
    return frequencies, power[rows, cols] * np.where(twice, 2.0, 1.0)


def dip_ratios(parts, lags: np.ndarray) -> np.ndarray:
    """Each lag's dip on the straight line towards the centre (its smallest value between 0.1
    and 0.9 of the way) over its height, on the autocorrelation of the components that turn
    fewer than ``FIRST_ORDER`` times along it (``|f . lag|``); 1 where that height is not
    positive, -inf where the lag is not judged (:func:`_judged`)."""
    frequencies, weights = parts
    fractions = np.append(np.linspace(0.1, 0.9, 17), 1.0)
    turns = lags @ frequencies.T
    first = np.abs(turns) < FIRST_ORDER
    ratios = np.full(len(lags), -np.inf)
    for index in np.flatnonzero(_judged(first, weights)):
        keep = first[index]
        values = np.cos(2.0 * np.pi * np.outer(fractions, turns[index, keep])) @ weights[keep]
        ratios[index] = values[:-1].min() / values[-1] if values[-1] > 0 else 1.0
    return ratios


def on_slope(parts, lags: np.ndarray, clearance: float, shortest: float) -> np.ndarray:
    """Which lags are no maximum of the autocorrelation of the components shorter than
    ``FIRST_ORDER`` cycles over the lag's length (``|f| |lag|``, in every direction: a ridge's
    ripples lie across it): within ``clearance`` times the lag around it, that autocorrelation
    is largest on the disc's rim (its maximum lies beyond) and there more than ``RISE`` of its
    zero-lag value above the lag's. Lags shorter than ``shortest``, and those not judged
    (:func:`_judged`), are not."""
    frequencies, weights = parts
    grid = np.linspace(-1.0, 1.0, 13)
    disc = np.stack(np.meshgrid(grid, grid, indexing="ij"), axis=-1).reshape(-1, 2)
    disc = disc[np.hypot(*disc.T) <= 1.0]
    rim = np.hypot(*disc.T) > RIM
    lengths = np.hypot(*lags.T)
    first = np.outer(lengths, np.hypot(*frequencies.T)) < FIRST_ORDER
    slope = np.zeros(len(lags), dtype=bool)
    for index in np.flatnonzero(_judged(first, weights) & (lengths >= shortest)):
        keep = first[index]
        points = np.vstack([lags[index], lags[index] + clearance * lengths[index] * disc])
        values = np.cos(2.0 * np.pi * points @ frequencies[keep].T) @ weights[keep]
        best = np.argmax(values[1:])
        slope[index] = rim[best] and values[1 + best] - values[0] > RISE * weights[keep].sum()
    return slope


def _judged(first: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Lags (rows of ``first``, which components are first-order over each) whose first-order
    components hold most of the power while some component is finer."""
    share = (first @ weights) / weights.sum()
    return (share > 0.5) & ~first.all(axis=1)
