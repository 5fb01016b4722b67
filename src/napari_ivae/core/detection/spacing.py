"""Nearest-neighbour atom spacing from the image autocorrelation.

The autocorrelation of a periodic image has a peak at every lattice vector and, when the cell
holds more than one atom (a honeycomb, a perovskite's two sub-lattices, dumbbells), a weaker
peak at every vector between atoms of the cell. It is computed from the windowed image's power
spectrum after two corrections:

* the slowly varying background (illumination, a particle's envelope) is removed by a
  high-pass, as it would otherwise dominate;
* only frequencies whose power stands far above the diffuse spectrum at the same spatial
  frequency (the ring's median: noise, and whatever is not periodic) enter it: at low dose the
  noise, spread over every frequency, would otherwise swamp the few Bragg peaks that carry
  the lattice.

A lattice is accepted only if its strongest Bragg peak stands far above its ring
(``MIN_BRAGG_RATIO``); a random arrangement of blobs has a speckled but not a peaked spectrum.
A second direction's Bragg peak must stand out too: fringes of one set of planes and scan-line
offsets are periodic along one direction only (:mod:`.lattice_directions`), and are refused.
The nearest strong autocorrelation peak (at least ``min_relative_height`` of the strongest) is
the nearest lattice vector. A weaker peak closer than that (at least ``MIN_BASIS_HEIGHT`` of the
strongest) is the separation of two atoms in the cell, and then that is the spacing: the
distance between nearest atoms is what sets every detection parameter. Lengths are refined to
sub-pixel precision and averaged over the shell. A fine periodic interference over a coarse
lattice (a scan's electrical pickup, a few pixels) ripples the autocorrelation; its maxima on
the central peak's flank (not resolved from it where a lattice peak is) and beside a much
larger lattice peak are no lattice peaks (:func:`_off_centre_peaks`).

:func:`~napari_ivae.core.detection.spacing_tiles.tiled_spacing` (used by the atom detector
when the whole frame shows no lattice) looks for the part that does: the tile whose Bragg peak
stands highest. A frame periodic along one direction only (fringes, scan lines) shows no
lattice (:mod:`~napari_ivae.core.detection.lattice_directions`).
"""

from __future__ import annotations

import numpy as np

from napari_ivae.core.detection import first_order
from napari_ivae.core.detection.lattice_directions import second_direction
from napari_ivae.core.errors import InputError

MIN_SPACING = 2.0  # pixels; closer "lattices" are noise
MIN_PEAK_HEIGHT = 0.1  # strongest off-centre peak / zero-lag peak (the signal's variance)
# strongest spectral peak / mean power on its ring: the largest of ~10^5 exponential
# periodogram values of noise (or of a random arrangement's speckle) exceeds 30 with
# probability ~10^-8
MIN_BRAGG_RATIO = 30.0
KEEP_RATIO = 16.0  # a frequency enters the autocorrelation above this many times its ring
MIN_BASIS_HEIGHT = 0.15  # a closer, weaker peak counts as an atom separation from this height
RESOLVED = 0.75  # Rayleigh's criterion: two peaks resolved with a dip below this between
PEAK_CLEARANCE = 0.4  # a peak this fraction of its lag from a much larger one is a ripple on it
RIPPLE_RATIO = 1.5  # ... much larger: this many times as high (near-equal ones: a split peak)
MAX_SIDE = 1024  # the spacing is estimated on a central crop at most this large (speed)
PERIODS_SEEN = 6.0  # the default search reaches spacings up to the side over this


