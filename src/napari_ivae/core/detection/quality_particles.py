"""The self-check of a particle detection (:func:`~napari_ivae.core.detection.quality.assess`'s
particles half): plain measures, and a warning when the result looks unreliable, naming the
parameter to try.

``count``, ``size_spread`` (coefficient of variation of the equivalent diameter),
``median_diameter``, ``border_dropped`` (particles left out at the frame's edge, by the
automatic method), ``polarity``, ``annotation_pixels`` (a masked scale bar) and
``ring_share`` (particles on rings around empty centres or one particle: a bright rim or
a defocus halo's fringes counted as several particles); ``region_edge`` (when most
particles are strung along one long step between two areas: a film's edge, its fringes);
``scan_lines`` (when most lie on single scan lines that stand above their neighbours);
on a packed layer ``points_per_cell`` (of its lattice over the frame: far more than one warns)
and ``points_per_layer_cell`` (over the area that holds the layer: far fewer than one warns).
An empty result whose blobs were all left out at the frame's edge, on a frame whose blobs
hold a separate strong population, warns too: the scale chosen may be a gradient's or a
support's edge, not the particles'.
"""

from __future__ import annotations

import numpy as np

from napari_ivae.core.detection.particle_region_edge import edge_warning
from napari_ivae.core.detection.particle_scan_lines import lines_warning
from napari_ivae.core.detection.particle_wakes import wake_warning
from napari_ivae.core.detection.quality import _annotation_note

MAX_SIZE_SPREAD = 0.6  # particle diameters varying more than this (CV): several populations?
LAYER_SPARSE = 0.65  # a packed layer's points per cell of its own area below this: it warns


def assess_particles(detections) -> dict:
    """Measures, warnings and notes of a particles result (see the module's docstring)."""
    resolved = detections.params.get("resolved")
    first = resolved[0] if isinstance(resolved, list) and resolved else resolved
    first = first if isinstance(first, dict) else {}
    dropped = int(first.get("border_dropped", 0))
    measures = {
        "count": len(detections),
        "polarity": first.get("polarity"),
        "border_dropped": dropped,
    }
    given = bool(detections.params.get("excluded_pixels"))
    notes = _annotation_note(int(first.get("annotation_pixels", 0)), measures, given)
    raised = float(detections.params.get("sensitivity", 1.0)) > 1.0  # the user's, not ours
    warnings = _texture_warning(int(first.get("texture_only", 0)), measures, raised)
    warnings += wake_warning(int(first.get("wakes", 0)), measures)
    if len(detections) == 0:
        if _separate_strong(first.get("mixture")):
            warnings += _edge_only_warning(dropped, first.get("scale_sigma"))
        return {"measures": measures, "warnings": warnings, "notes": notes}
    diameter = np.asarray(detections.column("equivalent_diameter"), dtype=np.float64)
    measures["median_diameter"] = round(float(np.median(diameter)), 2)
    spread = float(np.std(diameter) / np.mean(diameter)) if np.mean(diameter) > 0 else 0.0
    measures["size_spread"] = round(spread, 3)
    if len(detections) < 3:
        warnings.append(
            f"only {len(detections)} particles: check the polarity (--polarity) "
            "or try another method (--method)"
        )
    elif spread > MAX_SIZE_SPREAD:
        warnings.append(
            f"particle sizes vary widely (spread {spread:.0%}): there may be two "
            "populations or clusters counted as one; look at the labels, or set "
            "--min-size"
        )
    warnings += _ring_warning(detections, diameter, measures)
    warnings += edge_warning(int(first.get("region_edge", 0)), len(detections), measures)
    warnings += lines_warning(int(first.get("scan_lines", 0)), len(detections), measures)
    warnings += _crowded_warning(detections, resolved, measures, raised)
    warnings += _sparse_warning(detections, resolved, measures)
    return {"measures": measures, "warnings": warnings, "notes": notes}


def _separate_strong(mixture) -> bool:
    """Whether the candidates' log-strengths held a population of blobs standing, as a whole,
    ``NULL_Z`` of the weak population's spreads above it (the detector's own null): the frame
    holds structure. A frame of noise alone measures 0.7-1.3 spreads between the two (its
    mixture splits one population), cryo-EM beside a carbon edge 2.5."""
    from napari_ivae.core.detection.particle_threshold import NULL_Z

    if not isinstance(mixture, dict) or "weak" not in mixture or "strong" not in mixture:
        return False
    weak, strong = mixture["weak"], mixture["strong"]
    return bool(strong[0] - weak[0] >= NULL_Z * weak[1])


def _edge_only_warning(dropped: int, sigma) -> list:
    """Nothing is kept, though the frame holds a population of strong blobs, and every blob
    kept touched the frame's edge: the scale chosen may be a gradient's or a support's, not
    the particles' (cryo-EM with a carbon edge: 5 blobs at sigma 20 px, none of ~130
    particles)."""
    if not dropped:
        return []
    scale = f" (about {2 * np.sqrt(2) * sigma:.0f} px across)" if sigma else ""
    return [
        f"no particle found inside the frame: the {dropped} found{scale} all touch its edge "
        "and were left out; they may be a gradient or a support's edge, not particles; look "
        "at them (--keep-border); any particles elsewhere in the frame are too faint for the "
        "defaults (raise --sensitivity)"
    ]


