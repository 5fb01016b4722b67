"""Where the image shows a lattice: a crystalline-region mask from Bragg-reflection amplitudes.

A nanoparticle, a flake or a grain sits next to vacuum, amorphous support or a contamination
rim that can be as bright as the crystal and full of atom-sized bumps. What tells them apart is
periodicity. As in geometric phase analysis, each Bragg reflection ``g`` of the image is
demodulated (``image * exp(-2 pi i g.x)``, then a Gaussian low-pass of ``0.7`` lattice spacing):
the modulus is the local amplitude of that lattice fringe. Summed in quadrature over the
reflections, it is high wherever atoms sit on a lattice and falls to the noise level elsewhere.
Reflections are the significant peaks of the power spectrum averaged over tiles of about 32
spacings (weak but present everywhere) together with those of single tiles (a minor grain
dominates its own tiles), so every grain orientation contributes its own.

The crystal's amplitude level is the median above Otsu's threshold. Pixels below half of it
are non-crystalline (a smoothed step is at half height on the step, so edge atoms stay inside);
a morphological opening with a disc one spacing across removes thin strips of them (an
antiphase boundary, a row of vacancies). A region is reported only when that non-crystalline
part covers at least ``MIN_OUTSIDE_AREA`` of the frame and sinks below a quarter of the
crystal level: an image that is lattice everywhere, or nowhere, gets no mask and nothing is
dropped.

The same demodulation of a spectrum without Bragg peaks (the diffuse power on each
reflection's ring) gives the amplitude's floor, what noise and an amorphous film reach. When
the bulk of the frame sits at that floor (a few small particles on a support, a few % of the
frame), Otsu's split falls inside the support's own spread: the level is then the median of
the samples two floors high or more, and half and a quarter of the level are measured from the
floor up (``_decide``).

A polycrystal of small grains spreads its power over many reflections on one ring: the few
that stand out belong to a few grains, and the others, turned but as crystalline, fall below
the edge. A non-crystalline part that shows the lattice's ring about as strongly as the region
(:mod:`~napari_ivae.core.detection.powder_ring`) is grains of other orientations: no region.

The reflections come from :mod:`~napari_ivae.core.detection.bragg_reflections`, the amplitude
and its floor from :mod:`~napari_ivae.core.detection.fringe_amplitude`; this module decides the
region.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from napari_ivae.core.detection.bragg_reflections import bragg_reflections, outside_reflections
from napari_ivae.core.detection.fringe_amplitude import fringe_amplitude
from napari_ivae.core.detection.powder_ring import outside_is_crystal

SAMPLES_PER_SPACING = 4.0  # the analysis runs on an image binned to about this resolution
LOWPASS_SPACINGS = 0.7  # Gaussian sigma of the fringe-amplitude low-pass, in spacings
EDGE_LEVEL = 0.5  # region edge: this fraction of the crystal's amplitude level
OUTSIDE_LEVEL = 0.25  # a real non-crystalline part sinks below this fraction (and DEEP_FLOOR)...
MIN_OUTSIDE_AREA = 0.05  # ...over at least this fraction of the frame
# the floor: the rms fringe amplitude of the diffuse spectrum (noise, an amorphous film). A
# frame whose median amplitude lies within FLOOR_BAND of it is mostly non-crystalline (noise
# alone: 0.9-1.0); a chi-distributed amplitude of >= 2 reflections is above FLOOR_LEVEL x
# its rms in under 2 % of the samples
FLOOR_BAND = (0.75, 1.25)
FLOOR_LEVEL = 2.0
# a non-crystalline part sinks to the floor: its deep samples stay below this many floors
# (vacuum, amorphous films: medians 0-1 floor; the faint parts of a lattice under a bending
# contour at 0.1 of the columns' intensity: 2.3-2.5, none of them below 1.5 but 0.2-0.6 %)
DEEP_FLOOR = 1.5
# a "region" holding fewer lattice cells than this is no distinct region: a polycrystal of small
# grains at low dose rises above the edge over 0.06-4.6 % of the frame (0.7-4 cells) and every
# peak was dropped as outside it (stranger_networks 'poly honeycomb 7, dose 0.5')
MIN_REGION_CELLS = 9.0


@dataclass(frozen=True)
class CrystalRegion:
    """The crystalline-region analysis of one frame.

    Attributes
    ----------
    amplitude : numpy.ndarray
        Lattice-fringe amplitude on a coarse grid (``scale`` frame pixels per sample along
        rows and columns, sample ``(0, 0)`` at frame position ``origin``).
    inside : numpy.ndarray
        Boolean region on the same grid (all True when no region was found).
    scale : tuple of float
        Frame pixels per sample along rows and columns.
    origin : tuple of float
        Frame ``(row, col)`` position of sample ``(0, 0)``.
    reflections : numpy.ndarray
        ``(n, 2)`` Bragg vectors used, in cycles per frame pixel (row, col).
    level : float
        The crystal's amplitude level (median above Otsu's threshold; ``nan`` without
        reflections).
    outside_area : float
        Fraction of the frame judged non-crystalline (before the decision).
    found : bool
        True when the frame has a distinct crystalline region next to a non-crystalline part.
    shape : tuple of int
        The frame's shape.
    """

    amplitude: np.ndarray
    inside: np.ndarray
    scale: tuple
    origin: tuple
    reflections: np.ndarray
    level: float
    outside_area: float
    found: bool
    shape: tuple

    def contains(self, points, margin: float = 0.0) -> np.ndarray:
        """Whether each ``(row, col)`` point lies in the region (all True when none found).

        ``margin`` (frame pixels) grows the region by that distance first.
        """
        points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        if not self.found:
            return np.ones(len(points), dtype=bool)
        inside = self.inside
        radius = int(round(margin / float(np.mean(self.scale))))
        if radius > 0:
            from scipy import ndimage

            disc = np.hypot(*np.mgrid[-radius : radius + 1, -radius : radius + 1]) <= radius
            inside = ndimage.binary_dilation(inside, disc)
        return self._sample(inside.astype(np.float32), points) >= 0.5

    def mask(self, margin: float = 0.0) -> np.ndarray:
        """Boolean mask with the frame's shape (all True when no region was found); ``margin``
        grows the region first, as in :meth:`contains`."""
        if not self.found:
            return np.ones(self.shape, dtype=bool)
        rows = np.arange(self.shape[0], dtype=np.float64)
        cols = np.arange(self.shape[1], dtype=np.float64)
        grid = np.stack(np.meshgrid(rows, cols, indexing="ij"), axis=-1).reshape(-1, 2)
        return self.contains(grid, margin=margin).reshape(self.shape)

    def _sample(self, grid, points):
        from scipy import ndimage

        coarse = (points - np.asarray(self.origin)) / np.asarray(self.scale, dtype=np.float64)
        return ndimage.map_coordinates(grid, coarse.T, order=1, mode="nearest")

    def summary(self) -> dict:
        """Plain-number description (for a result's parameters)."""
        return {
            "found": bool(self.found),
            "reflections": int(len(self.reflections)),
            "outside_area": round(float(self.outside_area), 4),
            "level": float(self.level),
        }


def crystal_region(frame, spacing: float) -> CrystalRegion:
    """Find the part of a frame that shows a lattice with the given spacing.

    Parameters
    ----------
    frame : array-like
        2D image (bright or dark atoms: only the periodicity matters).
    spacing : float
        Nearest-neighbour distance in pixels.

    Returns
    -------
    CrystalRegion
        The amplitude map and the decision; ``region.found`` is False when the image has no
        significant Bragg reflection, is (un)crystalline everywhere or its crystalline part
        holds fewer than ``MIN_REGION_CELLS`` lattice cells.
    """
    from napari_ivae.core.detection._filters import block_mean, gaussian_smooth

    frame = np.asarray(frame, dtype=np.float32)
    factor = max(1, int(round(spacing / SAMPLES_PER_SPACING)))
    binned = block_mean(frame, factor)
    step = spacing / factor  # the spacing on the binned grid
    # remove the slow background (a particle's envelope) so only lattice fringes remain
    detail = binned - gaussian_smooth(binned, 0.5 * step)
    reflections = bragg_reflections(detail, step)
    if len(reflections) == 0:
        none = np.zeros((1, 1), np.float32)
        return CrystalRegion(
            none,
            none > 0,
            (float(frame.shape[0]), float(frame.shape[1])),
            (0.0, 0.0),
            reflections,
            float("nan"),
            0.0,
            False,
            frame.shape,
        )
    amplitude, coarse_step, coarse_origin, floor = fringe_amplitude(
        detail, reflections, LOWPASS_SPACINGS * step
    )
    scale = (coarse_step[0] * factor, coarse_step[1] * factor)
    # binned pixel k is the block centred on frame pixel k * factor + (factor - 1) / 2
    origin = tuple(o * factor + (factor - 1) / 2.0 for o in coarse_origin)
    level, inside, outside_area, found = _decide(amplitude, spacing / np.mean(scale), floor)
    if found:
        # is the "non-crystalline" part a grain whose reflections were too weak overall?
        extra = outside_reflections(detail, inside, coarse_step, coarse_origin, step, reflections)
        if len(extra):
            reflections = np.concatenate([reflections, extra])
            amplitude, _, _, floor = fringe_amplitude(detail, reflections, LOWPASS_SPACINGS * step)
            level, inside, outside_area, found = _decide(amplitude, spacing / np.mean(scale), floor)
    if found and outside_is_crystal(
        detail, inside, coarse_step, coarse_origin, float(np.hypot(*reflections[0]))
    ):  # grains of other orientations: lattice everywhere
        inside, found = np.ones(amplitude.shape, dtype=bool), False
    if found and (1.0 - outside_area) * frame.size < MIN_REGION_CELLS * spacing**2:
        inside, found = np.ones(amplitude.shape, dtype=bool), False
    return CrystalRegion(
        amplitude,
        inside,
        scale,
        origin,
        reflections / factor,
        level,
        outside_area,
        found,
        frame.shape,
    )


def _decide(amplitude, spacing_samples, floor=0.0) -> tuple[float, np.ndarray, float, bool]:
    """Crystal level, region (coarse grid), non-crystalline area and whether it is distinct.

    ``floor``: the amplitude the diffuse spectrum gives where nothing is periodic (noise, an
    amorphous film). When the bulk of the frame sits at that floor (the median amplitude
    within ``FLOOR_BAND`` of it: a few small particles on a support), Otsu's split falls
    inside the support's own spread and the support's amplitude is not small next to the
    crystal's: the level is then taken over the samples at least ``FLOOR_LEVEL`` floors high,
    and the edge and the deep part are measured from the floor up. A blank part (vacuum,
    zero padding) sits below the floor, a faint lattice everywhere above it: the plain rule.
    Either way the deep part must lie below ``DEEP_FLOOR`` floors: where a lattice only fades
    (a bending contour, a thickness wedge) its amplitude stays above the floor."""
    from skimage.filters import threshold_otsu

    everywhere = np.ones(amplitude.shape, dtype=bool)
    if not np.ptp(amplitude) > 0:
        return float(amplitude.max()), everywhere, 0.0, False
    otsu = threshold_otsu(amplitude)
    base = 0.0
    if floor > 0 and FLOOR_BAND[0] <= np.median(amplitude) / floor <= FLOOR_BAND[1]:
        base = floor
        otsu = max(otsu, FLOOR_LEVEL * floor)
    level = float(np.median(amplitude[amplitude >= otsu]))
    deep_below = base + OUTSIDE_LEVEL * (level - base)
    if floor > 0:  # a lattice that only fades (thickness, a bending contour) stays above it
        deep_below = min(deep_below, DEEP_FLOOR * floor)
    outside, deep = _outside(
        amplitude, spacing_samples, base + EDGE_LEVEL * (level - base), deep_below
    )
    area = float(outside.mean())
    if deep.mean() < MIN_OUTSIDE_AREA:
        return level, everywhere, area, False
    return level, ~outside, area, True


def _outside(amplitude, spacing_samples, edge, deep_below) -> tuple[np.ndarray, np.ndarray]:
    """The part below ``edge`` less its thin strips (an opening with a disc one spacing
    across; beyond the frame counts as outside, so a vacuum strip at the edge survives), and
    the part of it below ``deep_below``."""
    from scipy import ndimage

    radius = max(1, int(round(0.5 * spacing_samples)))
    disc = np.hypot(*np.mgrid[-radius : radius + 1, -radius : radius + 1]) <= radius
    low = amplitude < edge
    outside = ndimage.binary_dilation(ndimage.binary_erosion(low, disc, border_value=1), disc) & low
    return outside, outside & (amplitude < deep_below)


__all__ = ["CrystalRegion", "crystal_region"]
