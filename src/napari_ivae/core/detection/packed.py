"""Packed particle layers (nanoparticle films): which phase is the particles, and their scale.

On a film the particles cover most of the frame and the background is a network of thin gaps
between them. The blob statistic of :mod:`~napari_ivae.core.detection.particle_blobs` measures
how sparse the strongest blobs are against the bulk of the response, and on a layer the
particles are the bulk: the compact pockets of the gaps between three particles, or slow
fluctuations above the lattice's period, then stand out more than the particles do. Area and
levels cannot say which phase is the particles (they cover 60-75 % of the frame); the phases'
shapes can (:func:`packed_phase`): particles are compact pieces of one phase, the gaps one
connected network of the other.

:func:`packed_phase` finds a layer, its polarity and two scales (the pieces' and the cell's);
:func:`_packed_choice` picks the polarity and scale of
:func:`~napari_ivae.core.detection.particle_blobs.polarity_scale_and_response` on a layer;
:func:`packed_layer` is :func:`packed_phase` on the crop that choice is made on (the detector cuts
a layer's candidates at the noise floor, the contrast warning stays silent on one). At a low dose
(in-situ films under liquid) the floor stands at the particles' own level: :func:`layer_floors`
lowers it per scale as far as a false discovery rate allows, and :func:`hidden_by_failing` brings
back the particles that noise maxima failing their own cut had hidden; below the floor,
:func:`off_layer` tells the particles on the layer from the noise of an area it does not cover.
"""

from __future__ import annotations

import numpy as np

from napari_ivae.core.detection.detection_memo import remembered
from napari_ivae.core.detection.packed_pieces import _holding_area, _pieces
from napari_ivae.core.detection.particle_blobs import choice_window
from napari_ivae.core.detection.particle_candidates import SCALE_RANGE

PACKED_SMOOTH = 1.0  # a packed layer's phases: the frame smoothed by this (px), cut at Otsu
PACKED_MIN_AREA = 5  # ... pieces of a phase counted from this many pixels
PACKED_PIECES = 30  # ... the particles' phase in at least this many pieces
PACKED_LARGEST = 0.5  # ... its largest piece at most this share of the phase (no network)
PACKED_NETWORK = 0.9  # ... the other phase's largest piece at least this share (the gaps)
PACKED_THIN = 0.8  # ... or that phase thinner: its mean depth at most this x the particles'
PACKED_COVER = 0.35  # ... the particles' phase at least this share of the frame (a layer)
PACKED_HELD = 0.25  # ... their size from pieces at least this x the median pixel's piece
PACKED_HELD_PIECES = 10  # ... and at least this many such pieces (not a slow field's few hills)
PACKED_APART = 0.85  # ... their centres at least this x twice their inscribed radius apart
PACKED_FLATTEN = 1 / 16  # ... else less its slow variation: a Gaussian of this x the smaller side
PACKED_PART = 0.25  # ... or on a side of the slow variation's Otsu level holding this share
PACKED_FALSE = 0.01  # on a layer, white noise gives at most this share of the candidates kept
PACKED_WEAK = 0.5  # on a layer a mixture's weak component holding more: the particles split
LAYER_REACH = 1.5  # on a layer, neighbours lie within this x the median nearest-neighbour distance
LAYER_GROUP = PACKED_HELD_PIECES  # ... a particle below the noise floor in a group of this many


def packed_layer(frame: np.ndarray, skip=None) -> tuple[str, float, float] | None:
    """:func:`packed_phase` of the choice's central crop less ``skip`` (memoised: one per frame)."""
    window = choice_window(frame.shape)
    crop = np.asarray(frame, dtype=np.float32)[window]
    use = np.ones(crop.shape, dtype=bool) if skip is None else ~np.asarray(skip)[window]
    return remembered("packed_phase", packed_phase, crop, use)


