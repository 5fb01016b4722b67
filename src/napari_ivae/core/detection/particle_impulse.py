"""Blobs that are one pixel: a camera's noisy pixels are no particles.

A light microscope's camera adds noise that is neither Poisson nor Gaussian: an sCMOS has
pixels of their own gain, offset and read noise (a few far noisier than the rest), an EMCCD's
multiplication gives the counts an exponential tail, a photomultiplier's single photons stand
as lone spikes on a black clipped to zero. Such a pixel is as strong at a blob scale as a
particle whose peak it matches, and the noise floor and the per-scale bounds, all drawn from
Gaussian or two-sided nulls, let it through.

What tells it from a particle is the particle's profile, not its strength: light (or
electrons) reaching the detector is blurred by the optics, so a particle's brightest pixel
always lifts its eight neighbours by a share of its own excess over the background. That share
is measured on the frame's blobs whose ring stands clearly above the background (the
smallest of them: the frame's narrowest particle). A blob is one pixel where its ring stands
no higher than the background's noise allows, while a particle of that narrowest profile with
its peak would lift the ring clearly beyond it. Where the two cannot be told apart (a faint
blob, whose ring would sit within the noise either way), the blob is left as it was.
"""

from __future__ import annotations

import numpy as np
from scipy import special

# the ring: the eight neighbours of the brightest pixel; the background: the 24 pixels of the
# 7 x 7 square's border around it (median)
_RING = np.array([(dr, dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if dr or dc])
_BORDER = np.array(
    [(dr, dc) for dr in range(-3, 4) for dc in range(-3, 4) if max(abs(dr), abs(dc)) == 3]
)
_NEAR = np.array([(dr, dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1)])


def peak_profiles(signal: np.ndarray, points: np.ndarray) -> tuple:
    """Each blob's brightest pixel within one pixel of its centre: its excess over the
    background (the median of the 7 x 7 border around it) and that of the median of its
    eight neighbours (medians both, so that a skewed noise lifts neither more).

    Parameters
    ----------
    signal : numpy.ndarray
        The frame, particles positive.
    points : numpy.ndarray
        ``(n, 2)`` integer blob centres.

    Returns
    -------
    peak, ring : numpy.ndarray
        ``(n,)`` each.
    """
    padded = np.pad(np.asarray(signal, dtype=np.float64), 4, mode="symmetric")
    at = np.asarray(points, dtype=int).reshape(-1, 2) + 4
    near = padded[at[:, None, 0] + _NEAR[:, 0], at[:, None, 1] + _NEAR[:, 1]]
    top = at + _NEAR[np.argmax(near, axis=1)]
    centre = padded[top[:, 0], top[:, 1]]
    ring = padded[top[:, None, 0] + _RING[:, 0], top[:, None, 1] + _RING[:, 1]]
    border = padded[top[:, None, 0] + _BORDER[:, 0], top[:, None, 1] + _BORDER[:, 1]]
    background = np.median(border, axis=1)
    return centre - background, np.median(ring, axis=1) - background


def _density(x, sd):
    return np.exp(-0.5 * (x / sd) ** 2) / (np.sqrt(2.0 * np.pi) * sd)


def one_pixel(
    signal: np.ndarray, points: np.ndarray, radius: np.ndarray, pixel_noise: np.ndarray
) -> np.ndarray:
    """Whether each blob is one pixel rather than a particle of the frame's profiles.

    The profiles are the shares of their peak that the blobs whose ring stands clearly above
    the background lift it by. Each blob's ring is weighed against those shares of its own
    peak (a particle) and against the background (one pixel); how many blobs are one pixel is
    learnt from the blobs themselves (a mixture's weight, by expectation-maximisation), so a
    frame without a camera's noisy pixels weighs nearly nothing to that side and a faint
    particle, whose ring is within the noise either way, keeps its place.

    Parameters
    ----------
    signal : numpy.ndarray
        The frame, particles positive.
    points : numpy.ndarray
        ``(n, 2)`` integer blob centres.
    radius : numpy.ndarray
        ``(n,)`` the blobs' radii (``sqrt(2)`` x their scale); those reaching the background's
        border (3 px) are not judged.
    pixel_noise : numpy.ndarray
        ``(n,)`` the pixel noise (standard deviation) at each blob.

    Returns
    -------
    numpy.ndarray of bool
        ``(n,)`` True where the blob is one pixel.
    """
    n = len(points)
    if n == 0:
        return np.zeros(0, dtype=bool)
    peak, ring = peak_profiles(signal, points)
    noise = np.asarray(pixel_noise, dtype=np.float64)
    # a median of 8 less one of 24 (a median's variance is about pi/2 x a mean's)
    ring_noise = noise * np.sqrt(np.pi / 16.0 + np.pi / 48.0)
    peak_noise = noise * np.sqrt(1.0 + np.pi / 48.0)
    # as far as Gaussian noise goes once over the blobs
    z = special.ndtri(1.0 - 0.5 / max(n, 2))
    small = np.asarray(radius) < _BORDER.max()
    lifted = (ring > z * ring_noise) & (peak > 0) & small
    if not lifted.any():
        return np.zeros(n, dtype=bool)
    shares = ring[lifted] / np.maximum(peak[lifted], ring[lifted])
    # judged where a particle of the typical profile would have lifted its ring as far as the
    # confident ones' (fainter, only those whose ring rose by chance are among them), where
    # the peak stands out at all, and on blobs that end inside the border (a larger one's
    # border is on itself: its top is flat against it)
    judged = (
        (np.abs(ring) <= z * ring_noise)
        & (np.median(shares) * peak > z * ring_noise)
        & (peak > z * peak_noise)
        & small
    )
    if not judged.any():
        return np.zeros(n, dtype=bool)
    if len(shares) > 101:  # their distribution, not each (a packed layer has thousands)
        shares = np.quantile(shares, np.linspace(0.0, 1.0, 101))
    spread = np.hypot(ring_noise[:, None], shares[None] * peak_noise[:, None])
    particle = _density(ring[:, None] - shares[None] * peak[:, None], spread).mean(axis=1)
    pixel = _density(ring, ring_noise)
    weight = 0.5
    for _ in range(50):
        posterior = weight * pixel / np.maximum(weight * pixel + (1 - weight) * particle, 1e-300)
        weight = float(posterior.mean())
    return judged & (posterior > 0.5)
