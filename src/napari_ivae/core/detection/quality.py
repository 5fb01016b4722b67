"""A self-check of every detection: plain measures, and a warning when the result looks
unreliable, naming the parameter to try.

Atoms
    An empty result whose every peak fell below the automatic contrast cut says that nothing
    stands out from the noise (a frame of noise gives peaks, none of them atoms), or, with no
    lattice periodicity, from the frame's own texture (an amorphous film).
    ``median_snr`` (the found atoms' contrast over the smoothed noise), ``weak_share`` (atoms
    below SNR 3), ``on_lattice`` (share of atoms whose nearest neighbour sits at 0.8-1.25
    spacings: a consistent spacing), ``bragg`` (the points' strongest structure-factor peak and
    the strongest in another direction: a 2D lattice has both, fringes only one),
    ``spacing_source``, ``annotation_pixels`` (a masked scale bar). Atoms closer than the
    spacing are no warning where the points themselves form a lattice at it (their strongest
    Bragg peak at least ``MOTIF_PEAK``, and a peak in another direction too): a motif of
    several columns per site, as Si [110] dumbbells. A spacing from the spots' size in a crop
    of a few cells (``periods_across``: the frame under ``PERIODS_SEEN`` of the atoms' own
    distance across, too small for the spacing search) is a note, not a warning.
Particles
    :mod:`~napari_ivae.core.detection.quality_particles`.

The thresholds are deliberately loose: a warning means "look at the overlay", not "wrong".
A note (``notes``) is information that says nothing about the result's reliability: a masked
scale bar or data bar.
"""

from __future__ import annotations

import numpy as np

from napari_ivae.core.detection.lattice_choice import lattice_choice_warnings
from napari_ivae.core.detection.lattice_directions import ONE_DIRECTION
from napari_ivae.core.detection.quality_frame import NOT_COLUMNS

LOW_SNR = 3.0  # atoms below this contrast over the noise are hard to tell from noise
MIN_ON_LATTICE = 0.5  # fewer atoms than this at a consistent spacing: the spacing is suspect
FEW = 10
ONE_DISTANCE_SHARE = 0.8  # a crop of a lattice: its atoms' nearest neighbours at one distance
# points ordered along one direction only: its peak this strong (1 = a perfect lattice) while
# every other direction's stays below this share of it (a 2D lattice's measured 0.4-1.0)
ONE_DIRECTION_PEAK = 0.1
ONE_DIRECTION_SHARE = 0.2
# points whose structure factor peaks at least this high are ordered on the lattice (a share f
# of the points on it gives about f^2; a two-column motif lowers some peaks, not all): Si [110]
# dumbbells measure 0.58-0.70, a moire's two layers 0.18-0.20, a mains hum's distorted lattice
# 0.25-0.27, Penrose vertices 0.16-0.23, networks <= 0.03
MOTIF_PEAK = 0.4
SAMPLE = 2000  # atoms whose neighbours are looked at (a large frame holds 10^5)
# the atoms warnings (automatic spacing) that an image of particles gives too: a handful of
# "atoms" at an automatic spacing is a few large spots as often (a few nuclei: 3 at 51 px), and
# none at all is too (ImageJ's blobs, flat-topped and 8-bit: a 2.1 px "spacing", no peak kept)
NO_LATTICE_SIGNS = (
    "no lattice periodicity",
    "nothing stands out from",
    "nearest neighbour near the spacing",
    NOT_COLUMNS,
    "atoms: check the spacing",
)


def suggests_particles(warnings) -> bool:
    """Whether an atoms run's warnings say that no lattice was found: the image may show
    particles (the command line and the Detect widget then suggest the particles mode)."""
    return any(sign in str(w) for w in warnings for sign in NO_LATTICE_SIGNS)