def packed_phase(
    frame: np.ndarray, use=None, rescale: bool = True
) -> tuple[str, float, float] | None:
    """Polarity and two blob sigmas of particles packed into a layer (their pieces' and the
    one that fills their cell), or None when the frame is not one.

    The frame, smoothed by ``PACKED_SMOOTH`` px, is cut at its Otsu level into a bright and a
    dark phase (``use`` False: in neither). Particles are compact pieces of one phase whatever
    share of the frame they cover; the background between them is one connected network, even
    where it is the minority (thin gaps between touching particles). A layer: one phase in at
    least ``PACKED_PIECES`` pieces of ``PACKED_MIN_AREA`` px or more that cover at least
    ``PACKED_COVER`` of the frame, its largest piece at most ``PACKED_LARGEST`` of the phase,
    and the other phase the gaps: its largest piece at least ``PACKED_NETWORK`` of its own (one
    network), or, where necked neighbours break the gaps into pockets, thinner: the mean of
    its distance transform at most ``PACKED_THIN`` x the particles' phase's. Noise, a textured
    support or a low dose cut at one level gives large pieces on both sides, and the two
    phases alike (mean depths 0.96-1.2 x each other on 319 noise, texture and particle
    frames; gaps 0.64-0.88 x the particles'); sparse particles too little cover. A support's
    slow field cut at one level gives a few broad hills among the noise's crumbs: at least
    ``PACKED_HELD_PIECES`` pieces must hold the phase (see below; 30-940 on monolayers, 3 there).
    Where neither cut finds a layer, the test runs on each side of the slow variation's Otsu
    level (:func:`_film_parts`): a film over part of the frame beside bare liquid, whose noise
    crumbs cut at the whole frame's level stood closer than any particle's pieces. Where
    no level finds one either, the tests run on the curvature
    (:func:`~napari_ivae.core.detection.packed_curvature.curvature_layer`): gaps narrower
    than the blur, which no level keeps whole.

    The sigma is the median inscribed radius (the distance transform's maximum) of the pieces
    that hold the phase (at least ``PACKED_HELD`` x the piece holding its median pixel: noise
    leaves many small pieces that hold little area), over sqrt 2. Touching particles merged
    into one piece keep their own width: pieces' areas gave 1.3-1.5 x the particles' sigma at
    gaps of 0.5-1 px, inscribed radii 0.65-0.9 x: the level the frame is cut at decides). The
    cell's sigma: half the median distance between neighbouring particle centres (the distance
    transform's maxima, so that merged particles count apart), over sqrt 2: a particle that
    fills its cell, whatever the level about the largest a particle can be.
    """
    from napari_ivae.core.detection._filters import gaussian_smooth

    smooth = gaussian_smooth(frame, PACKED_SMOOTH)
    use = np.ones(frame.shape, dtype=bool) if use is None else np.asarray(use, dtype=bool)
    found = _layer_phase(smooth, use)
    if found is None:
        # a background that varies slowly (a liquid's thickness, the illumination, an empty
        # patch of the film) breaks the phases cut at one level: cut it less its slow variation
        slow = _slow_variation(smooth, use)
        flattened = smooth - slow
        found = _layer_phase(flattened, use)
        # a film over part of the frame beside bare liquid: the layer test on each side of
        # the slow variation's Otsu level, at that side's own level
        for part in _film_parts(slow, use) if found is None else ():
            found = _layer_phase(flattened, part)
            if found is not None:
                break
    if found is None:
        # gaps narrower than the blur: no level keeps them whole, their curvature does
        from napari_ivae.core.detection.packed_curvature import curvature_layer

        found = curvature_layer(frame, use)
    if found is None and rescale:
        # a layer at another magnification: tested again at the period the test was set on
        from napari_ivae.core.detection.packed_period import rescaled_layer

        found = rescaled_layer(frame, use)
    return found


def _film_parts(slow: np.ndarray, use: np.ndarray) -> list[np.ndarray]:
    """The ``use`` pixels below and above the Otsu level of ``slow``, each where it holds at
    least ``PACKED_PART`` of them.

    A film's particles shift the frame's slow average (dark ones down, bright ones up) from
    the bare liquid's beside it: half a frame of dark discs (r 5 px, gaps 2.5 px, 8 counts a
    pixel) beside liquid was a layer on 3 of 9 seeds cut over the whole frame (the liquid's
    noise crumbs, held pieces 3.6 px apart, pulled the pieces' spacing below
    ``PACKED_APART``), on 9 of 9 on the film's side. Either side is tried: bright particles
    raise it. On the 329 frames of the particle benchmarks (robustness, monolayers, the
    three stranger generators, empty frames) and Ru1/PtCo1 no layer is found this way that
    was none before (two real atom lattices are, in particle mode).
    """
    from skimage.filters import threshold_otsu

    values = slow[use]
    if values.size == 0 or not values.max() > values.min():
        return []
    level = threshold_otsu(values)
    parts = [(slow <= level) & use, (slow > level) & use]
    return [part for part in parts if part.sum() >= PACKED_PART * use.sum()]


