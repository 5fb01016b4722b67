"""Large particles at a canonical scale: the auto method on a binned frame.

The auto particle method's pixel-level steps (3 x 3 maxima in scale space, the flat window,
the surround's sectors, a scale grid from 1 px to a sixteenth of the frame that coarsens as the
frame grows) are the same in pixels at every magnification, so the same particles imaged at a
higher magnification meet them differently: a frame of particles 30 px in radius is not
handled as the same particles at 10 px are (a 3 x up-sampled bright-field film of dense
particles gave 9000 points on its texture, F1 0.07 against 0.86 at its own size, in 29 s).

Binning (the area mean of ``factor x factor`` blocks) keeps what a particle many pixels wide
holds and averages white noise down, as a lower magnification would. :func:`bin_factor`
decides from the particles' scale, measured on an overview of the frame (binned by 2, or to
the choice's crop where the frame is larger): the largest integer factor that keeps the smallest
searched scale (``SEARCH_FROM`` x the particles' scale) at least ``SEARCH_PX`` pixels (a
blob of radius 4 px, about the smallest particles the method is checked on at their own size:
radius 5 px). Frames whose particles' scale is below ``2 x SEARCH_PX / SEARCH_FROM`` (17 px,
a radius of 24 px) are never binned. The particles found on the binned frame are mapped back
(:func:`to_full`), and their centres, labels and edges measured at full resolution.

The overview cannot see blobs smaller than its pixel: widefield puncta in cells (sub-pixel
spots on cells that glow) gave it the cells' scale (sigma 60-70 px), and the frame binned by 8
lost every punctum. Before a frame is binned, :func:`fine_population` looks for them at full
resolution; where they are the particles, the frame is not binned and the choice is made
among the scales the overview could not see.
"""

from __future__ import annotations

import math

import numpy as np

SEARCH_PX = 3.0  # the smallest searched scale (pixels) a binned frame keeps at least
ABOVE_NOISE = 3  # blobs above white noise's floor at the particles' scale that bin a frame


def binned(frame: np.ndarray, factor: int) -> np.ndarray:
    """The area mean of ``factor x factor`` blocks (float32); the last partial blocks are the
    mean of the pixels they hold (the frame's edge repeated)."""
    frame = np.asarray(frame, dtype=np.float32)
    if factor == 1:
        return frame
    pad = [(0, -n % factor) for n in frame.shape]
    padded = np.pad(frame, pad, mode="edge") if any(p for _, p in pad) else frame
    rows, cols = padded.shape[0] // factor, padded.shape[1] // factor
    return padded.reshape(rows, factor, cols, factor).mean(axis=(1, 3), dtype=np.float32)


def binned_mask(mask: np.ndarray, factor: int) -> np.ndarray:
    """True for a block that holds any True pixel of ``mask``."""
    mask = np.asarray(mask, dtype=bool)
    if factor == 1:
        return mask
    pad = [(0, -n % factor) for n in mask.shape]
    padded = np.pad(mask, pad, mode="edge") if any(p for _, p in pad) else mask
    rows, cols = padded.shape[0] // factor, padded.shape[1] // factor
    return np.asarray(padded.reshape(rows, factor, cols, factor).any(axis=(1, 3)))


def bin_factor(frame: np.ndarray, skip, polarity: str, no_data=None):
    """The factor to bin ``frame`` by before the auto method, and the particles' scale.

    :func:`_overview_factor`; where that leaves the frame at full size with no largest scale,
    the clump guard at full size
    (:func:`~napari_ivae.core.detection.layer_clumps.layer_clumps`).
    """
    from napari_ivae.core.detection.layer_clumps import layer_clumps

    factor, sigma, largest = _overview_factor(frame, skip, polarity, no_data)
    if factor == 1 and largest is None and sigma is not None:
        fine = layer_clumps(frame, skip, polarity, no_data, sigma)
        if fine is not None:
            return 1, fine[0], fine[1]
    return factor, sigma, largest