def estimate_spacing(
    image2d,
    *,
    max_spacing: float | None = None,
    min_relative_height: float = 0.3,
    return_details: bool = False,
):
    """Estimate the nearest-neighbour spacing (pixels) of a lattice image.

    Parameters
    ----------
    image2d : array-like
        2D image (bright or dark features; only the periodicity matters).
    max_spacing : float, optional
        Largest spacing searched; default a sixth of the smaller side of the analysed image
        (the central ``MAX_SIDE`` x ``MAX_SIDE`` crop of a larger image).
    min_relative_height : float
        A peak counts only if its autocorrelation is at least this fraction of the strongest
        off-centre peak (rejects weak cross-sublattice or noise maxima).
    return_details : bool
        Also return a dict with the first-shell peak vectors and their heights.

    Returns
    -------
    float or (float, dict)
        Spacing in pixels: the distance between nearest atoms, which is shorter than the
        lattice constant when the cell holds several atoms. Details, when asked: the shell's
        vectors and heights, every peak found, ``lattice_constant`` and ``bragg_ratio`` (the
        strongest Fourier peak over the median power on its ring).

    Raises
    ------
    InputError
        Not 2D, too small, or no periodicity found (e.g. an image of isolated particles).
    """
    from scipy import fft

    image = np.asarray(image2d)
    if image.ndim != 2:
        raise InputError(f"estimate_spacing needs one 2D frame; got shape {image.shape}.")
    height, width = image.shape
    if min(height, width) < 16:
        raise InputError(
            f"The image ({height}x{width}) is too small to estimate a spacing; "
            "give the spacing explicitly."
        )
    image = _central_crop(image, MAX_SIDE).astype(np.float64)  # crop first: less to convert
    if not np.isfinite(image).all():
        image = np.where(np.isfinite(image), image, np.nanmedian(image))
    # the default search range follows the analysed crop (a sixth of its side)
    max_spacing = float(max_spacing) if max_spacing else min(image.shape) / PERIODS_SEEN
    shape = image.shape
    power, freq_sq = _periodogram(image)
    floor, band = _ring_medians(power, freq_sq), _band(freq_sq, max_spacing)
    ratio, bragg_ratio = _peak_ratios(power, floor, band)
    if bragg_ratio < MIN_BRAGG_RATIO:  # a polycrystal's powder ring lifts its own median
        from napari_ivae.core.detection.powder_ring import powder_floor

        powder = powder_floor(power, _ring_index(power, freq_sq), floor, band)
        if powder is not None:
            ratio, bragg_ratio = _peak_ratios(power, powder, band)
    # high-pass (minus a Gaussian blur of width max_spacing/2, done in Fourier space): a slow
    # background (illumination, a particle's envelope) would otherwise swamp the lattice peaks
    high_pass = (1.0 - np.exp(-2.0 * np.pi**2 * (max_spacing / 2.0) ** 2 * freq_sq)) ** 2
    if bragg_ratio < MIN_BRAGG_RATIO:
        raise InputError(
            "No clear lattice periodicity found (no Fourier peak stands out of "
            "the diffuse spectrum); the image may not show a lattice. Give the "
            "spacing explicitly."
        )
    second, noise = second_direction(ratio, shape, max_spacing, _band(freq_sq, max_spacing))
    if second < noise:
        raise InputError(
            "No lattice periodicity in two directions: the image is periodic along one "
            "direction only (lattice fringes, scan-line offsets). Give the spacing explicitly."
        )
    # only frequencies that stand out of the diffuse spectrum (and their neighbours: the
    # window spreads a Bragg peak over about three samples); at low dose the noise's power,
    # spread over every frequency, would otherwise swamp the lattice's few peaks
    from scipy import ndimage

    kept = ndimage.binary_dilation(ratio > KEEP_RATIO, np.ones((3, 3), bool))
    power = np.where(kept, power, 0.0) * high_pass
    acf = fft.irfft2(power, shape, workers=1)
    reach = min(int(np.ceil(max_spacing * 1.5)) + 2, min(shape) // 2 - 1)
    lags = np.arange(-reach, reach + 1)  # zero lag in the middle (a partial fftshift)
    crop = acf.take(lags, axis=0, mode="wrap").take(lags, axis=1, mode="wrap")
    if crop[reach, reach] <= 0:
        raise InputError("The image has no intensity variation to estimate a spacing from.")
    crop = crop / crop[reach, reach]
    parts = first_order.components(power)
    peaks, heights = _off_centre_peaks(crop, reach, max_spacing, min_relative_height, parts)
    if len(peaks) == 0:
        raise InputError(
            "No lattice periodicity found (no autocorrelation peak); the image may "
            "not show a lattice. Give the spacing explicitly."
        )
    if heights.max() < MIN_PEAK_HEIGHT:
        raise InputError(
            "No clear lattice periodicity found (autocorrelation peaks at noise "
            "level); the image may not show a lattice. Give the spacing explicitly."
        )
    distances = np.hypot(*peaks.T)
    strong = heights >= min_relative_height * heights.max()
    lattice_constant = distances[strong].min()
    basis = (heights >= MIN_BASIS_HEIGHT * heights.max()) & (distances < lattice_constant / 1.15)
    nearest = distances[basis].min() if basis.any() else lattice_constant
    shell = (strong | basis) & (distances <= nearest * 1.15)
    spacing = float(np.median(distances[shell]))
    if spacing < MIN_SPACING:
        raise InputError(
            f"The estimated spacing ({spacing:.2f} px) is below {MIN_SPACING} px: "
            "the image looks like noise. Give the spacing explicitly."
        )
    if return_details:
        return spacing, {
            "vectors": peaks[shell],
            "heights": heights[shell],
            "all_vectors": peaks,
            "all_heights": heights,
            "lattice_constant": float(lattice_constant),
            "bragg_ratio": bragg_ratio,
        }
    return spacing


def _spectrum(image: np.ndarray, max_spacing: float):
    """Periodogram of the Hann-windowed image, squared frequencies, each sample's power over
    its ring's diffuse level, and the largest of those ratios between ``max_spacing`` and
    ``MIN_SPACING`` (the strongest Bragg peak's)."""
    power, freq_sq = _periodogram(image)
    floor = _ring_medians(power, freq_sq)
    return (power, freq_sq, *_peak_ratios(power, floor, _band(freq_sq, max_spacing)))


def _periodogram(image: np.ndarray):
    """Periodogram of the Hann-windowed image (the real FFT's half plane) and its squared
    frequencies."""
    from scipy import fft

    detail = (image - image.mean()) * np.outer(
        np.hanning(image.shape[0]), np.hanning(image.shape[1])
    )
    shape = detail.shape
    power = np.abs(fft.rfft2(detail, workers=1)) ** 2
    freq_sq = fft.fftfreq(shape[0])[:, None] ** 2 + fft.rfftfreq(shape[1])[None, :] ** 2
    return power, freq_sq


def _peak_ratios(power, floor, band):
    """Each sample's power over ``floor`` (0 where that is 0), and the largest in ``band``."""
    ratio = np.where(floor > 0, power / np.maximum(floor, np.finfo(np.float64).tiny), 0.0)
    return ratio, float(ratio[band].max()) if band.any() else 0.0


def _ring_index(power: np.ndarray, freq_sq: np.ndarray) -> np.ndarray:
    """Each sample's ring: its frequency radius in samples, rounded."""
    ring = np.rint(np.sqrt(freq_sq) * max(power.shape[0], 2 * (power.shape[1] - 1)))
    return ring.astype(np.int64)


def _band(freq_sq: np.ndarray, max_spacing: float) -> np.ndarray:
    return (freq_sq >= 1.0 / max_spacing**2) & (freq_sq <= 1.0 / MIN_SPACING**2)


def _ring_medians(power: np.ndarray, freq_sq: np.ndarray) -> np.ndarray:
    """The median power on rings one frequency sample wide, at every sample: the diffuse
    spectrum (noise, and whatever is not periodic) that a Bragg peak must stand out of."""
    ring = _ring_index(power, freq_sq).ravel()
    counts = np.bincount(ring)
    # the samples grouped by ring (a stable integer sort), then each ring's middle value by
    # partition: the value at rank count // 2, as a full sort by (ring, power) gives it, at a
    # tenth of the time (numpy's lexsort was 0.1 s of a 512 px frame's spacing estimate)
    small = ring.astype(np.int32) if len(counts) < 2**31 else ring
    grouped = power.ravel()[np.argsort(small, kind="stable")]
    ends = np.cumsum(counts)
    medians = np.zeros(len(counts))
    for index in np.flatnonzero(counts):
        part = grouped[ends[index] - counts[index] : ends[index]]
        middle = counts[index] // 2
        medians[index] = np.partition(part, middle)[middle]
    # periodogram values of noise are exponential: their mean is the median / ln 2
    return (medians[ring] / np.log(2.0)).reshape(power.shape)


def _off_centre_peaks(
    crop: np.ndarray,
    reach: int,
    max_spacing: float,
    min_relative_height: float = 0.3,
    parts=None,
):
    """Local maxima of the autocorrelation (sub-pixel, relative to the centre) and heights.
    With ``parts`` (:func:`first_order.components` of the spectrum the autocorrelation is
    made of), a peak is resolved only where its first-order components resolve it too, and
    one on their slope is a ripple (:mod:`~napari_ivae.core.detection.first_order`)."""
    from scipy import ndimage

    is_max = crop == ndimage.maximum_filter(crop, size=3, mode="nearest")
    rows, cols = np.nonzero(is_max)
    offsets = np.stack([rows - reach, cols - reach], axis=1).astype(np.float64)
    distance = np.hypot(*offsets.T)
    # the central peak's own flanks are not lattice peaks: require a dip towards the centre
    keep = (distance >= MIN_SPACING) & (distance <= max_spacing * 1.2)
    keep &= (rows > 0) & (rows < crop.shape[0] - 1) & (cols > 0) & (cols < crop.shape[1] - 1)
    rows, cols, offsets = rows[keep], cols[keep], offsets[keep]
    if len(rows) == 0:
        return offsets, np.zeros(0)
    heights = crop[rows, cols]
    dips = _dip_towards_centre(crop, reach, offsets)
    valid = heights - dips > 0.02
    # where a strong peak is resolved from the central one (Rayleigh's criterion: the
    # autocorrelation dips below RESOLVED of its height on the way to the centre), the
    # unresolved ones are ripples on the central peak's flank: a fine periodic interference
    # over a coarse lattice (a scan's electrical pickup), not a finer lattice. With none
    # resolved, a lattice on a broad hump (an edge's streak) keeps them all
    clear = valid & (dips < RESOLVED * heights)
    if parts is not None and clear.any():
        clear[clear] = first_order.dip_ratios(parts, offsets[clear]) < RESOLVED
    rows, cols, offsets, heights = rows[valid], cols[valid], offsets[valid], heights[valid]
    offsets += np.stack(
        [
            _parabola_offset(crop[rows - 1, cols], heights, crop[rows + 1, cols]),
            _parabola_offset(crop[rows, cols - 1], heights, crop[rows, cols + 1]),
        ],
        axis=1,
    )
    clear = clear[valid]
    if parts is not None:  # ripples of a fine interference on a slope (a ridge, a hump)
        keep = ~first_order.on_slope(parts, offsets, PEAK_CLEARANCE, MIN_SPACING)
        rows, cols, offsets, heights = rows[keep], cols[keep], offsets[keep], heights[keep]
        clear = clear[keep]
    if clear.any() and heights[clear].max() >= min_relative_height * heights.max():
        # a ripple at the pixels' own scale still says the frame looks like noise (refused)
        keep = clear | (np.hypot(*offsets.T) < MIN_SPACING)
        rows, cols, offsets, heights = rows[keep], cols[keep], offsets[keep], heights[keep]
    if len(rows) == 0:
        return offsets, heights
    keep = _without_ripples(crop, rows, cols, offsets, heights, min_relative_height)
    return offsets[keep], heights[keep]


def _without_ripples(crop, rows, cols, offsets, heights, min_relative_height) -> np.ndarray:
    """Which peaks to keep: none with an autocorrelation ``RIPPLE_RATIO`` times its height
    within ``PEAK_CLEARANCE`` of its lag around it. Two lattice peaks lie at least the
    shortest lattice vector apart (their difference is one), and a basis peak as far from
    the lattice's: a much smaller maximum that close to a larger one is a ripple on its flank
    (a fine periodic interference's); maxima of about one height are one peak the ripple
    split. Only the peaks that set the spacing are judged (the highest, and those out to
    1.15 x the nearest strong one that are high enough to be a basis peak), again while one
    goes."""
    keep = np.ones(len(rows), dtype=bool)
    judged = np.zeros(len(rows), dtype=bool)
    distances = np.hypot(*offsets.T)
    while keep.any():
        top = np.max(heights[keep])
        if top <= 0:  # no peak above the mean: refused as noise (MIN_PEAK_HEIGHT)
            break
        strong = keep & (heights >= min_relative_height * top)
        reach = 1.15 * distances[strong].min()
        ask = keep & ~judged & (heights >= MIN_BASIS_HEIGHT * top) & (distances <= reach)
        ask |= keep & ~judged & (heights == top)
        if not ask.any():
            break
        for index in np.flatnonzero(ask):
            nearby = _largest_around(crop, rows[index], cols[index], distances[index])
            keep[index] = nearby <= RIPPLE_RATIO * heights[index]
        judged |= ask
    return keep


def _largest_around(crop, row, col, lag) -> float:
    """The largest autocorrelation within ``PEAK_CLEARANCE * lag`` of ``(row, col)``."""
    radius = PEAK_CLEARANCE * lag
    size = int(radius)
    top, left = max(row - size, 0), max(col - size, 0)
    patch = crop[top : row + size + 1, left : col + size + 1]
    near_rows, near_cols = np.ogrid[
        top - row : top - row + patch.shape[0], left - col : left - col + patch.shape[1]
    ]
    return float(patch[near_rows**2 + near_cols**2 <= radius**2].max())


def _dip_towards_centre(crop, reach, offsets):
    """Minimum autocorrelation on the straight line from the centre to each peak."""
    from scipy import ndimage

    fractions = np.linspace(0.1, 0.9, 17)
    points = reach + offsets[:, None, :] * fractions[None, :, None]
    samples = ndimage.map_coordinates(crop, points.reshape(-1, 2).T, order=1)
    return samples.reshape(len(offsets), -1).min(axis=1)


def _parabola_offset(left, centre, right):
    denominator = left - 2.0 * centre + right
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = np.where(denominator < 0, 0.5 * (left - right) / denominator, 0.0)
    return np.clip(shift, -0.5, 0.5)


def check_given_spacing(spacing: float | None, frame_shape) -> None:
    """A spacing given by hand (the command line's ``--spacing``, the Detect dock's box) must
    be at least :data:`MIN_SPACING` and fit four atoms into the frame's smaller side; a larger
    one finds noise (30 'atoms' at 20 px in a 64 px crop, none of them on the lattice).
    ``None`` (estimate it) passes."""
    if spacing is None:
        return
    largest = min(frame_shape[-2:]) / 4
    if not MIN_SPACING <= spacing <= largest:
        raise InputError(
            f"--spacing {spacing:g} px does not fit the {frame_shape[-2]}x"
            f"{frame_shape[-1]} px image: give a spacing between {MIN_SPACING:g} "
            f"and {largest:g} px (a quarter of the smaller side), or leave it out "
            "to estimate it"
        )


def frame_spacing(image) -> float:
    """:func:`estimate_spacing` of the first frame of a (Y, X) image or (frames, Y, X) stack,
    read only over its central ``MAX_SIDE`` crop (what the estimate analyses: a lazy image
    is never read whole). Raises :class:`InputError` as it does."""
    frame = image if len(image.shape) == 2 else image[0]
    return float(estimate_spacing(np.asarray(_central_crop(frame, MAX_SIDE), dtype=np.float32)))


def _central_crop(image: np.ndarray, side: int) -> np.ndarray:
    height, width = image.shape
    top, left = max((height - side) // 2, 0), max((width - side) // 2, 0)
    return image[top : top + side, left : left + side]


def crop_spectrum(frame: np.ndarray) -> tuple:
    """The central ``MAX_SIDE`` crop the spacing search reads (float64, NaN and inf filled by
    its median), its periodogram, squared frequencies and ring medians."""
    crop = _central_crop(np.asarray(frame), MAX_SIDE).astype(np.float64)
    if not np.isfinite(crop).all():
        crop = np.where(np.isfinite(crop), crop, np.nanmedian(crop))
    power, freq_sq = _periodogram(crop)
    return crop, power, freq_sq, _ring_medians(power, freq_sq)