def _slow_variation(smooth: np.ndarray, use: np.ndarray) -> np.ndarray:
    """``smooth``'s average over the ``use`` pixels around each pixel: a Gaussian of
    ``PACKED_FLATTEN`` of the frame's smaller side (the largest blob scale searched)."""
    from napari_ivae.core.detection._filters import smooth_background

    width = min(smooth.shape) * PACKED_FLATTEN
    weight = smooth_background(use.astype(np.float32), width)
    total = smooth_background(np.where(use, smooth, 0.0).astype(np.float32), width)
    return np.divide(total, weight, out=np.zeros_like(total), where=weight > 1e-3)


def _layer_phase(
    smooth: np.ndarray, use: np.ndarray, names=("bright", "dark"), regular: bool = False
) -> tuple[str, float, float] | None:
    """:func:`packed_phase` on the smoothed frame ``smooth``, the particles one of ``names``'
    phases; ``regular``: their centres must also pass
    :func:`~napari_ivae.core.detection.packed_curvature.regular_layer`."""
    from scipy import ndimage
    from scipy.spatial import cKDTree
    from skimage.filters import threshold_otsu

    from napari_ivae.core.detection.packed_curvature import regular_layer
    from napari_ivae.core.detection.spaced_peaks import spaced_peaks

    values = smooth[use]
    if values.size == 0 or not values.max() > values.min():
        return None
    level = threshold_otsu(values)
    phases = {"bright": (smooth > level) & use, "dark": (smooth <= level) & use}
    pieces: dict = {}  # each phase labelled once needed: not for a cover or a presence test
    for name, other in (("bright", "dark"), ("dark", "bright")):
        if name not in names:
            continue
        # the phase's pixels are its pieces' areas together; the other phase has pieces if any
        cover = int(np.count_nonzero(phases[name]))
        if not (cover >= PACKED_COVER * use.sum() and phases[other].any()):
            continue
        labels, areas = _pieces(phases, name, pieces)
        large = areas >= PACKED_MIN_AREA
        if large.sum() >= PACKED_PIECES and areas.max() <= PACKED_LARGEST * areas.sum():
            # (tested before the distance transforms, the costly part: PtCo1's film parts
            # pass the pieces' tests above and fail this one)
            held = large & (areas >= PACKED_HELD * _holding_area(areas))
            if held.sum() < PACKED_HELD_PIECES:
                continue  # a few large hills (a support's slow field) and noise crumbs
            distance = ndimage.distance_transform_edt(phases[name])
            around = _pieces(phases, other, pieces)[1]
            if around.max() < PACKED_NETWORK * around.sum() and not (
                ndimage.distance_transform_edt(phases[other])[phases[other]].mean()
                <= PACKED_THIN * distance[phases[name]].mean()
            ):
                continue
            # each held piece's inscribed radius (a piece's distances are all above 0)
            deepest = np.zeros(len(areas) + 1)
            np.maximum.at(deepest, labels.ravel(), distance.ravel())
            inscribed = deepest[1:][held]
            # one centre per particle, also where touching ones merged into one piece: the
            # distance transform's maxima at least half the pieces' inscribed radius deep
            depth = float(np.median(inscribed))
            centres = spaced_peaks(
                np.where(np.concatenate([[False], held])[labels], distance, 0.0),
                max(1, int(round(0.5 * depth))),
                0.5 * depth,
            )
            apart = cKDTree(centres).query(centres, k=2)[0][:, 1] if len(centres) > 1 else [0.0]
            if np.median(apart) < PACKED_APART * 2.0 * depth:
                continue  # pieces no particle fills: noise's or a texture's irregular ones
            if regular and not regular_layer(centres):
                continue
            return (
                name,
                float(depth / np.sqrt(2.0)),
                float(np.median(apart) / (2.0 * np.sqrt(2.0))),
            )
    return None


