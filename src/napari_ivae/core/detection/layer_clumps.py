"""The clump guard at full size: a support whose slow clumps pass for a packed layer, on a
frame the overview does not bin (see :func:`layer_clumps`)."""

from __future__ import annotations

import numpy as np


def layer_clumps(frame, skip, polarity: str, no_data, seen: float):
    """The scale of fine particles on a support whose clumps pass for a packed layer, at full
    size; None where the frame's central crop is no layer, or the layer is the particles.

    The clump guard of :func:`~napari_ivae.core.detection.particle_binning.bin_factor` where the
    frame is not binned: a support's slow clumps cut at one level are compact pieces in a
    network of darker carbon, a packed layer to
    :func:`~napari_ivae.core.detection.packed.packed_phase`, and the choice then takes their
    scale (fine catalyst particles of sigma 1.5 px under clumps of 12.7 on a frame whose
    overview would not bin it, while the same frame at twice the magnification is binned and
    guarded). As there, the layer's blobs count only as far as they stand above the crop's
    texture with its phases redrawn, and
    :func:`~napari_ivae.core.detection.particle_binning.fine_population` is asked for the scales
    below the layer's search floor: a denser population of round blobs standing above their own
    surrogate is the particles. Only a frame that is a packed layer runs it (its test is the
    choice's own, remembered), and only where the overview's scale ``seen`` (the whole frame
    binned by 2) lies below the layer's search floor (the two views of the frame disagree, the
    overview's particles are what a search from the layer's scale would lose) or vouches for no
    scale (it would have binned the frame, but its blobs were refused: below the noise, or on
    ridges). A monolayer up-sampled 1.5 x, whose overview sees its particles (sigma 5.6-7.3 px),
    took its noise grain for fine particles without this.
    """
    from napari_ivae.core.detection.detection_memo import remembered
    from napari_ivae.core.detection.packed import packed_phase
    from napari_ivae.core.detection.particle_binning import (
        SEARCH_PX,
        density_above_texture,
        fine_population,
    )
    from napari_ivae.core.detection.particle_blobs import choice_window
    from napari_ivae.core.detection.particle_candidates import (
        SEARCH_FROM,
        blob_candidates,
        candidate_scales,
    )
    from napari_ivae.core.detection.particle_threshold import noise_floor
    from napari_ivae.core.detection.peaks import smoothed_noise
    from napari_ivae.core.detection.texture_null import textured_null_frame

    window = choice_window(frame.shape)
    crop = np.asarray(frame, dtype=np.float32)[window]
    use = np.ones(crop.shape, dtype=bool) if skip is None else ~np.asarray(skip)[window]
    layer = remembered("packed_phase", packed_phase, crop, use)
    if layer is None or polarity not in ("auto", layer[0]) or not use.any():
        return None
    found, sigma = layer[0], max(float(layer[1]), float(layer[2]))
    if seen >= SEARCH_FROM * sigma and SEARCH_FROM * seen < 2 * SEARCH_PX:
        return None
    crop_skip = None if use.all() else ~use
    core = candidate_scales(crop.shape, sigma)
    strength = blob_candidates(crop, core, found, crop_skip)[2]
    area = float(use.sum())
    floor = noise_floor(smoothed_noise(crop, 0.0, crop_skip), area, core, found)
    # the surrogate fine_population draws of the same crop (remembered: drawn once)
    drawn = remembered("texture_null_crop", textured_null_frame, crop, crop_skip, max(crop.shape))
    density = density_above_texture(strength, floor, drawn, core, found, area)
    return fine_population(frame, skip, found, no_data, 1, density, SEARCH_FROM * sigma)


__all__ = ["layer_clumps"]