def _overview_factor(frame: np.ndarray, skip, polarity: str, no_data=None):
    """The factor to bin ``frame`` by before the auto method, and the particles' scale.

    The scale is measured on an overview: the frame binned by 2, or by more where that is
    still larger than the choice's crop (the whole frame seen, at a quarter of the cost). A
    packed texture of fine detail, which at full resolution can take the choice for itself
    (a 3 x up-sampled film of particles 25 px in radius gave a scale of 12.9 px for 27), is
    averaged down there. A frame whose largest searched scale could not be binned is not
    measured. A frame is binned only where at least ``ABOVE_NOISE`` blobs at the particles'
    scale stand above what white noise of its pixel noise reaches there once in ten frames
    (:func:`~napari_ivae.core.detection.particle_threshold.noise_floor`): on noise alone the
    choice's scale is any (up to a sixteenth of the frame). Nor where the strongest blobs at
    that scale lie on ridges (their median
    :func:`~napari_ivae.core.detection.particle_peak_shape.curvature_ratio` below ``RIDGE``): rods,
    whose length the scale then follows, not the width that binning must keep. Where the
    frame's central crop is a packed layer at full resolution
    (:func:`~napari_ivae.core.detection.packed.packed_phase`), the particles are no larger
    than its cells: particles too small for the overview merge there into clusters it takes
    for large particles (a film of necked particles of radius 6 px gave 20 px for 4). Nor where
    :func:`fine_population` finds particles too small for the overview, nor where, the
    overview's blobs counted only above its own texture with its phases redrawn (a support's
    slow clumps, which took its choice), it finds a denser population below the binned
    search's floor. A frame not binned, at least twice the choice's crop, whose overview
    resolves its particles, keeps the overview's scale to within one step of the overview's
    grid: the crop sees a part of the field (a dark catalyst at 2 x: ~12 of 47 particles,
    fewer than the choice's count of strongest peaks, and its vacuum pockets took the
    choice), the overview all of it, and a frame up-sampled by 2 binned by 2 is the frame at
    its own magnification.

    Parameters
    ----------
    frame : numpy.ndarray
        The frame with its annotation filled.
    skip : numpy.ndarray of bool, optional
        Pixels left out of the choice's statistics.
    polarity : {"auto", "bright", "dark"}
        As :func:`~napari_ivae.core.detection.particle_blobs.polarity_scale_and_response`.
    no_data : numpy.ndarray of bool, optional
        Pixels holding no data (padding), where no peak counts in the choice.

    Returns
    -------
    (int, float or None, float or tuple or None)
        The factor (1: the frame as it is), the particles' scale in the frame's pixels
        (None where it was not measured) and the largest scale the frame's own choice may
        take (None: any; set where the particles are too small for the overview), or the
        smallest and largest as a pair (a frame at least twice the choice's crop: one step
        of the overview's scale grid either side of its scale).
    """
    from napari_ivae.core.detection._filters import maximum_filter3
    from napari_ivae.core.detection.packed import packed_layer
    from napari_ivae.core.detection.particle_blobs import (
        CHOICE_SIDE,
        polarity_scale_and_response,
    )
    from napari_ivae.core.detection.particle_candidates import (
        SCALE_RANGE,
        SEARCH_FROM,
        blob_candidates,
        candidate_scales,
    )
    from napari_ivae.core.detection.particle_peak_shape import RIDGE, curvature_ratio
    from napari_ivae.core.detection.particle_scale_space import blob_scales
    from napari_ivae.core.detection.particle_scales import scale_space_from
    from napari_ivae.core.detection.particle_threshold import noise_floor
    from napari_ivae.core.detection.peaks import smoothed_noise
    from napari_ivae.core.detection.texture_null import textured_null_frame

    if SEARCH_FROM * float(blob_scales(frame.shape)[-1]) < 2 * SEARCH_PX:
        return 1, None, None
    overview = max(2, math.ceil(max(frame.shape) / CHOICE_SIDE))
    view = binned(frame, overview)
    view_skip = None if skip is None or not np.any(skip) else binned_mask(skip, overview)
    view_none = None if no_data is None or not np.any(no_data) else binned_mask(no_data, overview)
    found, view_sigma, scales, response, _ = polarity_scale_and_response(
        view, view_skip, polarity, view_none
    )
    sigma = overview * float(view_sigma)
    factor = max(1, int(SEARCH_FROM * sigma / SEARCH_PX))
    if factor == 1:
        # a frame whose choice's crop holds at most half of it: the crop sees a part of the
        # field (a quarter of a 2048-px frame), the overview all of it. Where the overview
        # resolves its particles (its scale above twice its smallest), the frame's own choice
        # may go finer than the overview could see, not coarser than the candidates' top of
        # the scale it saw there. A crop of most of the frame sees the same field (a 768 x
        # 1152 empty lacey film: bounded, 73 points on its strands for 20)
        seen = math.prod(min(n, CHOICE_SIDE) for n in frame.shape[-2:])
        if 2 * seen <= math.prod(frame.shape[-2:]) and view_sigma > 2 * float(scales[0]):
            if packed_layer(frame, skip):  # a layer's crop holds particles enough
                return 1, sigma, SCALE_RANGE[1] * sigma
            # the overview's scale is known to one step of its grid; the crop's choice keeps
            # within that step on either side: below it, an up-sampled frame's noise grain
            # took it (the dark catalyst at 2 x: 7.0 px for the overview's 10.6, noise grains
            # kept), above it the support's spheres (at 2 x with white noise: 18.4-25.4 px,
            # the smallest particles below the search)
            step = float(scales[1] / scales[0])
            return 1, sigma, (sigma / step, sigma * step)
        return 1, sigma, None
    # on a frame of noise alone the choice's scale is any: blobs at it must stand above what
    # white noise of the frame's pixel noise reaches there, or nothing is binned
    core = candidate_scales(view.shape, view_sigma)
    strength = blob_candidates(
        view, core, found, view_skip, response=scale_space_from(view, core, scales, response)
    )[2]
    area = float(view.size if view_skip is None else (~view_skip).sum())
    floor = noise_floor(smoothed_noise(view, 0.0, view_skip), area, core, found)
    if np.count_nonzero(strength > floor) < ABOVE_NOISE:
        return 1, sigma, None
    # elongated particles (rods) give their length's scale: their width, the small end, is what
    # binning must keep; their strongest blobs at that scale lie on ridges
    index = int(np.searchsorted(scales, view_sigma))
    if index < len(scales) and response is not None:
        signed = response[index] if found == "bright" else -response[index]
        rows, cols = np.nonzero((signed == maximum_filter3(signed)) & (signed > 0))
        top = np.argsort(signed[rows, cols])[
            -max(ABOVE_NOISE, int(np.count_nonzero(strength > floor))) :
        ]
        if np.median(curvature_ratio(signed, rows[top], cols[top])) < RIDGE:
            return 1, sigma, None
    # particles too small for the overview (a packed film of radius 6 px at 2 x: clusters of
    # unresolved ones) are no larger than their cells in a layer at full resolution
    layer = packed_layer(frame, skip)
    if layer is not None:
        sigma = min(sigma, float(layer[2]))
    factor = max(1, int(SEARCH_FROM * sigma / SEARCH_PX))
    if factor == 1:
        return 1, sigma, None
    # the overview averages away blobs smaller than its pixel: a population of them above the
    # noise, denser than the blobs it chose, is the particles (puncta on glowing cells)
    fine = fine_population(
        frame, skip, found, no_data, overview, np.count_nonzero(strength > floor) / area
    )
    if fine is not None:
        return 1, fine[0], fine[1]
    # ... and one the overview could see but did not choose: a support's slow clumps (thick
    # carbon under fine catalyst particles) stand far above white noise at their own scale and
    # took the choice. Its blobs are a population only as far as they stand above the
    # overview's texture with its phases redrawn, as the fine blobs must stand above theirs;
    # the particles are then those below the binned search's floor, which binning would lose
    drawn = textured_null_frame(view, view_skip)
    density = density_above_texture(strength, floor, drawn, core, found, area)
    fine = fine_population(frame, skip, found, no_data, overview, density, SEARCH_FROM * sigma)
    if fine is not None:
        return 1, fine[0], fine[1]
    return factor, sigma, None


