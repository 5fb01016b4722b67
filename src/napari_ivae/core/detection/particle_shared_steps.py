"""The steps of the auto particle method that depend on the frame alone.

:func:`shared_steps` is computed once per frame and kept for the second search of
:mod:`~napari_ivae.core.detection.particle_size_range` (a lower floor on the same frame).
"""

from __future__ import annotations

import numpy as np

from napari_ivae.core.detection.particle_scales import scale_space_from


def shared_steps(filled, masked, skip, requested, no_data, largest, shared):
    """The steps of the auto method's search (``particle_auto._kept_blobs``) that depend on
    the frame alone, not on the search's floor: polarity, scale and packed layer
    (:func:`~napari_ivae.core.detection.particle_blobs.polarity_scale_and_response`), the
    aggregates' scales and their scale space, the pixel noise and the noise ratio (None on
    the particles' packed layer, whose cut is a false discovery rate over the whole layer).
    Kept in ``shared`` (when given) for the next search on the same frame; none of them is
    changed by its users."""
    from napari_ivae.core.detection import local_noise, particle_blobs, particle_surround
    from napari_ivae.core.detection.particle_candidates import candidate_scales
    from napari_ivae.core.detection.peaks import smoothed_noise

    if shared:
        return shared["steps"]
    polarity, sigma, choice_scales, choice_response, layer = (
        particle_blobs.polarity_scale_and_response(
            filled, skip if not skip.all() else masked, requested, no_data, largest, True
        )
    )
    large = particle_surround.aggregate_scales(filled.shape, sigma)
    top = candidate_scales(filled.shape, sigma)[-1:]
    large = np.concatenate([top, large]) if len(large) else large
    large_response = (
        scale_space_from(filled, large, choice_scales, choice_response) if len(large) else None
    )
    del choice_response
    pixel_noise = smoothed_noise(filled, 0.0, skip if skip.any() else None)
    # where the noise varies over the frame (counts on a thick support, a dose gradient), the
    # floor in each candidate's cut is that of the noise where it lies
    on_layer = layer is not None and layer[0] == polarity
    ratio = None if on_layer else local_noise.noise_ratio(filled, skip)
    steps = (polarity, sigma, layer, large, large_response, pixel_noise, ratio)
    if shared is not None:
        shared["steps"] = steps
    return steps
