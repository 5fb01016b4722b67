"""The whole frame's decisions on the peaks of all chunks: merged in one order, then selected.

What :func:`~napari_ivae.core.detection.atom_frame._detect_frame` does after its peak search,
done once on the chunks' peaks of
:func:`~napari_ivae.core.detection.chunked.detect_atoms_chunked`: the crystalline region and
the user's mask, the contrast cut, a weaker sub-lattice's sites, merging and the border.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def merged_peaks(parts: list) -> dict:
    """The chunks' peaks as one table, in the order one frame's search gives (row-major)."""
    merged = {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
    order = np.lexsort((merged["peak"][:, 1], merged["peak"][:, 0]))
    return {key: value[order] for key, value in merged.items()}


def select_peaks(
    found, at_places, params, sample, excluded, flat, area, whole, noise, pixel_noise, shape
) -> tuple[pd.DataFrame, dict]:
    """The rest of ``atom_frame._detect_frame`` on the peaks of all chunks: the region and mask, the
    contrast cut, the rim check, a weaker sub-lattice's sites (its atoms among the chunks'
    maxima ``at_places``), merging and the border.

    ``sample`` is the central window read whole (``excluded`` and ``flat`` are its masks); when
    it is the whole frame (``whole``) it also gives the crystalline region. Either way its own
    shuffled pixels judge whether any peak stands out from the noise: a sample of a larger
    frame stands for the frame's noise (its null's peak counts are scaled to the frame's area).
    """
    from napari_ivae.core.detection import atom_frame, atom_sites
    from napari_ivae.core.detection.atom_region import allowed_candidates, search_area
    from napari_ivae.core.detection.atom_threshold import contrast_cut
    from napari_ivae.core.detection.peaks import merge_close_points

    candidates = found["peak"]
    frame = sample if whole else None
    if whole:
        allowed = allowed_candidates(frame, candidates, params, excluded)
        area = search_area(flat, excluded, allowed["mask"])
    else:
        zeros = np.zeros(len(candidates), dtype=bool)
        allowed = {
            "excluded": found["excluded"],
            "outside": zeros,
            "edge": zeros,
            "mask": None,
            "region": "not searched (frame larger than the sample)",
        }
    n_peaks, n_excluded = len(candidates), int(allowed["excluded"].sum())
    usable = ~(allowed["excluded"] | allowed["outside"])
    found = {key: value[usable] for key, value in found.items()}
    candidates, at_edge = found["peak"], allowed["edge"][usable]
    prominence = found["prominence"]
    rim_cut = None
    if params["threshold"] == "auto":
        masked = atom_frame._masked(flat if flat.any() else None, excluded)
        cut = contrast_cut(
            prominence,
            pixel_noise,
            noise,
            area,
            params,
            atom_frame._null_contrasts,
            frame=sample,
            masked=masked,
            points=candidates if whole else None,  # a sample's positions are not the frame's
        )
        if whole and at_edge.any():  # the rim against the quiet surroundings, as in a frame
            from napari_ivae.core.detection._filters import gaussian_smooth
            from napari_ivae.core.detection.atom_rim_cut import rim_contrast_cut

            band = atom_frame.band_passed(gaussian_smooth(sample, params["sigma"]), params)
            rim_cut = rim_contrast_cut(
                prominence, {**allowed, "edge": at_edge}, cut, params, masked, noise, band
            )
    else:
        cut = atom_frame._manual_cut(prominence, params["threshold"])
    keep, counts = atom_frame.select_by_contrast(
        candidates, prominence, at_edge, cut, params, allowed, noise, n_peaks, n_excluded, rim_cut
    )
    if atom_sites.judges_sites(params):
        places = atom_sites._sublattice_places(candidates, prominence, keep & ~at_edge, params)
        pool = at_places
        if whole:  # as the frame's maxima: not in the scale bar, inside the crystal region
            rows, cols = pool["peak"].T
            usable = np.ones(len(rows), dtype=bool)
            if excluded is not None:
                usable &= ~excluded[rows, cols]
            if allowed["mask"] is not None:
                usable &= allowed["mask"][rows, cols]
            pool = {key: value[usable] for key, value in pool.items()}
        wanted = atom_sites.wanted_places(candidates, places, params)
        chosen = atom_sites.maxima_at_places(pool["peak"], pool["band"], wanted, params)
        found = {key: np.concatenate([value, pool[key][chosen]]) for key, value in found.items()}
        prominence = found["prominence"]
        keep = np.concatenate([keep, np.zeros(len(chosen), dtype=bool)])
        keep = atom_sites.judged_at_sites(
            found["peak"], prominence, keep, places, params, counts, len(chosen)
        )
    found = {key: value[keep] for key, value in found.items()}
    refined, start = found["refined"], found["peak"].astype(np.float64)
    prominence = found["prominence"]
    table = pd.DataFrame(
        {
            "row": refined[:, 0],
            "col": refined[:, 1],
            "intensity": found["value"],
            "prominence": prominence,
            "snr": prominence / noise if noise > 0 else np.inf,
            "refine_shift": np.hypot(*(refined - start).T),
            "fit_ok": found["fit_ok"],
        }
    )
    table, n_merged = merge_close_points(table, params["merge_distance"])
    inside = atom_frame._inside_border(table[["row", "col"]].to_numpy(), shape, params["border"])
    counts.update(merged=n_merged, at_border=int((~inside).sum()), found=int(inside.sum()))
    return table[inside].reset_index(drop=True), counts


__all__ = ["merged_peaks", "select_peaks"]