def to_full(points, radius, factor: int, shape) -> tuple[np.ndarray, np.ndarray]:
    """Integer ``points`` and ``radius`` on a frame binned by ``factor`` as full-resolution
    pixels of a frame of ``shape`` (a block's centre)."""
    if factor == 1:
        return points, radius
    full = np.rint(np.asarray(points, dtype=np.float64) * factor + (factor - 1) / 2.0)
    full = np.clip(full, 0, np.asarray(shape) - 1).astype(np.asarray(points).dtype)
    return full, np.asarray(radius, dtype=np.float64) * factor


def labelled(signal, points, radius, keep, on_layer: bool, exclude_border: bool, rims: int = 0):
    """Labels and centres of the kept blobs, measured on ``signal`` (the particles' polarity
    positive) at its own resolution: a particle cut by the frame's edge placed from its
    outline (and dropped when ``exclude_border``), the blobs along one rod joined (not on a
    packed layer, ``on_layer``). ``keep`` is updated in place. The last ``rims`` blobs are
    particles whose centre was fitted to their bright rim
    (:func:`~napari_ivae.core.detection.particle_rims.one_per_rim`): one the frame's edge
    cuts keeps that centre and is kept when it lies inside the frame.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, numpy.ndarray, int)
        Labels, ``(n, 2)`` centres in label order, each kept blob's group, and how many were
        dropped at the edge.
    """
    from napari_ivae.core.detection import (
        particle_apex,
        particle_edges,
        particle_labels,
        particle_merge,
        particle_plateaus,
    )

    # a particle cut by the frame's edge is one blob with its mirror image, on the edge: its
    # centre from its outline inside the frame, before the edge rule reads it
    placed = particle_edges.cut_centres(signal, points[keep], radius[keep])
    fitted = (np.arange(len(points)) >= len(points) - rims)[keep]
    # a rim cut by the edge: its centre is the circle's through the crests inside the frame
    cut = fitted & particle_edges.cut_by_edge(placed, radius[keep], signal.shape)
    border_dropped = 0
    if exclude_border:
        clear = particle_edges.clear_of_edge(
            points[keep], placed, radius[keep], signal.shape, fitted=cut
        )
        cut = cut[clear]
        border_dropped = int((~clear).sum())
        keep[keep] = clear
        placed = placed[clear]
    labels = particle_labels.disc_labels(signal, points[keep], radius[keep])
    centres = particle_labels.blob_centres(signal, points[keep], radius[keep])
    centres = particle_apex.apex_centres(signal, centres, radius[keep])
    edge = particle_edges.on_edge(points[keep], signal.shape)
    centres[edge | cut] = placed[edge | cut]
    # the merge reads a cut particle where its outline puts it (a rod's cut end on the rod)
    at = points[keep].copy()
    at[edge] = np.rint(centres[edge]).astype(at.dtype)
    # blobs along one elongated particle (a rod) are one particle: no dip or waist between
    # them; not on a packed layer, whose overlapping neighbours keep both
    groups = (
        np.arange(int(keep.sum()))
        if on_layer
        else particle_merge.merge_groups(signal, at, radius[keep])
    )
    # blobs on one saturated plateau (a clipped top, a CCD's bloom streak) are one particle
    plateau = {}
    if not on_layer:
        groups, plateau = particle_plateaus.plateau_groups(signal, at, groups)
    labels, centres = particle_merge.merged(labels, centres, groups)
    for group, centre in plateau.items():
        centres[group] = centre
    return labels, centres, groups, border_dropped


