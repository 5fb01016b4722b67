"""Whether any atom peak stands out from the image's own noise: a null from its shuffled pixels.

The automatic contrast cut (:mod:`~napari_ivae.core.detection.atom_threshold`) judges peaks
against white Gaussian noise of the level measured from pixel differences. A frame with nothing
in it escapes that model in many ways: Poisson counts of a few per pixel (a heavy upper tail,
and differences of 0, 1, 2 counts that underrate the level), a gradient under Poisson counts (the
level varies across the frame), scan-line offsets (correlated along rows), 8-bit steps. Each
gave tens to thousands of confident-looking "atoms" on a frame of pure noise.

The image's own pixels, shuffled, are a noise-only null that needs no model: whatever the
values' distribution, placed at random they make no structure, and the detector run on them
gives the peak contrasts that chance alone reaches with those values. The shuffle is local
(within blocks of two spacings, after the slow background is taken off), so the noise keeps
its level where it varies (Poisson counts under a gradient) and a tilt or a step between
terraces (STM) does not become noise. On a frame of noise the candidates are no stronger than
the null's peaks; atoms, which gather their bright pixels in one place, are (the shuffle
spreads their signal as extra noise, which makes the null only stricter). Unless the
candidates outnumber the null's peaks, above one of its quantiles and over the same area, by
``MIN_SPREADS`` times the counts' spread (and by ``MIN_ABOVE_NOISE`` peaks), nothing stands
out, and no atom is kept. A level test, not the cut's per-peak bound: on a lattice at low
dose most atoms stand only a little above the null, yet there are far more of them than
chance allows.

Noise correlated between pixels (a detector's blur, an amorphous film) is smoother than its
shuffle, so its peaks stand out: this test tells white noise from structure, not atoms from
any other structure.
"""

from __future__ import annotations

import numpy as np

# candidates above a quantile of the shuffled null, against the null's own count there: on
# noise they agree within a few spreads (measured: at most 4.4 on 54 frames of Poisson,
# Gaussian, 8-bit and gradient noise, 256-512 px, at 1x, 2x and 4x the scale); atoms outnumber
# it by 15-80 spreads at dose 1-5 (stranger_atoms' lowest-dose rows), 16 for 25 lone atoms
NULL_QUANTILES = (50, 75, 90, 99, 99.9)  # the last: a few strong atoms among noise
MIN_SPREADS = 6.0
MIN_ABOVE_NOISE = 5  # and at least this many more candidates than the null holds
# ... else only candidates this many times the null's strongest peak are kept: a lone atom
# on a small frame is no count excess, but no shuffle of the frame's pixels makes it
LONE_FACTOR = 2.0
SHUFFLE_SEED = 20261202  # fixed: the same image always gets the same answer
MAX_DRAWN = 512  # side of the shuffled frame (its counts are scaled to the frame's area)
BLOCK_SPACINGS = 2.0  # pixels are shuffled within blocks of this many spacings
SPARSE_SKEW = 1.5  # a smoothed frame this skewed holds separate spots, not a film's texture