def _texture_warning(dropped: int, measures: dict, raised: bool = False) -> list:
    """The kept blobs were no more and no stronger than the frame's own texture's maxima
    (:mod:`~napari_ivae.core.detection.particle_texture`): perhaps an empty film, or the
    texture's blobs let in by a ``sensitivity`` raised above 1 (``raised``)."""
    if not dropped:
        return []
    measures["texture_only"] = dropped
    return [
        f"the {dropped} particles found are no stronger and no more frequent than the blobs of "
        "the frame's own texture with its phases redrawn: it may show no particles (an "
        "amorphous film); if it does hold particles, check them, "
        + ("lower --sensitivity, " if raised else "")
        + "set --polarity or try --method otsu"
    ]


def _ring_warning(detections, diameter, measures: dict) -> list:
    """Particles found on rings around empty centres or one particle (one particle with a
    bright rim or a halo's fringes counted as several,
    :mod:`~napari_ivae.core.detection.particle_rings`); measured on the frame with the most
    particles."""
    from napari_ivae.core.detection.particle_rings import RING_SHARE, ring_shares

    frames, counts = np.unique(detections.coords[:, 0], return_counts=True)
    mine = detections.coords[:, 0] == frames[np.argmax(counts)]
    share, cored = ring_shares(detections.coords[mine, 1:], diameter[mine])
    measures["ring_share"] = round(share, 3)
    if share < RING_SHARE:
        return []
    # a threshold method fills each rim's inside: the way out, unless it was used already
    auto = detections.params.get("method", "auto") == "auto"
    other = ", or try --method otsu" if auto else ""
    polarity = measures.get("polarity")
    if 2 * cored >= share and polarity in ("bright", "dark"):
        # fringes round found cores: the halos are the other polarity's, and its threshold
        # takes each halo with the core it rings (measured: colloids on both sides of focus,
        # none in it, P 1.0, R 0.97-1.0 with --method otsu --polarity dark; 0.05 / 0.5 auto)
        flipped = "dark" if polarity == "bright" else "bright"
        other = f", or try{' --method otsu' if auto else ''} --polarity {flipped}"
    return [
        f"{share:.0%} of the particles sit on rings around empty centres or around one "
        "particle: a particle with a bright rim (secondary electrons, a hollow or core-shell "
        "particle) or the fringes of a defocused particle's halo may be counted several "
        f"times; look at the overlay{other}"
    ]


def _crowded_warning(detections, resolved, measures: dict, raised: bool = False) -> list:
    """More points on a packed layer's frame than its lattice has cells: a monolayer holds
    one particle per cell at most (:func:`~napari_ivae.core.detection.packed_period.
    lattice_cells`, from the spectrum's ring, not from the points), so ``LAYER_CROWDED`` x as
    many means most points are not particles: the noise's grains (a frame up-sampled from a
    coarser camera, whose noise is correlated at the particles' scale) or the particles'
    detail. The measure is the most crowded frame's points per cell; ``raised``: the user's
    ``sensitivity`` above 1 (lowering it is the first thing to try)."""
    from napari_ivae.core.detection.packed_period import LAYER_CROWDED

    crowded = _points_per_cell(detections, resolved)
    if not crowded:
        return []
    share, cells = max(crowded)
    measures["points_per_cell"] = round(share, 2)
    if share < LAYER_CROWDED:
        return []
    return [
        f"{share:.1f} points per cell of the packed layer's own lattice (its spectrum's ring: "
        f"room for about {cells:.0f} particles): most points are not particles but the "
        "noise's grains (an up-sampled frame or correlated noise) or the particles' detail; "
        "look at the overlay; "
        + ("a lower --sensitivity, " if raised else "")
        + "an up-sampled image binned back to its camera's pixels, or "
        "--method otsu, may find the particles"
    ]


def _sparse_warning(detections, resolved, measures: dict) -> list:
    """Fewer than ``LAYER_SPARSE`` points per cell of a packed layer's lattice over the area
    where the frame holds the layer (:func:`~napari_ivae.core.detection.layer_candidates.
    layer_share`): a monolayer holds about one particle per cell there, less its vacancies;
    far fewer means patches of the layer were missed, its particles at the noise floor (an
    in-situ film at a low dose). The measure is the sparsest frame's. Measured on the
    held-out-like liquid-cell films (``stranger_heldlike`` seeds 0-26, 24 of them on the
    layer's cut): 0.78-0.89 where the row passes or nearly (recall 0.95-1.0), 0.50 on the one
    that lost 45 % of its particles in patches (seed 9, recall 0.55)."""
    sparse = _points_per_cell(detections, resolved, over_layer=True)
    if not sparse:
        return []
    share, cells = min(sparse)
    measures["points_per_layer_cell"] = round(share, 2)
    if share >= LAYER_SPARSE:
        return []
    return [
        f"only {share:.0%} of the packed layer's cells hold a point (room for about "
        f"{cells:.0f} particles where the frame holds the layer): patches of the layer may be "
        "missed, its particles at the noise floor (a low dose); look at the overlay; a higher "
        "--sensitivity finds a few more of them, and noise"
    ]


def _points_per_cell(detections, resolved, over_layer: bool = False) -> list:
    """``(points per cell, cells)`` of each frame on a packed layer's lattice
    (``layer_cells``); ``over_layer``: the cells over the area holding the layer only
    (``layer_share`` of them), frames without that area left out."""
    frames = resolved if isinstance(resolved, list) else [resolved]
    index = detections.coords[:, 0]
    out = []
    for number, used in enumerate(frames):
        cells = used.get("layer_cells") if isinstance(used, dict) else None
        share = used.get("layer_share") if over_layer and cells else 1.0
        if cells and share:
            cells = float(cells) * float(share)
            out.append((int(np.sum(index == number)) / cells, cells))
    return out


__all__ = ["assess_particles"]