def assess(detections, mode: str, frame_shape: tuple | None = None, frame=None) -> dict:
    """Measures and warnings for a detection result.

    Parameters
    ----------
    detections : Detections
        The result of :func:`~napari_ivae.core.detection.atoms.detect_atoms` or
        :func:`~napari_ivae.core.detection.particles.detect_particles`.
    mode : {"atoms", "particles"}
        Which detector made it.
    frame_shape : tuple of int, optional
        A frame's (rows, cols), where known: atoms whose spacing came from their spots' size
        in a frame too small for the spacing search to see their lattice (fewer than
        ``PERIODS_SEEN`` of their own distances across) are then told so in a note.
    frame : numpy.ndarray, optional
        The (first) prepared frame, where known: atoms at an automatic spacing are then also
        checked against the frame's own order
        (:mod:`~napari_ivae.core.detection.quality_frame`).

    Returns
    -------
    dict
        ``measures`` (plain numbers and strings), ``warnings`` (a list of one-line
        sentences; empty when nothing looks wrong) and ``notes`` (one-line sentences of
        information that says nothing about the result's reliability, as a masked scale bar).
    """
    if mode == "atoms":
        return _assess_atoms(detections, frame_shape, frame)
    from napari_ivae.core.detection.quality_particles import assess_particles

    return assess_particles(detections)


def _assess_atoms(detections, frame_shape=None, frame=None) -> dict:
    from napari_ivae.core.detection.atom_defaults import FAINT_RING
    from napari_ivae.core.detection.quality_frame import frame_doubts

    params = detections.params
    spacing = float(params.get("spacing", np.nan))
    measures = {
        "count": len(detections),
        "spacing": round(spacing, 3),
        "spacing_source": params.get("spacing_source", ""),
    }
    notes = _annotation_note(
        int(params.get("annotation_pixels", 0)), measures, bool(params.get("exclude"))
    )
    warnings: list = []
    few = False  # a crop of a few cells, too small for the spacing search
    if ONE_DIRECTION in str(measures["spacing_source"]):
        warnings.append(
            "the frame is periodic along one direction only (lattice fringes of one set of "
            "planes, or scan-line offsets): no lattice of atom columns, so that periodicity "
            "was taken out and the rest searched for separate spots; if the columns are "
            "resolved (a zone axis), give --spacing"
        )
    elif str(measures["spacing_source"]).startswith("blob scale"):
        spots = "dark" if params.get("invert") else "bright"  # the atoms' sign, as detected
        ring = (
            ", no farther apart than a faint ring in the spectrum allows"
            if measures["spacing_source"] == FAINT_RING
            else ""
        )
        sentence = (
            "no lattice periodicity was found, so the spacing comes from the size "
            f"of the {spots} spots{ring}; if the atoms sit on a lattice, give --spacing"
        )
        few = _few_periods(detections, spacing, frame_shape, measures)
        (notes if few else warnings).append(sentence)
    if len(detections) == 0:
        return {"measures": measures, "warnings": _below_noise(params) + warnings, "notes": notes}
    snr = np.asarray(detections.column("snr"), dtype=np.float64)
    measures["median_snr"] = round(float(np.median(snr)), 2) if np.isfinite(snr).any() else None
    measures["weak_share"] = round(float(np.mean(snr < LOW_SNR)), 3)
    measures["on_lattice"] = _on_lattice_share(detections, spacing)
    if measures["median_snr"] is not None and measures["median_snr"] < LOW_SNR:
        warnings.append(
            f"the atoms barely stand out from the noise (median SNR "
            f"{measures['median_snr']:.1f}): try more smoothing (--sigma) or check "
            "whether the atoms are dark (--invert)"
        )
    if len(detections) < FEW:
        warnings.append(
            f"only {len(detections)} atoms: check the spacing (--spacing) and the "
            "crystalline region (--keep-non-crystal)"
        )
    elif not few and _off_lattice(detections, spacing, measures, params):
        warnings.append(_off_lattice_warning(measures["on_lattice"], spacing, params))
    else:
        warnings += _one_direction_warning(detections, spacing, measures)
    warnings += frame_doubts(frame, params, measures, warnings)
    warnings += lattice_choice_warnings(params, spacing)
    return {"measures": measures, "warnings": warnings, "notes": notes}