def _packed_choice(best, measured, scales, name, sigma, cell):
    """The pair (strength, polarity, scale index) for a packed layer of ``name``'s particles
    whose pieces give ``sigma`` and whose cells ``cell``: ``best`` where it is of that polarity
    and from ``SCALE_RANGE[0]`` to ``SCALE_RANGE[1]`` x ``cell``, else that polarity's measured
    pair nearest ``sigma``.

    Nearest, not the strongest: on a packed layer the statistic grows with the scale until it
    averages over neighbours (the lead's dark spheres of radius 9 px, gaps of 0.5 px: sigma 8.0
    found 84 % of the particles, the nearest to the pieces', 5.04 px, 98 %). ``best`` where it
    fits the cell: there the choice was right, and at a low dose the smaller scale of the
    pieces (0.65 x the particles' there) lost recall to the noise (bright, r9, gaps of 0.5 px,
    dose 20: 0.96-0.99 at 8.32 px, 0.82-0.83 at 4.41 px)."""
    low, high = SCALE_RANGE[0] * cell, SCALE_RANGE[1] * cell
    if best[1] == name and low <= scales[best[2]] <= high:
        return best
    inside = [item for item in measured if item[1] == name and item[0] > -np.inf]
    if not inside:
        return best
    return min(inside, key=lambda item: abs(np.log(scales[item[2]] / sigma)))


def weak_majority(mixture: dict) -> bool:
    """Whether the weak component of a packed layer's candidate mixture
    (:func:`~napari_ivae.core.detection.particle_threshold.particle_cut`) holds more than
    ``PACKED_WEAK`` of them: then it is no background but the particles' own strengths split
    in two (on a layer every cell holds a particle, and the candidates at the particles' scale
    are foremost the particles), and its cut would fall inside them. Measured: the weak
    component holds 0.01-0.18 of the candidates on 54 of the 55 monolayer images, 0.70 on the
    one whose cut kept a third of the particles (bright, r 9 px, gaps of 1 px, necked)."""
    return bool(mixture) and mixture["weak"][2] > PACKED_WEAK


def hidden_by_failing(candidates, every, scales, scale_cut):
    """``candidates`` (points, sigmas, strengths: overlaps settled), and those of ``every``
    (the same search with overlaps kept) that pass their scale's cut and overlap no candidate
    that passes its own.

    Near the floor a noise maximum at a smaller scale inside a particle, stronger than the
    particle but below its own scale's cut, took the particle's place before the cut and then
    failed it (the third generator's liquid-cell films: recall 0.74-0.81 so, 0.89-0.94 with
    them back). The candidates that pass keep what they were; those the failing ones hid join
    them, their own overlaps settled with the rest
    (:func:`~napari_ivae.core.detection.particle_auto.judged`).
    """
    from scipy.spatial import cKDTree

    from napari_ivae.core.detection.particle_candidates import OVERLAP

    points, sigma, strength = candidates
    more, more_sigma, more_strength = every

    def passing(at_sigma, at_strength):
        return at_strength >= scale_cut[np.searchsorted(scales, at_sigma)]

    shown = passing(sigma, strength)
    hidden = passing(more_sigma, more_strength)
    if not hidden.any():
        return candidates
    if shown.any():
        radius, more_radius = np.sqrt(2.0) * sigma[shown], np.sqrt(2.0) * more_sigma[hidden]
        reach = OVERLAP * max(float(radius.max()), float(more_radius.max()))
        pairs = cKDTree(more[hidden].astype(np.float64)).sparse_distance_matrix(
            cKDTree(points[shown].astype(np.float64)), reach, output_type="ndarray"
        )
        first, second = pairs["i"], pairs["j"]
        overlap = pairs["v"] < OVERLAP * np.maximum(more_radius[first], radius[second])
        covered = np.zeros(len(more_radius), dtype=bool)
        covered[first[overlap]] = True
        hidden[np.flatnonzero(hidden)[covered]] = False
    return (
        np.concatenate([points, more[hidden]]),
        np.concatenate([sigma, more_sigma[hidden]]),
        np.concatenate([strength, more_strength[hidden]]),
    )


