"""rVAE: rotation- (and/or translation-, scale-) invariant VAE with a spatial decoder.

The latent vector is ``[theta, dx, dy, (s), z...]`` (see :mod:`latent`); the decoder renders
each pixel from its coordinate transformed by the geometric latents together with z
(review paper, eq. 3-4), so z only has to explain what rotation and translation cannot.
"""

from __future__ import annotations

from napari_ivae.core.models.base import BaseIVAE


class RVAE(BaseIVAE):
    """Rotationally (and translationally) invariant VAE.

    Parameters
    ----------
    config : ModelConfig
        ``kind="rvae"``. Offsets have a normal prior with std ``2 * translation_prior`` in
        half-width units (i.e. ``translation_prior`` of the patch width); the angle prior is
        normal (std ``angle_prior_scale``) or von Mises.
    """