def _few_periods(detections, spacing: float, frame_shape, measures: dict) -> bool:
    """Whether atoms whose spacing came from their spots' size are a crop of a few cells of a
    lattice: a frame too small for the spacing search to see it (under ``PERIODS_SEEN`` of the
    atoms' own median nearest-neighbour distance across), atoms at one distance from their
    nearest neighbours (``ONE_DISTANCE_SHARE`` of them within 10 % of the median: a lattice's,
    not scattered particles'), none held apart by the spacing (that distance at least the
    spacing, which sets the smoothing and the least distance between peaks). Then "no lattice
    periodicity" is the frame's size, not a doubt, and the spacing no distance to judge the
    atoms by; ``measures["periods_across"]`` says how many there were."""
    from scipy.spatial import cKDTree

    from napari_ivae.core.detection.spacing import PERIODS_SEEN

    if frame_shape is None or len(detections) < 3:
        return False
    points = _busiest_frame(detections)
    if len(points) < 3:
        return False
    nearest = cKDTree(points).query(points, k=2)[0][:, 1]
    apart = float(np.median(nearest))
    one_distance = np.mean(np.abs(nearest - apart) <= 0.1 * apart) >= ONE_DISTANCE_SHARE
    across = min(frame_shape) / apart
    if not one_distance or apart < spacing or across >= PERIODS_SEEN:
        return False
    measures["periods_across"] = round(float(across), 2)
    return True


def _off_lattice(detections, spacing: float, measures: dict, params: dict) -> bool:
    """Whether too few atoms have their nearest neighbour near the spacing, unless the points
    themselves form the frame's 2D lattice (a motif of several columns per site, as Si [110]
    dumbbells, puts every nearest neighbour closer than the lattice's spacing); whether they
    are ordered in two directions is the next check's (:func:`_one_direction_warning`)."""
    if measures["on_lattice"] is None or measures["on_lattice"] >= MIN_ON_LATTICE:
        return False
    if not _lattice_over_frame(params):
        return True
    peaks = _bragg(detections, spacing)
    if peaks is None:
        return True
    measures["bragg"] = [round(peaks[0], 3), round(peaks[1], 3)]
    return peaks[0] < MOTIF_PEAK  # in one direction only, the next check warns


def _off_lattice_warning(share: float, spacing: float, params: dict) -> str:
    """The warning for atoms whose nearest neighbours are mostly not at the spacing. Where a
    lattice periodicity was found over the whole frame, that lattice is there (no particles,
    so no pointer to their mode): two overlaid lattices (a moire, whose layers' columns lie
    closer than either lattice's spacing) or a distorted one do this as well as a wrong
    spacing or threshold."""
    if _lattice_over_frame(params):
        return (
            f"only {share:.0%} of the atoms have their nearest neighbour near the lattice's "
            f"spacing ({spacing:.1f} px): two overlaid lattices (a moire, overlapping grains), a "
            "distorted lattice, a wrong spacing (--spacing) or too low a threshold (--threshold) do "
            "that; look at the overlay"
        )
    return (
        f"only {share:.0%} of the atoms have their nearest neighbour near the spacing "
        f"({spacing:.1f} px): the spacing may be wrong (--spacing) or the threshold too low "
        "(--threshold)"
    )


def _lattice_over_frame(params: dict) -> bool:
    """Whether the spacing came from a lattice periodicity of the whole frame (the frame's
    spectrum, no crystalline region delimited in any frame)."""
    if params.get("spacing_source") != "auto":
        return False
    counts = params.get("counts")
    counts = counts if isinstance(counts, list) else [counts] if isinstance(counts, dict) else []
    regions = [c.get("crystal_region") for c in counts if isinstance(c, dict)]
    return not any(isinstance(r, dict) and r.get("found") for r in regions)