def off_layer(points, confident, structure=None) -> np.ndarray:
    """Which of the particles found on a packed layer (``points``) lie off it: not
    ``confident`` (below the white-noise floor, kept on the layer's false discovery rate
    alone) and in a group of fewer than ``LAYER_GROUP``, a group being the particles linked by
    steps of at most ``LAYER_REACH`` x their median nearest-neighbour distance (on a layer the
    nearest neighbours link, beyond gaps of one missed particle, sqrt 3 x that, none).

    The false discovery rate of :func:`layer_floors` holds over a layer of many particles; an
    area of the frame the layer does not cover (an empty patch of liquid, at a low dose) holds
    only noise at that level, scattered farther apart than the layer's neighbours: the third
    generator's liquid-cell film (seed 0) had 40 false points in one empty patch at 8 counts a
    pixel, 26 of them in such small groups (the others chain to the film's edge through one
    another); its particles below the floor all lie in the film's one large group.

    Parameters
    ----------
    points : numpy.ndarray
        ``(N, 2)`` (row, col) of the particles kept on the layer.
    confident : numpy.ndarray of bool
        ``(N,)`` True where a particle stands above the white-noise floor (kept wherever).
    structure : numpy.ndarray, optional
        ``(N,)`` :func:`~napari_ivae.core.detection.layer_candidates.layer_area` at each
        particle: below ``LAYER_NOISE`` the frame around holds noise alone, and a particle
        below the floor there is off the layer whatever its group. Counting noise grows with the
        signal: an empty patch of bright liquid beside a film of dark particles is noisier
        than the frame's pixel noise (the particles'), and its noise maxima stand close
        enough to link into groups (a film of r 8 px discs at 5 counts a pixel: about 300
        such points in the liquid).

    Returns
    -------
    numpy.ndarray
        ``(N,)`` bool, True where a particle lies off the layer.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    from napari_ivae.core.detection.layer_candidates import LAYER_NOISE

    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    confident = np.asarray(confident, dtype=bool)
    outside = np.zeros(len(points), dtype=bool)
    if structure is not None:
        outside = ~confident & (np.asarray(structure) < LAYER_NOISE)
    if len(points) < 2:
        return ~confident
    tree = cKDTree(points)
    reach = LAYER_REACH * float(np.median(tree.query(points, k=2)[0][:, 1]))
    pairs = tree.query_pairs(reach, output_type="ndarray")
    links = coo_matrix(
        (np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(points), len(points))
    )
    group = connected_components(links, directed=False)[1]
    return outside | (~confident & (np.bincount(group)[group] < LAYER_GROUP))


def layer_floors(strength, sigma, pixel_noise: float, area: float, scales) -> np.ndarray:
    """Per scale of ``scales``, the lowest blob strength on a packed layer at which white noise
    of ``pixel_noise`` would give at most ``PACKED_FALSE`` of the candidates at or above it
    (``inf`` where no candidate strength does).

    The noise floor (:func:`~napari_ivae.core.detection.particle_threshold.noise_floor`) is
    the level white noise reaches 0.1 times in the frame at any scale searched, whatever the
    number of particles: on a layer of a thousand particles a false point per ten thousand,
    set by the smallest scale's noise, and at a low dose the particles themselves stand at
    about that level (an in-situ Au film at 8-24 counts a pixel: none kept). Here each scale's
    candidates (``strength`` at ``sigma``) are cut by the step-up rule of a false discovery
    rate: the lowest strength above which white noise's expected count at that scale is at
    most ``PACKED_FALSE`` x the candidates there. The count is taken high: every blob site of
    the scale (``area`` over a blob's disc) exceeding the level by itself, its response a
    Gaussian of standard deviation ``pixel_noise / (sqrt(2 pi) sigma)`` (that of
    ``-sigma^2 LoG`` on white noise).
    """
    from scipy.special import ndtr

    strength, sigma = np.asarray(strength, dtype=np.float64), np.asarray(sigma)
    levels = np.full(len(scales), np.inf)
    if not pixel_noise > 0:
        return levels
    for index, scale in enumerate(scales):
        here = np.sort(strength[sigma == scale])[::-1]
        if not len(here):
            continue
        spread = pixel_noise / (np.sqrt(2.0 * np.pi) * scale)
        sites = area / (2.0 * np.pi * scale**2)
        expected = sites * ndtr(-here / spread)
        within = np.flatnonzero(expected <= PACKED_FALSE * np.arange(1, len(here) + 1))
        if len(within):
            levels[index] = here[within[-1]]
    return levels