def shuffled_null(frame: np.ndarray, masked, params: dict, contrast_of) -> tuple[np.ndarray, float]:
    """Sorted peak contrasts of the frame's own pixels shuffled within small blocks.

    The frame less its slow background (the detector's ``background`` blur: a tilt, a step,
    an illumination gradient) is cut into blocks of ``BLOCK_SPACINGS`` spacings; blocks
    drawn at random, each with its pixels in random order, tile a frame of ``null_side``
    pixels, on which ``contrast_of`` finds the peaks. Within a block the noise keeps its local
    level (Poisson counts under a gradient) and an atom's pixels are scattered.

    Parameters
    ----------
    frame : numpy.ndarray
        The 2D frame the candidates came from.
    masked : numpy.ndarray or None
        Pixels to leave out (flat areas, the excluded mask); blocks that hold any are not
        drawn (all of them: the frame's other pixels, drawn in random places).
    params : dict
        The detector's parameters (``spacing``, ``background``, ``min_distance``).
    contrast_of : callable
        ``contrast_of(frame, params) -> prominences`` of a frame's peaks.

    Returns
    -------
    contrasts : numpy.ndarray
        The null's peak contrasts, ascending.
    area : float
        The shuffled frame's pixels.
    """
    from napari_ivae.core.detection._filters import smooth_background

    frame = np.asarray(frame, dtype=np.float32)
    residual = frame
    if params["background"] > 0:
        residual = frame - smooth_background(frame, params["background"])
    if without_lattice(params) and not (
        sparse_spots(residual, masked, params) or few_periods(frame, params)
    ):
        # correlated noise (a film, scan lines) is no structure here
        from napari_ivae.core.detection.texture_null import textured_null_frame

        drawn = textured_null_frame(frame, masked)
        contrasts = np.asarray(contrast_of(drawn, params), dtype=np.float64)
        return np.sort(contrasts), float(drawn.size)
    rng = np.random.default_rng(SHUFFLE_SEED)
    side = null_side(params)
    block = int(min(max(8, round(BLOCK_SPACINGS * params["spacing"])), side, *frame.shape))
    blocks = _free_blocks(residual, masked, block)
    if len(blocks) == 0:  # no whole block free of masked pixels
        values = residual if masked is None else residual[~masked]
        drawn = rng.choice(values.ravel(), size=(side, side))
    else:
        per_side = -(-side // block)
        chosen = blocks[rng.integers(0, len(blocks), per_side**2)]
        tiles = rng.permuted(chosen.reshape(len(chosen), -1), axis=1)
        tiles = tiles.reshape(per_side, per_side, block, block)
        drawn = tiles.transpose(0, 2, 1, 3).reshape(per_side * block, per_side * block)
    contrasts = np.asarray(contrast_of(np.ascontiguousarray(drawn), params), dtype=np.float64)
    return np.sort(contrasts), float(drawn.size)


def sparse_spots(residual: np.ndarray, masked, params: dict) -> bool:
    """Whether the frame's spots are few on a quiet background: the skewness of its residual
    smoothed at the atoms' width is above ``SPARSE_SKEW``.

    A film is a dense random field of blobs (skewness 0.5-1.2 measured on films of 1.2-2 px
    blobs at 8-30 counts, 0.1-0.4 on Poisson noise), and its phase-randomised surrogate makes
    as many strong spots. Separate atoms on a quiet background (skewness 1.7-4.4 for 60-300
    atoms on 256 px at SNR 3-10) are spots the surrogate also makes, because it keeps the
    frame's values: against their texture they would never stand out, so they are judged
    against the shuffled pixels as a lattice is.
    """
    from napari_ivae.core.detection._filters import gaussian_smooth

    smoothed = gaussian_smooth(np.asarray(residual, dtype=np.float32), max(params["sigma"], 0.5))
    values = (smoothed if masked is None else smoothed[~masked]).astype(np.float64).ravel()
    spread = values.std()
    if values.size < 16 or spread <= 0:
        return False
    values -= values.mean()
    # cubes as products (``** 3`` calls ``pow`` per value: 1.1 s of a 4096² frame, 0.08 s
    # here); they differ from pow's in the last bits, so a skew that close to the bound
    # (within 1e-9 of max |deviation| / spread, far beyond those bits' sum) is taken as before
    cubed = values * values
    cubed *= values
    skew = float(np.mean(cubed) / spread**3)
    margin = 1e-9 * max(float(values.max()), -float(values.min())) / spread
    if abs(skew - SPARSE_SKEW) <= margin:
        skew = float(np.mean(values**3) / spread**3)
    return skew > SPARSE_SKEW


def few_periods(frame: np.ndarray, params: dict) -> bool:
    """Whether the frame is under ``PERIODS_SEEN`` spacings across (a crop of a few cells).

    The spacing estimate searches spacings up to the side over ``PERIODS_SEEN``
    (:mod:`~napari_ivae.core.detection.spacing`), so its "no periodicity" says nothing about
    a lattice of this spacing, and a lattice's texture surrogate is a lattice again (the same
    Bragg peaks, other phases: its atoms never stand out of it). Such a frame is judged
    against its shuffled pixels, as a lattice is; at the noise check's larger scales
    (``params["scaled_by"]``) the frame's own spacing decides (a film, many of its blobs
    across, stays judged against its texture there).
    """
    from napari_ivae.core.detection.spacing import PERIODS_SEEN

    spacing = params["spacing"] / params.get("scaled_by", 1.0)  # the detector's own
    return min(frame.shape) < PERIODS_SEEN * spacing


def without_lattice(params: dict) -> bool:
    """Whether the spacing came from the spots' size, no lattice periodicity being found, and
    the spectrum shows no faint ring either: then the null keeps the frame's texture
    (:mod:`~napari_ivae.core.detection.texture_null`). A texture whose spectrum has a ring is
    structure (a polycrystal or a network under a count per atom): its surrogate, the same
    ring with other phases, makes as strong peaks as its atoms."""
    from napari_ivae.core.detection.atom_defaults import FAINT_RING

    source = str(params.get("spacing_source", ""))
    return source.startswith("blob scale") and source != FAINT_RING


def filled(frame: np.ndarray, masked) -> np.ndarray:
    """``frame`` with its masked pixels replaced by its other pixels drawn at random (noise
    there, no structure: the whole frame can be searched like its null)."""
    frame = np.asarray(frame, dtype=np.float32)
    if masked is None or not masked.any() or masked.all():
        return frame
    out = frame.copy()
    rng = np.random.default_rng(SHUFFLE_SEED + 1)
    out[masked] = rng.choice(frame[~masked], size=int(masked.sum()))
    return out


def _free_blocks(residual: np.ndarray, masked, block: int) -> np.ndarray:
    """The frame's ``block x block`` tiles (a grid from its corner) with no masked pixel."""
    rows, cols = residual.shape[0] // block, residual.shape[1] // block
    tiles = residual[: rows * block, : cols * block].reshape(rows, block, cols, block)
    tiles = tiles.transpose(0, 2, 1, 3).reshape(rows * cols, block, block)
    if masked is None:
        return tiles
    hidden = masked[: rows * block, : cols * block].reshape(rows, block, cols, block)
    return tiles[~hidden.any(axis=(1, 3)).ravel()]


def null_side(params: dict) -> int:
    """The shuffled frame's side: room for the background blur and a few thousand peaks."""
    side = np.sqrt(2.0 * 3000) * max(params["min_distance"], 1.0)
    return int(min(MAX_DRAWN, max(128, side, 8 * params["background"])))


def excess_over_null(
    prominence: np.ndarray, null: np.ndarray, area: float, null_area: float
) -> tuple[float, float]:
    """How far the candidates outnumber the null above its quantiles ``NULL_QUANTILES``.

    At each level the candidates at or above it (``D``) are compared with the null's peaks
    there scaled to the frame's area (``E``): on noise the two agree, atoms add to ``D``.

    Returns
    -------
    z : float
        The largest ``(D - E) / sqrt((1 + r) E + 1)`` over the levels (``r`` the area ratio:
        the spread of ``D - E`` where the frame holds noise only, ``D`` a count of mean ``E``
        and ``E`` the null's count scaled by ``r``).
    excess : float
        ``D - E`` at that level.
    """
    prominence = np.asarray(prominence, dtype=np.float64)
    if len(null) == 0:
        return np.inf, float(len(prominence))
    ratio = area / null_area
    best = (-np.inf, 0.0)
    for level in np.percentile(null, NULL_QUANTILES):
        found = float(np.count_nonzero(prominence >= level))
        expected = ratio * float(np.count_nonzero(null >= level))
        z = (found - expected) / np.sqrt((1.0 + ratio) * expected + 1.0)
        best = max(best, (z, found - expected))
    return best


__all__ = [
    "LONE_FACTOR",
    "MIN_ABOVE_NOISE",
    "MIN_SPREADS",
    "excess_over_null",
    "filled",
    "null_side",
    "shuffled_null",
]