def _below_noise(params: dict) -> list:
    """The warning for a result left empty by the automatic contrast cut: every peak the
    detector found was as weak as the noise's own (a frame of noise, or an empty region)."""
    from napari_ivae.core.detection.atom_noise_null import without_lattice

    counts = params.get("counts")
    counts = counts if isinstance(counts, list) else [counts] if isinstance(counts, dict) else []
    if params.get("threshold") != "auto" or not counts:
        return []
    peaks = sum(c.get("candidates", 0) - c.get("excluded", 0) for c in counts)
    peaks -= sum(c.get("outside_crystal", 0) for c in counts)
    if peaks <= 0 or peaks != sum(c.get("below_threshold", 0) for c in counts):
        return []
    if without_lattice(params):
        return [
            f"nothing stands out from the frame's own texture: none of the {peaks} peaks is "
            "stronger than its pixels with their Fourier phases redrawn make them (no lattice "
            "periodicity either: an amorphous film, scan noise?), so the frame may hold no "
            "atoms; if it does, give the --spacing or a lower --threshold"
        ]
    return [
        f"nothing stands out from the noise: none of the {peaks} peaks is stronger than the "
        "noise makes them, so the frame may hold no atoms; if it does, give a lower "
        "--threshold or the --spacing"
    ]


def _one_direction_warning(detections, spacing: float, measures: dict) -> list:
    """Atoms ordered along one direction only: lattice fringes (one set of planes), not a 2D
    lattice of columns; measured on the frame with the most atoms."""
    peaks = _bragg(detections, spacing)
    if peaks is None:
        return []
    measures["bragg"] = [round(peaks[0], 3), round(peaks[1], 3)]
    if peaks[0] < ONE_DIRECTION_PEAK or peaks[1] >= ONE_DIRECTION_SHARE * peaks[0]:
        return []
    return [
        "the atoms line up along one direction only, as on lattice fringes rather than a 2D "
        "lattice of columns: look at the overlay; if the columns are resolved, give --spacing"
    ]


def _bragg(detections, spacing: float) -> tuple[float, float] | None:
    """The points' Bragg peaks (:func:`~napari_ivae.core.detection.point_order.bragg_peaks`)
    on the frame with the most atoms."""
    from napari_ivae.core.detection.point_order import bragg_peaks

    return bragg_peaks(_busiest_frame(detections), spacing)


def _busiest_frame(detections) -> np.ndarray:
    """The (row, col) points of the frame with the most points."""
    frames, counts = np.unique(detections.coords[:, 0], return_counts=True)
    return detections.coords[detections.coords[:, 0] == frames[np.argmax(counts)], 1:]


def _annotation_note(pixels: int, measures: dict, excluded: bool = False) -> list:
    """The masked scale bar's note; pointing to --exclude only where no mask was given."""
    measures["annotation_pixels"] = pixels
    if not pixels:
        return []
    if excluded:
        return [
            f"a burned-in scale bar or label ({pixels} px) was masked besides the --exclude mask"
        ]
    return [
        f"a burned-in scale bar or label ({pixels} px) was masked; give --exclude to mask "
        "something else"
    ]


def _on_lattice_share(detections, spacing) -> float | None:
    from scipy.spatial import cKDTree

    shares = []
    for frame in np.unique(detections.coords[:, 0]):
        points = detections.coords[detections.coords[:, 0] == frame, 1:]
        if len(points) < 3:
            continue
        sample = points[:: max(1, len(points) // SAMPLE)]  # every atom is a neighbour candidate
        nearest = cKDTree(points).query(sample, k=2)[0][:, 1]
        shares.append(((nearest >= 0.8 * spacing) & (nearest <= 1.25 * spacing)).mean())
    return round(float(np.mean(shares)), 3) if shares else None


__all__ = ["assess"]
