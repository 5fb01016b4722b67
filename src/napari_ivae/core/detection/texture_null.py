"""A noise null that keeps the frame's texture: its pixels with their Fourier phases redrawn.

The block shuffle of :mod:`~napari_ivae.core.detection.atom_noise_null` tells white noise from
structure. Noise correlated between pixels is structure to it: an amorphous film (light atoms
at random places, blurred by the probe) or scan-line offsets give blobs that no shuffle of
single pixels makes, and a frame of them kept thousands of "atoms". Where no lattice
periodicity was found, what matters is whether the spots stand out from a *texture* with the
frame's own spectrum. The surrogate here has the frame's power spectrum (the correlation
between pixels, so the film's blob size and density) and the frame's values (Poisson's heavy
tail), with random phases: an iterated amplitude-adjusted Fourier surrogate (IAAFT), which
imposes the spectrum and the values in turn. A film, which is such a texture, has no more
strong spots than its surrogate; separate atoms, each gathering its signal in one place, have
far more than the random phases spread it into.

Not for a lattice: its surrogate (the same Bragg peaks with other phases) is a lattice again,
so the test is only asked where the spacing did not come from a periodicity.
"""

from __future__ import annotations

import numpy as np

MAX_SIDE = 512  # the surrogate is drawn from the frame's central crop this large (speed)
ITERATIONS = 8  # spectrum and values imposed in turn (the spectrum's error settles by then)
SLOW_FRACTION = 8  # variation slower than the crop's side / this is taken off (a gradient)
SEED = 20261203  # fixed: the same image always gets the same answer

_CACHE: list = []  # (frame, masked, surrogate): the scales of one frame share it


def textured_null_frame(frame: np.ndarray, masked, side: int = MAX_SIDE) -> np.ndarray:
    """The frame's central crop (at most ``side``) with its texture's phases redrawn.

    Its slow variation (a gradient, uneven illumination: slower than the crop's side over
    ``SLOW_FRACTION``) is taken off first and the rest divided by its local spread over that
    scale, so the noise keeps its local level (Poisson counts under a gradient) and no edge of
    the periodic transform streaks the surrogate; the spread is put back after.

    Parameters
    ----------
    frame : numpy.ndarray
        The 2D frame.
    masked : numpy.ndarray or None
        Pixels to leave out (flat areas, the excluded mask): replaced by the frame's other
        pixels drawn at random before the spectrum is taken.
    side : int
        The crop's largest side (``MAX_SIDE``: speed); a caller that compares the
        surrogate's strongest spot with spots counted over a larger crop draws it from that
        crop, the same area and content.

    Returns
    -------
    numpy.ndarray
        The surrogate, float32, the crop's shape.
    """
    for held, held_mask, surrogate in _CACHE:
        if held is frame and held_mask is masked and surrogate.size == _crop_size(frame, side):
            return surrogate
    from napari_ivae.core.detection._filters import smooth_background
    from napari_ivae.core.detection.atom_noise_null import filled

    window = tuple(
        slice(max((n - side) // 2, 0), max((n - side) // 2, 0) + side) for n in frame.shape
    )
    crop = filled(frame, masked)[window].astype(np.float64)
    slow = max(min(crop.shape) / SLOW_FRACTION, 4.0)
    residual = crop - smooth_background(crop.astype(np.float32), slow)
    spread = np.sqrt(np.maximum(smooth_background((residual**2).astype(np.float32), slow), 0.0))
    spread = np.maximum(spread, max(float(np.median(spread)), 1e-12) * 1e-3)
    surrogate = (iaaft(residual / spread) * spread).astype(np.float32)
    _CACHE.clear()
    _CACHE.append((frame, masked, surrogate))
    return surrogate


def _crop_size(frame: np.ndarray, side: int) -> int:
    return int(np.prod([min(n, side) for n in frame.shape]))


def iaaft(values: np.ndarray, iterations: int = ITERATIONS) -> np.ndarray:
    """An iterated amplitude-adjusted Fourier surrogate of a 2D field: its power spectrum and
    its values, in a random arrangement (phases drawn with the fixed ``SEED``)."""
    amplitude = np.abs(np.fft.rfft2(values))
    ordered = np.sort(values, axis=None)
    phases = np.exp(2j * np.pi * np.random.default_rng(SEED).random(amplitude.shape))
    out = np.empty(values.size)
    for _ in range(max(int(iterations), 1)):
        field = np.fft.irfft2(amplitude * phases, s=values.shape)
        out[np.argsort(field, axis=None)] = ordered
        spectrum = np.fft.rfft2(out.reshape(values.shape))
        phases = spectrum / np.maximum(np.abs(spectrum), 1e-300)
    return out.reshape(values.shape)


__all__ = ["iaaft", "textured_null_frame"]