def density_above_texture(strength, floor: float, drawn, scales, polarity: str, area: float):
    """How densely blobs of ``strength`` stand above ``floor`` and above the strongest blob of
    ``drawn`` (the frame's texture with its phases redrawn) at ``scales``: a support's clumps
    are a population of blobs only as far as they stand above their own texture."""
    from napari_ivae.core.detection.particle_candidates import blob_candidates

    texture = blob_candidates(drawn, scales, polarity)[2]
    stands = max(floor, float(texture.max()) if len(texture) else 0.0)
    return np.count_nonzero(strength > stands) / area


def fine_population(
    frame, skip, polarity: str, no_data, overview: int, density: float, below_scale=None
):
    """The scale of blobs too small for the overview, where they are the particles.

    The overview (``frame`` binned by ``overview``) cannot see blobs below its pixel: its
    smallest scale is ``overview`` times the frame's. The choice is made again on the frame's
    central crop among the scales below that (or below ``below_scale``, pixels, where given);
    its blobs there are a population of particles
    where more of them per pixel stand above white noise's floor
    (:func:`~napari_ivae.core.detection.particle_threshold.noise_floor`) and above the
    strongest blob of the crop's texture with its Fourier phases redrawn
    (:func:`~napari_ivae.core.detection.texture_null.textured_null_frame`) than ``density``
    (those of the overview's choice, per overview pixel, over ``overview ** 2``). The texture
    test keeps up-sampled frames binned: their noise, spread over several pixels, makes fine
    blobs above white noise's floor (a 3 x up-sampled film: 8012 of them, 1 above the
    texture's; sparse puncta: 133 of 671 on a cell-covered crop). The blobs must be round (the
    median :func:`~napari_ivae.core.detection.particle_peak_shape.curvature_ratio` of those
    above the floor at least ``RIDGE``): a support film's edge and its fringes make a fine
    ridge of them (a cryo-EM carbon edge: 0.36; puncta 0.90-0.94).

    Returns
    -------
    (float, float) or None
        The fine scale and the largest scale the choice may take, or None.
    """
    from napari_ivae.core.detection.detection_memo import remembered
    from napari_ivae.core.detection.particle_blobs import (
        choice_window,
        polarity_scale_and_response,
    )
    from napari_ivae.core.detection.particle_candidates import blob_candidates, candidate_scales
    from napari_ivae.core.detection.particle_peak_shape import RIDGE, curvature_ratio
    from napari_ivae.core.detection.particle_scale_space import blob_scales, scale_space
    from napari_ivae.core.detection.particle_threshold import noise_floor
    from napari_ivae.core.detection.peaks import smoothed_noise
    from napari_ivae.core.detection.texture_null import textured_null_frame

    scales = blob_scales(frame.shape)
    below = scales[scales < (overview * scales[0] if below_scale is None else below_scale)]
    if not len(below):
        return None
    largest = float(below[-1])
    found, sigma, _, _, _ = polarity_scale_and_response(frame, skip, polarity, no_data, largest)
    window = choice_window(frame.shape)
    crop = np.asarray(frame, dtype=np.float32)[window]
    crop_skip = None if skip is None or not np.any(skip) else np.asarray(skip, dtype=bool)[window]
    core = candidate_scales(crop.shape, sigma)
    points, _, strength = blob_candidates(crop, core, found, crop_skip)
    area = float(crop.size if crop_skip is None else (~crop_skip).sum())
    floor = noise_floor(smoothed_noise(crop, 0.0, crop_skip), area, core, found)
    # ... and above the strongest blob of the crop's own texture with its phases redrawn: an
    # up-sampled frame's texture (its noise spread over pixels) makes fine blobs of its own.
    # Drawn from the whole crop the blobs are counted on: a central quarter of it (the
    # surrogate's usual side) may hold none of the large particles whose texture makes such
    # blobs too (a dark-field film at 2 x: its grain's blobs passed a film-only quarter's 15,
    # not the crop's 57, and split 40-px particles)
    drawn = remembered("texture_null_crop", textured_null_frame, crop, crop_skip, max(crop.shape))
    texture = blob_candidates(drawn, core, found)[2]
    floor = max(floor, float(texture.max()) if len(texture) else 0.0)
    above = np.count_nonzero(strength > floor)
    if above < ABOVE_NOISE or above / area <= density / overview**2:
        return None
    # round blobs, not the fine ridge of an edge (a support film's, with its fringes)
    signed = scale_space(crop, np.array([sigma]))[0]
    signed = signed if found == "bright" else -signed
    strongest = points[strength > floor]
    ratio = float(np.median(curvature_ratio(signed, strongest[:, 0], strongest[:, 1])))
    if ratio < RIDGE:
        return None
    return float(sigma), largest


__all__ = [
    "SEARCH_PX",
    "bin_factor",
    "binned",
    "binned_mask",
    "density_above_texture",
    "labelled",
    "to_full",
]
